//! Helpers shared by the runtime's integration tests.
#![allow(dead_code, clippy::expect_used, clippy::panic)] // tests fail by panicking

use std::future::Future as _;

/// Calls a service whose inner service is always ready and returns its response.
pub fn run<S>(svc: &mut S, req: http::Request<()>) -> http::Response<()>
where
    S: tower_service::Service<http::Request<()>, Response = http::Response<()>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let mut fut = std::pin::pin!(svc.call(req));
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(r) => r.expect("infallible"),
        std::task::Poll::Pending => panic!("the test service is always ready"),
    }
}
