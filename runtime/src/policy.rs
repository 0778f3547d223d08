//! The compiled-policy table types. One type whichever way it was built: at run time from plain
//! data ([`Policy::build`]) or as `static`s written by generated code (the `from_raw_parts`
//! constructors); the evaluator in `eval.rs` only ever sees these.

use std::borrow::Cow;

use http::HeaderValue;

use crate::guards::{
    Csp, CspSpec, Csrf, CsrfSpec, HeaderSet, HeaderSetSpec, WebSocket, WebSocketSpec,
};
use crate::keyset::{KeySet, PatternSet, TableError};

/// A string owned by a table: borrowed in `static`s, owned when built at run time.
pub type Str = Cow<'static, str>;

/// A compiled policy: routes and the CORS, CSP, header, CSRF and WebSocket policies they
/// point to.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) routes: Cow<'static, [Route]>,
    /// Key `i` is route `i`'s pattern text (`/x` exact, `/x/*` prefix).
    pub(crate) route_keys: KeySet,
    pub(crate) cors: Cow<'static, [Cors]>,
    pub(crate) csp: Cow<'static, [Csp]>,
    pub(crate) header_sets: Cow<'static, [HeaderSet]>,
    pub(crate) csrf: Cow<'static, [Csrf]>,
    pub(crate) websocket: Cow<'static, [WebSocket]>,
    /// Whether any route is exact (otherwise the exact lookup is skipped).
    pub(crate) has_exact: bool,
    /// The lengths of the prefix routes' literal prefixes (`/x/` of `/x/*`): bit `n - 1` for
    /// length `n <= 64`, so the longest-prefix search probes only lengths some route has.
    pub(crate) prefix_lens: u64,
    /// Whether some prefix is longer than 64 bytes (every longer length is then probed).
    pub(crate) long_prefixes: bool,
    /// The `/*` route (prefix `/`), which every normal path falls back to, so that the
    /// longest-prefix search ends without a probe.
    pub(crate) root: Option<u32>,
    /// Whether `/*` is the only route (every normal path is `root`'s, without a lookup).
    pub(crate) only_root: bool,
    /// What a path with dot segments gets (`paths { non-normal ... }`).
    pub(crate) non_normal: NonNormalPaths,
}

/// What a policy does with a path whose fully decoded form has a `.` or `..` segment or a
/// `\` (`paths { non-normal reject | two-readings }`; spec/language.md, "Path forms").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum NonNormalPaths {
    /// `reject`, the default: 400 with `path-not-normal`. Browsers never send such paths.
    #[default]
    Reject,
    /// `two-readings`: decided under the as-sent and the normalised reading, no looser than
    /// either (as every other path that is not structurally normal is).
    TwoReadings,
}

/// [`Policy::prefix_lens`] and [`Policy::long_prefixes`] of a route list.
#[expect(
    clippy::indexing_slicing,
    reason = "a bounded loop in a const fn, where `get` is not const"
)]
const fn prefix_lengths(routes: &[Route]) -> (u64, bool) {
    let mut mask = 0u64;
    let mut long = false;
    let mut i = 0;
    while i < routes.len() {
        if routes[i].prefix {
            match &routes[i].pattern {
                Cow::Borrowed(s) => {
                    let len = s.len().saturating_sub(1);
                    if len >= 1 && len <= 64 {
                        mask |= 1u64 << (len - 1);
                    } else {
                        long = true;
                    }
                }
                // Not reached by generated code (its patterns are borrowed); probe everything.
                Cow::Owned(_) => return (u64::MAX, true),
            }
        }
        i += 1;
    }
    (mask, long)
}

/// The index of the `/*` route of generated tables, if there is one.
#[expect(
    clippy::indexing_slicing,
    reason = "a bounded loop in a const fn, where `get` is not const"
)]
const fn root_route(routes: &[Route]) -> Option<u32> {
    let mut i = 0;
    while i < routes.len() && i < u32::MAX as usize {
        // Generated tables borrow their patterns; `from_spec` finds the route itself.
        if let Cow::Borrowed(s) = &routes[i].pattern {
            let p = s.as_bytes();
            if routes[i].prefix && p.len() == 2 && p[0] == b'/' && p[1] == b'*' {
                return Some(i as u32);
            }
        }
        i += 1;
    }
    None
}

/// Whether the only route is the `/*` one (`root`): no exact route, and no prefix but `/`
/// (bit 0).
const fn only_root(root: Option<u32>, has_exact: bool, prefix_lens: u64, long: bool) -> bool {
    root.is_some() && !has_exact && prefix_lens == 1 && !long
}

