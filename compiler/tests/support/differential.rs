//! The differential test every edge engine passes: seeded requests (allowed, refused,
//! look-alike, pattern and `null` origins, preflights with every method and header mix,
//! non-normal paths, hosts and absolute-form targets) sent to a real engine on 127.0.0.1 and
//! compared, status, every policy header and what reached the upstream (whether it did, the
//! target and any `Guestlist-Csp-Nonce`), with the runtime's decision (`explain`: what the
//! tower layer answers). nginx, HAProxy and Caddy run the same [`cases`].
#![expect(clippy::indexing_slicing, reason = "tests fail by panicking")]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use guestlist_compiler::Compilation;

use super::{
    echo_upstream, is_policy_header, root, send_line, send_raw, tempdir, UPSTREAM_NONCE,
    UPSTREAM_TARGET,
};

/// An engine under test.
pub trait Edge {
    /// The engine's name, for messages.
    fn name(&self) -> &'static str;
    /// Emits `c`'s `profile` into `dir` (sets supplied through `c`), starts the engine on
    /// 127.0.0.1 in front of `upstream` (an [`echo_upstream`](super::echo_upstream): 200, and
    /// what reached it), and returns its address; the engine runs until the next `start` or
    /// until the edge is dropped.
    fn start(
        &mut self,
        c: &Compilation,
        profile: &str,
        dir: &Path,
        upstream: SocketAddr,
    ) -> SocketAddr;
    /// The request target the engine hands the upstream for a request it passes on: the
    /// target as the client sent it in origin form (the runtime never rewrites it); for an
    /// absolute-form request line, what the engine's spec says it forwards (by default the
    /// path and query, byte for byte).
    fn forwarded_target(&self, sent: &Sent) -> String {
        sent.path.to_string()
    }
    /// Whether a `Guestlist-Csp-Nonce` the client sent reaches the upstream on a route with
    /// no nonce CSP (an engine that never draws a nonce and cannot remove a request header
    /// without overriding the user's own: its spec says so); `false`: it never does.
    fn passes_client_nonce(&self) -> bool {
        false
    }
    /// The status the engine answers with by itself, before any configuration runs (a
    /// difference its spec documents); `None`: compared with the runtime.
    fn own_answer(&self, _sent: &Sent) -> Option<u16> {
        None
    }
}

/// One request as sent, and the reason code of the runtime's decision.
pub struct Sent<'a> {
    /// The method.
    pub method: &'a str,
    /// The path (origin form).
    pub path: &'a str,
    /// The request line as sent (absolute form and HTTP/1.0 included).
    pub line: &'a str,
    /// The header fields as sent.
    pub fields: &'a [(String, String)],
    /// The runtime's reason code (`path-invalid`, `host-ambiguous`, ...).
    pub reason: &'a str,
}

/// One policy and profile, and how many requests to send.
pub struct Case {
    /// The policy (a `.policy` file, or a conformance `.toml` whose `policy` it reads).
    pub file: PathBuf,
    /// The profile.
    pub profile: &'static str,
    /// Requests.
    pub n: usize,
    /// The generator's seed.
    pub seed: u64,
    /// Decision kinds (and request classes) that must each be met at least 40 times.
    pub required: &'static [&'static str],
    /// Sets supplied at run time: (name, file).
    pub supplied: Vec<(&'static str, PathBuf)>,
}

/// What one case found.
pub struct Outcome {
    /// Requests sent.
    pub requests: usize,
    /// Each request answered otherwise than the runtime decides.
    pub mismatches: Vec<String>,
    /// How many requests of each kind and class were sent.
    pub kinds: BTreeMap<&'static str, usize>,
}

const CORS: &[&str] = &[
    "not-cors",
    "actual-allowed",
    "actual-not-allowed",
    "preflight-ok",
    "preflight-rejected",
];
const GUARDS: &[&str] = &[
    "not-cors",
    "actual-allowed",
    "preflight-rejected",
    "csrf-rejected",
    "websocket-allowed",
    "websocket-rejected",
];
const HOSTS: &[&str] = &[
    "actual-allowed",
    "actual-not-allowed",
    "preflight-ok",
    "preflight-rejected",
    "csrf-rejected",
    "host-rejected",
    "absolute-form",
    "no authority",
    "a host block's routes",
    "the top-level routes",
];
const TENANTS: &[&str] = &[
    "actual-allowed",
    "actual-not-allowed",
    "websocket-allowed",
    "websocket-rejected",
    "two tenant-bound sets",
    "one set through two policies",
    "a host block's routes",
    "the top-level routes",
];
const SUPPLIED: &[&str] = &[
    "not-cors",
    "actual-allowed",
    "actual-not-allowed",
    "preflight-ok",
    "preflight-rejected",
    "csrf-rejected",
    "websocket-allowed",
    "websocket-rejected",
];

