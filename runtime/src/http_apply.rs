//! The framework-free HTTP API: decide on `http::request::Parts`, turn a [`Decision`] into
//! owned response headers without allocating ([`ActualHeaders`]), apply them to a response's
//! `HeaderMap`, or build the response the runtime answers itself. The tower layer is a thin
//! wrapper over these.

use http::header::{self, HeaderMap, HeaderName as HttpName, HeaderValue, VARY};
use http::{Response, StatusCode};

use crate::decision::{CorsHeader, Decision, Echo, FixedValue, TokenOutcome, Value, STAR};
use crate::guards::CspNonce;
use crate::headers::names_a_header;
use crate::policy::{Guards, Policy};

/// The value of one of [`Policy::guard_headers`].
#[derive(Debug, Clone, Copy)]
pub enum GuardValue<'a> {
    /// A fixed value from the policy.
    Fixed(&'a HeaderValue),
    /// The route's CSP, whose value may hold a per-response nonce.
    Csp(&'a crate::guards::Csp),
}

/// The header that carries a CSRF, WebSocket or path refusal's reason code.
pub const REASON_HEADER: &str = "guestlist-reason";

/// The `Access-Control-*` response headers the runtime owns on a governed route; any value the
/// application set for them is removed before the policy's own are set.
const OWNED: [HttpName; 6] = [
    header::ACCESS_CONTROL_ALLOW_ORIGIN,
    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
    header::ACCESS_CONTROL_ALLOW_METHODS,
    header::ACCESS_CONTROL_ALLOW_HEADERS,
    header::ACCESS_CONTROL_MAX_AGE,
    header::ACCESS_CONTROL_EXPOSE_HEADERS,
];

#[inline(always)]
fn http_name(n: CorsHeader) -> HttpName {
    match n {
        CorsHeader::AllowOrigin => header::ACCESS_CONTROL_ALLOW_ORIGIN,
        CorsHeader::AllowCredentials => header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        CorsHeader::AllowMethods => header::ACCESS_CONTROL_ALLOW_METHODS,
        CorsHeader::AllowHeaders => header::ACCESS_CONTROL_ALLOW_HEADERS,
        CorsHeader::MaxAge => header::ACCESS_CONTROL_MAX_AGE,
        CorsHeader::ExposeHeaders => header::ACCESS_CONTROL_EXPOSE_HEADERS,
        CorsHeader::Vary => VARY,
    }
}

/// Whether a `Vary` value lists `Origin` (or is `*`).
fn varies_by_origin(v: &HeaderValue) -> bool {
    v.as_bytes().split(|&b| b == b',').any(|t| {
        let t = t.trim_ascii();
        t.eq_ignore_ascii_case(b"origin") || t == b"*"
    })
}

/// One pass over the names of an application's response headers: whether it set one of
/// [`OWNED`], and whether it has a `Vary`, whose lines are then read for `Origin`. A response
/// holds a few headers; looking each of the six names up (and `Vary`) hashed seven names,
/// about 500 instructions per response. (Iterating names and values instead, to read `Vary`
/// in the same pass, cost 18 more for a response with one header.)
#[inline(never)]
fn scan_app_headers(map: &HeaderMap) -> (bool, bool) {
    let (mut owned, mut vary) = (false, false);
    for name in map.keys() {
        if *name == VARY {
            vary = true;
        } else if OWNED.contains(name) {
            owned = true;
        }
    }
    (
        owned,
        vary && map.get_all(&VARY).iter().any(varies_by_origin),
    )
}

/// The CORS headers of a decision that reaches the application (Allow-Origin,
/// Allow-Credentials, Expose-Headers, `Vary: Origin`), owned: values are `HeaderValue` clones,
/// which share bytes. Applying them replaces the application's `Access-Control-*` headers on a
/// governed route and appends `Vary: Origin` unless it is already there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualHeaders {
    acao: Option<HeaderValue>,
    aceh: Option<HeaderValue>,
    /// [`ACAC`], [`VARY_ORIGIN`], [`GOVERNED`]: one byte, taken at once.
    flags: u8,
}

/// Send `Access-Control-Allow-Credentials: true`.
const ACAC: u8 = 1;
/// Append `Vary: Origin` (unless the response already varies on it).
const VARY_ORIGIN: u8 = 2;
/// The route has a CORS policy: the application's `Access-Control-*` headers are replaced.
const GOVERNED: u8 = 4;

/// The flag byte of [`ActualHeaders`].
#[inline(always)]
fn flags(acac: bool, vary: bool, governed: bool) -> u8 {
    (u8::from(acac) * ACAC) | (u8::from(vary) * VARY_ORIGIN) | (u8::from(governed) * GOVERNED)
}

impl ActualHeaders {
    /// No headers.
    #[cfg(feature = "tower")]
    pub(crate) const NONE: ActualHeaders = ActualHeaders {
        acao: None,
        aceh: None,
        flags: 0,
    };

    /// Applies the headers to a response's map.
    pub fn apply(&self, map: &mut HeaderMap) {
        self.clone().apply_once(map);
    }

