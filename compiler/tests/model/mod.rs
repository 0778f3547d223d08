//! A naive model of the runtime's CORS semantics, re-stated from spec/language.md (section 4
//! origins, section 6 routes and path forms, section 7 runtime semantics) the slow and
//! obvious way: owned strings, linear scans, std's parsers, no hashing, nothing shared with
//! the runtime's code. It is the oracle of the property tests (`properties.rs`) and of the
//! `differential` fuzz target (which includes this file), and it holds the request pieces
//! both generators draw from ([`PATH_SEGMENTS`], [`ROUTE_PATTERNS`]), so that a new path form
//! is added to both at once.
//!
//! Where the spec leaves a choice open, the model says so: a preflight whose
//! `Access-Control-Request-Headers` break several rules at once may be refused with any of
//! their reasons ([`Outcome::reasons`]); the order of headers of different names is not
//! specified ([`Outcome::by_name`]).

use std::collections::BTreeMap;

/// Path segments the generators join into request paths (`/` + segments joined by `/`),
/// mostly: names routes use.
pub const PATH_SEGMENTS: &[&str] = &["api", "a", "b", "x", "q", "A"];

/// Path segments the generators use now and then: empty (a doubled slash), dot segments (also
/// percent-encoded), encoded slashes and letters, broken and NUL escapes. Append new forms
/// here.
pub const PATH_ODD_SEGMENTS: &[&str] = &[
    "", ".", "..", "%2e", "%2E%2e", "%2F", "a%2Fb", "%61pi", "%", "%zz", "%00", "%2", "%5C",
    "a%5cb", "\\",
];

/// What the generators put after the segments.
pub const PATH_TAILS: &[&str] = &["", "", "/", "?q=1", "?a/../b", "#f", "/.", "/.."];

/// Route patterns the generators pick from (normalised, as the checker requires), nested and
/// overlapping so that exact-over-prefix and longest-prefix selection are both exercised.
pub const ROUTE_PATTERNS: &[&str] = &["/api/*", "/api/a", "/api/a/b/*", "/x", "/x/*", "/*", "/a/*"];

/// A `cors` block, as written (entries in order, duplicates already dropped).
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// `allow-origins *`.
    pub any_origin: bool,
    /// Origin entries: exact origins and patterns (`*.`, `:*`).
    pub origins: Vec<String>,
    /// `allow-credentials true`.
    pub credentials: bool,
    /// `allow-methods *`.
    pub any_method: bool,
    /// Listed methods.
    pub methods: Vec<String>,
    /// `allow-headers *`.
    pub any_header: bool,
    /// Listed request headers, as written.
    pub headers: Vec<String>,
    /// `expose-headers *`.
    pub expose_any: bool,
    /// Listed exposed headers, as written.
    pub expose: Vec<String>,
    /// `max-age`, in seconds.
    pub max_age: Option<u32>,
}

/// A route: its pattern and the index of its cors block, if any.
#[derive(Debug, Clone)]
pub struct Route {
    /// `"/x"` (exact) or `"/x/*"` (prefix).
    pub pattern: String,
    /// Index into [`Model::cors`].
    pub cors: Option<usize>,
}

/// A policy: routes and cors blocks.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// The routes.
    pub routes: Vec<Route>,
    /// The cors blocks.
    pub cors: Vec<Cors>,
    /// `paths { non-normal two-readings }` (otherwise `reject`, the default).
    pub two_readings: bool,
}

/// Section 6, "Path forms": how a request path reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// It cannot be read.
    Invalid,
    /// Structurally normal: one reading.
    One(Vec<u8>),
    /// Two readings, and whether the fully decoded path has a dot segment or a backslash.
    Two {
        /// The raw path: nothing decoded, merged or resolved.
        as_sent: Vec<u8>,
        /// Decoded, merged and resolved.
        normalised: Vec<u8>,
        /// A `.`/`..` segment or a `\` once fully decoded.
        dots: bool,
    },
}

