//! The benchmark compares like with like: both layers allow the benchmark's requests and send
//! the same Access-Control-Allow-Origin (so neither is measured taking a shortcut).

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

/// Every variant the instruction harness compares answers the benchmark's requests alike:
/// static and run-time tables give identical responses; the hand-written baselines and the
/// pattern policy allow their requests; a hostile preflight is allowed like a normal one.
#[test]
fn every_measured_variant_allows_its_requests() {
    use guestlist_benches::{
        guestlist_pattern_service, guestlist_static_pattern_service, guestlist_static_service,
        hand_pattern_service, hand_service,
    };
    let pairs = |r: &http::Response<()>| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    };
    for n in [1, 100, 1_000, 10_000] {
        let reqs = Requests::last_of(n);
        let (mut st, mut rt, mut hand) = (
            guestlist_static_service(n),
            guestlist_service(n),
            hand_service(n),
        );
        for req in [
            Requests::get,
            Requests::preflight,
            Requests::hostile_preflight,
        ] {
            let a = run(&mut st, req(&reqs));
            let b = run(&mut rt, req(&reqs));
            assert_eq!(a.status(), b.status());
            assert_eq!(pairs(&a), pairs(&b), "static vs run-time tables, n={n}");
            assert!(a.headers().contains_key("access-control-allow-origin"));
            let h = run(&mut hand, req(&reqs));
            assert_eq!(
                h.headers()["access-control-allow-origin"],
                a.headers()["access-control-allow-origin"]
            );
        }
        assert_eq!(run(&mut st, reqs.hostile_preflight()).status(), 204);
    }
    for n in [1, 100, 1_000, 10_000] {
        let reqs = Requests::pattern_of(n);
        let a = run(&mut guestlist_pattern_service(n), reqs.get());
        let s = run(&mut guestlist_static_pattern_service(n), reqs.get());
        assert_eq!(
            pairs(&a),
            pairs(&s),
            "static vs run-time pattern tables, n={n}"
        );
        let h = run(&mut hand_pattern_service(n), reqs.get());
        assert!(a.headers().contains_key("access-control-allow-origin"));
        assert_eq!(
            h.headers()["access-control-allow-origin"],
            a.headers()["access-control-allow-origin"]
        );
    }
}
