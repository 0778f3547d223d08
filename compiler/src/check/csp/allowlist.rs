//! The allowlist lints: host sources in script and object directives that the CSP
//! Evaluator's bypass lists (`csp_evaluator_bypasses.txt`, vendored) know to serve JSONP,
//! Angular or Flash, other allowlisted hosts, IP addresses, and plain-HTTP sources. Built on
//! `grammar`.

use std::sync::OnceLock;

use super::grammar::{d, host_of, is_scheme_source, looks_like_ip, scheme_free, Directives};
use crate::diag::Diagnostic;

/// The Evaluator's allowlist-bypass lists.
struct Bypasses {
    jsonp: Vec<(String, String)>,
    needs_eval: Vec<String>,
    angular: Vec<(String, String)>,
    flash: Vec<(String, String)>,
}

/// The bypass lists, read once.
fn bypasses() -> &'static Bypasses {
    static B: OnceLock<Bypasses> = OnceLock::new();
    B.get_or_init(|| {
        let text = include_str!("csp_evaluator_bypasses.txt");
        let mut b = Bypasses {
            jsonp: Vec::new(),
            needs_eval: Vec::new(),
            angular: Vec::new(),
            flash: Vec::new(),
        };
        let mut section = "";
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(s) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                section = match s {
                    "jsonp-needs-eval" => "e",
                    "jsonp" => "j",
                    "angular" => "a",
                    _ => "f",
                };
                continue;
            }
            let url = line.trim_start_matches("//");
            let (host, path) = match url.find('/') {
                Some(i) => (url.get(..i).unwrap_or(""), url.get(i..).unwrap_or("/")),
                None => (url, "/"),
            };
            let entry = (host.to_ascii_lowercase(), path.to_string());
            match section {
                "e" => b.needs_eval.push(line.to_string()),
                "j" => b.jsonp.push(entry),
                "a" => b.angular.push(entry),
                _ => b.flash.push(entry),
            }
        }
        b
    })
}

/// The Evaluator's `matchWildcardUrls`: does a CSP host source cover a listed URL?
fn match_list<'a>(source: &str, list: &'a [(String, String)]) -> Option<&'a str> {
    let url = scheme_free(source);
    let url = url.replacen(":*", "", 1);
    let (host_port, path) = match url.find('/') {
        Some(i) => (url.get(..i).unwrap_or(""), url.get(i..).unwrap_or("/")),
        None => (url.as_str(), "/"),
    };
    let host = host_port
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let (wild, bare) = match host.strip_prefix("*.") {
        Some(h) => (true, h.to_string()),
        None => (false, host.clone()),
    };
    for (domain, lpath) in list {
        if !domain.ends_with(&bare) {
            continue;
        }
        if !wild && *domain != host {
            continue;
        }
        if wild && (domain == &bare || !domain.ends_with(&format!(".{bare}"))) {
            continue;
        }
        if path != "/" {
            if path.ends_with('/') {
                if !lpath.starts_with(path) {
                    continue;
                }
            } else if lpath != path {
                continue;
            }
        }
        return Some(domain);
    }
    None
}

/// The allowlist lints of one policy's directives.
pub(super) fn check(dirs: &Directives<'_>, out: &mut Vec<Diagnostic>) {
    let get = |n: &str| dirs.get(n);
    // GL0812/0813: script allowlist bypasses (skipped with 'none' and with 'strict-dynamic').
    for name in ["script-src", "script-src-elem"] {
        let Some(s) = get(name).or_else(|| {
            if name == "script-src" {
                get("default-src")
            } else {
                None
            }
        }) else {
            continue;
        };
        if s.has("'none'") || s.has("'strict-dynamic'") {
            continue;
        }
        let b = bypasses();
        for (v, span) in &s.values {
            if v.eq_ignore_ascii_case("'self'") {
                out.push(
                    d("GL0813", *span, "'self' in a script allowlist")
                        .label("problematic if the site hosts JSONP, AngularJS or user uploads")
                        .help("use `'nonce'` with `'strict-dynamic'` instead of an allowlist"),
                );
                continue;
            }
            if v.starts_with('\'') || is_scheme_source(v) || !v.contains('.') {
                continue;
            }
            let jsonp = match_list(v, &b.jsonp)
                .filter(|h| !b.needs_eval.iter().any(|e| e == h) || s.has("'unsafe-eval'"));
            let angular = match_list(v, &b.angular);
            if let Some(host) = jsonp.or(angular) {
                let what = match (jsonp.is_some(), angular.is_some()) {
                    (true, true) => "JSONP endpoints and Angular libraries",
                    (true, false) => "JSONP endpoints",
                    _ => "Angular libraries",
                };
                out.push(
                    d("GL0812", *span, format!("{host} hosts {what} that bypass this CSP"))
                        .label("known allowlist bypass (CSP Evaluator)")
                        .help("remove the host; load its scripts through `'nonce'` and `'strict-dynamic'`"),
                );
            } else {
                out.push(
                    d("GL0813", *span, format!("`{v}` in a script allowlist"))
                        .label("no known bypass; make sure it serves no JSONP or Angular")
                        .help("use `'nonce'` with `'strict-dynamic'` instead of an allowlist"),
                );
            }
        }
    }
    // GL0814/0815: object-src allowlists.
    if let Some(o) = get("object-src") {
        if !o.has("'none'") {
            for (v, span) in &o.values {
                if let Some(host) = match_list(v, &bypasses().flash)
                    .filter(|_| !v.starts_with('\'') && v.contains('.'))
                {
                    out.push(
                        d(
                            "GL0814",
                            *span,
                            format!("{host} hosts Flash files that bypass this CSP"),
                        )
                        .label("known allowlist bypass (CSP Evaluator)")
                        .help("write `object-src 'none'`"),
                    );
                } else {
                    out.push(
                        d("GL0815", *span, format!("`{v}` in object-src"))
                            .label("plugins are rarely needed")
                            .help("write `object-src 'none'`"),
                    );
                }
            }
        }
    }
    // GL0816/0835: IP sources; GL0819: http:// sources.
    for x in &dirs.list {
        for (v, span) in &x.values {
            if v.starts_with('\'') || is_scheme_source(v) {
                continue;
            }
            let host = host_of(v);
            if looks_like_ip(host) {
                if host == "127.0.0.1" {
                    out.push(
                        d("GL0816", *span, format!("IP source `{v}`"))
                            .label("a loopback address")
                            .help("remove it before production"),
                    );
                } else {
                    out.push(
                        d("GL0835", *span, format!("`{v}` never matches"))
                            .label("browsers match no IP address but 127.0.0.1 in CSP")
                            .help("use the host name"),
                    );
                }
            } else if !host.is_ascii() {
                out.push(
                    d("GL0835", *span, format!("`{v}` never matches"))
                        .label("CSP host sources are punycode")
                        .help("write the host in its xn-- form"),
                );
            }
            if v.to_ascii_lowercase().starts_with("http://") {
                out.push(
                    d("GL0819", *span, format!("`{v}` is loaded over plain HTTP"))
                        .label("anyone on the network can replace it")
                        .help(if x.line.name == "report-uri" {
                            "use HTTPS to send violation reports"
                        } else {
                            "use https://"
                        }),
                );
            }
        }
    }
}