/// Every case an engine runs, `scale` times the requests nginx sends (nginx: 1.0): the
/// example policy and its `dev` profile, the conformance policy, the guards, nested routes
/// read two ways, host blocks (routed by block, dispatched by the application, exact
/// patterns), and sets supplied at run time. Files it writes go to a temporary directory.
pub fn cases(scale: f64) -> Vec<Case> {
    let n = |x: usize| ((x as f64 * scale) as usize).max(2000);
    let hosts = root().join("compiler/tests/fixtures/hosts-nginx.policy");
    let dir = tempdir("differential-cases");
    let dispatched = dir.join("hosts-dispatched.policy");
    let text = std::fs::read_to_string(&hosts).unwrap();
    std::fs::write(
        &dispatched,
        format!("{text}\nhosts dispatched-by-application\n"),
    )
    .unwrap();
    let provided = dir.join("provided.policy");
    std::fs::write(&provided, PROVIDED_POLICY).unwrap();
    let supplied = provided_files(&dir);
    let tenants = dir.join("tenants.policy");
    std::fs::write(&tenants, TENANTS_POLICY).unwrap();
    let case = |file: PathBuf, profile, n, seed, required| Case {
        file,
        profile,
        n,
        seed,
        required,
        supplied: Vec::new(),
    };
    vec![
        case(
            root().join("examples/policies/site.policy"),
            "default",
            n(3000),
            11,
            CORS,
        ),
        case(
            root().join("examples/policies/site.policy"),
            "dev",
            n(3000),
            12,
            CORS,
        ),
        case(
            root().join("spec/policies/conformance.policy"),
            "default",
            n(3000),
            13,
            CORS,
        ),
        case(
            root().join("spec/policies/guards.policy"),
            "default",
            n(3000),
            14,
            GUARDS,
        ),
        // Nested routes with different cors policies, header sets and CSPs, and paths with
        // encoded or doubled slashes: both readings decided, each route's headers chosen by
        // the as-sent reading.
        case(
            root().join("spec/cases/readings.toml"),
            "default",
            n(12000),
            16,
            CORS,
        ),
        case(hosts, "default", n(10000), 21, HOSTS),
        case(dispatched, "default", n(10000), 22, HOSTS),
        case(
            root().join("compiler/tests/fixtures/hosts-exact.policy"),
            "default",
            n(14000),
            23,
            HOSTS,
        ),
        Case {
            supplied,
            ..case(provided, "default", n(20000), 17, SUPPLIED)
        },
        Case {
            supplied: tenant_files(&dir),
            ..case(tenants, "default", n(10000), 18, TENANTS)
        },
    ]
}

/// Two tenant-bound sets that share entries, each named by policies that decide one request
/// together: two readings of a path (`/api/*` and `/api/b/*`), and a host block's routes
/// beside the top-level ones (cors and websocket). An origin allowed through entries of both
/// sets is answered 500; one allowed through one set passes. In the runtime's match order a
/// policy allows an origin through the first of its sets that holds it: on `/v//c/x`, `b`
/// (`beta alpha`) and `c` (`beta`) both allow `https://shared.example.org` through `beta`, so
/// it passes (an edge that forgot the order would answer 500). `wa` allows that origin as
/// its own before its set, so a handshake on `/live/x` to `tenant.example.com` (`wa` and `wb`
/// decide it) passes too. (A cors policy's own origins, and `*`, meet no supplied entry: an
/// entry a cors policy naming its set already allows is refused when supplied, GL1408.)
pub const TENANTS_POLICY: &str = "\
origins first-party { \"https://app.example.com\" }
origins alpha provided tenant-bound patterns
origins beta provided tenant-bound
cors a {
    allow-origins      first-party alpha
    allow-credentials  true
    allow-methods      PUT
    allow-headers      content-type
}
cors b {
    allow-origins      beta alpha
    allow-credentials  true
    allow-headers      content-type x-request-id
    max-age            10m
}
cors c {
    allow-origins      beta
    allow-credentials  true
    allow-headers      content-type
}
websocket wa {
    allow-origins  \"https://shared.example.org\" alpha
}
websocket wb {
    allow-origins  beta
}
route \"/api/*\" { cors a }
route \"/api/b/*\" { cors b }
route \"/live/*\" { websocket wa }
route \"/v/*\" { cors b }
route \"/v/c/*\" { cors c }
host \"tenant.example.com\" {
    route \"/api/*\" { cors b }
    route \"/live/*\" { websocket wb }
    route \"/v/*\" { cors b }
    route \"/v/c/*\" { cors c }
}
";

