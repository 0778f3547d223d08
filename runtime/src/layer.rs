//! The tower layer (feature `tower`): applies a [`Policy`] to every request of a service.
//!
//! Preflights are answered here (204 or 403) and never reach the application, nor do CSRF and
//! WebSocket refusals. Every other request reaches it; its response gets the policy's headers.
//! An urlencoded form post without the CSRF token header, on a route whose policy signs tokens,
//! is read first (at most [`FORM_BODY_LIMIT`] bytes) and decided with its token field.
//!
//! The application is a `Clone` service of `Request<RequestBody<B>>`: [`RequestBody`] is the
//! request's own body or, after a form was read, the same frames replayed, and the service
//! that was ready goes with the future that reads the body (its clone stays), as in tower's
//! middleware. axum's `Router::layer` and hyper's service functions fit as they are. Cloning
//! the layer or the service is O(1) (a reference or an `Arc`), which matters because axum
//! clones the route's service for every request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Buf, Bytes};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};

use crate::guards::CspNonce;
use crate::http_apply::ActualHeaders;
use crate::policy::{Guards, Policy};
use crate::token::{CsrfSecret, CsrfToken, FormBody, FORM_BODY_LIMIT};

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
    forwarded_host: bool,
}

impl Layer {
    /// A layer over a `static` policy (from `include_policy!` or build.rs).
    pub const fn new(policy: &'static Policy) -> Layer {
        Layer {
            policy: Shared::Static(policy),
            secret: None,
            forwarded_host: false,
        }
    }

    /// A layer over a policy built at run time.
    pub fn shared(policy: Arc<Policy>) -> Layer {
        Layer {
            policy: Shared::Arc(policy),
            secret: None,
            forwarded_host: false,
        }
    }

    /// The secret CSRF tokens are signed with (routes whose csrf policy has a `token` line).
    /// Without it, unsafe requests on those routes are refused (`csrf-token-no-secret`); check
    /// [`Policy::needs_csrf_secret`] at start-up.
    pub fn csrf_secret(mut self, secret: CsrfSecret) -> Layer {
        self.secret = Some(Arc::new(secret));
        self
    }

    /// Behind a proxy that sets `X-Forwarded-Host` (overwriting any a client sent): that
    /// field replaces the request's authority for host selection, the CSRF same-origin
    /// comparison and the WebSocket `same-origin` entry alike (spec/language.md, section 6a).
    /// It must be one field line with one value: anything else (none, two lines, a list) is
    /// refused with 400 `host-ambiguous` in a policy with host blocks, and is no origin's own
    /// for the same-origin checks. Off by default: only the deployment knows whether its proxy
    /// overwrites the field, and a client-supplied one would choose the host block.
    pub fn trust_forwarded_host(mut self) -> Layer {
        self.forwarded_host = true;
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
            forwarded_host: self.forwarded_host,
        }
    }
}

/// The service produced by [`Layer`].
#[derive(Debug, Clone)]
pub struct Service<S> {
    inner: S,
    policy: Shared,
    secret: Option<Arc<CsrfSecret>>,
    forwarded_host: bool,
}

