//! THE evaluator: request -> [`Decision`]. Every consumer (tower layer, `guestlist explain`,
//! `guestlist test`, the conformance corpus) decides through [`Policy::decide`]; nothing else
//! implements the semantics. Normative text: `spec/language.md`, "Runtime semantics".
//!
//! A decision allocates nothing: header values are either `&'static`/table strings or slices of
//! the request's own header values, held in a fixed-capacity list.

use crate::guards::{origin_authority, Csrf, WebSocket};
use crate::headers::{
    is_token, names_a_header, HeaderLookup, NameList, RequestHeader, MAX_ACRH_BYTES,
    MAX_ACRH_LINES, MAX_ACRH_NAMES,
};
use crate::keyset::{KeySet, PatternSet};
use crate::path::{already_normal, read_path, PathBuffers, PathError, PathForm};
use crate::policy::{Cors, Guards, NonNormalPaths, Policy};
use crate::token::{
    check_submitted, cookie, form_field, verify as verify_token, CsrfSecret, FormBody, TokenPolicy,
    TOKEN_LEN,
};

/// What kind of request this was and what the runtime does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// No CORS policy applies, or the request has no `Origin`: it reaches the application.
    NotCors,
    /// A CORS request from an allowed origin: it reaches the application, CORS headers added.
    ActualAllowed,
    /// A CORS request from an origin that is not allowed: it reaches the application, no CORS
    /// headers (the browser will not let the page read the response).
    ActualNotAllowed,
    /// A preflight the runtime answers itself with 204 and the CORS headers.
    PreflightOk,
    /// A preflight the runtime refuses with 403 and no `Access-Control-*` headers.
    PreflightRejected,
    /// A cross-origin request with an unsafe method that the route's `csrf` policy refuses:
    /// 403 before the application runs.
    CsrfRejected,
    /// A WebSocket handshake from an allowed origin: it reaches the application.
    WebsocketAllowed,
    /// A WebSocket handshake the route's `websocket` policy refuses: 403.
    WebsocketRejected,
    /// A path that cannot be read, or (by default) one with dot segments: 400 before any
    /// route is chosen (spec/language.md, "Path forms").
    PathRejected,
}

impl Kind {
    /// The stable name used by `explain --format json` and `test` blocks.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NotCors => "not-cors",
            Kind::ActualAllowed => "actual-allowed",
            Kind::ActualNotAllowed => "actual-not-allowed",
            Kind::PreflightOk => "preflight-ok",
            Kind::PreflightRejected => "preflight-rejected",
            Kind::CsrfRejected => "csrf-rejected",
            Kind::WebsocketAllowed => "websocket-allowed",
            Kind::WebsocketRejected => "websocket-rejected",
            Kind::PathRejected => "path-rejected",
        }
    }

    /// Parses [`Kind::as_str`] names.
    pub fn from_name(s: &str) -> Option<Kind> {
        Some(match s {
            "not-cors" => Kind::NotCors,
            "actual-allowed" => Kind::ActualAllowed,
            "actual-not-allowed" => Kind::ActualNotAllowed,
            "preflight-ok" => Kind::PreflightOk,
            "preflight-rejected" => Kind::PreflightRejected,
            "csrf-rejected" => Kind::CsrfRejected,
            "websocket-allowed" => Kind::WebsocketAllowed,
            "websocket-rejected" => Kind::WebsocketRejected,
            "path-rejected" => Kind::PathRejected,
            _ => return None,
        })
    }

    /// All kinds, in documentation order.
    pub const ALL: [Kind; 9] = [
        Kind::NotCors,
        Kind::ActualAllowed,
        Kind::ActualNotAllowed,
        Kind::PreflightOk,
        Kind::PreflightRejected,
        Kind::CsrfRejected,
        Kind::WebsocketAllowed,
        Kind::WebsocketRejected,
        Kind::PathRejected,
    ];
}

/// Why the decision came out as it did. Codes are stable (`explain --format json`); every
/// one is listed in spec/language.md, section 7b, and in [`Reason::ALL`].
///
/// `Display` writes the description and the code, `the origin is not allowed by the policy
/// (origin-not-allowed)`: words for whoever reads a log or an error page, and the stable code
/// to search for. [`Reason::code`] alone is the machine-readable form. A refusal returned by
/// [`CsrfToken::verify_submitted`](crate::CsrfToken::verify_submitted) is an error, so `?`
/// works on it:
///
/// ```
/// fn save(token: &guestlist::CsrfToken, field: &str) -> Result<(), Box<dyn std::error::Error>> {
///     token.verify_submitted(field)?;
///     Ok(())
/// }
/// # let _ = save;
/// assert_eq!(
///     guestlist::Reason::CsrfTokenMismatch.to_string(),
///     "the CSRF token (header or form field) differs from the cookie, or is repeated (csrf-token-mismatch)"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No route matches the path.
    NoRoute,
    /// The path cannot be read (an invalid escape, `%00`, `..` above the root, too long, not
    /// absolute): refused with 400 when the policy has a route.
    PathInvalid,
    /// The path has a `.` or `..` segment once fully decoded, or a `\` (raw or `%5C`): refused
    /// with 400 unless the policy says `paths { non-normal two-readings }`.
    PathNotNormal,
    /// The path reads as two routes (as sent and normalised), and the other reading's route
    /// has no cors policy, so the request is not allowed.
    ReadingsDisagree,
    /// The route has no CORS policy.
    NoCorsPolicy,
    /// The request has no `Origin` header.
    NoOrigin,
    /// The origin is allowed (actual request).
    OriginAllowed,
    /// The origin is not allowed.
    OriginNotAllowed,
    /// More than one `Origin` field line: browsers send one; treated as not allowed.
    MultipleOrigins,
    /// `Access-Control-Request-Method` is not one token on one line.
    RequestMethodInvalid,
    /// The requested method is not allowed.
    MethodNotAllowed,
    /// `Access-Control-Request-Headers` is malformed or over the bounds.
    RequestHeadersInvalid,
    /// A requested header is not allowed.
    HeaderNotAllowed,
    /// `Authorization` was requested; it is only granted when listed by name.
    AuthorizationNotListed,
    /// The preflight passed every check.
    PreflightAllowed,
    /// CSRF: GET, HEAD and OPTIONS are never checked.
    CsrfSafeMethod,
    /// CSRF: `Sec-Fetch-Site` is `same-origin` or `none`.
    CsrfSameOrigin,
    /// CSRF: `Sec-Fetch-Site: same-site`, allowed by `same-site allow`.
    CsrfSameSite,
    /// CSRF: neither `Sec-Fetch-Site` nor `Origin`: not a browser, or a very old one.
    CsrfNoBrowserHeaders,
    /// CSRF: `Origin` is the site's own (it matches `Host`, or a `self-origins` entry).
    CsrfOwnOrigin,
    /// CSRF: `Origin` is a `trusted-origins` entry.
    CsrfTrustedOrigin,
    /// CSRF: `Origin` is allowed by the route's cors policy, so it is trusted.
    CsrfCorsOrigin,
    /// CSRF: the method and path are exempt.
    CsrfExempt,
    /// CSRF refusal: `Sec-Fetch-Site` says the request is cross-site (or same-site).
    CsrfCrossSite,
    /// CSRF refusal: no `Sec-Fetch-Site`, and `Origin` is neither the site's own nor trusted.
    CsrfOriginMismatch,
    /// CSRF refusal: neither header, and the policy says `missing-headers reject`.
    CsrfMissingHeaders,
    /// CSRF refusal: more than one `Sec-Fetch-Site` or `Origin` line.
    CsrfAmbiguousHeaders,
    /// WebSocket: the origin is allowed.
    WebsocketOriginAllowed,
    /// WebSocket: the origin's host is the request's `Host` (`allow-origins same-origin`).
    WebsocketSameOrigin,
    /// WebSocket: no `Origin`, allowed by `missing-origin allow`.
    WebsocketNoOrigin,
    /// WebSocket refusal: the origin is not allowed.
    WebsocketOriginNotAllowed,
    /// WebSocket refusal: no `Origin` header.
    WebsocketMissingOrigin,
    /// CSRF token: the header (or an urlencoded form's token field) equals the cookie and
    /// verifies for this session.
    CsrfTokenValid,
    /// CSRF token: a safe request without a valid token cookie; the layer sets a new one.
    CsrfTokenIssued,
    /// CSRF token, not yet decided: an urlencoded form post without the header; the layer
    /// reads the body and decides again with it ([`Policy::decide_form`]).
    CsrfTokenInForm,
    /// CSRF token: a form post without the header on a route whose policy says `defer-forms`;
    /// the application checks the submitted field (`CsrfToken::verify_submitted`).
    CsrfTokenDeferred,
    /// CSRF token refusal: no token header on an unsafe request, and no token field in its
    /// urlencoded form (or not a form post).
    CsrfTokenMissing,
    /// CSRF token refusal: no token cookie.
    CsrfTokenCookieMissing,
    /// CSRF token refusal: the header or form field differs from the cookie (or is repeated).
    CsrfTokenMismatch,
    /// CSRF token refusal: not a token (wrong length or characters).
    CsrfTokenMalformed,
    /// CSRF token refusal: the MAC does not verify for this session (issued for another
    /// session, tampered with, or made with a secret no longer accepted).
    CsrfTokenOtherSession,
    /// CSRF token refusal: a `multipart/form-data` or `text/plain` form post without the
    /// header, whose token the layer cannot read (unless the policy says `defer-forms`).
    CsrfTokenFormUnsupported,
    /// CSRF token refusal: an urlencoded form post without the header whose body is longer than
    /// [`FORM_BODY_LIMIT`](crate::FORM_BODY_LIMIT).
    CsrfTokenFormTooLarge,
    /// CSRF token refusal: an urlencoded form post without the header whose body is not
    /// urlencoded (a `%` not followed by two hex digits) or could not be read.
    CsrfTokenFormInvalid,
    /// CSRF token refusal: the layer has no secret (`Layer::csrf_secret`).
    CsrfTokenNoSecret,
    /// CSRF token refusal: the runtime was built without the `csrf-token` feature.
    CsrfTokenUnavailable,
}

impl Reason {
    /// The stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::NoRoute => "no-route",
            Reason::PathInvalid => "path-invalid",
            Reason::PathNotNormal => "path-not-normal",
            Reason::ReadingsDisagree => "readings-disagree",
            Reason::NoCorsPolicy => "no-cors-policy",
            Reason::NoOrigin => "no-origin",
            Reason::OriginAllowed => "origin-allowed",
            Reason::OriginNotAllowed => "origin-not-allowed",
            Reason::MultipleOrigins => "multiple-origins",
            Reason::RequestMethodInvalid => "request-method-invalid",
            Reason::MethodNotAllowed => "method-not-allowed",
            Reason::RequestHeadersInvalid => "request-headers-invalid",
            Reason::HeaderNotAllowed => "header-not-allowed",
            Reason::AuthorizationNotListed => "authorization-not-listed",
            Reason::PreflightAllowed => "preflight-allowed",
            Reason::CsrfSafeMethod => "csrf-safe-method",
            Reason::CsrfSameOrigin => "csrf-same-origin",
            Reason::CsrfSameSite => "csrf-same-site",
            Reason::CsrfNoBrowserHeaders => "csrf-no-browser-headers",
            Reason::CsrfOwnOrigin => "csrf-own-origin",
            Reason::CsrfTrustedOrigin => "csrf-trusted-origin",
            Reason::CsrfCorsOrigin => "csrf-cors-origin",
            Reason::CsrfExempt => "csrf-exempt",
            Reason::CsrfCrossSite => "csrf-cross-site",
            Reason::CsrfOriginMismatch => "csrf-origin-mismatch",
            Reason::CsrfMissingHeaders => "csrf-missing-headers",
            Reason::CsrfAmbiguousHeaders => "csrf-ambiguous-headers",
            Reason::WebsocketOriginAllowed => "websocket-origin-allowed",
            Reason::WebsocketSameOrigin => "websocket-same-origin",
            Reason::WebsocketNoOrigin => "websocket-no-origin",
            Reason::WebsocketOriginNotAllowed => "websocket-origin-not-allowed",
            Reason::WebsocketMissingOrigin => "websocket-missing-origin",
            Reason::CsrfTokenValid => "csrf-token-valid",
            Reason::CsrfTokenIssued => "csrf-token-issued",
            Reason::CsrfTokenInForm => "csrf-token-in-form",
            Reason::CsrfTokenDeferred => "csrf-token-deferred",
            Reason::CsrfTokenMissing => "csrf-token-missing",
            Reason::CsrfTokenCookieMissing => "csrf-token-cookie-missing",
            Reason::CsrfTokenMismatch => "csrf-token-mismatch",
            Reason::CsrfTokenMalformed => "csrf-token-malformed",
            Reason::CsrfTokenOtherSession => "csrf-token-other-session",
            Reason::CsrfTokenFormUnsupported => "csrf-token-form-unsupported",
            Reason::CsrfTokenFormTooLarge => "csrf-token-form-too-large",
            Reason::CsrfTokenFormInvalid => "csrf-token-form-invalid",
            Reason::CsrfTokenNoSecret => "csrf-token-no-secret",
            Reason::CsrfTokenUnavailable => "csrf-token-unavailable",
        }
    }

    /// Every reason, in the order of spec/language.md's table (section 7b), which is the
    /// declaration order; a test checks the table and this list against each other.
    pub const ALL: [Reason; 46] = [
        Reason::NoRoute,
        Reason::PathInvalid,
        Reason::PathNotNormal,
        Reason::ReadingsDisagree,
        Reason::NoCorsPolicy,
        Reason::NoOrigin,
        Reason::OriginAllowed,
        Reason::OriginNotAllowed,
        Reason::MultipleOrigins,
        Reason::RequestMethodInvalid,
        Reason::MethodNotAllowed,
        Reason::RequestHeadersInvalid,
        Reason::HeaderNotAllowed,
        Reason::AuthorizationNotListed,
        Reason::PreflightAllowed,
        Reason::CsrfSafeMethod,
        Reason::CsrfSameOrigin,
        Reason::CsrfSameSite,
        Reason::CsrfNoBrowserHeaders,
        Reason::CsrfOwnOrigin,
        Reason::CsrfTrustedOrigin,
        Reason::CsrfCorsOrigin,
        Reason::CsrfExempt,
        Reason::CsrfCrossSite,
        Reason::CsrfOriginMismatch,
        Reason::CsrfMissingHeaders,
        Reason::CsrfAmbiguousHeaders,
        Reason::WebsocketOriginAllowed,
        Reason::WebsocketSameOrigin,
        Reason::WebsocketNoOrigin,
        Reason::WebsocketOriginNotAllowed,
        Reason::WebsocketMissingOrigin,
        Reason::CsrfTokenValid,
        Reason::CsrfTokenIssued,
        Reason::CsrfTokenInForm,
        Reason::CsrfTokenDeferred,
        Reason::CsrfTokenMissing,
        Reason::CsrfTokenCookieMissing,
        Reason::CsrfTokenMismatch,
        Reason::CsrfTokenMalformed,
        Reason::CsrfTokenOtherSession,
        Reason::CsrfTokenFormUnsupported,
        Reason::CsrfTokenFormTooLarge,
        Reason::CsrfTokenFormInvalid,
        Reason::CsrfTokenNoSecret,
        Reason::CsrfTokenUnavailable,
    ];

    /// The reason whose [`Reason::code`] is `code`.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }

    /// A one-line human explanation.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::NoRoute => "no route matches the path, so no policy applies",
            Reason::PathInvalid => "the path cannot be read (an invalid escape, %00, `..` above the root, or too long): refused with 400",
            Reason::PathNotNormal => "the path has a `.` or `..` segment (or a backslash) once decoded, which browsers never send: refused with 400",
            Reason::ReadingsDisagree => "the path reads as two routes (as sent and normalised), and one of them has no cors policy: not allowed",
            Reason::NoCorsPolicy => "the route has no cors policy",
            Reason::NoOrigin => "the request has no Origin header, so it is not a CORS request",
            Reason::OriginAllowed => "the origin is allowed",
            Reason::OriginNotAllowed => "the origin is not allowed by the policy",
            Reason::MultipleOrigins => "the request has more than one Origin header",
            Reason::RequestMethodInvalid => {
                "Access-Control-Request-Method is not a single method token"
            }
            Reason::MethodNotAllowed => "the requested method is not allowed",
            Reason::RequestHeadersInvalid => {
                "Access-Control-Request-Headers is malformed or too long"
            }
            Reason::HeaderNotAllowed => "a requested header is not allowed",
            Reason::AuthorizationNotListed => {
                "Authorization was requested, and it is only allowed when listed by name (`*` never covers it)"
            }
            Reason::PreflightAllowed => "origin, method and headers are all allowed",
            Reason::CsrfSafeMethod => "GET, HEAD and OPTIONS are not checked for CSRF",
            Reason::CsrfSameOrigin => "Sec-Fetch-Site says the request comes from the site itself (same-origin or none)",
            Reason::CsrfSameSite => "Sec-Fetch-Site says same-site, and the csrf policy allows same-site requests",
            Reason::CsrfNoBrowserHeaders => "neither Sec-Fetch-Site nor Origin: not a browser, or a very old one",
            Reason::CsrfOwnOrigin => "Origin is the site's own origin",
            Reason::CsrfTrustedOrigin => "Origin is a trusted origin of the csrf policy",
            Reason::CsrfCorsOrigin => "Origin is allowed by the route's cors policy, so the csrf check trusts it",
            Reason::CsrfExempt => "the method and path are exempt from the csrf check",
            Reason::CsrfCrossSite => "Sec-Fetch-Site says the request comes from another site",
            Reason::CsrfOriginMismatch => "no Sec-Fetch-Site, and Origin is neither the site's own nor trusted",
            Reason::CsrfMissingHeaders => "neither Sec-Fetch-Site nor Origin, and the csrf policy refuses such requests",
            Reason::CsrfAmbiguousHeaders => "more than one Sec-Fetch-Site or Origin header",
            Reason::WebsocketOriginAllowed => "the origin may open a WebSocket",
            Reason::WebsocketSameOrigin => "the origin's host is the request's Host",
            Reason::WebsocketNoOrigin => "no Origin (not a browser), and the websocket policy allows that",
            Reason::WebsocketOriginNotAllowed => "the origin may not open a WebSocket",
            Reason::WebsocketMissingOrigin => "a WebSocket handshake without Origin is refused",
            Reason::CsrfTokenValid => "the CSRF token (header or form field) equals the cookie and verifies for this session",
            Reason::CsrfTokenIssued => "no valid CSRF token cookie for this session: a new one is set",
            Reason::CsrfTokenInForm => "an urlencoded form post without the token header: the layer reads the body and checks its token field before the application runs",
            Reason::CsrfTokenDeferred => "a form post without the token header, deferred by `defer-forms`: the application checks the submitted field",
            Reason::CsrfTokenMissing => "the request has no CSRF token header (nor, in an urlencoded form, a token field)",
            Reason::CsrfTokenCookieMissing => "the request has no CSRF token cookie",
            Reason::CsrfTokenMismatch => "the CSRF token (header or form field) differs from the cookie, or is repeated",
            Reason::CsrfTokenMalformed => "the CSRF token is not a token (wrong length or characters)",
            Reason::CsrfTokenOtherSession => "the CSRF token was not issued for this session (or was forged)",
            Reason::CsrfTokenFormUnsupported => "a multipart or text/plain form post without the token header: the layer only reads the token field of an urlencoded form (`defer-forms` hands such posts to the application)",
            Reason::CsrfTokenFormTooLarge => "an urlencoded form post without the token header whose body is over the 64 KiB the layer reads",
            Reason::CsrfTokenFormInvalid => "an urlencoded form post without the token header whose body is not urlencoded (a malformed %-escape) or could not be read",
            Reason::CsrfTokenNoSecret => "no CSRF secret was given to the layer, so no token can verify",
            Reason::CsrfTokenUnavailable => "the runtime was built without the csrf-token feature",
        }
    }
}

