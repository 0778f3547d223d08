//! `guestlist diff`: what a policy change grants, not how its text changed (spec/diff.md).
//!
//! Both sides are lowered for each profile, and their **access** is compared: which origins
//! may read which routes (with which methods, request headers, exposed headers, credentials,
//! max-age), which may open WebSockets, which cross-site requests the CSRF check lets through,
//! what each route's CSP allows after fallback (CSP Level 3), and how strict each security
//! header is. A grant of NEW that OLD does not contain is **new access**; a grant of OLD that
//! NEW does not contain is **removed access** (the same comparison with the sides swapped).
//!
//! Comparison is exact, by regions: for each host the routes of either side select, the paths
//! are cut into regions by every route pattern and `exempt` pattern of both sides (an exact
//! pattern is its own region; a prefix `/x/*` stands for the paths below it that no longer
//! pattern takes, one fresh path each), and the routes deciding each region are compared: the
//! host's, and every other host block's route the runtime decides the path under
//! ([`guestlist::Policy::contributing_routes`]), a finding from such a merged region kept only
//! when the two sides' tower layers answer its witness differently. Origin
//! containment asks the runtime's own matchers (`Cors::match_origin`,
//! `WebSocket::match_origin`) about each exact origin and about fresh instances of each
//! pattern; route containment is [`guestlist::pattern_covers`]. A request whose decision
//! changed comes with each finding (`witness`): `explain` on OLD and NEW shows the change.

mod csp;
mod headers;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use guestlist::{CorsSpec, CsrfSpec, PolicySpec, RouteSpec, WebSocketSpec};

use crate::ir::{active, OriginRef, Program};
use crate::lower::{lower, Lowered};
use crate::source::Span;
use crate::Compilation;

/// What kind of access a finding is about (spec/diff.md, "Kinds"); each has a rule id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// An origin may now read a route (CORS).
    CorsOrigin,
    /// Credentialed CORS requests are now allowed.
    CorsCredentials,
    /// A method beyond the safelisted ones is now allowed in a preflight.
    CorsMethod,
    /// A request header is now allowed in a preflight.
    CorsHeader,
    /// A response header is now exposed to the calling page.
    CorsExpose,
    /// Preflights are cached longer.
    CorsMaxAge,
    /// A path lost its cors policy: the application's own CORS headers pass.
    CorsUnguarded,
    /// An origin may now open a WebSocket (or the check went away).
    WebsocketOrigin,
    /// A cross-site unsafe request skips the CSRF check.
    CsrfExemption,
    /// An origin is now trusted by the CSRF check.
    CsrfTrusted,
    /// A CSRF setting now lets more through (`same-site allow`, `missing-headers allow`, the
    /// token check gone).
    CsrfSetting,
    /// A path lost its csrf policy.
    CsrfRemoved,
    /// The CSP allows more (a source, a keyword, a directive gone, report-only).
    Csp,
    /// A security header is weaker or gone.
    Header,
    /// A path that no route served is now served by one with a cors policy.
    Route,
    /// `paths { non-normal two-readings }`: paths with dot segments are decided, not refused.
    PathForm,
    /// A cors, csrf or websocket policy now names a set supplied at run time (unbounded).
    Provided,
    /// `hosts dispatched-by-application`: other host blocks' routes no longer contribute.
    Host,
}

impl Kind {
    /// Every kind, in rule-id order.
    pub const ALL: [Kind; 18] = [
        Kind::CorsOrigin,
        Kind::CorsCredentials,
        Kind::CorsMethod,
        Kind::CorsHeader,
        Kind::CorsExpose,
        Kind::CorsMaxAge,
        Kind::CorsUnguarded,
        Kind::WebsocketOrigin,
        Kind::CsrfExemption,
        Kind::CsrfTrusted,
        Kind::CsrfSetting,
        Kind::CsrfRemoved,
        Kind::Csp,
        Kind::Header,
        Kind::Route,
        Kind::PathForm,
        Kind::Provided,
        Kind::Host,
    ];

    /// The kind's name in the output (`cors-origin`, ...).
    pub fn as_str(self) -> &'static str {
        self.info().0
    }

    /// The rule id of the kind's SARIF results (`GL1501`...).
    pub fn rule_id(self) -> &'static str {
        self.info().1
    }

    /// A one-line description of the rule.
    pub fn title(self) -> &'static str {
        self.info().2
    }

    fn info(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Kind::CorsOrigin => ("cors-origin", "GL1501", "an origin may now read a route"),
            Kind::CorsCredentials => (
                "cors-credentials",
                "GL1502",
                "credentialed cross-origin reads are now allowed",
            ),
            Kind::CorsMethod => (
                "cors-method",
                "GL1503",
                "a cross-origin method is now allowed",
            ),
            Kind::CorsHeader => (
                "cors-header",
                "GL1504",
                "a cross-origin request header is now allowed",
            ),
            Kind::CorsExpose => (
                "cors-expose",
                "GL1505",
                "a response header is now exposed to other origins",
            ),
            Kind::CorsMaxAge => ("cors-max-age", "GL1506", "preflights are cached longer"),
            Kind::CorsUnguarded => (
                "cors-unguarded",
                "GL1507",
                "a path lost its cors policy: the application's own CORS headers pass",
            ),
            Kind::WebsocketOrigin => (
                "websocket-origin",
                "GL1508",
                "an origin may now open a WebSocket",
            ),
            Kind::CsrfExemption => (
                "csrf-exemption",
                "GL1509",
                "cross-site requests now skip the CSRF check",
            ),
            Kind::CsrfTrusted => (
                "csrf-trusted",
                "GL1510",
                "an origin is now trusted by the CSRF check",
            ),
            Kind::CsrfSetting => (
                "csrf-setting",
                "GL1511",
                "a CSRF setting now lets more requests through",
            ),
            Kind::CsrfRemoved => ("csrf-removed", "GL1512", "a path lost its CSRF check"),
            Kind::Csp => ("csp", "GL1513", "the Content-Security-Policy allows more"),
            Kind::Header => ("header", "GL1514", "a security header is weaker or gone"),
            Kind::Route => (
                "route",
                "GL1515",
                "a new route serves cross-origin requests",
            ),
            Kind::PathForm => (
                "path-form",
                "GL1516",
                "paths with dot segments are now decided, not refused",
            ),
            Kind::Provided => (
                "provided",
                "GL1517",
                "a policy now allows origins supplied at run time (unbounded)",
            ),
            Kind::Host => (
                "host",
                "GL1518",
                "host blocks' routes no longer guard each other",
            ),
        }
    }
}

/// A request whose decision differs between the two sides.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Witness {
    /// The method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The request headers, in order.
    pub headers: Vec<(String, String)>,
    /// The entries the sets supplied at run time hold when the request is decided (set name,
    /// origin): for a grant through such a set, whose entries the policy does not hold.
    pub supplied: Vec<(String, String)>,
}

/// One grant that one side has and the other has not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind of access.
    pub kind: Kind,
    /// The profile.
    pub profile: String,
    /// The route pattern (of the side holding the grant), when the grant is a route's.
    pub route: Option<String>,
    /// The host pattern, for a grant under a host block.
    pub host: Option<String>,
    /// What the grant is about (an origin, a method, a directive and source, a header): with
    /// the kind, route and host, the finding's identity.
    pub subject: String,
    /// One line for a reviewer.
    pub message: String,
    /// The file (as given to the loader) of the line that grants it.
    pub file: String,
    /// The line (1-based) in that file: NEW's for new access, OLD's for removed access.
    pub line: usize,
    /// The column (1-based).
    pub column: usize,
    /// A request whose decision changed, when one can be sent.
    pub witness: Option<Witness>,
    /// No current route reaches the grant (an unused block, a set no policy names, an
    /// exemption outside every route using it).
    pub latent: bool,
    /// Only browsers without CSP Level 3 honour the grant; it does not fail the diff.
    pub legacy: bool,
}

/// The meaning of a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Grants NEW has and OLD has not.
    pub new_access: Vec<Finding>,
    /// Grants OLD has and NEW has not.
    pub removed_access: Vec<Finding>,
    /// The profiles compared.
    pub profiles: Vec<String>,
}

impl Report {
    /// Whether the change grants new access (latent included, legacy-only grants not).
    pub fn has_new_access(&self) -> bool {
        self.new_access.iter().any(|f| !f.legacy)
    }
}

/// Why two policies cannot be compared.
#[derive(Debug)]
pub enum DiffError {
    /// The side (`"old"` or `"new"`) has errors.
    HasErrors(&'static str),
    /// `--profile` names a profile neither side has.
    UnknownProfile(String),
    /// The runtime refused a side's tables.
    Tables(&'static str, guestlist::TableError),
}

impl std::fmt::Display for DiffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiffError::HasErrors(side) => write!(f, "the {side} policy has errors"),
            DiffError::UnknownProfile(p) => write!(f, "neither policy has a profile `{p}`"),
            DiffError::Tables(side, e) => {
                write!(f, "internal error building the {side} policy's tables: {e}")
            }
        }
    }
}

impl std::error::Error for DiffError {}

/// Compares `old` and `new` for `profile`, or for every profile of either side.
pub fn diff(
    old: &Compilation,
    new: &Compilation,
    profile: Option<&str>,
) -> Result<Report, DiffError> {
    diff_pairs(old, new, profile, Pairs::Matched)
}

/// [`diff`] comparing, in a region several host blocks' routes decide, every route of one
/// side with every route of the other (not only the pairs that can show a grant): the
/// reference a test holds [`diff`] to, cubic in the number of host blocks.
#[doc(hidden)]
pub fn diff_every_pair(
    old: &Compilation,
    new: &Compilation,
    profile: Option<&str>,
) -> Result<Report, DiffError> {
    diff_pairs(old, new, profile, Pairs::Every)
}

/// Which pairs of the routes deciding a region are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pairs {
    /// Every pair but those [`compare_routes`] shows can find nothing: CORS only against
    /// `b`'s selected route and the routes of `b` sharing an origin with it, and two routes
    /// neither selected only when their CSRF or WebSocket checks differ.
    Matched,
    /// Every route of one side with every route of the other.
    Every,
}

