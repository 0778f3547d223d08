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

/// The host-block benchmark's tables, built from plain data, decide as the policy text they
/// stand for does when the compiler builds it; the measured requests are allowed.
#[test]
fn the_host_benchmark_policy_is_its_text() {
    use guestlist_benches::{compile, guestlist_hosts_policy, hosts_policy_text};
    for blocks in [1, 3] {
        let built = guestlist_hosts_policy(blocks);
        let compiled = compile(&hosts_policy_text(blocks));
        let mut n = 0;
        for host in [
            None,
            Some("h00000.example.com"),
            Some("h00002.example.com"),
            Some("x.example.com"),
        ] {
            for path in ["/", "/x", "/b00000", "/b00002", "/b00001/y"] {
                for origin in ["https://tenant-00999.example.com", "https://evil.example"] {
                    for (method, acrm) in [
                        ("GET", None),
                        ("OPTIONS", Some("PUT")),
                        ("OPTIONS", Some("PATCH")),
                    ] {
                        let mut h = vec![("origin", origin)];
                        if let Some(host) = host {
                            h.push(("host", host));
                        }
                        if let Some(m) = acrm {
                            h.push(("access-control-request-method", m));
                        }
                        let a = built.decide(method, path, &h[..]);
                        let b = compiled.decide(method, path, &h[..]);
                        let show = |d: &guestlist::Decision<'_>| {
                            let headers: Vec<String> = d
                                .headers()
                                .iter()
                                .map(|x| format!("{}={:?}", x.name.as_str(), x.value.as_bytes()))
                                .collect();
                            format!(
                                "{} {} {:?} {headers:?}",
                                d.kind.as_str(),
                                d.reason.code(),
                                d.route
                            )
                        };
                        assert_eq!(show(&a), show(&b), "{method} {path} {h:?}");
                        n += 1;
                    }
                }
            }
        }
        assert_eq!(n, 120);
    }
    let mut svc = guestlist_benches::guestlist_hosts_service(3);
    let reqs = Requests::last_of(1_000).with_host("h00002.example.com");
    let r = run(&mut svc, reqs.get());
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://tenant-00999.example.com"
    );
    let r = run(&mut svc, reqs.preflight());
    assert_eq!(r.status(), 204);
}
