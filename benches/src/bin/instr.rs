//! The instruction-count harness: runs K requests through one variant, so that
//! `valgrind --tool=callgrind --toggle-collect='*measured*'` counts the instructions of
//! `measured` alone, per request (I(K2) - I(K1)) / (K2 - K1), which cancels every setup cost.
//! The request is built outside the counted region (and dropped inside
//! it, by the service) and the response is dropped outside it. See scripts/instructions.sh.
//!
//! `instr VARIANT KIND N K` with VARIANT in floor|hand|guestlist|guestlist-cloned|
//! guestlist-static|guestlist-static-cloned|tower-http|tower-http-cloned|hand-pattern|
//! guestlist-pattern|guestlist-static-pattern|guestlist-provided|guestlist-provided-tenant, KIND in get|preflight|hostile (a preflight whose
//! Access-Control-Request-Headers holds 1,000 commas). The `-pattern` variants allow N subdomain
//! patterns (`https://*.tenant-{i}.example.com`) and the request comes from a subdomain of the
//! last.
//! `guestlist` builds its tables at run time (`Layer::shared`); `guestlist-static` uses the
//! static tables build.rs generated (what `include_policy!` gives), for N in STATIC_SIZES.
//! `guestlist-provided` holds the same N origins in a set supplied at run time (`origins
//! tenants provided`, filled by `replace_provided`); `-tenant` declares it `tenant-bound`.
//! `guestlist-hosts` serves the 1,000-origin policy under N host blocks (`hosts_policy_text`)
//! and the request goes to the last block's host; `floor-hosts` is the bare service with that
//! request, with the same policy built beside it (the allocator's state is part of the
//! floor).
#![expect(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a measuring tool fails loudly"
)]

use guestlist_benches::{
    guestlist_hosts_service, guestlist_pattern_service, guestlist_provided_service,
    guestlist_service, guestlist_static_pattern_service, guestlist_static_service,
    hand_pattern_service, hand_service, run, tower_http_service, Floor, NoBody, Requests,
};
use http::{Request, Response};
use tower_service::Service;

/// One request through `svc`: the only code callgrind counts.
#[inline(never)]
fn measured<S>(svc: &mut S, req: Request<NoBody>) -> Response<()>
where
    S: Service<Request<NoBody>, Response = Response<()>>,
    S::Error: std::fmt::Debug,
{
    run(svc, req)
}

/// One request through a clone of `svc`, as axum clones a route's service per request.
#[inline(never)]
fn measured_cloned<S>(svc: &S, req: Request<NoBody>) -> Response<()>
where
    S: Service<Request<NoBody>, Response = Response<()>> + Clone,
    S::Error: std::fmt::Debug,
{
    run(&mut svc.clone(), req)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (variant, kind, n, k) = (
        &args[1],
        &args[2],
        args[3].parse::<usize>().unwrap(),
        args[4].parse::<usize>().unwrap(),
    );
    let reqs = if variant.ends_with("-pattern") {
        Requests::pattern_of(n)
    } else if variant.ends_with("-hosts") {
        // N host blocks, 1,000 origins; the request to the last block's host.
        Requests::last_of(1_000).with_host(&format!("h{:05}.example.com", n - 1))
    } else {
        Requests::last_of(n)
    };
    let make = || match kind.as_str() {
        "get" => reqs.get(),
        "preflight" => reqs.preflight(),
        "hostile" => reqs.hostile_preflight(),
        other => panic!("unknown kind {other}"),
    };
    let mut sink = 0usize;
    macro_rules! go {
        ($svc:expr, $clone:expr) => {{
            let mut svc = $svc;
            for _ in 0..k {
                let req = make();
                let r = if $clone {
                    measured_cloned(&svc, req)
                } else {
                    measured(&mut svc, req)
                };
                sink += r.headers().len();
                drop(r);
            }
        }};
    }
    match variant.as_str() {
        "floor" => go!(Floor, false),
        "floor-hosts" => {
            // The bare service, with the N-block policy built and kept (as guestlist-hosts
            // does), so that both run on the same heap.
            let kept = guestlist_hosts_service(n);
            go!(Floor, false);
            drop(kept);
        }
        "guestlist-hosts" => go!(guestlist_hosts_service(n), false),
        "guestlist" => go!(guestlist_service(n), false),
        "guestlist-cloned" => go!(guestlist_service(n), true),
        "guestlist-static" => go!(guestlist_static_service(n), false),
        "guestlist-static-cloned" => go!(guestlist_static_service(n), true),
        "tower-http" => go!(tower_http_service(n), false),
        "tower-http-cloned" => go!(tower_http_service(n), true),
        "hand" => go!(hand_service(n), false),
        "hand-pattern" => go!(hand_pattern_service(n), false),
        "guestlist-pattern" => go!(guestlist_pattern_service(n), false),
        "guestlist-static-pattern" => go!(guestlist_static_pattern_service(n), false),
        "guestlist-provided" => go!(guestlist_provided_service(n, false), false),
        "guestlist-provided-tenant" => go!(guestlist_provided_service(n, true), false),
        other => panic!("unknown variant {other}"),
    }
    std::hint::black_box(sink);
}