/// Section 6, "Path forms", the slow way: the normalised reading is [`normalize`]; the
/// as-sent reading is the raw path, and any escape makes a path not structurally normal.
pub fn read(raw: &str) -> Read {
    let Some(normalised) = normalize(raw) else {
        return Read::Invalid;
    };
    let path = raw.split(['?', '#']).next().unwrap_or("");
    let bytes = path.as_bytes();
    let mut as_sent = Vec::new();
    let mut full = Vec::new();
    let mut kept_escape = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // `normalize` accepted the path, so this is two hex digits and not NUL.
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            let b = u8::from_str_radix(hex, 16).unwrap();
            kept_escape = true;
            as_sent.extend_from_slice(&bytes[i..i + 3]);
            full.push(b);
            i += 3;
        } else {
            as_sent.push(bytes[i]);
            full.push(bytes[i]);
            i += 1;
        }
    }
    let segments: Vec<&[u8]> = as_sent.split(|&b| b == b'/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let empty_inside = segments
        .iter()
        .enumerate()
        .any(|(k, s)| s.is_empty() && k != last);
    let dot_segment = |segs: &[&[u8]]| segs.iter().any(|s| *s == b"." || *s == b"..");
    let normal =
        !kept_escape && !as_sent.contains(&b'\\') && !empty_inside && !dot_segment(&segments);
    if normal {
        return Read::One(as_sent);
    }
    let full_segments: Vec<&[u8]> = full.split(|&b| b == b'/').collect();
    Read::Two {
        as_sent,
        normalised,
        dots: full.contains(&b'\\') || dot_segment(&full_segments) || slash_pair(path),
    }
}

/// Whether every name of the list `a` is in the list `b` (`*` holds every list).
fn list_within(a: &str, b: &str) -> bool {
    let names = |l: &str| -> Vec<String> {
        l.split(',')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty())
            .collect()
    };
    b == "*" || names(a).iter().all(|n| names(b).contains(n))
}

/// What the model says about one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The decision kind (`not-cors`, `actual-allowed`, ...).
    pub kind: &'static str,
    /// The reason codes the spec allows (one, but for preflights whose request headers break
    /// several rules).
    pub reasons: Vec<&'static str>,
    /// The headers sent, lowercase names, in the spec's order of mention.
    pub headers: Vec<(String, String)>,
}

impl Outcome {
    fn new(kind: &'static str, reason: &'static str) -> Outcome {
        Outcome {
            kind,
            reasons: vec![reason],
            headers: Vec::new(),
        }
    }

    /// The headers by name, each name's values in order (the spec orders the lines of one
    /// name, such as echoed `Access-Control-Allow-Headers` lines, not different names).
    pub fn by_name(&self) -> BTreeMap<String, Vec<String>> {
        by_name(self.headers.iter().cloned())
    }
}

/// Groups header lines by lowercase name, each name's values in order.
pub fn by_name(lines: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, v) in lines {
        m.entry(n.to_ascii_lowercase()).or_default().push(v);
    }
    m
}

/// RFC 9110 `token`: one or more tchar.
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Section 6, "Path normalisation", step by step on owned values: `None` for an invalid path.
pub fn normalize(raw: &str) -> Option<Vec<u8>> {
    // 1. cut at the first `?` or `#`
    let path = raw.split(['?', '#']).next().unwrap_or("");
    // 2. absolute
    if !path.starts_with('/') || path.len() > 8192 {
        return None;
    }
    // 3. percent-decode every %XX; a bad escape or a NUL is invalid
    let bytes = path.as_bytes();
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            let b = u8::from_str_radix(hex, 16).ok()?;
            if b == 0 {
                return None;
            }
            decoded.push(b);
            i += 3;
        } else {
            decoded.push(bytes[i]);
            i += 1;
        }
    }
    // 4. and 5. merge slashes (empty segments vanish), drop `.`, resolve `..`; a path that
    // ends in a slash or a dot segment keeps its trailing slash
    let parts: Vec<&[u8]> = decoded.split(|&b| b == b'/').skip(1).collect();
    let mut stack: Vec<&[u8]> = Vec::new();
    for p in &parts {
        match *p {
            b"" | b"." => {}
            b".." => {
                stack.pop()?;
            }
            seg => stack.push(seg),
        }
    }
    let trailing = matches!(parts.last().copied(), Some(b"" | b"." | b".."));
    let mut out = Vec::new();
    for s in &stack {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    if trailing || out.is_empty() {
        out.push(b'/');
    }
    Some(out)
}

