//! A policy with host blocks (examples/policies/hosts.policy), two ways in, identical
//! decisions: the macro-compiled tables (host table, each block's route table and the regions
//! as statics) and the tables `Policy::from_spec` builds at run time from the same lowering,
//! over a grid of authorities, paths (both readings), origins and methods. Then the guard that
//! follows the path: a cross-site POST to a tenant host is refused by `api.example.com`'s csrf.
#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

use guestlist::{Kind, Policy};

static MACRO: Policy = guestlist_macros::include_policy!("../policies/hosts.policy");

fn lowered() -> guestlist_compiler::Lowered {
    let c = guestlist_compiler::Compilation::load(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policies/hosts.policy"
    )])
    .unwrap();
    c.lower("default").unwrap()
}

fn summary(
    p: &Policy,
    m: &str,
    path: &str,
    target: Option<&str>,
    h: &[(String, String)],
) -> String {
    let d = p.decide_with_authority(m, path, target, h);
    let headers: Vec<String> = d
        .headers()
        .iter()
        .map(|x| {
            format!(
                "{}: {}",
                x.name.as_str(),
                String::from_utf8_lossy(x.value.as_bytes())
            )
        })
        .collect();
    format!(
        "{} {} route={:?} {:?} {headers:?}",
        d.kind.as_str(),
        d.reason.code(),
        d.route,
        d.refusal_reason()
    )
}

#[test]
fn generated_and_run_time_host_tables_decide_alike() {
    let low = lowered();
    let run_time = &low.policy;
    assert_eq!(MACRO.host_block_count(), 2);
    assert_eq!(run_time.host_block_count(), 2);
    let hosts = [
        None,
        Some("api.example.com"),
        Some("API.Example.COM."),
        Some("api.example.com:443"),
        Some("api.example.net:8443"),
        Some("api.example.net"),
        Some("x.tenants.example.com"),
        Some("a.b.tenants.example.com"),
        Some("tenants.example.com"),
        Some("other.example"),
    ];
    let paths = [
        "/api/x",
        "/account/delete",
        "/live",
        "/",
        "/api/%2e%2e/account/delete",
        "/account//delete",
        "/x/../api/y",
    ];
    let origins = [
        None,
        Some("https://app.example.com"),
        Some("https://x.tenants.example.com"),
        Some("https://evil.example"),
    ];
    let mut kinds = std::collections::BTreeSet::new();
    let mut n = 0;
    for host in hosts {
        for target in [None, host] {
            for path in paths {
                for origin in origins {
                    for (method, extra) in [
                        ("GET", None),
                        ("POST", Some(("sec-fetch-site", "cross-site"))),
                        ("OPTIONS", Some(("access-control-request-method", "PUT"))),
                        ("OPTIONS", Some(("access-control-request-method", "GET"))),
                        ("GET", Some(("upgrade", "websocket"))),
                    ] {
                        let mut h: Vec<(String, String)> = Vec::new();
                        if let Some(host) = host {
                            h.push(("host".into(), host.into()));
                        }
                        if let Some(o) = origin {
                            h.push(("origin".into(), o.into()));
                        }
                        if let Some((k, v)) = extra {
                            h.push((k.into(), v.into()));
                        }
                        let a = summary(&MACRO, method, path, target, &h);
                        let b = summary(run_time, method, path, target, &h);
                        assert_eq!(a, b, "{method} {path} {target:?} {h:?}");
                        kinds.insert(a.split(' ').next().unwrap_or_default().to_string());
                        n += 1;
                    }
                }
            }
        }
    }
    assert!(n > 2000, "{n}");
    // Every kind a host policy can give is among them, host-rejected aside.
    for k in [
        "preflight-ok",
        "preflight-rejected",
        "actual-allowed",
        "actual-not-allowed",
        "csrf-rejected",
        "websocket-rejected",
        "not-cors",
    ] {
        assert!(kinds.contains(k), "{k} not exercised: {kinds:?}");
    }
}

#[test]
fn a_guard_follows_its_path_to_every_host() {
    for host in ["x.tenants.example.com", "other.example", "api.example.com"] {
        let h = [
            ("host", host),
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ];
        let d = MACRO.decide("POST", "/account/delete", &h[..]);
        assert_eq!(d.kind, Kind::CsrfRejected, "{host}: {d:?}");
    }
    // CORS on a tenant host: `public` and, for /api/*, `app` of api.example.com too (the
    // application serves /api/* on every host), so a tenant origin is refused there.
    let h = [
        ("host", "x.tenants.example.com"),
        ("origin", "https://x.tenants.example.com"),
    ];
    let d = MACRO.decide("GET", "/api/x", &h[..]);
    assert_eq!(d.kind, Kind::ActualNotAllowed, "{d:?}");
    let h = [
        ("host", "x.tenants.example.com"),
        ("origin", "https://app.example.com"),
    ];
    let d = MACRO.decide("GET", "/api/x", &h[..]);
    assert_eq!(d.kind, Kind::ActualAllowed, "{d:?}");
    // Two Host lines: 400.
    let h = [
        ("host", "api.example.com"),
        ("host", "x.tenants.example.com"),
    ];
    assert_eq!(MACRO.decide("GET", "/api/x", &h[..]).status(), Some(400));
}
