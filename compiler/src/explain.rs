//! `guestlist explain`: one request, decided by the runtime's evaluator, explained step by
//! step with the policy lines that made each step, and the headers the tower layer answers it
//! with ([`crate::response`]).

use guestlist::{Kind, OriginMatch, Reading, Reason};

use crate::response::AnswerError;
use crate::source::Span;
use crate::{Compilation, Lowered};

/// One step of an explanation.
#[derive(Debug, Clone)]
pub struct Step {
    /// What happened.
    pub text: String,
    /// The policy text responsible, if any.
    pub span: Option<Span>,
    /// For a path with two readings: the reading this step is about.
    pub reading: Option<Reading>,
}

/// One reading of a path that is not structurally normal.
#[derive(Debug, Clone)]
pub struct ReadingInfo {
    /// Which reading.
    pub reading: Reading,
    /// The path as that reading sees it.
    pub path: String,
    /// The route it selects.
    pub route: Option<String>,
}

/// A host block, as explain names it.
#[derive(Debug, Clone)]
pub struct BlockRef {
    /// Its index among the policy's host blocks.
    pub index: usize,
    /// Its patterns, lowercase, as written.
    pub patterns: Vec<String>,
    /// The block's head.
    pub span: Option<Span>,
}

impl BlockRef {
    /// The patterns as the block's head writes them: `"a.example" "*.b.example"`.
    pub fn quoted(&self) -> String {
        self.patterns
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Another host block's route that a request was decided under besides the route its host
/// selects (spec/language.md, section 6a: guards follow the path on every host).
#[derive(Debug, Clone)]
pub struct Contribution {
    /// The host block.
    pub block: BlockRef,
    /// The route's pattern.
    pub route: String,
    /// The route's pattern in the policy.
    pub span: Option<Span>,
    /// For a path with two readings: the reading whose route this is (`None`: both's).
    pub reading: Option<Reading>,
    /// Its cors, csrf and websocket policy names.
    pub cors: Option<String>,
    /// Its csrf policy.
    pub csrf: Option<String>,
    /// Its websocket policy.
    pub websocket: Option<String>,
    /// What it adds to the selected route's decision, of `csrf`, `websocket` and `cors`: a
    /// check, or a CORS table the answer must also satisfy (a route without a cors policy
    /// refuses CORS).
    pub adds: Vec<&'static str>,
    /// What the route alone decides of the request.
    pub kind: Kind,
    /// Why.
    pub reason: Reason,
    /// Its check (or its missing cors policy) made the decision's refusal.
    pub refused: bool,
}

/// What a request's authority made of it, in a policy with host blocks.
#[derive(Debug, Clone)]
pub struct HostInfo {
    /// The request's one authority (its `Host`); `None` without one, or when ambiguous.
    pub authority: Option<String>,
    /// Two `Host` lines: refused with 400 (`host-rejected`, `host-ambiguous`).
    pub ambiguous: bool,
    /// The host block the authority selects; `None`: the top-level routes.
    pub block: Option<BlockRef>,
    /// The policy states `hosts dispatched-by-application`: the selected route decides alone.
    pub dispatched: bool,
    /// The other host blocks' routes for the path that add a check or a CORS table, in block
    /// order.
    pub contributing: Vec<Contribution>,
}

/// The decision for one request, with its reasons.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The matched route's pattern (for a path with two readings, the as-sent reading's).
    pub route: Option<String>,
    /// For a path that is not structurally normal: its two readings.
    pub readings: Vec<ReadingInfo>,
    /// For a path with two readings: the reading whose check refused the request.
    pub refused_by: Option<Reading>,
    /// The applied CORS policy's name.
    pub cors: Option<String>,
    /// The route's csp, headers, csrf and websocket policy names.
    pub guards: [Option<String>; 4],
    /// The decision kind.
    pub kind: Kind,
    /// The status when the runtime answers by itself.
    pub status: Option<u16>,
    /// The headers of the layer's response (lowercase names; lines of one name in order;
    /// `{nonce}` and `{token}` for the per-response values).
    pub headers: Vec<(String, String)>,
    /// The headers the layer removes from the application's response (a header set's
    /// `remove`, where nothing of the policy sets the name again), of the names any header
    /// set of the policy removes: the stand-in application sends a line of each
    /// ([`crate::response::answer_app`]). Empty when the layer answers by itself.
    pub removed: Vec<String>,
    /// Human reason.
    pub reason: String,
    /// Stable reason code.
    pub reason_code: &'static str,
    /// The CSRF token check, when the route's (or either reading's) csrf policy has a
    /// `token` line.
    pub csrf_token: Option<TokenCheck>,
    /// Step by step.
    pub steps: Vec<Step>,
    /// When an entry of a set supplied at run time allowed the origin: the set's name and the
    /// entry.
    pub supplied_entry: Option<(String, String)>,
    /// In a policy with host blocks: the block the request's host selects and the other
    /// blocks' routes it was decided under.
    pub host: Option<HostInfo>,
}

/// What the CSRF token check made of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCheck {
    /// Its outcome (`csrf-token-valid`, `-issued`, `-deferred`) or the refusal it
    /// made; `None` when it did not run (the request was refused before it, is exempt, or is
    /// a WebSocket handshake).
    pub reason: Option<Reason>,
    /// Whether the layer sets a new token cookie.
    pub issue: bool,
}