/// `(scheme, host, port)` of an origin of the strict form (section 4): a lowercase scheme, a
/// host of lowercase LDH labels (1 to 63 bytes each, 253 in all) or a bracketed lowercase
/// IPv6 literal, a port of 1 to 65535 without a leading zero.
pub fn strict(origin: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, rest) = origin.split_once("://")?;
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_lowercase()
        || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
    {
        return None;
    }
    let (host, port) = if let Some(b) = rest.strip_prefix('[') {
        let (inner, after) = b.split_once(']')?;
        if inner.parse::<std::net::Ipv6Addr>().is_err()
            || inner.chars().any(|c| c.is_ascii_uppercase())
        {
            return None;
        }
        (&rest[..inner.len() + 2], after)
    } else {
        let (host, after) = rest.split_at(rest.find(':').unwrap_or(rest.len()));
        let ldh = |l: &str| {
            (1..=63).contains(&l.len())
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if host.len() > 253 || !host.split('.').all(ldh) {
            return None;
        }
        (host, after)
    };
    let port = match port {
        "" => None,
        p => {
            let d = p.strip_prefix(':')?;
            let n: u32 = d.parse().ok()?;
            if d.starts_with('0')
                || !d.bytes().all(|b| b.is_ascii_digit())
                || !(1..=65535).contains(&n)
            {
                return None;
            }
            Some(d)
        }
    };
    Some((scheme, host, port))
}

/// Whether one `allow-origins` entry (not `*`) allows `origin` (section 4): exact entries by
/// equal bytes; patterns only strict origins, `*.suffix` one or more labels in front of the
/// suffix (never the suffix itself), `:*` any port or none, otherwise the entry's port or none.
pub fn entry_allows(entry: &str, origin: &str) -> bool {
    if !entry.contains('*') {
        return entry == origin;
    }
    let Some((scheme, host, port)) = strict(origin) else {
        return false;
    };
    let Some((escheme, erest)) = entry.split_once("://") else {
        return false;
    };
    let (ehost, eport) = match erest.strip_suffix(":*") {
        Some(h) => (h, Some("*")),
        None => match erest.rsplit_once(':') {
            Some((h, p)) if !erest.starts_with('[') || h.ends_with(']') => (h, Some(p)),
            _ => (erest, None),
        },
    };
    let host_ok = match ehost.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|front| front.len() > 1 && front.ends_with('.')),
        None => host == ehost,
    };
    let port_ok = match eport {
        Some("*") => true,
        Some(p) => port == Some(p),
        None => port.is_none(),
    };
    scheme == escheme && host_ok && port_ok
}

impl Cors {
    /// Every origin, or one of the entries.
    pub fn allows(&self, origin: &str) -> bool {
        self.any_origin || self.origins.iter().any(|e| entry_allows(e, origin))
    }

    /// The answer never depends on `Origin`: `*` without credentials.
    fn static_any(&self) -> bool {
        self.any_origin && !self.credentials
    }

    /// `Access-Control-Expose-Headers`: `*`, or the names as written.
    fn expose_value(&self) -> Option<String> {
        if self.expose_any {
            Some("*".into())
        } else if self.expose.is_empty() {
            None
        } else {
            Some(self.expose.join(", "))
        }
    }

