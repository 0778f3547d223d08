#!/usr/bin/env bash
# Regenerates the committed outputs of the bundled example (examples/generated/), with the
# command their headers name. The golden test (compiler/tests/golden.rs) fails when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --quiet -p guestlist-compiler --features cli -- build examples/policies/site-tests.policy -o examples/generated --include-root /etc/nginx/guestlist --upstream-include /etc/nginx/guestlist-upstream.conf --haproxy-include-root /etc/haproxy/guestlist --caddy-upstream-include /etc/caddy/guestlist-upstream.caddy --caddy-include-root /etc/caddy/guestlist