impl TokenCheck {
    /// The token check of decision `d`, when `policy` gives its route a token policy.
    fn of(policy: &guestlist::Policy, d: &guestlist::Decision<'_>) -> Option<TokenCheck> {
        let signs = |g: guestlist::Guards| policy.csrf_token_policy(g).is_some();
        if !(signs(d.guards) || d.readings.is_some_and(|r| signs(r.guards))) {
            return None;
        }
        Some(match d.token {
            Some(t) => TokenCheck {
                reason: Some(t.reason),
                issue: t.issue,
            },
            // A refusal by the token check (every code of its own starts so).
            None if d.kind == Kind::CsrfRejected && d.reason.code().starts_with("csrf-token-") => {
                TokenCheck {
                    reason: Some(d.reason),
                    issue: false,
                }
            }
            None => TokenCheck {
                reason: None,
                issue: false,
            },
        })
    }
}

/// The steps for one route's csp, headers, websocket and csrf policies; `decided`: this
/// route's check made the decision (a refusal is attributed to it).
fn guard_steps(
    lowered: &Lowered,
    d: &guestlist::Decision<'_>,
    g: guestlist::Guards,
    reading: Option<Reading>,
    decided: bool,
    steps: &mut Vec<Step>,
) {
    let policy = &lowered.policy;
    let prov = &lowered.provenance;
    let csp = g.csp.and_then(|i| policy.csp_policies().get(i as usize));
    let hset = g.headers.and_then(|i| policy.header_sets().get(i as usize));
    let csrf = g.csrf.and_then(|i| policy.csrf_policies().get(i as usize));
    let ws = g
        .websocket
        .and_then(|i| policy.websocket_policies().get(i as usize));
    if let Some(c) = csp {
        steps.push(Step {
            text: format!(
                "the route uses csp policy `{}`{}",
                c.name(),
                if c.has_nonce() {
                    " (a fresh nonce per response, handed to the application)"
                } else {
                    ""
                }
            ),
            span: g.csp.and_then(|i| prov.csp.get(i as usize).copied()),
            reading,
        });
    }
    if let Some(h) = hset {
        steps.push(Step {
            text: format!("the route uses header set `{}`", h.name()),
            span: g
                .headers
                .and_then(|i| prov.headers.get(i as usize).copied().flatten()),
            reading,
        });
    }
    if let Some(w) = ws {
        if matches!(d.kind, Kind::WebsocketAllowed | Kind::WebsocketRejected) {
            let verdict = if d.kind == Kind::WebsocketRejected && !decided {
                "allowed".to_string()
            } else {
                d.reason.describe().to_string()
            };
            steps.push(Step {
                text: format!("GET with `Upgrade: websocket`: a WebSocket handshake, checked by websocket policy `{}`: {verdict}", w.name()),
                span: g.websocket.and_then(|i| prov.websocket.get(i as usize).copied()),
                reading,
            });
        }
    }
    if let Some(c) = csrf {
        // Refused by the token check, which runs once the origin check has passed.
        let token_refused = decided
            && c.token().is_some()
            && d.kind == Kind::CsrfRejected
            && d.reason.code().starts_with("csrf-token-");
        let why = match (d.kind, d.csrf_reason) {
            (Kind::CsrfRejected, _) if token_refused => {
                Some("passes its origin check (Sec-Fetch-Site, Origin)".to_string())
            }
            (Kind::CsrfRejected, _) if decided => {
                Some(format!("refused with 403: {}", d.reason.describe()))
            }
            (Kind::CsrfRejected, _) => None,
            (_, Some(r)) => Some(format!("passes: {}", r.describe())),
            _ => None,
        };
        if let Some(why) = why {
            steps.push(Step {
                text: format!("csrf policy `{}` (origins the route's cors policy allows are trusted too) {why}", c.name()),
                span: g.csrf.and_then(|i| prov.csrf.get(i as usize).copied()),
                reading,
            });
        }
        let outcome = match d.token {
            Some(t) => Some(t.reason.describe().to_string()),
            None if token_refused => Some(format!("refused with 403: {}", d.reason.describe())),
            None => None,
        };
        if let (Some(outcome), Some(tp)) = (outcome, c.token()) {
            steps.push(Step {
                text: format!(
                    "csrf token (header {}, {}, cookie {}, bound to cookie {}): {}",
                    tp.header(),
                    if tp.defers_forms() {
                        "form posts without it deferred to the application".to_string()
                    } else {
                        format!(
                            "or form field {} of an urlencoded body up to {} KiB",
                            tp.field(),
                            guestlist::FORM_BODY_LIMIT / 1024
                        )
                    },
                    tp.cookie(),
                    tp.bind_cookie(),
                    outcome
                ),
                span: g.csrf.and_then(|i| prov.csrf.get(i as usize).copied()),
                reading,
            });
        }
    }
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn method_ok(acrm: &str, cprov: Option<&crate::lower::CorsProv>) -> Step {
    Step {
        text: if crate::ir::is_safelisted_method(acrm) {
            format!("requested method {acrm} is CORS-safelisted")
        } else {
            format!("requested method {acrm} is allowed")
        },
        span: cprov.and_then(|p| p.method_lines.first().copied()),
        reading: None,
    }
}

/// The routes of `path`'s readings among host block `block`'s (`None`: the top level's):
/// `(None, route)` for a structurally normal path, each reading's for one with two.
fn block_routes(
    policy: &guestlist::Policy,
    block: Option<usize>,
    path: &str,
) -> Vec<(Option<Reading>, Option<u32>)> {
    match policy.routes_in_block(block, path) {
        Ok(guestlist::PathRoutes::Normal(r)) => vec![(None, r)],
        Ok(guestlist::PathRoutes::TwoReadings {
            as_sent,
            normalised,
            ..
        }) if as_sent == normalised => vec![(None, as_sent)],
        Ok(guestlist::PathRoutes::TwoReadings {
            as_sent,
            normalised,
            ..
        }) => vec![
            (Some(Reading::AsSent), as_sent),
            (Some(Reading::Normalised), normalised),
        ],
        Err(_) => Vec::new(),
    }
}

/// What the request's host made of it (spec/language.md, section 6a); `None` in a policy
/// without host blocks. `d` is the request's decision.
fn host_info(
    lowered: &Lowered,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    secret: Option<&guestlist::CsrfSecret>,
    d: &guestlist::Decision<'_>,
) -> Option<HostInfo> {
    let policy = &lowered.policy;
    if policy.host_block_count() == 0 {
        return None;
    }
    let block_ref = |b: usize| BlockRef {
        index: b,
        patterns: lowered
            .spec
            .hosts
            .get(b)
            .map(|h| h.patterns.clone())
            .unwrap_or_default(),
        span: lowered.provenance.hosts.get(b).copied(),
    };
    let read = guestlist::RequestAuthority::read(None, headers);
    let ambiguous = read == guestlist::RequestAuthority::Ambiguous;
    let authority = read.get().map(show);
    let selected = authority.as_deref().and_then(|a| policy.host_block(a));
    let mut info = HostInfo {
        authority,
        ambiguous,
        block: selected.map(block_ref),
        dispatched: policy.hosts_dispatched(),
        contributing: Vec::new(),
    };
    if ambiguous || info.dispatched || d.kind == Kind::PathRejected {
        return Some(info);
    }
    let route = |r: u32| policy.routes().get(r as usize);
    let tuple = |r: Option<u32>| {
        r.and_then(route)
            .map(|x| (x.cors(), x.guards().csrf, x.guards().websocket))
            .unwrap_or_default()
    };
    let alone = |r: u32| {
        policy.decide_route_alone(
            r,
            method,
            path,
            None,
            headers,
            secret,
            guestlist::FormBody::Read(&[]),
        )
    };
    let own = block_routes(policy, selected, path);
    let mine = |reading: Option<Reading>| {
        own.iter()
            .find(|(x, _)| x.is_none() || reading.is_none() || *x == reading)
            .and_then(|(_, r)| *r)
    };
    let refusal = matches!(
        d.kind,
        Kind::CsrfRejected
            | Kind::WebsocketRejected
            | Kind::ActualNotAllowed
            | Kind::PreflightRejected
    );
    // A refusal the selected route (or a reading) makes by itself is its own.
    let mut attributed = d.readings.is_some_and(|r| r.refused_by.is_some())
        || own.iter().filter_map(|(_, r)| *r).any(|r| {
            let a = alone(r);
            a.kind == d.kind && a.reason == d.reason
        });
    for b in (0..policy.host_block_count()).filter(|&b| Some(b) != selected) {
        for (reading, r) in block_routes(policy, Some(b), path) {
            let (Some(r), Some(x)) = (r, r.and_then(route)) else {
                continue;
            };
            let (cors, csrf, ws) = tuple(Some(r));
            let (s_cors, s_csrf, s_ws) = tuple(mine(reading));
            let mut adds = Vec::new();
            if csrf.is_some() && csrf != s_csrf {
                adds.push("csrf");
            }
            if ws.is_some() && ws != s_ws {
                adds.push("websocket");
            }
            if cors != s_cors {
                adds.push("cors");
            }
            if adds.is_empty() {
                continue;
            }
            let a = alone(r);
            let refused = refusal
                && !attributed
                && ((a.kind == d.kind && a.reason == d.reason)
                    || (d.reason == Reason::HostsDisagree && cors.is_none()));
            attributed |= refused;
            let name = |i: Option<u32>, names: Vec<&str>| {
                i.and_then(|i| names.get(i as usize).map(|n| n.to_string()))
            };
            info.contributing.push(Contribution {
                block: block_ref(b),
                route: x.pattern().to_string(),
                span: lowered.provenance.routes.get(r as usize).map(|p| p.span),
                reading,
                cors: name(
                    cors,
                    policy.cors_policies().iter().map(|c| c.name()).collect(),
                ),
                csrf: name(
                    csrf,
                    policy.csrf_policies().iter().map(|c| c.name()).collect(),
                ),
                websocket: name(
                    ws,
                    policy
                        .websocket_policies()
                        .iter()
                        .map(|c| c.name())
                        .collect(),
                ),
                adds,
                kind: a.kind,
                reason: a.reason,
                refused,
            });
        }
    }
    Some(info)
}

/// The steps for the request's host: the block it selects (before the route step).
fn host_steps(h: &HostInfo, steps: &mut Vec<Step>) {
    if h.ambiguous {
        steps.push(Step {
            text: "the request has two Host lines: its authority is ambiguous, so it is refused with 400 before any host block or route is chosen".into(),
            span: None,
            reading: None,
        });
        return;
    }
    let who = match &h.authority {
        Some(a) => format!("host {a}"),
        None => "the request has no Host".to_string(),
    };
    steps.push(match &h.block {
        Some(b) => Step {
            text: format!("{who} selects host block {}", b.quoted()),
            span: b.span,
            reading: None,
        },
        None => Step {
            text: format!("{who}: top-level routes (no host pattern matches)"),
            span: None,
            reading: None,
        },
    });
    if h.dispatched {
        steps.push(Step {
            text: "`hosts dispatched-by-application`: the application routes by host itself, so only the selected block's route decides".into(),
            span: None,
            reading: None,
        });
    }
}

/// The step for one contributing route: what it checked and what it made of the request.
fn contribution_step(c: &Contribution, websocket: bool) -> Step {
    let mut what = Vec::new();
    for add in &c.adds {
        match *add {
            "csrf" if !websocket => {
                let name = c.csrf.as_deref().unwrap_or("");
                what.push(match (c.kind, c.refused) {
                    (Kind::CsrfRejected, true) => format!(
                        "csrf policy `{name}` refused it with 403: {}",
                        c.reason.describe()
                    ),
                    (Kind::CsrfRejected, false) => format!(
                        "csrf policy `{name}` would refuse it: {}",
                        c.reason.describe()
                    ),
                    _ => format!("csrf policy `{name}` passes"),
                });
            }
            "websocket" if websocket => {
                let name = c.websocket.as_deref().unwrap_or("");
                what.push(match c.kind {
                    Kind::WebsocketRejected => format!(
                        "websocket policy `{name}` {}: {}",
                        if c.refused { "refused the handshake" } else { "would refuse the handshake" },
                        c.reason.describe()
                    ),
                    _ => format!("websocket policy `{name}` allows the handshake"),
                });
            }
            // A csrf refusal comes before CORS.
            "cors" if !websocket && c.kind != Kind::CsrfRejected => what.push(match &c.cors {
                None if c.refused => "no cors policy: CORS is allowed on no host for this path, so it is refused here [hosts-disagree]".to_string(),
                None => "no cors policy: CORS is allowed on no host for this path".to_string(),
                Some(n) if c.refused => format!("cors policy `{n}` refused it: {}", c.reason.describe()),
                Some(n) => format!("cors policy `{n}` must allow it too (by itself: {})", c.reason.describe()),
            }),
            _ => {}
        }
    }
    if what.is_empty() {
        what.push(format!(
            "its {} checks do not apply to this request",
            c.adds.join(" and ")
        ));
    }
    Step {
        text: format!(
            "guards follow the path on every host: host block {}'s route \"{}\" decides too: {}",
            c.block.quoted(),
            c.route,
            what.join("; ")
        ),
        span: c.span,
        reading: c.reading,
    }
}

/// Decides `method path headers` against `lowered` and explains it; `Err` for a request HTTP
/// cannot carry.
pub fn explain(
    lowered: &Lowered,
    method: &str,
    path: &str,
    headers: &[(String, String)],
) -> Result<Explanation, AnswerError> {
    explain_with(lowered, method, path, headers, None)
}

/// [`explain`] with a CSRF secret for token checks (`--csrf-secret-hex`).
pub fn explain_with(
    lowered: &Lowered,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    secret: Option<&guestlist::CsrfSecret>,
) -> Result<Explanation, AnswerError> {
    let policy = &lowered.policy;
    let prov = &lowered.provenance;
    let mut layer = guestlist::Layer::shared(std::sync::Arc::new(policy.clone()));
    if let Some(s) = secret {
        layer = layer.csrf_secret(s.clone());
    }
    let answer = crate::response::answer_app(
        &layer,
        method,
        path,
        headers,
        &crate::response::removable(policy),
    )?;
    // Decided as the layer decides the request it was just given, which has an empty body
    // (an urlencoded form post without the token header: no field, `csrf-token-missing`).
    let d = policy.decide_form(
        method,
        path,
        None,
        headers,
        secret,
        guestlist::FormBody::Read(&[]),
    );
    let mut steps = Vec::new();
    let host = host_info(lowered, method, path, headers, secret, &d);
    if let Some(h) = &host {
        host_steps(h, &mut steps);
    }
    let by_host = host
        .as_ref()
        .is_some_and(|h| h.contributing.iter().any(|c| c.refused));
    let route = d.route.and_then(|i| policy.routes().get(i as usize));
    let cors = d.cors.and_then(|i| policy.cors_policies().get(i as usize));
    let cprov = d.cors.and_then(|i| prov.cors.get(i as usize));
    let route_name = |i: Option<u32>| {
        i.and_then(|i| policy.routes().get(i as usize))
            .map(|r| r.pattern().to_string())
    };
    let mut readings = Vec::new();
    if let Some(r) = d.readings {
        let mut bufs = guestlist::PathBuffers::new();
        if let Ok(guestlist::PathForm::TwoReadings {
            as_sent,
            normalised,
            ..
        }) = guestlist::read_path(path, &mut bufs)
        {
            readings.push(ReadingInfo {
                reading: Reading::AsSent,
                path: show(as_sent),
                route: route_name(d.route),
            });
            readings.push(ReadingInfo {
                reading: Reading::Normalised,
                path: show(normalised),
                route: route_name(r.route),
            });
        }
    }
    let route_step = |i: Option<u32>, p: &str, reading: Option<Reading>| {
        let read = match reading {
            Some(Reading::AsSent) => "read as sent, ",
            Some(Reading::Normalised) => "read normalised, ",
            None => "",
        };
        match i.and_then(|i| policy.routes().get(i as usize).map(|r| (i, r))) {
            Some((i, r)) => Step {
                text: format!(
                    "{read}route \"{}\" matches {p} ({})",
                    r.pattern(),
                    if r.is_prefix() {
                        "longest matching prefix"
                    } else {
                        "exact match"
                    }
                ),
                span: prov.routes.get(i as usize).map(|p| p.span),
                reading,
            },
            None => Step {
                text: format!("{read}no route matches {p}"),
                span: None,
                reading,
            },
        }
    };
    if d.kind == Kind::HostRejected {
        // Said by the host step.
    } else if d.kind == Kind::PathRejected {
        steps.push(Step {
            text: format!(
                "{path} is refused with 400 before any route: {}",
                d.reason.describe()
            ),
            span: None,
            reading: None,
        });
    } else if let (Some(r), [sent, norm]) = (d.readings, readings.as_slice()) {
        steps.push(Step {
            text: format!(
                "{path} is not structurally normal: it has two readings, and the decision is no looser than either (an exemption never applies)"
            ),
            span: None,
            reading: None,
        });
        steps.push(route_step(d.route, &sent.path, Some(Reading::AsSent)));
        steps.push(route_step(r.route, &norm.path, Some(Reading::Normalised)));
    } else if d.route.is_some() {
        steps.push(route_step(d.route, path, None));
    } else if let Some(h) = host.as_ref().filter(|h| !h.contributing.is_empty()) {
        // The other blocks' routes decide: their steps follow.
        steps.push(Step {
            text: match &h.block {
                Some(b) => format!("no route of host block {} matches {path}", b.quoted()),
                None => format!("no top-level route matches {path}"),
            },
            span: None,
            reading: None,
        });
    } else {
        steps.push(Step {
            text: format!("no route matches {path}: {}", d.reason.describe()),
            span: None,
            reading: None,
        });
    }
    // The guards of each reading's route (one route for a structurally normal path).
    let mut each: Vec<(guestlist::Guards, Option<Reading>)> = Vec::new();
    match d.readings {
        Some(r) if r.guards != d.guards => {
            each.push((d.guards, Some(Reading::AsSent)));
            each.push((r.guards, Some(Reading::Normalised)));
        }
        _ => each.push((d.guards, None)),
    }
    let refused_by = d.readings.and_then(|r| r.refused_by);
    for (g, reading) in each {
        let this = |r: Option<Reading>| {
            !by_host && (reading.is_none() || refused_by.is_none() || r == reading)
        };
        guard_steps(lowered, &d, g, reading, this(refused_by), &mut steps);
    }
    let websocket = matches!(d.kind, Kind::WebsocketAllowed | Kind::WebsocketRejected);
    for c in host.iter().flat_map(|h| &h.contributing) {
        steps.push(contribution_step(c, websocket));
    }
    let host_cors = host
        .iter()
        .flat_map(|h| &h.contributing)
        .any(|c| c.adds.contains(&"cors"));
    if matches!(
        d.kind,
        Kind::CsrfRejected | Kind::WebsocketRejected | Kind::WebsocketAllowed
    ) {
        // Decided before CORS.
    } else if host_cors && d.readings.is_none() {
        steps.push(Step {
            text: format!(
                "{}; CORS is allowed only where every host block's route for the path allows it, with the stricter settings{}",
                match (
                    route.and_then(|x| x.cors()).and_then(|i| policy.cors_policies().get(i as usize)),
                    d.route,
                ) {
                    (Some(c), Some(r)) => {
                        let alone = policy.decide_route_alone(
                            r,
                            method,
                            path,
                            None,
                            headers,
                            secret,
                            guestlist::FormBody::Read(&[]),
                        );
                        format!(
                            "the selected route has cors policy `{}` (by itself: {})",
                            c.name(),
                            alone.reason.describe()
                        )
                    }
                    (None, Some(_)) => "the selected route has no cors policy".to_string(),
                    (_, None) => "the request's host has no route for the path".to_string(),
                },
                if d.reason == Reason::HostsDisagree {
                    " (a route without a cors policy, or a host without a route for the path, allows none)"
                } else {
                    ""
                }
            ),
            span: d.route.and_then(|r| prov.routes.get(r as usize)).and_then(|p| p.cors_line),
            reading: None,
        });
    } else if let Some(r) = d
        .readings
        .filter(|r| r.cors != route.and_then(|x| x.cors()))
    {
        let uses = |c: Option<u32>| match c.and_then(|i| policy.cors_policies().get(i as usize)) {
            Some(c) => format!("cors policy `{}`", c.name()),
            None => "no cors policy".to_string(),
        };
        let refused = match refused_by {
            Some(x) => format!(" (the {} reading refuses)", x.as_str()),
            None => String::new(),
        };
        steps.push(Step {
            text: format!(
                "read as sent, the route has {}; read normalised, {}: CORS only where both allow, with the stricter settings{refused}",
                uses(route.and_then(|x| x.cors())),
                uses(r.cors)
            ),
            span: None,
            reading: None,
        });
    } else if let (Some(c), Some(r)) = (cors, d.route) {
        steps.push(Step {
            text: format!("the route uses cors policy `{}`", c.name()),
            span: prov.routes.get(r as usize).and_then(|p| p.cors_line),
            reading: None,
        });
    } else if d.reason == Reason::NoCorsPolicy {
        steps.push(Step {
            text: "the route has no cors policy: no CORS headers are added".into(),
            span: None,
            reading: None,
        });
    }
    // With two readings, the origin and preflight steps are the refusing reading's table's
    // (a reading with no cors policy has no such steps).
    let (cors, cprov) = match (d.readings, refused_by) {
        // Each route's CORS verdict is its own step.
        _ if host_cors => (None, None),
        (Some(_), _) if d.reason == Reason::ReadingsDisagree => (None, None),
        _ if d.reason == Reason::HostsDisagree => (None, None),
        (Some(r), Some(Reading::Normalised)) => (
            r.cors.and_then(|i| policy.cors_policies().get(i as usize)),
            r.cors.and_then(|i| prov.cors.get(i as usize)),
        ),
        _ => (cors, cprov),
    };
    let origin = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("origin"))
        .map(|(_, v)| v.as_str())
        .collect::<Vec<_>>();
    let cors = cors.filter(|_| {
        !matches!(
            d.kind,
            Kind::CsrfRejected | Kind::WebsocketRejected | Kind::WebsocketAllowed
        )
    });
    // The supplied entry that allowed the origin, read from the table the decision read.
    let supplied_entry = match (cors, d.origin_match) {
        (
            Some(c),
            Some(OriginMatch::Provided {
                set,
                entry,
                generation,
            }),
        ) => c
            .provided()
            .get(set as usize)
            .and_then(|s| s.matched(entry, generation))
            .map(|m| (m.set().to_string(), m.entry().to_string())),
        _ => None,
    };
    if let Some(c) = cors {
        match (origin.as_slice(), d.origin_match) {
            ([], _) => steps.push(Step {
                text: "the request has no Origin header: not a CORS request, it reaches the application".into(),
                span: None,
                reading: None,
            }),
            (_, Some(OriginMatch::Any)) => steps.push(Step {
                text: "`*` allows every origin (sent as `Access-Control-Allow-Origin: *`)".into(),
                span: cprov.and_then(|p| p.any),
                reading: None,
            }),
            ([o, ..], Some(OriginMatch::Exact(i))) => steps.push(Step {
                text: format!("origin {o} is listed"),
                span: cprov.and_then(|p| p.exact.get(i as usize).copied()),
                reading: None,
            }),
            ([o, ..], Some(OriginMatch::Provided { .. })) => steps.push(Step {
                text: match &supplied_entry {
                    Some((set, entry)) if entry == o => {
                        format!("origin {o} is an entry of `{set}`, supplied at run time")
                    }
                    Some((set, entry)) => format!(
                        "origin {o} matches the entry {entry} of `{set}`, supplied at run time"
                    ),
                    None => format!("origin {o} is an entry of a set supplied at run time"),
                },
                span: None,
                reading: None,
            }),
            ([o, ..], Some(OriginMatch::Pattern(i))) => steps.push(Step {
                text: format!(
                    "origin {o} matches the pattern {}",
                    c.patterns().keys().get(i as usize).map_or("", |k| k.as_ref())
                ),
                span: cprov.and_then(|p| p.patterns.get(i as usize).copied()),
                reading: None,
            }),
            ([o], None) => steps.push(Step {
                text: format!("origin {o} is not allowed: no entry of `{}` matches it byte for byte", c.name()),
                span: cprov.and_then(|p| p.head),
                reading: None,
            }),
            (_, None) => steps.push(Step {
                text: "the request has more than one Origin header: treated as not allowed".into(),
                span: None,
                reading: None,
            }),
        }
    }
    if matches!(d.kind, Kind::PreflightOk | Kind::PreflightRejected) {
        steps.push(Step {
            text: "OPTIONS with Origin and Access-Control-Request-Method: a preflight, answered by the runtime (the application never sees it)".into(),
            span: None,
            reading: None,
        });
        let acrm = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("access-control-request-method"))
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        match d.reason {
            Reason::MethodNotAllowed | Reason::RequestMethodInvalid => steps.push(Step {
                text: format!(
                    "requested method {acrm} is not allowed (methods are compared byte-exactly)"
                ),
                span: cprov
                    .and_then(|p| p.method_lines.first().copied())
                    .or(cprov.and_then(|p| p.head)),
                reading: None,
            }),
            Reason::HeaderNotAllowed
            | Reason::AuthorizationNotListed
            | Reason::RequestHeadersInvalid => {
                steps.push(method_ok(acrm, cprov));
                let name = d.offending.map(show).unwrap_or_default();
                steps.push(Step {
                    text: match d.reason {
                        Reason::HeaderNotAllowed => format!("requested header {name} is not in allow-headers"),
                        Reason::AuthorizationNotListed => format!("requested header {name} is only allowed when listed by name (`*` never covers it)"),
                        _ => "Access-Control-Request-Headers is malformed or over the limits (4096 bytes, 8 lines, 64 names)".to_string(),
                    },
                    span: cprov.and_then(|p| p.header_lines.first().copied()).or(cprov.and_then(|p| p.head)),
                    reading: None,
                });
            }
            Reason::PreflightAllowed => {
                steps.push(method_ok(acrm, cprov));
                steps.push(Step {
                    text: "every requested header is allowed".into(),
                    span: cprov.and_then(|p| p.header_lines.first().copied()),
                    reading: None,
                });
            }
            _ => {}
        }
    }
    if let Some(c) = cors {
        if c.credentials() && matches!(d.kind, Kind::PreflightOk | Kind::ActualAllowed) {
            steps.push(Step {
                text: "credentials are allowed (`Access-Control-Allow-Credentials: true`)".into(),
                span: cprov.and_then(|p| p.credentials_line),
                reading: None,
            });
        }
    }
    if let Some(why) = answer.server_error {
        // The layer's own 500, whatever the decision.
        let text = match why {
            guestlist::ServerError::TwoTenantSets => "the origin is allowed through entries of two different tenant-bound sets (spec/language.md, \"Sets supplied at run time\")",
            guestlist::ServerError::SetReplaced => "a tenant-bound set was replaced under the request more times in a row than the layer decides again (spec/language.md, \"Sets supplied at run time\")",
            guestlist::ServerError::NoNonce => "no CSP nonce could be drawn (no CSPRNG), and a guessable one is never sent",
            _ => "the layer could not answer as decided",
        };
        steps.push(Step {
            text: format!("{text}: the tower layer answers {}", answer.status),
            span: None,
            reading: None,
        });
    }
    let reason = match d.offending {
        Some(o) => format!("{}: {}", d.reason.describe(), show(o)),
        None => d.reason.describe().to_string(),
    };
    let g = d.guards;
    Ok(Explanation {
        supplied_entry,
        route: route.map(|r| r.pattern().to_string()),
        readings,
        refused_by,
        cors: d
            .cors
            .and_then(|i| policy.cors_policies().get(i as usize))
            .map(|c| c.name().to_string()),
        guards: [
            g.csp
                .and_then(|i| policy.csp_policies().get(i as usize))
                .map(|c| c.name().to_string()),
            g.headers
                .and_then(|i| policy.header_sets().get(i as usize))
                .map(|c| c.name().to_string()),
            g.csrf
                .and_then(|i| policy.csrf_policies().get(i as usize))
                .map(|c| c.name().to_string()),
            g.websocket
                .and_then(|i| policy.websocket_policies().get(i as usize))
                .map(|c| c.name().to_string()),
        ],
        kind: d.kind,
        // The layer's own 500 replaces the decision's status.
        status: answer.server_error.map(|_| answer.status).or(d.status()),
        headers: answer.headers,
        removed: answer.removed,
        reason,
        reason_code: d.reason.code(),
        csrf_token: TokenCheck::of(policy, &d),
        steps,
        host,
    })
}