/// The files of [`TENANTS_POLICY`]'s sets, written into `dir`: (name, file).
pub fn tenant_files(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let sets = [
        (
            "alpha",
            "https://shared.example.org t1\nhttps://only-a.example.org t2\nhttps://*.wild.example.org t3\n",
        ),
        (
            "beta",
            "https://shared.example.org u1\nhttps://only-b.example.org u2\nhttps://x.wild.example.org u3\n",
        ),
    ];
    sets.iter()
        .map(|(name, text)| {
            let path = dir.join(format!("{name}-tenants.txt"));
            std::fs::write(&path, text).unwrap();
            (*name, path)
        })
        .collect()
}

/// A policy with sets supplied at run time: static and supplied origins in one credentialed
/// cors policy (its set tenant-bound), a `patterns` set next to a static origin, a set that a
/// csrf policy trusts, and a websocket policy on the tenant-bound set.
pub const PROVIDED_POLICY: &str = "\
origins first-party { \"https://app.example.com\" \"https://*.first.example.com\" }
origins tenants provided tenant-bound
origins partners provided patterns
origins public provided
cors api {
    allow-origins      first-party tenants
    allow-credentials  true
    allow-methods      PUT DELETE
    allow-headers      content-type x-request-id
    max-age            10m
}
cors widgets {
    allow-origins  \"https://static.example.net\" partners public
    allow-headers  content-type
    max-age        10m
}
csrf forms {
    trusted-origins  public \"https://trusted.example.com\"
}
websocket live {
    allow-origins  tenants
}
route \"/api/*\" { cors api }
route \"/widgets/*\" { cors widgets; csrf forms }
route \"/forms/*\" { csrf forms }
route \"/live\" { websocket live }
";

/// The files of [`PROVIDED_POLICY`]'s sets, written into `dir`: (name, file).
pub fn provided_files(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let sets = [
        (
            "tenants",
            "# customers' own domains\nhttps://a.example.com tenant-a\nhttps://shop.b-example.org tenant-b  # trailing\nhttps://c.example.com:8443 tenant-c\n",
        ),
        (
            "partners",
            "https://*.partner.example\nhttps://solo.example.org\nhttp://localhost:*\nhttps://*.deep.partner2.example:8443\n",
        ),
        ("public", "https://widgets.example.io\nhttps://foo.com\n"),
    ];
    sets.iter()
        .map(|(name, text)| {
            let path = dir.join(format!("{name}.txt"));
            std::fs::write(&path, text).unwrap();
            (*name, path)
        })
        .collect()
}

/// xorshift64*: a seeded generator, so every run sends the same requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// One generated request: method, path, header fields (pseudo fields [`TARGET`] and
/// [`HTTP10`] say how it is sent).
pub type Request = (String, String, Vec<(String, String)>);

/// The path forms a request can take that are not structurally normal (spec/language.md,
/// "Path forms"), each inserted at a segment start or at any byte of a path.
const PATH_MUTATIONS: [&str; 19] = [
    "./",
    "x/../",
    "%2e%2e/",
    "%2E",
    "//",
    "%2F..%2F",
    "%2f",
    "%2F",
    "%zz",
    "%00",
    "%5C",
    "\\",
    "../../../../",
    "%2e/",
    ".%2E/",
    "%61",
    ";x/",
    "%2F%2F",
    "%2f/",
];

/// `path` with one or two of [`PATH_MUTATIONS`] inserted (the query kept as it was).
fn mutate(rng: &mut Rng, path: &str) -> String {
    let (p, query) = match path.split_once('?') {
        Some((p, q)) => (p.to_string(), format!("?{q}")),
        None => (path.to_string(), String::new()),
    };
    let mut p = p;
    // A letter written as its escape (`/%68ooks/x`): a router on the raw path reads it as
    // another path.
    if rng.chance(10) {
        let letters: Vec<usize> = (0..p.len())
            .filter(|&i| p.as_bytes()[i].is_ascii_alphanumeric())
            .collect();
        if !letters.is_empty() {
            let at = *rng.pick(&letters);
            let b = p.as_bytes()[at];
            let esc = if rng.chance(50) {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            };
            p.replace_range(at..=at, &esc);
        }
    }
    for _ in 0..1 + rng.below(2) {
        let starts: Vec<usize> = (1..=p.len())
            .filter(|&i| p.as_bytes()[i - 1] == b'/')
            .collect();
        let at = if rng.chance(70) && !starts.is_empty() {
            *rng.pick(&starts)
        } else {
            1 + rng.below(p.len())
        };
        if !p.is_char_boundary(at) {
            continue;
        }
        let m = *rng.pick(&PATH_MUTATIONS);
        p.insert_str(at, m);
    }
    format!("{p}{query}")
}