    /// Like [`ActualHeaders::apply`], moving the values out.
    #[inline]
    pub fn apply_once(mut self, map: &mut HeaderMap) {
        self.apply_taken(map);
    }

    /// Applies the headers, taking the values out of `self` (which then applies nothing): the
    /// response future's way, which moves no more than the values.
    #[inline]
    pub(crate) fn apply_taken(&mut self, map: &mut HeaderMap) {
        let flags = std::mem::take(&mut self.flags);
        let (owned, vary_origin) = if map.is_empty() {
            (false, false)
        } else {
            scan_app_headers(map)
        };
        if owned {
            self.remove_replaced(map, flags);
        }
        if flags & VARY_ORIGIN != 0 && !vary_origin {
            map.append(VARY, ORIGIN);
        }
        // No line of the names below is left (the response had none, or `remove_replaced`
        // took them out), so each is appended: the same map as `insert` makes, for less
        // (`insert` returns the value it replaced). In this order: where a name lands in
        // `http`'s table depends on the names before it, and Allow-Origin last displaces the
        // fewest entries. Both measured: ARCHITECTURE.md, "Decisions that shaped the hot path".
        if let Some(v) = self.aceh.take() {
            map.append(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
        }
        if flags & ACAC != 0 {
            map.append(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, TRUE);
        }
        if let Some(v) = self.acao.take() {
            map.append(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }

    /// Removes the application's lines of the names these headers replace: on a governed
    /// route every name in [`OWNED`], else only the names these headers set.
    #[cold]
    #[inline(never)]
    fn remove_replaced(&self, map: &mut HeaderMap, flags: u8) {
        if flags & GOVERNED != 0 {
            for name in &OWNED {
                map.remove(name);
            }
            return;
        }
        if self.aceh.is_some() {
            map.remove(header::ACCESS_CONTROL_EXPOSE_HEADERS);
        }
        if flags & ACAC != 0 {
            map.remove(header::ACCESS_CONTROL_ALLOW_CREDENTIALS);
        }
        if self.acao.is_some() {
            map.remove(header::ACCESS_CONTROL_ALLOW_ORIGIN);
        }
    }
}

#[cfg(feature = "tower")]
impl ActualHeaders {
    /// The headers of the layer's fast path ([`Policy::decide_common`]): as
    /// [`Decision::actual_response_headers`] gives them for the same request.
    #[inline(always)]
    pub(crate) fn common(c: crate::eval::Common<'_>) -> Self {
        let cors = c.cors;
        let allowed = c.acao.is_some();
        ActualHeaders {
            aceh: if allowed { cors.aceh.clone() } else { None },
            flags: flags(allowed && cors.credentials, !cors.is_static_any(), true),
            acao: c.acao,
        }
    }
}

/// Request values the caller already looked up (the tower layer's), so echoing them into the
/// response needs no second lookup.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Known<'r> {
    /// The first `Origin` value.
    pub(crate) origin: Option<&'r HeaderValue>,
    /// The first `Access-Control-Request-Method` value.
    pub(crate) method: Option<&'r HeaderValue>,
}

#[inline(always)]
fn echoed(request: &HeaderMap, known: Known<'_>, e: Echo) -> Option<HeaderValue> {
    match e {
        Echo::Origin => match known.origin {
            Some(o) => Some(o.clone()),
            None => request.get(&header::ORIGIN).cloned(),
        },
        Echo::Method => match known.method {
            Some(m) => Some(m.clone()),
            None => request.get(&header::ACCESS_CONTROL_REQUEST_METHOD).cloned(),
        },
        Echo::HeadersLine(n) => request
            .get_all(&header::ACCESS_CONTROL_REQUEST_HEADERS)
            .iter()
            .filter(|v| names_a_header(v.as_bytes()))
            .nth(usize::from(n))
            .cloned(),
    }
}

// The fixed values, checked once at compile time (`from_static` on a run-time string checks
// every byte on every call).
const TRUE: HeaderValue = HeaderValue::from_static("true");
const ORIGIN: HeaderValue = HeaderValue::from_static("Origin");

/// A fixed value as a `HeaderValue`.
#[inline(always)]
fn fixed(v: FixedValue) -> HeaderValue {
    match v {
        FixedValue::True => TRUE,
        FixedValue::Origin => ORIGIN,
        FixedValue::Star => STAR,
    }
}

/// The owned `HeaderValue` for a decision's header value: table values and the request's own
/// values are cloned (sharing their bytes), fixed ones are static.
#[inline(always)]
fn owned(value: Value<'_>, request: &HeaderMap, known: Known<'_>) -> Option<HeaderValue> {
    match value {
        Value::Table(v) => Some(v.clone()),
        Value::Fixed(s) => Some(fixed(s)),
        Value::Echo(e, _) => echoed(request, known, e),
    }
}

impl Decision<'_> {
    /// The headers of a decision that reaches the application, in a small value the tower
    /// layer keeps while the application runs. `None` for decisions the runtime answers itself.
    pub fn actual_response_headers(&self, request: &HeaderMap) -> Option<ActualHeaders> {
        self.actual_response_headers_with(request, Known::default())
    }

    /// [`Decision::actual_response_headers`] with the request's `Origin` value already in hand.
    #[inline]
    pub(crate) fn actual_response_headers_with(
        &self,
        request: &HeaderMap,
        known: Known<'_>,
    ) -> Option<ActualHeaders> {
        if self.status().is_some() {
            return None;
        }
        let a = self.actual_parts();
        Some(ActualHeaders {
            acao: a.acao.and_then(|v| owned(v, request, known)),
            aceh: a.aceh.cloned(),
            flags: flags(a.acac, a.vary, self.cors.is_some()),
        })
    }

    /// Writes the decision's headers into a fresh response's map (the responses the runtime
    /// makes itself), with one reservation and no intermediate copy.
    pub fn write_new_headers(&self, request: &HeaderMap, map: &mut HeaderMap) {
        self.write_new_headers_with(request, Known::default(), map);
    }

    fn write_new_headers_with(&self, request: &HeaderMap, known: Known<'_>, map: &mut HeaderMap) {
        // A decision writes at most six header names (repeated Allow-Headers lines share one
        // entry), and an empty map's first insert makes room for six (`http`'s smallest table,
        // the one `reserve(6)` makes): only a map that already has headers needs a reservation.
        if !map.is_empty() {
            self.replace_headers(request, known, map);
            return;
        }
        // Inlined at each of `for_each_header`'s call sites, where the name and the kind of
        // value are constants. The map holds no line of any name, and a decision lists each
        // name once (but for Allow-Headers lines after the first): `append` makes the map
        // `insert` would, for less (ARCHITECTURE.md, "Decisions that shaped the hot path").
        self.for_each_header(
            #[inline(always)]
            |h| {
                if let Some(v) = owned(h.value, request, known) {
                    map.append(http_name(h.name), v);
                }
            },
        );
    }

    /// [`Decision::write_new_headers_with`] for a map that already has headers: one
    /// reservation, then each name set (replacing the map's lines) or appended.
    #[inline(never)]
    fn replace_headers(&self, request: &HeaderMap, known: Known<'_>, map: &mut HeaderMap) {
        map.reserve(self.header_count());
        self.for_each_header(|h| {
            if let Some(v) = owned(h.value, request, known) {
                if h.append {
                    map.append(http_name(h.name), v);
                } else {
                    map.insert(http_name(h.name), v);
                }
            }
        });
    }

    /// The response (empty body) when the runtime answers by itself: a preflight's 204 or 403,
    /// a CSRF or WebSocket refusal's 403 or a refused path's 400, the refusals with their
    /// reason code in `Guestlist-Reason`. The
    /// route's CSP and security headers are not in it: add them with
    /// [`Policy::apply_guard_headers`].
    pub fn preflight_response<B: Default>(&self, request: &HeaderMap) -> Option<Response<B>> {
        self.preflight_response_with(request, Known::default())
    }

    /// [`Decision::preflight_response`] with the request's `Origin` value already in hand.
    pub(crate) fn preflight_response_with<B: Default>(
        &self,
        request: &HeaderMap,
        known: Known<'_>,
    ) -> Option<Response<B>> {
        let status = self.status().and_then(|s| StatusCode::from_u16(s).ok())?;
        let mut resp = Response::new(B::default());
        *resp.status_mut() = status;
        self.write_new_headers_with(request, known, resp.headers_mut());
        if let Some(r) = self.refusal_reason() {
            // Every reason code is a valid value: checked at compile time in eval.rs.
            resp.headers_mut()
                .insert(REASON_HEADER, HeaderValue::from_static(r));
        }
        Some(resp)
    }

    /// Applies the decision to a response's headers: for a decision that reaches the
    /// application, [`ActualHeaders::apply_once`]; for one the runtime answers itself, the
    /// headers of [`Decision::preflight_response`].
    pub fn apply_to_headers(&self, request: &HeaderMap, response: &mut HeaderMap) {
        match self.actual_response_headers(request) {
            Some(h) => h.apply_once(response),
            None => self.write_new_headers(request, response),
        }
    }
}

impl Policy {
    /// Decides on request parts (framework-free entry point). The target's authority stands in
    /// for a missing `Host` (HTTP/2).
    pub fn decide_parts<'a>(&'a self, parts: &'a http::request::Parts) -> Decision<'a> {
        self.decide_with_authority(
            parts.method.as_str(),
            parts.uri.path(),
            parts.uri.authority().map(http::uri::Authority::as_str),
            &parts.headers,
        )
    }

