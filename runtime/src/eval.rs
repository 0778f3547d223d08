//! THE evaluator: request -> [`Decision`]. Every consumer (tower layer, `guestlist explain`,
//! `guestlist test`, the conformance corpus) decides through [`Policy::decide`]; nothing else
//! implements the semantics. Normative text: `spec/language.md`, "Runtime semantics". It reads
//! the path (path.rs), finds each reading's route, and runs the deciders in order: WebSocket,
//! CSRF and token, CORS.

use crate::cors::{decide_cors, decide_cors_all, Source};
use crate::csrf::{check_token, decide_csrf};
use crate::decision::{Decision, Reading, Readings, TokenOutcome};
use crate::headers::HeaderLookup;
use crate::host::RequestAuthority;
use crate::path::{already_normal, read_path, PathBuffers, PathError, PathForm};
use crate::policy::{Cors, Guards, NonNormalPaths, Policy};
use crate::reason::{Kind, Reason};
use crate::routes::RouteTable;
use crate::token::{CsrfSecret, FormBody};
use crate::websocket::{decide_websocket, is_websocket_upgrade};

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

    /// The routes of a request path's readings (spec/language.md, "Path forms"), among the
    /// top-level routes.
    #[inline(always)]
    pub fn routes_for(&self, path: &str) -> Result<PathRoutes, PathError> {
        self.routes_in(&self.table, path)
    }

    /// [`Policy::routes_for`] among the routes of `table` (the top level's or a host
    /// block's).
    #[inline(always)]
    pub(crate) fn routes_in(
        &self,
        table: &RouteTable,
        path: &str,
    ) -> Result<PathRoutes, PathError> {
        match already_normal(path)? {
            Some(p) => Ok(PathRoutes::Normal(table.route_for_normal(p))),
            None => Self::routes_in_slow(table, path),
        }
    }

    /// Paths with escapes, `\`, `//` or a segment that starts with `.`: read in stack buffers,
    /// out of line so the common path does not pay for them.
    #[inline(never)]
    fn routes_in_slow(table: &RouteTable, path: &str) -> Result<PathRoutes, PathError> {
        let mut bufs = PathBuffers::new();
        Ok(match read_path(path, &mut bufs)? {
            PathForm::Normal(p) => PathRoutes::Normal(table.route_for_normal(p)),
            PathForm::TwoReadings {
                as_sent,
                normalised,
                dot_segments,
            } => PathRoutes::TwoReadings {
                as_sent: table.route_for_normal(as_sent),
                normalised: table.route_for_normal(normalised),
                dot_segments,
            },
        })
    }

    /// The route table a request's authority selects (spec/language.md, section 6a): a host
    /// block's, or the top level's; `None` when the authority is ambiguous.
    #[inline]
    fn table_for<H>(&self, target: Option<&str>, headers: &H) -> Option<&RouteTable>
    where
        H: HeaderLookup + ?Sized,
    {
        match RequestAuthority::read(target, headers) {
            RequestAuthority::Ambiguous => None,
            a => {
                let block = a.get().map_or(0, |a| self.host_table.select(a));
                Some(
                    block
                        .checked_sub(1)
                        .and_then(|b| self.host_routes.get(b as usize))
                        .unwrap_or(&self.table),
                )
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
    /// refused with `csrf-token-no-secret`). The request's body is not read: an urlencoded
    /// form post without the token header is refused with `csrf-token-in-form` (its token
    /// field is unchecked; [`Policy::decide_form`] decides with the body), and a form post
    /// on a `defer-forms` route passes as `csrf-token-deferred`, for the application to
    /// verify.
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
    /// post without the token header, on a route whose token policy does not defer forms, is
    /// refused with `csrf-token-in-form` while the body is [`FormBody::Unread`] (as
    /// `decide_full` decides it): nothing verified its token. A caller that can read the body
    /// reads at most [`FORM_BODY_LIMIT`](crate::FORM_BODY_LIMIT) bytes of it and decides
    /// again, and the token field decides (the tower layer does this itself).
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

    /// What route `route` alone decides of a request, as if it were the only route for the
    /// path: its own websocket, csrf, token and CORS checks, none of another route's. Not
    /// how a request is decided (that is [`Policy::decide_form`]); `guestlist explain`
    /// reports with it which contributing route of a policy with host blocks (spec/language.md,
    /// section 6a) refused a request, or what each one allows. A route index out of range
    /// decides nothing (`no-route`).
    #[expect(
        clippy::too_many_arguments,
        reason = "the route, then the request's parts as decide_form takes them"
    )]
    pub fn decide_route_alone<'a, H>(
        &'a self,
        route: u32,
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
        let mut d = Decision::new(Kind::NotCors, Reason::NoRoute);
        if self.routes.get(route as usize).is_some() {
            let request = Request {
                method,
                path,
                authority,
                headers,
                secret,
                form,
            };
            self.decide_route(route, &request, &mut d);
        }
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
        if !self.host_routes.is_empty() {
            return self.decide_hosted(&request, d);
        }
        self.decide_in_table(&self.table, &request, d);
    }

    /// [`Policy::decide_in`] for a policy with host blocks: the table the request's
    /// authority selects, and the contributing routes unless the application dispatches by
    /// host.
    #[inline(never)]
    fn decide_hosted<'a, H>(&'a self, rq: &Request<'a, '_, H>, d: &mut Decision<'a>)
    where
        H: HeaderLookup + ?Sized,
    {
        let Some(table) = self.table_for(rq.authority, rq.headers) else {
            self.refuse_host(d);
            return;
        };
        if self.regions.spans.is_empty() {
            self.decide_in_table(table, rq, d);
        } else {
            self.decide_contributing(table, rq, d);
        }
    }

    /// A request decided by `table`'s route for its path (for each reading) alone.
    #[inline(always)]
    fn decide_in_table<'a, H>(
        &'a self,
        table: &RouteTable,
        rq: &Request<'a, '_, H>,
        d: &mut Decision<'a>,
    ) where
        H: HeaderLookup + ?Sized,
    {
        match self.routes_in(table, rq.path) {
            Ok(PathRoutes::Normal(Some(route))) => self.decide_route(route, rq, d),
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
            }) => self.decide_two(as_sent, normalised, rq, d),
            Err(_) => self.refuse_path(Reason::PathInvalid, d),
        }
    }

    /// A request whose authority is ambiguous, in a policy with host blocks: 400.
    #[cold]
    fn refuse_host(&self, d: &mut Decision<'_>) {
        d.set(Kind::HostRejected, Reason::HostAmbiguous);
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
    /// reading's (spec/language.md, "Path forms").
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
        self.decide_merged(as_sent, Some(normalised), [&[], &[]], rq, d);
    }

    /// A request in a policy with host blocks and without `hosts dispatched-by-application`
    /// (spec/language.md, section 6a): decided under the route its host selects and under
    /// every host block's route for its path (for each reading of a path that is not
    /// structurally normal).
    #[inline(never)]
    fn decide_contributing<'a, H>(
        &'a self,
        table: &RouteTable,
        rq: &Request<'a, '_, H>,
        d: &mut Decision<'a>,
    ) where
        H: HeaderLookup + ?Sized,
    {
        match already_normal(rq.path) {
            Ok(Some(p)) => self.decide_contributing_normal(table, p, rq, d),
            Ok(None) => self.decide_contributing_slow(table, rq, d),
            Err(_) => self.refuse_path(Reason::PathInvalid, d),
        }
    }

    /// [`Policy::decide_contributing`] for a structurally normal path `p`.
    #[inline(always)]
    fn decide_contributing_normal<'a, H>(
        &'a self,
        table: &RouteTable,
        p: &[u8],
        rq: &Request<'a, '_, H>,
        d: &mut Decision<'a>,
    ) where
        H: HeaderLookup + ?Sized,
    {
        let route = table.route_for_normal(p);
        let hosts = self.regions.for_path(p);
        let selected = route
            .and_then(|r| self.routes.get(r as usize))
            .map(|r| (r.cors, r.guards));
        match route {
            Some(r) if alone(&self.routes, selected, hosts) => {
                self.decide_route(r, rq, d);
            }
            None if hosts.is_empty() => {}
            _ => self.decide_merged(route, None, [hosts, &[]], rq, d),
        }
    }

    /// [`Policy::decide_contributing`] for a path with escapes, `\`, `//` or a segment that
    /// starts with `.`: read in stack buffers, out of line.
    #[inline(never)]
    fn decide_contributing_slow<'a, H>(
        &'a self,
        table: &RouteTable,
        rq: &Request<'a, '_, H>,
        d: &mut Decision<'a>,
    ) where
        H: HeaderLookup + ?Sized,
    {
        let mut bufs = PathBuffers::new();
        match read_path(rq.path, &mut bufs) {
            Ok(PathForm::Normal(p)) => self.decide_contributing_normal(table, p, rq, d),
            Ok(PathForm::TwoReadings { dot_segments, .. })
                if dot_segments && self.non_normal == NonNormalPaths::Reject =>
            {
                self.refuse_path(Reason::PathNotNormal, d);
            }
            Ok(PathForm::TwoReadings {
                as_sent,
                normalised,
                ..
            }) => {
                let hosts = [
                    self.regions.for_path(as_sent),
                    self.regions.for_path(normalised),
                ];
                self.decide_merged(
                    table.route_for_normal(as_sent),
                    Some(table.route_for_normal(normalised)),
                    hosts,
                    rq,
                    d,
                );
            }
            Err(_) => self.refuse_path(Reason::PathInvalid, d),
        }
    }

    /// A request decided under several routes: `first` (the route the request's host selects
    /// for the path, or for its as-sent reading), `second` (for a path that is not
    /// structurally normal: its normalised reading's route) and `hosts` (each reading's
    /// contributing host-block routes). The decision is no looser than any of theirs: every
    /// route's websocket, csrf and token checks run and must pass; CORS is allowed only where
    /// every route allows it, with the stricter settings (spec/language.md, "Path forms" and
    /// section 6a).
    fn decide_merged<'a, H>(
        &'a self,
        first: Option<u32>,
        second: Option<Option<u32>>,
        hosts: [&[u32]; 2],
        rq: &Request<'a, '_, H>,
        d: &mut Decision<'a>,
    ) where
        H: HeaderLookup + ?Sized,
    {
        let parts = |r: Option<u32>| {
            r.and_then(|i| self.routes.get(i as usize))
                .map_or((None, Guards::NONE), |r| (r.cors, r.guards))
        };
        let (cors_s, guards_s) = parts(first);
        let normalised = second.unwrap_or(first);
        let (cors_n, guards_n) = parts(normalised);
        let mut readings = second.map(|route| Readings {
            route,
            cors: cors_n,
            guards: guards_n,
            refused_by: None,
        });
        let one = first.or(normalised);
        let one_policy = first == normalised || (cors_s == cors_n && guards_s == guards_n);
        if one_policy
            && hosts
                .iter()
                .all(|h| alone(&self.routes, one.map(|r| parts(Some(r))), h))
        {
            // One policy, read twice: its checks (an exemption never applies to a path that
            // is not structurally normal).
            if let Some(r) = one {
                self.decide_route(r, rq, d);
            }
            d.route = first;
            d.readings = readings;
            return;
        }
        d.route = first;
        d.guards = guards_s;
        let sources = || {
            // Without a second reading, the selected route is the host's say.
            let by_first = match second {
                Some(_) => Source::Reading(Reading::AsSent),
                None => Source::Host,
            };
            std::iter::once((by_first, first))
                .chain(second.map(|n| (Source::Reading(Reading::Normalised), n)))
                .chain(hosts[0].iter().chain(hosts[1]).map(|&r| {
                    let top = self.is_top_level_route(r);
                    (if top { Source::GuardOnly } else { Source::Host }, Some(r))
                }))
                .map(|(s, r)| (s, parts(r)))
        };
        // The routes whose CORS takes part.
        let cors_sources = || sources().filter(|(s, _)| *s != Source::GuardOnly);
        let table = |i: Option<u32>| i.and_then(|i| self.cors.get(i as usize));
        let refused = |source: Source, readings: &mut Option<Readings>| {
            if let (Source::Reading(r), Some(x)) = (source, readings.as_mut()) {
                x.refused_by = Some(r);
            }
        };
        // WebSocket handshakes: every route's websocket policy must allow it.
        let ws = |g: Guards| g.websocket.and_then(|i| self.websocket.get(i as usize));
        if sources().any(|(_, (_, g))| ws(g).is_some())
            && is_websocket_upgrade(rq.method, rq.headers)
        {
            let mut allowed: Option<Decision<'a>> = None;
            for (source, (_, g)) in sources() {
                let Some(w) = ws(g) else { continue };
                let mut one = Decision::new(Kind::NotCors, Reason::NoRoute);
                decide_websocket(w, rq.authority, rq.headers, &mut one);
                if one.kind == Kind::WebsocketRejected {
                    d.set(one.kind, one.reason);
                    refused(source, &mut readings);
                    d.readings = readings;
                    return;
                }
                allowed.get_or_insert(one);
            }
            if let Some(one) = allowed {
                d.set(one.kind, one.reason);
                d.origin_match = one.origin_match;
            }
            d.readings = readings;
            return;
        }
        // CSRF: every route's check must pass.
        for (source, (cors, g)) in sources() {
            let Some(ci) = g.csrf else { continue };
            match self.check_csrf(ci, table(cors), rq) {
                Ok((r, token)) => {
                    d.csrf_reason.get_or_insert(r);
                    if d.token.is_none() {
                        d.token = token;
                    }
                }
                Err(r) => {
                    d.set(Kind::CsrfRejected, r);
                    // The refusal depends on Origin when any route's CORS answer does.
                    let mut tables = cors_sources().map(|(_, (c, _))| table(c));
                    if let Some(c) = tables.clone().flatten().next() {
                        if !tables.all(|t| t.is_none_or(Cors::is_static_any)) {
                            d.out.cors = Some(c);
                            d.out.vary = true;
                        }
                    }
                    refused(source, &mut readings);
                    d.readings = readings;
                    return;
                }
            }
        }
        d.set(Kind::NotCors, Reason::NoCorsPolicy);
        let mut cors = cors_sources().map(|(_, (c, _))| c);
        if cors.clone().all(|c| c == cors_s) {
            if let (Some(i), Some(c)) = (cors_s, table(cors_s)) {
                decide_cors(c, rq.method, rq.headers, d);
                d.cors = Some(i);
            }
        } else {
            let by = decide_cors_all(
                cors_sources().map(|(s, (c, _))| (s, table(c))),
                rq.method,
                rq.headers,
                d,
            );
            if let Some(by) = by {
                refused(by, &mut readings);
            }
            d.cors = cors.find(Option::is_some).flatten();
        }
        d.readings = readings;
    }
}

