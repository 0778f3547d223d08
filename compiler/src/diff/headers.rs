//! Security headers: each header's order, strictest first (spec/diff.md, "Security headers").
//! A header weaker in NEW than in OLD, or gone, is new access; so is a header set that starts
//! to `remove` the application's own protective header.

use guestlist::HeaderSetSpec;

use super::{request, route_at, route_label, route_line_at, Kind, Out, Place, Region, Side};
use crate::ir::active;

/// The response headers whose presence makes a browser stricter than their absence (every
/// value of each restricts something, or can): a header set removing the application's line
/// of one strips a protection nobody reviewed. `Content-Security-Policy-Report-Only`,
/// reporting headers and `X-XSS-Protection` (no current browser has its filter) restrict
/// nothing and are not here.
const PROTECTIVE: &[&str] = &[
    "clear-site-data",
    "content-security-policy",
    "cross-origin-embedder-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "feature-policy",
    "origin-agent-cluster",
    "permissions-policy",
    "referrer-policy",
    "strict-transport-security",
    "x-content-type-options",
    "x-dns-prefetch-control",
    "x-frame-options",
    "x-permitted-cross-domain-policies",
];

/// Whether removing the application's line of `name` strips a protection.
fn protective(name: &str) -> bool {
    PROTECTIVE.contains(&name.to_ascii_lowercase().as_str())
}