/// Requests across allowed, refused, pattern, suffix-confusion, wrong-case and `null` origins,
/// no Origin, preflights with every method and header mix, and odd paths. `supplied`: the
/// entries of the sets supplied at run time (origins and patterns), drawn like the policy's.
pub fn requests(
    c: &Compilation,
    profile: &str,
    n: usize,
    seed: u64,
    supplied: &[String],
) -> Vec<Request> {
    let lowered = c.lower(profile).unwrap();
    let policy = &lowered.policy;
    let mut rng = Rng(seed);
    let mut origins: Vec<String> = vec![
        "null".into(),
        "https://attacker.example".into(),
        "http://app.example.com".into(),
        "http://localhost".into(),
        "https://localhost:8080".into(),
        "https://site.example.com".into(),
        "https://trusted.example.com".into(),
        "https://app.example.com".into(),
        "https://Trusted.example.com".into(),
        "https://localhost/x".into(),
    ];
    let mut names: Vec<String> = vec![
        "x-other".into(),
        "authorization".into(),
        "content-type".into(),
        "x-request-id".into(),
    ];
    // Origins the policy allows, and header names it allows, drawn more often so that every
    // kind of decision is well represented.
    let mut good: Vec<String> = Vec::new();
    let mut good_names: Vec<String> = Vec::new();
    for cp in policy.cors_policies() {
        for h in cp.headers().keys() {
            good_names.push(h.to_ascii_lowercase());
        }
    }
    let supplied_patterns: Vec<&str> = supplied
        .iter()
        .map(String::as_str)
        .filter(|e| e.contains('*'))
        .collect();
    let supplied_exact: Vec<&str> = supplied
        .iter()
        .map(String::as_str)
        .filter(|e| !e.contains('*'))
        .collect();
    for cp in policy.cors_policies() {
        let patterns: Vec<&str> = cp.patterns().keys().iter().map(|k| &**k).collect();
        let exact: Vec<&str> = cp.origins().keys().iter().map(|k| &**k).collect();
        let (patterns, exact) = if cp.provided().is_empty() {
            (patterns, exact)
        } else {
            (
                [patterns, supplied_patterns.clone()].concat(),
                [exact, supplied_exact.clone()].concat(),
            )
        };
        for p in &patterns {
            good.push(p.replace("*.", "ok.").replace(":*", ":8080"));
        }
        for o in exact {
            good.push(o.to_string());
            origins.push(o.to_string());
            origins.push(format!("{o}.evil.net"));
            origins.push(format!("{o}/"));
            origins.push(o.to_ascii_uppercase());
            origins.push(o.replacen("https://", "http://", 1));
            origins.push(format!("{o}:443"));
        }
        for p in &patterns {
            let base = p.replace(":*", "");
            for label in ["a.", "deep.er.", "A.", "-.", "x_y.", ""] {
                origins.push(base.replace("*.", label));
            }
            origins.push(base.replace("*.", "evil"));
            origins.push(format!("{}.evil.net", base.replace("*.", "a.")));
            if p.ends_with(":*") {
                for port in [":8080", ":1", ":65535", ":65536", ":0", ":080", ":"] {
                    origins.push(format!("{}{port}", base.replace("*.", "b.")));
                }
            }
        }
        for h in cp.headers().keys() {
            names.push(h.to_string());
            names.push(h.to_ascii_uppercase());
        }
    }
    for w in policy.websocket_policies() {
        for o in w.origins().keys() {
            good.push(o.to_string());
        }
        for p in w.patterns().keys() {
            good.push(p.replace("*.", "ok.").replace(":*", ":8080"));
        }
    }
    let ws_routes: Vec<String> = policy
        .routes()
        .iter()
        .filter(|r| r.guards().websocket.is_some())
        .map(|r| r.pattern().to_string())
        .collect();
    let mut paths: Vec<String> = vec!["/nowhere".into(), "/".into(), "/%zz".into(), "/../x".into()];
    for r in policy.routes() {
        let p = r.pattern();
        match p.strip_suffix('*') {
            Some(prefix) => {
                paths.push(format!("{prefix}users/7"));
                paths.push(format!("{prefix}a/b?q=1&r=/x"));
                paths.push(prefix.to_string());
                if prefix != "/" {
                    paths.push(prefix.trim_end_matches('/').to_string());
                }
                paths.push(format!("/{prefix}//x"));
                paths.push(format!("{prefix}./x/../y"));
                paths.push(format!("{prefix}x/%2e%2e/y"));
                paths.push(prefix.replacen('a', "%61", 1) + "z");
                paths.push(prefix.to_ascii_uppercase() + "x");
                // Read as sent, `/v//c/x` selects a route above `/v/c/*` (`/v/*`): the two
                // readings select nested routes.
                for q in policy
                    .routes()
                    .iter()
                    .filter_map(|x| x.pattern().strip_suffix('*'))
                {
                    if q.len() < prefix.len() && prefix.starts_with(q) && q.ends_with('/') {
                        paths.push(format!("{q}/{}x", &prefix[q.len()..]));
                    }
                }
            }
            None => {
                paths.push(p.to_string());
                paths.push(format!("{p}?x=1"));
                paths.push(format!("{p}/"));
                paths.push(format!("/.{p}"));
            }
        }
    }
    // Hosts: with host blocks, each pattern's own hosts and their case, trailing-dot and
    // port variants, hosts under and beside each `*.` domain, and hosts no pattern names.
    let mut hosts: Vec<String> = Vec::new();
    for b in &c.program().hosts {
        for p in &b.patterns {
            let port = p.port.map_or(String::new(), |x| format!(":{x}"));
            let names: Vec<String> = if p.wildcard {
                ["a.", "deep.er.", "A.", "x-y.", ""]
                    .iter()
                    .map(|l| format!("{l}{}", p.host))
                    .chain([format!("evil{}", p.host), format!("a..{}", p.host)])
                    .collect()
            } else {
                vec![p.host.clone(), format!("www.{}", p.host)]
            };
            for n in names {
                if n.contains("..") {
                    // nginx answers 400 to a host with an empty label itself.
                    continue;
                }
                // The host's own origins, so that the CSRF own-origin and WebSocket
                // same-origin checks meet every variant of it.
                if n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                {
                    origins.push(format!("https://{n}{port}"));
                    origins.push(format!("http://{n}"));
                }
                hosts.push(format!("{n}{port}"));
                hosts.push(format!("{}{port}", n.to_ascii_uppercase()));
                hosts.push(format!("{n}.{port}"));
                hosts.push(format!("{n}:443"));
                if p.port.is_some() {
                    hosts.push(n.clone());
                    hosts.push(format!("{n}:0{}", p.port.unwrap_or(0)));
                }
            }
        }
    }
    let methods = [
        "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "OPTIONS", "OPTIONS",
    ];
    let acrms = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "patch", "DELETE", "delete", "CONNECT", "X-Custom",
        "a,b",
    ];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let handshake = !ws_routes.is_empty() && rng.chance(15);
        let method = if handshake {
            "GET".to_string()
        } else {
            rng.pick(&methods).to_string()
        };
        let path = if handshake {
            rng.pick(&ws_routes).clone()
        } else {
            rng.pick(&paths).clone()
        };
        // One request in eight takes a mutated path (the odd paths above are not normal
        // either).
        let path = if rng.chance(12) {
            mutate(&mut rng, &path)
        } else {
            path
        };
        let mut h = Vec::new();
        if rng.chance(90) {
            let o = if !good.is_empty() && rng.chance(40) {
                rng.pick(&good)
            } else {
                rng.pick(&origins)
            };
            h.push(("Origin".to_string(), o.clone()));
        }
        // The csrf and websocket checks read Host, Sec-Fetch-Site and Upgrade.
        let host = if !hosts.is_empty() && rng.chance(80) {
            rng.pick(&hosts).clone()
        } else {
            rng.pick(&["localhost", "site.example.com", "localhost:8080"])
                .to_string()
        };
        // nginx answers 400 by itself to a target it cannot read (a bracket after the first
        // byte, anything between `]` and the port) and to a path with dot segments or escapes
        // before any configuration runs (spec/nginx.md): absolute-form requests keep to what
        // it reads.
        let readable = |t: &str| {
            let (h, port) = match t.strip_prefix('[') {
                Some(rest) => match rest.split_once(']') {
                    Some((_, p)) => ("", p),
                    None => ("[", ""),
                },
                None => t.split_at(t.find(':').unwrap_or(t.len())),
            };
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
                && (port.is_empty()
                    || port
                        .strip_prefix(':')
                        .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())))
        };
        let plain = !path.contains('%') && !path.contains("//") && !path.contains("/.");
        if !hosts.is_empty() && plain && rng.chance(15) {
            // The request line in absolute form, naming this host or another; over HTTP/1.0
            // without `Host` half the time.
            let target = if rng.chance(50) {
                host.clone()
            } else {
                rng.pick(&hosts).clone()
            };
            let target = if readable(&target) {
                target
            } else {
                "readable.example.com".to_string()
            };
            h.push((TARGET.into(), target));
            if rng.chance(50) {
                h.push((HTTP10.into(), String::new()));
            } else {
                h.push(("Host".into(), host));
            }
        } else if !hosts.is_empty() && rng.chance(5) {
            // No authority at all: HTTP/1.0 without `Host`.
            h.push((HTTP10.into(), String::new()));
        } else {
            h.push(("Host".into(), host));
        }
        if rng.chance(60) {
            let sfs = rng.pick(&[
                "same-origin",
                "none",
                "same-site",
                "cross-site",
                "Same-Origin",
                "bogus",
            ]);
            h.push(("Sec-Fetch-Site".into(), sfs.to_string()));
        }
        if method == "GET" && (handshake || rng.chance(40)) {
            let up = rng.pick(&[
                "websocket",
                "WebSocket",
                "h2c, websocket",
                "h2c",
                "websocketx",
            ]);
            h.push(("Upgrade".into(), up.to_string()));
            h.push(("Connection".into(), "Upgrade".into()));
        }
        if method == "OPTIONS" && rng.chance(85) {
            h.push((
                "Access-Control-Request-Method".into(),
                rng.pick(&acrms).to_string(),
            ));
        }
        if rng.chance(50) {
            let k = rng.below(4);
            let pool = if !good_names.is_empty() && rng.chance(50) {
                &good_names
            } else {
                &names
            };
            let mut list: Vec<String> = (0..k).map(|_| rng.pick(pool).clone()).collect();
            if rng.chance(10) {
                list.push(String::new()); // empty element
            }
            let sep = if rng.chance(30) { ", " } else { "," };
            let v = list.join(sep);
            if !v.is_empty() && !v.starts_with(' ') && !v.ends_with(' ') {
                h.push(("Access-Control-Request-Headers".into(), v));
            }
        }
        out.push((method, path, h));
    }
    out
}

