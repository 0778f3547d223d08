//! The compiled-policy table types. One type whichever way it was built: at run time from plain
//! data ([`Policy::build`]) or as `static`s written by generated code (the `from_raw_parts`
//! constructors); the evaluator in `eval.rs` only ever sees these.

use std::borrow::Cow;

use http::HeaderValue;

use crate::guards::{
    Csp, CspSpec, Csrf, CsrfSpec, HeaderSet, HeaderSetSpec, WebSocket, WebSocketSpec,
};
use crate::headers::{is_lowercase_token, static_value_opt, value};
use crate::host::HostTable;
use crate::keyset::Str;
use crate::keyset::{refuse, KeySet, TableError};
use crate::origin::PatternSet;
use crate::routes::{build_tables, is_prefix, RouteTable};

/// A compiled policy: routes and the CORS, CSP, header, CSRF and WebSocket policies they
/// point to.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) routes: Cow<'static, [Route]>,
    /// The route search over the routes (key `i` is route `i`'s pattern text).
    pub(crate) table: RouteTable,
    /// Which host block an authority selects.
    pub(crate) host_table: HostTable,
    /// Each host block's route search (block `i + 1` of `host_table` is entry `i`).
    pub(crate) host_routes: Cow<'static, [RouteTable]>,
    /// `hosts dispatched-by-application`.
    pub(crate) hosts_dispatched: bool,
    /// Every host block's route for a path (empty without host blocks, and with
    /// `hosts dispatched-by-application`).
    pub(crate) regions: crate::contrib::Regions,
    pub(crate) cors: Cow<'static, [Cors]>,
    pub(crate) csp: Cow<'static, [Csp]>,
    pub(crate) header_sets: Cow<'static, [HeaderSet]>,
    pub(crate) csrf: Cow<'static, [Csrf]>,
    pub(crate) websocket: Cow<'static, [WebSocket]>,
    /// What a path with dot segments gets (`paths { non-normal ... }`).
    pub(crate) non_normal: NonNormalPaths,
    /// The sets supplied at run time (`origins NAME provided`), by name.
    #[cfg(feature = "provided")]
    pub(crate) provided: Cow<'static, [crate::provided::SetRef]>,
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

/// One `route` block.
#[derive(Debug, Clone)]
pub struct Route {
    pub(crate) pattern: Str,
    pub(crate) prefix: bool,
    pub(crate) cors: Option<u32>,
    pub(crate) guards: Guards,
    /// The cors index when the route has a cors policy and no other ([`NOT_CORS_ONLY`]
    /// otherwise): the layer's fast path reads one field instead of five.
    #[cfg_attr(
        not(feature = "tower"),
        allow(dead_code, reason = "read only by the tower layer and by unit tests")
    )]
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
    /// Sets supplied at run time that this policy's `allow-origins` names.
    #[cfg(feature = "provided")]
    pub(crate) provided: Cow<'static, [crate::provided::SetRef]>,
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
    /// The host block holding the route: an index into [`PolicySpec::hosts`]; `None` at top
    /// level. Routes are grouped: top-level ones first, then each block's, in block order.
    pub host: Option<usize>,
}

/// Plain data for one `host "PATTERN"... { route ... }` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSpec {
    /// Its patterns, lowercase: `api.example.com`, `api.example.net:8443`, `*.example.com`.
    pub patterns: Vec<String>,
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
    /// Sets supplied at run time (`origins NAME provided`). Without the `provided` feature
    /// they stay empty: a cors policy allows none of their origins.
    pub provided: Vec<ProvidedSpec>,
    /// `host` blocks.
    pub hosts: Vec<HostSpec>,
    /// `hosts dispatched-by-application`: the application routes by host itself.
    pub hosts_dispatched: bool,
}

/// Plain data for one set supplied at run time (`origins NAME provided [tenant-bound]
/// [patterns]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvidedSpec {
    /// The set's name.
    pub name: String,
    /// `tenant-bound`: each entry carries its tenant's key.
    pub tenant_bound: bool,
    /// `patterns`: entries may be patterns.
    pub patterns: bool,
}

/// Plain data for one CORS policy, for [`Policy::build`]. The compiler has already checked it;
/// the runtime only refuses what it can never serve safely (`*` with credentials, a header
/// value that is not [`is_header_value`](crate::is_header_value)).
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
    /// Indexes into [`PolicySpec::provided`] of the supplied sets `allow-origins` names.
    pub provided: Vec<usize>,
}

