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

use http::{HeaderValue, Request, Response, StatusCode};

use crate::guards::CspNonce;
use crate::http_apply::ActualHeaders;
use crate::policy::{Guards, Policy};
use crate::token::{CsrfSecret, CsrfToken};

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
    secret: Option<Arc<CsrfSecret>>,
}

impl Layer {
    /// A layer over a `static` policy (from `include_policy!` or build.rs).
    pub const fn new(policy: &'static Policy) -> Layer {
        Layer {
            policy: Shared::Static(policy),
            secret: None,
        }
    }

    /// A layer over a policy built at run time.
    pub fn shared(policy: Arc<Policy>) -> Layer {
        Layer {
            policy: Shared::Arc(policy),
            secret: None,
        }
    }

    /// The secret CSRF tokens are signed with (routes whose csrf policy has a `token` line).
    /// Without it, unsafe requests on those routes are refused (`csrf-token-no-secret`); check
    /// [`Policy::needs_csrf_secret`] at start-up.
    pub fn csrf_secret(mut self, secret: CsrfSecret) -> Layer {
        self.secret = Some(Arc::new(secret));
        self
    }
}

impl<S> tower_layer::Layer<S> for Layer {
    type Service = Service<S>;

    fn layer(&self, inner: S) -> Service<S> {
        Service {
            inner,
            policy: self.policy.clone(),
            secret: self.secret.clone(),
        }
    }
}

/// The service produced by [`Layer`].
#[derive(Debug, Clone)]
pub struct Service<S> {
    inner: S,
    policy: Shared,
    secret: Option<Arc<CsrfSecret>>,
}

#[cfg(feature = "tracing")]
fn trace(d: &crate::Decision<'_>, method: &http::Method, path: &str) {
    let refused = match d.kind {
        crate::Kind::PreflightRejected => "guestlist refused a CORS preflight with 403",
        crate::Kind::CsrfRejected => "guestlist refused a cross-origin request with 403 (csrf)",
        crate::Kind::WebsocketRejected => "guestlist refused a WebSocket handshake with 403",
        crate::Kind::PathRejected => "guestlist refused a request path with 400",
        crate::Kind::ActualNotAllowed => {
            return tracing::info!(
                target: "guestlist",
                reason = d.reason.code(),
                %method,
                path,
                "guestlist sent no CORS headers: origin not allowed"
            );
        }
        _ => return,
    };
    tracing::warn!(
        target: "guestlist",
        reason = d.reason.code(),
        %method,
        path,
        "{refused}"
    );
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
        let policy = self.policy.get();
        let origins = crate::headers::origin_lines(req.headers());
        // The common request (CORS only, not a preflight) without a `Decision`.
        let options = *req.method() == http::Method::OPTIONS;
        if let Some(common) = policy.decide_common(options, req.uri().path(), origins) {
            // Made before the application is called, so the future is written into place.
            let headers = ActualHeaders::common(common);
            return ResponseFuture {
                state: State::Inner {
                    future: self.inner.call(req),
                },
                headers,
                guard: None,
            };
        }
        let prepared = crate::headers::Prepared::with_origins(req.headers(), origins);
        let authority = req.uri().authority().map(http::uri::Authority::as_str);
        let mut d = crate::eval::Decision::new(crate::Kind::NotCors, crate::Reason::NoRoute);
        policy.decide_in(
            req.method().as_str(),
            req.uri().path(),
            authority,
            &prepared,
            self.secret.as_deref(),
            &mut d,
        );
        #[cfg(feature = "tracing")]
        trace(&d, req.method(), req.uri().path());
        let known = crate::http_apply::Known {
            origin: prepared.origin(),
            method: prepared.method(),
        };
        let Some(headers) = d.actual_response_headers_with(req.headers(), known) else {
            // Answered here: a preflight, or a CSRF, WebSocket or path refusal.
            return self.answer(&d, req.headers(), known);
        };
        let guards = RouteGuards {
            route: d.guards,
            normalised: d.readings.map(|r| r.guards),
        };
        if !guards.has_headers() && d.token.is_none() {
            // The common case: CORS headers only.
            return ResponseFuture {
                state: State::Inner {
                    future: self.inner.call(req),
                },
                headers,
                guard: None,
            };
        }
        let token = self.token(&d);
        self.call_guarded(req, headers, guards, token)
    }
}

