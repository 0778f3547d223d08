//! What the runtime decides a request under, for every request the edge can tell apart: the
//! host block its authority selects, and the route region (the longest route pattern of any
//! block or the top level) of each reading of its path. Each such key gets a [`Plan`], the
//! checks the runtime's `decide_route` or `decide_merged` runs for it, in its order; keys with
//! the same plan share one answer. The bottom of the emitter's parts.

use guestlist::{Guards, Policy, PolicySpec};

/// One answer: the checks of the routes a request is decided under, in the runtime's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Plan {
    /// The websocket policies whose handshake checks run, in order (each once).
    pub(super) websocket: Vec<u32>,
    /// The csrf policies whose checks run, in order, each with the cors policy of its route
    /// (whose origins it trusts); each pair once.
    pub(super) csrf: Vec<(u32, Option<u32>)>,
    /// The cors policies of the routes whose CORS takes part, in order (each once; `None`: a
    /// route without one, which allows nothing).
    pub(super) cors: Vec<Option<u32>>,
    /// Several tables folded (`decide_cors_all`), rather than one table's own answer.
    pub(super) merged: bool,
    /// The guards whose security headers and CSP are sent, and the normalised reading's when
    /// they differ.
    pub(super) headers: (Guards, Option<Guards>),
}

impl Plan {
    /// Whether the plan decides nothing (no route, no contributing route).
    pub(super) fn is_empty(&self) -> bool {
        self.websocket.is_empty()
            && self.csrf.is_empty()
            && self.cors.iter().all(Option::is_none)
            && self.headers == (Guards::NONE, None)
    }
}

/// A route's cors policy and guards (none for no route).
fn parts(policy: &Policy, r: Option<u32>) -> (Option<u32>, Guards) {
    r.and_then(|i| policy.routes().get(i as usize))
        .map_or((None, Guards::NONE), |r| (r.cors(), r.guards()))
}

/// Pushes `x` unless `v` holds it.
fn push_once<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// The plan of `decide_route(r)`.
fn single(policy: &Policy, r: u32, normalised: Option<Guards>) -> Plan {
    let (cors, g) = parts(policy, Some(r));
    let headers = (g, normalised.filter(|n| *n != g));
    Plan {
        websocket: g.websocket.into_iter().collect(),
        csrf: g.csrf.map(|c| (c, cors)).into_iter().collect(),
        cors: cors.map(Some).into_iter().collect(),
        merged: false,
        headers,
    }
}

/// Where a merged decision's route comes from (the runtime's `Source`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Reading,
    Host,
    GuardOnly,
}

/// Whether a request whose selected route has `selected`'s policies is decided under it
/// alone: every contributing route has its cors, csrf and websocket policies.
fn alone(policy: &Policy, selected: Option<u32>, contributing: &[u32]) -> bool {
    let tuple = |r: Option<u32>| {
        let (c, g) = parts(policy, r);
        (c, g.csrf, g.websocket)
    };
    match contributing {
        [] => true,
        [one] => selected.is_some() && tuple(selected) == tuple(Some(*one)),
        _ => false,
    }
}

