//! Security header sets: the built-in `headers default` set and what a named set holds in one
//! profile. `check` reads them to find conflicts, `lower` to write the runtime's tables.

use std::collections::BTreeMap;

use super::{active, Program};

/// The built-in header set's name.
pub const DEFAULT_HEADERS: &str = "default";

/// The built-in `headers default` set: helmet 8's defaults without the obsolete
/// (`X-Download-Options` is for IE8; no current browser has the XSS filter `X-XSS-Protection`
/// switches off) and without a CSP (that is the `csp` block's job). `spec/language.md` lists it.
const DEFAULT_SET: &[(&str, &str)] = &[
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("origin-agent-cluster", "?1"),
    ("referrer-policy", "no-referrer"),
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-dns-prefetch-control", "off"),
    ("x-frame-options", "SAMEORIGIN"),
    ("x-permitted-cross-domain-policies", "none"),
];

/// What the built-in set removes.
const DEFAULT_REMOVE: &[&str] = &["x-powered-by"];

/// A header set's headers in `profile`, and its removals: the built-in set (for `default` or
/// `include default`) then the block's own, later lines replacing earlier ones.
pub fn resolved_header_set(
    program: &Program,
    name: &str,
    profile: &str,
) -> (Vec<(String, String)>, Vec<String>) {
    let mut set: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut remove: Vec<String> = Vec::new();
    let mut order = 0usize;
    let mut put = |set: &mut BTreeMap<String, (usize, String)>, n: &str, v: &str| {
        let slot = set.entry(n.to_string()).or_insert((order, String::new()));
        slot.1 = v.to_string();
        order += 1;
    };
    let decl = program
        .headers
        .iter()
        .find(|h| h.name == name && active(&h.when, profile));
    let include = name == DEFAULT_HEADERS
        || decl.is_some_and(|h| h.include_default.iter().any(|e| active(&e.when, profile)));
    if include {
        for (n, v) in DEFAULT_SET {
            put(&mut set, n, v);
        }
        remove.extend(DEFAULT_REMOVE.iter().map(|s| s.to_string()));
    }
    if let Some(h) = decl {
        for e in h.set.iter().filter(|e| active(&e.when, profile)) {
            put(&mut set, &e.value.name, &e.value.value);
        }
        for e in h.remove.iter().filter(|e| active(&e.when, profile)) {
            if !remove.contains(&e.value) {
                remove.push(e.value.clone());
            }
        }
    }
    let mut v: Vec<(usize, String, String)> =
        set.into_iter().map(|(n, (o, v))| (o, n, v)).collect();
    v.sort();
    (v.into_iter().map(|(_, n, v)| (n, v)).collect(), remove)
}