impl Policy {
    /// A policy with no routes: every request is "not CORS".
    pub const EMPTY: Policy = Policy {
        routes: Cow::Borrowed(&[]),
        table: RouteTable::EMPTY,
        host_table: HostTable::EMPTY,
        host_routes: Cow::Borrowed(&[]),
        regions: crate::contrib::Regions::EMPTY,
        hosts_dispatched: false,
        cors: Cow::Borrowed(&[]),
        csp: Cow::Borrowed(&[]),
        header_sets: Cow::Borrowed(&[]),
        csrf: Cow::Borrowed(&[]),
        websocket: Cow::Borrowed(&[]),
        non_normal: NonNormalPaths::Reject,
        #[cfg(feature = "provided")]
        provided: Cow::Borrowed(&[]),
    };

    /// The sets supplied at run time (`origins NAME provided`), in declaration order.
    #[cfg(feature = "provided")]
    pub fn provided_sets(&self) -> &[crate::provided::SetRef] {
        &self.provided
    }

    /// `self` holding `sets` (generated code, through `__private::policy_provided`). The
    /// replaced list is the empty `Borrowed` one of [`Policy::from_raw_parts`]: nothing to
    /// drop (a `const fn` cannot run a destructor).
    #[cfg(feature = "provided")]
    pub(crate) const fn with_provided(mut self, sets: &'static [crate::provided::SetRef]) -> Self {
        std::mem::forget(std::mem::replace(&mut self.provided, Cow::Borrowed(sets)));
        self
    }

    /// The set supplied at run time named `name` (`origins NAME provided`).
    #[cfg(feature = "provided")]
    pub fn provided_set(&self, name: &str) -> Option<&crate::provided::ProvidedSet> {
        self.provided
            .iter()
            .find(|s| s.name() == name)
            .map(|s| &**s)
    }

    /// Replaces the entries of the set supplied at run time named `name`
    /// (every entry checked as an origin in the policy, in the context the policy uses the set
    /// in), refusing besides an exact
    /// entry that a static origins set of a cors policy naming the set already allows (a
    /// supplied entry never covers a static one). `None` when the policy has no such set.
    #[cfg(feature = "provided")]
    pub fn replace_provided<I>(
        &self,
        name: &str,
        entries: I,
    ) -> Option<Result<crate::provided::Report, crate::provided::ReplaceError>>
    where
        I: IntoIterator<Item = crate::provided::SuppliedEntry>,
    {
        let set = self.provided_set(name)?;
        let names_set =
            |refs: &[crate::provided::SetRef]| refs.iter().any(|p| std::ptr::eq(&**p, set));
        let users: Vec<&Cors> = self
            .cors
            .iter()
            .filter(|c| names_set(&c.provided))
            .collect();
        let covered = |o: &[u8]| {
            users.iter().any(|c| {
                crate::origin::match_origin(c.any_origin, &c.origins, &c.patterns, o).is_some()
            })
        };
        let context = guestlist_origins::Context {
            credentials: users.iter().any(|c| c.credentials),
            patterns: set.allows_patterns(),
            csrf: self.csrf.iter().any(|c| names_set(&c.trusted_provided)),
        };
        let statics: Vec<_> = users.iter().map(|c| (&c.origins, &c.patterns)).collect();
        Some(set.replace_checked(entries, context, covered, &statics))
    }

    /// Builds a CORS-only policy from plain data at run time.
    pub fn build(routes: Vec<RouteSpec>, cors: Vec<CorsSpec>) -> Result<Policy, TableError> {
        Policy::from_spec(PolicySpec {
            routes,
            cors,
            ..PolicySpec::default()
        })
    }