#[expect(
    clippy::indexing_slicing,
    reason = "a bounded loop in a const fn, where `get` is not const"
)]
const fn any_exact(routes: &[Route]) -> bool {
    let mut i = 0;
    while i < routes.len() {
        if !routes[i].prefix {
            return true;
        }
        i += 1;
    }
    false
}

/// One `route` block.
#[derive(Debug, Clone)]
pub struct Route {
    pub(crate) pattern: Str,
    pub(crate) prefix: bool,
    pub(crate) cors: Option<u32>,
    pub(crate) guards: Guards,
    /// The cors index when the route has a cors policy and no other ([`NOT_CORS_ONLY`]
    /// otherwise): the layer's fast path reads one field instead of five.
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) cors_only: u32,
}

/// [`Route::cors_only`] of a route with no cors policy, or with another policy too.
pub(crate) const NOT_CORS_ONLY: u32 = u32::MAX;

/// [`Route::cors_only`] for a route's policies.
const fn cors_only(cors: Option<u32>, guards: Guards) -> u32 {
    match (cors, guards) {
        (
            Some(i),
            Guards {
                csp: None,
                headers: None,
                csrf: None,
                websocket: None,
            },
        ) => i,
        _ => NOT_CORS_ONLY,
    }
}

/// The indexes of a route's non-CORS policies (into the policy's tables).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guards {
    /// `csp NAME`.
    pub csp: Option<u32>,
    /// `headers NAME`.
    pub headers: Option<u32>,
    /// `csrf NAME`.
    pub csrf: Option<u32>,
    /// `websocket NAME`.
    pub websocket: Option<u32>,
}

impl Guards {
    /// No guard.
    pub const NONE: Guards = Guards {
        csp: None,
        headers: None,
        csrf: None,
        websocket: None,
    };
}

/// One compiled `cors` block, for one profile.
#[derive(Debug, Clone)]
pub struct Cors {
    pub(crate) name: Str,
    pub(crate) any_origin: bool,
    /// Exact origins, byte-exact serializations.
    pub(crate) origins: KeySet,
    /// Pattern origins: `scheme://*.suffix`, `scheme://*.suffix:port`, `scheme://*.suffix:*`,
    /// `scheme://host:*`.
    pub(crate) patterns: PatternSet,
    pub(crate) credentials: bool,
    pub(crate) any_method: bool,
    pub(crate) methods: Cow<'static, [Str]>,
    /// `methods` as words ([`method_words`]), when they fit.
    pub(crate) method_words: Option<[u64; 8]>,
    pub(crate) any_header: bool,
    /// Explicitly allowed request header names, matched ASCII case-insensitively.
    pub(crate) headers: KeySet,
    /// `Access-Control-Allow-Headers` when it is not echoed.
    pub(crate) acah: Option<HeaderValue>,
    /// `Access-Control-Expose-Headers`.
    pub(crate) aceh: Option<HeaderValue>,
    /// `Access-Control-Max-Age`.
    pub(crate) max_age: Option<HeaderValue>,
}

/// Plain data for one route, for [`Policy::build`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteSpec {
    /// `"/x"` (exact) or `"/x/*"` (everything below `/x/`).
    pub pattern: String,
    /// Index into the policy's CORS list.
    pub cors: Option<usize>,
    /// Index into [`PolicySpec::csp`].
    pub csp: Option<usize>,
    /// Index into [`PolicySpec::headers`].
    pub headers: Option<usize>,
    /// Index into [`PolicySpec::csrf`].
    pub csrf: Option<usize>,
    /// Index into [`PolicySpec::websocket`].
    pub websocket: Option<usize>,
}

/// Plain data for a whole policy, for [`Policy::from_spec`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicySpec {
    /// Routes, in declaration order.
    pub routes: Vec<RouteSpec>,
    /// CORS policies.
    pub cors: Vec<CorsSpec>,
    /// CSP policies.
    pub csp: Vec<CspSpec>,
    /// Security header sets.
    pub headers: Vec<HeaderSetSpec>,
    /// CSRF policies.
    pub csrf: Vec<CsrfSpec>,
    /// WebSocket origin policies.
    pub websocket: Vec<WebSocketSpec>,
    /// `paths { non-normal ... }`.
    pub non_normal: NonNormalPaths,
}