#[cfg(feature = "tracing")]
fn trace(d: &crate::Decision<'_>, method: &http::Method, path: &str) {
    let refused = match d.kind {
        crate::Kind::PreflightRejected => "guestlist refused a CORS preflight with 403",
        crate::Kind::CsrfRejected => "guestlist refused a cross-origin request with 403 (csrf)",
        crate::Kind::WebsocketRejected => "guestlist refused a WebSocket handshake with 403",
        crate::Kind::PathRejected => "guestlist refused a request path with 400",
        crate::Kind::HostRejected => "guestlist refused an ambiguous Host with 400",
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
    S: tower_service::Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    ReqBody: Body,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody>;

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
                    future: self.inner.call(req.map(RequestBody::new)),
                },
                headers,
                guard: None,
            };
        }
        let prepared = crate::headers::Prepared::with_origins(req.headers(), origins)
            .forwarded_host(self.forwarded_host);
        let authority = req.uri().authority().map(http::uri::Authority::as_str);
        let mut d = crate::decision::Decision::new(crate::Kind::NotCors, crate::Reason::NoRoute);
        #[cfg_attr(
            not(feature = "provided"),
            expect(
                clippy::let_unit_value,
                reason = "nothing is handed over without feature provided"
            )
        )]
        let matched = match decide_handing_over(
            policy,
            req.method().as_str(),
            req.uri().path(),
            authority,
            &prepared,
            self.secret.as_deref(),
            FormBody::Unread,
            &mut d,
        ) {
            Ok(m) => m,
            Err(why) => return ResponseFuture::ready(server_error(why)),
        };
        if d.kind == crate::Kind::CsrfRejected && d.reason == crate::Reason::CsrfTokenInForm {
            // Refused while its body is unread: read it, and decide again with its field.
            return self.read_form(req);
        }
        #[cfg(not(feature = "provided"))]
        let () = matched;
        #[cfg(feature = "tracing")]
        trace(&d, req.method(), req.uri().path());
        let known = crate::http_apply::Known {
            origin: prepared.origin(),
            method: prepared.method(),
        };
        let Some(headers) = d.actual_response_headers_with(req.headers(), known) else {
            // Answered here: a preflight, or a CSRF, WebSocket or path refusal.
            return ResponseFuture::ready(answer(policy, &d, req.headers(), known));
        };
        let guards = RouteGuards {
            route: d.guards,
            normalised: d.readings.map(|r| r.guards),
        };
        if !guards.has_headers() && d.token.is_none() {
            // The common case: CORS headers only.
            #[cfg(feature = "provided")]
            let req = with_matched(req, matched);
            return ResponseFuture {
                state: State::Inner {
                    future: self.inner.call(req.map(RequestBody::new)),
                },
                headers,
                guard: None,
            };
        }
        let token = token(policy, self.secret.as_ref(), &d);
        #[cfg(feature = "provided")]
        let req = with_matched(req, matched);
        call_guarded(
            &mut self.inner,
            &self.policy,
            req.map(RequestBody::new),
            headers,
            guards,
            token,
        )
    }
}

/// What the layer hands the application besides the request: the supplied entry that allowed
/// it (feature `provided`).
#[cfg(feature = "provided")]
type Handover = Option<crate::MatchedOrigin>;
#[cfg(not(feature = "provided"))]
type Handover = ();

/// Decides a request into `d` and finds the entry of a tenant-bound set to hand the
/// application with it ([`matched_origin`]): decided again when the set was replaced in
/// between; `Err` (the request is answered 500) past [`MAX_STALE`] such tries, or when the
/// path's two readings allow it through entries of two tenant-bound sets. The one loop of `call` and of a
/// form post whose body the layer read.
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "the request's parts, as decide_in takes them, and the decision to write"
)]
fn decide_handing_over<'a>(
    policy: &'a Policy,
    method: &str,
    path: &str,
    authority: Option<&'a str>,
    prepared: &'a crate::headers::Prepared<'_>,
    secret: Option<&crate::CsrfSecret>,
    form: FormBody<'_>,
    d: &mut crate::decision::Decision<'a>,
) -> Result<Handover, ServerError> {
    #[cfg(feature = "provided")]
    let mut stale = 0;
    #[cfg_attr(
        not(feature = "provided"),
        expect(
            clippy::never_loop,
            reason = "decided again only when a supplied set changes under it (feature provided)"
        )
    )]
    loop {
        policy.decide_in(method, path, authority, prepared, secret, form, d);
        #[cfg(feature = "provided")]
        match matched_origin(policy, d, path, authority, prepared) {
            Matched::Stale if stale < MAX_STALE => {
                stale += 1;
                *d = crate::decision::Decision::new(crate::Kind::NotCors, crate::Reason::NoRoute);
                continue;
            }
            Matched::Stale => return Err(ServerError::SetReplaced),
            Matched::Conflict => return Err(ServerError::TwoTenantSets),
            Matched::Entry(m) => return Ok(Some(m)),
            Matched::Nothing => return Ok(None),
        }
        #[cfg(not(feature = "provided"))]
        return Ok(());
    }
}

/// How many times a request is decided again when a tenant-bound set is replaced between its
/// decision and the hand-over of the matched entry; past that, 500 (never an answer whose
/// entry the application cannot check).
#[cfg(feature = "provided")]
const MAX_STALE: u32 = 3;

/// What the application gets of the entry that allowed a request.
#[cfg(feature = "provided")]
enum Matched {
    /// No entry of a tenant-bound set allowed it: nothing to hand over.
    Nothing,
    /// The entry.
    Entry(crate::MatchedOrigin),
    /// The set was replaced since the decision, which its table no longer supports: decide
    /// again.
    Stale,
    /// The path's two readings allow the origin through entries of two tenant-bound sets:
    /// refused.
    Conflict,
}

