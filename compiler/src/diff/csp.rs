//! CSP: what each route's policy allows, judged as a CSP Level 3 browser reads it, directive
//! by directive after fallback (spec/diff.md, "CSP").

use std::collections::BTreeMap;

use super::{request, route_at, route_label, route_line_at, Kind, Out, Place, Region, Side};
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

/// A source expression as compared: keywords, schemes and hosts are case-insensitive; hashes,
/// nonces and a host source's path keep their case.
fn normal(v: &str) -> String {
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("'sha") || lower.starts_with("'nonce-") {
        return v.to_string();
    }
    let after_scheme = v.find("://").map_or(0, |i| i + 3);
    match v.get(after_scheme..).and_then(|rest| rest.find('/')) {
        Some(i) if !v.starts_with('\'') => {
            let (head, path) = v.split_at(after_scheme + i);
            format!("{}{path}", head.to_ascii_lowercase())
        }
        _ => lower,
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

/// Whether an enforced CSP restricts nothing a browser restricts without one: every checked
/// directive, after fallback, is absent or allows `*` (with `'unsafe-inline'` for scripts and
/// styles and `'unsafe-eval'` for scripts), and no directive of [`RESTRICTING`] is present.
/// (`*` leaves out `data:`, `blob:` and `filesystem:` URLs; such a policy is still no defence
/// the application's own CSP could not have been stricter than.)
fn restricts_nothing(d: &Directives) -> bool {
    if RESTRICTING.iter().any(|n| d.contains_key(*n)) {
        return false;
    }
    EFFECTIVE.iter().all(|(effective, _)| {
        let Some((_, list, _)) = in_effect(d, effective) else {
            return true;
        };
        let has = |s: &str| list.iter().any(|x| x == s);
        let inline = !(effective.starts_with("script-src") || effective.starts_with("style-src"))
            || has("'unsafe-inline'");
        let eval = !effective.starts_with("script-src") || has("'unsafe-eval'");
        has("*") && inline && eval
    })
}

/// Whether the source list `list` allows every URL `source` allows, one source of the list
/// covering it (CSP Level 3, "Does url match expression in origin with redirect count"):
/// the same source, `*` (network schemes), a scheme source, or a host source whose scheme,
/// host, port and path parts match all of its URLs. Keywords are covered only by themselves.
fn covers(list: &[String], source: &str) -> bool {
    if list.iter().any(|s| s == source) {
        return true;
    }
    if source.starts_with('\'') {
        return false;
    }
    let Some(new) = Source::parse(source) else {
        return false;
    };
    list.iter().any(|old| {
        if old == "*" {
            // `*` matches URLs of the network schemes (and of the page's own, which is one).
            return PAGE_SCHEMES
                .iter()
                .all(|page| new.schemes(page).iter().all(|s| NETWORK.contains(s)));
        }
        Source::parse(old).is_some_and(|old| old.contains(&new))
    })
}

/// The schemes a page that sends the CSP may have: a source must be covered for each.
const PAGE_SCHEMES: [&str; 2] = ["http", "https"];

/// The network schemes `*` matches.
const NETWORK: [&str; 4] = ["http", "https", "ws", "wss"];

/// The URL schemes a scheme part matches (CSP Level 3 "scheme-part match": `http` also
/// matches `https`, `ws` matches `wss`, `http` and `https`, `wss` matches `https`).
fn scheme_matches(scheme: &str) -> Vec<&str> {
    match scheme {
        "http" => vec!["http", "https"],
        "ws" => vec!["ws", "wss", "http", "https"],
        "wss" => vec!["wss", "https"],
        other => vec![other],
    }
}

/// The default port of a scheme's URLs.
fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        "ftp" => Some(21),
        _ => None,
    }
}

/// A port part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    /// None given: the URL's scheme's default port.
    Default,
    /// `*`: any port.
    Any,
    /// This port.
    Is(u16),
}

