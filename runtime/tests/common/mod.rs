//! Helpers shared by the runtime's integration tests.
#![allow(
    dead_code,
    clippy::expect_used,
    clippy::panic,
    reason = "shared by several test crates, each using part of it; tests fail by panicking"
)]

use std::future::Future as _;

/// Calls a service whose inner service is always ready and returns its response. The request
/// gets an empty body (`()` is not an `http_body::Body`; `String` is).
pub fn run<S>(svc: &mut S, req: http::Request<()>) -> http::Response<()>
where
    S: tower_service::Service<http::Request<String>, Response = http::Response<()>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut fut = std::pin::pin!(svc.call(req.map(|()| String::new())));
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => r.expect("infallible"),
        std::task::Poll::Pending => panic!("the test service is always ready"),
    }
}

/// A stand-in application, always ready: records `record(&request)` in `seen`, then answers
/// `respond()`. Each test file passes what it needs to see (the CSP nonce, the CSRF token the
/// layer handed over) and what the application's own response holds.
pub struct App<T> {
    /// What `record` returned for each request, in order.
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<T>>>,
    record: fn(&http::Request<()>) -> T,
    respond: fn() -> http::Response<()>,
}

impl<T> App<T> {
    /// An application that records `record(&request)` and answers `respond()`.
    pub fn new(record: fn(&http::Request<()>) -> T, respond: fn() -> http::Response<()>) -> Self {
        App {
            seen: Default::default(),
            record,
            respond,
        }
    }
}

// Not derived: a derive would require `T: Clone`, and clones share `seen`.
impl<T> Clone for App<T> {
    fn clone(&self) -> Self {
        App {
            seen: std::sync::Arc::clone(&self.seen),
            record: self.record,
            respond: self.respond,
        }
    }
}

impl<T, B> tower_service::Service<http::Request<B>> for App<T> {
    type Response = http::Response<()>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<http::Response<()>, std::convert::Infallible>>;
    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        // `record` sees the request without its body.
        let (parts, _) = req.into_parts();
        let seen = (self.record)(&http::Request::from_parts(parts, ()));
        self.seen.lock().expect("not poisoned").push(seen);
        std::future::ready(Ok((self.respond)()))
    }
}

/// A policy of one route, `/*`, with `cors`.
pub fn one_route(cors: guestlist::CorsSpec) -> guestlist::Policy {
    guestlist::Policy::build(
        vec![guestlist::RouteSpec {
            pattern: "/*".into(),
            cors: Some(0),
            ..Default::default()
        }],
        vec![cors],
    )
    .expect("policy builds")
}