/// The entry of a tenant-bound set supplied at run time that allowed the request (a CORS
/// request or a WebSocket handshake, under either reading of its path). Every policy that
/// allowed it is asked again for the origin: a tenant-bound entry is handed over with its key;
/// a policy that no longer allows the origin (its set was replaced since) makes the request be
/// decided again ([`Matched::Stale`]); two readings allowing it through entries of two
/// tenant-bound sets refuse it ([`Matched::Conflict`]). So a request a tenant-bound entry allowed always carries
/// its `MatchedOrigin`.
#[cfg(feature = "provided")]
#[inline(always)]
fn matched_origin(
    policy: &Policy,
    d: &crate::Decision<'_>,
    path: &str,
    authority: Option<&str>,
    prepared: &crate::headers::Prepared<'_>,
) -> Matched {
    // Only an allowed CORS request or handshake can carry an entry: every other decision
    // (preflights, refusals) is done here.
    if matches!(
        d.kind,
        crate::Kind::ActualAllowed | crate::Kind::WebsocketAllowed
    ) {
        allowing_entry(policy, d, path, authority, prepared)
    } else {
        Matched::Nothing
    }
}

/// [`matched_origin`] for an allowed request.
#[cfg(feature = "provided")]
#[inline(never)]
fn allowing_entry(
    policy: &Policy,
    d: &crate::Decision<'_>,
    path: &str,
    authority: Option<&str>,
    prepared: &crate::headers::Prepared<'_>,
) -> Matched {
    let origin = prepared.origin();
    // A websocket policy with `same-origin` allows the request's own origin without an entry
    // of its table: a miss there is no sign of a replaced set.
    let own_origin = || {
        let request = crate::RequestAuthority::read(authority, prepared).get();
        match (
            origin.and_then(|o| crate::origin::origin_authority(o.as_bytes())),
            request,
        ) {
            (Some(a), Some(h)) => crate::host::same_authority(a, h),
            _ => false,
        }
    };
    // The policies that allowed the request: each reading's, and each host block's route's
    // for the path (spec/language.md, section 6a).
    let second = d.readings.as_ref();
    let cors = |i: Option<u32>| i.and_then(|c| policy.cors_policies().get(c as usize));
    let ws = |i: Option<u32>| i.and_then(|w| policy.websocket_policies().get(w as usize));
    let matcher = |cors_index: Option<u32>, guards: crate::Guards| -> Option<Matcher<'_>> {
        match d.kind {
            crate::Kind::ActualAllowed => cors(cors_index).map(Matcher::Cors),
            crate::Kind::WebsocketAllowed => ws(guards.websocket).map(Matcher::WebSocket),
            _ => None,
        }
    };
    let mut matchers = [
        matcher(d.cors, d.guards),
        second.and_then(|r| matcher(r.cors, r.guards)),
    ]
    .into_iter()
    .flatten()
    .chain(
        policy
            .contributing_for(path)
            .filter_map(|r| {
                // A top-level route's CORS takes no part on another host's request.
                let cors = policy.routes().get(r as usize)?.cors();
                let cors = cors.filter(|_| !policy.is_top_level_route(r));
                Some((cors, policy.routes().get(r as usize)?.guards()))
            })
            .filter_map(|(cors, guards)| matcher(cors, guards)),
    );
    // Most policies name no tenant-bound set: nothing to look up again.
    if !matchers
        .clone()
        .any(|m| m.provided().iter().any(|set| set.is_tenant_bound()))
    {
        return Matched::Nothing;
    }
    let Some(origin) = origin else {
        return Matched::Nothing;
    };
    let mut found: Option<crate::MatchedOrigin> = None;
    matchers
        .try_for_each(|m| {
            match m.match_origin(origin.as_bytes()) {
                None if matches!(m, Matcher::WebSocket(w) if w.same_origin) && own_origin() => {}
                None => return Err(Matched::Stale),
                Some(crate::OriginMatch::Provided {
                    set,
                    entry,
                    generation,
                }) => {
                    let Some(set) = m
                        .provided()
                        .get(set as usize)
                        .filter(|s| s.is_tenant_bound())
                    else {
                        return Ok(());
                    };
                    let Some(e) = set.matched(entry, generation) else {
                        return Err(Matched::Stale);
                    };
                    // Two tenant-bound sets, whatever their keys: a rule an edge, which never
                    // sees keys, computes alike (one origin matches entries of one key in one
                    // set, GL1409).
                    if found.as_ref().is_some_and(|f| f.set() != e.set()) {
                        return Err(Matched::Conflict);
                    }
                    found = Some(e);
                }
                Some(_) => {}
            }
            Ok(())
        })
        .err()
        .unwrap_or_else(|| found.map_or(Matched::Nothing, Matched::Entry))
}