/// The names the layer writes on a region's responses (its header set's and CSP's), as the
/// runtime lists them ([`guestlist::Policy::guard_headers`]).
fn written(s: &Side<'_>, g: &Region<'_>) -> Vec<String> {
    let policy = &s.l.policy;
    g.route
        .and_then(|(i, _)| policy.routes().get(i))
        .map(|r| {
            policy
                .guard_headers(r.guards())
                .into_iter()
                .map(|(n, _)| n.as_str().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The application's headers the layer takes out of a region's responses: its header set's
/// `remove` names that nothing of the route writes again (the runtime removes, then sets).
fn removed(s: &Side<'_>, g: &Region<'_>) -> Vec<String> {
    let Some((_, h)) = set_of(s, g) else {
        return Vec::new();
    };
    let written = written(s, g);
    h.remove
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .filter(|n| !written.contains(n))
        .collect()
}

/// Where `b`'s region's header set removes (`removed`) or sets `name`: its `remove` or
/// header line, else the set's head ([`set_at`]); the route's `headers` line where the route
/// switched sets (`switched`).
fn line_at(
    b: &Side<'_>,
    gb: &Region<'_>,
    (i, h): (usize, &HeaderSetSpec),
    name: &str,
    removed: bool,
    switched: bool,
) -> super::At {
    if switched {
        return set_at(b, gb, i, true);
    }
    let profile = b.l.profile.as_str();
    let decls = || {
        b.program()
            .headers
            .iter()
            .filter(|d| d.name == h.name && active(&d.when, profile))
    };
    let line = if removed {
        decls()
            .flat_map(|d| &d.remove)
            .find(|e| e.value.eq_ignore_ascii_case(name) && active(&e.when, profile))
            .map(|e| e.line)
    } else {
        decls()
            .flat_map(|d| &d.set)
            .find(|e| e.value.name.eq_ignore_ascii_case(name) && active(&e.when, profile))
            .map(|e| e.line)
    };
    line.map_or_else(|| set_at(b, gb, i, false), |l| b.at(l))
}

/// Whether the region's route has another header set in NEW than in OLD (or none in OLD),
/// one OLD already has: its lines may be unchanged, so findings go to the route's line.
fn switched(a: &Side<'_>, ga: &Region<'_>, hb: &HeaderSetSpec) -> bool {
    super::switched_to_kept(
        set_of(a, ga).map(|(_, ha)| ha.name.as_str()),
        &hb.name,
        a.spec().headers.iter().map(|h| h.name.as_str()),
    )
}

/// A protective header (of [`PROTECTIVE`]) that NEW's header set removes from the
/// application's response where OLD let the application's line pass (OLD neither removed nor
/// set it: a header OLD set itself and NEW no longer sends is [`compare`]'s "no longer
/// sends"). The other way round, a `remove` dropped, is the same finding with the sides
/// swapped: removed access.
fn removals(a: &Side<'_>, b: &Side<'_>, ga: &Region<'_>, gb: &Region<'_>, out: &mut Out<'_>) {
    let Some((ib, hb)) = set_of(b, gb) else {
        return;
    };
    let now = removed(b, gb);
    if now.iter().all(|n| !protective(n)) {
        return;
    }
    let (before, wrote) = (removed(a, ga), written(a, ga));
    let route = route_label(ga, gb);
    let route_text = route.unwrap_or("?");
    for name in now
        .iter()
        .filter(|n| protective(n) && !before.contains(n) && !wrote.contains(n))
    {
        out.push(
            Kind::Header,
            format!("remove {name}"),
            format!(
                "{route_text} now removes the application's {name} header (header set {}): its protection no longer reaches browsers",
                hb.name
            ),
            Place {
                route,
                host: gb.host,
                at: line_at(b, gb, (ib, hb), name, true, switched(a, ga, hb)),
                witness: Some(request(gb, "GET", &[])),
                latent: false,
                legacy: false,
            },
        );
    }
}

/// The header set of a region's route.
fn set_of<'s>(s: &Side<'s>, g: &Region<'_>) -> Option<(usize, &'s HeaderSetSpec)> {
    let i = g.route.and_then(|(_, r)| r.headers)?;
    s.spec().headers.get(i).map(|h| (i, h))
}

fn value<'h>(h: &'h HeaderSetSpec, name: &str) -> Option<&'h str> {
    h.set
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Rank of a value in an order, strictest first; unknown values rank last.
fn rank(order: &[&str], v: &str) -> usize {
    let v = v.trim().to_ascii_lowercase();
    order.iter().position(|o| *o == v).unwrap_or(order.len())
}

/// `Strict-Transport-Security`: (max-age, includeSubDomains, preload).
fn hsts(v: &str) -> (u64, bool, bool) {
    let mut age = 0;
    let (mut sub, mut preload) = (false, false);
    for part in v.split(';').map(str::trim) {
        let lower = part.to_ascii_lowercase();
        if let Some(n) = lower.strip_prefix("max-age=") {
            age = n.trim_matches('"').parse().unwrap_or(0);
        } else if lower == "includesubdomains" {
            sub = true;
        } else if lower == "preload" {
            preload = true;
        }
    }
    (age, sub, preload)
}

/// The referrer policy a browser applies: the last token it knows.
fn referrer(v: &str) -> String {
    v.split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .rfind(|t| REFERRER.contains(&t.as_str()))
        .unwrap_or_default()
}

/// Referrer-Policy, from sending the least to the most.
const REFERRER: &[&str] = &[
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "origin",
    "origin-when-cross-origin",
    "no-referrer-when-downgrade",
    "unsafe-url",
];

/// `Permissions-Policy`: feature -> its allowlist (`*`, `self`, origins), as written.
fn permissions(v: &str) -> Vec<(String, Vec<String>)> {
    v.split(',')
        .filter_map(|m| {
            let (f, list) = m.trim().split_once('=')?;
            let list = list.trim().trim_start_matches('(').trim_end_matches(')');
            let items = list
                .split_whitespace()
                .map(|s| s.trim_matches('"').to_ascii_lowercase())
                .collect();
            Some((f.trim().to_ascii_lowercase(), items))
        })
        .collect()
}

/// How `new` is weaker than `old` for header `name`, in words; `None` when it is not.
fn weaker(name: &str, old: &str, new: &str) -> Option<String> {
    let order: Option<&[&str]> = match name {
        "x-frame-options" => Some(&["deny", "sameorigin"]),
        "cross-origin-opener-policy" => Some(&[
            "same-origin",
            "same-origin-allow-popups",
            "noopener-allow-popups",
            "unsafe-none",
        ]),
        "cross-origin-embedder-policy" => Some(&["require-corp", "credentialless", "unsafe-none"]),
        "cross-origin-resource-policy" => Some(&["same-origin", "same-site", "cross-origin"]),
        _ => None,
    };
    if let Some(order) = order {
        return (rank(order, new) > rank(order, old)).then(|| format!("{old} -> {new}"));
    }
    match name {
        "strict-transport-security" => {
            let (oa, os, op) = hsts(old);
            let (na, ns, np) = hsts(new);
            let mut why = Vec::new();
            if na < oa {
                why.push(format!("max-age {oa} -> {na}"));
            }
            if os && !ns {
                why.push("includeSubDomains dropped".into());
            }
            if op && !np {
                why.push("preload dropped".into());
            }
            (!why.is_empty()).then(|| why.join(", "))
        }
        "referrer-policy" => {
            let (o, n) = (referrer(old), referrer(new));
            (rank(REFERRER, &n) > rank(REFERRER, &o)).then(|| format!("{o} -> {n}"))
        }
        "permissions-policy" => {
            let (o, n) = (permissions(old), permissions(new));
            let mut why = Vec::new();
            for (f, list) in &o {
                match n.iter().find(|(g, _)| g == f) {
                    None => why.push(format!("{f} no longer restricted")),
                    Some((_, nl)) => {
                        let widened = if list.iter().any(|x| x == "*") {
                            false
                        } else {
                            nl.iter().any(|x| !list.contains(x))
                        };
                        if widened {
                            why.push(format!(
                                "{f}=({}) -> {f}=({})",
                                list.join(" "),
                                nl.join(" ")
                            ));
                        }
                    }
                }
            }
            (!why.is_empty()).then(|| why.join(", "))
        }
        // A value with no order: any change may weaken it.
        _ => (!old.trim().eq_ignore_ascii_case(new.trim())).then(|| format!("{old} -> {new}")),
    }
}

/// Why `value`, set by NEW for header `name` where OLD left the header to the application, is
/// new access; `None` when it is not (spec/diff.md, "Security headers", "Newly set"). The
/// application's own value is unknown, so a value is new access when it lets through what a
/// response without the header would not, or when, equal to the header's absence, it can only
/// serve to switch off a stricter value the application sent.
fn newly_weak(name: &str, value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    let weak: &[&str] = match name {
        "strict-transport-security" => {
            let (age, _, _) = hsts(value);
            return (age == 0)
                .then(|| "max-age=0 makes browsers forget the host's HSTS".to_string());
        }
        "referrer-policy" => {
            let r = referrer(value);
            // strict-origin-when-cross-origin is today's default, and stricter than the
            // no-referrer-when-downgrade older browsers default to.
            return (rank(REFERRER, &r) > rank(REFERRER, "strict-origin-when-cross-origin"))
                .then(|| format!("{r} sends more than the browser's default"));
        }
        "permissions-policy" => {
            let open: Vec<String> = permissions(value)
                .into_iter()
                .filter(|(_, list)| list.iter().any(|x| x == "*"))
                .map(|(f, _)| format!("{f}=*"))
                .collect();
            return (!open.is_empty())
                .then(|| format!("{} lets every origin's frames use it", open.join(", ")));
        }
        "x-frame-options" | "x-content-type-options" | "x-xss-protection" => &[],
        "cross-origin-opener-policy" | "cross-origin-embedder-policy" => &["unsafe-none"],
        "cross-origin-resource-policy" => &["cross-origin"],
        "origin-agent-cluster" => &["?0"],
        "x-dns-prefetch-control" => &["on"],
        "x-permitted-cross-domain-policies" => &["by-content-type", "all"],
        // A header without a known order: any value may replace a stricter one.
        _ => return Some("a header with no known order".to_string()),
    };
    weak.contains(&v.as_str())
        .then(|| format!("{} is the weakest value", value.trim()))
}

pub(super) fn compare(
    a: &Side<'_>,
    b: &Side<'_>,
    ga: &Region<'_>,
    gb: &Region<'_>,
    out: &mut Out<'_>,
) {
    removals(a, b, ga, gb, out);
    let route = route_label(ga, gb);
    let route_text = route.unwrap_or("?");
    let witness = Some(request(gb, "GET", &[]));
    let Some((_, ha)) = set_of(a, ga) else {
        if let Some((ib, hb)) = set_of(b, gb) {
            newly_set(b, gb, (ib, hb), None, switched(a, ga, hb), out);
        }
        return;
    };
    let Some((ib, hb)) = set_of(b, gb) else {
        out.push(
            Kind::Header,
            "headers".into(),
            format!(
                "{route_text} no longer has a header set ({}): the application's own headers pass",
                ha.name
            ),
            Place {
                route,
                host: gb.host,
                at: route_at(b, gb),
                witness,
                latent: false,
                legacy: false,
            },
        );
        return;
    };
    let switched = switched(a, ga, hb);
    let at = set_at(b, gb, ib, switched);
    let place = |at: super::At| Place {
        route,
        host: gb.host,
        at,
        witness: witness.clone(),
        latent: false,
        legacy: false,
    };
    for (name, old) in &ha.set {
        let name = name.to_ascii_lowercase();
        let (subject, message, at) = match value(hb, &name) {
            None => (
                name.clone(),
                format!("{route_text} no longer sends {name}"),
                at.clone(),
            ),
            Some(new) => match weaker(&name, old, new) {
                Some(why) => (
                    name.clone(),
                    format!("{name} on {route_text} is weaker: {why}"),
                    line_at(b, gb, (ib, hb), &name, false, switched),
                ),
                None => continue,
            },
        };
        out.push(Kind::Header, subject, message, place(at));
    }
    newly_set(b, gb, (ib, hb), Some(ha), switched, out);
    // A protective header no longer removed is removed access ([`removals`], sides swapped);
    // any other (`x-powered-by`, `server`) reaches browsers again.
    for r in ha.remove.iter().filter(|r| !protective(r)) {
        if !hb.remove.iter().any(|x| x.eq_ignore_ascii_case(r)) {
            out.push(
                Kind::Header,
                format!("remove {}", r.to_ascii_lowercase()),
                format!("{route_text} no longer removes the application's {r} header"),
                place(at.clone()),
            );
        }
    }
}

/// Where a finding about header set `i` of `b` is anchored: the set's head, else the route;
/// the route's `headers` line where the route switched sets (`switched`: the set's lines may
/// be unchanged, another route's).
fn set_at(b: &Side<'_>, gb: &Region<'_>, i: usize, switched: bool) -> super::At {
    match b.l.provenance.headers.get(i).copied().flatten() {
        Some(s) if !switched => b.at(s),
        _ => route_line_at(b, gb, |p| p.headers_line),
    }
}

/// The headers `hb` sets that `ha` (OLD's set on the region, if any) does not: each replaces
/// the application's own value, and is new access when [`newly_weak`] says so.
fn newly_set(
    b: &Side<'_>,
    gb: &Region<'_>,
    (ib, hb): (usize, &HeaderSetSpec),
    ha: Option<&HeaderSetSpec>,
    switched: bool,
    out: &mut Out<'_>,
) {
    let route = gb.route.map(|(_, r)| r.pattern.as_str());
    let route_text = route.unwrap_or("?");
    for (name, new) in &hb.set {
        let name = name.to_ascii_lowercase();
        if ha.is_some_and(|h| value(h, &name).is_some()) {
            continue;
        }
        let Some(why) = newly_weak(&name, new) else {
            continue;
        };
        out.push(
            Kind::Header,
            name.clone(),
            format!(
                "{route_text} now sends {name}: {new} in place of the application's own ({why})"
            ),
            Place {
                route,
                host: gb.host,
                at: line_at(b, gb, (ib, hb), &name, false, switched),
                witness: Some(request(gb, "GET", &[])),
                latent: false,
                legacy: false,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{newly_weak, weaker};

    #[test]
    fn a_newly_set_header_is_weak_only_at_the_end_of_its_order() {
        for (name, v) in [
            ("cross-origin-resource-policy", "cross-origin"),
            ("cross-origin-opener-policy", "unsafe-none"),
            ("cross-origin-embedder-policy", "unsafe-none"),
            ("referrer-policy", "unsafe-url"),
            ("referrer-policy", "no-referrer, origin"),
            ("permissions-policy", "camera=*, geolocation=()"),
            ("strict-transport-security", "max-age=0"),
            ("origin-agent-cluster", "?0"),
            ("x-dns-prefetch-control", "on"),
            ("x-permitted-cross-domain-policies", "all"),
        ] {
            assert!(newly_weak(name, v).is_some(), "{name}: {v}");
        }
        for (name, v) in [
            ("cross-origin-resource-policy", "same-site"),
            ("cross-origin-opener-policy", "same-origin-allow-popups"),
            ("cross-origin-embedder-policy", "credentialless"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
            ("referrer-policy", "unsafe-url, no-referrer"),
            (
                "permissions-policy",
                "camera=(), geolocation=(self \"https://a.example\")",
            ),
            ("strict-transport-security", "max-age=600"),
            ("x-frame-options", "SAMEORIGIN"),
            ("x-content-type-options", "nosniff"),
            ("x-xss-protection", "0"),
            ("x-permitted-cross-domain-policies", "master-only"),
        ] {
            assert!(newly_weak(name, v).is_none(), "{name}: {v}");
        }
    }

    #[test]
    fn each_header_is_weaker_only_down_its_order() {
        let weaker_cases = [
            (
                "strict-transport-security",
                "max-age=31536000; includeSubDomains",
                "max-age=600; includeSubDomains",
            ),
            (
                "strict-transport-security",
                "max-age=600; includeSubDomains",
                "max-age=600",
            ),
            (
                "strict-transport-security",
                "max-age=600; includeSubDomains; preload",
                "max-age=600; includeSubDomains",
            ),
            ("x-frame-options", "DENY", "SAMEORIGIN"),
            (
                "cross-origin-opener-policy",
                "same-origin",
                "same-origin-allow-popups",
            ),
            (
                "cross-origin-opener-policy",
                "noopener-allow-popups",
                "unsafe-none",
            ),
            (
                "cross-origin-embedder-policy",
                "require-corp",
                "credentialless",
            ),
            ("cross-origin-resource-policy", "same-site", "cross-origin"),
            (
                "referrer-policy",
                "no-referrer",
                "strict-origin-when-cross-origin",
            ),
            (
                "referrer-policy",
                "no-referrer, strict-origin",
                "unsafe-url",
            ),
            (
                "permissions-policy",
                "camera=(), geolocation=(self)",
                "camera=(), geolocation=(self \"https://a.example\")",
            ),
            (
                "permissions-policy",
                "camera=(), microphone=()",
                "camera=()",
            ),
            ("permissions-policy", "camera=()", "camera=*"),
        ];
        for (name, old, new) in weaker_cases {
            assert!(weaker(name, old, new).is_some(), "{name}: {old} -> {new}");
            // The same change the other way round is a strengthening, not a weakening.
            assert!(weaker(name, new, old).is_none(), "{name}: {new} -> {old}");
        }
        for (name, old, new) in [
            (
                "strict-transport-security",
                "max-age=600",
                "max-age=31536000; includeSubDomains",
            ),
            ("x-frame-options", "SAMEORIGIN", "DENY"),
            ("referrer-policy", "unsafe-url", "no-referrer"),
            // The last token a browser knows applies.
            ("referrer-policy", "unsafe-url, no-referrer", "no-referrer"),
            ("permissions-policy", "camera=*", "camera=(self)"),
            ("x-frame-options", "DENY", "deny"),
        ] {
            assert!(weaker(name, old, new).is_none(), "{name}: {old} -> {new}");
        }
        // A header without an order: any other value may weaken it.
        assert!(weaker("x-content-type-options", "nosniff", "sniff").is_some());
        assert!(weaker("origin-agent-cluster", "?1", "?1").is_none());
    }
}