    /// The token policy of the csrf block in `guards`, if it has a `token` line.
    pub fn csrf_token_policy(&self, guards: Guards) -> Option<&crate::token::TokenPolicy> {
        guards
            .csrf
            .and_then(|i| self.csrf.get(i as usize))
            .and_then(|c| c.token.as_ref())
    }

    /// The token policy a decision's token outcome was checked against.
    pub fn token_policy_of(&self, t: &TokenOutcome<'_>) -> Option<&crate::token::TokenPolicy> {
        self.csrf
            .get(t.csrf as usize)
            .and_then(|c| c.token.as_ref())
    }

    /// Whether any route's csrf policy signs tokens, so the layer needs
    /// [`crate::Layer::csrf_secret`]. Call it at start-up to fail fast.
    pub fn needs_csrf_secret(&self) -> bool {
        self.csrf.iter().any(|c| c.token.is_some())
    }

    /// Whether the route's CSP (or, for a path with two readings, either route's) needs a
    /// fresh nonce for each response.
    pub fn needs_nonce(&self, guards: Guards, normalised: Option<Guards>) -> bool {
        let nonce = |g: Guards| {
            g.csp
                .and_then(|i| self.csp.get(i as usize))
                .is_some_and(|c| c.has_nonce())
        };
        nonce(guards) || normalised.is_some_and(nonce)
    }