/// A pseudo header of a generated request: its request line is in absolute form, with this
/// authority.
const TARGET: &str = ":target";
/// A pseudo header of a generated request: it is sent over HTTP/1.0.
const HTTP10: &str = ":http/1.0";

/// Whether a path is not structurally normal (a [`mutate`]d one, or one of the odd paths).
fn is_mutated(p: &str) -> bool {
    let p = p.split('?').next().unwrap_or(p);
    p.contains("//")
        || p.contains('%') && !p.contains("%61")
        || p.contains('\\')
        || p.split('/').any(|s| s == "." || s == "..")
}

/// The three groups of [`cases`] the engines' tests run apart: paths (the example, the
/// conformance and guard policies, the readings), host blocks, and sets supplied at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Neither host blocks nor supplied sets.
    Paths,
    /// The host-block policies.
    Hosts,
    /// The policy with sets supplied at run time.
    Supplied,
}

impl Case {
    /// The group the case belongs to.
    pub fn group(&self) -> Group {
        if !self.supplied.is_empty() {
            Group::Supplied
        } else if self.required == HOSTS {
            Group::Hosts
        } else {
            Group::Paths
        }
    }
}

/// Runs every case of `group` on `edge`, printing each case's counts and the first
/// mismatches; returns the requests sent and every mismatch.
pub fn run_group(edge: &mut dyn Edge, group: Group) -> (usize, Vec<String>) {
    let (mut total, mut all) = (0, Vec::new());
    for case in cases(1.0).into_iter().filter(|c| c.group() == group) {
        let out = run(edge, &case);
        println!(
            "{} {} ({}): {} requests, {} mismatches",
            edge.name(),
            case.file.display(),
            case.profile,
            out.requests,
            out.mismatches.len()
        );
        total += out.requests;
        all.extend(out.mismatches);
    }
    for m in all.iter().take(20) {
        println!("MISMATCH {m}");
    }
    println!(
        "{} differential ({group:?}): {total} requests, {} mismatches",
        edge.name(),
        all.len()
    );
    (total, all)
}

