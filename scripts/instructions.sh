#!/usr/bin/env bash
# Instructions per request (valgrind callgrind: deterministic, unlike wall-clock time on a shared
# machine): each variant runs K1 and K2 requests; per request = (I(K2) - I(K1)) / (K2 - K1),
# counting only the harness's `measured` functions (request built and response dropped outside,
# as in perf-anchors.md).
#   scripts/instructions.sh [SIZES...]     (default: 1 100 1000 10000 100000)
set -euo pipefail
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
ratio() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {printf "%.2f", (a-f)/(b-f)}'; }
printf '%-9s %-7s %6s %6s %9s %11s %10s %8s %9s %10s %8s\n' kind n floor hand guestlist gl-ovh/hand tower-http tower/gl gl-cloned tower-cl. tc/gl
for kind in ${KINDS:-get preflight}; do
  for n in ${sizes[@]}; do
    f=$(per floor "$kind" "$n"); h=$(per hand "$kind" "$n"); g=$(per guestlist "$kind" "$n")
    t=$(per tower-http "$kind" "$n"); gc=$(per guestlist-cloned "$kind" "$n")
    tc=$(per tower-http-cloned "$kind" "$n")
    printf '%-9s %-7s %6d %6d %9d %11s %10d %8s %9d %10d %8s\n' "$kind" "$n" "$f" "$h" "$g" \
      "$(ratio "$g" "$h" "$f")" "$t" "$(ratio "$t" "$g" "$f")" "$gc" "$tc" "$(ratio "$tc" "$gc" "$f")"
  done
done