    /// Builds a policy from plain data at run time. Refuses (with [`TableError`]) what no
    /// table may hold: indexes out of range, duplicate keys, `*` with credentials, origin
    /// patterns that are not strict, and header names and values that are not ones
    /// ([`is_token`](crate::is_token), [`is_header_value`](crate::is_header_value)).
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
            let prefix = is_prefix(r.pattern.as_bytes());
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
        let patterns: Vec<(&str, Option<usize>)> = spec
            .routes
            .iter()
            .map(|r| (r.pattern.as_str(), r.host))
            .collect();
        let (top, per_block) = build_tables(&patterns, spec.hosts.len())?;
        let host_patterns: Vec<Vec<String>> =
            spec.hosts.iter().map(|h| h.patterns.clone()).collect();
        let host_table = if host_patterns.is_empty() {
            HostTable::EMPTY
        } else {
            HostTable::new(&host_patterns)?
        };
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
        #[cfg(feature = "provided")]
        let provided: Vec<crate::provided::SetRef> = spec
            .provided
            .iter()
            .map(|p| {
                crate::provided::SetRef::Shared(std::sync::Arc::new(
                    crate::provided::ProvidedSet::new(p.name.clone(), p.tenant_bound, p.patterns),
                ))
            })
            .collect();
        // Each policy's supplied sets, by index into `spec.provided` (out of range: refused).
        let n_provided = spec.provided.len();
        let check_refs = |refs: &[usize], what: &'static str| {
            if refs.iter().any(|&i| i >= n_provided) {
                Err(TableError::BadReference(what))
            } else {
                Ok(())
            }
        };
        #[cfg(feature = "provided")]
        let refs_of = |refs: &[usize]| -> Cow<'static, [crate::provided::SetRef]> {
            refs.iter()
                .filter_map(|&i| provided.get(i).cloned())
                .collect::<Vec<_>>()
                .into()
        };
        let mut cors = Vec::with_capacity(spec.cors.len());
        for c in spec.cors {
            check_refs(&c.provided, "cors policy's provided set")?;
            #[cfg(feature = "provided")]
            let refs = refs_of(&c.provided);
            #[cfg_attr(
                not(feature = "provided"),
                expect(unused_mut, reason = "only the provided sets are added")
            )]
            let mut built = Cors::build(c)?;
            #[cfg(feature = "provided")]
            {
                built.provided = refs;
            }
            cors.push(built);
        }
        let mut csrf = Vec::with_capacity(spec.csrf.len());
        for c in spec.csrf {
            check_refs(&c.trusted_provided, "csrf policy's provided set")?;
            #[cfg(feature = "provided")]
            let refs = refs_of(&c.trusted_provided);
            #[cfg_attr(
                not(feature = "provided"),
                expect(unused_mut, reason = "only the provided sets are added")
            )]
            let mut built = Csrf::build(c)?;
            #[cfg(feature = "provided")]
            {
                built.trusted_provided = refs;
            }
            csrf.push(built);
        }
        let mut websocket = Vec::with_capacity(spec.websocket.len());
        for w in spec.websocket {
            check_refs(&w.provided, "websocket policy's provided set")?;
            #[cfg(feature = "provided")]
            let refs = refs_of(&w.provided);
            #[cfg_attr(
                not(feature = "provided"),
                expect(unused_mut, reason = "only the provided sets are added")
            )]
            let mut built = WebSocket::build(w)?;
            #[cfg(feature = "provided")]
            {
                built.provided = refs;
            }
            websocket.push(built);
        }
        let regions = if spec.hosts_dispatched || spec.hosts.is_empty() {
            crate::contrib::Regions::EMPTY
        } else {
            let entries: Vec<crate::contrib::RouteEntry<'_>> = built_routes
                .iter()
                .zip(&spec.routes)
                .map(|(r, s)| crate::contrib::RouteEntry {
                    pattern: r.pattern(),
                    policies: (r.cors, r.guards.csrf, r.guards.websocket),
                    block: s.host,
                })
                .collect();
            crate::contrib::Regions::new(&entries)?
        };
        Ok(Policy {
            regions,
            routes: Cow::Owned(built_routes),
            table: top,
            host_table,
            host_routes: Cow::Owned(per_block),
            hosts_dispatched: spec.hosts_dispatched,
            cors: Cow::Owned(cors),
            csp: all(spec.csp, Csp::build)?,
            header_sets: all(spec.headers, HeaderSet::build)?,
            csrf: Cow::Owned(csrf),
            websocket: Cow::Owned(websocket),
            non_normal: spec.non_normal,
            #[cfg(feature = "provided")]
            provided: Cow::Owned(provided),
        })
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
        &self.table.keys
    }
}