    /// Calls `f` with each header a route's CSP and security-header policies set, in order:
    /// the header set's headers, then the CSP and `Reporting-Endpoints`; the one list the
    /// tower layer ([`Policy::apply_guard_headers`]), `guestlist explain` and the emitters
    /// read. For a path with two readings (`normalised`: the normalised reading's route's
    /// guards, when they differ), the header set is the as-sent route's, with
    /// Strict-Transport-Security, X-Frame-Options, Cross-Origin-Opener-Policy and
    /// Cross-Origin-Resource-Policy taking the stricter value where both routes set one, and
    /// both routes' CSPs are sent (`append`: a line after one of the same name).
    pub fn for_each_guard_header<'p>(
        &'p self,
        guards: Guards,
        normalised: Option<Guards>,
        mut f: impl FnMut(GuardHeader<'p>),
    ) {
        let set = |g: Guards| g.headers.and_then(|i| self.header_sets.get(i as usize));
        let csp = |g: Guards| g.csp.and_then(|i| self.csp.get(i as usize));
        let other_set = normalised.and_then(set);
        if let Some(s) = set(guards) {
            for (name, value) in s.set.iter() {
                let value = match other_set.and_then(|o| o.value(name)) {
                    Some(other) => stricter(name, value, other),
                    None => value,
                };
                f(GuardHeader {
                    name: name.clone(),
                    value: GuardValue::Fixed(value),
                    append: false,
                });
            }
        }
        let first = csp(guards);
        let second = normalised.filter(|g| g.csp != guards.csp).and_then(csp);
        for (c, after) in [(first, None), (second, first)] {
            let Some(c) = c else { continue };
            f(GuardHeader {
                name: c.header_name(),
                value: GuardValue::Csp(c),
                append: after.is_some_and(|a| a.header_name() == c.header_name()),
            });
            if let Some(v) = c.reporting_endpoints.as_ref() {
                f(GuardHeader {
                    name: HttpName::from_static("reporting-endpoints"),
                    value: GuardValue::Fixed(v),
                    append: after.is_some_and(|a| a.reporting_endpoints.is_some()),
                });
            }
        }
    }

    /// [`Policy::for_each_guard_header`] of one route, collected (explain, the emitters).
    pub fn guard_headers(&self, guards: Guards) -> Vec<(HttpName, GuardValue<'_>)> {
        let mut out = Vec::new();
        self.for_each_guard_header(guards, None, |h| out.push((h.name, h.value)));
        out
    }

    /// Applies a route's CSP and security headers to a response: removes the header set's
    /// `remove` names, then sets (replacing the application's) each of
    /// [`Policy::for_each_guard_header`], the CSP with `nonce` in it. A nonce CSP without a
    /// nonce is not sent: the caller decides (the tower layer always has one).
    pub fn apply_guard_headers(
        &self,
        guards: Guards,
        normalised: Option<Guards>,
        nonce: Option<&CspNonce>,
        map: &mut HeaderMap,
    ) {
        if let Some(set) = guards
            .headers
            .and_then(|i| self.header_sets.get(i as usize))
        {
            for name in set.remove.iter() {
                map.remove(name);
            }
        }
        self.for_each_guard_header(guards, normalised, |h| {
            let value = match h.value {
                GuardValue::Fixed(v) => Some(v.clone()),
                GuardValue::Csp(c) => c.value_with(nonce),
            };
            if let Some(v) = value {
                if h.append {
                    map.append(h.name, v);
                } else {
                    map.insert(h.name, v);
                }
            }
        });
    }
}

/// One of [`Policy::for_each_guard_header`].
#[derive(Debug, Clone)]
pub struct GuardHeader<'a> {
    /// The header's name.
    pub name: HttpName,
    /// Its value.
    pub value: GuardValue<'a>,
    /// Appended after a line of the same name the list already gave (a second CSP); every
    /// other header replaces the application's.
    pub append: bool,
}

