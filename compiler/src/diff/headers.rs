//! Security headers: each header's order, strictest first (spec/diff.md, "Security headers").
//! A header weaker in NEW than in OLD, or gone, is new access.

use guestlist::HeaderSetSpec;

use super::{request, route_at, route_label, Kind, Out, Place, Region, Side};

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

pub(super) fn compare(
    a: &Side<'_>,
    b: &Side<'_>,
    ga: &Region<'_>,
    gb: &Region<'_>,
    out: &mut Out<'_>,
) {
    let Some((_, ha)) = set_of(a, ga) else {
        return;
    };
    let route = route_label(ga, gb);
    let route_text = route.unwrap_or("?");
    let witness = Some(request(gb, "GET", &[]));
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
    let at =
        b.l.provenance
            .headers
            .get(ib)
            .copied()
            .flatten()
            .map_or_else(|| route_at(b, gb), |s| b.at(s));
    let place = || Place {
        route,
        host: gb.host,
        at: at.clone(),
        witness: witness.clone(),
        latent: false,
        legacy: false,
    };
    for (name, old) in &ha.set {
        let name = name.to_ascii_lowercase();
        let (subject, message) = match value(hb, &name) {
            None => (name.clone(), format!("{route_text} no longer sends {name}")),
            Some(new) => match weaker(&name, old, new) {
                Some(why) => (
                    name.clone(),
                    format!("{name} on {route_text} is weaker: {why}"),
                ),
                None => continue,
            },
        };
        out.push(Kind::Header, subject, message, place());
    }
    for r in &ha.remove {
        if !hb.remove.iter().any(|x| x.eq_ignore_ascii_case(r)) {
            out.push(
                Kind::Header,
                format!("remove {}", r.to_ascii_lowercase()),
                format!("{route_text} no longer removes the application's {r} header"),
                place(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::weaker;

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