/// A policy that can allow an origin: a cors or a websocket policy.
#[cfg(feature = "provided")]
#[derive(Clone, Copy)]
enum Matcher<'a> {
    Cors(&'a crate::Cors),
    WebSocket(&'a crate::WebSocket),
}

#[cfg(feature = "provided")]
impl<'a> Matcher<'a> {
    fn provided(self) -> &'a [crate::provided::SetRef] {
        match self {
            Matcher::Cors(c) => c.provided(),
            Matcher::WebSocket(w) => w.provided(),
        }
    }

    fn match_origin(self, origin: &[u8]) -> Option<crate::OriginMatch> {
        match self {
            Matcher::Cors(c) => c.match_origin(origin),
            Matcher::WebSocket(w) => w.match_origin(origin),
        }
    }
}

/// `req` with the [`MatchedOrigin`](crate::MatchedOrigin) in its extensions, if any.
#[cfg(feature = "provided")]
fn with_matched<B>(mut req: Request<B>, m: Option<crate::MatchedOrigin>) -> Request<B> {
    if let Some(m) = m {
        req.extensions_mut().insert(m);
    }
    req
}

/// Why the layer answered a request 500 by itself, in that response's extensions (never on
/// the wire: the 500 carries no header). For logging, and for `guestlist explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerError {
    /// The origin is allowed through entries of two different tenant-bound sets (the two
    /// readings of its path, or a host block's route beside a top-level one): no single
    /// entry can be handed to the application (spec/language.md, "Sets supplied at run
    /// time").
    TwoTenantSets,
    /// A tenant-bound set was replaced between the decision and the hand-over of its entry
    /// more times in a row than the layer decides again.
    SetReplaced,
    /// A CSP nonce could not be drawn (no CSPRNG): never a guessable nonce.
    NoNonce,
    /// A request whose form body was not read whole, or a refusal the decision has no
    /// status for: never expected.
    Unexpected,
}

/// A 500 with no header, `why` in its extensions.
fn server_error<B: Default>(why: ServerError) -> Response<B> {
    let mut r = Response::new(B::default());
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r.extensions_mut().insert(why);
    r
}

/// A CSRF token for the application, the cookie to set when a new one was made, and, for a
/// form post deferred to the application, the flag its verification sets.
struct ForApp {
    token: Option<CsrfToken>,
    set_cookie: Option<HeaderValue>,
    deferred: Option<Arc<AtomicBool>>,
}

impl<S> Service<S> {
    /// An urlencoded form post without the token header: the body is read (at most
    /// [`FORM_BODY_LIMIT`] bytes) by the response future, which then decides again with it
    /// and calls the application with the same bytes. The service that was ready goes with
    /// the future; its clone stays here for the next `poll_ready`, as tower's middleware does.
    #[cold]
    fn read_form<ReqBody, ResBody>(
        &mut self,
        req: Request<ReqBody>,
    ) -> ResponseFuture<S, ReqBody, ResBody>
    where
        S: tower_service::Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>
            + Clone,
        ReqBody: Body,
        ResBody: Default,
    {
        let (parts, body) = req.into_parts();
        let too_large = body.size_hint().lower() > FORM_BODY_LIMIT as u64;
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let mut reading = Box::pin(ReadForm {
            body,
            inner: Some(inner),
            parts: Some(parts),
            chunks: Vec::new(),
            len: 0,
            trailers: None,
            policy: self.policy.clone(),
            secret: self.secret.clone(),
            forwarded_host: self.forwarded_host,
        });
        if too_large {
            // Refused by its length alone: nothing is read.
            return reading.as_mut().finish(Read::TooLarge);
        }
        ResponseFuture {
            state: State::Reading { reading },
            headers: ActualHeaders::NONE,
            guard: None,
        }
    }
}