/// A 500: the answer when a CSP nonce cannot be made (no CSPRNG), rather than a guessable
/// nonce; also the fallback, never expected, for a refusal the decision has no status for.
fn server_error<B: Default>() -> Response<B> {
    let mut r = Response::new(B::default());
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

/// A CSRF token for the application, and the cookie to set when a new one was made.
type TokenForApp = Option<(CsrfToken, Option<HeaderValue>)>;

impl<S> Service<S> {
    /// The response the layer answers itself (a preflight's 204 or 403, a CSRF or WebSocket
    /// refusal), with the route's CSP and security headers; a 500 when the CSP nonce could not
    /// be made.
    #[inline]
    fn answer<F, B: Default>(
        &self,
        d: &crate::Decision<'_>,
        request: &http::HeaderMap,
        known: crate::http_apply::Known<'_>,
    ) -> ResponseFuture<F, B> {
        let guards = RouteGuards {
            route: d.guards,
            normalised: d.readings.map(|r| r.guards),
        };
        // A decision the runtime answers always has a status, so a response: the fallback is
        // there to keep this total, never to be sent.
        let mut r = d
            .preflight_response_with(request, known)
            .unwrap_or_else(server_error);
        if !self.guard_headers(guards, None, &mut r) {
            r = server_error();
        }
        ResponseFuture::ready(r)
    }

    /// The token the application gets, when the route's csrf policy has a `token` line.
    #[inline(never)]
    fn token(&self, d: &crate::Decision<'_>) -> TokenForApp {
        let (t, secret) = (d.token?, self.secret.as_ref()?);
        let value = if t.issue {
            crate::token::mint(secret, t.session)
        } else {
            t.cookie
                .and_then(|c| std::str::from_utf8(c).ok())
                .map(str::to_string)
        }?;
        let cookie = if t.issue {
            self.policy
                .get()
                .token_policy_of(&t)
                .and_then(|p| HeaderValue::try_from(p.set_cookie(&value)).ok())
        } else {
            None
        };
        Some((
            CsrfToken {
                value,
                pending: t.reason == crate::Reason::CsrfTokenDeferred,
                cookie: t.cookie.map(<[u8]>::to_vec),
                session: t.session.to_vec(),
                secret: Arc::clone(secret),
            },
            cookie,
        ))
    }

    /// A request on a route with a csp, headers or token policy: the nonce and token go to the
    /// application as request extensions, and the future adds the headers and cookie.
    #[inline(never)]
    fn call_guarded<ReqBody, ResBody>(
        &mut self,
        mut req: Request<ReqBody>,
        headers: ActualHeaders,
        guards: RouteGuards,
        token: TokenForApp,
    ) -> ResponseFuture<S::Future, ResBody>
    where
        S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
        ResBody: Default,
    {
        let set_cookie = match token {
            Some((t, cookie)) => {
                req.extensions_mut().insert(t);
                cookie
            }
            None => None,
        };
        let guard = if guards.has_headers() || set_cookie.is_some() {
            let nonce = if self
                .policy
                .get()
                .needs_nonce(guards.route, guards.normalised)
            {
                match CspNonce::generate() {
                    Some(n) => {
                        req.extensions_mut().insert(n);
                        Some(n)
                    }
                    None => {
                        return ResponseFuture::ready(server_error());
                    }
                }
            } else {
                None
            };
            // Boxed: only routes with guards pay for the state, and the future stays small.
            Some(Box::new(GuardState {
                policy: self.policy.clone(),
                guards,
                nonce,
                set_cookie,
            }))
        } else {
            None
        };
        ResponseFuture {
            state: State::Inner {
                future: self.inner.call(req),
            },
            headers,
            guard,
        }
    }

    /// Adds the route's CSP and security headers to a response the layer makes itself (a
    /// refusal or a preflight). A nonce CSP gets a fresh nonce no page will ever use, so that
    /// the header is still sent. `false` when no nonce could be made.
    fn guard_headers<B>(
        &self,
        guards: RouteGuards,
        nonce: Option<CspNonce>,
        r: &mut Response<B>,
    ) -> bool {
        if !guards.has_headers() {
            return true;
        }
        let policy = self.policy.get();
        let nonce = match nonce {
            Some(n) => Some(n),
            None if policy.needs_nonce(guards.route, guards.normalised) => {
                match CspNonce::generate() {
                    Some(n) => Some(n),
                    None => return false,
                }
            }
            None => None,
        };
        policy.apply_guard_headers(
            guards.route,
            guards.normalised,
            nonce.as_ref(),
            r.headers_mut(),
        );
        true
    }
}

/// The guards whose headers a response gets: the route's, and for a path with two readings
/// the normalised reading's route's.
#[derive(Debug, Clone, Copy)]
struct RouteGuards {
    route: Guards,
    normalised: Option<Guards>,
}

impl RouteGuards {
    /// Whether either route sets a CSP or security headers.
    fn has_headers(&self) -> bool {
        let set = |g: Guards| g.csp.is_some() || g.headers.is_some();
        set(self.route) || self.normalised.is_some_and(set)
    }
}

/// What the future needs to add the route's CSP and security headers to the app's response.
#[derive(Debug)]
struct GuardState {
    policy: Shared,
    guards: RouteGuards,
    nonce: Option<CspNonce>,
    set_cookie: Option<HeaderValue>,
}

pin_project_lite::pin_project! {
    /// The future returned by [`Service`].
    ///
    /// It returns `Poll::Pending` only when the application's future did, which registered
    /// the waker; a response the layer makes itself is ready at the first poll.
    ///
    /// # Panics
    ///
    /// When polled again after it returned `Poll::Ready` (as `std::future::Ready` does): the
    /// response is gone, and staying pending without a waker would hang the task.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
        // Beside the state rather than in its `Inner` variant: so the application's future
        // is written straight into place (in the variant, the whole state was assembled in a
        // temporary and copied).
        headers: ActualHeaders,
        guard: Option<Box<GuardState>>,
    }
}

