//! The hand-written minimum: what a careful engineer would write by hand for one fixed policy,
//! with no policy language and no routing. A `foldhash` set of origins, header values built
//! once as `HeaderValue::from_static`, a fixed method set, a one-pass case-insensitive ACRH
//! check. The bar guestlist's instruction counts are measured against.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use tower_service::Service;

/// The allowed origins.
#[derive(Debug)]
pub struct Matcher {
    origins: HashSet<Box<[u8]>, foldhash::fast::FixedState>,
    /// `https://*.suffix` patterns, as the host suffixes they allow (`tenant-1.example.com`).
    suffixes: HashSet<Box<[u8]>, foldhash::fast::FixedState>,
}

impl Matcher {
    /// Exact origins and `https://*.suffix` patterns.
    pub fn new(origins: &[String], patterns: &[String]) -> Matcher {
        Matcher {
            origins: origins.iter().map(|o| o.as_bytes().into()).collect(),
            suffixes: patterns
                .iter()
                .filter_map(|p| p.strip_prefix("https://*."))
                .map(|s| s.as_bytes().into())
                .collect(),
        }
    }

    fn allows(&self, o: &[u8]) -> bool {
        if self.origins.contains(o) {
            return true;
        }
        if self.suffixes.is_empty() {
            return false;
        }
        // https://HOST: every suffix of HOST after a dot, longest first.
        let Some(host) = o.strip_prefix(b"https://") else {
            return false;
        };
        host.iter().enumerate().any(|(i, &b)| {
            b == b'.' && host.get(i + 1..).is_some_and(|s| self.suffixes.contains(s))
        })
    }
}

/// The hand-written CORS service.
#[derive(Debug, Clone)]
pub struct Hand<S> {
    inner: S,
    matcher: Arc<Matcher>,
}

impl<S> Hand<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, matcher: Arc<Matcher>) -> Hand<S> {
        Hand { inner, matcher }
    }
}

const METHODS: [&[u8]; 5] = [b"GET", b"HEAD", b"POST", b"PUT", b"DELETE"];
const HEADERS: [&[u8]; 2] = [b"content-type", b"x-auth-token"];

fn acrh_ok(v: &[u8]) -> bool {
    v.split(|&b| b == b',').all(|t| {
        let t = t.trim_ascii();
        t.is_empty() || HEADERS.iter().any(|h| h.eq_ignore_ascii_case(t))
    })
}

pub use future::HandFuture;
use future::HandProj;

/// The response future (its fields are the macro's; the variants say what they hold).
#[expect(
    missing_docs,
    reason = "pin-project-lite's generated projection types have no docs"
)]
mod future {
    use http::{HeaderValue, Response};

    pin_project_lite::pin_project! {
        /// The response future.
        #[project = HandProj]
        pub enum HandFuture<F, B> {
            /// The preflight answer.
            Ready { response: Option<Response<B>> },
            /// The application, then the CORS headers.
            Inner { #[pin] future: F, origin: Option<HeaderValue> },
        }
    }
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Hand<S>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    ResB: Default,
{
    type Response = Response<ResB>;
    type Error = S::Error;
    type Future = HandFuture<S::Future, ResB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let h = req.headers();
        let origin = h
            .get(header::ORIGIN)
            .filter(|o| self.matcher.allows(o.as_bytes()))
            .cloned();
        if req.method() == Method::OPTIONS {
            if let Some(acrm) = h.get(header::ACCESS_CONTROL_REQUEST_METHOD) {
                let ok = origin.is_some()
                    && METHODS.contains(&acrm.as_bytes())
                    && h.get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                        .is_none_or(|v| acrh_ok(v.as_bytes()));
                let mut resp = Response::new(ResB::default());
                if let (true, Some(o)) = (ok, origin) {
                    *resp.status_mut() = StatusCode::NO_CONTENT;
                    let m = resp.headers_mut();
                    m.reserve(6);
                    m.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
                    m.insert(
                        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                        HeaderValue::from_static("true"),
                    );
                    m.insert(
                        header::ACCESS_CONTROL_ALLOW_METHODS,
                        HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE"),
                    );
                    m.insert(
                        header::ACCESS_CONTROL_ALLOW_HEADERS,
                        HeaderValue::from_static("content-type, x-auth-token"),
                    );
                    m.insert(
                        header::ACCESS_CONTROL_MAX_AGE,
                        HeaderValue::from_static("7200"),
                    );
                    m.insert(header::VARY, HeaderValue::from_static("origin"));
                } else {
                    *resp.status_mut() = StatusCode::FORBIDDEN;
                    resp.headers_mut()
                        .insert(header::VARY, HeaderValue::from_static("origin"));
                }
                return HandFuture::Ready {
                    response: Some(resp),
                };
            }
        }
        HandFuture::Inner {
            future: self.inner.call(req),
            origin,
        }
    }
}

impl<F, B, E> Future for HandFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            HandProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            },
            HandProj::Inner { future, origin } => match future.poll(cx) {
                Poll::Ready(Ok(mut resp)) => {
                    let m: &mut HeaderMap = resp.headers_mut();
                    if let Some(o) = origin.take() {
                        m.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
                        m.insert(
                            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                            HeaderValue::from_static("true"),
                        );
                        m.insert(
                            header::ACCESS_CONTROL_EXPOSE_HEADERS,
                            HeaderValue::from_static("x-request-id, x-ratelimit-remaining"),
                        );
                    }
                    m.append(header::VARY, HeaderValue::from_static("origin"));
                    Poll::Ready(Ok(resp))
                }
                other => other,
            },
        }
    }
}