fn diff_pairs(
    old: &Compilation,
    new: &Compilation,
    profile: Option<&str>,
    pairs: Pairs,
) -> Result<Report, DiffError> {
    if old.has_errors() {
        return Err(DiffError::HasErrors("old"));
    }
    if new.has_errors() {
        return Err(DiffError::HasErrors("new"));
    }
    let profiles: Vec<String> = match profile {
        Some(p) if old.program.has_profile(p) || new.program.has_profile(p) => vec![p.to_string()],
        Some(p) => return Err(DiffError::UnknownProfile(p.to_string())),
        None => {
            let mut all = old.profiles();
            for p in new.profiles() {
                if !all.contains(&p) {
                    all.push(p);
                }
            }
            all
        }
    };
    let mut report = Report {
        profiles: profiles.clone(),
        ..Report::default()
    };
    for p in &profiles {
        // A profile one side does not name is that side with no profile-specific line, as
        // lowering it gives.
        let lo = lower(&old.program, p).map_err(|e| DiffError::Tables("old", e))?;
        let ln = lower(&new.program, p).map_err(|e| DiffError::Tables("new", e))?;
        let mut app = crate::response::removable(&lo.policy);
        app.extend(crate::response::removable(&ln.policy));
        app.sort();
        app.dedup();
        let o = Side::new(old, &lo, app.clone());
        let n = Side::new(new, &ln, app);
        report.new_access.extend(gained(&o, &n, p, pairs));
        report.removed_access.extend(gained(&n, &o, p, pairs));
    }
    Ok(report)
}

/// One side of the comparison, lowered for one profile.
struct Side<'a> {
    c: &'a Compilation,
    l: &'a Lowered,
    /// The tower layer over the side's tables, built when a witness is first decided.
    layer: std::cell::OnceCell<guestlist::Layer>,
    /// What the layer answered to each witness so far (many candidate findings of a region
    /// several host blocks' routes decide share one).
    answers: std::cell::RefCell<std::collections::HashMap<Witness, Answered>>,
    /// The headers the stand-in application sends with each answer: every name a header set
    /// of either side removes (the same on both sides, so a removal shows).
    app: Vec<String>,
}

/// What a side's tower layer answers to a witness: status, whether the application was
/// called, the response headers without the reason header (a refusal for another reason
/// grants no more), and the application's headers it removed.
type Answered = Option<(u16, bool, Vec<(String, String)>, Vec<String>)>;

/// What `layer` answers to `w` (its supplied sets as they are), the stand-in application
/// sending a line of each of `app` (the names either side's header sets remove).
fn answered(layer: &guestlist::Layer, w: &Witness, app: &[String]) -> Answered {
    let a = crate::response::answer_app(layer, &w.method, &w.path, &w.headers, app).ok()?;
    let headers = a
        .headers
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(guestlist::REASON_HEADER))
        .collect();
    Some((a.status, a.reached_app, headers, a.removed))
}

impl<'a> Side<'a> {
    fn new(c: &'a Compilation, l: &'a Lowered, app: Vec<String>) -> Self {
        Side {
            c,
            l,
            layer: std::cell::OnceCell::new(),
            answers: std::cell::RefCell::default(),
            app,
        }
    }

    /// The answer of the side's tower layer (the one `guestlist explain` sends a request
    /// through) to `w`, with the supplied sets holding `w.supplied`; remembered.
    fn answer(&self, w: &Witness) -> Answered {
        if let Some(a) = self.answers.borrow().get(w) {
            return a.clone();
        }
        let a = self.answer_afresh(w);
        self.answers.borrow_mut().insert(w.clone(), a.clone());
        a
    }

    fn answer_afresh(&self, w: &Witness) -> Answered {
        let filled;
        let layer = if w.supplied.is_empty() {
            self.layer.get_or_init(|| {
                guestlist::Layer::shared(std::sync::Arc::new(self.l.policy.clone()))
            })
        } else {
            // Lowered afresh: a clone of the policy would share its supplied sets.
            let policy = lower(&self.c.program, &self.l.profile).ok()?.policy;
            for (set, origin) in &w.supplied {
                let tenant = policy
                    .provided_set(set)
                    .is_some_and(guestlist::ProvidedSet::is_tenant_bound);
                let entry = guestlist::SuppliedEntry {
                    origin: origin.clone(),
                    key: tenant.then(|| "gl-diff".to_string()),
                };
                // A side that has no such set, or refuses the entry, decides without it.
                let _ = policy.replace_provided(set, [entry]);
            }
            filled = guestlist::Layer::shared(std::sync::Arc::new(policy));
            &filled
        };
        answered(layer, w, &self.app)
    }

    fn spec(&self) -> &'a PolicySpec {
        &self.l.spec
    }

    fn program(&self) -> &'a Program {
        &self.c.program
    }

    /// The file, line and column of `span`.
    fn at(&self, span: Span) -> At {
        self.c.sources.location(span)
    }

    /// Where a finding without a line of its own is anchored: the first file's first line.
    fn top(&self) -> At {
        let name = self
            .c
            .sources
            .files()
            .next()
            .map(|(_, f)| f.name.clone())
            .unwrap_or_default();
        (name, 1, 1)
    }

    /// The host block `authority` selects (the runtime's own choice: an exact pattern, else the
    /// `*.` pattern with the longest domain, spec/language.md section 6a); `None` for the
    /// top-level routes.
    fn select_host(&self, authority: &str) -> Option<usize> {
        self.l.policy.host_block(authority)
    }

    /// The routes of one host block (`None`: the top-level routes), with their indexes.
    fn routes_of(&self, host: Option<usize>) -> Vec<(usize, &'a RouteSpec)> {
        self.spec()
            .routes
            .iter()
            .enumerate()
            .filter(|(_, r)| r.host == host)
            .collect()
    }
}

/// The route among `routes` that serves `path`: the exact one, else the longest prefix.
fn route_for<'r>(routes: &[(usize, &'r RouteSpec)], path: &str) -> Option<(usize, &'r RouteSpec)> {
    let mut best: Option<(usize, &RouteSpec)> = None;
    for &(i, r) in routes {
        if guestlist::pattern_covers(&r.pattern, path) {
            let better = best.is_none_or(|(_, b)| {
                guestlist::pattern_specificity(&r.pattern)
                    > guestlist::pattern_specificity(&b.pattern)
            });
            if better {
                best = Some((i, r));
            }
        }
    }
    best
}

/// A label no pattern of either side contains, for fresh paths, hosts and origins.
fn fresh_label(a: &PolicySpec, b: &PolicySpec) -> String {
    let mut text = String::new();
    for s in [a, b] {
        for r in &s.routes {
            text.push_str(&r.pattern);
            text.push(' ');
        }
        for c in &s.csrf {
            for (_, p) in &c.exempt {
                text.push_str(p);
                text.push(' ');
            }
        }
        for h in &s.hosts {
            for p in &h.patterns {
                text.push_str(p);
                text.push(' ');
            }
        }
        for c in &s.cors {
            for o in c.origins.iter().chain(&c.patterns) {
                text.push_str(o);
                text.push(' ');
            }
        }
        for w in &s.websocket {
            for o in w.origins.iter().chain(&w.patterns) {
                text.push_str(o);
                text.push(' ');
            }
        }
    }
    let mut n = 0u32;
    loop {
        let label = if n == 0 {
            "gl-diff".to_string()
        } else {
            format!("gl-diff{n}")
        };
        if !text.contains(&label) {
            return label;
        }
        n += 1;
    }
}

/// One path for each region the patterns cut: each exact pattern, a fresh path below each
/// prefix, and a fresh path at the root.
fn region_paths(patterns: &BTreeSet<&str>, fresh: &str) -> Vec<String> {
    let mut out = BTreeSet::new();
    out.insert(format!("/{fresh}"));
    for p in patterns {
        match p.strip_suffix('*') {
            Some(prefix) if prefix.ends_with('/') => {
                out.insert(format!("{prefix}{fresh}"));
            }
            _ => {
                out.insert((*p).to_string());
            }
        }
    }
    out.into_iter().collect()
}

/// An instance of a host pattern (`*.` replaced by a fresh label).
fn host_instance(pattern: &str, fresh: &str) -> String {
    match pattern.strip_prefix("*.") {
        Some(rest) => format!("{fresh}.{rest}"),
        None => pattern.to_string(),
    }
}

/// Instances of an origin pattern that stand for all of it: a fresh label for `*.`, a fresh
/// port and no port for `:*` (a set of patterns matching these matches every instance: none
/// of its entries can name a fresh label or port).
fn pattern_instances(pattern: &str, fresh: &str) -> Vec<String> {
    let (base, any_port) = match pattern.strip_suffix(":*") {
        Some(b) => (b, true),
        None => (pattern, false),
    };
    let base = base.replacen("://*.", &format!("://{fresh}."), 1);
    if any_port {
        vec![base.clone(), format!("{base}:47913")]
    } else {
        vec![base]
    }
}

/// The grants of one side's region, under one of the routes that decide its requests.
#[derive(Clone, Copy)]
struct Region<'a> {
    path: &'a str,
    host: Option<&'a str>,
    authority: Option<&'a str>,
    route: Option<(usize, &'a RouteSpec)>,
    /// `route` is the one the host selects (whose CSP and security headers the response
    /// carries); otherwise another host block's route that decides too (spec/language.md,
    /// section 6a).
    selected: bool,
    /// `route` is a top-level route deciding a host block's request: its csrf and websocket
    /// checks apply, its CORS does not.
    guard_only: bool,
}

/// Collects findings for one direction.
struct Out<'s> {
    profile: &'s str,
    fresh: String,
    items: Vec<Finding>,
    seen: HashSet<(Kind, Option<String>, Option<String>, String)>,
    /// The sides (from, to) whose answers judge a witness.
    sides: (&'s Side<'s>, &'s Side<'s>),
    /// Findings are being made from one of several routes deciding a region (host blocks'
    /// contributing routes): each is kept only when its witness is answered differently by
    /// the two sides, so the grant is one the runtime's merged decision gives.
    merged: bool,
    /// Witnesses the two sides answered alike (so no finding they carry is kept): by what the
    /// request may do, and by the whole answer.
    alike: [HashSet<Witness>; 2],
    /// The names of the headers either side's CSPs and header sets write.
    guard_names: HashSet<String>,
    /// Which pairs of a region's deciding routes are compared.
    pairs: Pairs,
    /// In a region several routes decide: the cors table of the route `b`'s host selects
    /// (`None` inside: it has none, so the merged decision allows no CORS).
    b_selected_cors: Option<Option<usize>>,
    /// The pair of routes being compared is not compared for CORS (another block's route of
    /// `b` that allows no origin the selected route allows).
    skip_cors: bool,
}

