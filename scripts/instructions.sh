#!/usr/bin/env bash
# Instructions per request (valgrind callgrind: deterministic, unlike wall-clock time on a shared
# machine): each variant runs K1 and K2 requests; per request = (I(K2) - I(K1)) / (K2 - K1),
# counting only the harness's `measured` functions (request built and response dropped outside).
#   scripts/instructions.sh [SIZES...]     (default: 1 100 1000 10000 100000)
# Prints four tables: exact origins, subdomain patterns, the hostile preflight, and origins
# supplied at run time.
#   GATE=1.10 scripts/instructions.sh 1 100 10000 100000   (scripts/test.sh)
# prints only the last table and fails when a set supplied at run time (not tenant-bound)
# costs more than GATE times the same origins in a static set: overheads over the floor,
# (provided - floor) / (static - floor), both over tables built at run time (Layer::shared),
# so the two differ only in where the origins are.
#   GATE=scripts/instruction-ceilings.txt scripts/instructions.sh   (scripts/test.sh)
# GATE naming a file measures only the runtime against the hand-written minimum at 1,000
# entries, static tables (exact origins GET and preflight, patterns GET: "static ovh / hand
# ovh" of the first two tables), and 1,000 host blocks against one (GET and preflight), and
# fails when a ratio is over its ceiling in the file.
set -euo pipefail
# A count that fails inside `$(...)` ends the script, never a gate passed on no measurement.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
cargo build --quiet --release -p guestlist-benches --bin instr
BIN=target/release/instr
K1=200; K2=1200
sizes=("${@:-1 100 1000 10000 100000}")
count() { # variant kind n k
  valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file=/dev/null "$BIN" "$@" 2>&1 | awk '/Collected/ {print $4}'
}
per() { local a b; a=$(count "$1" "$2" "$3" $K1); b=$(count "$1" "$2" "$3" $K2); echo $(( (b - a) / (K2 - K1) )); }
# (a - f) / (b - f): overheads over the floor, compared.
ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {printf "%.2f", (a-f)/(b-f)}'; }
static_size() { case "$1" in 1|100|1000|10000) return 0;; *) return 1;; esac; }

GATE=${GATE:-}

provided_table() {
  local status=0 n kind f s p t r
  echo "## origins supplied at run time (origins tenants provided, filled with the N origins)"
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' request N floor "static set" \
    "provided set" "provided ovh / static ovh" "tenant-bound set" "tenant-bound ovh / static ovh"
  echo '|---|---|---|---|---|---|---|---|'
  for kind in get preflight; do
    for n in ${sizes[@]}; do
      f=$(per floor "$kind" "$n"); s=$(per guestlist "$kind" "$n")
      p=$(per guestlist-provided "$kind" "$n"); t=$(per guestlist-provided-tenant "$kind" "$n")
      r=$(ratio "$p" "$s" "$f")
      printf '| %s | %s | %d | %d | %d | %s | %d | %s |\n' "$kind" "$n" "$f" "$s" "$p" "$r" "$t" \
        "$(ratio "$t" "$s" "$f")"
      if [ -n "$GATE" ] && ! awk -v r="$r" -v g="$GATE" 'BEGIN {exit !(r <= g)}'; then
        echo "error: $kind at $n origins: a provided set costs $r times the static set's overhead (gate $GATE)" >&2
        status=1
      fi
    done
  done
  return $status
}

# over KEY RATIO FILE: prints the gate's line; fails when RATIO is over KEY's ceiling in FILE.
over() {
  local c
  c=$(awk -v k="$1" '$1 == k {print $2}' "$3")
  [ -n "$c" ] || { echo "error: no ceiling for $1 in $3" >&2; return 1; }
  if awk -v a="$2" -v c="$c" 'BEGIN {exit !(a > 0 && a <= c)}'; then
    echo "gate $1: $2 <= $c"
  else
    echo "error: gate $1: $2 is over its ceiling $c ($3)" >&2
    return 1
  fi
}

# The runtime against the hand-written minimum at 1,000 entries, GATE's ceilings.
hand_gate() {
  local n=1000 status=0 kind f h s r
  echo "| request | N | floor | hand | guestlist (static) | static ovh / hand ovh |"
  echo '|---|---|---|---|---|---|'
  for kind in get preflight patterns; do
    if [ "$kind" = patterns ]; then
      f=$(per floor get $n); h=$(per hand-pattern get $n); s=$(per guestlist-static-pattern get $n)
    else
      f=$(per floor $kind $n); h=$(per hand $kind $n); s=$(per guestlist-static $kind $n)
    fi
    r=$(awk -v a="$s" -v b="$h" -v f="$f" 'BEGIN {printf "%.3f", (a-f)/(b-f)}')
    printf '| %s | %d | %d | %d | %d | %s |\n' "$kind" $n "$f" "$h" "$s" "$r"
    rows+=("runtime-$kind $r")
  done
  for r in "${rows[@]}"; do over $r "$GATE" || status=1; done
  return $status
}