/// Runs the differential test for one case on `edge`: emits and starts it, sends the case's
/// generated requests, and compares each answer with the runtime's decision.
pub fn run(edge: &mut dyn Edge, case: &Case) -> Outcome {
    let Case {
        file,
        profile,
        n,
        seed,
        required,
        supplied,
    } = case;
    let (file, profile, n, seed) = (file.as_path(), *profile, *n, *seed);
    let mut c = if file.extension().is_some_and(|x| x == "toml") {
        // A conformance file: its policy is the text between `policy = """` and `"""`.
        let text = std::fs::read_to_string(file).unwrap();
        let policy = text
            .split_once("policy = \"\"\"")
            .and_then(|(_, rest)| rest.split_once("\"\"\""))
            .map(|(p, _)| p.to_string())
            .unwrap();
        Compilation::from_str(&file.to_string_lossy(), &policy)
    } else {
        Compilation::load(&[file]).unwrap()
    };
    let mut entries = Vec::new();
    for (name, path) in supplied {
        c.supply(name, path).unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        entries.extend(
            text.lines()
                .filter_map(|l| l.split('#').next()?.split_whitespace().next())
                .map(str::to_string),
        );
    }
    assert!(!c.has_errors(), "{}", c.render());
    let dir = tempdir(&format!(
        "diff-{}-{}-{profile}",
        edge.name(),
        file.file_stem().unwrap().to_string_lossy()
    ));
    let upstream = echo_upstream();
    let addr = edge.start(&c, profile, &dir, upstream);
    let lowered = c.lower(profile).unwrap();
    let mut mismatches = Vec::new();
    let reqs = requests(&c, profile, n, seed, &entries);
    // A generator of its own for what the decision ignores, so that the requests above stay
    // the same: a `Guestlist-Csp-Nonce` of the client's, which must never reach the upstream.
    let mut own = Rng(seed ^ 0x5bd1_e995_0000_0001);
    let mut kinds = std::collections::BTreeMap::new();
    for (m, p, h) in &reqs {
        let mut h = h.clone();
        if own.chance(20) {
            h.push(("Guestlist-Csp-Nonce".into(), "client-chosen".into()));
            *kinds.entry("client nonce").or_insert(0) += 1;
        }
        let h = &h;
        // The request as sent: its request line, and its header fields without the pseudo
        // headers.
        let target = h.iter().find(|(n, _)| n == TARGET).map(|x| x.1.clone());
        let http10 = h.iter().any(|(n, _)| n == HTTP10);
        let fields: Vec<(String, String)> = h
            .iter()
            .filter(|(n, _)| !n.starts_with(':'))
            .cloned()
            .collect();
        let host = fields
            .iter()
            .find(|(n, _)| n == "Host")
            .map(|x| x.1.clone());
        let line = format!(
            "{m} {}{p} HTTP/1.{}",
            target
                .as_ref()
                .map_or(String::new(), |t| format!("http://{t}")),
            if http10 { 0 } else { 1 }
        );
        // The runtime decides an absolute-form request with the target's authority: one that
        // differs from `Host` is refused (host-ambiguous); otherwise it is the request with
        // `Host` set to that authority, which `explain` decides.
        let mut asked = fields.clone();
        let mut refused_host = false;
        if let Some(t) = &target {
            let d = lowered
                .policy
                .decide_with_authority(m, p, Some(t.as_str()), fields.as_slice());
            refused_host = d.kind.as_str() == "host-rejected";
            if host.is_none() {
                asked.push(("Host".into(), t.clone()));
            }
        }
        let e = guestlist_compiler::explain::explain(&lowered, m, p, &asked).unwrap();
        if let Some(t) = &target {
            let d = lowered
                .policy
                .decide_with_authority(m, p, Some(t.as_str()), fields.as_slice());
            assert!(
                refused_host || d.kind == e.kind,
                "{line} {fields:?}: {} with the target, {} with Host",
                d.kind.as_str(),
                e.kind.as_str()
            );
            *kinds.entry("absolute-form").or_insert(0) += 1;
        }
        if host.is_none() && target.is_none() {
            *kinds.entry("no authority").or_insert(0) += 1;
        }
        if lowered.policy.host_block_count() > 0 {
            let authority = target.as_ref().or(host.as_ref());
            let selected = if authority
                .and_then(|a| lowered.policy.host_block(a))
                .is_some()
            {
                "a host block's routes"
            } else {
                "the top-level routes"
            };
            *kinds.entry(selected).or_insert(0) += 1;
        }
        let (e_kind, e_status, e_headers, e_reason) = if refused_host {
            (
                "host-rejected",
                Some(400),
                vec![("guestlist-reason".to_string(), "host-ambiguous".to_string())],
                "host-ambiguous",
            )
        } else {
            (e.kind.as_str(), e.status, e.headers.clone(), e.reason_code)
        };
        *kinds.entry(e_kind).or_insert(0) += 1;
        // An origin of two supplied sets, through two readings that select routes with
        // different cors policies, let through: each policy's first set that holds it is one
        // set.
        let origin = fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("origin"))
            .map(|x| x.1.as_str());
        let routes: std::collections::BTreeSet<_> =
            e.readings.iter().filter_map(|r| r.route.as_ref()).collect();
        if origin.is_some_and(|o| entries.iter().filter(|x| *x == o).count() > 1)
            && routes.len() > 1
            && e_status != Some(500)
            && matches!(e_kind, "actual-allowed" | "preflight-ok")
        {
            *kinds.entry("one set through two policies").or_insert(0) += 1;
        }
        if e_status == Some(500) {
            *kinds.entry("two tenant-bound sets").or_insert(0) += 1;
        }
        let (status, all) = if target.is_none() && !http10 {
            send_raw(addr, m, p, &fields)
        } else {
            send_line(addr, &line, &fields)
        };
        // What reached the upstream: the target it received (none: not passed on) and each
        // `Guestlist-Csp-Nonce` line.
        let reached = all
            .iter()
            .find(|(n, _)| n == UPSTREAM_TARGET)
            .map(|(_, v)| v.clone());
        let nonces: Vec<&str> = all
            .iter()
            .filter(|(n, _)| n == UPSTREAM_NONCE)
            .map(|(_, v)| v.as_str())
            .collect();
        let mut got: Vec<(String, String)> = all
            .iter()
            .filter(|(n, _)| is_policy_header(n))
            .cloned()
            .collect();
        got.sort();
        // A CSP nonce is fresh per response: compared as the runtime's `{nonce}`, and it must
        // be the one the upstream received.
        let sent_nonce = got.iter().find_map(|(n, v)| {
            let rest = v.split_once("'nonce-")?.1;
            (n == "content-security-policy").then(|| rest.split('\'').next().unwrap_or(""))
        });
        let sent_nonce = sent_nonce.map(str::to_string);
        if let Some(x) = &sent_nonce {
            for (_, v) in &mut got {
                *v = v.replace(&format!("'nonce-{x}'"), "'nonce-{nonce}'");
            }
        }
        let mut want = e_headers;
        want.sort();
        if is_mutated(p) {
            *kinds.entry("non-normal paths").or_insert(0) += 1;
        }
        let sent = Sent {
            method: m,
            path: p,
            line: &line,
            fields: &fields,
            reason: e_reason,
        };
        let ok = match edge.own_answer(&sent) {
            // The engine answers by itself (its spec says when): the status, no CORS header,
            // and nothing reached the upstream.
            Some(own) => {
                *kinds.entry("answered by the engine").or_insert(0) += 1;
                status == own
                    && !got.iter().any(|(n, _)| n.starts_with("access-control-"))
                    && reached.is_none()
            }
            None => {
                let status_ok = match e_status {
                    Some(s) => status == s,
                    // Reaches the upstream, which answers 200; the engine never does.
                    None => status == 200,
                };
                status_ok && got == want
            }
        };
        // The upstream is reached exactly when the runtime passes the request on, with the
        // target the client sent, no nonce of the client's, and on a nonce route the nonce
        // of the CSP the client got.
        let passes = edge.own_answer(&sent).is_none() && e_status.is_none();
        let forwarded = passes.then(|| edge.forwarded_target(&sent));
        let want_nonces: Vec<&str> = match &sent_nonce {
            Some(x) => vec![x.as_str()],
            None if edge.passes_client_nonce() => fields
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("guestlist-csp-nonce"))
                .map(|(_, v)| v.as_str())
                .collect(),
            None => Vec::new(),
        };
        let upstream_ok = reached == forwarded && (!passes || nonces == want_nonces);
        if passes {
            *kinds.entry("reached the upstream").or_insert(0) += 1;
        }
        if !ok || !upstream_ok {
            mismatches.push(format!(
                "{line} {fields:?}: guestlist {e_kind} {e_status:?} {want:?} upstream {forwarded:?}; {} {status} {got:?} upstream {reached:?} nonces {nonces:?}",
                edge.name()
            ));
        }
    }
    println!(
        "{} {} ({profile}) decisions: {kinds:?}",
        edge.name(),
        file.display()
    );
    for kind in *required {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) >= 40,
            "too few {kind} requests: {kinds:?}"
        );
    }
    for class in ["reached the upstream", "client nonce"] {
        assert!(
            kinds.get(class).copied().unwrap_or(0) >= 40,
            "too few requests of class {class}: {kinds:?}"
        );
    }
    assert!(
        kinds.get("non-normal paths").copied().unwrap_or(0) >= 500,
        "too few paths that are not structurally normal: {kinds:?}"
    );
    Outcome {
        requests: reqs.len(),
        mismatches,
        kinds,
    }
}