/// Plain data for one CORS policy, for [`Policy::build`]. The compiler has already checked it;
/// the runtime only refuses what it can never serve safely (`*` with credentials).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsSpec {
    /// The block's name (for `explain` and tracing).
    pub name: String,
    /// `allow-origins *`.
    pub any_origin: bool,
    /// Exact origins (canonical serializations).
    pub origins: Vec<String>,
    /// Origin patterns in canonical text: `https://*.example.com`, `https://x.com:*`, ...
    pub patterns: Vec<String>,
    /// `allow-credentials true`.
    pub credentials: bool,
    /// `allow-methods *`.
    pub any_method: bool,
    /// Allowed methods, byte-exact.
    pub methods: Vec<String>,
    /// `allow-headers *` (never covers `Authorization`).
    pub any_header: bool,
    /// Allowed request header names.
    pub headers: Vec<String>,
    /// `expose-headers *`.
    pub expose_any: bool,
    /// Exposed response header names.
    pub expose: Vec<String>,
    /// `max-age` in seconds.
    pub max_age: Option<u32>,
}

impl Policy {
    /// A policy with no routes: every request is "not CORS".
    pub const EMPTY: Policy = Policy {
        routes: Cow::Borrowed(&[]),
        route_keys: KeySet::EMPTY,
        cors: Cow::Borrowed(&[]),
        csp: Cow::Borrowed(&[]),
        header_sets: Cow::Borrowed(&[]),
        csrf: Cow::Borrowed(&[]),
        websocket: Cow::Borrowed(&[]),
        has_exact: false,
        prefix_lens: 0,
        long_prefixes: false,
        root: None,
        only_root: false,
        non_normal: NonNormalPaths::Reject,
    };

    /// Builds a CORS-only policy from plain data at run time.
    pub fn build(routes: Vec<RouteSpec>, cors: Vec<CorsSpec>) -> Result<Policy, TableError> {
        Policy::from_spec(PolicySpec {
            routes,
            cors,
            ..PolicySpec::default()
        })
    }

    /// Builds a policy from plain data at run time.
    pub fn from_spec(spec: PolicySpec) -> Result<Policy, TableError> {
        fn index(
            i: Option<usize>,
            len: usize,
            what: &'static str,
        ) -> Result<Option<u32>, TableError> {
            match i {
                None => Ok(None),
                Some(i) if i < len => u32::try_from(i)
                    .map(Some)
                    .map_err(|_| TableError::TooManyKeys),
                Some(_) => Err(TableError::BadReference(what)),
            }
        }
        let mut built_routes = Vec::with_capacity(spec.routes.len());
        for r in &spec.routes {
            let prefix = r.pattern.ends_with("/*");
            let cors = index(r.cors, spec.cors.len(), "route's cors index")?;
            let guards = Guards {
                csp: index(r.csp, spec.csp.len(), "route's csp index")?,
                headers: index(r.headers, spec.headers.len(), "route's headers index")?,
                csrf: index(r.csrf, spec.csrf.len(), "route's csrf index")?,
                websocket: index(r.websocket, spec.websocket.len(), "route's websocket index")?,
            };
            built_routes.push(Route {
                pattern: Cow::Owned(r.pattern.clone()),
                prefix,
                cors,
                guards,
                cors_only: cors_only(cors, guards),
            });
        }
        let route_keys = KeySet::new(spec.routes.into_iter().map(|r| r.pattern), false)?;
        fn all<S, T>(
            v: Vec<S>,
            f: fn(S) -> Result<T, TableError>,
        ) -> Result<Cow<'static, [T]>, TableError>
        where
            T: Clone,
        {
            v.into_iter()
                .map(f)
                .collect::<Result<Vec<_>, _>>()
                .map(Cow::Owned)
        }
        let has_exact = any_exact(&built_routes);
        let root = built_routes
            .iter()
            .position(|r| r.prefix && r.pattern == "/*")
            .and_then(|i| u32::try_from(i).ok());
        let (mut prefix_lens, mut long_prefixes) = (0u64, false);
        for r in built_routes.iter().filter(|r| r.prefix) {
            match r.pattern.len().saturating_sub(1) {
                len @ 1..=64 => prefix_lens |= 1u64 << (len - 1),
                _ => long_prefixes = true,
            }
        }
        Ok(Policy {
            routes: Cow::Owned(built_routes),
            route_keys,
            cors: all(spec.cors, Cors::build)?,
            csp: all(spec.csp, Csp::build)?,
            header_sets: all(spec.headers, HeaderSet::build)?,
            csrf: all(spec.csrf, Csrf::build)?,
            websocket: all(spec.websocket, WebSocket::build)?,
            has_exact,
            prefix_lens,
            long_prefixes,
            root,
            only_root: only_root(root, has_exact, prefix_lens, long_prefixes),
            non_normal: spec.non_normal,
        })
    }

