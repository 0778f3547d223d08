#!/usr/bin/env bash
# End to end in instructions: the axum benchmark server (benches/src/bin/server.rs, 1,000
# origins) under valgrind's callgrind, sent K requests over one keep-alive connection by curl on
# 127.0.0.1; per request = (I(K2) - I(K1)) / (K2 - K1), for the whole server process (hyper,
# axum, the layer, the allocator). User-space only: the kernel's share of a request (socket
# reads and writes, epoll) is not counted, so the ratios here are lower bounds of what the
# layers cost in throughput. Unlike wrk's requests per second, the counts do not move with the
# shared machine's load.
#   scripts/e2e-instructions.sh [VARIANT ...]   (default: none static guestlist hand tower-http)
#   GATE=scripts/instruction-ceilings.txt scripts/e2e-instructions.sh   (scripts/test.sh)
# GATE measures only guestlist and hand, GET and preflight, and fails when guestlist / hand
# (whole-process counts, not overheads) is over the file's e2e-get or e2e-preflight ceiling.
set -euo pipefail
# A count that fails inside `$(...)` ends the script, never a gate passed on no measurement.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
for tool in valgrind curl; do
  command -v "$tool" >/dev/null || { echo "$tool is required (apt-get install $tool)" >&2; exit 1; }
done
cargo build --quiet --release -p guestlist-benches --bin server
K1=100; K2=600
origin=https://tenant-00999.example.com
variants=(none static guestlist hand tower-http)
if [ $# -gt 0 ]; then variants=("$@"); fi
GATE=${GATE:-}
if [ -n "$GATE" ]; then
  [ -f "$GATE" ] || { echo "error: GATE=$GATE is not a file of ceilings" >&2; exit 1; }
  variants=(guestlist hand)
fi

count() { # variant kind k -> instructions of the server process
  local v=$1 kind=$2 k=$3 port out vp i
  port=$((38300 + RANDOM % 500)); out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/server "$v" "$port" 1000 2> "$out" &
  vp=$!
  for i in $(seq 1 150); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.2
  done
  local urls=() ok=0
  for i in $(seq 1 "$k"); do urls+=("http://127.0.0.1:$port/"); done
  if [ "$kind" = get ]; then
    curl -s -H "Origin: $origin" "${urls[@]}" > /dev/null || ok=$?
  else
    curl -s -X OPTIONS -H "Origin: $origin" -H "Access-Control-Request-Method: PUT" \
      -H "Access-Control-Request-Headers: content-type,x-auth-token" "${urls[@]}" > /dev/null || ok=$?
  fi
  kill -TERM "$vp"; wait "$vp" || true
  # A count without every request answered measures nothing.
  [ "$ok" = 0 ] || { echo "error: curl failed ($ok) for $kind on $v" >&2; rm -f "$out"; return 1; }
  awk '/Collected/ {print $4}' "$out"; rm -f "$out"
}
per() { local a b; a=$(count "$1" "$2" $K1); b=$(count "$1" "$2" $K2); echo $(( (b - a) / (K2 - K1) )); }

if [ -n "$GATE" ]; then
  status=0 rows=()
  echo "| request | guestlist | hand | guestlist / hand |"
  echo "|---|---|---|---|"
  for kind in get preflight; do
    g=$(per guestlist "$kind"); h=$(per hand "$kind")
    r=$(awk -v a="$g" -v b="$h" 'BEGIN {printf "%.3f", a/b}')
    echo "| $kind | $g | $h | $r |"
    rows+=("e2e-$kind $r")
  done
  for row in "${rows[@]}"; do
    set -- $row
    c=$(awk -v k="$1" '$1 == k {print $2}' "$GATE")
    if [ -z "$c" ]; then
      echo "error: no ceiling for $1 in $GATE" >&2; status=1
    elif awk -v a="$2" -v c="$c" 'BEGIN {exit !(a > 0 && a <= c)}'; then
      echo "gate $1: $2 <= $c"
    else
      echo "error: gate $1: $2 is over its ceiling $c ($GATE)" >&2; status=1
    fi
  done
  exit $status
fi

echo "| request | variant | instructions per request | no CORS / variant |"
echo "|---|---|---|---|"
for kind in get preflight; do
  base=""
  for v in "${variants[@]}"; do
    if [ "$kind" = get ] && [ "$v" = static ]; then continue; fi # the same server as none for GET
    n=$(per "$v" "$kind")
    [ "$v" = none ] && base=$n
    r=$([ -n "$base" ] && awk -v a="$base" -v b="$n" 'BEGIN {printf "%.3f", a/b}' || echo "—")
    echo "| $kind | $v | $n | $r |"
  done
done
