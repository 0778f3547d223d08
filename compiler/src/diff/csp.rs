//! CSP: what each route's policy allows, judged as a CSP Level 3 browser reads it, directive
//! by directive after fallback (spec/diff.md, "CSP").

use std::collections::BTreeMap;

use super::{request, route_at, route_label, Kind, Out, Place, Region, Side};
use crate::ir::{active, CspDecl};
use crate::source::Span;

/// Each directive a CSP Level 3 browser checks, and where it falls back to when absent.
const EFFECTIVE: &[(&str, &[&str])] = &[
    (
        "script-src-elem",
        &["script-src-elem", "script-src", "default-src"],
    ),
    (
        "script-src-attr",
        &["script-src-attr", "script-src", "default-src"],
    ),
    (
        "style-src-elem",
        &["style-src-elem", "style-src", "default-src"],
    ),
    (
        "style-src-attr",
        &["style-src-attr", "style-src", "default-src"],
    ),
    (
        "worker-src",
        &["worker-src", "child-src", "script-src", "default-src"],
    ),
    ("frame-src", &["frame-src", "child-src", "default-src"]),
    ("img-src", &["img-src", "default-src"]),
    ("font-src", &["font-src", "default-src"]),
    ("connect-src", &["connect-src", "default-src"]),
    ("media-src", &["media-src", "default-src"]),
    ("object-src", &["object-src", "default-src"]),
    ("manifest-src", &["manifest-src", "default-src"]),
    ("base-uri", &["base-uri"]),
    ("form-action", &["form-action"]),
    ("frame-ancestors", &["frame-ancestors"]),
];

/// Directives whose presence restricts and whose absence does not fall back to another.
const RESTRICTING: &[&str] = &[
    "sandbox",
    "upgrade-insecure-requests",
    "require-trusted-types-for",
    "trusted-types",
    "block-all-mixed-content",
];

/// One enforced CSP: directive name -> (sources, the line).
type Directives = BTreeMap<String, (Vec<String>, Span)>;

/// A source expression as compared: keywords, schemes and hosts are case-insensitive; hashes
/// and nonces keep their case.
fn normal(v: &str) -> String {
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("'sha") || lower.starts_with("'nonce-") {
        v.to_string()
    } else {
        lower
    }
}

/// The enforced CSP of the side's region (`None` when there is none, or it is report-only).
fn enforced(s: &Side<'_>, g: &Region<'_>) -> Option<(Directives, Span)> {
    let i = g.route.and_then(|(_, r)| r.csp)?;
    let spec = s.spec().csp.get(i)?;
    if spec.report_only {
        return None;
    }
    let profile = s.l.profile.as_str();
    let decl: &CspDecl = s
        .program()
        .csp
        .iter()
        .find(|c| c.name == spec.name && active(&c.when, profile))?;
    let mut d = Directives::new();
    for l in decl.directives.iter().filter(|l| active(&l.when, profile)) {
        let values = l.values.iter().map(|(v, _)| normal(v)).collect();
        d.entry(l.name.clone()).or_insert((values, l.line));
    }
    Some((d, decl.head_span))
}

/// The sources in effect for `effective`, and the directive supplying them; `None` when
/// nothing restricts it.
fn in_effect<'d>(d: &'d Directives, effective: &str) -> Option<(&'d str, &'d [String], Span)> {
    let chain = EFFECTIVE.iter().find(|(n, _)| *n == effective)?.1;
    chain
        .iter()
        .find_map(|n| d.get_key_value(*n))
        .map(|(k, (v, s))| (k.as_str(), v.as_slice(), *s))
}

/// Whether the source list `list` allows what `source` allows (exact, or a host source under
/// `*` or under its scheme).
fn covers(list: &[String], source: &str) -> bool {
    if list.iter().any(|s| s == source) {
        return true;
    }
    let keyword = source.starts_with('\'');
    let scheme_only = source.ends_with(':') && !source.contains('/');
    if keyword || scheme_only {
        return false;
    }
    let scheme = source.split_once("://").map(|(s, _)| s);
    // `*` matches every host source of http(s) and ws(s) (and scheme-less ones).
    if list.iter().any(|s| s == "*")
        && scheme.is_none_or(|s| matches!(s, "http" | "https" | "ws" | "wss"))
    {
        return true;
    }
    scheme.is_some_and(|s| list.iter().any(|x| *x == format!("{s}:")))
}

/// Whether a CSP Level 3 browser ignores `source` in `list` of a script or style directive:
/// host, scheme and `'self'` sources and `'unsafe-inline'` under `'strict-dynamic'`
/// (scripts), `'unsafe-inline'` next to a nonce or a hash.
fn ignored_by_csp3(effective: &str, list: &[String], source: &str) -> bool {
    let script = effective.starts_with("script-src") || effective == "worker-src";
    let style = effective.starts_with("style-src");
    let dynamic = script && list.iter().any(|s| s == "'strict-dynamic'");
    let nonce_or_hash = list
        .iter()
        .any(|s| s == "'nonce'" || s.starts_with("'nonce-") || s.starts_with("'sha"));
    if source == "'unsafe-inline'" && (script || style) && (dynamic || nonce_or_hash) {
        return true;
    }
    dynamic && (source == "'self'" || !source.starts_with('\'') || source == "'unsafe-hashes'")
}