impl Route {
    /// The constructor generated code calls (as `__private::route`, in a `static`); whether
    /// the route is a prefix route comes from its pattern, as in [`Policy::from_spec`].
    pub(crate) const fn from_raw_parts(
        pattern: &'static str,
        cors: Option<u32>,
        guards: Guards,
    ) -> Route {
        Route {
            pattern: Cow::Borrowed(pattern),
            prefix: is_prefix(pattern.as_bytes()),
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

/// Whether `s` is one to ten ASCII digits (a `u32` as `HeaderValue::from` writes it).
const fn is_decimal(s: &[u8]) -> bool {
    let mut rest = s;
    while let [b, tail @ ..] = rest {
        if !b.is_ascii_digit() {
            return false;
        }
        rest = tail;
    }
    !s.is_empty() && s.len() <= 10
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
/// compared byte by byte. Built method by method ([`MethodWords::add`]), the one computation
/// for run-time tables ([`Cors::build`]) and generated ones (at compile time).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MethodWords {
    words: Option<[u64; 8]>,
    len: usize,
}

impl MethodWords {
    /// No method.
    pub(crate) const NONE: MethodWords = MethodWords {
        words: Some([0; 8]),
        len: 0,
    };

    /// The methods so far and `m`.
    pub(crate) const fn add(mut self, m: &str) -> MethodWords {
        self.words = match (self.words, method_word(m.as_bytes())) {
            (Some(mut words), Some(w)) if self.len < 8 => {
                let (_, [slot, ..]) = words.split_at_mut(self.len) else {
                    return MethodWords {
                        words: None,
                        len: self.len,
                    };
                };
                *slot = w;
                Some(words)
            }
            _ => None,
        };
        self.len += 1;
        self
    }

    /// The words, or `None` when the methods do not fit.
    pub(crate) const fn words(self) -> Option<[u64; 8]> {
        self.words
    }
}

/// [`MethodWords`] of a generated table's list (`None` for an owned method, which generated
/// tables never hold).
pub(crate) const fn method_words(methods: &[Str]) -> Option<[u64; 8]> {
    let mut words = MethodWords::NONE;
    let mut rest = methods;
    while let [m, tail @ ..] = rest {
        match m {
            Cow::Borrowed(m) => words = words.add(m),
            Cow::Owned(_) => return None,
        }
        rest = tail;
    }
    words.words()
}

/// One method of [`MethodWords`]: its bytes as a zero-padded little-endian word.
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
        let method_words = spec
            .methods
            .iter()
            .fold(MethodWords::NONE, |w, m| w.add(m))
            .words();
        Ok(Cors {
            method_words,
            origins: KeySet::new(spec.origins, false)?,
            patterns: crate::origin::pattern_set(spec.patterns)?,
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
            #[cfg(feature = "provided")]
            provided: Cow::Borrowed(&[]),
        })
    }

    /// The constructor generated code calls (as `__private::cors`, in a `static`). Refuses,
    /// at compile time, what [`Cors::build`] refuses at run time (`*` with credentials, a
    /// header value that is not [`is_header_value`]) and tables [`Cors::build`] never makes
    /// (exact origins that ignore case, request header names that are not lowercase in a
    /// set that ignores case, a max-age that is not a number); the method words come from the
    /// methods, as [`Cors::build`] computes them. The header values (`allow_headers`,
    /// `expose_headers`) are taken as the code generator wrote them from the same lists.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the struct for generated code"
    )]
    pub(crate) const fn from_raw_parts(
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
        if any_origin && credentials {
            refuse("guestlist: a generated cors table allows origin `*` with credentials");
        }
        if origins.fold_case() {
            refuse("guestlist: a generated cors table's origins ignore case");
        }
        if !headers.fold_case() {
            refuse("guestlist: a generated cors table's request headers do not ignore case");
        }
        if let Some(keys) = headers.borrowed_keys() {
            let mut rest = keys;
            while let [k, tail @ ..] = rest {
                if let Cow::Borrowed(k) = k {
                    if !is_lowercase_token(k.as_bytes()) {
                        refuse("guestlist: a generated cors table's request header names are not lowercase header names");
                    }
                }
                rest = tail;
            }
        }
        if let Some(m) = max_age {
            if !is_decimal(m.as_bytes()) {
                refuse("guestlist: a generated cors table's max-age is not a number of seconds");
            }
        }
        Cors {
            name: Cow::Borrowed(name),
            any_origin,
            origins,
            patterns,
            credentials,
            any_method,
            methods: Cow::Borrowed(methods),
            method_words: method_words(methods),
            any_header,
            headers,
            acah: static_value_opt(allow_headers),
            aceh: static_value_opt(expose_headers),
            max_age: static_value_opt(max_age),
            #[cfg(feature = "provided")]
            provided: Cow::Borrowed(&[]),
        }
    }

    /// The block's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The sets supplied at run time that `allow-origins` names.
    #[cfg(feature = "provided")]
    pub fn provided(&self) -> &[crate::provided::SetRef] {
        &self.provided
    }
    /// `self` with `allow-origins` naming `sets` ([`Policy::with_provided`]).
    #[cfg(feature = "provided")]
    pub(crate) const fn with_provided(mut self, sets: &'static [crate::provided::SetRef]) -> Self {
        std::mem::forget(std::mem::replace(&mut self.provided, Cow::Borrowed(sets)));
        self
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
    pub fn allow_headers_value(&self) -> Option<&HeaderValue> {
        self.acah.as_ref()
    }
    /// Precomputed `Access-Control-Expose-Headers`.
    pub fn expose_headers_value(&self) -> Option<&HeaderValue> {
        self.aceh.as_ref()
    }
    /// Precomputed `Access-Control-Max-Age`.
    pub fn max_age_value(&self) -> Option<&HeaderValue> {
        self.max_age.as_ref()
    }

    /// `*` without credentials: the answer does not depend on `Origin` (no `Vary`).
    #[inline]
    pub fn is_static_any(&self) -> bool {
        self.any_origin && !self.credentials
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CsrfSpec, HeaderSetSpec, TokenSpec};

    fn csp(parts: &[&str], endpoints: Option<&str>) -> PolicySpec {
        PolicySpec {
            csp: vec![CspSpec {
                name: "c".into(),
                parts: parts.iter().map(|p| p.to_string()).collect(),
                reporting_endpoints: endpoints.map(str::to_string),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn build_refuses_what_no_target_carries() {
        let refused = |spec: PolicySpec| {
            matches!(
                Policy::from_spec(spec),
                Err(TableError::InvalidHeaderValue(_))
            )
        };
        for value in [
            "report-uri https://a.example/r\u{1}x",
            "report-uri https://\u{e4}.example/r",
            "",
            " default-src 'self'",
            "default-src 'self'\t",
        ] {
            assert!(refused(csp(&[value], None)), "{value:?}");
        }
        // With nonces: the value with a nonce in each position.
        assert!(refused(csp(&[" script-src 'nonce-", "'"], None)));
        assert!(refused(csp(&["script-src 'nonce-", "' \u{e4}"], None)));
        assert!(Policy::from_spec(csp(&["script-src 'nonce-", "'"], None)).is_ok());
        assert!(Policy::from_spec(csp(&["'nonce-", ""], None)).is_ok());
        assert!(refused(csp(
            &["default-src 'self'"],
            Some("ep=\"https://\u{e4}.example/r\"")
        )));
        let headers = |name: &str, value: &str| PolicySpec {
            headers: vec![HeaderSetSpec {
                name: "h".into(),
                set: vec![(name.into(), value.into())],
                remove: vec![],
            }],
            ..Default::default()
        };
        assert!(refused(headers("x-frame-options", "DENY\u{1}")));
        assert!(refused(headers("x frame", "DENY")));
        assert!(Policy::from_spec(headers("x-frame-options", "DENY")).is_ok());
        let token = |cookie: &str| PolicySpec {
            csrf: vec![CsrfSpec {
                name: "t".into(),
                token: Some(TokenSpec {
                    header: "X-CSRF-Token".into(),
                    cookie: cookie.into(),
                    bind_cookie: "session".into(),
                    same_site: "Lax".into(),
                    field: "csrf_token".into(),
                    defer_forms: false,
                }),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(refused(token("__Host-csrf; Domain=evil.example")));
        assert!(Policy::from_spec(token("__Host-csrf")).is_ok());
        let cors = |expose: &str| {
            Policy::build(
                vec![],
                vec![CorsSpec {
                    name: "c".into(),
                    expose: vec![expose.into()],
                    ..Default::default()
                }],
            )
        };
        assert!(matches!(
            cors("X-\u{e4}"),
            Err(TableError::InvalidHeaderValue(_))
        ));
        assert!(cors("X-Total").is_ok());
    }

    // The constructors generated code calls refuse the same at run time as at compile time
    // (trybuild shows the compile-time refusals: macros/tests/ui/bad_static_tables.rs).
    #[test]
    #[should_panic(expected = "allows origin `*` with credentials")]
    fn a_static_cors_table_with_wildcard_and_credentials_is_refused() {
        let none = KeySet::from_raw_parts(&[], &[], false);
        let _ = Cors::from_raw_parts(
            "c",
            true,
            none.clone(),
            PatternSet::from_raw_parts(&[], &[]),
            true,
            false,
            &[],
            false,
            KeySet::from_raw_parts(&[], &[], true),
            None,
            None,
            None,
        );
    }

    #[test]
    #[should_panic(expected = "csp table's value is not a header value")]
    fn a_static_nonce_csp_that_is_not_a_header_value_is_refused() {
        // A part that starts with a space: the value, nonces in place, would too.
        static PARTS: [Str; 2] = [Cow::Borrowed(" script-src 'nonce-"), Cow::Borrowed("'")];
        let _ = Csp::from_raw_parts("c", false, &PARTS, None);
    }

    #[test]
    fn static_and_run_time_tables_compute_the_same_metadata() {
        static ROUTES: [Route; 3] = [
            Route::from_raw_parts("/a/*", Some(0), Guards::NONE),
            Route::from_raw_parts("/*", None, Guards::NONE),
            Route::from_raw_parts("/b", None, Guards::NONE),
        ];
        static KEYS: [Str; 3] = [
            Cow::Borrowed("/a/*"),
            Cow::Borrowed("/*"),
            Cow::Borrowed("/b"),
        ];
        static METHODS: [Str; 2] = [Cow::Borrowed("PUT"), Cow::Borrowed("PROPFIND")];
        static PATTERNS: [Str; 2] = [
            Cow::Borrowed("https://*.a.example"),
            Cow::Borrowed("http://localhost:*"),
        ];
        static CORS: [Cors; 1] = [Cors::from_raw_parts(
            "c",
            false,
            KeySet::from_raw_parts(&[], &[], false),
            PatternSet::from_raw_parts(&PATTERNS, &[1, 2, 0, 0]),
            false,
            false,
            &METHODS,
            false,
            KeySet::from_raw_parts(&[], &[], true),
            None,
            None,
            Some("600"),
        )];
        static STATIC: Policy = Policy::from_raw_parts(
            &ROUTES,
            KeySet::from_raw_parts(&KEYS, &[0, 1, 0, 3, 0, 2, 0, 0], false),
            &CORS,
            &[],
            &[],
            &[],
            &[],
            NonNormalPaths::Reject,
            ROUTES.len(),
        );
        let run_time = Policy::build(
            KEYS.iter()
                .enumerate()
                .map(|(i, k)| RouteSpec {
                    pattern: k.to_string(),
                    cors: (i == 0).then_some(0),
                    ..Default::default()
                })
                .collect(),
            vec![CorsSpec {
                name: "c".into(),
                patterns: PATTERNS.iter().map(|p| p.to_string()).collect(),
                methods: METHODS.iter().map(|m| m.to_string()).collect(),
                max_age: Some(600),
                ..Default::default()
            }],
        )
        .unwrap();
        let meta = |p: &Policy| {
            let c = &p.cors[0];
            (
                p.table.has_exact,
                p.table.prefix_lens,
                p.table.long_prefixes,
                p.table.root,
                p.table.only_root,
                p.routes
                    .iter()
                    .map(|r| (r.prefix, r.cors_only))
                    .collect::<Vec<_>>(),
                c.method_words,
                c.patterns.host_any_port,
                c.patterns.any_port,
                c.max_age.clone(),
            )
        };
        assert_eq!(meta(&STATIC), meta(&run_time));
        assert_eq!(
            meta(&STATIC),
            (
                true,
                // `/a/` and `/`: lengths 3 and 1.
                0b101,
                false,
                Some(1),
                false,
                vec![(true, 0), (true, NOT_CORS_ONLY), (false, NOT_CORS_ONLY)],
                Some([
                    u64::from_le_bytes(*b"PUT\0\0\0\0\0"),
                    u64::from_le_bytes(*b"PROPFIND"),
                    0,
                    0,
                    0,
                    0,
                    0,
                    0
                ]),
                true,
                true,
                Some(HeaderValue::from_static("600")),
            )
        );
    }
}