    /// Used by generated code.
    #[doc(hidden)]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the struct for generated code"
    )]
    pub const fn from_raw_parts(
        routes: &'static [Route],
        route_keys: KeySet,
        cors: &'static [Cors],
        csp: &'static [Csp],
        header_sets: &'static [HeaderSet],
        csrf: &'static [Csrf],
        websocket: &'static [WebSocket],
        non_normal: NonNormalPaths,
    ) -> Policy {
        Policy {
            routes: Cow::Borrowed(routes),
            route_keys,
            cors: Cow::Borrowed(cors),
            csp: Cow::Borrowed(csp),
            header_sets: Cow::Borrowed(header_sets),
            csrf: Cow::Borrowed(csrf),
            websocket: Cow::Borrowed(websocket),
            has_exact: any_exact(routes),
            prefix_lens: prefix_lengths(routes).0,
            long_prefixes: prefix_lengths(routes).1,
            root: root_route(routes),
            only_root: only_root(
                root_route(routes),
                any_exact(routes),
                prefix_lengths(routes).0,
                prefix_lengths(routes).1,
            ),
            non_normal,
        }
    }

    /// What the policy does with a path whose decoded form has dot segments.
    pub fn non_normal_paths(&self) -> NonNormalPaths {
        self.non_normal
    }

    /// The CSP policies.
    pub fn csp_policies(&self) -> &[Csp] {
        &self.csp
    }

    /// The security header sets.
    pub fn header_sets(&self) -> &[HeaderSet] {
        &self.header_sets
    }

    /// The CSRF policies.
    pub fn csrf_policies(&self) -> &[Csrf] {
        &self.csrf
    }

    /// The WebSocket origin policies.
    pub fn websocket_policies(&self) -> &[WebSocket] {
        &self.websocket
    }

    /// The routes, in declaration order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The CORS policies.
    pub fn cors_policies(&self) -> &[Cors] {
        &self.cors
    }

    /// The route key table (for code generation).
    #[doc(hidden)]
    pub fn route_keys(&self) -> &KeySet {
        &self.route_keys
    }
}

impl Route {
    /// Used by generated code.
    #[doc(hidden)]
    pub const fn from_raw_parts(
        pattern: &'static str,
        prefix: bool,
        cors: Option<u32>,
        guards: Guards,
    ) -> Route {
        Route {
            pattern: Cow::Borrowed(pattern),
            prefix,
            cors,
            guards,
            cors_only: cors_only(cors, guards),
        }
    }

    /// The route's CSP, header, CSRF and WebSocket policies.
    pub fn guards(&self) -> Guards {
        self.guards
    }

    /// The pattern as written in the policy (`/x` or `/x/*`).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// Whether this is a prefix route (`/x/*`).
    pub fn is_prefix(&self) -> bool {
        self.prefix
    }

    /// Index of the route's CORS policy.
    pub fn cors(&self) -> Option<u32> {
        self.cors
    }
}

fn value(s: &str) -> Result<HeaderValue, TableError> {
    HeaderValue::from_str(s).map_err(|_| TableError::InvalidHeaderValue(s.to_string()))
}

fn join(items: &[String]) -> Result<Option<HeaderValue>, TableError> {
    if items.is_empty() {
        Ok(None)
    } else {
        value(&items.join(", ")).map(Some)
    }
}

/// Up to eight methods of one to eight bytes, none of them NUL, each as its bytes in a
/// zero-padded little-endian word, and `0` in the unused places (no method is empty, so no
/// method's word is `0`): the preflight compares the request's method with each as one
/// integer (a method that ends in NUL is no listed one). `None` for other lists, which are
/// compared byte by byte. A `const fn` for generated tables' borrowed lists; `Cors::build`
/// uses [`method_words_of`].
#[expect(
    clippy::indexing_slicing,
    reason = "a bounded loop in a const fn, where `get` is not const"
)]
pub(crate) const fn method_words(methods: &[Str]) -> Option<[u64; 8]> {
    if methods.len() > 8 {
        return None;
    }
    let mut words = [0u64; 8];
    let mut i = 0;
    while i < methods.len() {
        words[i] = match &methods[i] {
            Cow::Borrowed(m) => match method_word(m.as_bytes()) {
                Some(w) => w,
                None => return None,
            },
            // Not in generated tables (`String::as_bytes` is not `const` before Rust 1.87).
            Cow::Owned(_) => return None,
        };
        i += 1;
    }
    Some(words)
}

/// [`method_words`] of a list built at run time.
fn method_words_of(methods: &[String]) -> Option<[u64; 8]> {
    let mut words = [0u64; 8];
    if methods.len() > words.len() {
        return None;
    }
    for (w, m) in words.iter_mut().zip(methods) {
        *w = method_word(m.as_bytes())?;
    }
    Some(words)
}