impl std::fmt::Display for Reason {
    /// The description, then the code in parentheses (see [`Reason`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.describe(), self.code())
    }
}

impl std::error::Error for Reason {}

// Every code is a valid header value (it is sent in `Guestlist-Reason` with
// `HeaderValue::from_static`, which panics on anything else): checked when the crate compiles.
const _: () = {
    let mut i = 0;
    while i < Reason::ALL.len() {
        #[expect(
            clippy::indexing_slicing,
            reason = "a const loop over the array's own indices; out of range is a compile error"
        )]
        let code = Reason::ALL[i].code();
        std::mem::forget(http::HeaderValue::from_static(code));
        i += 1;
    }
};

/// Which origin entry let the request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OriginMatch {
    /// `allow-origins *`.
    Any,
    /// Exact origin number `n` of the policy's exact set.
    Exact(u32),
    /// Pattern number `n` of the policy's pattern set.
    Pattern(u32),
}

/// A CORS response header the runtime sets: an `Access-Control-*` header or `Vary`
/// ([`CorsHeader::as_str`] gives its lowercase name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorsHeader {
    /// `Access-Control-Allow-Origin`
    AllowOrigin,
    /// `Access-Control-Allow-Credentials`
    AllowCredentials,
    /// `Access-Control-Allow-Methods`
    AllowMethods,
    /// `Access-Control-Allow-Headers`
    AllowHeaders,
    /// `Access-Control-Max-Age`
    MaxAge,
    /// `Access-Control-Expose-Headers`
    ExposeHeaders,
    /// `Vary`
    Vary,
}

impl CorsHeader {
    /// The lowercase header name.
    pub fn as_str(self) -> &'static str {
        match self {
            CorsHeader::AllowOrigin => "access-control-allow-origin",
            CorsHeader::AllowCredentials => "access-control-allow-credentials",
            CorsHeader::AllowMethods => "access-control-allow-methods",
            CorsHeader::AllowHeaders => "access-control-allow-headers",
            CorsHeader::MaxAge => "access-control-max-age",
            CorsHeader::ExposeHeaders => "access-control-expose-headers",
            CorsHeader::Vary => "vary",
        }
    }
}

/// Which request header a value is echoed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Echo {
    /// The `Origin` header.
    Origin,
    /// `Access-Control-Request-Method`.
    Method,
    /// The `n`th field line of `Access-Control-Request-Headers` that names a header.
    HeadersLine(u8),
}

/// The values the runtime writes itself, whatever the policy: a closed set, so turning one
/// into an `http::HeaderValue` cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FixedValue {
    /// `*` (Access-Control-Allow-Origin of `allow-origins *`).
    Star,
    /// `true` (Access-Control-Allow-Credentials).
    True,
    /// `Origin` (Vary).
    Origin,
}

impl FixedValue {
    /// The value's text.
    pub fn as_str(self) -> &'static str {
        match self {
            FixedValue::Star => "*",
            FixedValue::True => "true",
            FixedValue::Origin => "Origin",
        }
    }
}

/// A header value: from the policy's tables, a fixed string, or echoed from the request. The
/// tower layer turns each into an `http::HeaderValue` without allocating (table values and
/// request values are cloned, which shares their bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A precomputed value from the policy.
    Table(&'a http::HeaderValue),
    /// `*`, `true`, `Origin`.
    Fixed(FixedValue),
    /// A request header's value, echoed.
    Echo(Echo, &'a [u8]),
}

impl<'a> Value<'a> {
    /// The value's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        match *self {
            Value::Table(v) => v.as_bytes(),
            Value::Fixed(f) => f.as_str().as_bytes(),
            Value::Echo(_, b) => b,
        }
    }
}

/// One header the decision sets (`append == false`: replaces any value the application set)
/// or appends (`Vary`, which is never overwritten).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// Which header.
    pub name: CorsHeader,
    /// Its value.
    pub value: Value<'a>,
    /// Append rather than replace.
    pub append: bool,
}

const CAPACITY: usize = 8 + MAX_ACRH_LINES;
const NO_HEADER: Header<'static> = Header {
    name: CorsHeader::Vary,
    value: Value::Fixed(FixedValue::Origin),
    append: true,
};

/// What the CSRF token check found on a request it let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenOutcome<'a> {
    /// `CsrfTokenValid`, `CsrfTokenIssued`, `CsrfTokenInForm` (the body is still to be read)
    /// or `CsrfTokenDeferred`.
    pub reason: Reason,
    /// The request's token cookie.
    pub cookie: Option<&'a [u8]>,
    /// The session value the token is bound to (empty without a session cookie).
    pub session: &'a [u8],
    /// Whether the layer sets a new token cookie (none, or not valid for this session, or
    /// made with the previous secret).
    pub issue: bool,
    /// The csrf policy (index) whose `token` line was checked.
    pub csrf: u32,
}

/// The outcome of evaluating one request against a [`Policy`].
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    /// The kind of request and what the runtime does with it.
    pub kind: Kind,
    /// Why.
    pub reason: Reason,
    /// Index of the matched route.
    pub route: Option<u32>,
    /// Index of the applied CORS policy.
    pub cors: Option<u32>,
    /// The origin entry that allowed the request.
    pub origin_match: Option<OriginMatch>,
    /// For header and method refusals: the offending request value.
    pub offending: Option<&'a [u8]>,
    /// The matched route's CSP, header, CSRF and WebSocket policies.
    pub guards: Guards,
    /// Why the CSRF check let the request through, when the route has a csrf policy.
    pub csrf_reason: Option<Reason>,
    /// The CSRF token check, when the route's csrf policy has a `token` line and the request
    /// was not refused.
    pub token: Option<TokenOutcome<'a>>,
    /// When the path is not structurally normal: its normalised reading (the fields above are
    /// the as-sent reading's).
    pub readings: Option<Readings>,
    /// What the response headers are made from (see [`Decision::for_each_header`]).
    out: Out<'a>,
}

/// One of the two readings of a path that is not structurally normal (spec/language.md, "Path
/// forms").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reading {
    /// Every escape but `%2E`, `%2F` and `%5C` decoded; nothing merged or resolved: the path as
    /// a router that takes it as sent sees it.
    AsSent,
    /// Decoded, `//` merged, dot segments resolved: the path nginx's `location` sees.
    Normalised,
}

impl Reading {
    /// The stable name (`explain --format json`): `as-sent` or `normalised`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reading::AsSent => "as-sent",
            Reading::Normalised => "normalised",
        }
    }
}

/// The normalised reading of a path that is not structurally normal: its route and that
/// route's policies. The decision is no looser than either reading's (spec/language.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readings {
    /// The normalised reading's route.
    pub route: Option<u32>,
    /// Its CORS policy.
    pub cors: Option<u32>,
    /// Its CSP, header, CSRF and WebSocket policies.
    pub guards: Guards,
    /// The reading whose check refused the request, when one did (the as-sent reading's
    /// checks run first).
    pub refused_by: Option<Reading>,
}

/// The facts a decision's response headers are made from. The evaluator records these, not
/// the headers themselves: the headers follow from them and the CORS table, one function
/// ([`Decision::for_each_header`]) lists them, and the tower layer writes them straight into
/// the response without building a list first.
#[derive(Debug, Clone, Copy)]
struct Out<'a> {
    /// The applied CORS table (none: no CORS headers at all).
    cors: Option<&'a Cors>,
    /// A path's other reading's CORS table, when it differs and both allow the request: the
    /// headers take the stricter setting of the two.
    other: Option<&'a Cors>,
    /// Which headers besides `Vary`.
    shape: Shape,
    /// `Vary: Origin` is appended.
    vary: bool,
    /// The request's `Origin` (echoed in Allow-Origin). An `Option`, like every field a new
    /// decision starts without, so that a fresh decision is all zero bytes.
    origin: Option<&'a [u8]>,
    /// The preflight's `Access-Control-Request-Method` (echoed in Allow-Methods).
    method: Option<&'a [u8]>,
    /// The preflight's `Access-Control-Request-Headers` lines that name a header, echoed one by
    /// one when `allow-headers *` is literal (credentials); otherwise the table's list is sent.
    echo_lines: Option<[&'a [u8]; MAX_ACRH_LINES]>,
    /// How many of `echo_lines` are set.
    echo_len: u8,
    /// The preflight asked for at least one header (Allow-Headers is sent).
    names: bool,
}

/// The CORS headers of a decision that reaches the application: [`Decision::actual_parts`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActualParts<'a> {
    /// Access-Control-Allow-Origin.
    pub(crate) acao: Option<Value<'a>>,
    /// Access-Control-Allow-Credentials: true.
    pub(crate) acac: bool,
    /// Access-Control-Expose-Headers.
    pub(crate) aceh: Option<&'a http::HeaderValue>,
    /// `Vary: Origin`.
    pub(crate) vary: bool,
}

/// Which CORS headers (besides `Vary`) a decision sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// None.
    None,
    /// A request without `Origin` on a route whose answer never depends on it: `*` and the
    /// exposed headers.
    StaticAny,
    /// An allowed actual request: Allow-Origin, Allow-Credentials, Expose-Headers.
    Actual,
    /// An allowed preflight: Allow-Origin, Allow-Credentials, Allow-Methods, Allow-Headers,
    /// Max-Age.
    Preflight,
}

impl Out<'_> {
    const NONE: Out<'static> = Out {
        cors: None,
        other: None,
        shape: Shape::None,
        vary: false,
        origin: None,
        method: None,
        echo_lines: None,
        echo_len: 0,
        names: false,
    };
}

/// The headers of a decision, in order: [`Decision::headers`]. Dereferences to a slice.
#[derive(Debug, Clone, Copy)]
pub struct Headers<'a> {
    list: [Header<'a>; CAPACITY],
    len: usize,
}

impl<'a> std::ops::Deref for Headers<'a> {
    type Target = [Header<'a>];
    fn deref(&self) -> &[Header<'a>] {
        self.list.get(..self.len).unwrap_or(&[])
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = Header<'a>;
    type IntoIter = std::iter::Take<std::array::IntoIter<Header<'a>, CAPACITY>>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter().take(self.len)
    }
}

impl<'a> Decision<'a> {
    pub(crate) fn new(kind: Kind, reason: Reason) -> Self {
        Decision {
            kind,
            reason,
            route: None,
            cors: None,
            origin_match: None,
            offending: None,
            guards: Guards::NONE,
            csrf_reason: None,
            token: None,
            readings: None,
            out: Out::NONE,
        }
    }

