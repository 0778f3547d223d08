#!/usr/bin/env bash
# Caddy's CPU time per request (GOMAXPROCS=1, on 127.0.0.1, driven by wrk): a bare `respond`,
# a minimal hand-written CORS configuration, and guestlist's snippet for
# examples/policies/site.policy, for an allowed GET and an allowed preflight on
# /api/v1/users. Medians of RUNS runs of `wrk -t1 -c16 -d${SECONDS_PER_RUN}s` each.
# Measured, not gated (BENCHMARKS.md, "Caddy"). Needs caddy, wrk and the guestlist CLI
# (GUESTLIST, default: built with cargo).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
PORT=${PORT:-18931}
dir=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
export HOME="$dir" XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" GOMAXPROCS=1
if [ -z "${GUESTLIST:-}" ]; then
  cargo build -q --release -p guestlist-compiler --features cli
  GUESTLIST=target/release/guestlist
fi
printf 'respond "app" 200\n' > "$dir/upstream.caddy"
"$GUESTLIST" emit caddy examples/policies/site.policy -o "$dir/out" \
  --upstream-include "$dir/upstream.caddy" >/dev/null
global="{
	admin off
	auto_https off
}"
cat > "$dir/bare.caddy" <<CONF
$global
http://:$PORT {
	bind 127.0.0.1
	respond "app" 200
}
CONF
cat > "$dir/hand.caddy" <<CONF
$global
http://:$PORT {
	bind 127.0.0.1
	@ok header Origin https://app.example.com
	@pf {
		method OPTIONS
		header Origin https://app.example.com
		header Access-Control-Request-Method *
	}
	header @ok {
		Access-Control-Allow-Origin {http.request.header.Origin}
		Access-Control-Allow-Credentials true
		Vary Origin
		defer
	}
	handle @pf {
		header Access-Control-Allow-Methods {http.request.header.Access-Control-Request-Method}
		header Access-Control-Allow-Headers "Content-Type, X-Request-Id"
		header Access-Control-Max-Age 600
		respond 204
	}
	respond "app" 200
}
CONF
cat > "$dir/guestlist.caddy" <<CONF
$global
http://:$PORT {
	bind 127.0.0.1
	import $dir/out/guestlist.caddy
}
CONF
cat > "$dir/preflight.lua" <<'LUA'
wrk.method = "OPTIONS"
wrk.headers["Origin"] = "https://app.example.com"
wrk.headers["Access-Control-Request-Method"] = "PUT"
wrk.headers["Access-Control-Request-Headers"] = "content-type"
LUA
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# Caddy's CPU time per request in microseconds (user + system, from /proc; less sensitive to
# other load on the machine than requests per second), median of RUNS runs.
cpu_us() { # config, wrk args...
  local conf=$1; shift
  caddy run --adapter caddyfile --config "$dir/$conf.caddy" >"$dir/$conf.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.05; done
  for _ in $(seq "$RUNS"); do
    local before after n
    before=$(ticks "$pid")
    n=$(wrk -t1 -c16 -d"${SECONDS_PER_RUN}s" "$@" "http://127.0.0.1:$PORT/api/v1/users" \
      | awk '/requests in/ {print $1}')
    after=$(ticks "$pid")
    awk -v t=$((after - before)) -v hz="$hz" -v n="$n" 'BEGIN {printf "%.1f\n", t / hz / n * 1e6}'
  done | median
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
printf '%-10s %16s %16s\n' config "GET us/request" "OPTIONS us/request"
for conf in bare hand guestlist; do
  get=$(cpu_us "$conf" -H "Origin: https://app.example.com")
  pf=$(cpu_us "$conf" -s "$dir/preflight.lua")
  printf '%-10s %16s %16s\n' "$conf" "$get" "$pf"
done
