#!/usr/bin/env bash
# nginx's own instructions per request (valgrind callgrind: deterministic, unlike wall-clock time
# on a shared machine), for three configurations of one server: plain (`return 200`, no CORS), a
# minimal hand-written CORS configuration (one `map $http_origin`, `add_header ... always`, 204
# for OPTIONS) and guestlist's emitted configuration of the same policy. nginx runs with
# `master_process off` and one worker under callgrind; curl sends K requests over one keep-alive
# connection; per request = (I(run with K+1 requests) - I(run with 1 request)) / K, so start-up
# (and the build of a 100,000-entry hash) drops out.
#
# Requests: GET with an allowed origin (the last of N), GET with an origin not allowed, GET with
# no Origin, a preflight (OPTIONS, PUT, content-type) on the cors route `/api/*`; a GET with an
# allowed origin on a route without CORS (`/static/*`) and on a path outside every route.
# Policies: N exact origins for each size, and PATTERNS subdomain patterns
# (`https://*.tenant-{i}.example.com`; the hand-written comparator is one regex `map` over the
# suffixes).
#
#   scripts/nginx-instructions.sh [SIZES...]        (default: 1 100 10000 100000)
#   PATTERNS=10 (0: no patterns row), K=200 (requests per measured run)
#   JIT=1: `pcre_jit on;` in nginx's main context for every configuration, as spec/nginx.md
#   ("Cost per request") tells users to set it; JIT=0 leaves nginx's default (off).
#   GATE=FILE: measure only the gated subset (10,000 exact origins; GET allowed, preflight,
#   the route without CORS) and check each ratio against FILE's ceilings (see the file).
#
# Ratios: (emitted - plain) / (hand - plain) for the cors route (overheads compared), and
# emitted / plain for the route without CORS and the path outside every route.
set -euo pipefail
# A count that fails inside `$(...)` ends the script, never a gate passed on no measurement.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is required (apt-get install curl)" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
K=${K:-200}
PATTERNS=${PATTERNS:-10}
GATE=${GATE:-}
JIT=${JIT:-1}
main_extra=""
[ "$JIT" = 1 ] && main_extra="pcre_jit on;"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1 100 10000 100000)
read -r -a kinds <<< "${KINDS:-get-allowed get-denied get-none preflight}"
read -r -a side <<< "${SIDE-no-cors outside}"
if [ -n "$GATE" ]; then sizes=(10000); PATTERNS=0; kinds=(get-allowed preflight); side=(no-cors); fi
work=$(mktemp -d)
cleanup() {
  for p in "$work"/*/nginx.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cargo build --quiet --release -p guestlist-compiler --features cli
GUESTLIST=target/release/guestlist
printf 'return 200 "ok\\n";\n' > "$work/upstream.conf"
port=$((39000 + RANDOM % 400))

origin_of() { printf 'https://tenant-%06d.example.com' "$1"; }

# policy NAME N MODE: writes $work/NAME.policy and emits it to $work/NAME/out.
policy() {
  local name=$1 n=$2 mode=$3 i
  {
    echo "cors api {"
    for i in $(seq 0 $((n - 1))); do
      if [ "$mode" = patterns ]; then
        printf '    allow-origins "https://*.tenant-%06d.example.com"\n' "$i"
      else
        printf '    allow-origins "%s"\n' "$(origin_of "$i")"
      fi
    done
    echo "    allow-methods GET POST PUT DELETE"
    echo "    allow-headers content-type x-auth-token"
    echo "    allow-credentials true"
    echo "    max-age 2h"
    echo "}"
    echo 'route "/api/*" { cors api }'
    echo 'route "/static/*" { }'
  } > "$work/$name.policy"
  "$GUESTLIST" emit nginx "$work/$name.policy" -o "$work/$name/out" \
    --upstream-include "$work/upstream.conf" > /dev/null
}

# The hash sizes: the emitted tuning file when there is one, the same sizes for every
# configuration of a policy.
tuning() { # name n
  if [ -f "$work/$1/out/guestlist-tuning.conf" ]; then
    echo "include $work/$1/out/guestlist-tuning.conf;"
  else
    local size=2048
    while [ "$size" -lt $(($2 * 2)) ]; do size=$((size * 2)); done
    echo "map_hash_max_size $size; map_hash_bucket_size 128;"
  fi
}

# conf DIR HTTP-BODY SERVER-BODY: one nginx configuration under DIR.
conf() {
  mkdir -p "$1/logs" "$1/tmp"
  cat > "$1/nginx.conf" <<CONF
daemon off; master_process off; worker_processes 1; pid $1/nginx.pid; $main_extra
error_log $1/logs/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    keepalive_requests 1000000; keepalive_timeout 300s;
    client_body_temp_path $1/tmp/b; proxy_temp_path $1/tmp/p;
    fastcgi_temp_path $1/tmp/f; uwsgi_temp_path $1/tmp/u; scgi_temp_path $1/tmp/s;
$2
    server {
        listen 127.0.0.1:$port;
$3
        location / { return 200 "ok\\n"; }
    }
}
CONF
  "$NGINX" -t -q -p "$1" -c "$1/nginx.conf" -e "$1/logs/error.log"
}

# The three configurations of policy NAME (N entries, MODE exact|patterns).
configs() {
  local name=$1 n=$2 mode=$3 i map
  local t; t=$(tuning "$name" "$n")
  conf "$work/$name/plain" "    $t" \
    "        location ^~ /api/ { return 200 \"ok\\n\"; }
        location ^~ /static/ { return 200 \"ok\\n\"; }"
  map="$work/$name/hand-map.conf"
  {
    echo 'map $http_origin $hand_acao {'
    echo '    default "";'
    for i in $(seq 0 $((n - 1))); do
      if [ "$mode" = patterns ]; then
        printf '    "~^https://[a-z0-9.-]+\\.tenant-%06d\\.example\\.com$" $http_origin;\n' "$i"
      else
        printf '    "%s" $http_origin;\n' "$(origin_of "$i")"
      fi
    done
    echo '}'
  } > "$map"
  conf "$work/$name/hand" "    $t
    include $map;" \
    "        location ^~ /api/ {
            add_header Access-Control-Allow-Origin \$hand_acao always;
            add_header Access-Control-Allow-Credentials true always;
            add_header Access-Control-Allow-Methods \"GET, POST, PUT, DELETE\" always;
            add_header Access-Control-Allow-Headers \"content-type, x-auth-token\" always;
            add_header Access-Control-Max-Age 7200 always;
            add_header Vary Origin always;
            if (\$request_method = OPTIONS) { return 204; }
            return 200 \"ok\\n\";
        }
        location ^~ /static/ { return 200 \"ok\\n\"; }"
  conf "$work/$name/emitted" "    $t
    include $work/$name/out/guestlist-http.conf;" \
    "        include $work/$name/out/guestlist-server.conf;"
}

# count DIR KIND ORIGIN REQUESTS: nginx's instructions for REQUESTS requests of KIND.
count() {
  local dir=$1 kind=$2 origin=$3 k=$4 out vp i url path args=()
  out="$dir/callgrind.log"
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" 2> "$out" &
  vp=$!
  # Ready when the port accepts a connection (the same probe in every run, so it cancels out).
  for i in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  case $kind in
    no-cors) path=/static/x ;;
    outside) path=/elsewhere/x ;;
    *) path=/api/x ;;
  esac
  url="http://127.0.0.1:$port$path"
  case $kind in
    get-none) ;;
    get-denied) args+=(-H "Origin: https://evil.example.net") ;;
    preflight) args+=(-X OPTIONS -H "Origin: $origin" -H "Access-Control-Request-Method: PUT"
      -H "Access-Control-Request-Headers: content-type") ;;
    *) args+=(-H "Origin: $origin") ;;
  esac
  local urls=()
  for i in $(seq 1 "$k"); do urls+=("$url"); done
  local ok=0
  curl -sf "${args[@]}" "${urls[@]}" > /dev/null || ok=$?
  # SIGTERM ends nginx (callgrind then writes its totals); sent again should one be lost.
  for i in $(seq 1 600); do
    [ $((i % 100)) = 1 ] && kill -TERM "$vp" 2>/dev/null
    kill -0 "$vp" 2>/dev/null || break
    sleep 0.1
  done
  wait "$vp" || true
  # curl -f fails on 4xx; a preflight refused by design is not measured here.
  [ "$ok" = 0 ] || { echo "error: curl failed ($ok) for $kind on $dir" >&2; return 1; }
  awk '/Collected/ {print $4}' "$out"
}
per() { # dir kind origin
  local a b
  a=$(count "$1" "$2" "$3" 1); b=$(count "$1" "$2" "$3" $((K + 1)))
  echo $(((b - a) / K))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

rows=()
gate_rows=()
measure() { # name n mode label
  local name=$1 n=$2 mode=$3 label=$4 origin kind p h e
  if [ "$mode" = patterns ]; then
    origin="https://app.tenant-$(printf '%06d' $((n - 1))).example.com"
  else
    origin=$(origin_of $((n - 1)))
  fi
  policy "$name" "$n" "$mode"
  configs "$name" "$n" "$mode"
  for kind in "${kinds[@]}"; do
    p=$(per "$work/$name/plain" "$kind" "$origin")
    h=$(per "$work/$name/hand" "$kind" "$origin")
    e=$(per "$work/$name/emitted" "$kind" "$origin")
    rows+=("| $kind | $label | $p | $h (+$((h - p))) | $e (+$((e - p))) | $(ratio $((e - p)) $((h - p))) |")
    gate_rows+=("$kind $(ratio $((e - p)) $((h - p)))")
    echo "$kind $label: plain $p, hand $h, emitted $e" >&2
  done
  for kind in "${side[@]}"; do
    p=$(per "$work/$name/plain" "$kind" "$origin")
    e=$(per "$work/$name/emitted" "$kind" "$origin")
    rows+=("| $kind | $label | $p | — | $e (+$((e - p))) | $(ratio "$e" "$p") (of plain) |")
    gate_rows+=("$kind $(ratio "$e" "$p")")
    echo "$kind $label: plain $p, emitted $e" >&2
  done
}

for n in "${sizes[@]}"; do measure "exact-$n" "$n" exact "$n exact"; done
[ "$PATTERNS" -gt 0 ] && measure "patterns" "$PATTERNS" patterns "$PATTERNS patterns"

echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///'), K=$K requests per run, pcre_jit $([ "$JIT" = 1 ] && echo on || echo off)"
echo
echo "| request | policy | plain | hand-written (overhead) | emitted (overhead) | emitted ovh / hand ovh |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"

if [ -n "$GATE" ]; then
  status=0
  for r in "${gate_rows[@]}"; do
    set -- $r
    ceiling=$(awk -v k="$1" '$1 == k {print $2}' "$GATE")
    [ -n "$ceiling" ] || { echo "error: no ceiling for $1 in $GATE" >&2; status=1; continue; }
    if awk -v a="$2" -v c="$ceiling" 'BEGIN {exit !(a > 0 && a <= c)}'; then
      echo "gate $1: $2 <= $ceiling"
    else
      echo "error: gate $1: $2 is over its ceiling $ceiling ($GATE)" >&2
      status=1
    fi
  done
  exit $status
fi
