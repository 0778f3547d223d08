#!/usr/bin/env bash
# End to end: axum hello world with no CORS, guestlist, and tower-http (1,000 origins), wrk on
# 127.0.0.1, interleaved rounds, medians and ratios, for GET and for preflights.
#   scripts/bench-axum.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}; SECS=${2:-5}; N=1000
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
cargo build --quiet --release -p guestlist-benches --bin server
work=$(mktemp -d); pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
port=38101
declare -A ports
for v in none guestlist tower-http; do
  ports[$v]=$port; target/release/server "$v" "$port" "$N" & pids+=($!); port=$((port + 1))
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
    wrk -t1 -c32 -d"${SECS}s" -H "Origin: $origin" "http://127.0.0.1:${ports[$1]}/"
  else
    wrk -t1 -c32 -d"${SECS}s" -s "$work/preflight.lua" "http://127.0.0.1:${ports[$1]}/"
  fi | awk '/Requests\/sec/ {print $2}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for kind in get preflight; do
  declare -a none=() gl=() th=()
  for r in $(seq 1 "$ROUNDS"); do
    none+=("$(run none $kind)"); gl+=("$(run guestlist $kind)"); th+=("$(run tower-http $kind)")
    echo "$kind round $r: none ${none[-1]}, guestlist ${gl[-1]}, tower-http ${th[-1]}"
  done
  mn=$(median "${none[@]}"); mg=$(median "${gl[@]}"); mt=$(median "${th[@]}")
  echo "$kind median req/s: none $mn, guestlist $mg ($(awk -v a="$mg" -v b="$mn" 'BEGIN{printf "%.3f", a/b}')), tower-http $mt ($(awk -v a="$mt" -v b="$mn" 'BEGIN{printf "%.3f", a/b}'))"
  unset none gl th
done