/// The stricter of two routes' values of a security header whose values are ordered (spec:
/// "Path forms"); `a` (the as-sent route's) for every other header and on a tie.
fn stricter<'v>(name: &HttpName, a: &'v HeaderValue, b: &'v HeaderValue) -> &'v HeaderValue {
    fn token(v: &HeaderValue) -> &[u8] {
        let v = v.as_bytes();
        v.split(|&c| c == b';').next().unwrap_or(v).trim_ascii()
    }
    fn rank(order: &[&[u8]], v: &HeaderValue) -> usize {
        let t = token(v);
        order
            .iter()
            .position(|o| o.eq_ignore_ascii_case(t))
            .unwrap_or(0)
    }
    // Each list from the loosest to the strictest.
    let (ra, rb) = match name.as_str() {
        "strict-transport-security" => (hsts_rank(a), hsts_rank(b)),
        "x-frame-options" => {
            let order: &[&[u8]] = &[b"", b"SAMEORIGIN", b"DENY"];
            ((rank(order, a), 0, 0), (rank(order, b), 0, 0))
        }
        "cross-origin-opener-policy" => {
            let order: &[&[u8]] = &[
                b"unsafe-none",
                b"noopener-allow-popups",
                b"same-origin-allow-popups",
                b"same-origin",
            ];
            ((rank(order, a), 0, 0), (rank(order, b), 0, 0))
        }
        "cross-origin-resource-policy" => {
            let order: &[&[u8]] = &[b"cross-origin", b"same-site", b"same-origin"];
            ((rank(order, a), 0, 0), (rank(order, b), 0, 0))
        }
        _ => return a,
    };
    if rb > ra {
        b
    } else {
        a
    }
}

/// Strict-Transport-Security, ordered: the longer max-age, then `includeSubDomains`, then
/// `preload`.
fn hsts_rank(v: &HeaderValue) -> (usize, usize, usize) {
    let (mut age, mut sub, mut preload) = (0usize, 0, 0);
    for d in v.as_bytes().split(|&c| c == b';') {
        let d = d.trim_ascii();
        if d.eq_ignore_ascii_case(b"includeSubDomains") {
            sub = 1;
        } else if d.eq_ignore_ascii_case(b"preload") {
            preload = 1;
        } else if d
            .get(..8)
            .is_some_and(|k| k.eq_ignore_ascii_case(b"max-age="))
        {
            age = std::str::from_utf8(d.get(8..).unwrap_or_default())
                .ok()
                .and_then(|s| s.trim_matches('"').parse().ok())
                .unwrap_or(0);
        }
    }
    (age, sub, preload)
}

#[cfg(test)]
mod tests {
    use crate::{CorsSpec, Policy, RouteSpec};
    use http::{HeaderMap, Request};

    /// The stricter of two values of each ordered security header, either way round, with
    /// the as-sent route's value on a tie and for every other header.
    #[test]
    fn the_stricter_security_header_value_wins() {
        let cases = [
            ("x-frame-options", "SAMEORIGIN", "DENY", "DENY"),
            ("x-frame-options", "DENY", "DENY", "DENY"),
            (
                "cross-origin-opener-policy",
                "same-origin-allow-popups",
                "same-origin",
                "same-origin",
            ),
            (
                "cross-origin-opener-policy",
                "unsafe-none",
                "noopener-allow-popups",
                "noopener-allow-popups",
            ),
            (
                "cross-origin-opener-policy",
                "noopener-allow-popups",
                "same-origin-allow-popups",
                "same-origin-allow-popups",
            ),
            (
                "cross-origin-resource-policy",
                "cross-origin",
                "same-site",
                "same-site",
            ),
            (
                "cross-origin-resource-policy",
                "same-site",
                "same-origin",
                "same-origin",
            ),
            (
                "strict-transport-security",
                "max-age=600",
                "max-age=31536000; includeSubDomains",
                "max-age=31536000; includeSubDomains",
            ),
            (
                "strict-transport-security",
                "max-age=600",
                "max-age=600; includeSubDomains",
                "max-age=600; includeSubDomains",
            ),
            (
                "strict-transport-security",
                "max-age=600; includeSubDomains",
                "max-age=600; includeSubDomains; preload",
                "max-age=600; includeSubDomains; preload",
            ),
        ];
        for (name, a, b, want) in cases {
            let name = super::HttpName::from_static(name);
            let (a, b) = (
                super::HeaderValue::from_static(a),
                super::HeaderValue::from_static(b),
            );
            assert_eq!(super::stricter(&name, &a, &b), want, "{name}: {a:?} {b:?}");
            assert_eq!(super::stricter(&name, &b, &a), want, "{name}: {b:?} {a:?}");
        }
        // Headers without an order keep the as-sent route's value.
        let name = super::HttpName::from_static("referrer-policy");
        let (a, b) = (
            super::HeaderValue::from_static("no-referrer"),
            super::HeaderValue::from_static("origin"),
        );
        assert_eq!(super::stricter(&name, &a, &b), "no-referrer");
    }

