//! The requests `guestlist probe` sends, per route and host block, each with the runtime's
//! answer to it; at most `max_requests`, refusals and look-alike origins first.

use super::{expect, split, Expected, QUERY, SAMPLE_LABEL, STRANGER};
use crate::Lowered;

/// What a request is sent for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// From an origin the policy allows (a sample of a `*.` pattern).
    Allowed,
    /// From an origin built to look like an allowed one, or `null`, or a stranger.
    LookAlike,
    /// Without `Origin`.
    NoOrigin,
    /// A path in another form (dot segments, escapes, doubled slashes).
    PathForm,
    /// A WebSocket handshake.
    WebSocket,
    /// A cross-site POST (`--unsafe-methods`).
    Csrf,
    /// One of two fetches whose CSP nonces must differ.
    Nonce,
}

/// One request of the plan, with the runtime's answer to it.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Its number, unique in the plan: the query `?guestlist-probe=N`.
    pub n: usize,
    /// The route it probes, as the policy writes it (`host "a.example" "/api/*"` in a block).
    pub route: String,
    /// The concrete path, without the query.
    pub path: String,
    /// The method.
    pub method: String,
    /// The headers sent, `Host` first (then `Cache-Control: no-cache`, the request's own and
    /// the `-H` ones).
    pub headers: Vec<(String, String)>,
    /// Why it is sent.
    pub purpose: Purpose,
    /// For a [`Purpose::Nonce`] fetch: the index in the plan of the other one.
    pub pair: Option<usize>,
    /// The runtime's answer.
    pub expected: Expected,
}

impl Probe {
    /// The request target: the path and the probe's unique query.
    pub fn target(&self) -> String {
        target(&self.path, self.n)
    }

    /// A header's value as sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether it is a WebSocket handshake (closed once the head is read).
    pub fn is_websocket(&self) -> bool {
        self.purpose == Purpose::WebSocket
    }
}

/// `path` with the query of request `n` (a path with a query of its own gets `&...`).
fn target(path: &str, n: usize) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{QUERY}={n}")
}

/// What the plan is built for.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The target's authority, the `Host` of top-level routes (`example.com`,
    /// `example.com:8443`).
    pub host: String,
    /// Concrete paths (`--path`): each replaces the generated path of the routes whose
    /// pattern covers it, or is probed on its own.
    pub paths: Vec<String>,
    /// Headers added to every request (`-H`).
    pub extra_headers: Vec<(String, String)>,
    /// Send cross-site POSTs for the csrf checks.
    pub unsafe_methods: bool,
    /// At most this many requests.
    pub max_requests: usize,
    /// The entries supplied for each set supplied at run time (`--origins NAME=FILE`), by set
    /// name: they are allowed origins like the policy's own, probed with their look-alikes.
    pub supplied: Vec<(String, Vec<String>)>,
}