/// A file, line and column.
type At = (String, usize, usize);

/// What a finding needs besides its kind, subject and message.
struct Place<'a> {
    route: Option<&'a str>,
    host: Option<&'a str>,
    at: At,
    witness: Option<Witness>,
    latent: bool,
    legacy: bool,
}

impl Out<'_> {
    /// [`Out::push`] when `keep`.
    fn push_if(
        &mut self,
        keep: bool,
        kind: Kind,
        subject: String,
        message: String,
        place: Place<'_>,
    ) {
        if keep {
            self.push(kind, subject, message, place);
        }
    }

    fn push(&mut self, kind: Kind, subject: String, message: String, place: Place<'_>) {
        let key = (
            kind,
            place.route.map(str::to_string),
            place.host.map(str::to_string),
            subject.clone(),
        );
        if self.seen.contains(&key) {
            return;
        }
        if self.merged && !place.latent {
            if let Some(w) = &place.witness {
                // A CSP or security header finding is shown by the whole answer; any other by
                // what the request may do (status, the application reached, the headers but
                // the route's CSP and security headers, which the selected route alone sends
                // and [`csp`] and [`headers`] report).
                let whole = matches!(kind, Kind::Csp | Kind::Header);
                let [by_access, by_whole] = &mut self.alike;
                let alike = if whole { by_whole } else { by_access };
                if alike.contains(w) {
                    return;
                }
                let (x, y) = (self.sides.0.answer(w), self.sides.1.answer(w));
                // A CORS grant is one only where the merged decision allows the read: an
                // answer that differs because `b` refuses what `a` allowed grants nothing.
                let cors = matches!(
                    kind,
                    Kind::CorsOrigin
                        | Kind::CorsCredentials
                        | Kind::CorsMethod
                        | Kind::CorsHeader
                        | Kind::CorsExpose
                        | Kind::CorsMaxAge
                        | Kind::Route
                ) || (kind == Kind::Provided && subject.starts_with("cors "));
                let reads = |a: &Answered| {
                    a.as_ref().is_some_and(|(_, _, h, _)| {
                        h.iter()
                            .any(|(n, _)| n.eq_ignore_ascii_case("access-control-allow-origin"))
                    })
                };
                if cors && !reads(&y) {
                    return;
                }
                let same = if whole {
                    x == y
                } else {
                    access(x, &self.guard_names) == access(y, &self.guard_names)
                };
                if same {
                    alike.insert(w.clone());
                    return;
                }
            }
        }
        self.seen.insert(key);
        self.items.push(Finding {
            kind,
            profile: self.profile.to_string(),
            route: place.route.map(str::to_string),
            host: place.host.map(str::to_string),
            subject,
            message,
            file: place.at.0,
            line: place.at.1,
            column: place.at.2,
            witness: place.witness,
            latent: place.latent,
            legacy: place.legacy,
        });
    }
}

/// A request on `region` with `headers` (and its `Host`, under a host block).
fn request(region: &Region<'_>, method: &str, headers: &[(&str, &str)]) -> Witness {
    let mut h: Vec<(String, String)> = Vec::new();
    if let Some(a) = region.authority {
        h.push(("Host".into(), a.to_string()));
    }
    h.extend(
        headers
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string())),
    );
    Witness {
        method: method.to_string(),
        path: region.path.to_string(),
        headers: h,
        supplied: Vec::new(),
    }
}

/// The first set supplied at run time that cors policy `c` names.
fn provided_name(s: &PolicySpec, c: &CorsSpec) -> Option<String> {
    c.provided
        .first()
        .and_then(|i| s.provided.get(*i))
        .map(|p| p.name.clone())
}

/// `w` decided with the supplied set `set` holding the witness's origin.
fn with_supplied(mut w: Witness, set: &str, origin: &str) -> Witness {
    w.supplied.push((set.to_string(), origin.to_string()));
    w
}

/// The grants `b` has and `a` has not, for one profile.
fn gained<'s>(a: &'s Side<'s>, b: &'s Side<'s>, profile: &'s str, pairs: Pairs) -> Vec<Finding> {
    let mut out = Out {
        profile,
        fresh: fresh_label(a.spec(), b.spec()),
        items: Vec::new(),
        seen: HashSet::new(),
        sides: (a, b),
        merged: false,
        alike: [HashSet::new(), HashSet::new()],
        guard_names: guard_names(a.spec(), b.spec()),
        pairs,
        b_selected_cors: None,
        skip_cors: false,
    };
    policy_wide(a, b, &mut out);
    // Every host key: the top level, then each host pattern of either side.
    let mut keys: BTreeSet<String> = BTreeSet::new();
    for s in [a, b] {
        for h in &s.spec().hosts {
            keys.extend(h.patterns.iter().cloned());
        }
    }
    let mut done: HashSet<(Option<usize>, Option<usize>)> = HashSet::new();
    done.insert((None, None));
    compare_routes(a, b, None, None, (None, None), &mut out);
    for key in &keys {
        let authority = host_instance(key, &out.fresh);
        let pair = (a.select_host(&authority), b.select_host(&authority));
        if !done.insert(pair) {
            continue;
        }
        compare_routes(a, b, Some(key), Some(&authority), pair, &mut out);
    }
    latent(a, b, &mut out);
    out.items
}

/// `paths` and `hosts dispatched-by-application`.
fn policy_wide(a: &Side<'_>, b: &Side<'_>, out: &mut Out<'_>) {
    let (sa, sb) = (a.spec(), b.spec());
    if sb.non_normal == guestlist::NonNormalPaths::TwoReadings
        && sa.non_normal != guestlist::NonNormalPaths::TwoReadings
        && !sb.routes.is_empty()
    {
        let at = b
            .program()
            .paths
            .as_ref()
            .map_or_else(|| b.top(), |p| b.at(p.line.unwrap_or(p.span)));
        let path = format!("/./{}", out.fresh);
        let witness = Some(Witness {
            method: "GET".into(),
            path,
            headers: Vec::new(),
            supplied: Vec::new(),
        });
        out.push(
            Kind::PathForm,
            "non-normal two-readings".into(),
            "paths with dot segments are now decided under both readings instead of refused (400)"
                .into(),
            Place {
                route: None,
                host: None,
                at,
                witness,
                latent: false,
                legacy: false,
            },
        );
    }
    if sb.hosts_dispatched && !sa.hosts_dispatched && !sb.hosts.is_empty() {
        let at = b
            .program()
            .hosts_dispatched
            .map_or_else(|| b.top(), |s| b.at(s));
        let witness = dispatch_witness(a, b, &out.fresh);
        out.push(
            Kind::Host,
            "dispatched-by-application".into(),
            "each request is now decided under its host's route alone: other host blocks' guards no longer apply on every host".into(),
            Place {
                route: None,
                host: None,
                at,
                latent: witness.is_none(),
                witness,
                legacy: false,
            },
        );
    }
}

/// A request that `b`, which states `hosts dispatched-by-application`, decides otherwise than
/// it would without that line, and otherwise than `a`: on each host (the top level, an
/// instance of each host pattern) and region, a cross-site POST, a WebSocket handshake and a
/// read from the first origins of each of `b`'s cors policies. `None` when none of these
/// shows it: the grant is reported as latent.
fn dispatch_witness(a: &Side<'_>, b: &Side<'_>, fresh: &str) -> Option<Witness> {
    let mut spec = b.spec().clone();
    spec.hosts_dispatched = false;
    let undispatched = guestlist::Layer::shared(std::sync::Arc::new(
        guestlist::Policy::from_spec(spec).ok()?,
    ));
    let probe = format!("https://{fresh}.invalid");
    let mut origins: BTreeSet<String> = BTreeSet::from([probe.clone()]);
    // A few origins of each cors policy (an origin one block allows and another refuses
    // shows the change); every one would make this quadratic in a large policy.
    for c in &b.spec().cors {
        origins.extend(c.origins.iter().take(4).cloned());
        for p in c.patterns.iter().take(4) {
            origins.extend(pattern_instances(p, fresh));
        }
    }
    let mut patterns: BTreeSet<&str> = BTreeSet::new();
    for r in b.spec().routes.iter().chain(&a.spec().routes) {
        patterns.insert(&r.pattern);
    }
    let mut authorities: Vec<Option<String>> = vec![None];
    for h in &b.spec().hosts {
        authorities.extend(h.patterns.iter().map(|p| Some(host_instance(p, fresh))));
    }
    for authority in &authorities {
        for path in region_paths(&patterns, fresh) {
            let g = Region {
                path: &path,
                host: None,
                authority: authority.as_deref(),
                route: None,
                selected: true,
                guard_only: false,
            };
            let mut tries = vec![cross_site(&g, "POST", &probe), handshake(&g, Some(&probe))];
            tries.extend(origins.iter().map(|o| request(&g, "GET", &[("Origin", o)])));
            for w in tries {
                let now = b.answer(&w);
                if now != answered(&undispatched, &w, &b.app) && now != a.answer(&w) {
                    return Some(w);
                }
            }
        }
    }
    None
}

