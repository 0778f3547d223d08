//! What the `HTTPRoute`s hold, before any YAML: one scope per host block (its patterns as
//! `spec.hostnames`) and one for the top-level routes (no hostnames), each with the rules
//! whose path matches select exactly the runtime's route for every structurally normal path.
//!
//! Gateway API picks, among the rules of the most specific matching hostname, an `Exact`
//! match over every `PathPrefix`, and the longest prefix; a `PathPrefix` matches whole path
//! elements and ignores a trailing `/`, so `PathPrefix /api` also matches `/api`, which the
//! pattern `/api/*` does not. For every prefix route `/x/*` an `Exact /x` rule carries what
//! the runtime applies to `/x` itself (an exact route, a shorter prefix route, or nothing),
//! and a `PathPrefix /` rule without filters sends every path no route matches to the
//! backend, as the runtime passes it on.

use crate::emit::Unsupported;
use crate::Lowered;

/// A rule's path match.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum PathMatch {
    /// `type: Exact`.
    Exact(String),
    /// `type: PathPrefix` (the pattern without `/*`; `/` for `/*`).
    Prefix(String),
}

impl PathMatch {
    /// The match type as Gateway API spells it.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            PathMatch::Exact(_) => "Exact",
            PathMatch::Prefix(_) => "PathPrefix",
        }
    }

    /// The path value.
    pub(super) fn value(&self) -> &str {
        match self {
            PathMatch::Exact(v) | PathMatch::Prefix(v) => v,
        }
    }
}

/// One rule: a path match and the policy route whose filters it carries (`None`: no filter,
/// the request goes to the backend as the runtime passes it on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rule {
    /// The match.
    pub(super) path: PathMatch,
    /// An index into the policy's routes.
    pub(super) route: Option<usize>,
}

/// The rules of one host block, or of the top-level routes.
#[derive(Debug, Clone)]
pub(super) struct Scope {
    /// The host block (`None`: the top-level routes).
    pub(super) block: Option<usize>,
    /// `spec.hostnames` (empty: every hostname no other route's hostnames match).
    pub(super) hostnames: Vec<String>,
    /// The rules, in precedence order (exact matches, then longer prefixes first).
    pub(super) rules: Vec<Rule>,
}

/// The scopes of `lowered`: the top-level one first, then each host block's.
pub(super) fn scopes(lowered: &Lowered) -> Result<Vec<Scope>, Unsupported> {
    let policy = &lowered.policy;
    let spec = &lowered.spec;
    let mut out = Vec::new();
    let blocks = std::iter::once(None).chain((0..spec.hosts.len()).map(Some));
    for block in blocks {
        let hostnames = match block {
            None => Vec::new(),
            Some(b) => spec
                .hosts
                .get(b)
                .map(|h| h.patterns.clone())
                .unwrap_or_default(),
        };
        let mut rules: Vec<Rule> = Vec::new();
        for (i, r) in policy.routes().iter().enumerate() {
            let Some(rs) = spec.routes.get(i) else {
                return Err(Unsupported(format!(
                    "route {i} of the tables has no plain data"
                )));
            };
            if rs.pattern != r.pattern() {
                return Err(Unsupported(format!(
                    "route {i}: the tables' pattern {:?} differs from the plain data's {:?}",
                    r.pattern(),
                    rs.pattern
                )));
            }
            if rs.host != block {
                continue;
            }
            let path = match r.pattern().strip_suffix("/*") {
                Some("") => PathMatch::Prefix("/".to_string()),
                Some(p) => PathMatch::Prefix(p.to_string()),
                None => PathMatch::Exact(r.pattern().to_string()),
            };
            rules.push(Rule {
                path,
                route: Some(i),
            });
        }
        // `/x` itself, which `PathPrefix /x` would otherwise take.
        let mut extra = Vec::new();
        for rule in &rules {
            let PathMatch::Prefix(p) = &rule.path else {
                continue;
            };
            if p == "/" || rules.iter().any(|o| o.path == PathMatch::Exact(p.clone())) {
                continue;
            }
            let route = match policy.routes_in_block(block, p) {
                Ok(guestlist::PathRoutes::Normal(r)) => r.map(|r| r as usize),
                _ => {
                    return Err(Unsupported(format!(
                        "the path {p:?} of a route pattern is not structurally normal"
                    )))
                }
            };
            extra.push(Rule {
                path: PathMatch::Exact(p.clone()),
                route,
            });
        }
        rules.extend(extra);
        if !rules
            .iter()
            .any(|r| r.path == PathMatch::Prefix("/".into()))
        {
            rules.push(Rule {
                path: PathMatch::Prefix("/".into()),
                route: None,
            });
        }
        rules.sort_by(|a, b| {
            let key = |r: &Rule| match &r.path {
                PathMatch::Exact(v) => (0, usize::MAX - v.len(), v.clone()),
                PathMatch::Prefix(v) => (1, usize::MAX - v.len(), v.clone()),
            };
            key(a).cmp(&key(b))
        });
        rules.dedup_by(|a, b| a.path == b.path);
        out.push(Scope {
            block,
            hostnames,
            rules,
        });
    }
    Ok(out)
}

/// Whether `s` is a Gateway API `CORSOrigin` that means exactly what the runtime's origin or
/// pattern means: `http` or `https`, a host of letters, digits, `-` and `.` (a `*.` prefix
/// for a pattern), and a numeric port. `null`, other schemes, IPv6 literals and `:*` ports
/// are not.
pub(super) fn cors_origin_ok(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    let host = host.strip_prefix("*.").unwrap_or(host);
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// Whether `h` is a Gateway API `Hostname`: a DNS name (an optional `*.` first label), no
/// port, not an IP address.
pub(super) fn hostname_ok(h: &str) -> bool {
    let name = h.strip_prefix("*.").unwrap_or(h);
    let labels: Vec<&str> = name.split('.').collect();
    let ip = labels.len() == 4 && labels.iter().all(|l| l.parse::<u8>().is_ok());
    !ip && !name.is_empty()
        && h.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Whether `p` is a path value Gateway API accepts (`HTTPPathMatch`: the characters of a
/// path, no `//`, `/./`, `/../`, `%2f` or `#`).
pub(super) fn path_ok(p: &str) -> bool {
    p.starts_with('/')
        && p.len() <= 1024
        && !p.contains("//")
        && !p.contains("/./")
        && !p.contains("/../")
        && !p.ends_with("/.")
        && !p.ends_with("/..")
        && !p.to_ascii_lowercase().contains("%2f")
        && p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-/._~!$&'()*+,;=:@%".contains(&b))
}

/// The methods a `CORS` filter's `allowMethods` may name.
pub(super) const FILTER_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert!(cors_origin_ok("https://app.example.com"));
        assert!(cors_origin_ok("https://*.example.com:8443"));
        assert!(cors_origin_ok("http://127.0.0.1:3000"));
        assert!(!cors_origin_ok("null"));
        assert!(!cors_origin_ok("https://x.example.com:*"));
        assert!(!cors_origin_ok("https://[::1]:8080"));
        assert!(!cors_origin_ok("moz-extension://abc"));
    }

    #[test]
    fn hostnames_and_paths() {
        assert!(hostname_ok("*.tenants.example.com"));
        assert!(!hostname_ok("api.example.net:8443"));
        assert!(!hostname_ok("10.0.0.1"));
        assert!(path_ok("/api/v1"));
        assert!(!path_ok("/a b"));
    }
}