/// The requests to send.
#[derive(Debug, Clone)]
pub struct Plan {
    /// In the order to send them; `probes[i].n == i + 1`.
    pub probes: Vec<Probe>,
    /// Requests were left out to stay within `max_requests`.
    pub truncated: bool,
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// A request cannot be sent over HTTP (a `-H` header or a `--path` HTTP cannot carry).
    NotHttp(String),
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::NotHttp(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for PlanError {}

/// A request before it is numbered.
struct Draft {
    route: String,
    path: String,
    method: String,
    headers: Vec<(String, String)>,
    purpose: Purpose,
    /// Drafts of one route in order; the second of a nonce pair follows the first.
    nonce_second: bool,
}

/// One route to probe: its label, concrete path, `Host`, and its guards (spec indexes).
struct Target {
    label: String,
    path: String,
    host: String,
    cors: Option<usize>,
    csrf: Option<usize>,
    websocket: Option<usize>,
    nonce: bool,
}

/// The concrete path of a route pattern: `/api/*` -> `/api/guestlist-probe`.
pub fn concrete_path(pattern: &str) -> String {
    match pattern.strip_suffix('*') {
        Some(prefix) => format!("{prefix}{SAMPLE_LABEL}"),
        None => pattern.to_string(),
    }
}

/// The `Host` a host block's pattern is probed with: `*.` gets a sample label.
fn block_host(pattern: &str) -> String {
    match pattern.strip_prefix("*.") {
        Some(rest) => format!("{SAMPLE_LABEL}.{rest}"),
        None => pattern.to_string(),
    }
}

fn targets(lowered: &Lowered, opts: &PlanOptions) -> Vec<Target> {
    let spec = &lowered.spec;
    let nonce = |i: Option<usize>| {
        i.and_then(|i| spec.csp.get(i))
            .is_some_and(|c| c.parts.len() > 1)
    };
    let mut used = vec![false; opts.paths.len()];
    let mut out = Vec::new();
    for r in &spec.routes {
        let block = r.host.and_then(|h| spec.hosts.get(h));
        let host = block
            .and_then(|b| b.patterns.first())
            .map_or_else(|| opts.host.clone(), |p| block_host(p));
        let label = match block {
            Some(b) => format!("host \"{}\" \"{}\"", b.patterns.join("\" \""), r.pattern),
            None => format!("\"{}\"", r.pattern),
        };
        let mut paths: Vec<String> = Vec::new();
        for (i, p) in opts.paths.iter().enumerate() {
            let bare = p.split('?').next().unwrap_or(p);
            if guestlist::pattern_covers(&r.pattern, bare) {
                paths.push(p.clone());
                if let Some(u) = used.get_mut(i) {
                    *u = true;
                }
            }
        }
        if paths.is_empty() {
            paths.push(concrete_path(&r.pattern));
        }
        for path in paths {
            out.push(Target {
                label: label.clone(),
                path,
                host: host.clone(),
                cors: r.cors,
                csrf: r.csrf,
                websocket: r.websocket,
                nonce: nonce(r.csp),
            });
        }
    }
    for (p, u) in opts.paths.iter().zip(&used) {
        if !u {
            out.push(Target {
                label: format!("\"{p}\" (no route)"),
                path: p.clone(),
                host: opts.host.clone(),
                cors: None,
                csrf: None,
                websocket: None,
                nonce: false,
            });
        }
    }
    out
}

/// The sample origin of an origin or pattern (`https://*.a.example` ->
/// `https://guestlist-probe.a.example`, `https://a.example:*` -> `https://a.example:8443`).
pub fn sample(origin: &str) -> String {
    if origin == "*" {
        return STRANGER.to_string();
    }
    let s = origin.replacen("://*.", &format!("://{SAMPLE_LABEL}."), 1);
    match s.strip_suffix(":*") {
        Some(base) => format!("{base}:8443"),
        None => s,
    }
}

/// Origins built to catch the classic mistakes with an allowed origin or pattern: the allowed
/// host as a prefix or suffix of another host, another scheme, another port, uppercase, a
/// sibling (or the parent of a `*.` pattern), a subdomain of an exact host.
pub fn look_alikes(origin: &str) -> Vec<String> {
    let Some((scheme, host, port)) = split(origin) else {
        return Vec::new();
    };
    let other_scheme = if scheme == "https" { "http" } else { "https" };
    let port_text = |p: Option<&str>| p.map(|p| format!(":{p}")).unwrap_or_default();
    let pattern = host.strip_prefix("*.");
    let base = pattern.unwrap_or(host);
    let sample_host = pattern.map_or_else(|| host.to_string(), |b| format!("{SAMPLE_LABEL}.{b}"));
    let port = port.filter(|p| *p != "*");
    let pt = port_text(port);
    let mut out = vec![
        format!("{scheme}://{base}.{SAMPLE_LABEL}.test{pt}"),
        format!("{scheme}://{SAMPLE_LABEL}{base}{pt}"),
        format!("{other_scheme}://{sample_host}{pt}"),
        format!(
            "{scheme}://{sample_host}:{}",
            match port.and_then(|p| p.parse::<u16>().ok()) {
                Some(p) => p.wrapping_add(1).max(1),
                None => 8444,
            }
        ),
        format!("{scheme}://{}{pt}", sample_host.to_ascii_uppercase()),
    ];
    match pattern {
        Some(b) => out.push(format!("{scheme}://{b}{pt}")),
        None => out.push(format!("{scheme}://{SAMPLE_LABEL}.{host}{pt}")),
    }
    if let Some((_, parent)) = base.split_once('.') {
        if parent.contains('.') {
            out.push(format!("{scheme}://{SAMPLE_LABEL}-sibling.{parent}{pt}"));
        }
    }
    out
}

/// The origins a cors policy allows (samples of its patterns), and look-alikes of each.
fn origin_sets(origins: &[String], patterns: &[String], any: bool) -> (Vec<String>, Vec<String>) {
    let mut allowed: Vec<String> = origins.iter().map(|o| sample(o)).collect();
    allowed.extend(patterns.iter().map(|p| sample(p)));
    if any {
        allowed.push(STRANGER.to_string());
    }
    let mut alikes = Vec::new();
    for o in origins.iter().chain(patterns) {
        for l in look_alikes(o) {
            if !alikes.contains(&l) && !allowed.contains(&l) {
                alikes.push(l);
            }
        }
    }
    alikes.push("null".to_string());
    if !any && !allowed.iter().any(|a| a == STRANGER) {
        alikes.push(STRANGER.to_string());
    }
    (allowed, alikes)
}

/// The forms of `path` that are not structurally normal (issue 9): a dot-dot segment back to
/// it, a dot segment, escaped dots, a doubled slash.
pub fn path_forms(path: &str) -> Vec<String> {
    let (bare, query) = match path.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (path, String::new()),
    };
    let rest = bare.strip_prefix('/').unwrap_or(bare);
    vec![
        format!("/{SAMPLE_LABEL}/../{rest}{query}"),
        format!("/./{rest}{query}"),
        format!("/{SAMPLE_LABEL}/%2e%2e/{rest}{query}"),
        format!("//{rest}{query}"),
    ]
}

fn h(n: &str, v: &str) -> (String, String) {
    (n.to_string(), v.to_string())
}

/// The drafts of one target, in its own order.
fn drafts(
    lowered: &Lowered,
    t: &Target,
    unsafe_methods: bool,
    supplied: &[(String, Vec<String>)],
) -> Vec<Draft> {
    let spec = &lowered.spec;
    // A policy's origins and patterns with the entries supplied to the sets it names.
    let with_supplied = |origins: &[String], patterns: &[String], sets: &[usize]| {
        let (mut o, mut p) = (origins.to_vec(), patterns.to_vec());
        for name in sets
            .iter()
            .filter_map(|i| spec.provided.get(*i))
            .map(|s| &s.name)
        {
            for (_, entries) in supplied.iter().filter(|(n, _)| n == name) {
                for e in entries {
                    if e.contains("://*.") {
                        p.push(e.clone());
                    } else {
                        o.push(e.clone());
                    }
                }
            }
        }
        (o, p)
    };
    let mut out = Vec::new();
    let mut push = |method: &str, path: &str, headers: Vec<(String, String)>, purpose| {
        out.push(Draft {
            route: t.label.clone(),
            path: path.to_string(),
            method: method.to_string(),
            headers,
            purpose,
            nonce_second: false,
        });
    };
    let origin = |o: &str| vec![h("Origin", o)];
    let cors = t.cors.and_then(|i| spec.cors.get(i));
    let (allowed, alikes) = match cors {
        Some(c) => {
            let (o, p) = with_supplied(&c.origins, &c.patterns, &c.provided);
            origin_sets(&o, &p, c.any_origin)
        }
        None => (Vec::new(), vec![STRANGER.to_string()]),
    };
    // The preflight's method and headers: an allowed one (one a browser preflights when the
    // policy has it), then ones the policy refuses.
    let (ok_method, bad_method, ok_headers, bad_header) = match cors {
        Some(c) => {
            let listed = |m: &str| c.methods.iter().any(|x| x == m);
            let ok = c
                .methods
                .iter()
                .find(|m| !matches!(m.as_str(), "GET" | "HEAD" | "POST"))
                .or(c.methods.first())
                .cloned()
                .unwrap_or_else(|| "PUT".to_string());
            let bad = ["DELETE", "PUT", "PATCH", "PROPFIND"]
                .into_iter()
                .find(|m| !listed(m))
                .unwrap_or("PROPFIND");
            (
                ok,
                bad.to_string(),
                c.headers.join(", "),
                "X-Guestlist-Probe".to_string(),
            )
        }
        None => (
            "PUT".to_string(),
            "PROPFIND".to_string(),
            String::new(),
            "X-Guestlist-Probe".to_string(),
        ),
    };
    let preflight = |o: &str, m: &str, hs: &str| {
        let mut v = vec![h("Origin", o), h("Access-Control-Request-Method", m)];
        if !hs.is_empty() {
            v.push(h("Access-Control-Request-Headers", hs));
        }
        v
    };
    let p = t.path.as_str();
    // Look-alikes and refusals first: these show a looser server.
    for o in &alikes {
        push("GET", p, origin(o), Purpose::LookAlike);
        push(
            "OPTIONS",
            p,
            preflight(o, &ok_method, &ok_headers),
            Purpose::LookAlike,
        );
    }
    if let Some(first) = allowed.first() {
        push(
            "OPTIONS",
            p,
            preflight(first, &bad_method, ""),
            Purpose::Allowed,
        );
        push(
            "OPTIONS",
            p,
            preflight(first, &ok_method, &bad_header),
            Purpose::Allowed,
        );
    }
    for form in path_forms(p) {
        let hs = allowed.first().map(|o| origin(o)).unwrap_or_default();
        push("GET", &form, hs, Purpose::PathForm);
    }
    if let Some(ws) = t.websocket.and_then(|i| spec.websocket.get(i)) {
        let (wo, wp) = with_supplied(&ws.origins, &ws.patterns, &ws.provided);
        let (ok, bad) = origin_sets(&wo, &wp, false);
        let handshake = |o: Option<&str>| {
            let mut v = vec![
                h("Upgrade", "websocket"),
                h("Connection", "Upgrade"),
                h("Sec-WebSocket-Key", WEBSOCKET_KEY),
                h("Sec-WebSocket-Version", "13"),
            ];
            if let Some(o) = o {
                v.push(h("Origin", o));
            }
            v
        };
        for o in bad.iter().chain(&ok) {
            push("GET", p, handshake(Some(o)), Purpose::WebSocket);
        }
        push("GET", p, handshake(None), Purpose::WebSocket);
    }
    if unsafe_methods {
        if let Some(c) = t.csrf.and_then(|i| spec.csrf.get(i)) {
            let post = |o: &str| {
                vec![
                    h("Origin", o),
                    h("Sec-Fetch-Site", "cross-site"),
                    h("Content-Type", "text/plain"),
                    h("Content-Length", "0"),
                ]
            };
            let (to, tp) = with_supplied(&c.trusted, &[], &c.trusted_provided);
            let (ok, bad) = origin_sets(&to, &tp, false);
            for o in bad.iter().chain(&ok) {
                push("POST", p, post(o), Purpose::Csrf);
            }
        }
    }
    for o in &allowed {
        push("GET", p, origin(o), Purpose::Allowed);
        push(
            "OPTIONS",
            p,
            preflight(o, &ok_method, &ok_headers),
            Purpose::Allowed,
        );
    }
    push("GET", p, Vec::new(), Purpose::NoOrigin);
    if t.nonce {
        push("GET", p, Vec::new(), Purpose::Nonce);
        push("GET", p, Vec::new(), Purpose::Nonce);
        if let Some(last) = out.last_mut() {
            last.nonce_second = true;
        }
    }
    out
}

/// The requests for `lowered` (refusals and look-alikes first, round-robin over the routes),
/// at most `opts.max_requests`, each numbered and with the runtime's answer.
pub fn plan(lowered: &Lowered, opts: &PlanOptions) -> Result<Plan, PlanError> {
    let mut ranked: Vec<(bool, usize, usize, Draft)> = Vec::new();
    for (ti, t) in targets(lowered, opts).iter().enumerate() {
        for (i, mut d) in drafts(lowered, t, opts.unsafe_methods, &opts.supplied)
            .into_iter()
            .enumerate()
        {
            let mut headers = vec![h("Host", &t.host), h("Cache-Control", "no-cache")];
            headers.append(&mut d.headers);
            headers.extend(opts.extra_headers.iter().cloned());
            d.headers = headers;
            let e = expect(lowered, &d.method, &d.path, &d.headers)
                .map_err(|e| PlanError::NotHttp(format!("{} {}: {e}", d.method, d.path)))?;
            let first = d.purpose == Purpose::LookAlike || e.refuses();
            ranked.push((!first, i, ti, d));
        }
    }
    ranked.sort_by_key(|(later, i, ti, _)| (*later, *i, *ti));
    let truncated = ranked.len() > opts.max_requests;
    ranked.truncate(opts.max_requests);
    let mut probes: Vec<Probe> = Vec::with_capacity(ranked.len());
    for (_, _, _, d) in ranked {
        let n = probes.len() + 1;
        let expected = expect(lowered, &d.method, &target(&d.path, n), &d.headers)
            .map_err(|e| PlanError::NotHttp(format!("{} {}: {e}", d.method, d.path)))?;
        probes.push(Probe {
            n,
            route: d.route,
            path: d.path,
            method: d.method,
            headers: d.headers,
            purpose: d.purpose,
            pair: None,
            expected,
        });
        if d.nonce_second {
            // Its first fetch: the nearest earlier unpaired nonce fetch of the route.
            let me = n - 1;
            let route = probes.last().map(|p| p.route.clone());
            let other = probes.iter().rposition(|p| {
                p.purpose == Purpose::Nonce
                    && p.pair.is_none()
                    && p.n != n
                    && Some(&p.route) == route.as_ref()
            });
            if let Some(o) = other {
                if let Some(p) = probes.get_mut(o) {
                    p.pair = Some(me);
                }
                if let Some(p) = probes.get_mut(me) {
                    p.pair = Some(o);
                }
            }
        }
    }
    Ok(Plan { probes, truncated })
}

/// The handshake's `Sec-WebSocket-Key`: RFC 6455 asks for 16 bytes in base64 (24
/// characters), and servers answer 400 to any other length before they look at `Origin`, so
/// a malformed key would make a server with no origin check look as if it refused the origin.
/// These 16 bytes are RFC 6455's own example nonce.
pub const WEBSOCKET_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The least time between two requests sent at `rate` requests per second. The sender waits
/// that long after the previous request was sent (not after a fixed start), so a slow answer
/// is never followed by a burst that catches up.
pub fn gap(rate: u32) -> std::time::Duration {
    std::time::Duration::from_secs_f64(1.0 / f64::from(rate.max(1)))
}

/// Paces requests at most `rate` a second: each waits one [`gap`] after the previous one
/// was sent, whatever the answers took.
#[derive(Debug, Clone)]
pub struct Pacer {
    gap: std::time::Duration,
    last: Option<std::time::Instant>,
}

impl Pacer {
    /// A pacer for `rate` requests a second.
    pub fn new(rate: u32) -> Self {
        Self {
            gap: gap(rate),
            last: None,
        }
    }