    /// A policy of one route, `/*`, with `cors`.
    fn one_route(cors: CorsSpec) -> Policy {
        Policy::build(
            vec![RouteSpec {
                pattern: "/*".into(),
                cors: Some(0),
                ..Default::default()
            }],
            vec![cors],
        )
        .unwrap()
    }

    /// A one-route policy that allows `https://a.test`, and a GET from it.
    fn allowed_get() -> (Policy, http::request::Parts) {
        let p = one_route(CorsSpec {
            name: "a".into(),
            origins: vec!["https://a.test".into()],
            ..Default::default()
        });
        let (parts, ()) = Request::get("/x")
            .header("origin", "https://a.test")
            .body(())
            .unwrap()
            .into_parts();
        (p, parts)
    }

    /// Every fixed value converts, to the text `FixedValue::as_str` gives (two listings of the
    /// same three values, checked against each other).
    #[test]
    fn fixed_values_convert_to_their_text() {
        use crate::FixedValue;
        for v in [FixedValue::Star, FixedValue::True, FixedValue::Origin] {
            assert_eq!(super::fixed(v).to_str().unwrap(), v.as_str(), "{v:?}");
        }
    }

    #[test]
    fn replaces_app_cors_headers_and_appends_vary() {
        let (p, parts) = allowed_get();
        let d = p.decide_parts(&parts);
        let mut resp = HeaderMap::new();
        resp.insert("access-control-allow-origin", "*".parse().unwrap());
        resp.append(
            "access-control-allow-origin",
            "https://evil.test".parse().unwrap(),
        );
        resp.insert("access-control-allow-methods", "DELETE".parse().unwrap());
        resp.insert("vary", "Accept-Encoding".parse().unwrap());
        d.apply_to_headers(&parts.headers, &mut resp);
        let acao: Vec<_> = resp.get_all("access-control-allow-origin").iter().collect();
        assert_eq!(acao, ["https://a.test"]);
        assert!(resp.get("access-control-allow-methods").is_none());
        let vary: Vec<_> = resp.get_all("vary").iter().collect();
        assert_eq!(vary, ["Accept-Encoding", "Origin"]);
        // Applying twice (two layers) never duplicates anything.
        d.apply_to_headers(&parts.headers, &mut resp);
        assert_eq!(resp.get_all("vary").iter().count(), 2);
        assert_eq!(
            resp.get_all("access-control-allow-origin").iter().count(),
            1
        );
    }

    /// The lines of each header name that starts with `prefix`, by name.
    fn lines_of(m: &HeaderMap, prefix: &str) -> Vec<(String, Vec<Vec<u8>>)> {
        let mut v: Vec<_> = m
            .keys()
            .filter(|k| k.as_str().starts_with(prefix))
            .map(|k| {
                let vals = m.get_all(k).iter().map(|x| x.as_bytes().to_vec()).collect();
                (k.as_str().to_string(), vals)
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn app_headers_are_scanned_in_one_pass() {
        let (p, parts) = allowed_get();
        let d = p.decide_parts(&parts);
        // The application's headers, then the Vary lines and Access-Control-* names after.
        type Case = (
            &'static [(&'static str, &'static str)],
            &'static [&'static str],
            &'static [&'static str],
        );
        let cases: [Case; 7] = [
            (
                &[("content-type", "text/plain")],
                &["Origin"],
                &["access-control-allow-origin"],
            ),
            (
                &[("vary", "accept-encoding"), ("vary", "x, ORIGIN")],
                &["accept-encoding", "x, ORIGIN"],
                &["access-control-allow-origin"],
            ),
            (
                &[("vary", "Origin"), ("vary", "accept-encoding")],
                &["Origin", "accept-encoding"],
                &["access-control-allow-origin"],
            ),
            (&[("vary", "*")], &["*"], &["access-control-allow-origin"]),
            (
                &[("vary", "origins"), ("content-type", "text/plain")],
                &["origins", "Origin"],
                &["access-control-allow-origin"],
            ),
            (
                &[
                    ("content-type", "text/plain"),
                    ("access-control-expose-headers", "x-secret"),
                    ("access-control-max-age", "9"),
                ],
                &["Origin"],
                &["access-control-allow-origin"],
            ),
            (
                &[
                    ("access-control-allow-credentials", "true"),
                    ("x-other", "1"),
                ],
                &["Origin"],
                &["access-control-allow-origin"],
            ),
        ];
        // The Access-Control-* lines of an empty response, to which the application's own
        // must give way: each name once, with the same values.
        let cors_lines = |m: &HeaderMap| lines_of(m, "access-control-");
        let mut fresh = HeaderMap::new();
        d.apply_to_headers(&parts.headers, &mut fresh);
        let expected = cors_lines(&fresh);
        assert_eq!(expected.len(), 1);
        for (app, vary, cors) in cases {
            let mut resp = HeaderMap::new();
            for (n, v) in app {
                resp.append(
                    http::header::HeaderName::from_static(n),
                    http::HeaderValue::from_static(v),
                );
            }
            d.apply_to_headers(&parts.headers, &mut resp);
            let got: Vec<_> = resp.get_all(http::header::VARY).iter().collect();
            assert_eq!(got, vary, "{app:?}");
            let mut names: Vec<_> = resp
                .keys()
                .map(|k| k.as_str())
                .filter(|k| k.starts_with("access-control-"))
                .collect();
            names.sort_unstable();
            assert_eq!(names, cors, "{app:?}");
            assert_eq!(cors_lines(&resp), expected, "{app:?}");
            // The application's other headers stay.
            for (n, v) in app
                .iter()
                .filter(|(n, _)| !n.starts_with("access-control-"))
            {
                assert!(resp.get_all(*n).iter().any(|x| x == v), "{app:?}: {n}");
            }
        }
    }

    #[test]
    fn preflight_response_is_built() {
        let p = one_route(CorsSpec {
            name: "a".into(),
            origins: vec!["https://a.test".into()],
            credentials: true,
            any_header: true,
            max_age: Some(60),
            ..Default::default()
        });
        let (parts, ()) = Request::options("/x")
            .header("origin", "https://a.test")
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "x-a")
            .header("access-control-request-headers", "x-b, x-c")
            .body(())
            .unwrap()
            .into_parts();
        let d = p.decide_parts(&parts);
        // PUT is not allowed: refused.
        let resp: http::Response<()> = d.preflight_response(&parts.headers).unwrap();
        assert_eq!(resp.status(), 403);
        assert!(resp.headers().get("access-control-allow-origin").is_none());
        assert_eq!(resp.headers()["vary"], "Origin");
        let (parts, ()) = Request::options("/x")
            .header("origin", "https://a.test")
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-a")
            .header("access-control-request-headers", "x-b, x-c")
            .body(())
            .unwrap()
            .into_parts();
        let d = p.decide_parts(&parts);
        let resp: http::Response<()> = d.preflight_response(&parts.headers).unwrap();
        assert_eq!(resp.status(), 204);
        let acah: Vec<_> = resp
            .headers()
            .get_all("access-control-allow-headers")
            .iter()
            .collect();
        assert_eq!(acah, ["x-a", "x-b, x-c"]);
        assert_eq!(resp.headers()["access-control-allow-methods"], "POST");
        assert_eq!(resp.headers()["access-control-max-age"], "60");
    }