/// A host part.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    /// `*`: any host.
    Any,
    /// `*.DOMAIN`: a host with one or more labels before `.DOMAIN`.
    Under(String),
    /// This host.
    Is(String),
}

/// A scheme source (`https:`) or a host source (`[scheme://]host[:port][/path]`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// `SCHEME:`.
    Scheme(String),
    /// A host source.
    Host {
        scheme: Option<String>,
        host: Host,
        port: Port,
        /// Empty: any path; ending in `/`: that prefix; else that path.
        path: String,
    },
}

impl Source {
    fn parse(v: &str) -> Option<Source> {
        if let Some(scheme) = v.strip_suffix(':') {
            if !scheme.is_empty() && !scheme.contains(['/', ':', '.']) {
                return Some(Source::Scheme(scheme.to_string()));
            }
        }
        let (scheme, rest) = match v.split_once("://") {
            Some((s, r)) => (Some(s.to_string()), r),
            None => (None, v),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, "*")) => (h, Port::Any),
            Some((h, p)) => (h, Port::Is(p.parse().ok()?)),
            None => (authority, Port::Default),
        };
        let host = if host == "*" {
            Host::Any
        } else if let Some(d) = host.strip_prefix("*.") {
            Host::Under(d.to_string())
        } else if host.is_empty() || host.contains('*') {
            return None;
        } else {
            Host::Is(host.to_string())
        };
        Some(Source::Host {
            scheme,
            host,
            port,
            path: path.to_string(),
        })
    }

    /// The URL schemes the source matches on a page of scheme `page` (a host source without
    /// a scheme takes the page's).
    fn schemes(&self, page: &str) -> Vec<&str> {
        match self {
            Source::Scheme(s) => scheme_matches(s),
            Source::Host {
                scheme: Some(s), ..
            } => scheme_matches(s),
            Source::Host { scheme: None, .. } => match page {
                "http" => vec!["http", "https"],
                _ => vec!["https"],
            },
        }
    }

    /// Whether every URL `new` matches, this source matches too (on every page scheme).
    fn contains(&self, new: &Source) -> bool {
        PAGE_SCHEMES.iter().all(|page| {
            let mine = self.schemes(page);
            let theirs = new.schemes(page);
            if !theirs.iter().all(|s| mine.contains(s)) {
                return false;
            }
            match (self, new) {
                (Source::Scheme(_), _) => true,
                (Source::Host { .. }, Source::Scheme(_)) => false,
                (
                    Source::Host {
                        host: h1,
                        port: p1,
                        path: path1,
                        ..
                    },
                    Source::Host {
                        host: h2,
                        port: p2,
                        path: path2,
                        ..
                    },
                ) => {
                    host_contains(h1, h2)
                        && theirs.iter().all(|s| port_contains(*p1, *p2, s))
                        && path_contains(path1, path2)
                }
            }
        })
    }
}

/// Whether host part `old` matches every host `new` matches.
fn host_contains(old: &Host, new: &Host) -> bool {
    match (old, new) {
        (Host::Any, _) => true,
        (_, Host::Any) => false,
        (Host::Under(d), Host::Is(h)) => h.ends_with(&format!(".{d}")),
        (Host::Under(d), Host::Under(e)) => e == d || e.ends_with(&format!(".{d}")),
        (Host::Is(a), Host::Is(b)) => a == b,
        (Host::Is(_), Host::Under(_)) => false,
    }
}

/// Whether port part `old` matches every port `new` matches on URLs of `scheme` ("port-part
/// match": no port matches the scheme's default port).
fn port_contains(old: Port, new: Port, scheme: &str) -> bool {
    let resolve = |p: Port| match p {
        Port::Default => default_port(scheme),
        Port::Is(n) => Some(n),
        Port::Any => None,
    };
    match (old, new) {
        (Port::Any, _) => true,
        (_, Port::Any) => false,
        (o, n) => resolve(n).is_some() && resolve(o) == resolve(n),
    }
}