/// The response the layer answers itself (a preflight's 204 or 403, a CSRF or WebSocket
/// refusal), with the route's CSP and security headers; a 500 when the CSP nonce could not
/// be made.
#[inline]
fn answer<B: Default>(
    policy: &Policy,
    d: &crate::Decision<'_>,
    request: &http::HeaderMap,
    known: crate::http_apply::Known<'_>,
) -> Response<B> {
    let guards = RouteGuards {
        route: d.guards,
        normalised: d.readings.map(|r| r.guards),
    };
    // A decision the runtime answers always has a status, so a response: the fallback is
    // there to keep this total, never to be sent.
    let mut r = d
        .preflight_response_with(request, known)
        .unwrap_or_else(|| server_error(ServerError::Unexpected));
    if !guard_headers(policy, guards, None, &mut r) {
        r = server_error(ServerError::NoNonce);
    }
    r
}

/// The token the application gets, when the route's csrf policy has a `token` line.
fn token(policy: &Policy, secret: Option<&Arc<CsrfSecret>>, d: &crate::Decision<'_>) -> ForApp {
    let mut out = ForApp {
        token: None,
        set_cookie: None,
        deferred: None,
    };
    let Some(t) = d.token else {
        return out;
    };
    let pending = t.reason == crate::Reason::CsrfTokenDeferred;
    if pending {
        // Set even when no token can be handed over: the layer still sees an unverified post.
        out.deferred = Some(Arc::new(AtomicBool::new(false)));
    }
    let Some(secret) = secret else {
        return out;
    };
    let value = if t.issue {
        crate::token::mint(secret, t.session)
    } else {
        t.cookie
            .and_then(|c| std::str::from_utf8(c).ok())
            .map(str::to_string)
    };
    let Some(value) = value else {
        return out;
    };
    if t.issue {
        out.set_cookie = policy
            .token_policy_of(&t)
            .and_then(|p| HeaderValue::try_from(p.set_cookie(&value)).ok());
    }
    out.token = Some(CsrfToken {
        value,
        pending,
        cookie: t.cookie.map(<[u8]>::to_vec),
        session: t.session.to_vec(),
        secret: Arc::clone(secret),
        verified: out.deferred.clone(),
    });
    out
}

/// A request on a route with a csp, headers or token policy: the nonce and token go to the
/// application as request extensions, and the future adds the headers and cookie.
fn call_guarded<S, ReqBody, ResBody>(
    inner: &mut S,
    policy: &Shared,
    mut req: Request<RequestBody<ReqBody>>,
    headers: ActualHeaders,
    guards: RouteGuards,
    token: ForApp,
) -> ResponseFuture<S, ReqBody, ResBody>
where
    S: tower_service::Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ResBody: Default,
{
    if let Some(t) = token.token {
        req.extensions_mut().insert(t);
    }
    let set_cookie = token.set_cookie;
    let deferred = token.deferred;
    let guard = if guards.has_headers() || set_cookie.is_some() || deferred.is_some() {
        let nonce = if policy.get().needs_nonce(guards.route, guards.normalised) {
            match CspNonce::generate() {
                Some(n) => {
                    req.extensions_mut().insert(n);
                    Some(n)
                }
                None => {
                    return ResponseFuture::ready(server_error(ServerError::NoNonce));
                }
            }
        } else {
            None
        };
        // Boxed: only routes with guards pay for the state, and the future stays small.
        Some(Box::new(GuardState {
            policy: policy.clone(),
            guards,
            nonce,
            set_cookie,
            deferred: deferred.map(|verified| Deferred {
                verified,
                #[cfg(feature = "tracing")]
                method: req.method().clone(),
                #[cfg(feature = "tracing")]
                uri: req.uri().clone(),
            }),
        }))
    } else {
        None
    };
    ResponseFuture {
        state: State::Inner {
            future: inner.call(req),
        },
        headers,
        guard,
    }
}