# A policy with 1,000 host blocks against one with a single block (benches' hosts_policy_text:
# the 1,000-origin policy under N blocks, the request to the last block's host): overheads over
# the bare service with the same policy built beside it, GET and preflight, GATE's
# runtime-hosts ceiling.
hosts_gate() {
  local status=0 kind f1 g1 fn gn r
  echo "| request | floor, 1 block | 1 block | floor, 1,000 blocks | 1,000 blocks | 1,000 ovh / 1 ovh |"
  echo '|---|---|---|---|---|---|'
  for kind in get preflight; do
    f1=$(per floor-hosts $kind 1); g1=$(per guestlist-hosts $kind 1)
    fn=$(per floor-hosts $kind 1000); gn=$(per guestlist-hosts $kind 1000)
    r=$(awk -v a="$gn" -v fa="$fn" -v b="$g1" -v fb="$f1" 'BEGIN {printf "%.3f", (a-fa)/(b-fb)}')
    printf '| %s | %d | %d | %d | %d | %s |\n' "$kind" "$f1" "$g1" "$fn" "$gn" "$r"
    over runtime-hosts "$r" "$GATE" || status=1
  done
  return $status
}

if [ -f "$GATE" ]; then
  rows=()
  status=0
  hand_gate || status=1
  hosts_gate || status=1
  exit $status
elif [ -n "$GATE" ]; then
  provided_table
  exit $?
fi

echo "## exact origins (the request comes from the last of N)"
printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' request N floor hand \
  "guestlist (static)" "guestlist (run time)" "static ovh / hand ovh" tower-http \
  "tower-http ovh / guestlist ovh" "guestlist, cloned" "tower-http, cloned" "ratio, cloned"
echo '|---|---|---|---|---|---|---|---|---|---|---|---|'
for kind in get preflight; do
  for n in ${sizes[@]}; do
    f=$(per floor "$kind" "$n"); h=$(per hand "$kind" "$n"); g=$(per guestlist "$kind" "$n")
    gc=$(per guestlist-cloned "$kind" "$n")
    if static_size "$n"; then s=$(per guestlist-static "$kind" "$n"); else s=$g; fi
    if [ "$n" -le 10000 ]; then
      t=$(per tower-http "$kind" "$n"); tc=$(per tower-http-cloned "$kind" "$n")
      printf '| %s | %s | %d | %d | %d | %d | %s | %d | %s | %d | %d | %s |\n' "$kind" "$n" "$f" "$h" \
        "$s" "$g" "$(ratio "$s" "$h" "$f")" "$t" "$(ratio "$t" "$s" "$f")" "$gc" "$tc" "$(ratio "$tc" "$gc" "$f")"
    else
      printf '| %s | %s | %d | %d | — | %d | %s | — | — | %d | — | — |\n' "$kind" "$n" "$f" "$h" \
        "$g" "$(ratio "$g" "$h" "$f")" "$gc"
    fi
  done
done

echo
echo "## subdomain patterns (https://*.tenant-{i}.example.com; the request from app.tenant-{N-1})"
printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' request N floor "hand (suffix set)" \
  "guestlist (static)" "guestlist (run time)" "static ovh / hand ovh" "run time ovh / hand ovh"
echo '|---|---|---|---|---|---|---|---|'
for n in ${sizes[@]}; do
  static_size "$n" || continue
  f=$(per floor get "$n"); h=$(per hand-pattern get "$n")
  s=$(per guestlist-static-pattern get "$n"); g=$(per guestlist-pattern get "$n")
  printf '| get | %s | %d | %d | %d | %d | %s | %s |\n' "$n" "$f" "$h" "$s" "$g" \
    "$(ratio "$s" "$h" "$f")" "$(ratio "$g" "$h" "$f")"
done

echo
echo "## hostile preflight (1,000 commas in Access-Control-Request-Headers), one origin"
printf '| %s | %s | %s | %s |\n' variant "normal preflight" "hostile preflight" "hostile / normal"
echo '|---|---|---|---|'
for v in guestlist-static hand tower-http; do
  p=$(per "$v" preflight 1); x=$(per "$v" hostile 1)
  printf '| %s | %d | %d | %s |\n' "$v" "$p" "$x" "$(awk -v x="$x" -v p="$p" 'BEGIN {printf "%.2f", x/p}')"
done

echo
provided_table