/// Whether path part `old` matches every path `new` matches: none matches every path, one
/// ending in `/` the paths it starts, any other exactly itself.
fn path_contains(old: &str, new: &str) -> bool {
    if old.is_empty() {
        return true;
    }
    if new.is_empty() {
        return false;
    }
    if old.ends_with('/') {
        new.starts_with(old)
    } else {
        old == new
    }
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

/// Sources a CSP gains, keyed by (the directive supplying them, the source): the effective
/// directives they reach, the supplying line, and whether every reach is legacy (honoured
/// only by browsers without CSP Level 3).
type Gained<'e> = BTreeMap<(String, String), (Vec<&'e str>, Span, bool)>;

/// Records that `source`, from directive `from` at `line`, reaches `effective`.
fn gain<'e>(
    gained: &mut Gained<'e>,
    from: &str,
    source: &str,
    effective: &'e str,
    line: Span,
    legacy: bool,
) {
    let e = gained
        .entry((from.to_string(), source.to_string()))
        .or_insert((Vec::new(), line, true));
    e.0.push(effective);
    e.2 &= legacy;
}

/// The checked directives a newly enforced CSP is judged on: scripts (and workers), plugins,
/// and `<base>`.
const JUDGED: &[&str] = &[
    "script-src-elem",
    "script-src-attr",
    "worker-src",
    "object-src",
    "base-uri",
];

/// Whether `effective` runs scripts.
fn scripts(effective: &str) -> bool {
    effective.starts_with("script-src") || effective == "worker-src"
}

/// Why source `s` of `effective`'s list is dangerous on its own in a newly enforced CSP, if it
/// is: `'unsafe-inline'`, `'unsafe-eval'` and `'unsafe-hashes'` for scripts; `*` or a scheme
/// source (`https:`, `data:`, `blob:`...) for scripts, `object-src` and `base-uri` (any
/// page or attacker-hosted file of that scheme).
fn dangerous(effective: &str, s: &str) -> bool {
    let keyword = matches!(s, "'unsafe-inline'" | "'unsafe-eval'" | "'unsafe-hashes'");
    let wide = s == "*" || matches!(Source::parse(s), Some(Source::Scheme(_)));
    (scripts(effective) && keyword) || wide
}

/// A CSP that NEW enforces where OLD enforced none replaces the application's own, which
/// nobody reviewed: new access when it restricts nothing (one finding, `csp`), else for each
/// grant dangerous on its own, after fallback as a CSP Level 3 browser reads it: a script
/// directive or `object-src` unrestricted; `base-uri` unrestricted beside nonce or hash
/// scripts (a `<base>` then moves their relative URLs); a [`dangerous`] source (legacy when
/// CSP Level 3 ignores it, beside `'strict-dynamic'`, a nonce or a hash). So a strict CSP
/// (`default-src 'self'; object-src 'none'; base-uri 'none'`, or nonces with
/// `'strict-dynamic'`) is no new access.
fn newly_enforced(
    b: &Side<'_>,
    gb: &Region<'_>,
    db: &Directives,
    head: Span,
    switched: bool,
    out: &mut Out<'_>,
) {
    let route = gb.route.map(|(_, r)| r.pattern.as_str());
    let route_text = route.unwrap_or("?");
    let place = |at: Span, legacy: bool| Place {
        route,
        host: gb.host,
        at: if switched {
            route_line_at(b, gb, |p| p.csp_line)
        } else {
            b.at(at)
        },
        witness: Some(request(gb, "GET", &[])),
        latent: false,
        legacy,
    };
    if restricts_nothing(db) {
        out.push(
            Kind::Csp,
            "csp".to_string(),
            format!(
                "{route_text} now sends a CSP that restricts nothing, in place of the application's own"
            ),
            place(head, false),
        );
        return;
    }
    let nonce_scripts = ["script-src-elem", "script-src-attr"].iter().any(|e| {
        in_effect(db, e).is_some_and(|(_, list, _)| {
            list.iter()
                .any(|s| s == "'nonce'" || s.starts_with("'nonce-") || s.starts_with("'sha"))
        })
    });
    let mut gained: Gained<'_> = BTreeMap::new();
    for effective in JUDGED {
        let Some((from, list, line)) = in_effect(db, effective) else {
            if *effective != "base-uri" || nonce_scripts {
                out.push(
                    Kind::Csp,
                    format!("{effective} unrestricted"),
                    format!(
                        "{route_text} now sends a CSP that does not restrict {effective}, in place of the application's own"
                    ),
                    place(head, false),
                );
            }
            continue;
        };
        for s in list.iter().filter(|s| dangerous(effective, s)) {
            gain(
                &mut gained,
                from,
                s,
                effective,
                line,
                ignored_by_csp3(effective, list, s),
            );
        }
    }
    for ((from, source), (effective, line, legacy)) in gained {
        let legacy_text = if legacy {
            "; only browsers without CSP Level 3 honour it"
        } else {
            ""
        };
        out.push(
            Kind::Csp,
            format!("{from} {source}"),
            format!(
                "{route_text} now sends a CSP that allows {source} through {from} (for {}), in place of the application's own{legacy_text}",
                effective.join(", ")
            ),
            place(line, legacy),
        );
    }
}

