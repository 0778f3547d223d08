#!/usr/bin/env bash
# HAProxy's own instructions per request (valgrind callgrind: deterministic, unlike wall-clock
# time on a shared machine), for three configurations of one frontend that answers 200 itself
# (`http-request return`, the application's stand-in): bare (no CORS), a minimal hand-written
# CORS configuration (one allowed origin: Access-Control-Allow-Origin echoed with Vary, a 204
# for its preflight) and guestlist's emitted configuration of the same policy. HAProxy runs
# with `-db` and `nbthread 1` under callgrind; curl sends K requests over one keep-alive
# connection; per request = (I(run with K+1 requests) - I(run with 1 request)) / K, so start-up
# drops out.
#
#   scripts/haproxy-instructions.sh                 (K=200 requests per measured run)
#   GATE=FILE: check each ratio against FILE's ceilings (scripts/haproxy-ceilings.txt).
#
# Ratio: (emitted - bare) / (hand - bare), the two configurations' overheads compared, for a
# GET with the allowed origin (get-allowed) and its preflight (preflight).
#
# Reported, not gated: the example policy (examples/policies/site.policy, two routes, two cors
# policies, credentials, patterns) emitted the same way, per request kind: a GET and a
# preflight on /api/ with an allowed origin, a GET on /api/ with a refused origin, a GET on
# /assets/ (`*`), and a GET outside every route without Origin.
set -euo pipefail
# A count that fails inside `$(...)` ends the script, never a gate passed on no measurement.
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is required (apt-get install curl)" >&2; exit 1; }
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
K=${K:-200}
GATE=${GATE:-}
work=$(mktemp -d)
vp=""
cleanup() {
  [ -n "$vp" ] && kill "$vp" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$((41000 + RANDOM % 400))
origin=https://app.example.com

cat > "$work/gate.policy" <<POLICY
cors api {
    allow-origins  "$origin"
    allow-methods  GET POST PUT
    allow-headers  content-type
}
route "/*" { cors api }
POLICY
cargo build --quiet --release -p guestlist-compiler --features cli
target/release/guestlist emit haproxy "$work/gate.policy" -o "$work/out" > /dev/null
target/release/guestlist emit haproxy examples/policies/site.policy -o "$work/site-out" > /dev/null

# conf NAME LINES: a configuration whose frontend holds LINES, then answers 200.
conf() {
  mkdir -p "$work/$1"
  {
    printf 'global\n    nbthread 1\n\ndefaults d\n    mode http\n    timeout client 30s\n    timeout server 30s\n    timeout connect 5s\n\n'
    printf 'frontend fe\n    bind 127.0.0.1:%s\n' "$port"
    printf '%s\n' "$2" | sed 's/^/    /'
    printf '    http-request return status 200\n'
  } > "$work/$1/haproxy.cfg"
  "$HAPROXY" -c -q -f "$work/$1/haproxy.cfg"
}
conf bare ""
# The hand-written configuration: the minimal CORS sketch of HAProxy's documentation
# (an ACL on Origin, the preflight's 204 or 403, the upstream's Access-Control-Allow-Origin
# removed, the allowed origin echoed with Vary).
conf hand "acl cors_ok req.hdr(origin) -m str $origin
acl is_opt method OPTIONS
acl has_acrm req.hdr(access-control-request-method) -m found
http-request set-var(txn.cors_origin) req.hdr(origin) if cors_ok
http-request return status 204 hdr Access-Control-Allow-Methods \"GET, POST, PUT\" hdr Access-Control-Allow-Headers content-type if is_opt has_acrm cors_ok
http-request return status 403 if is_opt has_acrm !cors_ok
http-response del-header Access-Control-Allow-Origin
http-after-response set-header Access-Control-Allow-Origin \"%[var(txn.cors_origin)]\" if { var(txn.cors_origin) -m found }
http-after-response add-header Vary Origin"
conf emitted "$(cat "$work/out/guestlist.cfg")"
conf site "$(cat "$work/site-out/guestlist.cfg")"

# count NAME KIND REQUESTS: HAProxy's instructions for REQUESTS requests of KIND; a run whose
# requests were not all answered (curl could not connect to HAProxy starting under valgrind)
# is run again, twice at most, and then fails the script.
count() {
  local attempt
  for attempt in 1 2 3; do
    count_once "$@" && return 0
    echo "count $1 $2 $3: run $attempt measured nothing" >&2
  done
  return 1
}
count_once() {
  local dir=$work/$1 kind=$2 k=$3 out i args=() urls=()
  out="$dir/callgrind.log"
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    "$HAPROXY" -db -f "$dir/haproxy.cfg" 2> "$out" &
  vp=$!
  for i in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  local path=/api/x
  case $kind in
    preflight) args+=(-X OPTIONS -H "Origin: $origin" -H "Access-Control-Request-Method: PUT"
      -H "Access-Control-Request-Headers: content-type") ;;
    get-refused) args+=(-H "Origin: https://evil.example") ;;
    get-public) args+=(-H "Origin: $origin"); path=/assets/x ;;
    get-unrouted) path=/x ;;
    *) args+=(-H "Origin: $origin") ;;
  esac
  for i in $(seq 1 "$k"); do urls+=("http://127.0.0.1:$port$path"); done
  local ok=0
  curl -sf "${args[@]}" "${urls[@]}" > /dev/null || ok=$?
  for i in $(seq 1 600); do
    [ $((i % 100)) = 1 ] && kill -TERM "$vp" 2>/dev/null
    kill -0 "$vp" 2>/dev/null || break
    sleep 0.1
  done
  wait "$vp" || true
  vp=""
  [ "$ok" = 0 ] || { echo "error: curl failed ($ok) for $kind on $1" >&2; return 1; }
  awk '/Collected/ {print $4}' "$out"
}
per() { # name kind
  local a b
  a=$(count "$1" "$2" 1); b=$(count "$1" "$2" $((K + 1)))
  echo $(((b - a) / K))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; }

rows=()
gate_rows=()
for kind in get-allowed preflight; do
  b=$(per bare "$kind"); h=$(per hand "$kind"); e=$(per emitted "$kind")
  rows+=("| $kind | $b | $h (+$((h - b))) | $e (+$((e - b))) | $(ratio $((e - b)) $((h - b))) |")
  gate_rows+=("$kind $(ratio $((e - b)) $((h - b)))")
  echo "$kind: bare $b, hand $h, emitted $e" >&2
done

echo "HAProxy $("$HAPROXY" -v | awk 'NR == 1 {print $3}'), K=$K requests per run, nbthread 1"
echo
echo "| request | bare | hand-written (overhead) | emitted (overhead) | emitted ovh / hand ovh |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"

echo
echo "Reported, not gated: examples/policies/site.policy emitted (overhead over bare)"
echo
echo "| request | bare | emitted site.policy (overhead) |"
echo "|---|---|---|"
for kind in get-allowed preflight get-refused get-public get-unrouted; do
  b=$(per bare "$kind"); e=$(per site "$kind")
  echo "| $kind | $b | $e (+$((e - b))) |"
  echo "site $kind: bare $b, emitted $e" >&2
done
echo

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
