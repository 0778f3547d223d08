//! guestlist runtime: compiled CORS, CSP, security-header, CSRF and WebSocket policy tables
//! and the one evaluator.
//!
//! A [`Policy`] is produced by the guestlist compiler (at build time through generated code,
//! or at run time through [`Policy::build`]); [`Policy::decide`] turns a request into a
//! [`Decision`]: the kind of request, the headers to set, the status when the runtime answers
//! a preflight itself, and a stable reason code. A decision never allocates.
//!
//! ```
//! use guestlist::{CorsSpec, Kind, Policy, RouteSpec};
//!
//! let policy = Policy::build(
//!     vec![RouteSpec { pattern: "/api/*".into(), cors: Some(0), ..Default::default() }],
//!     vec![CorsSpec {
//!         name: "api".into(),
//!         origins: vec!["https://app.example.com".into()],
//!         methods: vec!["PUT".into()],
//!         max_age: Some(7200),
//!         ..Default::default()
//!     }],
//! )?;
//! let request = [
//!     ("Origin", "https://app.example.com"),
//!     ("Access-Control-Request-Method", "PUT"),
//! ];
//! let decision = policy.decide("OPTIONS", "/api/users", &request[..]);
//! assert_eq!(decision.kind, Kind::PreflightOk);
//! assert_eq!(decision.status(), Some(204));
//! # Ok::<(), guestlist::TableError>(())
//! ```

mod eval;
mod guards;
mod headers;
mod http_apply;
mod keyset;
#[cfg(feature = "tower")]
mod layer;
mod path;
mod policy;
mod token;

pub use eval::{
    CorsHeader, Decision, Echo, FixedValue, Header, Kind, OriginMatch, PathRoutes, Reading,
    Readings, Reason, TokenOutcome, Value,
};
pub use guards::{
    Csp, CspNonce, CspSpec, Csrf, CsrfSpec, Exempt, HeaderSet, HeaderSetSpec, WebSocket,
    WebSocketSpec,
};
pub use headers::MapValues;
pub use headers::{
    is_token, HeaderLookup, NameList, PairValues, RequestHeader, MAX_ACRH_BYTES, MAX_ACRH_LINES,
    MAX_ACRH_NAMES,
};
pub use http_apply::{ActualHeaders, GuardHeader, GuardValue, REASON_HEADER};
pub use keyset::{KeySet, PatternSet, TableError};
#[cfg(feature = "tower")]
pub use layer::{CsrfTokenUnverified, Layer, RequestBody, ResponseFuture, Service};
pub use path::{
    normalize as normalize_path, read_path, PathBuffers, PathError, PathForm, MAX_PATH,
};
pub use policy::{
    Cors, CorsSpec, Guards, NonNormalPaths, Policy, PolicySpec, Route, RouteSpec, Str,
};
pub use token::{
    form_field, mint as mint_csrf_token, CsrfSecret, CsrfToken, FormBody, SecretError, TokenPolicy,
    TokenSpec, DEFAULT_FORM_FIELD, FORM_BODY_LIMIT, TOKEN_LEN,
};

/// Re-exports for generated code only; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use http::{HeaderName, HeaderValue};
    pub use std::borrow::Cow;
    pub use std::option::Option;

    /// The table layout version generated code was written for (hash function, slot layout,
    /// `from_raw_parts` signatures).
    pub const TABLE_FORMAT: u32 = 6;

    /// Called by generated code in a `const`, so a runtime/compiler version mismatch fails to
    /// compile instead of misbehaving.
    #[expect(
        clippy::panic,
        reason = "evaluated at compile time only: a build error, by design"
    )]
    pub const fn check_table_format(generated_for: u32) {
        if generated_for != TABLE_FORMAT {
            panic!("guestlist: this policy was generated for another table format; use the same version of guestlist, guestlist-macros and guestlist-compiler");
        }
    }
}