    /// A preflight's headers written into a map that already has some replace its lines of
    /// the same names (and keep its `Vary`), as in a fresh map: each name once, same values.
    #[test]
    fn preflight_headers_replace_the_maps_own_lines() {
        let p = one_route(CorsSpec {
            name: "a".into(),
            origins: vec!["https://a.test".into()],
            credentials: true,
            methods: vec!["PUT".into()],
            headers: vec!["x-a".into(), "x-b".into()],
            max_age: Some(60),
            ..Default::default()
        });
        let (parts, ()) = Request::builder()
            .method("OPTIONS")
            .uri("/x")
            .header("origin", "https://a.test")
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "x-a,x-b")
            .body(())
            .unwrap()
            .into_parts();
        let d = p.decide_parts(&parts);
        assert_eq!(d.status(), Some(204));
        let lines = |m: &HeaderMap| lines_of(m, "");
        let mut fresh = HeaderMap::new();
        d.write_new_headers(&parts.headers, &mut fresh);
        assert_eq!(fresh.keys_len(), 6, "{fresh:?}");
        let mut used = HeaderMap::new();
        for (n, v) in [
            ("access-control-allow-origin", "*"),
            ("access-control-allow-origin", "https://evil.test"),
            ("access-control-allow-methods", "DELETE"),
            ("access-control-max-age", "1"),
            ("vary", "accept-encoding"),
            ("x-app", "1"),
        ] {
            used.append(
                http::header::HeaderName::from_static(n),
                http::HeaderValue::from_static(v),
            );
        }
        d.write_new_headers(&parts.headers, &mut used);
        let mut expected = lines(&fresh);
        for e in &mut expected {
            if e.0 == "vary" {
                e.1.insert(0, b"accept-encoding".to_vec());
            }
        }
        expected.push(("x-app".into(), vec![b"1".to_vec()]));
        expected.sort();
        assert_eq!(lines(&used), expected);
    }

    /// A decision writes at most six header names (what an empty `HeaderMap`'s first table
    /// holds, so `write_new_headers` reserves nothing for a fresh map).
    #[test]
    fn a_decision_writes_at_most_six_header_names() {
        let p = one_route(CorsSpec {
            name: "a".into(),
            origins: vec!["https://a.test".into()],
            credentials: true,
            methods: vec!["PUT".into()],
            any_header: true,
            expose: vec!["x-a".into()],
            max_age: Some(60),
            ..Default::default()
        });
        let mut widest = 0;
        for (method, acrm) in [
            ("GET", None),
            ("OPTIONS", Some("PUT")),
            ("OPTIONS", Some("X")),
        ] {
            let mut b = Request::builder()
                .method(method)
                .uri("/x")
                .header("origin", "https://a.test");
            if let Some(m) = acrm {
                b = b.header("access-control-request-method", m);
                for line in ["x-a", "x-b", "x-c", "x-d", "x-e", "x-f", "x-g", "x-h"] {
                    b = b.header("access-control-request-headers", line);
                }
            }
            let (parts, ()) = b.body(()).unwrap().into_parts();
            let d = p.decide_parts(&parts);
            let mut map = HeaderMap::new();
            d.write_new_headers(&parts.headers, &mut map);
            assert!(
                map.keys_len() <= 6,
                "{method}: {:?}",
                map.keys().collect::<Vec<_>>()
            );
            widest = widest.max(map.len());
        }
        // The eight echoed Allow-Headers lines were written.
        assert!(widest >= 12, "{widest}");
    }

    /// The layer's fast path gives, request by request, the headers the general path gives
    /// (`decide_full` then `actual_response_headers`), and is taken for the common requests.
    #[cfg(feature = "tower")]
    #[test]
    fn the_common_path_agrees_with_the_general_path() {
        use super::ActualHeaders;
        use crate::{HeaderSetSpec, PolicySpec};
        let cors = |name: &str, any: bool, credentials: bool, expose: bool| CorsSpec {
            name: name.into(),
            any_origin: any,
            origins: if any {
                vec![]
            } else {
                vec!["https://a.test".into(), "http://localhost:3000".into()]
            },
            patterns: if any {
                vec![]
            } else {
                vec!["https://*.b.test".into(), "http://dev.test:*".into()]
            },
            credentials,
            expose: if expose {
                vec!["x-request-id".into()]
            } else {
                vec![]
            },
            ..Default::default()
        };
        let route = |pattern: &str, cors: Option<usize>, headers: Option<usize>| RouteSpec {
            pattern: pattern.into(),
            cors,
            headers,
            ..Default::default()
        };
        let policies = [
            // One route: the shape the benchmarks measure.
            PolicySpec {
                routes: vec![route("/*", Some(0), None)],
                cors: vec![cors("a", false, true, true)],
                ..Default::default()
            },
            // Exact and prefix routes, `*` with and without exposed headers, a route without
            // CORS and one with a header set (a guard: the general path's).
            PolicySpec {
                routes: vec![
                    route("/api/*", Some(0), None),
                    route("/public/*", Some(1), None),
                    route("/public/x", Some(2), None),
                    route("/static/*", None, None),
                    route("/admin/*", Some(0), Some(0)),
                    route("/x", Some(3), None),
                ],
                cors: vec![
                    cors("a", false, true, true),
                    cors("any", true, false, true),
                    cors("any-bare", true, false, false),
                    cors("plain", false, false, false),
                ],
                headers: vec![HeaderSetSpec {
                    name: "h".into(),
                    set: vec![("x-frame-options".into(), "DENY".into())],
                    remove: vec![],
                }],
                ..Default::default()
            },
        ];
        let methods = [
            "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "FOO",
        ];
        let paths = [
            "/",
            "/api",
            "/api/",
            "/api/v1/users/123",
            "/api/v1/users/123?x=/y",
            "/api//v1",
            "/api/./v1",
            "/api/%2e%2e/public/x",
            "/public/x",
            "/public/x/",
            "/public/y",
            "/static/app.js",
            "/admin/x",
            "/x",
            "/x/",
            "/.well-known/x",
        ];
        let origins: [&[&str]; 10] = [
            &[],
            &["https://a.test"],
            &["http://localhost:3000"],
            &["https://x.b.test"],
            &["http://dev.test:8080"],
            &["https://evil.test"],
            &["https://A.test"],
            &["null"],
            &["https://a.test", "https://a.test"],
            &["https://evil.test", "https://a.test"],
        ];
        let mut taken = 0;
        for spec in policies {
            let p = Policy::from_spec(spec).unwrap();
            for method in methods {
                for path in paths {
                    for list in origins {
                        for preflight in [false, true] {
                            let mut b = Request::builder().method(method).uri(path);
                            for o in list {
                                b = b.header("origin", *o);
                            }
                            if preflight {
                                b = b.header("access-control-request-method", "PUT");
                            }
                            let (parts, ()) = b.body(()).unwrap().into_parts();
                            let origins = crate::headers::origin_lines(&parts.headers);
                            let Some(fast) = p.decide_common(
                                parts.method == http::Method::OPTIONS,
                                parts.uri.path(),
                                origins,
                            ) else {
                                continue;
                            };
                            taken += 1;
                            let d = p.decide_parts(&parts);
                            assert!(d.reaches_app() && d.guards == crate::Guards::NONE);
                            let general = d.actual_response_headers(&parts.headers);
                            let what = format!("{method} {path} {list:?} {preflight}");
                            let fast = ActualHeaders::common(fast);
                            assert_eq!(Some(fast), general, "{what}");
                        }
                    }
                }
            }
        }
        // Taken for most requests (the test would pass vacuously otherwise): non-OPTIONS
        // requests on CORS-only routes.
        assert!(taken > 1_000, "{taken}");
    }
}
