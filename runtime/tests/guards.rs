//! CSP, security headers, CSRF and WebSocket verdicts through the tower layer, on tables built
//! at run time. (The compiled path is covered by the compiler's and the conformance tests.)
#![cfg(feature = "tower")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking; an allow, not an expect: some feature sets compile parts of this file out"
)]

mod common;

use std::sync::Arc;

use guestlist::{
    CorsSpec, CspNonce, CspSpec, CsrfSpec, HeaderSetSpec, Kind, Layer, Policy, PolicySpec, Reason,
    RouteSpec, WebSocketSpec,
};
use tower_layer::Layer as _;

fn policy() -> Policy {
    Policy::from_spec(PolicySpec {
        routes: vec![
            RouteSpec {
                pattern: "/*".into(),
                csp: Some(0),
                headers: Some(0),
                csrf: Some(0),
                ..Default::default()
            },
            RouteSpec {
                pattern: "/api/*".into(),
                cors: Some(0),
                csrf: Some(0),
                ..Default::default()
            },
            RouteSpec {
                pattern: "/ws".into(),
                websocket: Some(0),
                ..Default::default()
            },
            RouteSpec {
                pattern: "/ws-open".into(),
                websocket: Some(1),
                ..Default::default()
            },
        ],
        cors: vec![CorsSpec {
            name: "api".into(),
            origins: vec!["https://partner.test".into()],
            ..Default::default()
        }],
        csp: vec![CspSpec {
            name: "app".into(),
            parts: vec![
                "script-src 'nonce-".into(),
                "' 'strict-dynamic'; object-src 'none'".into(),
            ],
            reporting_endpoints: Some("csp=\"https://r.test/csp\"".into()),
            ..Default::default()
        }],
        headers: vec![HeaderSetSpec {
            name: "hardened".into(),
            set: vec![("x-content-type-options".into(), "nosniff".into())],
            remove: vec!["x-powered-by".into()],
        }],
        csrf: vec![CsrfSpec {
            name: "forms".into(),
            trusted: vec!["https://trusted.test".into()],
            exempt: vec![("POST".into(), "/hooks/*".into())],
            ..Default::default()
        }],
        websocket: vec![
            WebSocketSpec {
                name: "live".into(),
                origins: vec!["https://app.test".into()],
                patterns: vec!["https://*.app.test".into()],
                ..Default::default()
            },
            WebSocketSpec {
                name: "open".into(),
                same_origin: true,
                allow_missing: true,
                ..Default::default()
            },
        ],
        ..Default::default()
    })
    .unwrap()
}

fn decide(p: &Policy, method: &str, path: &str, headers: &[(&str, &str)]) -> (Kind, Reason) {
    let d = p.decide(method, path, headers);
    (d.kind, d.reason)
}

/// method, path, request headers, expected kind, expected reason (the refusal's, or why the
/// CSRF check passed).
type Case<'a> = (
    &'a str,
    &'a str,
    &'a [(&'a str, &'a str)],
    Kind,
    Option<Reason>,
);

