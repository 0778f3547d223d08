//! The layer's `ResponseFuture`, polled by hand with a waker that counts: it is pending only
//! while the request body it reads or the application's future is, with the waker registered
//! (so the task is woken), and never pending after it completed. Every state: a response the
//! layer makes itself, the common CORS path, a route with guards (the boxed state), a form
//! body being read, and an application error.
#![cfg(feature = "tower")]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking, helpers included"
)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use guestlist::{CorsSpec, CspSpec, Layer, Policy, PolicySpec, RouteSpec};
use tower_layer::Layer as _;
use tower_service::Service as _;

/// A waker that counts its wakes; `Arc::strong_count` of its state tells whether someone holds
/// a clone of it (a registered waker).
#[derive(Default)]
struct Counting {
    wakes: AtomicUsize,
}

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
    }
}

/// The application's side of one request: the future stays pending (keeping the waker it was
/// polled with) until the test opens it with a response or an error.
#[derive(Clone, Default)]
struct Gate(Arc<Mutex<GateState>>);

#[derive(Default)]
struct GateState {
    outcome: Option<Result<http::Response<()>, &'static str>>,
    waker: Option<Waker>,
    polls: usize,
}

impl Gate {
    fn open(&self, outcome: Result<http::Response<()>, &'static str>) {
        let mut g = self.0.lock().unwrap();
        g.outcome = Some(outcome);
        if let Some(w) = g.waker.take() {
            w.wake();
        }
    }
    fn polls(&self) -> usize {
        self.0.lock().unwrap().polls
    }
}

struct GateFuture(Gate);

impl Future for GateFuture {
    type Output = Result<http::Response<()>, &'static str>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut g = self.0 .0.lock().unwrap();
        g.polls += 1;
        match g.outcome.take() {
            Some(o) => Poll::Ready(o),
            None => {
                g.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// An application whose every call returns the gate's future.
#[derive(Clone)]
struct App(Gate);

impl<B> tower_service::Service<http::Request<B>> for App {
    type Response = http::Response<()>;
    type Error = &'static str;
    type Future = GateFuture;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: http::Request<B>) -> GateFuture {
        GateFuture(self.0.clone())
    }
}

/// `/api/*`: CORS only (the layer's common path); `/page`: CORS and a CSP (the guarded path).
fn policy() -> Arc<Policy> {
    let cors = CorsSpec {
        name: "api".into(),
        origins: vec!["https://app.test".into()],
        methods: vec!["PUT".into()],
        ..Default::default()
    };
    Arc::new(
        Policy::from_spec(PolicySpec {
            routes: vec![
                RouteSpec {
                    pattern: "/api/*".into(),
                    cors: Some(0),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/page".into(),
                    cors: Some(0),
                    csp: Some(0),
                    ..Default::default()
                },
            ],
            cors: vec![cors],
            csp: vec![CspSpec {
                name: "app".into(),
                parts: vec!["default-src 'self'".into()],
                ..Default::default()
            }],
            ..Default::default()
        })
        .unwrap(),
    )
}

fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> http::Request<String> {
    let mut b = http::Request::builder().method(method).uri(path);
    for (n, v) in headers {
        b = b.header(*n, *v);
    }
    b.body(String::new()).unwrap()
}

type Fut = guestlist::ResponseFuture<App, String, ()>;

fn call(gate: &Gate, req: http::Request<String>) -> Fut {
    let mut svc = Layer::shared(policy()).layer(App(gate.clone()));
    svc.call(req)
}

/// Polls once; a `Pending` must leave the waker registered: a clone of it held beyond this
/// function (the test's own `Arc` is the only other reference).
fn poll(
    fut: &mut Pin<Box<Fut>>,
    waker: &Arc<Counting>,
) -> Poll<Result<http::Response<()>, &'static str>> {
    let w = Waker::from(Arc::clone(waker));
    let out = fut.as_mut().poll(&mut Context::from_waker(&w));
    drop(w);
    if out.is_pending() {
        assert!(
            Arc::strong_count(waker) > 1,
            "Pending without a registered waker"
        );
    }
    out
}

/// A second poll after `Ready` fails loudly instead of returning `Pending` with no waker.
fn assert_repoll_panics(fut: &mut Pin<Box<Fut>>, waker: &Arc<Counting>) {
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll(fut, waker)));
    let err = again.expect_err("a poll after Ready must not return");
    let msg = err
        .downcast_ref::<&str>()
        .copied()
        .map(str::to_string)
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(msg.contains("polled after it returned Ready"), "{msg}");
}

#[test]
fn a_response_the_layer_makes_is_ready_at_once() {
    let gate = Gate::default();
    let waker = Arc::new(Counting::default());
    let mut fut = Box::pin(call(
        &gate,
        request(
            "OPTIONS",
            "/api/x",
            &[
                ("origin", "https://app.test"),
                ("access-control-request-method", "PUT"),
            ],
        ),
    ));
    let Poll::Ready(Ok(r)) = poll(&mut fut, &waker) else {
        panic!("a preflight is answered at the first poll")
    };
    assert_eq!(r.status(), 204);
    assert_eq!(gate.polls(), 0, "a preflight never reaches the application");
    assert_repoll_panics(&mut fut, &waker);
    assert_eq!(waker.wakes.load(Ordering::SeqCst), 0);
}