pub(super) fn compare(
    a: &Side<'_>,
    b: &Side<'_>,
    ga: &Region<'_>,
    gb: &Region<'_>,
    out: &mut Out<'_>,
) {
    let route = route_label(ga, gb);
    let route_text = route.unwrap_or("?");
    let witness = Some(request(gb, "GET", &[]));
    // A route that switched to another CSP, one OLD already has, made the change on its
    // `csp` line; that block's lines may be unchanged (another route's), so every finding is
    // anchored there.
    let name = |s: &Side<'_>, g: &Region<'_>| {
        g.route
            .and_then(|(_, r)| r.csp)
            .and_then(|i| s.spec().csp.get(i))
            .map(|c| c.name.clone())
    };
    let switched = name(b, gb).is_some_and(|n| {
        super::switched_to_kept(
            name(a, ga).as_deref(),
            &n,
            a.spec().csp.iter().map(|c| c.name.as_str()),
        )
    });
    let Some((da, _)) = enforced(a, ga) else {
        // OLD enforces no CSP there: the application's own passed. NEW's replaces it, judged
        // on its own (spec/diff.md, "Newly enforced CSP").
        if let Some((db, head)) = enforced(b, gb) {
            newly_enforced(b, gb, &db, head, switched, out);
        }
        return;
    };
    let place = |at: (String, usize, usize), legacy: bool| Place {
        route,
        host: gb.host,
        at: if switched {
            route_line_at(b, gb, |p| p.csp_line)
        } else {
            at
        },
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
        // The `report-only` line, else the block's head.
        let profile = b.l.profile.as_str();
        let report_line = gb
            .route
            .and_then(|(_, r)| r.csp)
            .and_then(|i| b.spec().csp.get(i))
            .filter(|_| report_only)
            .and_then(|c| {
                b.program()
                    .csp
                    .iter()
                    .find(|d| d.name == c.name && active(&d.when, profile))
            })
            .and_then(|d| d.report_only.iter().find(|e| active(&e.when, profile)))
            .map(|e| e.line);
        let at = report_line
            .or_else(|| {
                gb.route
                    .and_then(|(_, r)| r.csp)
                    .and_then(|i| b.l.provenance.csp.get(i).copied())
            })
            .map_or_else(|| route_at(b, gb), |s| b.at(s));
        out.push(Kind::Csp, subject, message, place(at, false));
        return;
    };
    // Sources gained, grouped by the directive line that supplies them.
    let mut gained: Gained<'_> = BTreeMap::new();
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
        // What OLD's list allows in a CSP Level 3 browser: a source it ignores there (hosts
        // beside 'strict-dynamic', 'unsafe-inline' beside a nonce or hash) covers nothing, so
        // removing the nonce or 'strict-dynamic' that switched it off is new access.
        let live_a: Vec<String> = la
            .iter()
            .filter(|x| !ignored_by_csp3(effective, la, x))
            .cloned()
            .collect();
        for s in lb {
            let legacy = ignored_by_csp3(effective, lb, s);
            // Covered by a source OLD's browsers honour, or ignored as before on both sides.
            let covered = covers(&live_a, s) || (legacy && covers(la, s));
            if s == "'none'" || (!none_a && covered) {
                continue;
            }
            gain(&mut gained, from, s, effective, line, legacy);
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

    /// Each CSP Level 3 matching rule, both ways: the covered source adds nothing, the other
    /// way round it does.
    #[test]
    fn containment_follows_csp3_url_matching() {
        let pairs: &[(&str, &str)] = &[
            // Paths: a source ending in `/` matches the paths below it, any other exactly.
            ("https://cdn.example", "https://cdn.example/js/"),
            ("https://cdn.example/js/", "https://cdn.example/js/app.js"),
            ("https://cdn.example/js/", "https://cdn.example/js/lib/"),
            // Ports: `*` any; none is the scheme's default.
            ("https://cdn.example:*", "https://cdn.example"),
            ("https://cdn.example:*", "https://cdn.example:8443"),
            // Scheme upgrades: `http` matches https URLs, `ws` wss; scheme sources.
            ("http://cdn.example", "https://cdn.example"),
            ("ws://cdn.example", "wss://cdn.example"),
            ("https:", "https://cdn.example:8443/x"),
            ("ws:", "wss:"),
            ("http:", "https:"),
            ("http:", "cdn.example"),
            ("*", "https:"),
            // Host wildcards: one or more labels.
            ("https://*.example", "https://cdn.example"),
            ("https://*.example", "https://*.cdn.example"),
            ("https://*", "https://cdn.example"),
        ];
        for (old, new) in pairs {
            assert!(covers(&list(&[old]), new), "{old} should cover {new}");
            assert!(!covers(&list(&[new]), old), "{new} should not cover {old}");
        }
        // Both ways: an explicit default port is no port.
        assert!(covers(
            &list(&["https://cdn.example:443"]),
            "https://cdn.example"
        ));
        assert!(covers(
            &list(&["https://cdn.example"]),
            "https://cdn.example:443"
        ));
        assert!(covers(
            &list(&["http://cdn.example"]),
            "https://cdn.example:443"
        ));
        // Neither way.
        let apart: &[(&str, &str)] = &[
            ("https://cdn.example/js", "https://cdn.example/js/app.js"),
            ("https://cdn.example", "https://cdn.example:8443"),
            ("https://cdn.example:80", "http://cdn.example:443"),
            ("https://*.example", "https://example"),
            ("https://a.example", "https://b.example"),
            ("wss:", "data:"),
            ("*", "data:"),
        ];
        for (x, y) in apart {
            assert!(!covers(&list(&[x]), y), "{x} covers {y}");
            if *x != "*" {
                assert!(!covers(&list(&[y]), x), "{y} covers {x}");
            }
        }
        // A scheme-less source takes the page's scheme: `https://` does not cover it (an http
        // page's), `http://` does.
        assert!(!covers(&list(&["https://cdn.example"]), "cdn.example"));
        assert!(covers(&list(&["http://cdn.example"]), "cdn.example"));
        // Path case is kept.
        assert_ne!(
            super::normal("HTTPS://CDN.example/JS/"),
            "https://cdn.example/js/"
        );
        assert_eq!(
            super::normal("HTTPS://CDN.example/JS/"),
            "https://cdn.example/JS/"
        );
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