/// Compares the routes the pair of host blocks hold, region by region. A region's requests
/// are decided under its host's route and, unless the side states `hosts
/// dispatched-by-application`, under every host block's route for the path
/// ([`guestlist::Policy::contributing_routes`], the runtime's own list): each route of one
/// side is compared with each of the other's (with [`Pairs::Matched`], but the pairs that
/// cannot show a grant), and a finding from a region with more than one deciding route is
/// kept only when its witness shows the change (the runtime folds the routes: every guard
/// must pass, CORS only where every block allows it).
fn compare_routes(
    a: &Side<'_>,
    b: &Side<'_>,
    host: Option<&str>,
    authority: Option<&str>,
    pair: (Option<usize>, Option<usize>),
    out: &mut Out<'_>,
) {
    let ra = a.routes_of(pair.0);
    let rb = b.routes_of(pair.1);
    // Every route pattern of both sides cuts regions: another block's route decides too.
    let mut patterns: BTreeSet<&str> = BTreeSet::new();
    for s in [a, b] {
        for r in &s.spec().routes {
            patterns.insert(&r.pattern);
        }
        for c in &s.spec().csrf {
            for (_, p) in &c.exempt {
                patterns.insert(p);
            }
        }
    }
    let paths = region_paths(&patterns, &out.fresh);
    // A pair of routes is compared once per (deciding routes of each side, positions): the
    // lists are numbered once per path, so a key costs no more than the pair.
    type Ids = (Vec<Option<usize>>, Vec<Option<usize>>);
    let mut lists: std::collections::HashMap<Ids, usize> = std::collections::HashMap::new();
    let mut compared: HashSet<(usize, usize, usize)> = HashSet::new();
    let ids = |d: &[(Option<(usize, &RouteSpec)>, bool)]| -> Vec<Option<usize>> {
        d.iter().map(|(r, _)| r.map(|r| r.0)).collect()
    };
    for path in &paths {
        let da = deciding(a, &ra, path);
        let db = deciding(b, &rb, path);
        if da.iter().chain(&db).all(|(r, _)| r.is_none()) {
            continue;
        }
        let next = lists.len();
        let list = *lists.entry((ids(&da), ids(&db))).or_insert(next);
        out.merged = da.len() > 1 || db.len() > 1;
        out.b_selected_cors = out
            .merged
            .then(|| db.first().and_then(|(r, _)| r.and_then(|r| r.1.cors)));
        // In a region several routes decide, the runtime allows CORS only where every route
        // allows it, with the stricter settings: a CORS grant of `b`'s merged decision is a
        // grant of the route its host selects. Another block's route of `b` is compared for
        // CORS only when it allows an origin that one allows too (the rest of its table
        // restricts, which confirming through both sides' layers judges).
        let b_selected = db
            .first()
            .and_then(|(r, _)| r.and_then(|r| r.1.cors))
            .and_then(|i| b.l.policy.cors_policies().get(i));
        let cors_shared: Vec<bool> = db
            .iter()
            .enumerate()
            .map(|(j, (r, _))| {
                let cors = r.and_then(|r| r.1.cors).and_then(|i| b.spec().cors.get(i));
                j == 0
                    || out.pairs == Pairs::Every
                    // A route without a cors policy refuses CORS where it decides; so does a
                    // selected one, so that what another block's cors policy makes of the path
                    // is its governing alone.
                    || cors.is_none()
                    || b_selected.is_none()
                    || cors.zip(b_selected).is_some_and(|(c, t)| {
                            let allows = |o: &str| t.match_origin(o.as_bytes()).is_some();
                            c.any_origin
                                || c.origins.iter().any(|o| allows(o))
                                || c.patterns.iter().any(|p| {
                                    pattern_instances(p, &out.fresh).iter().any(|o| allows(o))
                                })
                                || !c.provided.is_empty()
                        })
            })
            .collect();
        for (i, &(ra_, ga_only)) in da.iter().enumerate() {
            for (j, &(rb_, gb_only)) in db.iter().enumerate() {
                if ra_.is_none() && rb_.is_none() {
                    continue;
                }
                out.skip_cors = !cors_shared.get(j).copied().unwrap_or(true);
                // Two routes neither selected whose CSRF and WebSocket checks are the same and
                // whose CORS is not compared (or neither has a cors policy): nothing to find.
                let no_cors = ra_.is_some_and(|r| r.1.cors.is_none())
                    && rb_.is_some_and(|r| r.1.cors.is_none());
                if (out.skip_cors || no_cors) && i != 0 && j != 0 && same_checks(a, b, ra_, rb_) {
                    continue;
                }
                let ga = Region {
                    path,
                    host,
                    authority,
                    route: ra_,
                    selected: i == 0,
                    guard_only: ga_only,
                };
                let gb = Region {
                    route: rb_,
                    selected: j == 0,
                    guard_only: gb_only,
                    ..ga
                };
                exemptions(a, b, &ga, &gb, out);
                if compared.insert((list, i, j)) {
                    compare_region(a, b, &ga, &gb, out);
                }
            }
        }
    }
    out.merged = false;
    out.b_selected_cors = None;
    out.skip_cors = false;
}