    fn set(&mut self, kind: Kind, reason: Reason) {
        self.kind = kind;
        self.reason = reason;
    }

    /// The headers the runtime sets or appends, in order.
    pub fn headers(&self) -> Headers<'a> {
        let mut h = Headers {
            list: [NO_HEADER; CAPACITY],
            len: 0,
        };
        self.for_each_header(|x| {
            if let Some(slot) = h.list.get_mut(h.len) {
                *slot = x;
                h.len += 1;
            }
        });
        h
    }

    /// Calls `f` with each header the runtime sets or appends, in order: the one place that
    /// says which headers a decision sends. [`Decision::headers`] collects them; the tower
    /// layer writes them straight into the response.
    #[inline(always)]
    pub fn for_each_header(&self, mut f: impl FnMut(Header<'a>)) {
        let o = &self.out;
        let Some(c) = o.cors else { return };
        let set = |name, value| Header {
            name,
            value,
            append: false,
        };
        match o.shape {
            Shape::None | Shape::StaticAny | Shape::Actual => {
                let a = self.actual_parts();
                if let Some(v) = a.acao {
                    f(set(CorsHeader::AllowOrigin, v));
                }
                if a.acac {
                    f(set(
                        CorsHeader::AllowCredentials,
                        Value::Fixed(FixedValue::True),
                    ));
                }
                if let Some(v) = a.aceh {
                    f(set(CorsHeader::ExposeHeaders, Value::Table(v)));
                }
            }
            Shape::Preflight => {
                f(set(CorsHeader::AllowOrigin, self.allow_origin(c)));
                if self.credentials(c) {
                    f(set(
                        CorsHeader::AllowCredentials,
                        Value::Fixed(FixedValue::True),
                    ));
                }
                f(set(
                    CorsHeader::AllowMethods,
                    Value::Echo(Echo::Method, o.method.unwrap_or_default()),
                ));
                if o.names {
                    match &o.echo_lines {
                        Some(lines) => {
                            let n = usize::from(o.echo_len);
                            for (i, line) in lines.iter().take(n).enumerate() {
                                f(Header {
                                    name: CorsHeader::AllowHeaders,
                                    value: Value::Echo(
                                        Echo::HeadersLine(u8::try_from(i).unwrap_or(u8::MAX)),
                                        line,
                                    ),
                                    append: i > 0,
                                });
                            }
                        }
                        None => {
                            if let Some(v) = &c.acah {
                                f(set(CorsHeader::AllowHeaders, Value::Table(v)));
                            }
                        }
                    }
                }
                let max_age = match o.other {
                    None => c.max_age.as_ref(),
                    Some(b) => c.stricter_max_age(b),
                };
                if let Some(v) = max_age {
                    f(set(CorsHeader::MaxAge, Value::Table(v)));
                }
            }
        }
        if o.vary {
            f(Header {
                name: CorsHeader::Vary,
                value: Value::Fixed(FixedValue::Origin),
                append: true,
            });
        }
    }

    /// Access-Control-Allow-Origin for an allowed request: `*`, or the request's `Origin`.
    #[inline]
    fn allow_origin(&self, c: &Cors) -> Value<'a> {
        if c.any_origin && self.out.other.is_none_or(|b| b.any_origin) {
            Value::Fixed(FixedValue::Star)
        } else {
            Value::Echo(Echo::Origin, self.out.origin.unwrap_or_default())
        }
    }

    /// Whether Access-Control-Allow-Credentials is sent: the table's setting, and the other
    /// reading's when there is one.
    #[inline]
    fn credentials(&self, c: &Cors) -> bool {
        c.credentials && self.out.other.is_none_or(|b| b.credentials)
    }

    /// Access-Control-Expose-Headers: the table's, or the stricter of two readings'.
    #[inline]
    fn expose(&self, c: &'a Cors) -> Option<&'a http::HeaderValue> {
        match self.out.other {
            None => c.aceh.as_ref(),
            Some(b) => c.stricter_expose(b),
        }
    }

    /// The CORS headers of a decision that reaches the application (what
    /// [`Decision::for_each_header`] lists for it, bar `Vary`), for the tower layer, which
    /// keeps them while the application runs.
    #[inline]
    pub(crate) fn actual_parts(&self) -> ActualParts<'a> {
        let o = &self.out;
        let none = ActualParts {
            acao: None,
            acac: false,
            aceh: None,
            vary: o.vary,
        };
        let Some(c) = o.cors else { return none };
        match o.shape {
            Shape::StaticAny => ActualParts {
                acao: Some(Value::Fixed(FixedValue::Star)),
                aceh: self.expose(c),
                ..none
            },
            Shape::Actual => ActualParts {
                acao: Some(self.allow_origin(c)),
                acac: self.credentials(c),
                aceh: self.expose(c),
                ..none
            },
            Shape::None | Shape::Preflight => none,
        }
    }

    /// How many headers [`Decision::for_each_header`] lists.
    #[inline]
    pub fn header_count(&self) -> usize {
        let mut n = 0;
        self.for_each_header(|_| n += 1);
        n
    }

    /// The status when the runtime answers by itself: 204 for an allowed preflight, 403 for
    /// a refused preflight, CSRF check or WebSocket handshake, 400 for a refused path.
    pub fn status(&self) -> Option<u16> {
        match self.kind {
            Kind::PreflightOk => Some(204),
            Kind::PreflightRejected | Kind::CsrfRejected | Kind::WebsocketRejected => Some(403),
            Kind::PathRejected => Some(400),
            _ => None,
        }
    }

    /// For a CSRF, WebSocket or path refusal, the short reason sent in the `Guestlist-Reason`
    /// header.
    pub fn refusal_reason(&self) -> Option<&'static str> {
        match self.kind {
            Kind::CsrfRejected | Kind::WebsocketRejected | Kind::PathRejected => {
                Some(self.reason.code())
            }
            _ => None,
        }
    }

    /// Whether the application is called (everything but preflights and refusals).
    pub fn reaches_app(&self) -> bool {
        self.status().is_none()
    }
}

const SAFELISTED_METHODS: [&[u8]; 3] = [b"GET", b"HEAD", b"POST"];

/// [`SAFELISTED_METHODS`] as [`crate::policy::method_words`] writes them.
const SAFELISTED_WORDS: [u64; 3] = [
    u32::from_le_bytes(*b"GET\0") as u64,
    u32::from_le_bytes(*b"HEAD") as u64,
    u32::from_le_bytes(*b"POST") as u64,
];

/// How long a browser caches a preflight without `Access-Control-Max-Age` (Fetch: five
/// seconds).
const BROWSER_MAX_AGE: u64 = 5;

/// Whether every name of the comma list `x` is in `y` (ASCII case ignored), or `y` is `*`.
fn list_within(x: &[u8], y: &[u8]) -> bool {
    y == b"*" || NameList::new(x).all(|n| NameList::new(y).any(|m| m.eq_ignore_ascii_case(n)))
}

impl Cors {
    /// For a path whose two readings apply this table and `other`: the stricter exposed
    /// headers, the list the other contains (`*` contains every list), none when neither
    /// contains the other (spec/language.md, "Path forms").
    pub fn stricter_expose<'a>(&'a self, other: &'a Cors) -> Option<&'a http::HeaderValue> {
        let (x, y) = (self.aceh.as_ref()?, other.aceh.as_ref()?);
        if list_within(x.as_bytes(), y.as_bytes()) {
            Some(x)
        } else if list_within(y.as_bytes(), x.as_bytes()) {
            Some(y)
        } else {
            None
        }
    }

    /// For a path whose two readings apply this table and `other`: the smaller max-age, a
    /// table without one counting as the browser's default of five seconds (so none is sent
    /// when that is the smaller; spec/language.md, "Path forms").
    pub fn stricter_max_age<'a>(&'a self, other: &'a Cors) -> Option<&'a http::HeaderValue> {
        let seconds = |v: Option<&http::HeaderValue>| match v {
            None => BROWSER_MAX_AGE,
            Some(v) => std::str::from_utf8(v.as_bytes())
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0),
        };
        let (x, y) = (self.max_age.as_ref(), other.max_age.as_ref());
        if seconds(x) <= seconds(y) {
            x
        } else {
            y
        }
    }
}

/// Splits a request `Origin` into scheme, host and port when it has the strict form browsers
/// send (`scheme://host[:port]`, lowercase, no default-port check). Only such origins can match
/// a pattern; exact entries are compared byte-exactly before this is called.
/// `(scheme, host, port)` of a strictly formed origin.
type OriginParts<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);

const OTHER: u8 = 0;
const LABEL: u8 = 1;
const DOT: u8 = 2;
const COLON: u8 = 3;

/// The class of each byte in an origin's host: one table load per byte.
#[expect(
    clippy::indexing_slicing,
    reason = "a const loop over 0..256 of a 256-entry table"
)]
static HOST_BYTE: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' {
            LABEL
        } else if c == b'.' {
            DOT
        } else if c == b':' {
            COLON
        } else {
            OTHER
        };
        b += 1;
    }
    t
};

/// One pass over host labels: lowercase letters, digits, '-' and '.', labels of 1 to 63
/// bytes, up to the first ':' or the end. `(where it stopped, length of the last label)`
/// (`0` when the bytes end with a dot or are empty); `None` at any other byte, an empty label
/// or a label longer than 63 bytes. A `const fn`, as [`strict_pattern`] is.
#[inline]
#[expect(
    clippy::indexing_slicing,
    reason = "a byte indexes a 256-entry table; `get` is not const"
)]
const fn scan_labels(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut label = 0usize;
    let mut i = 0;
    let mut rest = bytes;
    while let [b, tail @ ..] = rest {
        match HOST_BYTE[*b as usize] {
            LABEL if label < 63 => label += 1,
            DOT if label > 0 => label = 0,
            COLON => return Some((i, label)),
            _ => return None,
        }
        i += 1;
        rest = tail;
    }
    Some((bytes.len(), label))
}

fn split_origin(o: &[u8]) -> Option<OriginParts<'_>> {
    if o.len() > MAX_ORIGIN {
        return None;
    }
    let (scheme, rest) = split_scheme(o)?;
    let (host, port) = split_authority(rest)?;
    Some((scheme, host, port))
}

/// The longest origin [`split_origin`] accepts: a 64-byte scheme, `://`, a 255-byte host
/// (253, or a bracketed IPv6 address) and `:` with five digits.
const MAX_ORIGIN: usize = 64 + 3 + 255 + 6;

/// `(scheme, what follows "://")` of an origin whose scheme is a lowercase letter followed by
/// lowercase letters, digits, `+`, `.` and `-`.
const fn split_scheme(o: &[u8]) -> Option<(&[u8], &[u8])> {
    // The scheme's characters exclude ':', so the first ':' must start "://".
    let mut sep = 0;
    let mut rest = o;
    while let [b, tail @ ..] = rest {
        if *b == b':' {
            break;
        }
        sep += 1;
        rest = tail;
    }
    let Some((scheme, rest)) = o.split_at_checked(sep) else {
        return None;
    };
    let [b':', b'/', b'/', rest @ ..] = rest else {
        return None;
    };
    let [first, tail @ ..] = scheme else {
        return None;
    };
    if !first.is_ascii_lowercase() {
        return None;
    }
    let mut t = tail;
    while let [b, more @ ..] = t {
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(*b, b'+' | b'.' | b'-')) {
            return None;
        }
        t = more;
    }
    Some((scheme, rest))
}

/// Whether `s` is an IPv6 address in text (RFC 4291 section 2.2, as `std::net::Ipv6Addr`
/// parses it): eight groups of one to four hex digits, or fewer with one `::` standing for the
/// zero groups left out, the last two groups optionally written as a dotted IPv4 address.
const fn is_ipv6(s: &[u8]) -> bool {
    let mut rest = s;
    let mut groups = 0u32;
    let mut compressed = false;
    if let [b':', b':', tail @ ..] = rest {
        compressed = true;
        rest = tail;
        if rest.is_empty() {
            return true;
        }
    }
    loop {
        let group = rest;
        let mut digits = 0;
        while let [b, tail @ ..] = rest {
            if !b.is_ascii_hexdigit() {
                break;
            }
            digits += 1;
            rest = tail;
        }
        if let [b'.', ..] = rest {
            let room = if compressed { groups <= 5 } else { groups == 6 };
            return room && is_ipv4(group);
        }
        if digits == 0 || digits > 4 {
            return false;
        }
        groups += 1;
        match rest {
            [] => break,
            [b':', b':', tail @ ..] => {
                if compressed {
                    return false;
                }
                compressed = true;
                rest = tail;
                if rest.is_empty() {
                    break;
                }
            }
            [b':', tail @ ..] if !tail.is_empty() => rest = tail,
            _ => return false,
        }
    }
    if compressed {
        groups <= 7
    } else {
        groups == 8
    }
}

/// Whether `s` is a dotted IPv4 address as `std::net::Ipv4Addr` parses it: four decimal
/// octets up to 255, none with a leading zero.
const fn is_ipv4(s: &[u8]) -> bool {
    let mut rest = s;
    let mut octets = 0;
    loop {
        let mut n = 0u32;
        let mut digits = 0;
        let mut first = 0u8;
        while let [b, tail @ ..] = rest {
            if !b.is_ascii_digit() {
                break;
            }
            if digits == 0 {
                first = *b;
            }
            n = n * 10 + (*b - b'0') as u32;
            digits += 1;
            rest = tail;
            if digits > 3 {
                return false;
            }
        }
        if digits == 0 || n > 255 || (digits > 1 && first == b'0') {
            return false;
        }
        octets += 1;
        match rest {
            [] => return octets == 4,
            [b'.', tail @ ..] if octets < 4 => rest = tail,
            _ => return false,
        }
    }
}

/// `(host, port)` of an origin's `host[:port]`: lowercase labels of at most 253 bytes
/// together, or a bracketed IPv6 address of hex digits, `:` and `.`; a port of 1 to 65535
/// without a leading zero.
const fn split_authority(rest: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (host, port) = if let [b'[', inner @ ..] = rest {
        let mut close = 1;
        let mut t = inner;
        loop {
            match t {
                [b']', ..] => break,
                [b, more @ ..] => {
                    if !(b.is_ascii_digit() || matches!(*b, b'a'..=b'f' | b':' | b'.')) {
                        return None;
                    }
                    close += 1;
                    t = more;
                }
                [] => return None,
            }
        }
        let Some(split) = rest.split_at_checked(close + 1) else {
            return None;
        };
        // An IPv6 literal by its grammar (the characters alone let `[:]` or `[1]` through),
        // in lowercase as browsers serialise it.
        let Some((literal, _)) = inner.split_at_checked(close - 1) else {
            return None;
        };
        if !is_ipv6(literal) {
            return None;
        }
        split
    } else {
        let Some((end, label)) = scan_labels(rest) else {
            return None;
        };
        if label == 0 || end > 253 {
            return None;
        }
        let Some(split) = rest.split_at_checked(end) else {
            return None;
        };
        split
    };
    let port = match port {
        [] => None,
        [b':', digits @ ..] => {
            let [first, ..] = digits else {
                return None;
            };
            if digits.len() > 5 || *first == b'0' {
                return None;
            }
            let mut n = 0u32;
            let mut d = digits;
            while let [x, more @ ..] = d {
                if !x.is_ascii_digit() {
                    return None;
                }
                n = n * 10 + (*x - b'0') as u32;
                d = more;
            }
            if n > 65535 {
                return None;
            }
            Some(digits)
        }
        _ => return None,
    };
    Some((host, port))
}

