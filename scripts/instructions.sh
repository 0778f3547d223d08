#!/usr/bin/env bash
# Instructions per request (valgrind callgrind: deterministic, unlike wall-clock time on a shared
# machine): each variant runs K1 and K2 requests; per request = (I(K2) - I(K1)) / (K2 - K1).
#   scripts/instructions.sh [SIZES...]     (default: 1 100 1000 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
cargo build --quiet --release -p guestlist-benches --bin instr
BIN=target/release/instr
K1=200; K2=1200
sizes=("${@:-1 100 1000 10000}")
count() { # variant kind n k
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$@" 2>&1 | awk '/Collected/ {print $4}'
}
per() { local a b; a=$(count "$1" "$2" "$3" $K1); b=$(count "$1" "$2" "$3" $K2); echo $(( (b - a) / (K2 - K1) )); }
printf '%-10s %-8s %7s %8s %9s %8s %11s %9s %8s\n' kind n floor hand guestlist gl-ovh/hand tower-http tower/gl gl-cloned
for kind in get preflight; do
  for n in ${sizes[@]}; do
    f=$(per floor "$kind" "$n"); h=$(per hand "$kind" "$n"); g=$(per guestlist "$kind" "$n")
    t=$(per tower-http "$kind" "$n"); gc=$(per guestlist-cloned "$kind" "$n")
    printf '%-10s %-8s %7d %8d %9d %11.2f %11d %9.1f %8d\n' "$kind" "$n" "$f" "$h" "$g" \
      "$(awk -v g="$g" -v h="$h" -v f="$f" 'BEGIN {print (g-f)/(h-f)}')" "$t" \
      "$(awk -v t="$t" -v g="$g" -v f="$f" 'BEGIN {print (t-f)/(g-f)}')" "$gc"
  done
done