/// The names of the headers the CSPs and header sets of `a` and `b` write.
fn guard_names(a: &PolicySpec, b: &PolicySpec) -> HashSet<String> {
    let mut names: HashSet<String> = [
        "content-security-policy",
        "content-security-policy-report-only",
        "reporting-endpoints",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    for s in [a, b] {
        for h in &s.headers {
            names.extend(h.set.iter().map(|(n, _)| n.to_ascii_lowercase()));
        }
    }
    names
}

/// What an answer lets the request do: the answer without the headers of `guard_names` and
/// the application's headers removed (a route's CSP and security headers).
fn access(a: Answered, guard_names: &HashSet<String>) -> Answered {
    a.map(|(status, reached, headers, _)| {
        let headers = headers
            .into_iter()
            .filter(|(n, _)| !guard_names.contains(n))
            .collect();
        (status, reached, headers, Vec::new())
    })
}

/// Whether two routes (of sides `a` and `b`) have the same CSRF and WebSocket checks (equal
/// policies, or none).
fn same_checks(
    a: &Side<'_>,
    b: &Side<'_>,
    ra: Option<(usize, &RouteSpec)>,
    rb: Option<(usize, &RouteSpec)>,
) -> bool {
    let (Some((_, ra)), Some((_, rb))) = (ra, rb) else {
        return false;
    };
    let (sa, sb) = (a.spec(), b.spec());
    ra.csrf.and_then(|i| sa.csrf.get(i)) == rb.csrf.and_then(|i| sb.csrf.get(i))
        && ra.websocket.and_then(|i| sa.websocket.get(i))
            == rb.websocket.and_then(|i| sb.websocket.get(i))
}

/// The routes that decide a request for `path` (a structurally normal path) on a side: the
/// one `routes` (the selected block's) has for it, then every other host block's route the
/// runtime adds (with whether it is a top-level route contributing its guards only).
fn deciding<'s>(
    s: &Side<'s>,
    routes: &[(usize, &'s RouteSpec)],
    path: &str,
) -> Vec<(Option<(usize, &'s RouteSpec)>, bool)> {
    let selected = route_for(routes, path);
    let tuple = |r: &RouteSpec| (r.cors, r.csrf, r.websocket);
    let mut out = vec![(selected, false)];
    for &i in s.l.policy.contributing_routes(path) {
        let Some(r) = s.spec().routes.get(i as usize) else {
            continue;
        };
        if selected.is_some_and(|(_, x)| tuple(x) == tuple(r)) {
            continue;
        }
        out.push((Some((i as usize, r)), r.host.is_none()));
    }
    out
}

/// The route pattern a finding about the region names: NEW's route, else OLD's.
fn route_label<'r>(ga: &Region<'r>, gb: &Region<'r>) -> Option<&'r str> {
    gb.route.or(ga.route).map(|(_, r)| r.pattern.as_str())
}

/// Whether a route's block of one kind is another in NEW (`new`) than in OLD (`old`; `None`:
/// none there) and one OLD already has (`old_names`, its blocks of that kind): the block's
/// lines may be unchanged, so its findings are anchored at the route's line naming it
/// (spec/diff.md, "Where a finding points").
pub(super) fn switched_to_kept<'n>(
    old: Option<&str>,
    new: &str,
    mut old_names: impl Iterator<Item = &'n str>,
) -> bool {
    old != Some(new) && old_names.any(|n| n == new)
}

/// [`switched_to_kept`] for a region's csrf policies, OLD's `sa` and NEW's `sb`.
fn csrf_switched(a: &Side<'_>, sa: &CsrfSpec, sb: &CsrfSpec) -> bool {
    switched_to_kept(
        Some(&sa.name),
        &sb.name,
        a.spec().csrf.iter().map(|c| c.name.as_str()),
    )
}

/// The line of the region's route that `line` picks (its `cors`, `csrf`, `websocket`,
/// `headers` or `csp` line), else the route's pattern, else the first file.
fn route_line_at(
    b: &Side<'_>,
    gb: &Region<'_>,
    line: impl Fn(&crate::lower::RouteProv) -> Option<Span>,
) -> At {
    match gb.route.and_then(|(i, _)| b.l.provenance.routes.get(i)) {
        Some(p) => b.at(line(p).unwrap_or(p.span)),
        None => b.top(),
    }
}

/// The origin list (`allow-origins` or `trusted-origins` entries) of side `s`'s active block
/// named `name`, of the kind `blocks` picks, read by `parts` as (name, condition, list).
fn origin_list<'s, D: 's>(
    s: &Side<'s>,
    blocks: impl Fn(&'s Program) -> &'s Vec<D>,
    parts: impl Fn(
        &'s D,
    ) -> (
        &'s String,
        &'s crate::ir::Cond,
        &'s Vec<crate::ir::Entry<OriginRef>>,
    ),
    name: &str,
) -> Option<&'s [crate::ir::Entry<OriginRef>]> {
    let profile = s.l.profile.as_str();
    blocks(s.program())
        .iter()
        .map(&parts)
        .find(|(n, when, _)| n.as_str() == name && active(when, profile))
        .map(|(_, _, list)| list.as_slice())
}

/// Where origin `o` of list `list` (a block of NEW's, `b`) is written: its entry, or, for an
/// origin that comes through a static set, the entry naming the set where `old` (OLD's list of
/// the same block) does not name it ([`named_anew`]), else the set's entry.
fn origin_entry(
    b: &Side<'_>,
    list: &[crate::ir::Entry<OriginRef>],
    old: Option<&[crate::ir::Entry<OriginRef>]>,
    o: &str,
) -> Option<Span> {
    b.program()
        .expand_origins(list, &b.l.profile)
        .0
        .into_iter()
        .find(|e| matches!(e.value, OriginRef::Literal(x) if x.canonical == o))
        .map(|e| match e.via {
            Some(v) if named_anew(Some(list), old, v) => v,
            _ => e.span,
        })
}

/// Whether the entry of `new` at `via` names a set that `old` (OLD's list of the same block,
/// if any) does not name: the naming entry is then the change.
fn named_anew(
    new: Option<&[crate::ir::Entry<OriginRef>]>,
    old: Option<&[crate::ir::Entry<OriginRef>]>,
    via: Span,
) -> bool {
    let set = new
        .and_then(|l| l.iter().find(|e| e.span == via))
        .and_then(|e| match &e.value {
            OriginRef::Set(n) => Some(n),
            _ => None,
        });
    set.is_some_and(|n| {
        !old.is_some_and(|l| {
            l.iter()
                .any(|e| matches!(&e.value, OriginRef::Set(m) if m == n))
        })
    })
}

/// The span of the active entry of `list` that names set `set`.
fn set_entry(list: &[crate::ir::Entry<OriginRef>], set: &str, profile: &str) -> Option<Span> {
    list.iter()
        .find(|e| matches!(&e.value, OriginRef::Set(n) if n == set) && active(&e.when, profile))
        .map(|e| e.span)
}

/// Where a region's finding is anchored in `b`: the route line, else the first file.
fn route_at(b: &Side<'_>, gb: &Region<'_>) -> At {
    gb.route
        .and_then(|(i, _)| b.l.provenance.routes.get(i))
        .map_or_else(|| b.top(), |p| b.at(p.span))
}

fn compare_region(a: &Side<'_>, b: &Side<'_>, ga: &Region<'_>, gb: &Region<'_>, out: &mut Out<'_>) {
    if !ga.guard_only && !gb.guard_only && !out.skip_cors {
        cors(a, b, ga, gb, out);
    }
    websocket(a, b, ga, gb, out);
    csrf(a, b, ga, gb, out);
    // The response carries the selected route's CSP and security headers only.
    if ga.selected && gb.selected {
        csp::compare(a, b, ga, gb, out);
        headers::compare(a, b, ga, gb, out);
    }
}

/// The cors policy index of a region's route.
fn cors_of(g: &Region<'_>) -> Option<usize> {
    g.route.and_then(|(_, r)| r.cors)
}

/// The methods a CORS policy lists, for messages.
fn methods_text(c: &CorsSpec) -> String {
    if c.any_method {
        return "any method".into();
    }
    let mut m: Vec<&str> = vec!["GET", "HEAD", "POST"];
    for x in &c.methods {
        if !m.contains(&x.as_str()) {
            m.push(x);
        }
    }
    m.join(", ")
}

const SAFELISTED_METHODS: [&str; 3] = ["GET", "HEAD", "POST"];

/// The CORS-safelisted request headers (always allowed without a preflight listing them).
const SAFELISTED_HEADERS: [&str; 4] = [
    "accept",
    "accept-language",
    "content-language",
    "content-type",
];

fn cors(a: &Side<'_>, b: &Side<'_>, ga: &Region<'_>, gb: &Region<'_>, out: &mut Out<'_>) {
    let route = route_label(ga, gb);
    let ia = cors_of(ga);
    let ib = cors_of(gb);
    let fresh = out.fresh.clone();
    let probe = format!("https://{fresh}.invalid");
    match (ia, ib) {
        (None, None) => {}
        (Some(ia), None) => {
            // A path losing its cors policy: the application's own headers pass.
            let origin = a
                .spec()
                .cors
                .get(ia)
                .and_then(|c| c.origins.first().cloned())
                .unwrap_or(probe);
            out.push(
                Kind::CorsUnguarded,
                "cors".into(),
                format!(
                    "{} is no longer decided by a cors policy (was {}'s): the application's own Access-Control-* headers reach browsers",
                    gb.route.map_or(gb.path, |(_, r)| r.pattern.as_str()),
                    ga.route.map_or("?", |(_, r)| r.pattern.as_str()),
                ),
                Place {
                    route,
                    host: gb.host,
                    at: route_at(b, gb),
                    witness: Some(request(gb, "GET", &[("Origin", &origin)])),
                    latent: false,
                    legacy: false,
                },
            );
        }
        (ia, Some(ib)) => {
            let Some(cb) = b.spec().cors.get(ib) else {
                return;
            };
            let ca = ia.and_then(|i| a.spec().cors.get(i));
            let ta = ia.and_then(|i| a.l.policy.cors_policies().get(i));
            let prov = b.l.provenance.cors.get(ib);
            // A route that switched to this policy (or a new route), one OLD already has, made
            // the change on its own line; the policy's lines may be unchanged (another route's
            // block), so every finding is anchored there.
            let switched = switched_to_kept(
                ca.map(|c| c.name.as_str()),
                &cb.name,
                a.spec().cors.iter().map(|c| c.name.as_str()),
            );
            // Where findings without a line of their own are anchored (the cors block's head),
            // found only when one is made: most pairs of routes make none.
            let head_at = || match prov.and_then(|p| p.head) {
                Some(s) if !switched => b.at(s),
                _ => route_line_at(b, gb, |p| p.cors_line),
            };
            // Where a finding from line `s` of the policy is anchored.
            let line_at = |s: Option<Span>| match s {
                Some(s) if !switched => b.at(s),
                _ => head_at(),
            };
            // An origin written at `span`, through the static set NEW's block names at `via`:
            // anchored at the naming entry where OLD's block did not name that set (the set's
            // own lines may be unchanged, even in another file), else at the origin's entry.
            let (old_list, new_list) = (
                origin_list(a, |p| &p.cors, |d| (&d.name, &d.when, &d.origins), &cb.name),
                origin_list(b, |p| &p.cors, |d| (&d.name, &d.when, &d.origins), &cb.name),
            );
            let origin_line_at = |span: Option<Span>, via: Option<Span>| match via {
                Some(v) if named_anew(new_list, old_list, v) => line_at(Some(v)),
                _ => line_at(span),
            };
            let allowed_by_a = |o: &str| ta.is_some_and(|t| t.match_origin(o.as_bytes()).is_some());
            // In a region several routes decide, an origin another block's route adds is a
            // grant only if the route the host selects allows it too (the runtime allows CORS
            // only where every route does): one lookup here spares confirming it through both
            // sides' tower layers, whose merged decisions refuse it alike.
            let b_selected = match out.b_selected_cors {
                Some(i) if !gb.selected => Some(i.and_then(|i| b.l.policy.cors_policies().get(i))),
                _ => None,
            };
            let viable = |o: &str| {
                b_selected.is_none_or(|t| t.is_some_and(|t| t.match_origin(o.as_bytes()).is_some()))
            };
            if ga.route.is_none() {
                let first = cb
                    .origins
                    .first()
                    .cloned()
                    .or_else(|| {
                        cb.patterns
                            .first()
                            .and_then(|p| pattern_instances(p, &fresh).into_iter().next())
                    })
                    .or_else(|| cb.any_origin.then(|| probe.clone()));
                // Served to an origin the route the host selects refuses: no route of `b`
                // serves it (another block's route with this policy restricts only).
                let served = first.as_deref().is_none_or(&viable);
                out.push_if(
                    served,
                    Kind::Route,
                    format!("cors {}", cb.name),
                    format!(
                        "new route {} serves cross-origin requests (cors {})",
                        route.unwrap_or("?"),
                        cb.name
                    ),
                    Place {
                        route,
                        host: gb.host,
                        at: route_at(b, gb),
                        witness: match (first, provided_name(b.spec(), cb)) {
                            (Some(o), _) => Some(request(gb, "GET", &[("Origin", &o)])),
                            (None, Some(set)) => Some(with_supplied(
                                request(gb, "GET", &[("Origin", &probe)]),
                                &set,
                                &probe,
                            )),
                            (None, None) => None,
                        },
                        latent: false,
                        legacy: false,
                    },
                );
            }
            let creds = if cb.credentials {
                " with credentials"
            } else {
                ""
            };
            let methods = || methods_text(cb);
            let route_text = route.unwrap_or("?");
            // Origins.
            let mut shared: Option<String> = None;
            if cb.any_origin && !ca.is_some_and(|c| c.any_origin) {
                out.push(
                    Kind::CorsOrigin,
                    "*".into(),
                    format!("every origin may now read {route_text} ({})", methods()),
                    Place {
                        route,
                        host: gb.host,
                        at: line_at(prov.and_then(|p| p.any)),
                        witness: Some(request(gb, "GET", &[("Origin", &probe)])),
                        latent: false,
                        legacy: false,
                    },
                );
            } else if cb.any_origin {
                shared = Some(probe.clone());
            }
            for (i, o) in cb.origins.iter().enumerate() {
                if allowed_by_a(o) {
                    shared.get_or_insert_with(|| o.clone());
                    continue;
                }
                if !viable(o) {
                    continue;
                }
                let at = origin_line_at(
                    prov.and_then(|p| p.exact.get(i).copied()),
                    prov.and_then(|p| p.exact_via.get(i).copied().flatten()),
                );
                out.push(
                    Kind::CorsOrigin,
                    o.clone(),
                    format!("{o} may now read {route_text}{creds} ({})", methods()),
                    Place {
                        route,
                        host: gb.host,
                        at,
                        witness: Some(request(gb, "GET", &[("Origin", o)])),
                        latent: false,
                        legacy: false,
                    },
                );
            }
            for (i, p) in cb.patterns.iter().enumerate() {
                let instances = pattern_instances(p, &fresh);
                let missing = instances.iter().find(|o| !allowed_by_a(o));
                let Some(missing) = missing else {
                    if let Some(o) = instances.first() {
                        shared.get_or_insert_with(|| o.clone());
                    }
                    continue;
                };
                if !viable(missing) {
                    continue;
                }
                let at = origin_line_at(
                    prov.and_then(|pv| pv.patterns.get(i).copied()),
                    prov.and_then(|pv| pv.patterns_via.get(i).copied().flatten()),
                );
                out.push(
                    Kind::CorsOrigin,
                    p.clone(),
                    format!("{p} may now read {route_text}{creds} ({})", methods()),
                    Place {
                        route,
                        host: gb.host,
                        at,
                        witness: Some(request(gb, "GET", &[("Origin", missing)])),
                        latent: false,
                        legacy: false,
                    },
                );
            }
            let names = |s: &PolicySpec, c: &CorsSpec| -> Vec<String> {
                c.provided
                    .iter()
                    .filter_map(|i| s.provided.get(*i).map(|p| p.name.clone()))
                    .collect()
            };
            let had = ca.map(|c| names(a.spec(), c)).unwrap_or_default();
            for (k, set) in names(b.spec(), cb).into_iter().enumerate() {
                if !had.contains(&set) {
                    out.push(
                        Kind::Provided,
                        format!("cors {set}"),
                        format!(
                            "{route_text} now allows the origins of `{set}`, supplied at run time (unbounded){creds}"
                        ),
                        Place {
                            route,
                            host: gb.host,
                            at: line_at(prov.and_then(|p| p.provided.get(k).copied())),
                            witness: Some(with_supplied(
                                request(gb, "GET", &[("Origin", &probe)]),
                                &set,
                                &probe,
                            )),
                            latent: false,
                            legacy: false,
                        },
                    );
                }
            }
            // The rest widens access only for the origins both allow (the others are new
            // origins, reported above with all they may do): a static origin both allow, else
            // an origin supplied to a set both use (its witness carries the entry).
            let Some(ca) = ca else {
                return;
            };
            let both = names(b.spec(), cb)
                .into_iter()
                .find(|set| had.contains(set));
            let (origin, via) = match (shared, both) {
                (Some(o), _) => (o, None),
                (None, Some(set)) => (probe.clone(), Some(set)),
                (None, None) => return,
            };
            let sup = |w: Witness| match &via {
                Some(set) => with_supplied(w, set, &origin),
                None => w,
            };
            let get = request(gb, "GET", &[("Origin", &origin)]);
            if cb.credentials && !ca.credentials {
                let at = line_at(prov.and_then(|p| p.credentials_line));
                out.push(
                    Kind::CorsCredentials,
                    "credentials".into(),
                    format!(
                        "the origins of cors {} may now read {route_text} with credentials",
                        cb.name
                    ),
                    Place {
                        route,
                        host: gb.host,
                        at,
                        witness: Some(sup(get.clone())),
                        latent: false,
                        legacy: false,
                    },
                );
            }
            let method_at = |m: &str| {
                line_at(prov.and_then(|p| {
                    if m == "*" {
                        p.any_method
                    } else {
                        cb.methods
                            .iter()
                            .position(|x| x == m)
                            .and_then(|i| p.methods.get(i).copied())
                    }
                }))
            };
            let a_has_method = |m: &str| {
                ca.any_method
                    || SAFELISTED_METHODS.contains(&m)
                    || ca.methods.iter().any(|x| x == m)
            };
            let mut new_methods: Vec<String> = Vec::new();
            if cb.any_method && !ca.any_method {
                new_methods.push("*".into());
            }
            for m in &cb.methods {
                if !a_has_method(m) {
                    new_methods.push(m.clone());
                }
            }
            for m in new_methods {
                let probe_method = if m == "*" {
                    format!("X-{}", fresh.to_uppercase())
                } else {
                    m.clone()
                };
                let what = if m == "*" {
                    "any method".to_string()
                } else {
                    m.clone()
                };
                out.push(
                    Kind::CorsMethod,
                    m.clone(),
                    format!(
                        "the origins of cors {} may now send {what} to {route_text}",
                        cb.name
                    ),
                    Place {
                        route,
                        host: gb.host,
                        at: method_at(&m),
                        witness: Some(sup(request(
                            gb,
                            "OPTIONS",
                            &[
                                ("Origin", &origin),
                                ("Access-Control-Request-Method", &probe_method),
                            ],
                        ))),
                        latent: false,
                        legacy: false,
                    },
                );
            }
            let header_at = |h: &str| {
                line_at(prov.and_then(|p| {
                    if h == "*" {
                        p.any_header
                    } else {
                        cb.headers
                            .iter()
                            .position(|x| x.eq_ignore_ascii_case(h))
                            .and_then(|i| p.headers.get(i).copied())
                    }
                }))
            };
            let a_has_header = |h: &str| {
                let h = h.to_ascii_lowercase();
                ca.headers.iter().any(|x| x.eq_ignore_ascii_case(&h))
                    || (ca.any_header && h != "authorization")
            };
            let mut new_headers: Vec<String> = Vec::new();
            if cb.any_header && !ca.any_header {
                new_headers.push("*".into());
            }
            for h in &cb.headers {
                if !a_has_header(h)
                    && !SAFELISTED_HEADERS.contains(&h.to_ascii_lowercase().as_str())
                {
                    new_headers.push(h.to_ascii_lowercase());
                }
            }
            for h in new_headers {
                let probe_header = if h == "*" {
                    format!("x-{fresh}")
                } else {
                    h.clone()
                };
                let what = if h == "*" {
                    "any request header".to_string()
                } else {
                    format!("the request header {h}")
                };
                out.push(
                    Kind::CorsHeader,
                    h.clone(),
                    format!(
                        "the origins of cors {} may now send {what} to {route_text}",
                        cb.name
                    ),
                    Place {
                        route,
                        host: gb.host,
                        at: header_at(&h),
                        witness: Some(sup(request(
                            gb,
                            "OPTIONS",
                            &[
                                ("Origin", &origin),
                                ("Access-Control-Request-Method", "GET"),
                                ("Access-Control-Request-Headers", &probe_header),
                            ],
                        ))),
                        latent: false,
                        legacy: false,
                    },
                );
            }
            let mut new_expose: Vec<String> = Vec::new();
            if cb.expose_any && !ca.expose_any {
                new_expose.push("*".into());
            }
            if !ca.expose_any {
                for h in &cb.expose {
                    if !ca.expose.iter().any(|x| x.eq_ignore_ascii_case(h)) {
                        new_expose.push(h.to_ascii_lowercase());
                    }
                }
            }
            for h in new_expose {
                let what = if h == "*" {
                    "every response header".to_string()
                } else {
                    format!("the response header {h}")
                };
                out.push(
                    Kind::CorsExpose,
                    h.clone(),
                    format!(
                        "the origins of cors {} may now read {what} of {route_text}",
                        cb.name
                    ),
                    Place {
                        route,
                        host: gb.host,
                        at: line_at(prov.and_then(|p| {
                            if h == "*" {
                                p.expose_any
                            } else {
                                cb.expose
                                    .iter()
                                    .position(|x| x.eq_ignore_ascii_case(&h))
                                    .and_then(|i| p.expose.get(i).copied())
                            }
                        })),
                        witness: Some(sup(get.clone())),
                        latent: false,
                        legacy: false,
                    },
                );
            }
            // A policy without max-age: the browser's default of five seconds.
            let age = |c: &CorsSpec| c.max_age.unwrap_or(5);
            if age(cb) > age(ca) {
                out.push(
                    Kind::CorsMaxAge,
                    "max-age".into(),
                    format!(
                        "preflights of {route_text} are now cached for {} s (was {} s)",
                        age(cb),
                        age(ca)
                    ),
                    Place {
                        route,
                        host: gb.host,
                        at: line_at(prov.and_then(|p| p.max_age_line)),
                        witness: Some(sup(request(
                            gb,
                            "OPTIONS",
                            &[
                                ("Origin", &origin),
                                ("Access-Control-Request-Method", "GET"),
                            ],
                        ))),
                        latent: false,
                        legacy: false,
                    },
                );
            }
        }
    }
}

/// A WebSocket handshake on the region with `origin` (none: no `Origin`).
fn handshake(g: &Region<'_>, origin: Option<&str>) -> Witness {
    let mut h = vec![("Upgrade", "websocket"), ("Connection", "Upgrade")];
    if let Some(o) = origin {
        h.push(("Origin", o));
    }
    request(g, "GET", &h)
}

/// The websocket policy of a region's route.
fn ws_of<'s>(s: &Side<'s>, g: &Region<'_>) -> Option<(usize, Option<&'s WebSocketSpec>)> {
    g.route
        .and_then(|(_, r)| r.websocket)
        .map(|i| (i, s.spec().websocket.get(i)))
}

fn websocket(a: &Side<'_>, b: &Side<'_>, ga: &Region<'_>, gb: &Region<'_>, out: &mut Out<'_>) {
    let route = route_label(ga, gb);
    let Some((ia, Some(wa))) = ws_of(a, ga) else {
        // OLD has no WebSocket check there: NEW adds restrictions only.
        return;
    };
    let route_text = route.unwrap_or("?");
    let fresh = out.fresh.clone();
    let probe = format!("https://{fresh}.invalid");
    let Some((ib, Some(wb))) = ws_of(b, gb) else {
        out.push(
            Kind::WebsocketOrigin,
            "websocket".into(),
            format!("{route_text} no longer checks WebSocket origins: every origin may open one"),
            Place {
                route,
                host: gb.host,
                at: route_at(b, gb),
                witness: Some(handshake(gb, Some(&probe))),
                latent: false,
                legacy: false,
            },
        );
        return;
    };
    let (Some(ta), Some(_)) = (
        a.l.policy.websocket_policies().get(ia),
        b.l.policy.websocket_policies().get(ib),
    ) else {
        return;
    };
    // Anchored at the block head, or at the route's line where the route switched to this
    // policy (the change is there; the block may be another route's, unchanged).
    let switched = switched_to_kept(
        Some(&wa.name),
        &wb.name,
        a.spec().websocket.iter().map(|w| w.name.as_str()),
    );
    let at = match b.l.provenance.websocket.get(ib) {
        Some(s) if !switched => b.at(*s),
        _ => route_line_at(b, gb, |p| p.websocket_line),
    };
    let place = |witness: Witness| Place {
        route,
        host: gb.host,
        at: at.clone(),
        witness: Some(witness),
        latent: false,
        legacy: false,
    };
    // The entry of NEW's block a finding comes from (an origin, directly or through a static
    // set; `same-origin`; `missing-origin`), else `at`; `at` alone where the route switched to
    // a block OLD has.
    let profile = b.l.profile.as_str();
    let decl = b
        .program()
        .websocket
        .iter()
        .find(|w| w.name == wb.name && active(&w.when, profile))
        .filter(|_| !switched);
    let old_list = origin_list(
        a,
        |p| &p.websocket,
        |d| (&d.name, &d.when, &d.origins),
        &wb.name,
    );
    let origin_at = |o: &str| decl.and_then(|d| origin_entry(b, &d.origins, old_list, o));
    let entry_place = |witness: Witness, line: Option<Span>| Place {
        at: line.map_or_else(|| at.clone(), |s| b.at(s)),
        ..place(witness)
    };
    let allowed = |o: &str| ta.match_origin(o.as_bytes()).is_some();
    for o in &wb.origins {
        if !allowed(o) {
            out.push(
                Kind::WebsocketOrigin,
                o.clone(),
                format!("{o} may now open WebSockets on {route_text}"),
                entry_place(handshake(gb, Some(o)), origin_at(o)),
            );
        }
    }
    for p in &wb.patterns {
        if let Some(m) = pattern_instances(p, &fresh)
            .into_iter()
            .find(|o| !allowed(o))
        {
            out.push(
                Kind::WebsocketOrigin,
                p.clone(),
                format!("{p} may now open WebSockets on {route_text}"),
                entry_place(handshake(gb, Some(&m)), origin_at(p)),
            );
        }
    }
    if wb.same_origin && !wa.same_origin {
        let host = format!("{fresh}.example");
        let origin = format!("https://{host}");
        let mut w = handshake(gb, Some(&origin));
        if gb.authority.is_none() {
            w.headers.insert(0, ("Host".into(), host));
        }
        out.push(
            Kind::WebsocketOrigin,
            "same-origin".into(),
            format!("pages of the site's own origin may now open WebSockets on {route_text}"),
            entry_place(
                w,
                decl.and_then(|d| {
                    d.same_origin
                        .iter()
                        .find(|e| active(&e.when, profile))
                        .map(|e| e.span)
                }),
            ),
        );
    }
    if wb.allow_missing && !wa.allow_missing {
        out.push(
            Kind::WebsocketOrigin,
            "missing-origin".into(),
            format!("handshakes without Origin now pass on {route_text}"),
            entry_place(
                handshake(gb, None),
                decl.and_then(|d| {
                    d.missing
                        .iter()
                        .find(|e| active(&e.when, profile))
                        .map(|e| e.line)
                }),
            ),
        );
    }
    let names = |s: &PolicySpec, w: &WebSocketSpec| -> Vec<String> {
        w.provided
            .iter()
            .filter_map(|i| s.provided.get(*i).map(|p| p.name.clone()))
            .collect()
    };
    let had = names(a.spec(), wa);
    for set in names(b.spec(), wb) {
        if !had.contains(&set) {
            out.push(
                Kind::Provided,
                format!("websocket {set}"),
                format!("{route_text} now lets the origins of `{set}`, supplied at run time, open WebSockets (unbounded)"),
                entry_place(
                    with_supplied(handshake(gb, Some(&probe)), &set, &probe),
                    decl.and_then(|d| set_entry(&d.origins, &set, profile)),
                ),
            );
        }
    }
}

/// The csrf policy of a region's route.
fn csrf_of<'s>(s: &Side<'s>, g: &Region<'_>) -> Option<(usize, &'s CsrfSpec)> {
    let i = g.route.and_then(|(_, r)| r.csrf)?;
    s.spec().csrf.get(i).map(|c| (i, c))
}

