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

// The modules, bottom up (ARCHITECTURE.md, "Layering"): a module uses only those above it in
// this list.
mod contrib;
mod cors;
mod csrf;
mod decision;
mod eval;
mod generated;
mod guards;
mod headers;
mod host;
mod http_apply;
mod keyset;
#[cfg(feature = "tower")]
mod layer;
mod origin;
mod path;
mod policy;
#[cfg(feature = "provided")]
mod provided;
mod reason;
mod routes;
mod token;
mod websocket;

pub use csrf::is_csrf_safe_method;
pub use decision::{
    CorsHeader, Decision, Echo, FixedValue, Header, Headers, Reading, Readings, TokenOutcome, Value,
};
pub use eval::PathRoutes;
pub use guards::{
    Csp, CspNonce, CspSpec, Csrf, CsrfSpec, Exempt, HeaderSet, HeaderSetSpec, WebSocket,
    WebSocketSpec,
};
pub use headers::MapValues;
pub use headers::{
    is_header_value, is_token, HeaderLookup, NameList, PairValues, RequestHeader, MAX_ACRH_BYTES,
    MAX_ACRH_LINES, MAX_ACRH_NAMES,
};
pub use host::{HostTable, RequestAuthority};
pub use http_apply::{ActualHeaders, GuardHeader, GuardValue, REASON_HEADER};
pub use keyset::Str;
pub use keyset::{KeySet, TableError};
#[cfg(feature = "tower")]
pub use layer::{CsrfTokenUnverified, Layer, RequestBody, ResponseFuture, ServerError, Service};
pub use origin::OriginMatch;
pub use origin::PatternSet;
pub use path::{
    normalize as normalize_path, read_path, PathBuffers, PathError, PathForm, MAX_PATH,
};
pub use policy::{
    Cors, CorsSpec, Guards, HostSpec, NonNormalPaths, Policy, PolicySpec, ProvidedSpec, Route,
    RouteSpec,
};
#[cfg(feature = "provided")]
pub use provided::{
    EntryError, MatchedOrigin, ProvidedSet, ReplaceError, Report, SetRef, SuppliedEntry,
};
pub use reason::{Kind, Reason};
pub use routes::{pattern_covers, pattern_specificity};
pub use token::{
    form_field, mint as mint_csrf_token, CsrfSecret, CsrfToken, FormBody, SecretError, TokenPolicy,
    TokenSpec, DEFAULT_FORM_FIELD, FORM_BODY_LIMIT, TOKEN_LEN,
};

/// What generated code calls, and nothing else: re-exports of `core`/`std`/`http` items (so
/// that a crate shadowing `core` still builds) and the constructors of static tables. Not part
/// of the public API.
///
/// Generated code builds its tables in `static`s, whose initializers are evaluated at compile
/// time, so each constructor's checks run when the user's crate compiles: a table that
/// `Policy::build` would refuse at run time (`*` with credentials, an origin pattern that is
/// not strict, a header name or value that is not one, an index out of range), or whose
/// metadata could disagree with its keys, is a build error naming what is wrong. The metadata
/// (pattern-set flags, route-search lengths, method words, whether a route is a prefix or
/// cors-only, a CSP's whole value) is computed here from the keys by the same `const fn`s that
/// `Policy::build` uses; it is never passed in.
#[doc(hidden)]
pub mod __private {
    pub use http::{HeaderName, HeaderValue};
    pub use std::borrow::Cow;
    pub use std::option::Option;

    pub use crate::contrib::Regions;
    pub use crate::routes::RouteTable;
    use crate::{
        Cors, Csp, Csrf, Exempt, Guards, HeaderSet, HostTable, KeySet, NonNormalPaths, PatternSet,
        Policy, Route, Str, TokenPolicy, WebSocket,
    };

    /// The table layout version generated code was written for (hash function, slot layout,
    /// the constructors' signatures).
    pub const TABLE_FORMAT: u32 = 7;

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