/// The application is pending: so is the layer, with the waker registered; the application's
/// wake reaches the task; the next poll gives the response with the policy's headers.
fn pending_then_ready(path: &str) -> http::Response<()> {
    let gate = Gate::default();
    let waker = Arc::new(Counting::default());
    let mut fut = Box::pin(call(
        &gate,
        request("GET", path, &[("origin", "https://app.test")]),
    ));
    for _ in 0..3 {
        assert!(poll(&mut fut, &waker).is_pending());
    }
    assert_eq!(waker.wakes.load(Ordering::SeqCst), 0);
    gate.open(Ok(http::Response::new(())));
    assert_eq!(
        waker.wakes.load(Ordering::SeqCst),
        1,
        "the application woke the task through the registered waker"
    );
    let Poll::Ready(Ok(r)) = poll(&mut fut, &waker) else {
        panic!("ready once the application is")
    };
    assert_eq!(gate.polls(), 4);
    assert_repoll_panics(&mut fut, &waker);
    assert_eq!(
        gate.polls(),
        4,
        "a completed application future is not polled again"
    );
    r
}

#[test]
fn the_common_cors_path_waits_for_the_application() {
    let r = pending_then_ready("/api/x");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.test"
    );
    assert!(r.headers().get("content-security-policy").is_none());
}

#[test]
fn a_guarded_route_waits_for_the_application() {
    let r = pending_then_ready("/page");
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://app.test"
    );
    assert_eq!(r.headers()["content-security-policy"], "default-src 'self'");
}

#[test]
fn an_application_error_is_passed_on_once() {
    let gate = Gate::default();
    let waker = Arc::new(Counting::default());
    let mut fut = Box::pin(call(
        &gate,
        request("GET", "/api/x", &[("origin", "https://app.test")]),
    ));
    assert!(poll(&mut fut, &waker).is_pending());
    gate.open(Err("the application failed"));
    assert!(matches!(
        poll(&mut fut, &waker),
        Poll::Ready(Err("the application failed"))
    ));
    assert_repoll_panics(&mut fut, &waker);
    assert_eq!(gate.polls(), 2);
}

/// A request body that stays pending (keeping the waker it was polled with) until the test
/// opens it, then gives one data frame.
#[cfg(feature = "csrf-token")]
struct GateBody {
    gate: Arc<Mutex<(Option<bytes::Bytes>, Option<Waker>)>>,
}

#[cfg(feature = "csrf-token")]
impl http_body::Body for GateBody {
    type Data = bytes::Bytes;
    type Error = &'static str;
    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, &'static str>>> {
        let mut g = self.gate.lock().unwrap();
        match g.0.take() {
            Some(b) if b.is_empty() => Poll::Ready(None),
            Some(b) => {
                // The end of the body comes at the next poll.
                g.0 = Some(bytes::Bytes::new());
                Poll::Ready(Some(Ok(http_body::Frame::data(b))))
            }
            None => {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// An urlencoded form post whose token field the layer reads: pending while the body is, with
/// the body's waker registered and the application not yet called; then pending while the
/// application is; then ready.
#[cfg(feature = "csrf-token")]
#[test]
fn a_form_body_being_read_is_waited_for_with_the_waker_registered() {
    let secret = guestlist::CsrfSecret::new(vec![3u8; 32]).unwrap();
    let token = guestlist::mint_csrf_token(&secret, b"s").unwrap();
    let policy = Policy::from_spec(PolicySpec {
        routes: vec![RouteSpec {
            pattern: "/*".into(),
            csrf: Some(0),
            ..Default::default()
        }],
        csrf: vec![guestlist::CsrfSpec {
            name: "t".into(),
            token: Some(guestlist::TokenSpec {
                header: "x-csrf-token".into(),
                cookie: "__Host-csrf".into(),
                bind_cookie: "session".into(),
                same_site: "Lax".into(),
                field: "csrf_token".into(),
                defer_forms: false,
            }),
            ..Default::default()
        }],
        ..Default::default()
    })
    .unwrap();
    let app = Gate::default();
    let mut svc = Layer::shared(Arc::new(policy))
        .csrf_secret(secret)
        .layer(App(app.clone()));
    let body = GateBody {
        gate: Arc::default(),
    };
    let body_gate = Arc::clone(&body.gate);
    let req = http::Request::post("/f")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", format!("session=s; __Host-csrf={token}"))
        .body(body)
        .unwrap();
    let waker = Arc::new(Counting::default());
    let mut fut = Box::pin(svc.call(req));
    let mut poll = || {
        let w = Waker::from(Arc::clone(&waker));
        let out = fut.as_mut().poll(&mut Context::from_waker(&w));
        drop(w);
        if out.is_pending() {
            assert!(
                Arc::strong_count(&waker) > 1,
                "Pending without a registered waker"
            );
        }
        out
    };
    for _ in 0..3 {
        assert!(poll().is_pending());
    }
    assert_eq!(app.polls(), 0, "the application waits for the body");
    {
        let mut g = body_gate.lock().unwrap();
        g.0 = Some(bytes::Bytes::from(format!("csrf_token={token}")));
        g.1.take().unwrap().wake();
    }
    assert_eq!(waker.wakes.load(Ordering::SeqCst), 1);
    // Read and verified: now the application's future is pending.
    assert!(poll().is_pending());
    assert_eq!(app.polls(), 1);
    app.open(Ok(http::Response::new(())));
    let Poll::Ready(Ok(r)) = poll() else {
        panic!("ready once the application is")
    };
    assert_eq!(r.status(), 200);
}
