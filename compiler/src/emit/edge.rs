//! What every edge emitter (nginx, HAProxy, Caddy) needs and no engine owns: PCRE regexes for an
//! origin pattern in the runtime's strict form and for a token, the `Access-Control-*`
//! response headers the runtime owns, and the stricter settings of several cors tables a
//! merged decision sends. Engine syntax (quoting, variables) stays in each emitter.

use std::fmt::Write as _;

use guestlist::Cors;

/// Escapes regex metacharacters (origins and header names contain no backslash).
pub(crate) fn re(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The response headers the runtime owns on a governed route.
pub(crate) const OWNED: [&str; 6] = [
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Expose-Headers",
];

/// An RFC 9110 token character (inside a character class).
pub(crate) const TCHAR: &str = "!#$%&'*+.^_`|~0-9A-Za-z-";

/// Ports 1 to 65535 without a leading zero, as the runtime accepts them.
const PORT_RE: &str =
    "(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])";

/// The regex of one origin pattern in the runtime's strict form.
pub(crate) fn pattern_regex(p: &str) -> Option<String> {
    let (scheme, rest) = p.split_once("://")?;
    let (host, port) = if let Some(h) = rest.strip_suffix(":*") {
        (h, Some(None))
    } else if rest.starts_with('[') {
        match rest.rsplit_once("]:") {
            Some((h, port)) => (rest.get(..h.len() + 1)?, Some(Some(port))),
            None => (rest, None),
        }
    } else {
        match rest.rsplit_once(':') {
            Some((h, port)) => (h, Some(Some(port))),
            None => (rest, None),
        }
    };
    let mut out = format!("^{}://", re(scheme));
    match host.strip_prefix("*.") {
        Some(suffix) => {
            // One or more labels, the whole host at most 253 bytes (as the runtime checks).
            let _ = write!(
                out,
                "(?=[^:]{{1,253}}(?::|$))(?:[a-z0-9-]{{1,63}}\\.)+{}",
                re(suffix)
            );
        }
        None => out.push_str(&re(host)),
    }
    match port {
        None => {}
        Some(None) => {
            let _ = write!(out, "(?::{PORT_RE})?");
        }
        Some(Some(p)) => {
            let _ = write!(out, ":{}", re(p));
        }
    }
    out.push('$');
    Some(out)
}

/// The exposed headers of several tables folded in order: the list the other contains, none
/// when neither contains the other ([`Cors::stricter_expose`], pair by pair).
pub(crate) fn fold_expose<'a>(all: &[&'a Cors]) -> Option<&'a http::HeaderValue> {
    let (&first, rest) = all.split_first()?;
    // The table whose list the fold holds so far.
    let mut acc = first;
    for &c in rest {
        let v = acc.stricter_expose(c)?;
        if c.expose_headers_value() == Some(v) {
            acc = c;
        }
    }
    acc.expose_headers_value()
}

/// The max-age of several tables folded in order: the smaller, none counting as the browser's
/// default ([`Cors::stricter_max_age`], pair by pair).
pub(crate) fn fold_max_age<'a>(all: &[&'a Cors]) -> Option<&'a http::HeaderValue> {
    let (&first, rest) = all.split_first()?;
    // The table whose max-age the fold holds so far.
    let mut acc = first;
    for &c in rest {
        let v = acc.stricter_max_age(c);
        if v != acc.max_age_value() {
            acc = c;
        }
    }
    acc.max_age_value()
}

/// The regex (case-insensitive, PCRE) of the `Access-Control-Request-Headers` lists cors
/// table `c` accepts, as the runtime's scanner does: a comma list (spaces, tabs and empty
/// elements tolerated) of at most 64 names and `max_bytes` bytes, every name listed (or any
/// token when the table allows `*`), `Authorization` only when listed.
pub(crate) fn acrh_list_regex(c: &Cors, max_bytes: usize) -> String {
    let names: Vec<&str> = c.headers().keys().iter().map(|k| k.as_ref()).collect();
    let auth_listed = names
        .iter()
        .any(|n| n.eq_ignore_ascii_case("authorization"));
    let element = if c.any_header() {
        if auth_listed {
            format!("[{TCHAR}]+")
        } else {
            format!("(?!authorization[ \\t]*(?:,|$))[{TCHAR}]+")
        }
    } else if names.is_empty() {
        "(?!)".to_string()
    } else {
        format!(
            "(?:{})",
            names
                .iter()
                .map(|n| re(&n.to_ascii_lowercase()))
                .collect::<Vec<_>>()
                .join("|")
        )
    };
    format!("^(?=[\\s\\S]{{0,{max_bytes}}}$)[ \\t,]*(?:{element}[ \\t]*(?:,[ \\t,]*|$)){{0,64}}$")
}

/// The file of origins set `name` with extension `ext`, relative to the output directory:
/// `origins/` then the name with ASCII letters, digits and `-` kept and every other byte as `_`
/// and two hex digits (injective, and never a path separator).
pub(crate) fn set_file(name: &str, ext: &str) -> String {
    let mut out = String::from("origins/");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "_{b:02x}");
        }
    }
    let _ = write!(out, ".{ext}");
    out
}

/// A policy that can allow an origin through a set supplied at run time: what the tower layer
/// asks again for the entry that allowed a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Matcher {
    /// A cors policy (an actual request allowed).
    Cors(u32),
    /// A websocket policy (a handshake allowed).
    WebSocket(u32),
}

/// One way `matcher` allows an origin through tenant-bound set `set` (an index into the spec's
/// sets): the origin is not among the matcher's own origins and patterns, in none of `before`
/// (the sets it tries first), and in `set`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Via {
    /// The policy.
    pub(crate) matcher: Matcher,
    /// The tenant-bound set.
    pub(crate) set: usize,
    /// The sets the policy tries before `set`.
    pub(crate) before: Vec<usize>,
}

/// The pairs of ways in which the policies `matchers` (those a request is decided under, every
/// one of which allowed it) allow one origin through two different tenant-bound sets: the
/// tower layer answers such a request 500, whatever the entries' keys (spec/language.md, "Sets
/// supplied at run time"). Empty for almost every policy: then an edge adds nothing.
pub(crate) fn tenant_clashes(
    policy: &guestlist::Policy,
    spec: &guestlist::PolicySpec,
    matchers: &[Matcher],
) -> Vec<(Via, Via)> {
    let mut seen: Vec<Matcher> = Vec::new();
    let mut vias: Vec<Via> = Vec::new();
    for &m in matchers {
        if seen.contains(&m) {
            continue;
        }
        seen.push(m);
        let sets = match m {
            Matcher::Cors(i) => {
                // `*` matches every origin before any supplied set.
                if policy
                    .cors_policies()
                    .get(i as usize)
                    .is_none_or(Cors::any_origin)
                {
                    continue;
                }
                spec.cors.get(i as usize).map(|c| c.provided.as_slice())
            }
            Matcher::WebSocket(i) => spec
                .websocket
                .get(i as usize)
                .map(|w| w.provided.as_slice()),
        };
        let sets = sets.unwrap_or_default();
        for (k, &set) in sets.iter().enumerate() {
            if spec.provided.get(set).is_some_and(|p| p.tenant_bound) {
                vias.push(Via {
                    matcher: m,
                    set,
                    before: sets.get(..k).unwrap_or_default().to_vec(),
                });
            }
        }
    }
    let mut out = Vec::new();
    for (i, a) in vias.iter().enumerate() {
        for b in vias.iter().skip(i + 1) {
            if a.set != b.set && a.matcher != b.matcher {
                out.push((a.clone(), b.clone()));
            }
        }
    }
    out
}