impl Policy {
    /// The host block an authority (`Host` or `:authority` value) selects: an index into
    /// [`PolicySpec::hosts`](crate::PolicySpec::hosts); `None` for the top-level routes.
    pub fn host_block(&self, authority: &str) -> Option<usize> {
        (self.host_table.select(authority.as_bytes()) as usize).checked_sub(1)
    }

    /// Every host-block route a request path is decided under besides the selected one (each
    /// reading's, for a path that is not structurally normal): what the tower layer asks again
    /// for a tenant-bound entry.
    #[cfg(all(feature = "provided", feature = "tower"))]
    pub(crate) fn contributing_for<'s>(
        &'s self,
        path: &str,
    ) -> impl Iterator<Item = u32> + Clone + 's {
        let mut found: [&'s [u32]; 2] = [&[], &[]];
        if self.regions.spans.is_empty() {
            // No host block contributes.
        } else if let Ok(Some(p)) = crate::path::already_normal(path) {
            found[0] = self.regions.for_path(p);
        } else {
            let mut bufs = crate::path::PathBuffers::new();
            match crate::path::read_path(path, &mut bufs) {
                Ok(crate::path::PathForm::Normal(p)) => found[0] = self.regions.for_path(p),
                Ok(crate::path::PathForm::TwoReadings {
                    as_sent,
                    normalised,
                    ..
                }) => {
                    found = [
                        self.regions.for_path(as_sent),
                        self.regions.for_path(normalised),
                    ];
                }
                Err(_) => {}
            }
        }
        found.into_iter().flatten().copied()
    }

    /// Whether route `r` is a top-level one (they come first in the policy's routes).
    #[inline]
    pub(crate) fn is_top_level_route(&self, r: u32) -> bool {
        (r as usize) < self.table.keys.len()
    }

    /// [`Policy::contributing_routes`] for every path route pattern `pattern` serves (one of
    /// the policy's route patterns): what the nginx emitter writes per location.
    pub fn contributing_routes_of_pattern(&self, pattern: &str) -> &[u32] {
        self.regions.for_pattern(pattern)
    }

    /// How many host blocks the policy has.
    pub fn host_block_count(&self) -> usize {
        self.host_routes.len()
    }

    /// Whether the policy states `hosts dispatched-by-application`.
    pub fn hosts_dispatched(&self) -> bool {
        self.hosts_dispatched
    }

    /// The routes of a request path's readings among host block `block`'s routes (`None`: the
    /// top-level routes), as [`Policy::routes_for`](crate::Policy::routes_for) finds them among the top-level ones.
    pub fn routes_in_block(
        &self,
        block: Option<usize>,
        path: &str,
    ) -> Result<crate::PathRoutes, crate::PathError> {
        static NONE: RouteTable = RouteTable::EMPTY;
        let table = match block {
            None => &self.table,
            Some(b) => self.host_routes.get(b).unwrap_or(&NONE),
        };
        self.routes_in(table, path)
    }

    /// The host blocks' routes that a structurally normal path (or one reading of a path)
    /// is decided under besides the selected route (spec/language.md, section 6a): one per
    /// distinct cors, csrf and websocket policy, in block order. Empty without host blocks
    /// and with `hosts dispatched-by-application`.
    pub fn contributing_routes(&self, normal_path: &str) -> &[u32] {
        self.regions.for_path(normal_path.as_bytes())
    }
}