    /// How long to wait at `now` before sending the next request.
    pub fn wait(&self, now: std::time::Instant) -> std::time::Duration {
        self.last.map_or(std::time::Duration::ZERO, |t| {
            (t + self.gap).saturating_duration_since(now)
        })
    }

    /// Records that a request was sent at `at`.
    pub fn sent(&mut self, at: std::time::Instant) {
        self.last = Some(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Compilation;
    use guestlist::Kind;

    const POLICY: &str = r#"
origins web { "https://app.example.com" "https://*.preview.example.com" }
cors api {
    allow-origins web
    allow-methods GET PUT
    allow-headers Content-Type
    allow-credentials true
}
csp page {
    default-src 'self'
    script-src 'nonce' 'strict-dynamic'
    object-src 'none'
    base-uri 'none'
}
websocket live { allow-origins "https://app.example.com" }
csrf forms { trusted-origins "https://partner.example.com" }
route "/api/*" { cors api }
route "/page" { csp page; csrf forms }
route "/live" { websocket live }
"#;

    fn lowered() -> Lowered {
        let c = Compilation::from_str("p.policy", POLICY);
        assert!(!c.has_errors(), "{}", c.render());
        c.lower("default").unwrap()
    }

    fn opts(max: usize) -> PlanOptions {
        PlanOptions {
            host: "staging.example.com".into(),
            paths: Vec::new(),
            extra_headers: Vec::new(),
            unsafe_methods: false,
            max_requests: max,
            supplied: Vec::new(),
        }
    }

    #[test]
    fn queries_are_unique_and_every_request_asks_for_no_cache() {
        let p = plan(&lowered(), &opts(10_000)).unwrap();
        assert!(!p.truncated);
        let mut seen = std::collections::BTreeSet::new();
        for (i, probe) in p.probes.iter().enumerate() {
            assert_eq!(probe.n, i + 1);
            assert!(seen.insert(probe.target()), "{}", probe.target());
            assert!(probe
                .target()
                .ends_with(&format!("?guestlist-probe={}", i + 1)));
            assert_eq!(probe.header("cache-control"), Some("no-cache"));
            assert_eq!(probe.headers.first().map(|(n, _)| n.as_str()), Some("Host"));
        }
        assert!(seen.len() > 40, "{}", seen.len());
    }

    #[test]
    fn truncation_keeps_refusals_and_look_alikes_first() {
        let full = plan(&lowered(), &opts(10_000)).unwrap();
        let first = |p: &Probe| p.purpose == Purpose::LookAlike || p.expected.refuses();
        let firsts = full.probes.iter().filter(|p| first(p)).count();
        assert!(firsts > 10 && firsts < full.probes.len());
        // Every first-ranked request comes before every other one.
        let boundary = full.probes.iter().position(|p| !first(p)).unwrap();
        assert!(full.probes[boundary..].iter().all(|p| !first(p)));
        let cut = plan(&lowered(), &opts(firsts)).unwrap();
        assert!(cut.truncated);
        assert_eq!(cut.probes.len(), firsts);
        assert!(cut.probes.iter().all(first));
        // Round-robin: each route's first look-alikes survive a cut.
        for route in ["\"/api/*\"", "\"/page\"", "\"/live\""] {
            assert!(
                cut.probes.iter().any(|p| p.route == route),
                "{route} lost in the cut"
            );
        }
        let none = plan(&lowered(), &opts(0)).unwrap();
        assert!(none.truncated && none.probes.is_empty());
    }

    #[test]
    fn look_alikes_are_refused_by_this_policy_and_allowed_origins_allowed() {
        let p = plan(&lowered(), &opts(10_000)).unwrap();
        let api: Vec<&Probe> = p
            .probes
            .iter()
            .filter(|p| p.route == "\"/api/*\"")
            .collect();
        let origins = |purpose| {
            api.iter()
                .filter(move |p| p.purpose == purpose && p.method == "GET")
                .filter_map(|p| p.header("origin").map(|o| (o.to_string(), p.expected.kind)))
                .collect::<Vec<_>>()
        };
        let alikes = origins(Purpose::LookAlike);
        for want in [
            "https://app.example.com.guestlist-probe.test",
            "https://guestlist-probeapp.example.com",
            "http://app.example.com",
            "https://app.example.com:8444",
            "https://APP.EXAMPLE.COM",
            "null",
            "https://preview.example.com",
            "https://guestlist-probe-sibling.example.com",
        ] {
            assert!(alikes.iter().any(|(o, _)| o == want), "{want} not sent");
        }
        assert!(alikes.iter().all(|(_, k)| *k == Kind::ActualNotAllowed));
        let allowed = origins(Purpose::Allowed);
        assert_eq!(
            allowed.iter().map(|(o, _)| o.as_str()).collect::<Vec<_>>(),
            [
                "https://app.example.com",
                "https://guestlist-probe.preview.example.com"
            ]
        );
        assert!(allowed.iter().all(|(_, k)| *k == Kind::ActualAllowed));
    }

    #[test]
    fn websocket_nonce_and_path_forms_are_planned_csrf_only_when_unsafe() {
        let p = plan(&lowered(), &opts(10_000)).unwrap();
        let ws: Vec<&Probe> = p.probes.iter().filter(|p| p.is_websocket()).collect();
        assert!(ws
            .iter()
            .all(|w| w.header("sec-websocket-version") == Some("13")));
        assert!(ws
            .iter()
            .any(|w| w.expected.kind == Kind::WebsocketRejected));
        assert!(ws.iter().any(|w| w.expected.kind == Kind::WebsocketAllowed));
        let nonces: Vec<&Probe> = p
            .probes
            .iter()
            .filter(|p| p.purpose == Purpose::Nonce)
            .collect();
        assert_eq!(nonces.len(), 2);
        assert_eq!(nonces[0].pair, Some(nonces[1].n - 1));
        assert!(p
            .probes
            .iter()
            .any(|p| p.purpose == Purpose::PathForm && p.expected.kind == Kind::PathRejected));
        assert!(!p.probes.iter().any(|p| p.method == "POST"));
        let mut o = opts(10_000);
        o.unsafe_methods = true;
        let p = plan(&lowered(), &o).unwrap();
        let posts: Vec<&Probe> = p.probes.iter().filter(|p| p.method == "POST").collect();
        assert!(posts.iter().any(|p| p.expected.kind == Kind::CsrfRejected));
        assert!(posts.iter().any(
            |p| p.header("origin") == Some("https://partner.example.com")
                && p.expected.kind == Kind::NotCors
        ));
    }

    #[test]
    fn given_paths_replace_the_generated_ones() {
        let mut o = opts(10_000);
        o.paths = vec!["/api/users/1".into(), "/elsewhere".into()];
        let p = plan(&lowered(), &o).unwrap();
        assert!(p.probes.iter().any(|p| p.path == "/api/users/1"));
        assert!(!p.probes.iter().any(|p| p.path == "/api/guestlist-probe"));
        assert!(p
            .probes
            .iter()
            .any(|p| p.route == "\"/elsewhere\" (no route)"));
        o.extra_headers = vec![("Bad Name".into(), "x".into())];
        assert!(matches!(plan(&lowered(), &o), Err(PlanError::NotHttp(_))));
    }

    #[test]
    fn requests_are_spaced_by_the_rate() {
        use std::time::{Duration, Instant};
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut p = Pacer::new(10);
        assert_eq!(p.wait(t0), Duration::ZERO);
        p.sent(t0);
        assert_eq!(p.wait(t0 + ms(10)), ms(90));
        // A slow answer: the next request goes at once, and the one after it waits a
        // whole gap again (no burst catching up with a schedule).
        assert_eq!(p.wait(t0 + ms(5_000)), Duration::ZERO);
        p.sent(t0 + ms(5_000));
        assert_eq!(p.wait(t0 + ms(5_001)), ms(99));
        assert_eq!(gap(10), std::time::Duration::from_millis(100));
        assert_eq!(gap(1), std::time::Duration::from_secs(1));
        assert_eq!(gap(0), std::time::Duration::from_secs(1));
    }

    #[test]
    fn the_websocket_key_is_sixteen_bytes_in_base64() {
        let alphabet = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/';
        assert_eq!(WEBSOCKET_KEY.len(), 24);
        assert!(WEBSOCKET_KEY.ends_with("==") && !WEBSOCKET_KEY.ends_with("==="));
        assert!(WEBSOCKET_KEY.trim_end_matches('=').chars().all(alphabet));
    }

    #[test]
    fn samples_and_concrete_paths() {
        assert_eq!(concrete_path("/api/*"), "/api/guestlist-probe");
        assert_eq!(concrete_path("/*"), "/guestlist-probe");
        assert_eq!(concrete_path("/x"), "/x");
        assert_eq!(sample("https://x.example:*"), "https://x.example:8443");
        assert_eq!(block_host("*.t.example"), "guestlist-probe.t.example");
    }
}