#[test]
fn csrf_follows_go_cross_origin_protection() {
    let p = policy();
    let host = ("host", "site.test");
    let cases: &[Case<'_>] = &[
        (
            "GET",
            "/x",
            &[("sec-fetch-site", "cross-site")],
            Kind::NotCors,
            Some(Reason::CsrfSafeMethod),
        ),
        (
            "POST",
            "/x",
            &[("sec-fetch-site", "same-origin")],
            Kind::NotCors,
            Some(Reason::CsrfSameOrigin),
        ),
        (
            "POST",
            "/x",
            &[("sec-fetch-site", "none")],
            Kind::NotCors,
            Some(Reason::CsrfSameOrigin),
        ),
        (
            "POST",
            "/x",
            &[
                ("sec-fetch-site", "same-site"),
                ("origin", "https://a.site.test"),
            ],
            Kind::CsrfRejected,
            None,
        ),
        (
            "POST",
            "/x",
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.test"),
            ],
            Kind::CsrfRejected,
            Some(Reason::CsrfCrossSite),
        ),
        (
            "POST",
            "/x",
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://trusted.test"),
            ],
            Kind::NotCors,
            Some(Reason::CsrfTrustedOrigin),
        ),
        (
            "POST",
            "/x",
            &[],
            Kind::NotCors,
            Some(Reason::CsrfNoBrowserHeaders),
        ),
        (
            "POST",
            "/x",
            &[host, ("origin", "https://site.test")],
            Kind::NotCors,
            Some(Reason::CsrfOwnOrigin),
        ),
        (
            "POST",
            "/x",
            &[host, ("origin", "https://evil.test")],
            Kind::CsrfRejected,
            Some(Reason::CsrfOriginMismatch),
        ),
        (
            "POST",
            "/x",
            &[host, ("origin", "https://site.test:444")],
            Kind::CsrfRejected,
            Some(Reason::CsrfOriginMismatch),
        ),
        (
            "POST",
            "/hooks/github",
            &[("sec-fetch-site", "cross-site")],
            Kind::NotCors,
            Some(Reason::CsrfExempt),
        ),
        (
            "PUT",
            "/hooks/github",
            &[("sec-fetch-site", "cross-site")],
            Kind::CsrfRejected,
            Some(Reason::CsrfCrossSite),
        ),
        // Dot segments are refused before any route; other forms the application could read
        // as another path are never exempt (Go 1.25.1's direct-match rule).
        (
            "POST",
            "/hooks/../admin",
            &[("sec-fetch-site", "cross-site")],
            Kind::PathRejected,
            Some(Reason::PathNotNormal),
        ),
        (
            "POST",
            "/admin/%2e%2e/hooks/x",
            &[("sec-fetch-site", "cross-site")],
            Kind::PathRejected,
            Some(Reason::PathNotNormal),
        ),
        (
            "POST",
            "//hooks/github",
            &[("sec-fetch-site", "cross-site")],
            Kind::CsrfRejected,
            Some(Reason::CsrfCrossSite),
        ),
        (
            "POST",
            "/hooks//github",
            &[("sec-fetch-site", "cross-site")],
            Kind::CsrfRejected,
            Some(Reason::CsrfCrossSite),
        ),
        (
            "POST",
            "/hooks%2Fgithub",
            &[("sec-fetch-site", "cross-site")],
            Kind::CsrfRejected,
            Some(Reason::CsrfCrossSite),
        ),
        (
            "POST",
            "/hooks/x%zz",
            &[("sec-fetch-site", "cross-site")],
            Kind::PathRejected,
            Some(Reason::PathInvalid),
        ),
        // An escape that decodes to an ordinary byte keeps a path structurally normal, but
        // an exemption needs its bytes as sent to match (a router on the raw path does not
        // read `/%68ooks` as `/hooks`).
        (
            "POST",
            "/%68ooks/github",
            &[("sec-fetch-site", "cross-site")],
            Kind::CsrfRejected,
            Some(Reason::CsrfCrossSite),
        ),
        (
            "POST",
            "/x",
            &[
                ("sec-fetch-site", "same-origin"),
                ("sec-fetch-site", "cross-site"),
            ],
            Kind::CsrfRejected,
            Some(Reason::CsrfAmbiguousHeaders),
        ),
        // A cors-allowed origin is trusted on the cors route.
        (
            "POST",
            "/api/x",
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://partner.test"),
            ],
            Kind::ActualAllowed,
            Some(Reason::CsrfCorsOrigin),
        ),
        (
            "POST",
            "/api/x",
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.test"),
            ],
            Kind::CsrfRejected,
            Some(Reason::CsrfCrossSite),
        ),
        // ... but not on a route without that cors policy.
        (
            "POST",
            "/x",
            &[
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://partner.test"),
            ],
            Kind::CsrfRejected,
            Some(Reason::CsrfCrossSite),
        ),
    ];
    for (method, path, headers, kind, reason) in cases {
        let d = p.decide(method, path, *headers);
        assert_eq!(d.kind, *kind, "{method} {path} {headers:?}");
        match (kind, reason) {
            (Kind::CsrfRejected | Kind::PathRejected, Some(r)) => {
                assert_eq!(d.reason, *r, "{method} {path} {headers:?}")
            }
            (Kind::CsrfRejected, None) => {}
            (_, r) => assert_eq!(d.csrf_reason, *r, "{method} {path} {headers:?}"),
        }
    }
}