/// A cross-site request from `origin`.
fn cross_site(g: &Region<'_>, method: &str, origin: &str) -> Witness {
    request(
        g,
        method,
        &[("Origin", origin), ("Sec-Fetch-Site", "cross-site")],
    )
}

fn csrf(a: &Side<'_>, b: &Side<'_>, ga: &Region<'_>, gb: &Region<'_>, out: &mut Out<'_>) {
    let route = route_label(ga, gb);
    let route_text = route.unwrap_or("?");
    let Some((_, sa)) = csrf_of(a, ga) else {
        return;
    };
    let probe = format!("https://{}.invalid", out.fresh);
    let Some((ib, sb)) = csrf_of(b, gb) else {
        let method = unexempt_method(sa, None, gb.path, &out.fresh);
        out.push(
            Kind::CsrfRemoved,
            "csrf".into(),
            format!(
                "{route_text} no longer has a CSRF check: cross-site POSTs reach the application"
            ),
            Place {
                route,
                host: gb.host,
                at: route_at(b, gb),
                witness: Some(cross_site(gb, &method, &probe)),
                latent: false,
                legacy: false,
            },
        );
        return;
    };
    let method = unexempt_method(sa, Some(sb), gb.path, &out.fresh);
    let method = method.as_str();
    // As for websocket: the block head, or the route's line where it switched policies.
    let switched = csrf_switched(a, sa, sb);
    let at = match b.l.provenance.csrf.get(ib) {
        Some(s) if !switched => b.at(*s),
        _ => route_line_at(b, gb, |p| p.csrf_line),
    };
    let place = |witness: Option<Witness>| Place {
        route,
        host: gb.host,
        at: at.clone(),
        witness,
        latent: false,
        legacy: false,
    };
    // Where a finding from an entry of NEW's block is anchored: the entry `pick` finds (its
    // own line), else `at`; `at` alone where the route switched to a block OLD has.
    let profile = b.l.profile.as_str();
    let decl = b
        .program()
        .csrf
        .iter()
        .find(|c| c.name == sb.name && active(&c.when, profile));
    let entry_place = |witness: Option<Witness>,
                       pick: &dyn Fn(&crate::ir::CsrfDecl) -> Option<Span>| {
        let line = decl.filter(|_| !switched).and_then(pick);
        Place {
            at: line.map_or_else(|| at.clone(), |s| b.at(s)),
            ..place(witness)
        }
    };
    let old_sets = origin_list(
        a,
        |p| &p.csrf,
        |d| (&d.name, &d.when, &d.trusted_sets),
        &sb.name,
    );
    let trusted_line = |d: &crate::ir::CsrfDecl, o: &str| {
        d.trusted
            .iter()
            .find(|e| e.value == o && active(&e.when, profile))
            .map(|e| e.line)
            .or_else(|| origin_entry(b, &d.trusted_sets, old_sets, o))
    };
    let first_line =
        |l: &[crate::ir::Entry<bool>]| l.iter().find(|e| active(&e.when, profile)).map(|e| e.line);
    // Trusted in OLD: a trusted-origins entry, or an origin the route's cors policy allows by
    // name or pattern (never through `*`).
    let ta = cors_of(ga).and_then(|i| a.l.policy.cors_policies().get(i));
    let trusted_a = |o: &str| {
        sa.trusted.iter().any(|t| t == o)
            || ta.is_some_and(|t| {
                matches!(
                    t.match_origin(o.as_bytes()),
                    Some(guestlist::OriginMatch::Exact(_) | guestlist::OriginMatch::Pattern(_))
                )
            })
    };
    for o in &sb.trusted {
        if !trusted_a(o) {
            out.push(
                Kind::CsrfTrusted,
                o.clone(),
                format!("{o} is now trusted by the CSRF check of {route_text}: its cross-site requests pass"),
                entry_place(Some(cross_site(gb, method, o)), &|d| trusted_line(d, o)),
            );
        }
    }
    for o in &sb.self_origins {
        if !sa.self_origins.contains(o) && !trusted_a(o) {
            out.push(
                Kind::CsrfTrusted,
                format!("self {o}"),
                format!("{o} now counts as the site's own origin on {route_text}"),
                entry_place(Some(request(gb, method, &[("Origin", o)])), &|d| {
                    d.self_origins
                        .iter()
                        .find(|e| e.value == *o && active(&e.when, profile))
                        .map(|e| e.line)
                }),
            );
        }
    }
    if sb.allow_same_site && !sa.allow_same_site {
        out.push(
            Kind::CsrfSetting,
            "same-site allow".into(),
            format!(
                "same-site (sibling subdomain) requests now pass the CSRF check of {route_text}"
            ),
            entry_place(
                Some(request(
                    gb,
                    method,
                    &[("Origin", &probe), ("Sec-Fetch-Site", "same-site")],
                )),
                &|d| first_line(&d.same_site),
            ),
        );
    }
    if !sb.reject_missing && sa.reject_missing {
        out.push(
            Kind::CsrfSetting,
            "missing-headers allow".into(),
            format!("requests with neither Sec-Fetch-Site nor Origin now pass the CSRF check of {route_text}"),
            entry_place(Some(request(gb, method, &[])), &|d| first_line(&d.missing)),
        );
    }
    if sb.token.is_none() && sa.token.is_some() {
        out.push(
            Kind::CsrfSetting,
            "token".into(),
            format!("{route_text} no longer checks CSRF tokens"),
            place(Some(same_origin(gb, method, &out.fresh))),
        );
    }
    let names = |s: &PolicySpec, c: &CsrfSpec| -> Vec<String> {
        c.trusted_provided
            .iter()
            .filter_map(|i| s.provided.get(*i).map(|p| p.name.clone()))
            .collect()
    };
    let had = names(a.spec(), sa);
    for set in names(b.spec(), sb) {
        if !had.contains(&set) {
            out.push(
                Kind::Provided,
                format!("csrf {set}"),
                format!("the CSRF check of {route_text} now trusts the origins of `{set}`, supplied at run time (unbounded)"),
                entry_place(
                    Some(with_supplied(cross_site(gb, method, &probe), &set, &probe)),
                    &|d| set_entry(&d.trusted_sets, &set, profile),
                ),
            );
        }
    }
}