impl<F, B> ResponseFuture<F, B> {
    /// A response the layer made itself.
    fn ready(response: Response<B>) -> Self {
        ResponseFuture {
            state: State::Ready {
                response: Some(response),
            },
            headers: ActualHeaders::NONE,
            guard: None,
        }
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // `None` once the response was returned.
        Ready { response: Option<Response<B>> },
        Inner { #[pin] future: F },
        // The application's future completed (and was dropped).
        Done,
    }
}

#[cold]
#[inline(never)]
#[expect(
    clippy::panic,
    reason = "polling a completed future breaks the Future contract; std's Ready panics too, and \
              the alternative, Pending with no waker registered, hangs the task silently"
)]
fn polled_after_completion() -> ! {
    panic!("guestlist::ResponseFuture polled after it returned Ready")
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut state = this.state;
        match state.as_mut().project() {
            StateProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => polled_after_completion(),
            },
            StateProj::Inner { future } => {
                // Pending only from the application's future, which registered the waker.
                let Poll::Ready(result) = future.poll(cx) else {
                    return Poll::Pending;
                };
                // Never polled again: a second poll reaches `Done`, not a completed future.
                state.set(State::Done);
                let mut resp = result?;
                this.headers.apply_taken(resp.headers_mut());
                // Looked at before it is taken: most routes have no guard, and a take writes.
                let guard = if this.guard.is_some() {
                    this.guard.take()
                } else {
                    None
                };
                if let Some(g) = guard {
                    g.policy.get().apply_guard_headers(
                        g.guards.route,
                        g.guards.normalised,
                        g.nonce.as_ref(),
                        resp.headers_mut(),
                    );
                    // Appended: the application's own cookies are kept.
                    if let Some(c) = g.set_cookie {
                        resp.headers_mut().append(http::header::SET_COOKIE, c);
                    }
                }
                Poll::Ready(Ok(resp))
            }
            StateProj::Done => polled_after_completion(),
        }
    }
}