    fn listed_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

fn push(out: &mut Vec<(String, String)>, name: &str, value: impl Into<String>) {
    out.push((name.to_string(), value.into()));
}

impl Model {
    /// Section 6: an exact route wins, then the longest literal prefix of a `/*` route.
    pub fn route(&self, path: &[u8]) -> Option<usize> {
        if let Some(i) = self
            .routes
            .iter()
            .position(|r| !r.pattern.ends_with('*') && r.pattern.as_bytes() == path)
        {
            return Some(i);
        }
        self.routes
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let prefix = r.pattern.strip_suffix('*')?;
                path.starts_with(prefix.as_bytes())
                    .then_some((prefix.len(), i))
            })
            .max_by_key(|&(len, _)| len)
            .map(|(_, i)| i)
    }

    /// Section 7, for one request (`headers` are field lines, names in any case).
    pub fn decide(&self, method: &str, path: &str, headers: &[(String, String)]) -> Outcome {
        // 1. the path's form, then the route (section 6)
        let refused = |reason| {
            let kind = if self.routes.is_empty() {
                "not-cors"
            } else {
                "path-rejected"
            };
            Outcome::new(kind, reason)
        };
        let cors_of = |p: &[u8]| self.route(p).map(|r| self.routes[r].cors);
        match read(path) {
            Read::Invalid => refused("path-invalid"),
            Read::One(p) => self.decide_on(cors_of(&p), method, headers),
            Read::Two { dots: true, .. } if !self.two_readings => refused("path-not-normal"),
            Read::Two {
                as_sent,
                normalised,
                ..
            } => {
                let (s, n) = (cors_of(&as_sent), cors_of(&normalised));
                // The same cors policy (or none) under both readings: one decision, whose
                // reason either reading's route may give (`no-route` or `no-cors-policy`).
                if s.flatten() == n.flatten() {
                    let mut o = self.decide_on(s, method, headers);
                    for r in self.decide_on(n, method, headers).reasons {
                        if !o.reasons.contains(&r) {
                            o.reasons.push(r);
                        }
                    }
                    return o;
                }
                self.decide_two(s.flatten(), n.flatten(), method, headers)
            }
        }
    }

    /// Two readings whose routes have different cors policies (spec section 6, "Path forms"):
    /// allowed only where both allow, with the stricter settings; a reading without a cors
    /// policy allows nothing (`readings-disagree`).
    fn decide_two(
        &self,
        s: Option<usize>,
        n: Option<usize>,
        method: &str,
        headers: &[(String, String)],
    ) -> Outcome {
        let one = |c: Option<usize>| c.map(|c| self.decide_on(Some(Some(c)), method, headers));
        let (a, b) = (one(s), one(n));
        let table = |c: Option<usize>| c.and_then(|c| self.cors.get(c));
        let (ta, tb) = (table(s), table(n));
        let depends = |t: Option<&Cors>| t.is_some_and(|t| !t.static_any());
        let vary = depends(ta) || depends(tb);
        let with_vary = |mut o: Outcome| {
            if vary {
                push(&mut o.headers, "vary", "Origin");
            }
            o
        };
        let first = a.clone().or(b.clone()).unwrap();
        let kind_refused = match first.kind {
            "preflight-ok" | "preflight-rejected" => "preflight-rejected",
            "actual-allowed" | "actual-not-allowed" => "actual-not-allowed",
            _ => "not-cors",
        };
        // A refusal: the as-sent reading's first; a reading with no policy refuses too.
        let refusal = |o: &Option<Outcome>| match o {
            None => Some(if kind_refused == "not-cors" {
                first.reasons.clone()
            } else {
                vec!["readings-disagree"]
            }),
            Some(o) if matches!(o.kind, "preflight-rejected" | "actual-not-allowed") => {
                Some(o.reasons.clone())
            }
            _ => None,
        };
        if let Some(reasons) = refusal(&a).or_else(|| refusal(&b)) {
            return with_vary(Outcome {
                kind: kind_refused,
                reasons,
                headers: Vec::new(),
            });
        }
        let (a, b, ta, tb) = (a.unwrap(), b.unwrap(), ta.unwrap(), tb.unwrap());
        let get = |o: &Outcome, name: &str| -> Vec<String> {
            o.headers
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .collect()
        };
        let mut o = Outcome {
            kind: a.kind,
            reasons: a.reasons.clone(),
            headers: Vec::new(),
        };
        // Allow-Origin: `*` only when both send it.
        let acao = |o: &Outcome| get(o, "access-control-allow-origin").first().cloned();
        match (acao(&a), acao(&b)) {
            (Some(x), Some(y)) => {
                let v = if x == "*" && y == "*" {
                    "*".to_string()
                } else if x == "*" {
                    y
                } else {
                    x
                };
                push(&mut o.headers, "access-control-allow-origin", v);
            }
            _ => return with_vary(o),
        }
        if ta.credentials && tb.credentials {
            push(&mut o.headers, "access-control-allow-credentials", "true");
        }
        if o.kind == "preflight-ok" {
            for v in get(&a, "access-control-allow-methods") {
                push(&mut o.headers, "access-control-allow-methods", v);
            }
            // The requested headers, echoed line by line (each passed both policies).
            for l in headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("access-control-request-headers"))
                .map(|(_, v)| v)
            {
                if l.split(',')
                    .any(|n| !n.trim_matches([' ', '\t']).is_empty())
                {
                    push(&mut o.headers, "access-control-allow-headers", l.clone());
                }
            }
            // The smaller max-age; none counts as a browser's five seconds.
            let age = |t: &Cors| t.max_age.unwrap_or(5);
            let smaller = if age(ta) <= age(tb) { ta } else { tb };
            if let Some(x) = smaller.max_age {
                push(&mut o.headers, "access-control-max-age", x.to_string());
            }
        } else {
            // The exposed list the other contains, none when neither contains the other.
            if let (Some(x), Some(y)) = (ta.expose_value(), tb.expose_value()) {
                if list_within(&x, &y) {
                    push(&mut o.headers, "access-control-expose-headers", x);
                } else if list_within(&y, &x) {
                    push(&mut o.headers, "access-control-expose-headers", y);
                }
            }
        }
        with_vary(o)
    }

    /// Section 7 on one route: `route` is `None` without a route, `Some(cors)` with one.
    fn decide_on(
        &self,
        route: Option<Option<usize>>,
        method: &str,
        headers: &[(String, String)],
    ) -> Outcome {
        let values = |n: &str| -> Vec<&str> {
            headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
                .collect()
        };
        let Some(cors) = route else {
            return Outcome::new("not-cors", "no-route");
        };
        let Some(c) = cors.and_then(|i| self.cors.get(i)) else {
            return Outcome::new("not-cors", "no-cors-policy");
        };
        // 6. Vary: Origin on every answer of the policy unless `*` without credentials
        let done = |mut o: Outcome| {
            if !c.static_any() {
                push(&mut o.headers, "vary", "Origin");
            }
            o
        };
        // 2. and 3. Origin
        let origins = values("origin");
        let Some(&origin) = origins.first() else {
            let mut o = Outcome::new("not-cors", "no-origin");
            if c.static_any() {
                push(&mut o.headers, "access-control-allow-origin", "*");
                if let Some(v) = c.expose_value() {
                    push(&mut o.headers, "access-control-expose-headers", v);
                }
            }
            return done(o);
        };
        let (allowed, refused) = if origins.len() > 1 {
            (false, "multiple-origins")
        } else {
            (c.allows(origin), "origin-not-allowed")
        };
        let allow_origin = if c.any_origin { "*" } else { origin };
        // 4. preflight
        let acrm = values("access-control-request-method");
        if method == "OPTIONS" && !acrm.is_empty() {
            return done(self.preflight(
                c,
                allowed,
                refused,
                allow_origin,
                &acrm,
                &values("access-control-request-headers"),
            ));
        }
        // 5. actual request
        if !allowed {
            return done(Outcome::new("actual-not-allowed", refused));
        }
        let mut o = Outcome::new("actual-allowed", "origin-allowed");
        push(&mut o.headers, "access-control-allow-origin", allow_origin);
        if c.credentials {
            push(&mut o.headers, "access-control-allow-credentials", "true");
        }
        if let Some(v) = c.expose_value() {
            push(&mut o.headers, "access-control-expose-headers", v);
        }
        done(o)
    }

    /// Section 7 step 4, without `Vary`.
    fn preflight(
        &self,
        c: &Cors,
        allowed: bool,
        refused: &'static str,
        allow_origin: &str,
        acrm: &[&str],
        acrh: &[&str],
    ) -> Outcome {
        let reject = |reasons: Vec<&'static str>| Outcome {
            kind: "preflight-rejected",
            reasons,
            headers: Vec::new(),
        };
        // 4.1 origin
        if !allowed {
            return reject(vec![refused]);
        }
        // 4.2 one token on one line; safelisted, listed (byte-exact) or `*`
        if acrm.len() != 1 || !is_token(acrm[0]) {
            return reject(vec!["request-method-invalid"]);
        }
        let m = acrm[0];
        if !(["GET", "HEAD", "POST"].contains(&m)
            || c.any_method
            || c.methods.iter().any(|x| x == m))
        {
            return reject(vec!["method-not-allowed"]);
        }
        // 4.3 every line split on `,`, white space trimmed, empty elements skipped; every
        // rule that fails is a reason the spec allows
        let names: Vec<&str> = acrh
            .iter()
            .flat_map(|l| l.split(','))
            .map(|n| n.trim_matches([' ', '\t']))
            .filter(|n| !n.is_empty())
            .collect();
        let mut reasons = Vec::new();
        let bytes: usize = acrh.iter().map(|l| l.len()).sum();
        if acrh.len() > 8 || bytes > 4096 || names.len() > 64 {
            reasons.push("request-headers-invalid");
        }
        for n in &names {
            if c.listed_header(n) {
                continue;
            }
            let reason = if !is_token(n) {
                "request-headers-invalid"
            } else if n.eq_ignore_ascii_case("authorization") {
                "authorization-not-listed"
            } else if !c.any_header {
                "header-not-allowed"
            } else {
                continue;
            };
            if !reasons.contains(&reason) {
                reasons.push(reason);
            }
        }
        if !reasons.is_empty() {
            return reject(reasons);
        }
        // 4.4 success
        let mut o = Outcome::new("preflight-ok", "preflight-allowed");
        push(&mut o.headers, "access-control-allow-origin", allow_origin);
        if c.credentials {
            push(&mut o.headers, "access-control-allow-credentials", "true");
        }
        push(&mut o.headers, "access-control-allow-methods", m);
        if !names.is_empty() {
            if c.any_header && c.credentials {
                // `*` is literal with credentials: the request's own lines, echoed
                for l in acrh {
                    if l.split(',')
                        .any(|n| !n.trim_matches([' ', '\t']).is_empty())
                    {
                        push(&mut o.headers, "access-control-allow-headers", *l);
                    }
                }
            } else if c.any_header {
                // `*` never covers Authorization, so a listed one is named beside it
                let mut v = String::from("*");
                if c.listed_header("authorization") {
                    v.push_str(", Authorization");
                }
                push(&mut o.headers, "access-control-allow-headers", v);
            } else {
                push(
                    &mut o.headers,
                    "access-control-allow-headers",
                    c.headers.join(", "),
                );
            }
        }
        if let Some(a) = c.max_age {
            push(&mut o.headers, "access-control-max-age", a.to_string());
        }
        o
    }
}

