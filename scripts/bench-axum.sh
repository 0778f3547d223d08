#!/usr/bin/env bash
# End to end: axum hello world with no CORS, guestlist, the hand-written minimum and tower-http
# (1,000 origins), wrk on 127.0.0.1, interleaved rounds (the order rotates each round), medians
# and the median of each round's ratio to no CORS, for GET and for preflights. Preflight rounds
# also run `static`, no CORS layer with the application answering OPTIONS with a constant 204 of
# the same bytes as guestlist's answer, and give each layer's median ratio to it: the layer's
# own cost, apart from the bigger response every CORS answer is next to a bare 405.
#   scripts/bench-axum.sh [ROUNDS] [SECONDS]
# PAIRS=1 scripts/bench-axum.sh [PAIRS] [SECONDS] measures in pairs instead: each layer (and
# `static`) against its reference (no CORS; for preflights also `static`) in back-to-back runs,
# the order swapped every pair, and reports the median of the pairs' ratios. Adjacent runs
# share the machine's state of the moment, so a drift of the shared VM's speed over a round
# of five servers weighs less.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}; SECS=${2:-5}; N=1000; PAIRS=${PAIRS:-0}
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
# The servers (current-thread runtimes) on one core, wrk on the other,
# so that neither competes with the other for a core (when there are two and taskset exists).
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  on_server=(taskset -c 1); on_client() { taskset -c 0 "$@"; }
else
  on_server=(); on_client() { "$@"; }
fi
cargo build --quiet --release -p guestlist-benches --bin server
work=$(mktemp -d); pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
port=38101
declare -A ports
for v in none static guestlist hand tower-http; do
  # A simple command, so that `$!` is the server itself (taskset execs it) and the trap stops it.
  ports[$v]=$port; "${on_server[@]}" target/release/server "$v" "$port" "$N" & pids+=($!)
  port=$((port + 1))
done
sleep 1
origin=$(printf 'https://tenant-%05d.example.com' $((N - 1)))
cat > "$work/preflight.lua" <<LUA
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "$origin"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type,x-auth-token"
LUA
curl -s -o /dev/null -w "guestlist preflight: %{http_code}\n" -X OPTIONS -H "Origin: $origin" -H "Access-Control-Request-Method: PUT" "http://127.0.0.1:${ports[guestlist]}/"
run() { # variant kind
  if [ "$2" = get ]; then
    on_client wrk -t1 -c32 -d"${SECS}s" -H "Origin: $origin" "http://127.0.0.1:${ports[$1]}/"
  else
    on_client wrk -t1 -c32 -d"${SECS}s" -s "$work/preflight.lua" "http://127.0.0.1:${ports[$1]}/"
  fi | awk '/Requests\/sec/ {print $2}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
layers=(guestlist hand tower-http)
if [ "$PAIRS" = 1 ]; then
  pairs() { # kind variant reference
    local i a b rs=()
    for i in $(seq 1 "$ROUNDS"); do
      if [ $((i % 2)) = 1 ]; then a=$(run "$2" "$1"); b=$(run "$3" "$1");
      else b=$(run "$3" "$1"); a=$(run "$2" "$1"); fi
      rs+=("$(ratio "$a" "$b")")
    done
    echo "$1 $2 / $3: median of $ROUNDS pair ratios $(median "${rs[@]}") (pairs: ${rs[*]})"
  }
  for v in guestlist hand; do pairs get "$v" none; done
  for v in static guestlist hand; do pairs preflight "$v" none; done
  for v in guestlist hand; do pairs preflight "$v" static; done
  exit 0
fi
for kind in get preflight; do
  declare -A rps=() rat=() same=()
  variants=("${layers[@]}")
  if [ "$kind" = preflight ]; then variants=(static "${layers[@]}"); fi
  for r in $(seq 1 "$ROUNDS"); do
    # Rotate the order, so a drift in the shared machine's speed favours no one.
    order=(none "${variants[@]}")
    k=$(( (r - 1) % ${#order[@]} ))
    order=("${order[@]:$k}" "${order[@]:0:$k}")
    declare -A this=()
    for v in "${order[@]}"; do this[$v]=$(run "$v" "$kind"); done
    line="$kind round $r: none ${this[none]}"
    rps[none]+=" ${this[none]}"
    for v in "${variants[@]}"; do
      rps[$v]+=" ${this[$v]}"; rat[$v]+=" $(ratio "${this[$v]}" "${this[none]}")"
      line+=", $v ${this[$v]} ($(ratio "${this[$v]}" "${this[none]}"))"
      if [ "$kind" = preflight ]; then same[$v]+=" $(ratio "${this[$v]}" "${this[static]}")"; fi
    done
    echo "$line"
    unset this
  done
  line="$kind median req/s: none $(median ${rps[none]})"
  for v in "${variants[@]}"; do
    line+="; $v $(median ${rps[$v]}), median ratio $(median ${rat[$v]})"
  done
  echo "$line"
  if [ "$kind" = preflight ]; then
    line="preflight median ratio to static (same bytes, no CORS work):"
    for v in "${layers[@]}"; do line+=" $v $(median ${same[$v]});"; done
    echo "$line"
  fi
  unset rps rat same
done