impl Cors {
    /// Which entry allows `origin`, if any.
    #[inline]
    pub fn match_origin(&self, origin: &[u8]) -> Option<OriginMatch> {
        match_origin(self.any_origin, &self.origins, &self.patterns, origin)
    }

    /// Safelisted or listed (byte-exact).
    #[inline]
    #[expect(
        clippy::manual_contains,
        reason = "measured: `any` stops at the first hit, `contains` compares all eight"
    )]
    fn method_listed(&self, m: &[u8]) -> bool {
        // A method of up to eight bytes is one integer, compared with each listed one's.
        if let (1..=8, Some(words)) = (m.len(), &self.method_words) {
            let w = crate::keyset::le_word(m);
            // No listed method holds a NUL byte: one that ends `m` is in no listed word.
            let ends_nonzero = (71 - w.leading_zeros()) / 8 == m.len() as u32;
            return ends_nonzero
                && (SAFELISTED_WORDS.contains(&w) || words.iter().any(|&x| x == w));
        }
        self.method_listed_bytes(m)
    }

    /// [`Cors::method_listed`] for longer methods, or more than eight listed.
    #[inline(never)]
    fn method_listed_bytes(&self, m: &[u8]) -> bool {
        // Compared a word at a time (slice `==` is a `memcmp` call per method).
        SAFELISTED_METHODS
            .iter()
            .any(|s| crate::keyset::eq_exact(s, m))
            || self
                .methods
                .iter()
                .any(|x| crate::keyset::eq_exact(x.as_bytes(), m))
    }
}

/// The one origin matcher (cors and websocket): `*`, then the exact set, then patterns.
#[inline(always)]
pub(crate) fn match_origin(
    any: bool,
    exact: &KeySet,
    patterns: &PatternSet,
    origin: &[u8],
) -> Option<OriginMatch> {
    if any {
        return Some(OriginMatch::Any);
    }
    if let Some(i) = exact.get(origin) {
        return Some(OriginMatch::Exact(i));
    }
    if patterns.is_empty() {
        return None;
    }
    match_pattern(patterns, origin)
}

/// The pattern search. An origin without a port (what browsers send for default ports) is
/// searched as it is checked: each key probed is a strict pattern (see [`strict_pattern`]),
/// so a hit's scheme and host suffix are already known good, and the origin is strict exactly
/// when the labels in front of that suffix are, which the search checks as it walks to the
/// suffix. A set without `:*` keys needs no split of an `http`/`https` origin at all (its port,
/// if any, is compared as part of the key). Otherwise origins with a port and IPv6 hosts are
/// split and checked first.
#[inline(never)]
fn match_pattern(patterns: &PatternSet, origin: &[u8]) -> Option<OriginMatch> {
    if !patterns.any_port {
        // Every key is `scheme://*.suffix[:port]`: a hit is byte for byte a strict key from
        // the dot on, its port too, so the origin needs no split at all (an origin with a
        // port is searched as one whose last label holds it: no key can match past the `:`).
        if let Some(sep) = common_scheme(origin) {
            let head = sep + 3;
            if origin.len() - head <= 253 {
                return match_suffixes(patterns, origin, head).map(OriginMatch::Pattern);
            }
        }
    }
    match_pattern_split(patterns, origin)
}

/// [`match_host`] for a set without `:*` keys and an `https`/`http` origin whose host (with
/// its port, if any) starts at `head` and has at most 253 bytes: the suffix from each dot on
/// is probed, port included ([`probe_at_dots`]).
#[inline(always)]
fn match_suffixes(patterns: &PatternSet, origin: &[u8], head: usize) -> Option<u32> {
    let wild = crate::keyset::WildHead::new(head == 8);
    probe_at_dots(origin, head, origin.len(), move |dot| {
        patterns.find_suffix(origin, wild, dot)
    })
}

/// The one walk over host labels of both searches: `probe` at each dot of `origin[head..end]`
/// whose label in front is strict (1 to 63 label bytes, checked when the dot is reached),
/// until it finds a key; any other byte, or a label that breaks that, ends the search, as
/// every shorter suffix has it in front too. (The last label is the suffix's, which a hit
/// compares with a strict key.)
#[inline(always)]
fn probe_at_dots(
    origin: &[u8],
    head: usize,
    end: usize,
    mut probe: impl FnMut(usize) -> Option<u32>,
) -> Option<u32> {
    let walked = origin.get(..end)?;
    let mut start = head;
    let mut i = head;
    while let Some(&b) = walked.get(i) {
        let class = HOST_BYTE.get(usize::from(b)).copied().unwrap_or(OTHER);
        if class != LABEL {
            if class != DOT || i == start || i - start > 63 {
                return None;
            }
            if let Some(k) = probe(i) {
                return Some(k);
            }
            start = i + 1;
        }
        i += 1;
    }
    None
}

/// [`match_pattern`] for sets with `:*` keys, and other origins: split first.
#[inline(never)]
fn match_pattern_split(patterns: &PatternSet, origin: &[u8]) -> Option<OriginMatch> {
    if let Some((scheme, _)) = split_portless(origin) {
        return match_host(patterns, origin, scheme.len() + 3, origin.len());
    }
    let (scheme, host, _) = split_origin(origin)?;
    let head = scheme.len() + 3;
    match_host(patterns, origin, head, head + host.len())
}

/// The key that allows an origin `scheme://host[:port]` (`origin[..head]` is `scheme://`, the
/// host ends at `host_end`): `scheme://host:*`, then every suffix of the host at a label
/// boundary, longest first, with the origin's port (or none) before `:*`. Only a host that
/// starts with a label byte (or is bracketed) and has at most 253 bytes (unless bracketed)
/// matches, and a suffix only when the labels in front of it are strict (1 to 63 label bytes,
/// each followed by a dot): a byte that breaks that ends the search, as every shorter suffix
/// has it in front too.
#[inline(always)]
fn match_host(
    patterns: &PatternSet,
    origin: &[u8],
    head: usize,
    host_end: usize,
) -> Option<OriginMatch> {
    let host = origin.get(head..host_end)?;
    let &first = host.first()?;
    let class = |b: u8| HOST_BYTE.get(usize::from(b)).copied().unwrap_or(OTHER);
    let bracketed = first == b'[';
    if !bracketed && (host.len() > 253 || class(first) != LABEL) {
        return None;
    }
    if patterns.host_any_port {
        if let Some(i) = patterns.find_host_any_port(origin, head, host_end) {
            return Some(OriginMatch::Pattern(i));
        }
    }
    // An IPv6 host ends the walk at its `[`.
    probe_at_dots(origin, head, host_end, move |dot| {
        patterns.find_wild(origin, head, dot, host_end)
    })
    .map(OriginMatch::Pattern)
}

/// The length of an origin's scheme when it is one of the two nearly every origin has
/// (`https://`, `http://`), found without a search for the `:`.
#[inline(always)]
fn common_scheme(o: &[u8]) -> Option<usize> {
    if o.starts_with(b"https://") {
        Some(5)
    } else if o.starts_with(b"http://") {
        Some(4)
    } else {
        None
    }
}

/// `(scheme, host)` of an origin whose host is not bracketed (IPv6) and has no port, checked
/// for nothing else. A port is at most `:` and five digits, so only the last six bytes are
/// looked at; a `:` further in makes the host malformed, which [`match_host`] refuses as it
/// walks the host (a strict key holds no `:` in a host).
#[inline]
fn split_portless(o: &[u8]) -> Option<(&[u8], &[u8])> {
    let sep = match common_scheme(o) {
        Some(sep) => sep,
        None => o.iter().take(64).position(|&b| b == b':')?,
    };
    let (scheme, rest) = (o.get(..sep)?, o.get(sep..)?.strip_prefix(b"://")?);
    // A ':' in the last six bytes: the last eight as one word, its top six bytes looked at.
    let port = match rest.last_chunk::<8>() {
        Some(w) => {
            crate::keyset::bytes_eq(u64::from_le_bytes(*w), b':') & 0x8080_8080_8080_0000 != 0
        }
        None => rest.iter().rev().take(6).any(|&b| b == b':'),
    };
    if port || rest.first() == Some(&b'[') {
        return None;
    }
    Some((scheme, rest))
}

/// Whether `p` has one of the pattern forms the matcher probes (`scheme://*.host`,
/// `scheme://*.host:port`, `scheme://*.host:*`, `scheme://host:*`) with `scheme://host[:port]`
/// an origin [`split_origin`] accepts. Pattern tables hold only such keys (the compiler writes
/// them so, and run-time tables are checked when built); [`match_pattern`] relies on it.
pub(crate) const fn strict_pattern(p: &str) -> bool {
    let p = p.as_bytes();
    // The origin the pattern stands for is `scheme://` and `rest`, without the `*.` and `:*`.
    let Some((_, rest)) = split_scheme(p) else {
        return false;
    };
    let (wild, rest) = match rest {
        [b'*', b'.', r @ ..] => (true, r),
        r => (false, r),
    };
    let (rest, any_port) = match rest {
        [r @ .., b':', b'*'] => (r, true),
        r => (r, false),
    };
    if !wild && !any_port {
        return false;
    }
    let len = p.len() - if wild { 2 } else { 0 } - if any_port { 2 } else { 0 };
    if len > MAX_ORIGIN {
        return false;
    }
    match split_authority(rest) {
        Some((_, port)) => !(any_port && port.is_some()),
        None => false,
    }
}

/// How many names `line` lists when it is `a,b,c` with every name a key of `set` (a small
/// set); `None` otherwise.
#[inline]
fn listed_line(set: &KeySet, line: &[u8]) -> Option<usize> {
    let mut rest = line;
    let mut n = 0;
    loop {
        let len = set.leading_key(rest)?;
        n += 1;
        match rest.get(len..) {
            Some([]) | None => return Some(n),
            Some([_comma, tail @ ..]) if !tail.is_empty() => rest = tail,
            Some(_) => return None,
        }
    }
}

/// The routes a request path selects: [`Policy::routes_for`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRoutes {
    /// A structurally normal path: one reading, and its route.
    Normal(Option<u32>),
    /// A path that is not structurally normal: each reading's route.
    TwoReadings {
        /// The as-sent reading's route.
        as_sent: Option<u32>,
        /// The normalised reading's route.
        normalised: Option<u32>,
        /// The fully decoded path has a dot segment or a backslash (refused by default).
        dot_segments: bool,
    },
}

impl Policy {
    /// The route nginx's `location` would pick for a request path (its normalised reading),
    /// or why the path cannot be read.
    pub fn route_for(&self, path: &str) -> Result<Option<u32>, PathError> {
        Ok(match self.routes_for(path)? {
            PathRoutes::Normal(r) => r,
            PathRoutes::TwoReadings { normalised, .. } => normalised,
        })
    }

    /// The routes of a request path's readings (spec/language.md, "Path forms").
    #[inline(always)]
    pub fn routes_for(&self, path: &str) -> Result<PathRoutes, PathError> {
        match already_normal(path)? {
            Some(p) => Ok(PathRoutes::Normal(self.route_for_normal(p))),
            None => self.routes_for_slow(path),
        }
    }

    /// Paths with escapes, `\`, `//` or a segment that starts with `.`: read in stack buffers,
    /// out of line so the common path does not pay for them.
    #[inline(never)]
    fn routes_for_slow(&self, path: &str) -> Result<PathRoutes, PathError> {
        let mut bufs = PathBuffers::new();
        Ok(match read_path(path, &mut bufs)? {
            PathForm::Normal(p) => PathRoutes::Normal(self.route_for_normal(p)),
            PathForm::TwoReadings {
                as_sent,
                normalised,
                dot_segments,
            } => PathRoutes::TwoReadings {
                as_sent: self.route_for_normal(as_sent),
                normalised: self.route_for_normal(normalised),
                dot_segments,
            },
        })
    }

    #[inline]
    fn route_for_normal(&self, p: &[u8]) -> Option<u32> {
        if self.only_root {
            return self.root;
        }
        if self.has_exact {
            if let Some(r) = self.exact_route(p) {
                return Some(r);
            }
        }
        // The lengths (bit `n - 1` for length `n`) of the prefix routes the path is long
        // enough for. When `/*` is the only one (a one-route policy, or a path no longer
        // prefix matches), it is the answer, without a probe.
        let lens = match p.len() {
            n @ 0..64 => self.prefix_lens & ((1u64 << n) - 1),
            _ => self.prefix_lens,
        };
        if lens == 1 && self.root.is_some() && (p.len() <= 64 || !self.long_prefixes) {
            return self.root;
        }
        self.longest_prefix(p, lens)
    }

    /// The exact route for `p`, if any.
    #[inline(never)]
    fn exact_route(&self, p: &[u8]) -> Option<u32> {
        let i = self.route_keys.get(p)?;
        self.routes
            .get(i as usize)
            .is_some_and(|r| !r.prefix)
            .then_some(i)
    }

    /// Longest prefix: every '/' in the path, from the right, at a length some prefix route
    /// has. Positions from 64 on are scanned (when some prefix is that long); below 64 they
    /// are the set bits of `lens`, high to low.
    #[inline(never)]
    fn longest_prefix(&self, p: &[u8], mut lens: u64) -> Option<u32> {
        let mut long = if self.long_prefixes { p.len() } else { 0 };
        loop {
            let i = if long > 64 {
                long -= 1;
                long
            } else if lens != 0 {
                let i = 63 - lens.leading_zeros() as usize;
                lens ^= 1u64 << i;
                i
            } else {
                return None;
            };
            if i == 0 && self.root.is_some() {
                return self.root;
            }
            if p.get(i) == Some(&b'/') {
                if let Some(r) = self.route_keys.get_star(p.get(..=i).unwrap_or(&[])) {
                    return Some(r);
                }
            }
        }
    }

    /// Decides what to do with a request: `method` as sent (case-sensitive), `path` the request
    /// target's path (a query is ignored), `headers` the request's header fields (the CSRF and
    /// WebSocket checks read `Host` from them).
    pub fn decide<'a, H>(&'a self, method: &str, path: &str, headers: &'a H) -> Decision<'a>
    where
        H: HeaderLookup + ?Sized,
    {
        self.decide_with_authority(method, path, None, headers)
    }