#[test]
fn websocket_handshakes_are_checked_by_origin() {
    let p = policy();
    let up = ("upgrade", "websocket");
    assert_eq!(
        decide(&p, "GET", "/ws", &[up, ("origin", "https://app.test")]),
        (Kind::WebsocketAllowed, Reason::WebsocketOriginAllowed)
    );
    assert_eq!(
        decide(
            &p,
            "GET",
            "/ws",
            &[("upgrade", "WebSocket"), ("origin", "https://x.app.test")]
        ),
        (Kind::WebsocketAllowed, Reason::WebsocketOriginAllowed)
    );
    assert_eq!(
        decide(
            &p,
            "GET",
            "/ws",
            &[up, ("origin", "https://app.test.evil.test")]
        ),
        (Kind::WebsocketRejected, Reason::WebsocketOriginNotAllowed)
    );
    assert_eq!(
        decide(&p, "GET", "/ws", &[up]),
        (Kind::WebsocketRejected, Reason::WebsocketMissingOrigin)
    );
    assert_eq!(
        decide(
            &p,
            "GET",
            "/ws",
            &[
                up,
                ("origin", "https://app.test"),
                ("origin", "https://app.test")
            ]
        ),
        (Kind::WebsocketRejected, Reason::MultipleOrigins)
    );
    // Not an upgrade: the websocket policy does not apply.
    assert_eq!(
        decide(&p, "GET", "/ws", &[("origin", "https://evil.test")]).0,
        Kind::NotCors
    );
    assert_eq!(
        decide(
            &p,
            "GET",
            "/ws-open",
            &[up, ("host", "site.test"), ("origin", "https://site.test")]
        ),
        (Kind::WebsocketAllowed, Reason::WebsocketSameOrigin)
    );
    assert_eq!(
        decide(
            &p,
            "GET",
            "/ws-open",
            &[up, ("host", "site.test"), ("origin", "https://evil.test")]
        ),
        (Kind::WebsocketRejected, Reason::WebsocketOriginNotAllowed)
    );
    assert_eq!(
        decide(&p, "GET", "/ws-open", &[up]),
        (Kind::WebsocketAllowed, Reason::WebsocketNoOrigin)
    );
}

/// The application: answers 200 with headers the policy replaces, and records the nonce the
/// layer handed to it.
fn app() -> common::App<Option<CspNonce>> {
    common::App::new(
        |req| req.extensions().get::<CspNonce>().copied(),
        || {
            let mut r = http::Response::new(());
            r.headers_mut()
                .insert("x-powered-by", "Express".parse().unwrap());
            r.headers_mut()
                .insert("content-security-policy", "default-src *".parse().unwrap());
            r
        },
    )
}

#[test]
fn layer_sets_nonce_csp_and_security_headers() {
    let app = app();
    let seen = app.seen.clone();
    let mut svc = Layer::shared(Arc::new(policy())).layer(app);
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let resp = common::run(&mut svc, http::Request::get("/page").body(()).unwrap());
        assert_eq!(resp.status(), 200);
        let app_nonce = seen
            .lock()
            .unwrap()
            .pop()
            .flatten()
            .expect("the app got a nonce");
        let csp = resp
            .headers()
            .get_all("content-security-policy")
            .iter()
            .collect::<Vec<_>>();
        assert_eq!(csp.len(), 1, "the policy's CSP replaces the app's");
        assert_eq!(
            csp[0].to_str().unwrap(),
            format!("script-src 'nonce-{app_nonce}' 'strict-dynamic'; object-src 'none'")
        );
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        assert_eq!(
            resp.headers()["reporting-endpoints"],
            "csp=\"https://r.test/csp\""
        );
        assert!(resp.headers().get("x-powered-by").is_none());
        nonces.push(app_nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a fresh nonce per response");
    // A route without csp/headers: the app's headers are left alone, no nonce.
    let resp = common::run(&mut svc, http::Request::get("/ws").body(()).unwrap());
    assert_eq!(resp.headers()["x-powered-by"], "Express");
    assert_eq!(seen.lock().unwrap().pop(), Some(None));
}

#[test]
fn layer_refuses_csrf_and_websocket_with_a_reason_before_the_app() {
    let app = app();
    let seen = app.seen.clone();
    let mut svc = Layer::shared(Arc::new(policy())).layer(app);
    let req = http::Request::post("/form")
        .header("sec-fetch-site", "cross-site")
        .header("origin", "https://evil.test")
        .body(())
        .unwrap();
    let resp = common::run(&mut svc, req);
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["guestlist-reason"], "csrf-cross-site");
    // The refusal carries the route's security headers too.
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("'nonce-"));
    let req = http::Request::get("/ws")
        .header("upgrade", "websocket")
        .header("origin", "https://evil.test")
        .body(())
        .unwrap();
    let resp = common::run(&mut svc, req);
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["guestlist-reason"],
        "websocket-origin-not-allowed"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "refused requests never reach the app"
    );
    // HTTP/2: no Host header, the authority is the request's host.
    let req = http::Request::post("https://site.test/form")
        .header("origin", "https://site.test")
        .body(())
        .unwrap();
    assert_eq!(common::run(&mut svc, req).status(), 200);
}
