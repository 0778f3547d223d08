//! `Layer::trust_forwarded_host()` (spec/language.md, section 6a): behind a proxy, one
//! `X-Forwarded-Host` value replaces the request's authority for host selection and the CSRF
//! same-origin comparison; any other number of values is ambiguous (400 with host blocks).
//! Off by default, when the field is ignored. Requests go through the real tower layer.
#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::convert::Infallible;
use std::future::{ready, Future, Ready};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use guestlist::{CorsSpec, CsrfSpec, HostSpec, Layer, Policy, PolicySpec, RequestBody, RouteSpec};
use tower_layer::Layer as _;
use tower_service::Service;

/// The application: 200.
#[derive(Clone)]
struct App;

impl Service<http::Request<RequestBody<String>>> for App {
    type Response = http::Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<http::Response<()>, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: http::Request<RequestBody<String>>) -> Self::Future {
        ready(Ok(http::Response::new(())))
    }
}

/// `api.example.com` allows `https://app.example` on `/api/*`; `*.tenants.example.com`
/// allows `https://t.example` there; `/form` (top level) has a csrf policy and `/ws` a
/// websocket `same-origin` policy, both comparing `Origin` with the authority. The application dispatches by host.
fn policy() -> Arc<Policy> {
    let cors = |name: &str, origin: &str| CorsSpec {
        name: name.into(),
        origins: vec![origin.into()],
        ..CorsSpec::default()
    };
    let api = |cors: usize, host: usize| RouteSpec {
        pattern: "/api/*".into(),
        cors: Some(cors),
        host: Some(host),
        ..RouteSpec::default()
    };
    Arc::new(
        Policy::from_spec(PolicySpec {
            routes: vec![
                RouteSpec {
                    pattern: "/form".into(),
                    csrf: Some(0),
                    ..RouteSpec::default()
                },
                RouteSpec {
                    pattern: "/ws".into(),
                    websocket: Some(0),
                    ..RouteSpec::default()
                },
                api(0, 0),
                api(1, 1),
            ],
            websocket: vec![guestlist::WebSocketSpec {
                name: "live".into(),
                same_origin: true,
                ..guestlist::WebSocketSpec::default()
            }],
            cors: vec![
                cors("app", "https://app.example"),
                cors("t", "https://t.example"),
            ],
            csrf: vec![CsrfSpec {
                name: "forms".into(),
                ..CsrfSpec::default()
            }],
            hosts: vec![
                HostSpec {
                    patterns: vec!["api.example.com".into()],
                },
                HostSpec {
                    patterns: vec!["*.tenants.example.com".into()],
                },
            ],
            hosts_dispatched: true,
            ..PolicySpec::default()
        })
        .unwrap(),
    )
}

fn send(layer: &Layer, method: &str, path: &str, headers: &[(&str, &str)]) -> http::Response<()> {
    let mut b = http::Request::builder().method(method).uri(path);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    let mut svc = layer.layer(App);
    let fut = pin!(svc.call(b.body(String::new()).unwrap()));
    match fut.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(r) => r.unwrap(),
        Poll::Pending => panic!("the layer's answer is ready at once"),
    }
}

fn acao(r: &http::Response<()>) -> Option<&str> {
    r.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap())
}

#[test]
fn a_trusted_forwarded_host_replaces_the_authority() {
    let trusting = Layer::shared(policy()).trust_forwarded_host();
    let plain = Layer::shared(policy());
    // Host selection.
    let h = [
        ("host", "api.example.com"),
        ("x-forwarded-host", "x.tenants.example.com"),
        ("origin", "https://t.example"),
    ];
    assert_eq!(
        acao(&send(&trusting, "GET", "/api/x", &h)),
        Some("https://t.example")
    );
    assert_eq!(acao(&send(&plain, "GET", "/api/x", &h)), None);
    let h = [
        ("host", "api.example.com"),
        ("x-forwarded-host", "x.tenants.example.com"),
        ("origin", "https://app.example"),
    ];
    assert_eq!(acao(&send(&trusting, "GET", "/api/x", &h)), None);
    assert_eq!(
        acao(&send(&plain, "GET", "/api/x", &h)),
        Some("https://app.example")
    );
    // None, two lines, or a list: 400 host-ambiguous.
    for xfh in [
        &[][..],
        &["x.tenants.example.com", "api.example.com"][..],
        &["x.tenants.example.com, api.example.com"][..],
    ] {
        let mut h = vec![
            ("host", "api.example.com"),
            ("origin", "https://app.example"),
        ];
        h.extend(xfh.iter().map(|v| ("x-forwarded-host", *v)));
        let r = send(&trusting, "GET", "/api/x", &h);
        assert_eq!(r.status(), 400, "{xfh:?}");
        assert_eq!(r.headers()["guestlist-reason"], "host-ambiguous");
        assert_eq!(send(&plain, "GET", "/api/x", &h).status(), 200, "{xfh:?}");
    }
}

#[test]
fn the_csrf_same_origin_check_reads_the_forwarded_host() {
    let trusting = Layer::shared(policy()).trust_forwarded_host();
    let plain = Layer::shared(policy());
    // The application listens on an internal name; the browser saw the public one.
    let h = [
        ("host", "app.internal:8080"),
        ("x-forwarded-host", "www.example.com"),
        ("origin", "https://www.example.com"),
    ];
    assert_eq!(send(&trusting, "POST", "/form", &h).status(), 200);
    assert_eq!(send(&plain, "POST", "/form", &h).status(), 403);
    // A forwarded host the Origin does not name: refused either way.
    let h = [
        ("host", "www.example.com"),
        ("x-forwarded-host", "other.example.com"),
        ("origin", "https://www.example.com"),
    ];
    assert_eq!(send(&trusting, "POST", "/form", &h).status(), 403);
    assert_eq!(send(&plain, "POST", "/form", &h).status(), 200);
}

#[test]
fn the_websocket_same_origin_entry_reads_the_forwarded_host() {
    let trusting = Layer::shared(policy()).trust_forwarded_host();
    let plain = Layer::shared(policy());
    let handshake = |host: &'static str, xfh: &'static str| {
        [
            ("host", host),
            ("x-forwarded-host", xfh),
            ("origin", "https://www.example.com"),
            ("upgrade", "websocket"),
            ("connection", "upgrade"),
        ]
    };
    let h = handshake("app.internal:8080", "www.example.com");
    assert_eq!(send(&trusting, "GET", "/ws", &h).status(), 200);
    assert_eq!(send(&plain, "GET", "/ws", &h).status(), 403);
    let h = handshake("www.example.com", "other.example.com");
    assert_eq!(send(&trusting, "GET", "/ws", &h).status(), 403);
    assert_eq!(send(&plain, "GET", "/ws", &h).status(), 200);
}