    /// [`Policy::decide`] with the request target's authority (HTTP/2 `:authority`), used as
    /// the request's host when there is no `Host` header.
    pub fn decide_with_authority<'a, H>(
        &'a self,
        method: &str,
        path: &str,
        authority: Option<&'a str>,
        headers: &'a H,
    ) -> Decision<'a>
    where
        H: HeaderLookup + ?Sized,
    {
        self.decide_full(method, path, authority, headers, None)
    }

    /// [`Policy::decide_with_authority`] with the CSRF secret that token checks need (routes
    /// whose csrf policy has a `token` line; without a secret their unsafe requests are
    /// refused with `csrf-token-no-secret`).
    pub fn decide_full<'a, H>(
        &'a self,
        method: &str,
        path: &str,
        authority: Option<&'a str>,
        headers: &'a H,
        secret: Option<&CsrfSecret>,
    ) -> Decision<'a>
    where
        H: HeaderLookup + ?Sized,
    {
        self.decide_form(method, path, authority, headers, secret, FormBody::Unread)
    }

    /// [`Policy::decide_full`] with what was read of the request's body. An urlencoded form
    /// post without the token header, on a route whose token policy does not defer forms,
    /// passes the token check as `csrf-token-in-form` while the body is [`FormBody::Unread`]:
    /// the caller reads at most [`FORM_BODY_LIMIT`](crate::FORM_BODY_LIMIT) bytes of it and
    /// decides again, and the token field decides (the tower layer does this itself).
    pub fn decide_form<'a, H>(
        &'a self,
        method: &str,
        path: &str,
        authority: Option<&'a str>,
        headers: &'a H,
        secret: Option<&CsrfSecret>,
        form: FormBody<'_>,
    ) -> Decision<'a>
    where
        H: HeaderLookup + ?Sized,
    {
        // One decision, written in place by every step and returned once (a decision is a
        // few hundred bytes; each extra return path would copy it).
        let mut d = Decision::new(Kind::NotCors, Reason::NoRoute);
        self.decide_in(method, path, authority, headers, secret, form, &mut d);
        d
    }

    /// [`Policy::decide_form`] into a decision the caller holds (the tower layer's, so the
    /// decision is never copied).
    #[expect(
        clippy::too_many_arguments,
        reason = "the request's parts, as decide_form takes them, and the decision to write"
    )]
    #[inline(always)]
    pub(crate) fn decide_in<'a, H>(
        &'a self,
        method: &str,
        path: &str,
        authority: Option<&'a str>,
        headers: &'a H,
        secret: Option<&CsrfSecret>,
        form: FormBody<'_>,
        d: &mut Decision<'a>,
    ) where
        H: HeaderLookup + ?Sized,
    {
        let request = Request {
            method,
            path,
            authority,
            headers,
            secret,
            form,
        };
        match self.routes_for(path) {
            Ok(PathRoutes::Normal(Some(route))) => self.decide_route(route, &request, d),
            Ok(PathRoutes::Normal(None)) => {}
            Ok(PathRoutes::TwoReadings { dot_segments, .. })
                if dot_segments && self.non_normal == NonNormalPaths::Reject =>
            {
                self.refuse_path(Reason::PathNotNormal, d);
            }
            Ok(PathRoutes::TwoReadings {
                as_sent,
                normalised,
                ..
            }) => self.decide_two(as_sent, normalised, &request, d),
            Err(_) => self.refuse_path(Reason::PathInvalid, d),
        }
    }

    /// A path refused before any route is chosen: 400 when the policy has a route (as nginx
    /// answers), nothing when it has none.
    #[cold]
    fn refuse_path(&self, reason: Reason, d: &mut Decision<'_>) {
        if self.routes.is_empty() {
            d.set(Kind::NotCors, reason);
        } else {
            d.set(Kind::PathRejected, reason);
        }
    }

    /// The decision on one route (a structurally normal path's, or both readings').
    #[inline(always)]
    fn decide_route<'a, H>(&'a self, route: u32, rq: &Request<'a, '_, H>, d: &mut Decision<'a>)
    where
        H: HeaderLookup + ?Sized,
    {
        d.route = Some(route);
        let (cors_index, guards) = match self.routes.get(route as usize) {
            Some(r) => (r.cors, r.guards),
            None => (None, Guards::NONE),
        };
        d.guards = guards;
        let cors = cors_index.and_then(|i| self.cors.get(i as usize).map(|c| (i, c)));
        if guards != Guards::NONE {
            if let Some(ws) = guards
                .websocket
                .and_then(|i| self.websocket.get(i as usize))
            {
                if is_websocket_upgrade(rq.method, rq.headers) {
                    return decide_websocket(ws, rq.authority, rq.headers, d);
                }
            }
            if let Some(ci) = guards.csrf {
                match self.check_csrf(ci, cors.map(|c| c.1), rq) {
                    Ok((r, token)) => {
                        d.csrf_reason = Some(r);
                        d.token = token;
                    }
                    Err(r) => {
                        d.set(Kind::CsrfRejected, r);
                        // The refusal depends on Origin, as the route's CORS answer does.
                        if let Some((_, c)) = cors.filter(|(_, c)| !c.is_static_any()) {
                            d.out.cors = Some(c);
                            d.out.vary = true;
                        }
                        return;
                    }
                }
            }
        }
        d.set(Kind::NotCors, Reason::NoCorsPolicy);
        if let Some((i, c)) = cors {
            decide_cors(c, rq.method, rq.headers, d);
            d.cors = Some(i);
        }
    }

    /// The csrf check of policy `ci`, then its token check (exempt requests excepted): why the
    /// request passes and the token outcome, or why it is refused.
    fn check_csrf<'a, H>(
        &'a self,
        ci: u32,
        cors: Option<&Cors>,
        rq: &Request<'a, '_, H>,
    ) -> Result<(Reason, Option<TokenOutcome<'a>>), Reason>
    where
        H: HeaderLookup + ?Sized,
    {
        let Some(csrf) = self.csrf.get(ci as usize) else {
            return Ok((Reason::CsrfSafeMethod, None));
        };
        let r = decide_csrf(csrf, cors, rq.method, rq.path, rq.authority, rq.headers)?;
        let token = match (&csrf.token, r == Reason::CsrfExempt) {
            (Some(t), false) => {
                let mut outcome = check_token(t, rq.secret, rq.method, rq.headers, rq.form)?;
                outcome.csrf = ci;
                Some(outcome)
            }
            _ => None,
        };
        Ok((r, token))
    }

    /// A path that is not structurally normal: the decision is no looser than either
    /// reading's (spec/language.md, "Path forms"). Every reading's guards run and each must
    /// pass; CORS is allowed only where both readings allow it, with the stricter settings.
    #[inline(never)]
    fn decide_two<'a, H>(
        &'a self,
        as_sent: Option<u32>,
        normalised: Option<u32>,
        rq: &Request<'a, '_, H>,
        d: &mut Decision<'a>,
    ) where
        H: HeaderLookup + ?Sized,
    {
        let parts = |r: Option<u32>| {
            r.and_then(|i| self.routes.get(i as usize))
                .map_or((None, Guards::NONE), |r| (r.cors, r.guards))
        };
        let (cors_s, guards_s) = parts(as_sent);
        let (cors_n, guards_n) = parts(normalised);
        if as_sent == normalised || (cors_s == cors_n && guards_s == guards_n) {
            // One policy, read twice: its checks (an exemption never applies: the path is not
            // structurally normal).
            if let Some(r) = as_sent.or(normalised) {
                self.decide_route(r, rq, d);
            }
            d.route = as_sent;
            d.readings = Some(Readings {
                route: normalised,
                cors: cors_n,
                guards: guards_n,
                refused_by: None,
            });
            return;
        }
        d.route = as_sent;
        d.guards = guards_s;
        let mut readings = Readings {
            route: normalised,
            cors: cors_n,
            guards: guards_n,
            refused_by: None,
        };
        let table = |i: Option<u32>| i.and_then(|i| self.cors.get(i as usize));
        let (table_s, table_n) = (table(cors_s), table(cors_n));
        let each = [
            (Reading::AsSent, guards_s, table_s),
            (Reading::Normalised, guards_n, table_n),
        ];
        // WebSocket handshakes: every reading's websocket policy must allow it.
        let ws = |g: Guards| g.websocket.and_then(|i| self.websocket.get(i as usize));
        if (ws(guards_s).is_some() || ws(guards_n).is_some())
            && is_websocket_upgrade(rq.method, rq.headers)
        {
            let mut allowed: Option<Decision<'a>> = None;
            for (reading, g, _) in each {
                let Some(w) = ws(g) else { continue };
                let mut one = Decision::new(Kind::NotCors, Reason::NoRoute);
                decide_websocket(w, rq.authority, rq.headers, &mut one);
                if one.kind == Kind::WebsocketRejected {
                    d.set(one.kind, one.reason);
                    readings.refused_by = Some(reading);
                    d.readings = Some(readings);
                    return;
                }
                allowed.get_or_insert(one);
            }
            if let Some(one) = allowed {
                d.set(one.kind, one.reason);
                d.origin_match = one.origin_match;
            }
            d.readings = Some(readings);
            return;
        }
        // CSRF: every reading's check must pass.
        for (reading, g, cors) in each {
            let Some(ci) = g.csrf else { continue };
            match self.check_csrf(ci, cors, rq) {
                Ok((r, token)) => {
                    d.csrf_reason.get_or_insert(r);
                    // A reading whose check still needs the body wins: the caller reads it
                    // only when the decision's outcome says so.
                    let in_form = |t: Option<TokenOutcome<'_>>| {
                        t.is_some_and(|t| t.reason == Reason::CsrfTokenInForm)
                    };
                    if d.token.is_none() || (in_form(token) && !in_form(d.token)) {
                        d.token = token;
                    }
                }
                Err(r) => {
                    d.set(Kind::CsrfRejected, r);
                    if let Some(c) = table_s.or(table_n) {
                        if !(table_s.is_none_or(Cors::is_static_any)
                            && table_n.is_none_or(Cors::is_static_any))
                        {
                            d.out.cors = Some(c);
                            d.out.vary = true;
                        }
                    }
                    readings.refused_by = Some(reading);
                    d.readings = Some(readings);
                    return;
                }
            }
        }
        d.set(Kind::NotCors, Reason::NoCorsPolicy);
        if cors_s == cors_n {
            if let (Some(i), Some(c)) = (cors_s, table_s) {
                decide_cors(c, rq.method, rq.headers, d);
                d.cors = Some(i);
            }
        } else {
            readings.refused_by = decide_cors_two(table_s, table_n, rq.method, rq.headers, d);
            d.cors = cors_s.or(cors_n);
        }
        d.readings = Some(readings);
    }
}

/// The parts of a request the evaluator reads, passed down as one value.
struct Request<'a, 's, H: ?Sized> {
    method: &'s str,
    path: &'s str,
    authority: Option<&'a str>,
    headers: &'a H,
    secret: Option<&'s CsrfSecret>,
    form: FormBody<'s>,
}

/// The CORS decision for a path whose two readings have different cors policies (at least one
/// of them has one): allowed only where both allow, with the stricter settings of the two; a
/// reading with no cors policy allows nothing. Returns the reading that refused, if one did.
#[inline(never)]
fn decide_cors_two<'a, H>(
    table_s: Option<&'a Cors>,
    table_n: Option<&'a Cors>,
    method: &str,
    headers: &'a H,
    d: &mut Decision<'a>,
) -> Option<Reading>
where
    H: HeaderLookup + ?Sized,
{
    let one = |c: Option<&'a Cors>| {
        let mut x = Decision::new(Kind::NotCors, Reason::NoCorsPolicy);
        if let Some(c) = c {
            decide_cors(c, method, headers, &mut x);
        }
        x
    };
    let (ds, dn) = (one(table_s), one(table_n));
    // The reading with a cors policy (the as-sent one when both have one) says what kind of
    // request this is: a preflight, an actual request, or one without Origin.
    let (first, first_table) = match (table_s, table_n) {
        (Some(c), _) => (ds, c),
        (None, Some(c)) => (dn, c),
        (None, None) => return None,
    };
    let vary = ds.out.vary || dn.out.vary;
    let both = |kind: Kind| ds.kind == kind && dn.kind == kind;
    let merged = match first.kind {
        Kind::PreflightOk | Kind::PreflightRejected => both(Kind::PreflightOk),
        Kind::ActualAllowed | Kind::ActualNotAllowed => both(Kind::ActualAllowed),
        _ => ds.reason == Reason::NoOrigin && dn.reason == Reason::NoOrigin,
    };
    if merged {
        // Both tables allow (or neither sees an Origin): the as-sent reading's answer, with
        // the other table's stricter settings folded in where the headers are written.
        d.set(ds.kind, ds.reason);
        d.origin_match = ds.origin_match;
        d.out = Out {
            other: table_n,
            vary,
            ..ds.out
        };
        if ds.out.shape == Shape::StaticAny && dn.out.shape != Shape::StaticAny {
            d.out.shape = Shape::None;
        }
        if ds.kind == Kind::PreflightOk && ds.out.names {
            // Every requested name passed both tables: they are echoed.
            let (lines, n) = request_header_lines(headers);
            d.out.echo_lines = Some(lines);
            d.out.echo_len = n;
        }
        return None;
    }
    // Not allowed: the first refusing reading's answer (the as-sent reading's first); a
    // reading with no cors policy refuses with `readings-disagree`.
    let refusal = |x: &Decision<'a>, has_table: bool| match x.kind {
        Kind::PreflightRejected | Kind::ActualNotAllowed => Some((x.kind, x.reason)),
        _ if has_table => None,
        _ => Some(match first.kind {
            Kind::PreflightOk | Kind::PreflightRejected => {
                (Kind::PreflightRejected, Reason::ReadingsDisagree)
            }
            Kind::ActualAllowed | Kind::ActualNotAllowed => {
                (Kind::ActualNotAllowed, Reason::ReadingsDisagree)
            }
            _ => (Kind::NotCors, first.reason),
        }),
    };
    let (reading, refused, (kind, reason)) = match (
        refusal(&ds, table_s.is_some()),
        refusal(&dn, table_n.is_some()),
    ) {
        (Some(r), _) => (Reading::AsSent, &ds, r),
        (None, Some(r)) => (Reading::Normalised, &dn, r),
        // Not reached: `merged` covers two tables that both allow.
        (None, None) => (Reading::AsSent, &ds, (first.kind, first.reason)),
    };
    d.set(kind, reason);
    d.origin_match = refused.origin_match;
    d.offending = refused.offending;
    // No CORS headers; the application's own are replaced (the path is governed).
    d.out.cors = Some(first_table);
    d.out.vary = vary;
    (kind != Kind::NotCors).then_some(reading)
}

/// The CORS answer to the common request, from [`Policy::decide_common`].
#[cfg(feature = "tower")]
#[derive(Debug)]
pub(crate) struct Common<'a> {
    /// The route's CORS table.
    pub(crate) cors: &'a Cors,
    /// Access-Control-Allow-Origin, when the request is allowed: `*`, or the request's
    /// `Origin` (a clone, which shares its bytes).
    pub(crate) acao: Option<http::HeaderValue>,
}

#[cfg(feature = "tower")]
impl Policy {
    /// The tower layer's fast path: the common request, which is not `OPTIONS`, on a route with
    /// a CORS policy and no other policy, with at most one `Origin` line, decided without
    /// building (and then reading back) a few-hundred-byte [`Decision`]. Its answer is the one
    /// [`Policy::decide_full`] gives (the same route lookup, the same origin matcher, the rules
    /// of `decide_cors` for an actual request); a test checks the two request by request.
    /// `None` for every other request, which `decide_full` decides. `origins` are the first two
    /// `Origin` lines.
    #[inline(always)]
    pub(crate) fn decide_common<'a>(
        &'a self,
        options: bool,
        path: &str,
        origins: [Option<&http::HeaderValue>; 2],
    ) -> Option<Common<'a>> {
        if options {
            return None;
        }
        // Plain paths only: any other path is read by the general path.
        let route = self.route_for_normal(already_normal(path).ok()??)?;
        // `NOT_CORS_ONLY` is out of range.
        let cors = self
            .cors
            .get(self.routes.get(route as usize)?.cors_only as usize)?;
        let star = || crate::http_apply::STAR;
        let acao = match origins {
            // No `Origin`: `*` only when the answer never depends on it.
            [None, _] => cors.is_static_any().then(star),
            [Some(o), None] => {
                let allowed = cors.match_origin(o.as_bytes()).is_some();
                // A refused origin is logged, and only the general path logs.
                #[cfg(feature = "tracing")]
                if !allowed {
                    return None;
                }
                allowed.then(|| if cors.any_origin { star() } else { o.clone() })
            }
            // Two `Origin` lines: never allowed.
            [Some(_), Some(_)] => None,
        };
        Some(Common { cors, acao })
    }
}