    /// A key table whose slots `KeySet::new` laid out.
    pub const fn key_set(
        keys: &'static [Cow<'static, str>],
        slots: &'static [u32],
        fold_case: bool,
    ) -> KeySet {
        KeySet::from_raw_parts(keys, slots, fold_case)
    }

    /// An origin pattern table whose slots the runtime laid out.
    pub const fn pattern_set(
        keys: &'static [Cow<'static, str>],
        slots: &'static [u32],
    ) -> PatternSet {
        PatternSet::from_raw_parts(keys, slots)
    }

    /// A header value ([`crate::is_header_value`]).
    pub const fn header_value(value: &'static str) -> HeaderValue {
        crate::headers::static_value(value)
    }

    /// A header name (a lowercase token).
    pub const fn header_name(name: &'static str) -> HeaderName {
        crate::headers::static_name(name)
    }

    /// A route (`"/x"` exact, `"/x/*"` prefix).
    pub const fn route(pattern: &'static str, cors: Option<u32>, guards: Guards) -> Route {
        Route::from_raw_parts(pattern, cors, guards)
    }

    /// A policy: routes, their keys, and the tables they point into.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the struct for generated code"
    )]
    pub const fn policy(
        routes: &'static [Route],
        route_keys: KeySet,
        cors: &'static [Cors],
        csp: &'static [Csp],
        header_sets: &'static [HeaderSet],
        csrf: &'static [Csrf],
        websocket: &'static [WebSocket],
        non_normal: NonNormalPaths,
    ) -> Policy {
        Policy::from_raw_parts(
            routes,
            route_keys,
            cors,
            csp,
            header_sets,
            csrf,
            websocket,
            non_normal,
            routes.len(),
        )
    }

    /// A policy with host blocks: `route_keys` are the top-level routes' patterns (the first
    /// routes), each of `host_routes` a block's (the routes after them, block by block).
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the struct for generated code"
    )]
    pub const fn policy_hosts(
        routes: &'static [Route],
        route_keys: KeySet,
        cors: &'static [Cors],
        csp: &'static [Csp],
        header_sets: &'static [HeaderSet],
        csrf: &'static [Csrf],
        websocket: &'static [WebSocket],
        non_normal: NonNormalPaths,
        hosts: HostTable,
        host_routes: &'static [RouteTable],
        regions: Regions,
        dispatched: bool,
    ) -> Policy {
        let top = match route_keys.borrowed_keys() {
            Some(k) => k.len(),
            None => usize::MAX,
        };
        Policy::from_raw_parts(
            routes,
            route_keys,
            cors,
            csp,
            header_sets,
            csrf,
            websocket,
            non_normal,
            top,
        )
        .with_hosts(hosts, host_routes, regions, dispatched)
    }

    /// A host block's route table (or the regions'): `keys` the route patterns, numbered
    /// from `offset` in the policy's routes.
    pub const fn route_table(keys: KeySet, offset: u32) -> RouteTable {
        RouteTable::from_static_keys(keys, offset)
    }

    /// The host table: exact patterns and `*.` patterns (without `*.`), each with its block.
    pub const fn host_table(
        exact: KeySet,
        exact_block: &'static [u32],
        suffix: KeySet,
        suffix_block: &'static [u32],
    ) -> HostTable {
        HostTable::from_static(exact, exact_block, suffix, suffix_block)
    }

    /// The contributing routes of each region (spec/language.md, section 6a).
    pub const fn regions(
        table: RouteTable,
        spans: &'static [(u32, u32)],
        routes: &'static [u32],
    ) -> Regions {
        Regions::from_static(table, spans, routes)
    }

    /// A cors policy.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the struct for generated code"
    )]
    pub const fn cors(
        name: &'static str,
        any_origin: bool,
        origins: KeySet,
        patterns: PatternSet,
        credentials: bool,
        any_method: bool,
        methods: &'static [Str],
        any_header: bool,
        headers: KeySet,
        allow_headers: Option<&'static str>,
        expose_headers: Option<&'static str>,
        max_age: Option<&'static str>,
    ) -> Cors {
        Cors::from_raw_parts(
            name,
            any_origin,
            origins,
            patterns,
            credentials,
            any_method,
            methods,
            any_header,
            headers,
            allow_headers,
            expose_headers,
            max_age,
        )
    }

    /// A csp policy: its value split at each nonce, and its `Reporting-Endpoints` value.
    pub const fn csp(
        name: &'static str,
        report_only: bool,
        parts: &'static [Str],
        reporting_endpoints: Option<&'static str>,
    ) -> Csp {
        Csp::from_raw_parts(name, report_only, parts, reporting_endpoints)
    }

    /// A security header set (names and values from [`header_name`] and [`header_value`]).
    pub const fn header_set(
        name: &'static str,
        set: &'static [(HeaderName, HeaderValue)],
        remove: &'static [HeaderName],
    ) -> HeaderSet {
        HeaderSet::from_raw_parts(name, set, remove)
    }

    /// A csrf exemption.
    pub const fn exempt(method: &'static str, pattern: &'static str) -> Exempt {
        Exempt::from_raw_parts(method, pattern)
    }

    /// A csrf policy.
    pub const fn csrf(
        name: &'static str,
        trusted: KeySet,
        self_origins: KeySet,
        allow_same_site: bool,
        reject_missing: bool,
        exempt: &'static [Exempt],
        token: Option<TokenPolicy>,
    ) -> Csrf {
        Csrf::from_raw_parts(
            name,
            trusted,
            self_origins,
            allow_same_site,
            reject_missing,
            exempt,
            token,
        )
    }

    /// A csrf policy's `token` line.
    pub const fn token_policy(
        header: &'static str,
        cookie: &'static str,
        bind_cookie: &'static str,
        same_site: &'static str,
        field: &'static str,
        defer_forms: bool,
    ) -> TokenPolicy {
        TokenPolicy::from_raw_parts(header, cookie, bind_cookie, same_site, field, defer_forms)
    }

    #[cfg(feature = "provided")]
    pub use crate::provided::{ProvidedSet, SetRef};
    #[cfg(not(feature = "provided"))]
    pub use without_provided::{ProvidedSet, SetRef};

    /// Stand-ins for the types of sets supplied at run time, so that generated code that
    /// declares such sets type-checks without the `provided` feature and fails in one place,
    /// [`provided_set`], with a message naming the feature.
    #[cfg(not(feature = "provided"))]
    mod without_provided {
        /// Stands for `guestlist::ProvidedSet` (feature `provided`).
        #[derive(Debug)]
        pub struct ProvidedSet(());

        /// Stands for `guestlist::SetRef` (feature `provided`).
        #[derive(Debug)]
        pub struct SetRef(pub(in crate::__private) ());
    }

    /// A set supplied at run time (`origins NAME provided [tenant-bound] [patterns]`), empty
    /// until the application replaces it (`Policy::replace_provided`). Without the runtime's
    /// `provided` feature, a build error saying so.
    #[cfg(feature = "provided")]
    pub const fn provided_set(
        name: &'static str,
        tenant_bound: bool,
        patterns: bool,
    ) -> ProvidedSet {
        ProvidedSet::new_static(name, tenant_bound, patterns)
    }

    /// A set supplied at run time: without the runtime's `provided` feature, a build error.
    #[cfg(not(feature = "provided"))]
    #[expect(
        clippy::panic,
        reason = "evaluated at compile time only: a build error, by design"
    )]
    pub const fn provided_set(
        name: &'static str,
        tenant_bound: bool,
        patterns: bool,
    ) -> ProvidedSet {
        let _ = (name, tenant_bound, patterns);
        panic!("guestlist: this policy declares an origin set supplied at run time (`origins NAME provided`): enable the `provided` feature of the guestlist crate (features = [\"provided\"] in Cargo.toml)")
    }

    /// A reference to a `static` set supplied at run time.
    pub const fn set_ref(set: &'static ProvidedSet) -> SetRef {
        #[cfg(feature = "provided")]
        {
            SetRef::Static(set)
        }
        #[cfg(not(feature = "provided"))]
        {
            let _ = set;
            SetRef(())
        }
    }

    /// `policy` holding its sets supplied at run time, in declaration order.
    pub const fn policy_provided(policy: Policy, sets: &'static [SetRef]) -> Policy {
        #[cfg(feature = "provided")]
        {
            policy.with_provided(sets)
        }
        #[cfg(not(feature = "provided"))]
        {
            let _ = sets;
            policy
        }
    }

    /// `cors` with `allow-origins` naming `sets` (of the policy's, by reference).
    pub const fn cors_provided(cors: Cors, sets: &'static [SetRef]) -> Cors {
        #[cfg(feature = "provided")]
        {
            cors.with_provided(sets)
        }
        #[cfg(not(feature = "provided"))]
        {
            let _ = sets;
            cors
        }
    }

    /// `csrf` with `trusted-origins` naming `sets`.
    pub const fn csrf_provided(csrf: Csrf, sets: &'static [SetRef]) -> Csrf {
        #[cfg(feature = "provided")]
        {
            csrf.with_provided(sets)
        }
        #[cfg(not(feature = "provided"))]
        {
            let _ = sets;
            csrf
        }
    }

    /// `websocket` with `allow-origins` naming `sets`.
    pub const fn websocket_provided(websocket: WebSocket, sets: &'static [SetRef]) -> WebSocket {
        #[cfg(feature = "provided")]
        {
            websocket.with_provided(sets)
        }
        #[cfg(not(feature = "provided"))]
        {
            let _ = sets;
            websocket
        }
    }

    /// A websocket policy.
    pub const fn websocket(
        name: &'static str,
        same_origin: bool,
        origins: KeySet,
        patterns: PatternSet,
        allow_missing: bool,
    ) -> WebSocket {
        WebSocket::from_raw_parts(name, same_origin, origins, patterns, allow_missing)
    }
}