/// An escaped slash next to a slash (`/%2F`, `%2F/`, `%2F%2F`): decoded without merging
/// (WSGI), such a path has an empty segment neither reading has.
fn slash_pair(path: &str) -> bool {
    let marked = path.to_ascii_lowercase().replace("%2f", "\u{1}");
    ["/\u{1}", "\u{1}/", "\u{1}\u{1}"]
        .iter()
        .any(|p| marked.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_reads_the_spec_examples() {
        assert!(entry_allows(
            "https://*.example.com",
            "https://a.example.com"
        ));
        assert!(entry_allows(
            "https://*.example.com",
            "https://a.b.example.com"
        ));
        assert!(!entry_allows(
            "https://*.example.com",
            "https://example.com"
        ));
        assert!(!entry_allows(
            "https://*.example.com",
            "https://A.example.com"
        ));
        assert!(!entry_allows(
            "https://*.example.com",
            "https://a..example.com"
        ));
        assert!(!entry_allows(
            "https://*.example.com",
            "https://aexample.com"
        ));
        assert!(entry_allows(
            "https://app.example.com:*",
            "https://app.example.com"
        ));
        assert!(entry_allows(
            "https://app.example.com:*",
            "https://app.example.com:1"
        ));
        assert!(!entry_allows(
            "https://app.example.com:*",
            "https://app.example.com:0"
        ));
        assert!(entry_allows("http://[::1]:*", "http://[::1]:3000"));
        assert!(!entry_allows("http://[::1]:*", "http://[::2]:3000"));
        assert!(entry_allows(
            "https://*.example.org:8443",
            "https://a.example.org:8443"
        ));
        assert!(!entry_allows(
            "https://*.example.org:8443",
            "https://a.example.org"
        ));
        assert!(!entry_allows("https://*.example.com", "null"));
        assert_eq!(normalize("/a/./b/../c//d/"), Some(b"/a/c/d/".to_vec()));
        assert_eq!(normalize("/%61pi/x?y#z"), Some(b"/api/x".to_vec()));
        assert_eq!(normalize("/a/.."), Some(b"/".to_vec()));
        assert_eq!(normalize("/.."), None);
        assert_eq!(normalize("/%zz"), None);
        assert_eq!(normalize("/%00"), None);
        assert_eq!(normalize("a"), None);
    }
}
