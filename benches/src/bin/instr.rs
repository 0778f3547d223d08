//! The instruction-count harness: runs K requests through one variant, so that
//! `valgrind --tool=callgrind` can count instructions per request as
//! (I(K2) - I(K1)) / (K2 - K1), which cancels every setup cost. See scripts/instructions.sh.
//!
//! `instr VARIANT KIND N K` with VARIANT in floor|guestlist|tower-http|hand|guestlist-cloned|
//! tower-http-cloned, KIND in get|preflight.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // a measuring tool fails loudly

use guestlist_benches::{
    guestlist_service, hand_service, run, tower_http_service, Floor, Requests,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (variant, kind, n, k) = (
        &args[1],
        &args[2],
        args[3].parse::<usize>().unwrap(),
        args[4].parse::<usize>().unwrap(),
    );
    let reqs = Requests::last_of(n);
    let make = || {
        if kind == "get" {
            reqs.get()
        } else {
            reqs.preflight()
        }
    };
    let mut sink = 0usize;
    macro_rules! go {
        ($svc:expr, $clone:expr) => {{
            let mut svc = $svc;
            for _ in 0..k {
                let r = if $clone {
                    run(&mut svc.clone(), make())
                } else {
                    run(&mut svc, make())
                };
                sink += r.headers().len();
            }
        }};
    }
    match variant.as_str() {
        "floor" => go!(Floor, false),
        "guestlist" => go!(guestlist_service(n), false),
        "guestlist-cloned" => go!(guestlist_service(n), true),
        "tower-http" => go!(tower_http_service(n), false),
        "tower-http-cloned" => go!(tower_http_service(n), true),
        "hand" => go!(hand_service(n), false),
        other => panic!("unknown variant {other}"),
    }
    std::hint::black_box(sink);
}