/// Adds the route's CSP and security headers to a response the layer makes itself (a
/// refusal or a preflight). A nonce CSP gets a fresh nonce no page will ever use, so that
/// the header is still sent. `false` when no nonce could be made.
fn guard_headers<B>(
    policy: &Policy,
    guards: RouteGuards,
    nonce: Option<CspNonce>,
    r: &mut Response<B>,
) -> bool {
    if !guards.has_headers() {
        return true;
    }
    let nonce = match nonce {
        Some(n) => Some(n),
        None if policy.needs_nonce(guards.route, guards.normalised) => match CspNonce::generate() {
            Some(n) => Some(n),
            None => return false,
        },
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
    deferred: Option<Deferred>,
}

impl GuardState {
    /// Adds the route's CSP and security headers and the token cookie to the application's
    /// response, and marks an unverified deferred form post.
    fn apply<B>(self, resp: &mut Response<B>) {
        self.policy.get().apply_guard_headers(
            self.guards.route,
            self.guards.normalised,
            self.nonce.as_ref(),
            resp.headers_mut(),
        );
        // Appended: the application's own cookies are kept.
        if let Some(c) = self.set_cookie {
            resp.headers_mut().append(http::header::SET_COOKIE, c);
        }
        if let Some(d) = &self.deferred {
            unverified(d, resp);
        }
    }
}

/// A form post deferred to the application (`defer-forms`): whether it verified the token by
/// the time it answered.
#[derive(Debug)]
struct Deferred {
    verified: Arc<AtomicBool>,
    #[cfg(feature = "tracing")]
    method: http::Method,
    #[cfg(feature = "tracing")]
    uri: http::Uri,
}

/// A response extension: the application answered a form post that the layer deferred to it
/// (the route's token policy says `defer-forms`, and the post had no token header) without a
/// successful [`CsrfToken::verify_submitted`] on the request's token. The response is sent as
/// the application made it (whatever the handler did is done); with the `tracing` feature the
/// layer also logs a warning with reason `csrf-token-deferred`. An outer layer or a test can
/// turn it into an alarm:
///
/// ```
/// fn check(resp: &http::Response<()>) -> Result<(), &'static str> {
///     match resp.extensions().get::<guestlist::CsrfTokenUnverified>() {
///         Some(_) => Err("a handler acted on a form post without verifying its CSRF token"),
///         None => Ok(()),
///     }
/// }
/// # let _ = check;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsrfTokenUnverified;

pin_project_lite::pin_project! {
    /// The future returned by [`Service`].
    ///
    /// It returns `Poll::Pending` only when the request body it reads (an urlencoded form post
    /// whose token field the layer verifies) or the application's future did, which registered
    /// the waker; a response the layer makes itself is ready at the first poll.
    ///
    /// # Panics
    ///
    /// When polled again after it returned `Poll::Ready` (as `std::future::Ready` does): the
    /// response is gone, and staying pending without a waker would hang the task.
    pub struct ResponseFuture<S, ReqBody, ResBody>
    where
        S: tower_service::Service<Request<RequestBody<ReqBody>>>,
    {
        #[pin]
        state: State<S, ReqBody, ResBody>,
        // Beside the state rather than in its `Inner` variant: so the application's future
        // is written straight into place (in the variant, the whole state was assembled in a
        // temporary and copied).
        headers: ActualHeaders,
        guard: Option<Box<GuardState>>,
    }
}

impl<S, ReqBody, ResBody> ResponseFuture<S, ReqBody, ResBody>
where
    S: tower_service::Service<Request<RequestBody<ReqBody>>>,
{
    /// A response the layer made itself.
    fn ready(response: Response<ResBody>) -> Self {
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
    enum State<S, ReqBody, ResBody>
    where
        S: tower_service::Service<Request<RequestBody<ReqBody>>>,
    {
        // `None` once the response was returned.
        Ready { response: Option<Response<ResBody>> },
        // Reading a form body (boxed: only those posts pay for the state).
        Reading { reading: Pin<Box<ReadForm<S, ReqBody>>> },
        Inner { #[pin] future: S::Future },
        // The application's future completed (and was dropped).
        Done,
    }
}

#[cold]
#[expect(
    clippy::panic,
    reason = "polling a completed future breaks the Future contract; std's Ready panics too, and \
              the alternative, Pending with no waker registered, hangs the task silently"
)]
fn polled_after_completion() -> ! {
    panic!("guestlist::ResponseFuture polled after it returned Ready")
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody, ResBody>
where
    S: tower_service::Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Default,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.as_mut().project();
        let mut state = this.state;
        match state.as_mut().project() {
            StateProj::Ready { response } => match response.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => polled_after_completion(),
            },
            StateProj::Reading { .. } => self.poll_form(cx),
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
                    (*g).apply(&mut resp);
                }
                Poll::Ready(Ok(resp))
            }
            StateProj::Done => polled_after_completion(),
        }
    }
}

