//! The tower layer (feature `tower`): applies a [`Policy`] to every request of a service.
//!
//! Preflights are answered here (204 or 403) and never reach the application. Every other
//! request reaches it; its response gets the policy's headers. Cloning the layer or the service
//! is O(1) (a reference or an `Arc`), which matters because axum clones the route's service for
//! every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};

use crate::http_apply::{ResponseHeaders, ACTUAL_CAPACITY};
use crate::policy::Policy;

#[derive(Debug, Clone)]
enum Shared {
    Static(&'static Policy),
    Arc(Arc<Policy>),
}

impl Shared {
    fn get(&self) -> &Policy {
        match self {
            Shared::Static(p) => p,
            Shared::Arc(p) => p,
        }
    }
}

/// A tower `Layer` that applies a guestlist policy.
///
/// ```
/// # use guestlist::{Layer, Policy};
/// static POLICY: Policy = Policy::EMPTY; // in a real service: guestlist_macros::include_policy!(..)
/// let layer = Layer::new(&POLICY);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct Layer {
    policy: Shared,
}

impl Layer {
    /// A layer over a `static` policy (from `include_policy!` or build.rs).
    pub const fn new(policy: &'static Policy) -> Layer {
        Layer {
            policy: Shared::Static(policy),
        }
    }

    /// A layer over a policy built at run time.
    pub fn shared(policy: Arc<Policy>) -> Layer {
        Layer {
            policy: Shared::Arc(policy),
        }
    }
}

impl<S> tower_layer::Layer<S> for Layer {
    type Service = Service<S>;

    fn layer(&self, inner: S) -> Service<S> {
        Service {
            inner,
            policy: self.policy.clone(),
        }
    }
}

/// The service produced by [`Layer`].
#[derive(Debug, Clone)]
pub struct Service<S> {
    inner: S,
    policy: Shared,
}

#[cfg(feature = "tracing")]
fn trace(d: &crate::Decision<'_>, method: &http::Method, path: &str) {
    match d.kind {
        crate::Kind::PreflightRejected => tracing::warn!(
            target: "guestlist",
            reason = d.reason.code(),
            %method,
            path,
            "guestlist refused a CORS preflight with 403"
        ),
        crate::Kind::ActualNotAllowed => tracing::info!(
            target: "guestlist",
            reason = d.reason.code(),
            %method,
            path,
            "guestlist sent no CORS headers: origin not allowed"
        ),
        _ => {}
    }
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for Service<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let headers = {
            let policy = self.policy.get();
            let prepared = crate::headers::Prepared::new(req.headers());
            let d = policy.decide(req.method().as_str(), req.uri().path(), &prepared);
            #[cfg(feature = "tracing")]
            trace(&d, req.method(), req.uri().path());
            match d.actual_response_headers_with(req.headers(), prepared.origin()) {
                Some(h) => h,
                None => {
                    let response = d.preflight_response_with(req.headers(), prepared.origin());
                    return ResponseFuture {
                        state: State::Ready { response },
                    };
                }
            }
        };
        ResponseFuture {
            state: State::Inner {
                future: self.inner.call(req),
                headers,
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`Service`].
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Ready { response: Option<Response<B>> },
        Inner { #[pin] future: F, headers: ResponseHeaders<ACTUAL_CAPACITY> },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                // Polled after completion: stay pending rather than panic.
                None => Poll::Pending,
            },
            StateProj::Inner { future, headers } => match future.poll(cx) {
                Poll::Ready(Ok(mut resp)) => {
                    headers.apply_once(resp.headers_mut());
                    Poll::Ready(Ok(resp))
                }
                other => other,
            },
        }
    }
}
