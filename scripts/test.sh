#!/usr/bin/env bash
# The whole test suite, from a fresh machine: `scripts/test.sh`.
# Installs what the tests need (nginx, chromium, openssl, curl: Debian's packages, with
# apt-get, when missing). In CI (CI=true) a tool that cannot be installed is a failure, never a
# skip.
set -euo pipefail
cd "$(dirname "$0")/.."

stage() {
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  "$@"
  echo "==> $name: $((SECONDS - start)) s"
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
  have chromium || missing+=(chromium)
  have openssl || missing+=(openssl)
  have curl || missing+=(curl)
  if [ ${#missing[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
    # The nginx package may start a system nginx; the tests run their own, on 127.0.0.1 only.
    (service nginx stop || /usr/sbin/nginx -s quit) >/dev/null 2>&1 || true
  fi
  local tool status=0
  for tool in nginx chromium openssl curl; do
    if have "$tool"; then
      echo "$tool: present"
    elif [ "${CI:-}" = "true" ]; then
      echo "error: $tool is required and could not be installed with apt-get" >&2
      status=1
    else
      echo "warning: $tool is not installed; the tests that need it will say SKIPPED" >&2
    fi
  done
  return $status
}

runtime_deps() {
  # The runtime stays light: its normal dependencies are an allow-list, with and without the
  # default `tower` feature.
  local deps allowed
  deps=$(cargo tree -p guestlist -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u | tr '\n' ' ')
  allowed="block-buffer bytes cfg-if cmov cpufeatures crypto-common ctutils digest getrandom guestlist hmac http hybrid-array itoa libc pin-project-lite sha2 tower-layer tower-service typenum "
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
  echo "runtime dependencies: $deps(+ pin-project-lite tower-layer tower-service with tower)"
}

stage "install tools" install_tools
stage "format" cargo fmt --all -- --check
stage "clippy" cargo clippy --workspace --all-targets --all-features -- -D warnings
stage "runtime dependencies" runtime_deps
stage "tests" cargo test --workspace --all-features
stage "docs" env RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features --quiet
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
      cargo +stable fuzz run --sanitizer none "$t" "target/corpus/$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 |
        grep -E "^Done|^stat::number_of_executed_units|ERROR|panicked" || true
      # A crash leaves an artifact and a non-zero exit above; check both.
      if ls "artifacts/$t"/* >/dev/null 2>&1; then
        echo "error: fuzz target $t crashed; see fuzz/artifacts/$t" >&2
        return 1
      fi
    done
  )
}

stage "fuzz" fuzz
stage "example policy" cargo run --quiet -p guestlist-compiler --features cli -- check examples/policies/site.policy --deny warnings
stage "example tests" cargo run --quiet -p guestlist-compiler --features cli -- test examples/policies/site-tests.policy