/// One method of [`method_words`]: its bytes as a zero-padded little-endian word.
#[expect(
    clippy::indexing_slicing,
    reason = "a bounded loop in a const fn, where `get` is not const"
)]
const fn method_word(m: &[u8]) -> Option<u64> {
    if m.is_empty() || m.len() > 8 {
        return None;
    }
    let mut w = 0u64;
    let mut j = 0;
    while j < m.len() {
        if m[j] == 0 {
            return None;
        }
        w |= (m[j] as u64) << (8 * j);
        j += 1;
    }
    Some(w)
}

impl Cors {
    fn build(spec: CorsSpec) -> Result<Cors, TableError> {
        if spec.any_origin && spec.credentials {
            return Err(TableError::WildcardWithCredentials(spec.name));
        }
        let acah = if spec.any_header {
            let mut v = String::from("*");
            if spec
                .headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case("authorization"))
            {
                v.push_str(", Authorization");
            }
            Some(value(&v)?)
        } else {
            join(&spec.headers)?
        };
        let aceh = if spec.expose_any && !spec.credentials {
            Some(HeaderValue::from_static("*"))
        } else {
            join(&spec.expose)?
        };
        let method_words = method_words_of(&spec.methods);
        Ok(Cors {
            method_words,
            origins: KeySet::new(spec.origins, false)?,
            patterns: crate::keyset::pattern_set(spec.patterns)?,
            // Lowercase (the set ignores case; browsers send lowercase names, which the
            // preflight's fast path then finds byte for byte).
            headers: KeySet::new(
                spec.headers.into_iter().map(|h| h.to_ascii_lowercase()),
                true,
            )?,
            name: Cow::Owned(spec.name),
            any_origin: spec.any_origin,
            credentials: spec.credentials,
            any_method: spec.any_method,
            methods: Cow::Owned(spec.methods.into_iter().map(Cow::Owned).collect()),
            any_header: spec.any_header,
            acah,
            aceh,
            max_age: spec.max_age.map(HeaderValue::from),
        })
    }

    /// Used by generated code.
    #[doc(hidden)]
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the struct for generated code"
    )]
    pub const fn from_raw_parts(
        name: &'static str,
        any_origin: bool,
        origins: KeySet,
        patterns: KeySet,
        credentials: bool,
        any_method: bool,
        methods: &'static [Str],
        any_header: bool,
        headers: KeySet,
        acah: Option<HeaderValue>,
        aceh: Option<HeaderValue>,
        max_age: Option<HeaderValue>,
    ) -> Cors {
        Cors {
            name: Cow::Borrowed(name),
            any_origin,
            origins,
            patterns: PatternSet::from_keyset(patterns),
            credentials,
            any_method,
            methods: Cow::Borrowed(methods),
            method_words: method_words(methods),
            any_header,
            headers,
            acah,
            aceh,
            max_age,
        }
    }

    /// The block's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Whether every origin is allowed (`*`).
    pub fn any_origin(&self) -> bool {
        self.any_origin
    }
    /// Exact origins.
    pub fn origins(&self) -> &KeySet {
        &self.origins
    }
    /// Origin patterns.
    pub fn patterns(&self) -> &PatternSet {
        &self.patterns
    }
    /// Whether credentials are allowed.
    pub fn credentials(&self) -> bool {
        self.credentials
    }
    /// Whether every method is allowed.
    pub fn any_method(&self) -> bool {
        self.any_method
    }
    /// Allowed methods.
    pub fn methods(&self) -> &[Str] {
        &self.methods
    }
    /// Whether every request header except `Authorization` is allowed.
    pub fn any_header(&self) -> bool {
        self.any_header
    }
    /// Explicitly allowed request headers.
    pub fn headers(&self) -> &KeySet {
        &self.headers
    }
    /// Precomputed `Access-Control-Allow-Headers`.
    pub fn allow_headers_value(&self) -> Option<&str> {
        self.acah.as_ref().and_then(|v| v.to_str().ok())
    }
    /// Precomputed `Access-Control-Expose-Headers`.
    pub fn expose_headers_value(&self) -> Option<&str> {
        self.aceh.as_ref().and_then(|v| v.to_str().ok())
    }
    /// Precomputed `Access-Control-Max-Age`.
    pub fn max_age_value(&self) -> Option<&str> {
        self.max_age.as_ref().and_then(|v| v.to_str().ok())
    }

    /// `*` without credentials: the answer does not depend on `Origin` (no `Vary`).
    #[inline]
    pub fn is_static_any(&self) -> bool {
        self.any_origin && !self.credentials
    }
}