/// A same-origin request without a CSRF token (under a fresh host at the top level).
fn same_origin(g: &Region<'_>, method: &str, fresh: &str) -> Witness {
    let host = g
        .authority
        .map_or_else(|| format!("{fresh}.example"), str::to_string);
    let origin = format!("https://{host}");
    let mut w = request(
        g,
        method,
        &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
    );
    if g.authority.is_none() {
        w.headers.insert(0, ("Host".into(), host));
    }
    w
}

/// An unsafe method neither policy exempts on `path` (a fresh one when they exempt the
/// usual ones).
fn unexempt_method(a: &CsrfSpec, b: Option<&CsrfSpec>, path: &str, fresh: &str) -> String {
    let fresh = fresh.to_ascii_uppercase();
    ["POST", "PUT", "DELETE", "PATCH"]
        .into_iter()
        .find(|m| !exempts(a, m, path) && !b.is_some_and(|b| exempts(b, m, path)))
        .map_or(fresh, str::to_string)
}

/// Whether the csrf policy exempts `method` on `path` (a structurally normal path matching the
/// pattern directly).
fn exempts(c: &CsrfSpec, method: &str, path: &str) -> bool {
    c.exempt
        .iter()
        .any(|(m, p)| m == method && guestlist::pattern_covers(p, path))
}

