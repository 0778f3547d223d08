//! The benchmark compares like with like: both layers allow the benchmark's requests and send
//! the same Access-Control-Allow-Origin (so neither is measured taking a shortcut).
#![allow(clippy::unwrap_used)] // tests fail by panicking

use guestlist_benches::{guestlist_service, run, tower_http_service, Requests};

#[test]
fn both_layers_allow_the_benchmark_requests() {
    for n in [1, 100] {
        let reqs = Requests::last_of(n);
        let mut gl = guestlist_service(n);
        let mut th = tower_http_service(n);
        let a = run(&mut gl, reqs.get());
        let b = run(&mut th, reqs.get());
        assert_eq!(
            a.headers()["access-control-allow-origin"],
            b.headers()["access-control-allow-origin"]
        );
        let a = run(&mut gl, reqs.preflight());
        let b = run(&mut th, reqs.preflight());
        assert_eq!(a.status(), 204);
        assert!(b.status().is_success());
        assert_eq!(
            a.headers()["access-control-allow-origin"],
            b.headers()["access-control-allow-origin"]
        );
        assert_eq!(a.headers()["access-control-max-age"], "7200");
    }
}