/// The plan of `decide_merged(first, second, hosts)`.
fn merged(
    policy: &Policy,
    spec: &PolicySpec,
    first: Option<u32>,
    second: Option<Option<u32>>,
    hosts: [&[u32]; 2],
) -> Option<Plan> {
    let (cors_s, guards_s) = parts(policy, first);
    let normalised = second.unwrap_or(first);
    let (cors_n, guards_n) = parts(policy, normalised);
    let readings = second.map(|_| guards_n);
    let one = first.or(normalised);
    let one_policy = first == normalised || (cors_s == cors_n && guards_s == guards_n);
    if one_policy && hosts.iter().all(|h| alone(policy, one, h)) {
        return one.map(|r| single(policy, r, readings));
    }
    let by_first = if second.is_some() {
        Source::Reading
    } else {
        Source::Host
    };
    let top = |r: u32| {
        spec.routes
            .get(r as usize)
            .is_some_and(|x| x.host.is_none())
    };
    let mut sources: Vec<(Source, Option<u32>)> = vec![(by_first, first)];
    if let Some(n) = second {
        sources.push((Source::Reading, n));
    }
    for &r in hosts[0].iter().chain(hosts[1]) {
        let s = if top(r) {
            Source::GuardOnly
        } else {
            Source::Host
        };
        sources.push((s, Some(r)));
    }
    let mut plan = Plan {
        websocket: Vec::new(),
        csrf: Vec::new(),
        cors: Vec::new(),
        merged: true,
        headers: (guards_s, readings.filter(|n| *n != guards_s)),
    };
    for &(_, r) in &sources {
        let (c, g) = parts(policy, r);
        if let Some(w) = g.websocket {
            push_once(&mut plan.websocket, w);
        }
        if let Some(x) = g.csrf {
            push_once(&mut plan.csrf, (x, c));
        }
    }
    let cors: Vec<Option<u32>> = sources
        .iter()
        .filter(|(s, _)| *s != Source::GuardOnly)
        .map(|&(_, r)| parts(policy, r).0)
        .collect();
    if cors.iter().all(|c| *c == cors_s) {
        plan.merged = false;
        plan.cors = cors_s.map(Some).into_iter().collect();
    } else {
        for c in cors {
            push_once(&mut plan.cors, c);
        }
    }
    Some(plan)
}

/// The route regions: every distinct route pattern (of any block or the top level), sorted,
/// with a path that only it covers among them.
pub(super) fn regions(policy: &Policy) -> Vec<(String, String)> {
    let mut patterns: Vec<String> = policy
        .routes()
        .iter()
        .map(|r| r.pattern().to_string())
        .collect();
    patterns.sort();
    patterns.dedup();
    let longest = patterns.iter().map(String::len).max().unwrap_or(0);
    patterns
        .into_iter()
        .map(|p| {
            // Below a prefix, a segment longer than every pattern: no other pattern covers it
            // but the prefixes above this one.
            let rep = match p.strip_suffix('*') {
                Some(prefix) => format!("{prefix}{}", "~".repeat(longest + 1)),
                None => p.clone(),
            };
            (p, rep)
        })
        .collect()
}

/// The route host block `block` (`None`: the top level) selects for a path of region `rep`.
fn route_in(policy: &Policy, block: Option<usize>, rep: Option<&str>) -> Option<u32> {
    match policy.routes_in_block(block, rep?) {
        Ok(guestlist::PathRoutes::Normal(r)) => r,
        _ => None,
    }
}

/// The plan of a request with a structurally normal path of region `g` (its representative
/// path), on host block `block`.
pub(super) fn normal(
    policy: &Policy,
    spec: &PolicySpec,
    block: Option<usize>,
    g: Option<&str>,
) -> Option<Plan> {
    let route = route_in(policy, block, g);
    let hosts = g.map_or(&[][..], |p| policy.contributing_routes(p));
    match route {
        Some(r) if alone(policy, Some(r), hosts) => Some(single(policy, r, None)),
        None if hosts.is_empty() => None,
        _ => merged(policy, spec, route, None, [hosts, &[]]),
    }
}

/// The plan of a request whose path has two readings, of regions `sent` and `norm`.
pub(super) fn two(
    policy: &Policy,
    spec: &PolicySpec,
    block: Option<usize>,
    sent: Option<&str>,
    norm: Option<&str>,
) -> Option<Plan> {
    let hosts = |g: Option<&str>| g.map_or(&[][..], |p| policy.contributing_routes(p));
    merged(
        policy,
        spec,
        route_in(policy, block, sent),
        Some(route_in(policy, block, norm)),
        [hosts(sent), hosts(norm)],
    )
}
