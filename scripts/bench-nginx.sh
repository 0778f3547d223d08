#!/usr/bin/env bash
# nginx with the emitted configuration of a 10,000-origin policy vs nginx with no CORS
# configuration, side by side with wrk on 127.0.0.1: interleaved runs, medians, ratio.
# Needs nginx and wrk (apt-get install nginx-light wrk). Bounded: ROUNDS x 2 runs of SECONDS.
#   scripts/bench-nginx.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-5}
N=10000
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
work=$(mktemp -d)
trap 'for p in "$work"/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done; rm -rf "$work"' EXIT
cargo build --quiet --release -p guestlist-compiler --features cli
{
  echo "cors api {"
  for i in $(seq 0 $((N - 1))); do printf '    allow-origins "https://tenant-%05d.example.com"\n' "$i"; done
  echo "    allow-methods GET POST PUT DELETE"
  echo "    allow-headers content-type x-auth-token"
  echo "    allow-credentials true"
  echo "    max-age 2h"
  echo "}"
  echo 'route "/api/*" { cors api }'
} > "$work/big.policy"
printf 'return 200 "ok\\n";\n' > "$work/upstream.conf"
target/release/guestlist emit nginx "$work/big.policy" -o "$work/out" --upstream-include "$work/upstream.conf"
grep -m1 "map_hash_max_size" "$work/out/guestlist-tuning.conf"
conf() { # name port body
  mkdir -p "$work/$1/logs" "$work/$1/tmp"
  cat > "$work/$1/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $work/$1.pid; error_log $work/$1/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/$1/tmp/b; proxy_temp_path $work/$1/tmp/p;
    fastcgi_temp_path $work/$1/tmp/f; uwsgi_temp_path $work/$1/tmp/u; scgi_temp_path $work/$1/tmp/s;
    map_hash_max_size 32768; map_hash_bucket_size 128;
    $3
}
CONF
  "$NGINX" -t -q -p "$work/$1" -c "$work/$1/nginx.conf" -e "$work/$1/logs/error.log"
  "$NGINX" -p "$work/$1" -c "$work/$1/nginx.conf" -e "$work/$1/logs/error.log" &
}
conf plain 38091 "server { listen 127.0.0.1:38091; location /api/ { return 200 \"ok\\n\"; } }"
conf cors 38092 "include $work/out/guestlist-http.conf; server { listen 127.0.0.1:38092; include $work/out/guestlist-server.conf; }"
sleep 1
origin="Origin: https://tenant-09999.example.com"
curl -s -D - -o /dev/null -H "$origin" http://127.0.0.1:38092/api/x | grep -i "access-control-allow-origin"
run() { wrk -t1 -c32 -d"${SECONDS_PER_RUN}s" -H "$origin" "http://127.0.0.1:$1/api/x" | awk '/Requests\/sec/ {print $2}'; }
plain=(); cors=(); ratios=()
for r in $(seq 1 "$ROUNDS"); do
  # Alternate which server goes first, so a drift in the shared machine's speed does not always
  # favour the same one.
  if [ $((r % 2)) = 1 ]; then
    p=$(run 38091); c=$(run 38092)
  else
    c=$(run 38092); p=$(run 38091)
  fi
  plain+=("$p"); cors+=("$c"); ratios+=("$(awk -v a="$c" -v b="$p" 'BEGIN {printf "%.3f", a/b}')")
  echo "round $r: no CORS $p req/s, guestlist $c req/s, ratio ${ratios[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mp=$(median "${plain[@]}"); mc=$(median "${cors[@]}")
echo "median: no CORS $mp req/s, guestlist ($N origins) $mc req/s, ratio of medians $(awk -v a="$mc" -v b="$mp" 'BEGIN {printf "%.3f", a/b}'), median of the rounds' ratios $(median "${ratios[@]}") (range $(printf '%s\n' "${ratios[@]}" | sort -g | head -1)-$(printf '%s\n' "${ratios[@]}" | sort -g | tail -1))"