/// A request body an HTML page can post without script (so it cannot carry the token header).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `application/x-www-form-urlencoded`: the layer can read the token field.
    Urlencoded,
    /// `multipart/form-data` or `text/plain`.
    Other,
}

/// The form the request's (first) `Content-Type` names, if it is one.
fn form_kind<H>(headers: &H) -> Option<Form>
where
    H: HeaderLookup + ?Sized,
{
    let v = headers.values(RequestHeader::ContentType).next()?;
    let media = v.split(|&b| b == b';').next().unwrap_or(&[]).trim_ascii();
    if media.eq_ignore_ascii_case(b"application/x-www-form-urlencoded") {
        Some(Form::Urlencoded)
    } else if media.eq_ignore_ascii_case(b"multipart/form-data")
        || media.eq_ignore_ascii_case(b"text/plain")
    {
        Some(Form::Other)
    } else {
        None
    }
}

/// The signed double-submit token check (spec/language.md, "csrf tokens").
fn check_token<'a, H>(
    t: &TokenPolicy,
    secret: Option<&CsrfSecret>,
    method: &str,
    headers: &'a H,
    form: FormBody<'_>,
) -> Result<TokenOutcome<'a>, Reason>
where
    H: HeaderLookup + ?Sized,
{
    let session = cookie(headers, &t.bind_cookie).unwrap_or(&[]);
    let tok_cookie = cookie(headers, &t.cookie);
    let outcome = |reason, issue| TokenOutcome {
        csrf: 0,
        reason,
        cookie: tok_cookie,
        session,
        issue,
    };
    let safe = matches!(method, "GET" | "HEAD" | "OPTIONS");
    let Some(secret) = secret else {
        return if safe {
            Ok(outcome(Reason::CsrfTokenNoSecret, false))
        } else {
            Err(Reason::CsrfTokenNoSecret)
        };
    };
    if safe {
        return Ok(match tok_cookie.map(|c| verify_token(secret, session, c)) {
            Some(Ok(false)) => outcome(Reason::CsrfTokenValid, false),
            Some(Ok(true)) => outcome(Reason::CsrfTokenValid, true),
            _ => outcome(Reason::CsrfTokenIssued, true),
        });
    }
    let mut hv = headers.values_named(&t.header);
    let submitted = match (hv.next(), hv.next()) {
        (Some(h), None) => h,
        (Some(_), Some(_)) => return Err(Reason::CsrfTokenMismatch),
        // No header: a form post's token is in its body, read by the layer (urlencoded only)
        // or, with `defer-forms`, by the application.
        (None, _) => match (form_kind(headers), form) {
            (None, _) => return Err(Reason::CsrfTokenMissing),
            (Some(_), _) if t.defer_forms => return Ok(outcome(Reason::CsrfTokenDeferred, false)),
            (Some(Form::Other), _) => return Err(Reason::CsrfTokenFormUnsupported),
            (Some(Form::Urlencoded), FormBody::Unread) => {
                return Ok(outcome(Reason::CsrfTokenInForm, false))
            }
            (Some(Form::Urlencoded), FormBody::TooLarge) => {
                return Err(Reason::CsrfTokenFormTooLarge)
            }
            (Some(Form::Urlencoded), FormBody::Unreadable) => {
                return Err(Reason::CsrfTokenFormInvalid)
            }
            (Some(Form::Urlencoded), FormBody::Read(body)) => {
                let mut field = [0u8; TOKEN_LEN];
                let v = form_field(body, &t.field, &mut field)?;
                check_submitted(secret, session, tok_cookie, v)?;
                return Ok(outcome(Reason::CsrfTokenValid, false));
            }
        },
    };
    check_submitted(secret, session, tok_cookie, submitted)?;
    Ok(outcome(Reason::CsrfTokenValid, false))
}

/// The request's one value of `name`: `Ok(None)` when absent or empty (as Go's
/// `Header.Get` reads it), `Err(())` when repeated.
fn single<H>(headers: &H, name: RequestHeader) -> Result<Option<&[u8]>, ()>
where
    H: HeaderLookup + ?Sized,
{
    let mut it = headers.values(name);
    match (it.next(), it.next()) {
        (None, _) => Ok(None),
        (Some(v), None) => Ok(Some(v).filter(|v| !v.is_empty())),
        (Some(_), Some(_)) => Err(()),
    }
}

/// The request's host: its one `Host` header, else the target's authority.
fn request_host<'a, H>(headers: &'a H, authority: Option<&'a str>) -> Option<&'a [u8]>
where
    H: HeaderLookup + ?Sized,
{
    match single(headers, RequestHeader::Host) {
        Ok(Some(h)) => Some(h),
        Ok(None) => authority.map(str::as_bytes),
        Err(()) => None,
    }
}

/// A WebSocket opening handshake: `GET` with `websocket` among the `Upgrade` tokens.
fn is_websocket_upgrade<H>(method: &str, headers: &H) -> bool
where
    H: HeaderLookup + ?Sized,
{
    method == "GET"
        && headers.values(RequestHeader::Upgrade).any(|v| {
            v.split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"websocket"))
        })
}

fn decide_websocket<'a, H>(
    ws: &'a WebSocket,
    authority: Option<&'a str>,
    headers: &'a H,
    d: &mut Decision<'a>,
) where
    H: HeaderLookup + ?Sized,
{
    match single(headers, RequestHeader::Origin) {
        Err(()) => d.set(Kind::WebsocketRejected, Reason::MultipleOrigins),
        Ok(None) if ws.allow_missing => d.set(Kind::WebsocketAllowed, Reason::WebsocketNoOrigin),
        Ok(None) => d.set(Kind::WebsocketRejected, Reason::WebsocketMissingOrigin),
        Ok(Some(o)) => {
            if let Some(m) = ws.match_origin(o) {
                d.set(Kind::WebsocketAllowed, Reason::WebsocketOriginAllowed);
                d.origin_match = Some(m);
                return;
            }
            if ws.same_origin {
                if let (Some(a), Some(h)) = (origin_authority(o), request_host(headers, authority))
                {
                    if a == h {
                        return d.set(Kind::WebsocketAllowed, Reason::WebsocketSameOrigin);
                    }
                }
            }
            d.set(Kind::WebsocketRejected, Reason::WebsocketOriginNotAllowed);
        }
    }
}

/// Go's `CrossOriginProtection.Check` with the policy's named choices (spec/language.md,
/// "csrf"). `Ok` carries why the request passes, `Err` why it is refused.
fn decide_csrf<H>(
    csrf: &Csrf,
    cors: Option<&Cors>,
    method: &str,
    path: &str,
    authority: Option<&str>,
    headers: &H,
) -> Result<Reason, Reason>
where
    H: HeaderLookup + ?Sized,
{
    if matches!(method, "GET" | "HEAD" | "OPTIONS") {
        return Ok(Reason::CsrfSafeMethod);
    }
    // Only a structurally normal path is exempt, on a direct match of its bytes as sent: a
    // path the application could read otherwise (`//`, `%2F`, dot segments) never is, nor
    // one whose pattern part is escaped (`/%68ooks/x`), which a router on the raw path (axum)
    // does not read as the pattern.
    let exempt = || {
        if csrf.exempt.is_empty() {
            return false;
        }
        let mut bufs = PathBuffers::new();
        let Ok(PathForm::Normal(_)) = read_path(path, &mut bufs) else {
            return false;
        };
        let raw = path.split(['?', '#']).next().unwrap_or(path).as_bytes();
        csrf.exempt
            .iter()
            .any(|e| e.method.as_bytes() == method.as_bytes() && e.matches_path(raw))
    };
    let origin = single(headers, RequestHeader::Origin);
    // Trusted: listed, or allowed by the route's cors policy (never through `*`).
    let trusted = |o: &[u8]| {
        if csrf.trusted.get(o).is_some() {
            Some(Reason::CsrfTrustedOrigin)
        } else if cors.is_some_and(|c| !c.any_origin && c.match_origin(o).is_some()) {
            Some(Reason::CsrfCorsOrigin)
        } else {
            None
        }
    };
    let Ok(sfs) = single(headers, RequestHeader::SecFetchSite) else {
        return if exempt() {
            Ok(Reason::CsrfExempt)
        } else {
            Err(Reason::CsrfAmbiguousHeaders)
        };
    };
    match sfs {
        Some(b"same-origin" | b"none") => Ok(Reason::CsrfSameOrigin),
        Some(b"same-site") if csrf.allow_same_site => Ok(Reason::CsrfSameSite),
        Some(v) if !v.is_empty() => {
            if exempt() {
                return Ok(Reason::CsrfExempt);
            }
            match origin {
                Ok(Some(o)) => trusted(o).ok_or(Reason::CsrfCrossSite),
                _ => Err(Reason::CsrfCrossSite),
            }
        }
        _ => match origin {
            Ok(None) => {
                if csrf.reject_missing && !exempt() {
                    Err(Reason::CsrfMissingHeaders)
                } else {
                    Ok(Reason::CsrfNoBrowserHeaders)
                }
            }
            Err(()) => {
                if exempt() {
                    Ok(Reason::CsrfExempt)
                } else {
                    Err(Reason::CsrfAmbiguousHeaders)
                }
            }
            Ok(Some(o)) => {
                let own = if csrf.self_origins.is_empty() {
                    origin_authority(o).is_some_and(|a| request_host(headers, authority) == Some(a))
                } else {
                    csrf.self_origins.get(o).is_some()
                };
                if own {
                    Ok(Reason::CsrfOwnOrigin)
                } else if exempt() {
                    Ok(Reason::CsrfExempt)
                } else {
                    trusted(o).ok_or(Reason::CsrfOriginMismatch)
                }
            }
        },
    }
}

/// Decides the CORS part into `d` (written in place: returning a decision through every level
/// would copy it each time). Records the facts the headers follow from, not the headers.
#[inline(always)]
fn decide_cors<'a, H>(cors: &'a Cors, method: &str, headers: &'a H, d: &mut Decision<'a>)
where
    H: HeaderLookup + ?Sized,
{
    let vary = !cors.is_static_any();
    d.out.cors = Some(cors);
    d.out.vary = vary;
    let mut origins = headers.values(RequestHeader::Origin);
    let (origin, multiple) = match (origins.next(), origins.next()) {
        (None, _) => {
            d.set(Kind::NotCors, Reason::NoOrigin);
            if !vary {
                d.out.shape = Shape::StaticAny;
            }
            return;
        }
        (Some(o), None) => (o, false),
        (Some(o), Some(_)) => (o, true),
    };
    d.out.origin = Some(origin);
    let matched = if multiple {
        None
    } else {
        cors.match_origin(origin)
    };
    let origin_reason = if multiple {
        Reason::MultipleOrigins
    } else {
        Reason::OriginNotAllowed
    };

    if method == "OPTIONS" {
        let mut acrm_lines = headers.values(RequestHeader::RequestMethod);
        if let Some(acrm) = acrm_lines.next() {
            return preflight(
                cors,
                matched,
                origin_reason,
                acrm,
                acrm_lines.next(),
                headers,
                d,
            );
        }
    }

    // Actual request: it reaches the application either way.
    match matched {
        Some(m) => {
            d.set(Kind::ActualAllowed, Reason::OriginAllowed);
            d.origin_match = Some(m);
            d.out.shape = Shape::Actual;
        }
        None => d.set(Kind::ActualNotAllowed, origin_reason),
    }
}

fn preflight<'a, H>(
    cors: &'a Cors,
    matched: Option<crate::OriginMatch>,
    origin_reason: Reason,
    acrm: &'a [u8],
    second_acrm: Option<&'a [u8]>,
    headers: &'a H,
    d: &mut Decision<'a>,
) where
    H: HeaderLookup + ?Sized,
{
    let reject = |d: &mut Decision<'a>, reason: Reason, offending: Option<&'a [u8]>| {
        d.set(Kind::PreflightRejected, reason);
        d.origin_match = matched;
        d.offending = offending;
    };
    // 1. origin
    let Some(m) = matched else {
        return reject(d, origin_reason, None);
    };
    // 2. method: one token, byte-exact.
    if second_acrm.is_some() {
        return reject(d, Reason::RequestMethodInvalid, Some(acrm));
    }
    // A listed (or safelisted) method is a token; only the others need the token check.
    if !cors.method_listed(acrm) {
        if !is_token(acrm) {
            return reject(d, Reason::RequestMethodInvalid, Some(acrm));
        }
        if !cors.any_method {
            return reject(d, Reason::MethodNotAllowed, Some(acrm));
        }
    }
    // 3. headers: one bounded pass over every line.
    let mut lines = 0usize;
    let mut bytes = 0usize;
    let mut names = 0usize;
    for line in headers.values(RequestHeader::RequestHeaders) {
        lines += 1;
        bytes += line.len();
        if lines > MAX_ACRH_LINES || bytes > MAX_ACRH_BYTES {
            return reject(d, Reason::RequestHeadersInvalid, None);
        }
        // Browsers send `a,b,c` with listed names: accepted in one pass when every name is a
        // key of a small set. Anything else (spaces, empty items, unlisted names, too many)
        // takes the general scan below, which alone refuses.
        if let Some(n) = listed_line(&cors.headers, line) {
            if names + n <= MAX_ACRH_NAMES {
                names += n;
                continue;
            }
        }
        for name in NameList::new(line) {
            names += 1;
            if names > MAX_ACRH_NAMES {
                return reject(d, Reason::RequestHeadersInvalid, Some(name));
            }
            // A listed name is a token (and may be Authorization); only the others need checks.
            if cors.headers.get(name).is_none() {
                if !is_token(name) {
                    return reject(d, Reason::RequestHeadersInvalid, Some(name));
                }
                if name.eq_ignore_ascii_case(b"authorization") {
                    return reject(d, Reason::AuthorizationNotListed, Some(name));
                }
                if !cors.any_header {
                    return reject(d, Reason::HeaderNotAllowed, Some(name));
                }
            }
        }
    }
    // 4. success
    d.set(Kind::PreflightOk, Reason::PreflightAllowed);
    d.origin_match = Some(m);
    d.out.shape = Shape::Preflight;
    d.out.method = Some(acrm);
    d.out.names = names > 0;
    if names > 0 && cors.any_header && cors.credentials {
        // `*` is literal with credentials: echo what was asked (every name was checked).
        let (lines, n) = request_header_lines(headers);
        d.out.echo_lines = Some(lines);
        d.out.echo_len = n;
    }
}

