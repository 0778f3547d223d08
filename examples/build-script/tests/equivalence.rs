//! One policy, three ways in, identical decisions: the macro-compiled tables, the build.rs
//! tables, and `guestlist explain` (the compiler's lowering, the same code the CLI runs). The
//! requests are the policy's `test` blocks plus a grid of origins, methods, paths and
//! `Access-Control-Request-*` values. The decisions are also compared over real HTTP.
#![expect(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

#[path = "../../shared/http_test.rs"]
mod http_test;

use guestlist::Policy;

static MACRO: Policy = guestlist_macros::include_policy!("../policies/site.policy");
static MACRO_DEV: Policy =
    guestlist_macros::include_policy!("../policies/site.policy", profile = "dev");

type Request = (String, String, Vec<(String, String)>, String);

fn requests() -> Vec<Request> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/site-tests.policy");
    let c = guestlist_compiler::Compilation::load(&[root]).unwrap();
    let mut out: Vec<Request> = c
        .program()
        .tests
        .iter()
        .map(|t| {
            (
                t.method.clone(),
                t.path.clone(),
                t.headers.clone(),
                t.profile.clone().unwrap_or_else(|| "default".into()),
            )
        })
        .collect();
    assert!(out.len() >= 8);
    let origins = [
        None,
        Some("https://app.example.com"),
        Some("https://admin.example.com:8443"),
        Some("https://admin.example.com"),
        Some("https://a.b.preview.example.com"),
        Some("https://preview.example.com"),
        Some("https://app.example.com.evil.net"),
        Some("https://APP.example.com"),
        Some("http://localhost:3000"),
        Some("null"),
    ];
    let paths = [
        "/api/users/1",
        "/api",
        "/assets/x.css",
        "/login",
        "/api/../assets/y",
        "/%61pi/z",
    ];
    let methods = ["GET", "POST", "OPTIONS", "PUT"];
    let acrm = [None, Some("PUT"), Some("patch"), Some("DELETE")];
    let acrh = [
        None,
        Some("content-type"),
        Some("authorization,x-request-id"),
        Some("x-other"),
    ];
    for profile in ["default", "dev"] {
        for o in origins {
            for p in paths {
                for m in methods {
                    for (i, a) in acrm.iter().enumerate() {
                        let mut h = Vec::new();
                        if let Some(o) = o {
                            h.push(("Origin".to_string(), o.to_string()));
                        }
                        if let Some(a) = a {
                            h.push(("Access-Control-Request-Method".to_string(), a.to_string()));
                        }
                        if let Some(x) = acrh[i % acrh.len()] {
                            h.push(("Access-Control-Request-Headers".to_string(), x.to_string()));
                        }
                        out.push((m.to_string(), p.to_string(), h, profile.to_string()));
                    }
                }
            }
        }
    }
    out
}

fn summary(
    p: &Policy,
    m: &str,
    path: &str,
    h: &[(String, String)],
) -> (String, String, Vec<(String, String)>) {
    let d = p.decide(m, path, h);
    let mut headers: Vec<(String, String)> = d
        .headers()
        .iter()
        .map(|x| {
            (
                x.name.as_str().to_string(),
                String::from_utf8_lossy(x.value.as_bytes()).into_owned(),
            )
        })
        .collect();
    if let Some(r) = d.refusal_reason() {
        headers.push((guestlist::REASON_HEADER.to_string(), r.to_string()));
    }
    (
        d.kind.as_str().to_string(),
        d.reason.code().to_string(),
        headers,
    )
}

#[test]
fn macro_build_rs_and_explain_agree() {
    let c = guestlist_compiler::Compilation::load(&[concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policies/site.policy"
    )])
    .unwrap();
    let lowered = [c.lower("default").unwrap(), c.lower("dev").unwrap()];
    let reqs = requests();
    let mut kinds = std::collections::BTreeSet::new();
    for (m, path, h, profile) in &reqs {
        let (mac, built, low) = if profile == "dev" {
            (
                &MACRO_DEV,
                &build_script_example::GUESTLIST_POLICY_DEV,
                &lowered[1],
            )
        } else {
            (&MACRO, &build_script_example::GUESTLIST_POLICY, &lowered[0])
        };
        let a = summary(mac, m, path, h);
        let b = summary(built, m, path, h);
        assert_eq!(a, b, "macro vs build.rs: {m} {path} {h:?} ({profile})");
        let e = guestlist_compiler::explain::explain(low, m, path, h).unwrap();
        // explain shows the layer's response, whose order across names is the header map's:
        // compared name by name (a stable sort keeps each name's lines in order).
        let by_name = |mut v: Vec<(String, String)>| {
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let x = (
            e.kind.as_str().to_string(),
            e.reason_code.to_string(),
            by_name(e.headers.clone()),
        );
        let a = (a.0, a.1, by_name(a.2));
        assert_eq!(a, x, "macro vs explain: {m} {path} {h:?} ({profile})");
        kinds.insert(a.0);
    }
    assert_eq!(
        kinds.len(),
        6,
        "every decision kind is exercised: {kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_matches_the_decisions() {
    let addr = build_script_example::serve(&build_script_example::GUESTLIST_POLICY, 0)
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let mut n = 0;
        for (m, path, h, profile) in requests() {
            if profile != "default" || m == "POST" || m == "PUT" {
                continue;
            }
            let (kind, _, headers) = summary(&MACRO, &m, &path, &h);
            let hs: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            let r = http_test::send(addr, &m, &path, &hs);
            match kind.as_str() {
                "preflight-ok" => assert_eq!(r.status, 204, "{m} {path} {h:?}"),
                "preflight-rejected" => assert_eq!(r.status, 403, "{m} {path} {h:?}"),
                "path-rejected" => assert_eq!(r.status, 400, "{m} {path} {h:?}"),
                _ => assert!(![400, 403].contains(&r.status), "{m} {path} {h:?}"),
            }
            // The refusal's reason, then exactly the decision's CORS headers on the wire: the
            // app's own `*` never leaks.
            let (reason, mut want): (Vec<_>, Vec<_>) = headers
                .clone()
                .into_iter()
                .partition(|(n, _)| n == guestlist::REASON_HEADER);
            let got_reason: Vec<(String, String)> = r
                .headers
                .iter()
                .filter(|(n, _)| n == guestlist::REASON_HEADER)
                .cloned()
                .collect();
            assert_eq!(got_reason, reason, "{m} {path} {h:?}: {r:?}");
            let mut got = r.cors_headers();
            want.sort();
            got.sort();
            assert_eq!(got, want, "{m} {path} {h:?}: {r:?}");
            n += 1;
        }
        assert!(n > 100, "{n}");
    })
    .await
    .unwrap();
}