/// What a contributing route decides beyond its selected route's: its cors, csrf and
/// websocket policies.
fn tuple(r: &crate::policy::Route) -> (Option<u32>, Option<u32>, Option<u32>) {
    (r.cors, r.guards.csrf, r.guards.websocket)
}

/// Whether a request whose selected route is `selected` (with `guards`' tuple) is decided
/// under it alone: every contributing route has its policies.
#[inline]
fn alone(
    routes: &[crate::policy::Route],
    selected: Option<(Option<u32>, Guards)>,
    contributing: &[u32],
) -> bool {
    match (selected, contributing) {
        (_, []) => true,
        (Some((cors, g)), [one]) => routes
            .get(*one as usize)
            .is_some_and(|r| tuple(r) == (cors, g.csrf, g.websocket)),
        _ => false,
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
    /// a CORS policy and no other policy, decided without building (and then reading back) a
    /// few-hundred-byte [`Decision`]. Its answer is the one [`Policy::decide_full`] gives (the
    /// same route lookup, the same origin matcher, the rules of `decide_cors` for an actual
    /// request; two `Origin` lines allow nothing); a test checks the two request by request.
    /// `None` for every other request, which `decide_full` decides. `origins` are the first two
    /// `Origin` lines.
    #[inline(always)]
    pub(crate) fn decide_common<'a>(
        &'a self,
        options: bool,
        path: &str,
        origins: [Option<&http::HeaderValue>; 2],
    ) -> Option<Common<'a>> {
        if options || !self.host_routes.is_empty() {
            // Preflights, and every request of a policy with host blocks (whose route
            // depends on the authority), take the general path.
            return None;
        }
        // Plain paths only: any other path is read by the general path.
        let route = self.table.route_for_normal(already_normal(path).ok()??)?;
        // `NOT_CORS_ONLY` is out of range.
        let cors = self
            .cors
            .get(self.routes.get(route as usize)?.cors_only as usize)?;
        let star = || crate::decision::STAR;
        let acao = match origins {
            // No `Origin`: `*` only when the answer never depends on it.
            [None, _] => cors.is_static_any().then(star),
            [Some(o), None] => {
                let m = cors.match_origin(o.as_bytes());
                // An entry of a tenant-bound set is handed to the application
                // (`MatchedOrigin`): the general path does that.
                #[cfg(feature = "provided")]
                if let Some(crate::OriginMatch::Provided { set, .. }) = m {
                    if cors
                        .provided
                        .get(set as usize)
                        .is_none_or(|s| s.is_tenant_bound())
                    {
                        return None;
                    }
                }
                let allowed = m.is_some();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cors::tests::policy;
    use crate::keyset::KeySet;
    use crate::RouteSpec;

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
        assert_eq!(p.table.root, Some(1));
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
            2,
        );
        assert_eq!(g.table.root, Some(1));
        assert!(!g.table.only_root);
        assert_eq!(g.route_for("/b/c"), Ok(Some(1)));
        assert_eq!(g.route_for("/a/c"), Ok(Some(0)));
        // Without `/*`, an unmatched path has no route.
        let q = Policy::build(vec![route("/a/*")], vec![]).unwrap();
        assert_eq!(q.table.root, None);
        assert!(!q.table.only_root);
        assert_eq!(q.route_for("/b"), Ok(None));
        assert_eq!(q.route_for("/a/b"), Ok(Some(0)));
        // `/*` alone: every normal path is its route, without a lookup; a path that cannot
        // be normalised still has none.
        static ONLY: [Route; 1] = [Route::from_raw_parts("/*", None, Guards::NONE)];
        let keys = KeySet::new(["/*".to_string()], false).unwrap();
        let g = Policy::from_raw_parts(
            &ONLY,
            keys,
            &[],
            &[],
            &[],
            &[],
            &[],
            NonNormalPaths::Reject,
            1,
        );
        let q = Policy::build(vec![route("/*")], vec![]).unwrap();
        for p in [&g, &q] {
            assert!(p.table.only_root);
            assert_eq!(p.route_for("/"), Ok(Some(0)));
            assert_eq!(p.route_for(&long_path), Ok(Some(0)));
            assert_eq!(p.route_for("/a/%2e%2e/b//c"), Ok(Some(0)));
            assert!(p.route_for("/..").is_err());
            assert!(p.route_for("x").is_err());
        }
        // `/*` beside an exact route, or beside a longer prefix: looked up.
        for other in ["/a", "/a/*"] {
            let p = Policy::build(vec![route("/*"), route(other)], vec![]).unwrap();
            assert!(!p.table.only_root);
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
}