impl<S, ReqBody, ResBody> ResponseFuture<S, ReqBody, ResBody>
where
    S: tower_service::Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ReqBody: Body,
    ResBody: Default,
{
    /// Reading a form body: pending only while the body is (which registered the waker); then
    /// this future becomes what `finish` made of it (the layer's answer, or the application's
    /// future), polled at once.
    #[cold]
    fn poll_form(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Response<ResBody>, S::Error>> {
        let StateProj::Reading { reading } = self.as_mut().project().state.project() else {
            polled_after_completion()
        };
        let Poll::Ready(read) = reading.as_mut().poll_read(cx) else {
            return Poll::Pending;
        };
        let next = reading.as_mut().finish(read);
        // Drops the reading state, and the body in it.
        self.set(next);
        self.poll(cx)
    }
}

/// Marks the application's response to a deferred form post whose token it never verified.
#[cold]
fn unverified<B>(d: &Deferred, resp: &mut Response<B>) {
    if d.verified.load(Ordering::Acquire) {
        return;
    }
    resp.extensions_mut().insert(CsrfTokenUnverified);
    #[cfg(feature = "tracing")]
    tracing::warn!(
        target: "guestlist",
        reason = crate::Reason::CsrfTokenDeferred.code(),
        method = %d.method,
        path = d.uri.path(),
        "the application answered a form post deferred to it (defer-forms) without verifying its CSRF token"
    );
}

/// How reading a form body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    /// To its end, within the limit.
    Done,
    /// Over [`FORM_BODY_LIMIT`] (by its size hint, or by what was read).
    TooLarge,
    /// The body returned an error.
    Failed,
}

pin_project_lite::pin_project! {
    /// The layer's state while it reads an urlencoded form body: the body, what was read of
    /// it, and what the application is called with afterwards.
    struct ReadForm<S, B> {
        #[pin]
        body: B,
        // Taken by `finish` (the state is replaced right after).
        inner: Option<S>,
        parts: Option<http::request::Parts>,
        chunks: Vec<Bytes>,
        len: usize,
        trailers: Option<http::HeaderMap>,
        policy: Shared,
        secret: Option<Arc<CsrfSecret>>,
        forwarded_host: bool,
    }
}

impl<S, B> ReadForm<S, B>
where
    B: Body,
{
    /// Reads frames until the body ends, fails, or goes over the limit; the data is kept as
    /// it came (each frame's bytes, in order) and so are trailers.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Read> {
        let mut this = self.project();
        loop {
            let frame = match std::task::ready!(this.body.as_mut().poll_frame(cx)) {
                None => return Poll::Ready(Read::Done),
                Some(Err(_)) => return Poll::Ready(Read::Failed),
                Some(Ok(frame)) => frame,
            };
            match frame.into_data() {
                Ok(mut data) => {
                    let n = data.remaining();
                    *this.len = this.len.saturating_add(n);
                    if *this.len > FORM_BODY_LIMIT {
                        return Poll::Ready(Read::TooLarge);
                    }
                    if n > 0 {
                        this.chunks.push(data.copy_to_bytes(n));
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        match this.trailers {
                            Some(h) => h.extend(t),
                            None => *this.trailers = Some(t),
                        }
                    }
                }
            }
        }
    }

    /// Decides again with what was read, and answers (a refusal) or calls the application with
    /// the body's frames.
    #[cold]
    fn finish<ResBody>(self: Pin<&mut Self>, read: Read) -> ResponseFuture<S, B, ResBody>
    where
        S: tower_service::Service<Request<RequestBody<B>>, Response = Response<ResBody>>,
        ResBody: Default,
    {
        let this = self.project();
        let (Some(mut inner), Some(parts)) = (this.inner.take(), this.parts.take()) else {
            polled_after_completion()
        };
        let chunks = std::mem::take(this.chunks);
        let joined;
        let body: &[u8] = match chunks.as_slice() {
            [] => &[],
            [one] => one,
            many => {
                joined = many.concat();
                &joined
            }
        };
        let form = match read {
            Read::Done => FormBody::Read(body),
            Read::TooLarge => FormBody::TooLarge,
            Read::Failed => FormBody::Unreadable,
        };
        let policy = this.policy.get();
        let prepared = crate::headers::Prepared::with_origins(
            &parts.headers,
            crate::headers::origin_lines(&parts.headers),
        )
        .forwarded_host(*this.forwarded_host);
        let authority = parts.uri.authority().map(http::uri::Authority::as_str);
        let mut d = crate::decision::Decision::new(crate::Kind::NotCors, crate::Reason::NoRoute);
        #[cfg_attr(
            not(feature = "provided"),
            expect(
                clippy::let_unit_value,
                reason = "nothing is handed over without feature provided"
            )
        )]
        let matched = match decide_handing_over(
            policy,
            parts.method.as_str(),
            parts.uri.path(),
            authority,
            &prepared,
            this.secret.as_deref(),
            form,
            &mut d,
        ) {
            Ok(m) => m,
            Err(why) => return ResponseFuture::ready(server_error(why)),
        };
        #[cfg(not(feature = "provided"))]
        let () = matched;
        #[cfg(feature = "tracing")]
        trace(&d, &parts.method, parts.uri.path());
        let known = crate::http_apply::Known {
            origin: prepared.origin(),
            method: prepared.method(),
        };
        let Some(headers) = d.actual_response_headers_with(&parts.headers, known) else {
            return ResponseFuture::ready(answer(policy, &d, &parts.headers, known));
        };
        if read != Read::Done {
            // Never expected: a body that was not read whole is refused by the token check.
            // The application never gets part of a body.
            return ResponseFuture::ready(server_error(ServerError::Unexpected));
        }
        let guards = RouteGuards {
            route: d.guards,
            normalised: d.readings.map(|r| r.guards),
        };
        let token = token(policy, this.secret.as_ref(), &d);
        let body = RequestBody::replay(chunks, this.trailers.take());
        let req = Request::from_parts(parts, body);
        #[cfg(feature = "provided")]
        let req = with_matched(req, matched);
        call_guarded(&mut inner, this.policy, req, headers, guards, token)
    }
}

