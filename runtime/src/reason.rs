//! Decision kinds and reason codes: what the evaluator says a request was, and why. The
//! codes are stable (`explain --format json`, `test` blocks, the `Guestlist-Reason` header) and
//! listed in spec/language.md section 7b.

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
    /// A request whose authority is ambiguous (two `Host` lines, or a `Host` that differs from
    /// the target's authority): 400 before any host block or route is chosen
    /// (spec/language.md, section 6a).
    HostRejected,
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
            Kind::HostRejected => "host-rejected",
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
            "host-rejected" => Kind::HostRejected,
            _ => return None,
        })
    }

    /// All kinds, in documentation order.
    pub const ALL: [Kind; 10] = [
        Kind::NotCors,
        Kind::ActualAllowed,
        Kind::ActualNotAllowed,
        Kind::PreflightOk,
        Kind::PreflightRejected,
        Kind::CsrfRejected,
        Kind::WebsocketAllowed,
        Kind::WebsocketRejected,
        Kind::PathRejected,
        Kind::HostRejected,
    ];
}

/// Declares `Reason` and [`Reason::ALL`] from one list of variants, so that no variant can be
/// left out of `ALL`.
macro_rules! reasons_and_all {
    ($(#[$m:meta])* pub enum Reason { $($(#[$vm:meta])* $v:ident,)* }) => {
        $(#[$m])*
        pub enum Reason {
            $($(#[$vm])* $v,)*
        }

        impl Reason {
            /// Every reason, in declaration order, which is the order of spec/language.md's
            /// table (section 7b); made from the enum's own list, and a test checks the table
            /// against it.
            pub const ALL: [Reason; [$(Reason::$v),*].len()] = [$(Reason::$v),*];
        }
    };
}

reasons_and_all! {
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
    /// Two `Host` lines, or a `Host` that differs from the request target's authority:
    /// refused with 400 when the policy has a host block.
    HostAmbiguous,
    /// The path reads as two routes (as sent and normalised), and the other reading's route
    /// has no cors policy, so the request is not allowed.
    ReadingsDisagree,
    /// A host block's route for the path (spec/language.md, section 6a) has no cors policy,
    /// or the host selects no route for it, so the request is not allowed.
    HostsDisagree,
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
    /// CSRF token refusal: an urlencoded form post without the header, decided without its
    /// body ([`Policy::decide_full`](crate::Policy::decide_full)), so its token field is
    /// unchecked. The tower layer, seeing this refusal, reads the body and decides again with
    /// it ([`Policy::decide_form`](crate::Policy::decide_form)); no response carries it.
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
}

impl Reason {
    /// The stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::NoRoute => "no-route",
            Reason::PathInvalid => "path-invalid",
            Reason::PathNotNormal => "path-not-normal",
            Reason::HostAmbiguous => "host-ambiguous",
            Reason::ReadingsDisagree => "readings-disagree",
            Reason::HostsDisagree => "hosts-disagree",
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
            Reason::HostAmbiguous => "two Host lines, or a Host that differs from the request target's authority: refused with 400",
            Reason::ReadingsDisagree => "the path reads as two routes (as sent and normalised), and one of them has no cors policy: not allowed",
            Reason::HostsDisagree => "another host block's route for the path has no cors policy, or the request's host has no route for it (the application serves the path on every host): not allowed",
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
            Reason::CsrfTokenInForm => "an urlencoded form post without the token header, decided without its body: its token field is unchecked, so it is refused (the tower layer reads the body and decides again with the field)",
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