pub(super) fn compare(
    a: &Side<'_>,
    b: &Side<'_>,
    ga: &Region<'_>,
    gb: &Region<'_>,
    out: &mut Out<'_>,
) {
    let Some((da, _)) = enforced(a, ga) else {
        return; // OLD enforces no CSP there: nothing to widen.
    };
    let route = route_label(ga, gb);
    let route_text = route.unwrap_or("?");
    let witness = Some(request(gb, "GET", &[]));
    let place = |at: (String, usize, usize), legacy: bool| Place {
        route,
        host: gb.host,
        at,
        witness: witness.clone(),
        latent: false,
        legacy,
    };
    let Some((db, head)) = enforced(b, gb) else {
        let report_only = gb
            .route
            .and_then(|(_, r)| r.csp)
            .and_then(|i| b.spec().csp.get(i))
            .is_some_and(|c| c.report_only);
        let (subject, message) = if report_only {
            (
                "report-only".to_string(),
                format!("the CSP of {route_text} is now report-only instead of enforced"),
            )
        } else {
            (
                "csp".to_string(),
                format!("{route_text} no longer sends a CSP"),
            )
        };
        let at = gb
            .route
            .and_then(|(_, r)| r.csp)
            .and_then(|i| b.l.provenance.csp.get(i))
            .map_or_else(|| route_at(b, gb), |s| b.at(*s));
        out.push(Kind::Csp, subject, message, place(at, false));
        return;
    };
    // Sources gained, grouped by the directive line that supplies them.
    let mut gained: BTreeMap<(String, String), (Vec<&str>, Span, bool)> = BTreeMap::new();
    let mut unrestricted: Vec<&str> = Vec::new();
    for (effective, _) in EFFECTIVE {
        let Some((_, la, _)) = in_effect(&da, effective) else {
            continue;
        };
        let Some((from, lb, line)) = in_effect(&db, effective) else {
            unrestricted.push(effective);
            continue;
        };
        let none_a = la.iter().all(|s| s == "'none'");
        for s in lb {
            if s == "'none'" || (!none_a && covers(la, s)) {
                continue;
            }
            let legacy = ignored_by_csp3(effective, lb, s);
            let e = gained
                .entry((from.to_string(), s.clone()))
                .or_insert((Vec::new(), line, true));
            e.0.push(effective);
            e.2 &= legacy;
        }
    }
    for ((from, source), (effective, line, legacy)) in gained {
        let message = if effective.len() == 1 && effective.first() == Some(&from.as_str()) {
            format!("the CSP of {route_text} now allows {source} in {from}")
        } else {
            format!(
                "the CSP of {route_text} now allows {source} through {from} (for {})",
                effective.join(", ")
            )
        };
        let message = if legacy {
            format!("{message}; only browsers without CSP Level 3 honour it")
        } else {
            message
        };
        out.push(
            Kind::Csp,
            format!("{from} {source}"),
            message,
            place(b.at(line), legacy),
        );
    }
    // A directive gone, with nothing to fall back to: anchored to the surviving block.
    for effective in unrestricted {
        out.push(
            Kind::Csp,
            format!("{effective} unrestricted"),
            format!("the CSP of {route_text} no longer restricts {effective}"),
            place(b.at(head), false),
        );
    }
    for r in RESTRICTING {
        let Some((va, _)) = da.get(*r) else {
            continue;
        };
        match db.get(*r) {
            None => out.push(
                Kind::Csp,
                format!("{r} removed"),
                format!("the CSP of {route_text} no longer has {r}"),
                place(b.at(head), false),
            ),
            Some((vb, line)) if *r == "sandbox" || *r == "trusted-types" => {
                for v in vb.iter().filter(|v| !va.contains(v)) {
                    out.push(
                        Kind::Csp,
                        format!("{r} {v}"),
                        format!("the CSP of {route_text} now allows {v} in {r}"),
                        place(b.at(*line), false),
                    );
                }
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{covers, ignored_by_csp3};

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn a_source_is_covered_by_itself_by_star_and_by_its_scheme() {
        assert!(covers(
            &list(&["'self'", "https://a.example"]),
            "https://a.example"
        ));
        assert!(covers(&list(&["*"]), "https://a.example"));
        assert!(covers(&list(&["*"]), "a.example"));
        assert!(covers(&list(&["https:"]), "https://a.example"));
        assert!(!covers(&list(&["*"]), "data:"));
        assert!(!covers(&list(&["*"]), "'unsafe-inline'"));
        assert!(!covers(&list(&["https:"]), "http://a.example"));
        assert!(!covers(&list(&["'self'"]), "https://a.example"));
    }

    #[test]
    fn csp3_ignores_what_strict_dynamic_and_nonces_override() {
        let dynamic = list(&["'nonce'", "'strict-dynamic'"]);
        assert!(ignored_by_csp3(
            "script-src-elem",
            &dynamic,
            "https://cdn.example"
        ));
        assert!(ignored_by_csp3("script-src-elem", &dynamic, "'self'"));
        assert!(ignored_by_csp3(
            "script-src-elem",
            &dynamic,
            "'unsafe-inline'"
        ));
        assert!(!ignored_by_csp3(
            "script-src-elem",
            &dynamic,
            "'unsafe-eval'"
        ));
        let nonce = list(&["'self'", "'nonce'"]);
        assert!(ignored_by_csp3("style-src-attr", &nonce, "'unsafe-inline'"));
        assert!(!ignored_by_csp3(
            "style-src-attr",
            &nonce,
            "https://cdn.example"
        ));
        assert!(!ignored_by_csp3("img-src", &nonce, "'unsafe-inline'"));
    }
}