pin_project_lite::pin_project! {
    /// The body of every request the layer passes to the application: the request's own body,
    /// or, for a form post whose token field the layer read, the same bytes replayed (each data
    /// frame as it was read, in order, then the trailers, if any). Its data is [`Bytes`] (a
    /// frame of another buffer type is converted, without a copy for `Bytes` itself) and its
    /// error the original body's.
    #[derive(Debug)]
    pub struct RequestBody<B> {
        #[pin]
        kind: BodyKind<B>,
    }
}

pin_project_lite::pin_project! {
    #[project = BodyKindProj]
    #[derive(Debug)]
    enum BodyKind<B> {
        Stream { #[pin] body: B },
        // Boxed: only form posts the layer read carry it.
        Replay { replay: Box<Replay> },
    }
}

/// A body the layer read, handed on: the data frames still to give, last first, and the
/// trailers.
#[derive(Debug)]
struct Replay {
    chunks: Vec<Bytes>,
    trailers: Option<http::HeaderMap>,
}

impl<B> RequestBody<B> {
    /// The request's own body, passed through.
    pub fn new(body: B) -> RequestBody<B> {
        RequestBody {
            kind: BodyKind::Stream { body },
        }
    }

    fn replay(mut chunks: Vec<Bytes>, trailers: Option<http::HeaderMap>) -> RequestBody<B> {
        chunks.reverse();
        RequestBody {
            kind: BodyKind::Replay {
                replay: Box::new(Replay { chunks, trailers }),
            },
        }
    }
}

impl<B> Body for RequestBody<B>
where
    B: Body,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            BodyKindProj::Stream { body } => body.poll_frame(cx).map(|frame| {
                frame.map(|f| f.map(|f| f.map_data(|mut d| d.copy_to_bytes(d.remaining()))))
            }),
            BodyKindProj::Replay { replay } => Poll::Ready(match replay.chunks.pop() {
                Some(data) => Some(Ok(Frame::data(data))),
                None => replay.trailers.take().map(|t| Ok(Frame::trailers(t))),
            }),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Stream { body } => body.is_end_stream(),
            BodyKind::Replay { replay } => replay.chunks.is_empty() && replay.trailers.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            BodyKind::Stream { body } => body.size_hint(),
            BodyKind::Replay { replay } => {
                let n: usize = replay.chunks.iter().map(Bytes::len).sum();
                SizeHint::with_exact(n as u64)
            }
        }
    }
}