/// The exemptions of NEW's csrf policy that apply on the region's path and did not in OLD.
fn exemptions(a: &Side<'_>, b: &Side<'_>, ga: &Region<'_>, gb: &Region<'_>, out: &mut Out<'_>) {
    let Some((_, sa)) = csrf_of(a, ga) else {
        return;
    };
    let Some((ib, sb)) = csrf_of(b, gb) else {
        return;
    };
    let route = route_label(ga, gb);
    let probe = format!("https://{}.invalid", out.fresh);
    let switched = csrf_switched(a, sa, sb);
    for (k, (m, p)) in sb.exempt.iter().enumerate() {
        if guestlist::is_csrf_safe_method(m) || !guestlist::pattern_covers(p, gb.path) {
            continue;
        }
        if exempts(sa, m, gb.path) {
            continue;
        }
        // The exemption's line, or the route's `csrf` line where it switched policies.
        let at = match exempt_line(b, ib, k) {
            Some(s) if !switched => b.at(s),
            _ => route_line_at(b, gb, |p| p.csrf_line),
        };
        out.push(
            Kind::CsrfExemption,
            format!("{m} {p}"),
            format!(
                "cross-site {m} requests to {} now skip the CSRF check (exempt {m} \"{p}\")",
                gb.path
            ),
            Place {
                route,
                host: gb.host,
                at,
                witness: Some(cross_site(gb, m, &probe)),
                latent: false,
                legacy: false,
            },
        );
    }
}

/// The line of the `k`-th active exemption of csrf policy `i`.
fn exempt_line(s: &Side<'_>, i: usize, k: usize) -> Option<Span> {
    let spec = s.spec().csrf.get(i)?;
    let decl = s.program().csrf.iter().find(|c| c.name == spec.name)?;
    decl.exempt
        .iter()
        .filter(|e| active(&e.when, &s.l.profile))
        .nth(k)
        .map(|e| e.line)
}

/// Grants no current route reaches: cors policies no route uses, origins sets no policy
/// names, exemptions outside every route using their csrf policy.
fn latent(a: &Side<'_>, b: &Side<'_>, out: &mut Out<'_>) {
    let fresh = out.fresh.clone();
    let (sa, sb) = (a.spec(), b.spec());
    for (i, cb) in sb.cors.iter().enumerate() {
        if sb.routes.iter().any(|r| r.cors == Some(i)) {
            continue;
        }
        let ta = sa
            .cors
            .iter()
            .position(|c| c.name == cb.name)
            .and_then(|j| a.l.policy.cors_policies().get(j));
        let allowed = |o: &str| ta.is_some_and(|t| t.match_origin(o.as_bytes()).is_some());
        let prov = b.l.provenance.cors.get(i);
        let head = prov
            .and_then(|p| p.head)
            .map_or_else(|| b.top(), |s| b.at(s));
        let mut entries: Vec<(String, Vec<String>, At)> = Vec::new();
        if cb.any_origin && !sa.cors.iter().any(|c| c.name == cb.name && c.any_origin) {
            let at = prov
                .and_then(|p| p.any)
                .map_or_else(|| head.clone(), |s| b.at(s));
            entries.push(("*".into(), vec![format!("https://{fresh}.invalid")], at));
        }
        for (k, o) in cb.origins.iter().enumerate() {
            let at = prov
                .and_then(|p| p.exact.get(k))
                .map_or_else(|| head.clone(), |s| b.at(*s));
            entries.push((o.clone(), vec![o.clone()], at));
        }
        for (k, p) in cb.patterns.iter().enumerate() {
            let at = prov
                .and_then(|pv| pv.patterns.get(k))
                .map_or_else(|| head.clone(), |s| b.at(*s));
            entries.push((p.clone(), pattern_instances(p, &fresh), at));
        }
        for (entry, instances, at) in entries {
            if entry != "*" && instances.iter().all(|o| allowed(o)) {
                continue;
            }
            out.push(
                Kind::CorsOrigin,
                entry.clone(),
                format!(
                    "{entry} is allowed by cors {}, which no route uses yet",
                    cb.name
                ),
                Place {
                    route: None,
                    host: None,
                    at,
                    witness: None,
                    latent: true,
                    legacy: false,
                },
            );
        }
    }
    // Websocket and csrf policies no route uses: their new origins.
    for (i, wb) in sb.websocket.iter().enumerate() {
        if sb.routes.iter().any(|r| r.websocket == Some(i)) {
            continue;
        }
        let ta = sa
            .websocket
            .iter()
            .position(|w| w.name == wb.name)
            .and_then(|j| a.l.policy.websocket_policies().get(j));
        let allowed = |o: &str| ta.is_some_and(|t| t.match_origin(o.as_bytes()).is_some());
        let at =
            b.l.provenance
                .websocket
                .get(i)
                .map_or_else(|| b.top(), |s| b.at(*s));
        // Each origin at its own entry (or the entry naming its set), as for a route's.
        let decl = b
            .program()
            .websocket
            .iter()
            .find(|w| w.name == wb.name && active(&w.when, &b.l.profile));
        let old_list = origin_list(
            a,
            |p| &p.websocket,
            |d| (&d.name, &d.when, &d.origins),
            &wb.name,
        );
        let entry_at = |o: &str| {
            decl.and_then(|d| origin_entry(b, &d.origins, old_list, o))
                .map_or_else(|| at.clone(), |s| b.at(s))
        };
        let entries = wb.origins.iter().map(|o| (o, vec![o.clone()])).chain(
            wb.patterns
                .iter()
                .map(|p| (p, pattern_instances(p, &fresh))),
        );
        for (entry, instances) in entries {
            if instances.iter().all(|o| allowed(o)) {
                continue;
            }
            out.push(
                Kind::WebsocketOrigin,
                entry.clone(),
                format!(
                    "{entry} is allowed by websocket {}, which no route uses yet",
                    wb.name
                ),
                Place {
                    route: None,
                    host: None,
                    at: entry_at(entry),
                    witness: None,
                    latent: true,
                    legacy: false,
                },
            );
        }
    }
    for (i, cb) in sb.csrf.iter().enumerate() {
        if sb.routes.iter().any(|r| r.csrf == Some(i)) {
            continue;
        }
        let old = sa.csrf.iter().find(|c| c.name == cb.name);
        let at =
            b.l.provenance
                .csrf
                .get(i)
                .map_or_else(|| b.top(), |s| b.at(*s));
        // Each origin at its own entry (or the entry naming its set).
        let profile = b.l.profile.as_str();
        let decl = b
            .program()
            .csrf
            .iter()
            .find(|c| c.name == cb.name && active(&c.when, profile));
        let old_sets = origin_list(
            a,
            |p| &p.csrf,
            |d| (&d.name, &d.when, &d.trusted_sets),
            &cb.name,
        );
        let entry_at = |o: &str| {
            decl.and_then(|d| {
                d.trusted
                    .iter()
                    .chain(&d.self_origins)
                    .find(|e| e.value == o && active(&e.when, profile))
                    .map(|e| e.line)
                    .or_else(|| origin_entry(b, &d.trusted_sets, old_sets, o))
            })
            .map_or_else(|| at.clone(), |s| b.at(s))
        };
        for o in cb.trusted.iter().chain(&cb.self_origins) {
            if old.is_some_and(|c| c.trusted.contains(o) || c.self_origins.contains(o)) {
                continue;
            }
            out.push(
                Kind::CsrfTrusted,
                o.clone(),
                format!(
                    "{o} is trusted by csrf {}, which no route uses yet",
                    cb.name
                ),
                Place {
                    route: None,
                    host: None,
                    at: entry_at(o),
                    witness: None,
                    latent: true,
                    legacy: false,
                },
            );
        }
    }
    // Origins sets no cors, csrf or websocket policy of NEW names, in the profile.
    let profile = b.l.profile.as_str();
    let named = |p: &Program| -> HashSet<String> {
        let mut names = HashSet::new();
        let mut add = |list: &[crate::ir::Entry<OriginRef>]| {
            for e in list.iter().filter(|e| active(&e.when, profile)) {
                if let OriginRef::Set(n) = &e.value {
                    names.insert(n.clone());
                }
            }
        };
        for c in &p.cors {
            add(&c.origins);
        }
        for c in &p.csrf {
            add(&c.trusted_sets);
        }
        for w in &p.websocket {
            add(&w.origins);
        }
        names
    };
    let used = named(b.program());
    let a_sets: BTreeMap<&str, &crate::ir::OriginSet> = a
        .program()
        .sets
        .iter()
        .filter(|s| active(&s.when, profile))
        .map(|s| (s.name.as_str(), s))
        .collect();
    for set in b.program().sets.iter().filter(|s| active(&s.when, profile)) {
        if used.contains(&set.name) {
            continue;
        }
        let old = a_sets.get(set.name.as_str());
        for e in set.items.iter().filter(|e| active(&e.when, profile)) {
            let text = match &e.value {
                OriginRef::Any => "*".to_string(),
                OriginRef::Literal(o) => o.canonical.clone(),
                OriginRef::Set(n) => n.clone(),
            };
            let had = old.is_some_and(|s| {
                s.items
                    .iter()
                    .any(|x| active(&x.when, profile) && x.value == e.value)
            });
            if had {
                continue;
            }
            out.push(
                Kind::CorsOrigin,
                text.clone(),
                format!(
                    "{text} is in origins set `{}`, which no policy names yet",
                    set.name
                ),
                Place {
                    route: None,
                    host: None,
                    at: b.at(e.span),
                    witness: None,
                    latent: true,
                    legacy: false,
                },
            );
        }
    }
    // Exemptions no route using their csrf policy reaches.
    for (i, cb) in sb.csrf.iter().enumerate() {
        let routes: Vec<&RouteSpec> = sb.routes.iter().filter(|r| r.csrf == Some(i)).collect();
        let old = sa.csrf.iter().find(|c| c.name == cb.name);
        for (k, (m, p)) in cb.exempt.iter().enumerate() {
            if guestlist::is_csrf_safe_method(m) {
                continue;
            }
            let reached = routes.iter().any(|r| {
                guestlist::pattern_covers(&r.pattern, p) || guestlist::pattern_covers(p, &r.pattern)
            });
            if reached || old.is_some_and(|c| c.exempt.iter().any(|(om, op)| om == m && op == p)) {
                continue;
            }
            let at = exempt_line(b, i, k).map_or_else(|| b.top(), |s| b.at(s));
            out.push(
                Kind::CsrfExemption,
                format!("{m} {p}"),
                format!(
                    "csrf {} exempts {m} \"{p}\", which no route using it serves yet",
                    cb.name
                ),
                Place {
                    route: None,
                    host: None,
                    at,
                    witness: None,
                    latent: true,
                    legacy: false,
                },
            );
        }
    }
}