/// The human format: numbered steps, each quoting its policy line.
pub fn render_human(
    c: &Compilation,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    e: &Explanation,
) -> String {
    let mut out = format!("request: {method} {path}\n");
    for (n, v) in headers {
        out.push_str(&format!("  {n}: {v}\n"));
    }
    out.push('\n');
    for (i, s) in e.steps.iter().enumerate() {
        let reading = match s.reading {
            Some(Reading::AsSent) if !s.text.starts_with("read ") => "(read as sent) ",
            Some(Reading::Normalised) if !s.text.starts_with("read ") => "(read normalised) ",
            _ => "",
        };
        out.push_str(&format!("{}. {reading}{}\n", i + 1, s.text));
        // The supplied entry that allowed the origin: its file and line.
        let supplied = e
            .supplied_entry
            .as_ref()
            .filter(|(set, _)| {
                s.span.is_none() && s.text.ends_with(&format!("`{set}`, supplied at run time"))
            })
            .and_then(|(set, entry)| c.supplied_source(set, entry));
        if let Some((file, line)) = supplied {
            let text = c
                .sources
                .files()
                .find(|(_, f)| f.name == file)
                .map(|(_, f)| f.line_text(line).to_string())
                .unwrap_or_default();
            out.push_str(&format!("   --> {file}:{line}\n   | {}\n", text.trim_end()));
        }
        if let Some(span) = s.span {
            let (file, line, col) = c.sources.location(span);
            let text = c
                .sources
                .get(span.file)
                .map(|f| f.line_text(line).to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "   --> {file}:{line}:{col}\n   | {}\n",
                text.trim_end()
            ));
        }
    }
    out.push('\n');
    match e.status {
        Some(s) => out.push_str(&format!(
            "result: {} ({s}, answered by the runtime)\n",
            e.kind.as_str()
        )),
        None => out.push_str(&format!(
            "result: {} (the request reaches the application)\n",
            e.kind.as_str()
        )),
    }
    out.push_str(&format!("reason: {} [{}]\n", e.reason, e.reason_code));
    if e.headers.is_empty() {
        out.push_str("headers: none\n");
    } else {
        out.push_str("headers:\n");
        for (n, v) in &e.headers {
            out.push_str(&format!("  {n}: {v}\n"));
        }
    }
    if !e.removed.is_empty() {
        out.push_str(&format!(
            "removed from the application's response: {}\n",
            e.removed.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    /// An origin two readings allow through entries of two different tenant-bound sets: the
    /// layer's 500 is the status, with no header and a step that says why; an origin in one
    /// set reaches the application.
    #[test]
    fn two_tenant_bound_sets_are_the_layers_500() {
        let dir = std::env::temp_dir().join(format!("guestlist-explain-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.txt"), dir.join("b.txt"));
        std::fs::write(
            &a,
            "https://both.example.org t1\nhttps://one.example.org t2\n",
        )
        .unwrap();
        std::fs::write(&b, "https://both.example.org u1\n").unwrap();
        let mut c = crate::Compilation::from_str(
            "p.policy",
            "origins a provided tenant-bound\norigins b provided tenant-bound\ncors x { allow-origins a }\ncors y { allow-origins b a }\ncors z { allow-origins b }\nroute \"/api/*\" { cors x }\nroute \"/api/b/*\" { cors y }\nroute \"/v/*\" { cors y }\nroute \"/v/b/*\" { cors z }\n",
        );
        c.supply("a", &a).unwrap();
        c.supply("b", &b).unwrap();
        assert!(!c.has_errors(), "{}", c.render());
        let lowered = c.lower("default").unwrap();
        let at = |path: &str, origin: &str| {
            let h = vec![
                ("Origin".to_string(), origin.to_string()),
                ("Host".to_string(), "api.example.com".to_string()),
            ];
            super::explain(&lowered, "GET", path, &h).unwrap()
        };
        let ask = |origin: &str| at("/api//b/x", origin);
        // In the runtime's match order a policy allows an origin by the first of its sets that
        // holds it: `y` (`b a`) and `z` (`b`) both allow `both.example.org` through `b`. (An
        // origin both written in a cors policy and supplied is refused when supplied, GL1408.)
        for path in ["/v//b/x", "/v/b/x"] {
            let e = at(path, "https://both.example.org");
            assert_eq!(e.status, None, "{path}: {:?}", e.steps);
            assert!(
                e.headers
                    .iter()
                    .any(|(n, _)| n == "access-control-allow-origin"),
                "{path}: {:?}",
                e.headers
            );
        }
        let e = ask("https://both.example.org");
        assert_eq!(e.status, Some(500));
        assert!(e.headers.is_empty(), "{:?}", e.headers);
        assert!(
            e.steps
                .iter()
                .any(|s| s.text.contains("two different tenant-bound sets")),
            "{:?}",
            e.steps
        );
        let e = ask("https://one.example.org");
        assert_eq!(e.status, None);
        assert!(e
            .headers
            .iter()
            .any(|(n, _)| n == "access-control-allow-origin"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