/// The request's `Access-Control-Request-Headers` lines that name a header, to echo (a
/// preflight that passed has at most [`MAX_ACRH_LINES`]).
fn request_header_lines<'a, H>(headers: &'a H) -> ([&'a [u8]; MAX_ACRH_LINES], u8)
where
    H: HeaderLookup + ?Sized,
{
    let mut list: [&'a [u8]; MAX_ACRH_LINES] = [&[]; MAX_ACRH_LINES];
    let mut n = 0u8;
    for line in headers.values(RequestHeader::RequestHeaders) {
        if names_a_header(line) {
            if let Some(slot) = list.get_mut(usize::from(n)) {
                *slot = line;
                n += 1;
            }
        }
    }
    (list, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CorsSpec, RouteSpec};
    use std::borrow::Cow;

    #[test]
    fn longest_prefix_probes_only_route_lengths_short_and_long() {
        let long = format!("/{}/", "x".repeat(70));
        let p = Policy::build(
            vec![
                RouteSpec {
                    pattern: "/a/*".into(),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/a/b/c/*".into(),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: format!("{long}*"),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/a/b".into(),
                    ..Default::default()
                },
            ],
            vec![],
        )
        .unwrap();
        assert_eq!(p.route_for("/a/x/y/z").unwrap(), Some(0));
        assert_eq!(p.route_for("/a/b/c/d/e").unwrap(), Some(1));
        assert_eq!(p.route_for("/a/b/c").unwrap(), Some(0));
        assert_eq!(p.route_for("/a/b").unwrap(), Some(3));
        assert_eq!(p.route_for(&format!("{long}q/r")).unwrap(), Some(2));
        assert_eq!(p.route_for(&long[..long.len() - 1]).unwrap(), None);
        assert_eq!(p.route_for("/b/a/").unwrap(), None);
    }

    fn policy() -> Policy {
        Policy::build(
            vec![
                RouteSpec {
                    pattern: "/api/*".into(),
                    cors: Some(0),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/assets/*".into(),
                    cors: Some(1),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/api/open".into(),
                    cors: Some(1),
                    ..Default::default()
                },
                RouteSpec {
                    pattern: "/plain".into(),
                    cors: None,
                    ..Default::default()
                },
            ],
            vec![
                CorsSpec {
                    name: "api".into(),
                    origins: vec!["https://app.example.com".into()],
                    patterns: vec![
                        "https://*.preview.example.com".into(),
                        "http://localhost:*".into(),
                    ],
                    credentials: true,
                    methods: vec!["PUT".into(), "patch".into()],
                    headers: vec!["Content-Type".into(), "Authorization".into()],
                    expose: vec!["X-Total-Count".into()],
                    max_age: Some(7200),
                    ..Default::default()
                },
                CorsSpec {
                    name: "public".into(),
                    any_origin: true,
                    any_header: true,
                    max_age: Some(600),
                    ..Default::default()
                },
            ],
        )
        .unwrap()
    }

    fn hdrs(d: &Decision<'_>) -> Vec<(String, String)> {
        d.headers()
            .iter()
            .map(|h| {
                (
                    h.name.as_str().to_string(),
                    String::from_utf8_lossy(h.value.as_bytes()).into_owned(),
                )
            })
            .collect()
    }

    /// The pattern search piece by piece, for any origin (what `match_origin` does for
    /// origins with a port).
    /// The pattern search's reference: the origin split and checked first, then every candidate
    /// key, in the matcher's order, looked for in the key list itself (no hashing, no probing).
    fn match_by_parts(patterns: &PatternSet, origin: &[u8]) -> Option<OriginMatch> {
        let (scheme, host, port) = split_origin(origin)?;
        let (scheme, host) = (
            std::str::from_utf8(scheme).ok()?,
            std::str::from_utf8(host).ok()?,
        );
        let index = |key: String| {
            patterns
                .keys()
                .iter()
                .position(|k| *k == key)
                .map(|i| OriginMatch::Pattern(i as u32))
        };
        if let Some(m) = index(format!("{scheme}://{host}:*")) {
            return Some(m);
        }
        if host.starts_with('[') {
            return None;
        }
        let port = port.map(|p| format!(":{}", std::str::from_utf8(p).unwrap_or("?")));
        for (i, _) in host.match_indices('.') {
            let suffix = &host[i + 1..];
            let this_port = format!("{scheme}://*.{suffix}{}", port.as_deref().unwrap_or(""));
            if let Some(m) = index(this_port).or_else(|| index(format!("{scheme}://*.{suffix}:*")))
            {
                return Some(m);
            }
        }
        None
    }

    /// The strict origin form, re-stated from spec/language.md section 4 with the standard
    /// library's parsers (no byte classes, no single pass): `scheme "://" host [":" port]` with
    /// a lowercase RFC 3986 scheme; a host of lowercase LDH labels (RFC 1034: 1 to 63 bytes
    /// each, 253 in all) or a bracketed IPv6 literal (std's `Ipv6Addr` grammar, lowercase);
    /// a port of 1 to 65535 written without a leading zero. Origins longer than 328 bytes (a
    /// 64-byte scheme, `://`, a 255-byte host, `:65535`) are never strict.
    fn reference_split(o: &[u8]) -> Option<OriginParts<'_>> {
        if o.len() > 328 {
            return None;
        }
        let s = std::str::from_utf8(o).ok()?;
        let (scheme, rest) = s.split_once("://")?;
        let mut chars = scheme.chars();
        let scheme_ok = chars.next()?.is_ascii_lowercase()
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        if !scheme_ok {
            return None;
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (inner, after) = bracketed.split_once(']')?;
            let ipv6 = inner.parse::<std::net::Ipv6Addr>().is_ok();
            if !ipv6 || inner.chars().any(|c| c.is_ascii_uppercase()) {
                return None;
            }
            (&rest[..inner.len() + 2], after)
        } else {
            let (host, after) = match rest.find(':') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let ldh = |l: &str| {
                (1..=63).contains(&l.len())
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            };
            if host.len() > 253 || !host.split('.').all(ldh) {
                return None;
            }
            (host, after)
        };
        let port = match port {
            "" => None,
            p => {
                let digits = p.strip_prefix(':')?;
                let n: u32 = digits.parse().ok()?;
                let plain = digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
                if !plain || !(1..=65535).contains(&n) {
                    return None;
                }
                Some(digits.as_bytes())
            }
        };
        Some((scheme.as_bytes(), host.as_bytes(), port))
    }

    #[test]
    fn one_pass_origin_split_agrees_with_the_reference() {
        let mut origins: Vec<Vec<u8>> = Vec::new();
        // Every host part of up to 5 bytes over an alphabet with every byte class the host
        // check distinguishes (brackets included), behind "https://".
        for rest in crate::headers::every_string(b"a0-.:[]Z_", 5) {
            origins.push([&b"https://"[..], &rest].concat());
        }
        // Every whole origin of up to 7 bytes over the separators and two host bytes.
        origins.extend(crate::headers::every_string(b"a:/[]1", 7));
        // Schemes, hosts and ports at and around every bound, combined.
        let long_scheme = "a".repeat(70);
        let schemes = [
            "https",
            "http",
            "a",
            "a1+.-",
            "1a",
            "A",
            "htTp",
            "",
            &long_scheme,
        ];
        let mut hosts: Vec<String> = [
            "a",
            "a.b",
            "a-b.c0",
            "-",
            "a..b",
            ".a",
            "a.",
            "A.b",
            "a_b",
            "[::1]",
            "[::]",
            "[1:2:3:4:5:6:7:8]",
            "[1:2:3:4:5:6:7:8:9]",
            "[::ffff:1.2.3.4]",
            "[::FFFF]",
            "[:]",
            "[]",
            "[1]",
            "[::1",
            "[::1]x",
            "[::1]]",
            "[g::1]",
            "[fe80::1%25eth0]",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        for n in [62usize, 63, 64, 120, 252, 253, 254] {
            hosts.push("a".repeat(n));
            let mut labels = "abcdefghi.".repeat(n / 10 + 1);
            labels.truncate(n);
            hosts.push(labels);
        }
        let ports = [
            "", ":", ":0", ":1", ":01", ":443", ":65535", ":65536", ":99999", ":123456", ":8a",
            ":+1", ": 1", "::1",
        ];
        for scheme in schemes {
            for host in &hosts {
                for port in ports {
                    origins.push(format!("{scheme}://{host}{port}").into_bytes());
                }
            }
        }
        let mut strict = 0;
        for o in &origins {
            let want = reference_split(o);
            strict += usize::from(want.is_some());
            assert_eq!(split_origin(o), want, "{:?}", String::from_utf8_lossy(o));
        }
        // The inputs reach both answers, bracketed hosts included.
        assert!(strict > 1_000, "{strict} strict origins");
        assert!(reference_split(b"https://[::1]:8443").is_some());
        assert!(split_origin(b"ht:tp://x").is_none());
        assert!(split_origin(b"https:/x").is_none());
        assert_eq!(
            split_origin(b"https://a.b:8443"),
            Some((&b"https"[..], &b"a.b"[..], Some(&b"8443"[..])))
        );
    }

    #[test]
    fn methods_compared_as_words_are_compared_as_bytes() {
        let naive = |c: &Cors, m: &[u8]| {
            SAFELISTED_METHODS.contains(&m) || c.methods.iter().any(|x| x.as_bytes() == m)
        };
        let lists: [&[&str]; 6] = [
            &[],
            &["PUT", "DELETE"],
            &["PATCH", "PROPFIND", "X"],
            // More than eight, or longer than eight bytes: compared byte by byte.
            &["A", "B", "C", "D", "E", "F", "G", "H", "PUT"],
            &["PUT", "MKCALENDAR"],
            &["PU\0", "X"],
        ];
        let tries: [&[u8]; 20] = [
            b"",
            b"G",
            b"GE",
            b"GET",
            b"GET\0",
            b"\0GET",
            b"G\0ET",
            b"get",
            b"HEAD",
            b"POST",
            b"PUT",
            b"PUTS",
            b"PU\0",
            b"PU",
            b"DELETE",
            b"PATCH",
            b"PROPFIND",
            b"PROPFINDX",
            b"MKCALENDAR",
            b"X",
        ];
        for methods in lists {
            let p = Policy::build(
                vec![],
                vec![CorsSpec {
                    methods: methods.iter().map(|m| m.to_string()).collect(),
                    ..Default::default()
                }],
            )
            .unwrap();
            let c = &p.cors_policies()[0];
            assert_eq!(
                c.method_words.is_some(),
                methods.len() <= 8 && methods.iter().all(|m| m.len() <= 8 && !m.contains('\0')),
                "{methods:?}"
            );
            for m in tries {
                assert_eq!(c.method_listed(m), naive(c, m), "{methods:?} {m:?}");
            }
        }
        // Generated tables: computed in a `const`.
        static METHODS: [Cow<'static, str>; 2] = [Cow::Borrowed("PUT"), Cow::Borrowed("DELETE")];
        const WORDS: Option<[u64; 8]> = crate::policy::method_words(&METHODS);
        assert_eq!(
            WORDS,
            Some([
                u64::from(u32::from_le_bytes(*b"PUT\0")),
                u64::from_le_bytes(*b"DELETE\0\0"),
                0,
                0,
                0,
                0,
                0,
                0
            ])
        );
    }

    #[test]
    fn listed_line_accepts_only_the_canonical_form_of_listed_names() {
        // As `Cors::build` makes it: the names lowercased.
        let p = Policy::build(
            vec![],
            vec![CorsSpec {
                headers: vec!["Content-Type".into(), "x-auth-token".into(), "x-a".into()],
                ..Default::default()
            }],
        )
        .unwrap();
        let set = &p.cors_policies()[0].headers;
        for (line, want) in [
            (&b"content-type"[..], Some(1)),
            (b"content-type,x-auth-token", Some(2)),
            (b"x-a,x-auth-token,content-type", Some(3)),
            // Other case: left to the general scan, which folds it.
            (b"X-AUTH-TOKEN", None),
            (b"Content-Type", None),
            (b"x-a,x-a", Some(2)),
            (b"content-type, x-auth-token", None),
            (b"content-type,,x-a", None),
            (b"content-type,", None),
            (b",x-a", None),
            (b"x-ab", None),
            (b"x-auth-token,authorization", None),
            (b"", None),
        ] {
            assert_eq!(
                listed_line(set, line),
                want,
                "{:?}",
                String::from_utf8_lossy(line)
            );
            // Whatever it accepts, the general scan accepts with the same count.
            if let Some(n) = want {
                let names: Vec<&[u8]> = NameList::new(line).collect();
                assert_eq!(names.len(), n);
                assert!(names.iter().all(|x| set.get(x).is_some()));
            }
        }
        let big = KeySet::new((0..9).map(|i| format!("x-{i}")), true).unwrap();
        assert_eq!(
            listed_line(&big, b"x-1"),
            None,
            "large sets take the general scan"
        );
    }

    #[test]
    fn contiguous_pattern_keys_match_like_pieces() {
        let base = [
            "https://*.example.com",
            "https://*.a.example.com:*",
            "http://*.example.org:8080",
            "https://host.example.net:*",
            "http://*.b.c.d",
            "https://*.xn--bcher-kva.example",
        ];
        let origins = [
            "https://x.example.com",
            "https://x.y.example.com",
            "https://example.com",
            "https://x.a.example.com",
            "https://x.a.example.com:444",
            "http://x.example.org:8080",
            "http://x.example.org",
            "https://host.example.net",
            "https://host.example.net:1",
            "http://a.b.c.d",
            "http://b.c.d",
            "https://[::1]",
            "https://q.xn--bcher-kva.example",
            "https://x.example.com.evil.net",
            "https://",
        ];
        let long = format!("https://{}.example.com", "a".repeat(300));
        for extra in [0usize, 20] {
            let mut keys: Vec<String> = base.iter().map(|k| k.to_string()).collect();
            keys.extend((0..extra).map(|i| format!("https://*.t{i}.example.io")));
            let set = crate::keyset::pattern_set(keys).unwrap();
            for o in origins.iter().map(|o| o.to_string()).chain([long.clone()]) {
                assert_eq!(
                    match_origin(false, &KeySet::EMPTY, &set, o.as_bytes()),
                    match_by_parts(&set, o.as_bytes()),
                    "{o} with {extra} extra patterns"
                );
            }
            assert!(
                match_origin(false, &KeySet::EMPTY, &set, b"https://q.t3.example.io").is_some()
                    == (extra > 0)
            );
        }
    }

    #[test]
    fn probing_before_checking_agrees_with_checking_first() {
        // The matcher checks an origin only when a probe hits; the reference splits and checks
        // every origin first. Every string of up to 5 bytes over an alphabet with every byte
        // class the checks distinguish, in front of and instead of a pattern's host.
        // With a `scheme://host:*` key and without one (the matcher then skips that probe; the
        // reference always looks), each as a small set (scanned) and a large one (probed).
        // (`*.com:*` before `*.com`: when both port forms of a suffix are listed, the
        // default-port one is the match.)
        let with = vec![
            "https://*.com:*",
            "https://*.example.com",
            "https://*.a.example.com:*",
            "https://host.example.net:*",
            "http://*.b.c:8080",
            "https://*.com",
            // Schemes as long as `https` and `http`, one byte off.
            "httpz://*.example.com",
            "xttps://*.example.org",
            "htxp://*.b.c:8080",
        ];
        let without: Vec<_> = with.iter().copied().filter(|k| k.contains("*.")).collect();
        // No `:*` key at all: the matcher then searches without splitting the origin.
        let no_any_port: Vec<_> = with
            .iter()
            .copied()
            .filter(|k| !k.ends_with(":*"))
            .collect();
        let mut hits = 0;
        for (keys, host_any_port, any_port) in [
            (with, true, true),
            (without, false, true),
            (no_any_port, false, false),
        ] {
            for extra in [0, 12] {
                let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                keys.extend((0..extra).map(|i| format!("https://*.t{i}.example.io")));
                let set = crate::keyset::pattern_set(keys).unwrap();
                assert_eq!(set.host_any_port, host_any_port);
                assert_eq!(set.any_port, any_port);
                for s in crate::headers::every_string(b"a0-.:[Z*", 5) {
                    let s = String::from_utf8(s).unwrap();
                    for o in [
                        format!("https://{s}"),
                        format!("https://{s}.example.com"),
                        format!("https://{s}example.com"),
                        format!("https://{s}.a.example.com"),
                        format!("http://{s}.b.c:8080"),
                        format!("https://{s}host.example.net"),
                        format!("https://x.{s}"),
                        format!("http{s}://x.example.com"),
                        format!("http://x.b.c:80{s}"),
                        format!("https://{s}.com:443"),
                        format!("httpz://{s}.example.com"),
                        format!("htxp://{s}.b.c:8080"),
                        format!("https://{s}.example.org"),
                    ] {
                        let got = match_origin(false, &KeySet::EMPTY, &set, o.as_bytes());
                        assert_eq!(got, match_by_parts(&set, o.as_bytes()), "{o}");
                        hits += usize::from(got.is_some());
                    }
                }
            }
        }
        assert!(hits > 1000, "{hits}");
        let set = crate::keyset::pattern_set(vec![
            "https://*.example.com".to_string(),
            "https://*.com".to_string(),
            "https://*.com:8443".to_string(),
        ])
        .unwrap();
        // Labels of 63 and 64 bytes, hosts of 253 and 254, with and without a port.
        let label = |n| "a".repeat(n);
        let with_port = |n| format!("https://{0}.{0}.{0}.{1}.com:8443", label(63), label(n));
        let mut hits = 0;
        for o in [
            with_port(50),
            with_port(57),
            with_port(58),
            format!("https://{}.example.com", label(63)),
            format!("https://{}.example.com", label(64)),
            format!("https://{}.{}.example.com", label(63), label(64)),
            format!(
                "https://{}.{}.{}.example.com",
                label(63),
                label(63),
                label(63)
            ),
            format!(
                "https://{}.{}.{}.{}.com",
                label(63),
                label(63),
                label(63),
                label(57)
            ),
            format!(
                "https://{}.{}.{}.{}.com",
                label(63),
                label(63),
                label(63),
                label(58)
            ),
        ] {
            let got = match_origin(false, &KeySet::EMPTY, &set, o.as_bytes());
            assert_eq!(got, match_by_parts(&set, o.as_bytes()), "{o}");
            hits += usize::from(got.is_some());
        }
        assert_eq!(hits, 5);
    }

    #[test]
    fn only_strict_patterns_are_tables_keys() {
        for ok in [
            "https://*.example.com",
            "https://*.example.com:8443",
            "https://*.example.com:*",
            "https://example.com:*",
            "https://[::1]:*",
            "http://*.xn--bcher-kva.example",
            "chrome-extension://*.abc",
        ] {
            assert!(strict_pattern(ok), "{ok}");
        }
        for bad in [
            "https://example.com",
            "https://*.Example.com",
            "HTTPS://*.example.com",
            "https://*.example.com:0",
            "https://*.example..com",
            "https://*..example.com",
            "https://*.example.com.",
            "https://*.",
            "https://*.example.com:8443:*",
            "https:/*.example.com",
            "*.example.com",
            "",
        ] {
            assert!(!strict_pattern(bad), "{bad}");
        }
        let spec = |p: &str| CorsSpec {
            name: "c".into(),
            patterns: vec![p.into()],
            ..Default::default()
        };
        assert!(Policy::build(vec![], vec![spec("https://*.example.com")]).is_ok());
        assert_eq!(
            Policy::build(vec![], vec![spec("https://*.EXAMPLE.com")]).err(),
            Some(crate::TableError::InvalidPattern(
                "https://*.EXAMPLE.com".into()
            ))
        );
    }

    #[test]
    fn routes_exact_beats_prefix_and_longest_prefix_wins() {
        let p = policy();
        assert_eq!(p.route_for("/api/x"), Ok(Some(0)));
        assert_eq!(p.route_for("/api/open"), Ok(Some(2)));
        assert_eq!(p.route_for("/api/open/x"), Ok(Some(0)));
        assert_eq!(p.route_for("/api"), Ok(None));
        assert_eq!(p.route_for("/assets//x/../y"), Ok(Some(1)));
        assert_eq!(p.route_for("/api/../plain"), Ok(Some(3)));
        assert_eq!(p.route_for("/x"), Ok(None));
    }

    #[test]
    fn the_root_route_is_the_fallback_of_every_path() {
        let route = |pattern: &str| RouteSpec {
            pattern: pattern.into(),
            ..Default::default()
        };
        let long = format!("/{}/*", "l".repeat(70));
        let p = Policy::build(
            vec![
                route("/a/*"),
                route("/*"),
                route("/a/b"),
                route(&long),
                route("/a/c/d/*"),
            ],
            vec![],
        )
        .unwrap();
        assert_eq!(p.root, Some(1));
        let long_path = format!("{}x", &long[..long.len() - 1]);
        for (path, want) in [
            ("/", 1),
            ("/x", 1),
            ("/x/y/z", 1),
            ("/a", 1),
            ("/a/", 0),
            ("/a/z", 0),
            ("/a/b", 2),
            ("/a/b/", 0),
            ("/a/c/d", 0),
            ("/a/c/d/", 4),
            ("/a/c/d/e", 4),
            (long_path.as_str(), 3),
            (&long_path[..long_path.len() - 2], 1),
        ] {
            assert_eq!(p.route_for(path), Ok(Some(want)), "{path}");
        }
        // Generated (borrowed) tables find it at compile time.
        use crate::policy::Route;
        static ROUTES: [Route; 2] = [
            Route::from_raw_parts("/a/*", None, Guards::NONE),
            Route::from_raw_parts("/*", None, Guards::NONE),
        ];
        let keys = KeySet::new(["/a/*".to_string(), "/*".to_string()], false).unwrap();
        let g = Policy::from_raw_parts(
            &ROUTES,
            keys,
            &[],
            &[],
            &[],
            &[],
            &[],
            NonNormalPaths::Reject,
        );
        assert_eq!(g.root, Some(1));
        assert!(!g.only_root);
        assert_eq!(g.route_for("/b/c"), Ok(Some(1)));
        assert_eq!(g.route_for("/a/c"), Ok(Some(0)));
        // Without `/*`, an unmatched path has no route.
        let q = Policy::build(vec![route("/a/*")], vec![]).unwrap();
        assert_eq!(q.root, None);
        assert!(!q.only_root);
        assert_eq!(q.route_for("/b"), Ok(None));
        assert_eq!(q.route_for("/a/b"), Ok(Some(0)));
        // `/*` alone: every normal path is its route, without a lookup; a path that cannot
        // be normalised still has none.
        static ONLY: [Route; 1] = [Route::from_raw_parts("/*", None, Guards::NONE)];
        let keys = KeySet::new(["/*".to_string()], false).unwrap();
        let g =
            Policy::from_raw_parts(&ONLY, keys, &[], &[], &[], &[], &[], NonNormalPaths::Reject);
        let q = Policy::build(vec![route("/*")], vec![]).unwrap();
        for p in [&g, &q] {
            assert!(p.only_root);
            assert_eq!(p.route_for("/"), Ok(Some(0)));
            assert_eq!(p.route_for(&long_path), Ok(Some(0)));
            assert_eq!(p.route_for("/a/%2e%2e/b//c"), Ok(Some(0)));
            assert!(p.route_for("/..").is_err());
            assert!(p.route_for("x").is_err());
        }
        // `/*` beside an exact route, or beside a longer prefix: looked up.
        for other in ["/a", "/a/*"] {
            let p = Policy::build(vec![route("/*"), route(other)], vec![]).unwrap();
            assert!(!p.only_root);
            assert_eq!(
                p.route_for("/a"),
                Ok(Some(usize::from(other == "/a") as u32))
            );
        }
    }

    #[test]
    fn a_route_is_cors_only_with_a_cors_policy_and_nothing_else() {
        use crate::policy::{Route, NOT_CORS_ONLY};
        let none = Guards::NONE;
        assert_eq!(Route::from_raw_parts("/*", Some(3), none).cors_only, 3);
        assert_eq!(
            Route::from_raw_parts("/*", None, none).cors_only,
            NOT_CORS_ONLY
        );
        for g in [
            Guards {
                csp: Some(0),
                ..none
            },
            Guards {
                headers: Some(0),
                ..none
            },
            Guards {
                csrf: Some(0),
                ..none
            },
            Guards {
                websocket: Some(0),
                ..none
            },
        ] {
            assert_eq!(
                Route::from_raw_parts("/*", Some(3), g).cors_only,
                NOT_CORS_ONLY
            );
        }
    }

    #[test]
    fn preflight_ok_echoes_method_and_lists_headers() {
        let p = policy();
        let h = [
            ("Origin", "https://a.b.preview.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            (
                "Access-Control-Request-Headers",
                "authorization,content-type",
            ),
        ];
        let d = p.decide("OPTIONS", "/api/x", &h[..]);
        assert_eq!(d.kind, Kind::PreflightOk, "{:?}", d.reason);
        assert_eq!(d.status(), Some(204));
        assert_eq!(
            hdrs(&d),
            vec![
                (
                    "access-control-allow-origin".into(),
                    "https://a.b.preview.example.com".into()
                ),
                ("access-control-allow-credentials".into(), "true".into()),
                ("access-control-allow-methods".into(), "PUT".into()),
                (
                    "access-control-allow-headers".into(),
                    "Content-Type, Authorization".into()
                ),
                ("access-control-max-age".into(), "7200".into()),
                ("vary".into(), "Origin".into()),
            ]
        );
    }

    #[test]
    fn preflight_refusals() {
        let p = policy();
        let cases: [(&[(&str, &str)], Reason); 7] = [
            (
                &[
                    ("Origin", "https://preview.example.com"),
                    ("Access-Control-Request-Method", "PUT"),
                ],
                Reason::OriginNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://x.preview.example.com.evil.net"),
                    ("Access-Control-Request-Method", "PUT"),
                ],
                Reason::OriginNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://APP.example.com"),
                    ("Access-Control-Request-Method", "PUT"),
                ],
                Reason::OriginNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "PATCH"),
                ],
                Reason::MethodNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "put"),
                ],
                Reason::MethodNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "PUT"),
                    ("Access-Control-Request-Headers", "x-other"),
                ],
                Reason::HeaderNotAllowed,
            ),
            (
                &[
                    ("Origin", "https://app.example.com"),
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "PUT"),
                ],
                Reason::MultipleOrigins,
            ),
        ];
        for (h, reason) in cases {
            let d = p.decide("OPTIONS", "/api/x", h);
            assert_eq!(d.kind, Kind::PreflightRejected, "{h:?}");
            assert_eq!(d.reason, reason, "{h:?}");
            assert_eq!(d.status(), Some(403));
            assert!(d
                .headers()
                .iter()
                .all(|x| !x.name.as_str().starts_with("access-control-")));
        }
    }

    #[test]
    fn wildcard_headers_never_cover_authorization() {
        let p = policy();
        let h = [
            ("Origin", "https://anything.test"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-a, Authorization"),
        ];
        let d = p.decide("OPTIONS", "/assets/x", &h[..]);
        assert_eq!(d.reason, Reason::AuthorizationNotListed);
        let h = [
            ("Origin", "null"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "x-a"),
        ];
        let d = p.decide("OPTIONS", "/assets/x", &h[..]);
        assert_eq!(d.kind, Kind::PreflightOk);
        assert_eq!(
            hdrs(&d),
            vec![
                ("access-control-allow-origin".into(), "*".into()),
                ("access-control-allow-methods".into(), "GET".into()),
                ("access-control-allow-headers".into(), "*".into()),
                ("access-control-max-age".into(), "600".into()),
            ]
        );
    }

    #[test]
    fn actual_requests() {
        let p = policy();
        let d = p.decide("GET", "/api/x", &[("Origin", "http://localhost:3000")][..]);
        assert_eq!(d.kind, Kind::ActualAllowed);
        assert_eq!(d.origin_match, Some(OriginMatch::Pattern(1)));
        assert_eq!(
            hdrs(&d),
            vec![
                (
                    "access-control-allow-origin".into(),
                    "http://localhost:3000".into()
                ),
                ("access-control-allow-credentials".into(), "true".into()),
                (
                    "access-control-expose-headers".into(),
                    "X-Total-Count".into()
                ),
                ("vary".into(), "Origin".into()),
            ]
        );
        let d = p.decide("GET", "/api/x", &[("Origin", "https://evil.test")][..]);
        assert_eq!(d.kind, Kind::ActualNotAllowed);
        assert_eq!(hdrs(&d), vec![("vary".into(), "Origin".into())]);
        // OPTIONS without Access-Control-Request-Method is not a preflight.
        let d = p.decide(
            "OPTIONS",
            "/api/x",
            &[("Origin", "https://app.example.com")][..],
        );
        assert_eq!(d.kind, Kind::ActualAllowed);
        let none: [(&str, &str); 0] = [];
        let d = p.decide("GET", "/api/x", &none[..]);
        assert_eq!(d.kind, Kind::NotCors);
        assert_eq!(hdrs(&d), vec![("vary".into(), "Origin".into())]);
        let d = p.decide("GET", "/assets/x", &none[..]);
        assert_eq!(
            hdrs(&d),
            vec![("access-control-allow-origin".into(), "*".into())]
        );
        let d = p.decide(
            "GET",
            "/plain",
            &[("Origin", "https://app.example.com")][..],
        );
        assert_eq!((d.kind, d.reason), (Kind::NotCors, Reason::NoCorsPolicy));
    }

    #[test]
    fn hostile_request_headers_are_bounded() {
        let p = policy();
        let commas = ",".repeat(1000);
        let h = [
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", commas.as_str()),
        ];
        assert_eq!(
            p.decide("OPTIONS", "/api/x", &h[..]).kind,
            Kind::PreflightOk
        );
        let long = "content-type,".repeat(400);
        let h = [
            ("Origin", "https://app.example.com"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", long.as_str()),
        ];
        assert_eq!(
            p.decide("OPTIONS", "/api/x", &h[..]).reason,
            Reason::RequestHeadersInvalid
        );
    }

    #[test]
    fn runtime_refuses_wildcard_with_credentials() {
        let r = Policy::build(
            vec![],
            vec![CorsSpec {
                name: "x".into(),
                any_origin: true,
                credentials: true,
                ..Default::default()
            }],
        );
        assert!(r.is_err());
    }
}
