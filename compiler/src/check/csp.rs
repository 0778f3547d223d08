//! CSP lints: every finding of Google's CSP Evaluator (default and strict-CSP checks, with the
//! allowlist-bypass lists of `csp_evaluator@1.1.8`) plus the spec-backed lints of
//! `spec/diagnostics.md`, "CSP". Severities follow the Evaluator's: HIGH and SYNTAX are errors
//! (HIGH ones can be lowered with `dangerously-allow`), MEDIUM and the *_MAYBE ones warnings,
//! STRICT_CSP and INFO notes. The table mapping each Evaluator finding to its code is in the
//! spec; each has a test in `spec/diagnostics/cases`.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::diag::{Diagnostic, Severity};
use crate::ir::{CspLine, Entry, NONCE};
use crate::source::Span;

/// Directives that take a source list and fall back to `default-src`.
const FETCH: &[&str] = &[
    "child-src",
    "connect-src",
    "default-src",
    "font-src",
    "frame-src",
    "img-src",
    "manifest-src",
    "media-src",
    "object-src",
    "script-src",
    "script-src-elem",
    "script-src-attr",
    "style-src",
    "style-src-elem",
    "style-src-attr",
    "worker-src",
];
/// Other source-list directives (no fallback).
const OTHER_SL: &[&str] = &["base-uri", "form-action", "frame-ancestors"];
const OTHER: &[&str] = &[
    "sandbox",
    "report-uri",
    "report-to",
    "webrtc",
    "upgrade-insecure-requests",
    "block-all-mixed-content",
    "require-trusted-types-for",
    "trusted-types",
];
/// Deprecated or removed directives: the Evaluator's four plus the spec's removals.
const DEPRECATED: &[&str] = &[
    "reflected-xss",
    "referrer",
    "disown-opener",
    "prefetch-src",
    "navigate-to",
    "plugin-types",
    "require-sri-for",
    "block-all-mixed-content",
];
const KEYWORDS: &[&str] = &[
    "'self'",
    "'none'",
    "'unsafe-inline'",
    "'unsafe-eval'",
    "'strict-dynamic'",
    "'unsafe-hashes'",
    "'report-sample'",
    "'unsafe-allow-redirects'",
    "'wasm-unsafe-eval'",
    "'trusted-types-eval'",
    "'report-sha256'",
    "'report-sha384'",
    "'report-sha512'",
    "'unsafe-webtransport-hashes'",
    "'inline-speculation-rules'",
];
const SANDBOX: &[&str] = &[
    "allow-downloads",
    "allow-forms",
    "allow-modals",
    "allow-orientation-lock",
    "allow-pointer-lock",
    "allow-popups",
    "allow-popups-to-escape-sandbox",
    "allow-presentation",
    "allow-same-origin",
    "allow-scripts",
    "allow-storage-access-by-user-activation",
    "allow-top-navigation",
    "allow-top-navigation-by-user-activation",
    "allow-top-navigation-to-custom-protocols",
];

/// Whether `name` is a directive guestlist knows (current or deprecated).
pub fn is_directive(name: &str) -> bool {
    FETCH.contains(&name)
        || OTHER_SL.contains(&name)
        || OTHER.contains(&name)
        || DEPRECATED.contains(&name)
}

fn all_directives() -> impl Iterator<Item = &'static str> {
    FETCH.iter().chain(OTHER_SL).chain(OTHER).copied()
}

/// The Evaluator's allowlist-bypass lists.
struct Bypasses {
    jsonp: Vec<(String, String)>,
    needs_eval: Vec<String>,
    angular: Vec<(String, String)>,
    flash: Vec<(String, String)>,
}

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

fn scheme_free(v: &str) -> &str {
    match v.find("://") {
        Some(i) => v.get(i + 3..).unwrap_or(""),
        None => v.strip_prefix("//").unwrap_or(v),
    }
}

fn is_scheme_source(v: &str) -> bool {
    v.strip_suffix(':').is_some_and(|s| {
        let mut b = s.bytes();
        b.next().is_some_and(|c| c.is_ascii_alphabetic())
            && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    })
}

fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    !body.is_empty()
        && s.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

/// A host-source per the CSP grammar: `[scheme://]host[:port][path]`.
fn is_host_source(v: &str) -> bool {
    let rest = match v.find("://") {
        Some(i) => {
            if !is_scheme_source(&format!("{}:", v.get(..i).unwrap_or(""))) {
                return false;
            }
            v.get(i + 3..).unwrap_or("")
        }
        None => v,
    };
    let (hp, path) = match rest.find('/') {
        Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
        None => (rest, ""),
    };
    if path.contains([';', ',']) {
        return false;
    }
    let (host, port) = match hp.rsplit_once(':') {
        Some((h, p)) if !h.contains(']') || hp.starts_with('[') => (h, Some(p)),
        _ => (hp, None),
    };
    if let Some(p) = port {
        if !(p == "*" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))) {
            return false;
        }
    }
    if host == "*" {
        return true;
    }
    let host = host.strip_prefix("*.").unwrap_or(host);
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

fn host_of(v: &str) -> &str {
    let rest = scheme_free(v);
    let hp = rest.split('/').next().unwrap_or("");
    if hp.starts_with('[') {
        return hp.split(']').next().map_or(hp, |h| h);
    }
    hp.split(':').next().unwrap_or("")
}

fn looks_like_ip(host: &str) -> bool {
    host.starts_with('[')
        || (host.split('.').count() == 4
            && host
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

struct Dir<'a> {
    line: &'a CspLine,
    values: Vec<(&'a str, Span)>,
}

impl Dir<'_> {
    fn has(&self, v: &str) -> bool {
        self.values.iter().any(|(x, _)| x.eq_ignore_ascii_case(v))
    }
    fn span_of(&self, v: &str) -> Span {
        self.values
            .iter()
            .find(|(x, _)| x.eq_ignore_ascii_case(v))
            .map_or(self.line.name_span, |(_, s)| *s)
    }
    fn has_nonce_or_hash(&self) -> bool {
        self.values.iter().any(|(v, _)| is_nonce_or_hash(v))
    }
}

fn is_nonce_or_hash(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    l == NONCE
        || ["'sha256-", "'sha384-", "'sha512-"]
            .iter()
            .any(|p| l.starts_with(p) && l.ends_with('\''))
}

fn d(code: &'static str, span: Span, msg: impl Into<String>) -> Diagnostic {
    let severity = crate::diag::codes::info(code).map_or(Severity::Error, |i| i.severity);
    Diagnostic::new(code, span, msg).severity(severity)
}

/// Lints one csp block as it applies in one profile.
pub fn check(
    head: Span,
    lines: &[&CspLine],
    report_only: bool,
    endpoints: &[&Entry<(String, String)>],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if lines.is_empty() {
        out.push(
            d("GL0839", head, "csp policy without a directive")
                .label("its Content-Security-Policy header would be empty, which a header cannot carry")
                .help("add the policy's directives, or give this csp block (or its route lines) a `when` so that it applies only where it has directives"),
        );
    }
    // Syntax: names, duplicates, values.
    let mut dirs: Vec<Dir<'_>> = Vec::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for l in lines {
        let name = l.name.as_str();
        if !is_directive(name) {
            let mut x = d(
                "GL0801",
                l.name_span,
                format!("unknown CSP directive `{name}`"),
            )
            .label("browsers ignore it");
            x = match super::did_you_mean(name.trim_end_matches(':'), all_directives()) {
                Some(s) => x.help(format!("did you mean `{s}`?")),
                None if name.ends_with(':') => x.help("directive names have no `:`"),
                None => x.help("see spec/language.md, \"csp\", for the directives guestlist knows"),
            };
            out.push(x);
            continue;
        }
        if let Some(&first) = by_name.get(name) {
            let first_span = dirs.get(first).map_or(l.name_span, |f| f.line.name_span);
            out.push(
                d("GL0828", l.name_span, format!("`{name}` is set twice"))
                    .label("browsers ignore this one: the first wins")
                    .secondary(first_span, "first set here")
                    .help("merge the two lines"),
            );
            continue;
        }
        if DEPRECATED.contains(&name) {
            out.push(
                d("GL0820", l.name_span, format!("`{name}` is deprecated"))
                    .label("removed from CSP, or never implemented")
                    .help(match name {
                        "block-all-mixed-content" => "use `upgrade-insecure-requests`",
                        "prefetch-src" => {
                            "prefetches are covered by `default-src` in current browsers"
                        }
                        "referrer" => {
                            "use the Referrer-Policy header (`referrer-policy` in a headers block)"
                        }
                        "reflected-xss" => "remove it; use a strict script-src",
                        _ => "remove it",
                    }),
            );
        }
        let mut values = Vec::new();
        for (v, span) in &l.values {
            if !guestlist::is_header_value(v.as_bytes()) {
                // GL0839, reported where the block was read.
                continue;
            }
            if v.contains([',', ';']) {
                out.push(
                    d("GL0831", *span, format!("`{v}` contains `,` or `;`"))
                        .label("this would end the directive or the policy")
                        .help("write one source per value, separated by spaces; each directive goes on its own line"),
                );
                continue;
            }
            values.push((v.as_str(), *span));
        }
        by_name.insert(l.name.as_str(), dirs.len());
        dirs.push(Dir { line: l, values });
    }
    let get = |n: &str| by_name.get(n).and_then(|&i| dirs.get(i));

    for dir in &dirs {
        value_checks(dir, &mut out);
    }

    // The effective script directive: script-src, else default-src.
    let script = get("script-src").or_else(|| get("default-src"));
    let object = get("object-src").or_else(|| get("default-src"));
    let has_nonce = dirs.iter().any(|x| {
        x.values.iter().any(|(v, _)| {
            v.eq_ignore_ascii_case(NONCE) || v.to_ascii_lowercase().starts_with("'nonce-")
        })
    });
    let has_hash = dirs.iter().any(|x| {
        x.values
            .iter()
            .any(|(v, _)| is_nonce_or_hash(v) && !v.eq_ignore_ascii_case(NONCE))
    });

    // GL0804/0805/0806: unsafe-inline, unsafe-hashes, unsafe-eval in script directives.
    let script_dirs: Vec<&Dir<'_>> = ["script-src", "script-src-attr", "script-src-elem"]
        .iter()
        .filter_map(|n| get(n))
        .chain(if get("script-src").is_none() {
            get("default-src")
        } else {
            None
        })
        .collect();
    for s in &script_dirs {
        let neutralised = s.has_nonce_or_hash() || s.has("'strict-dynamic'");
        if s.has("'unsafe-inline'") && !neutralised {
            out.push(
                d("GL0804", s.span_of("'unsafe-inline'"), "'unsafe-inline' allows inline scripts")
                    .label("any injected <script> or event handler runs")
                    .help("use `'nonce'` (guestlist makes a fresh one per response) with `'strict-dynamic'`, and remove 'unsafe-inline'"),
            );
        }
        if s.has("'unsafe-hashes'") {
            out.push(
                d(
                    "GL0805",
                    s.span_of("'unsafe-hashes'"),
                    "'unsafe-hashes' allows inline event handlers",
                )
                .label("handlers whose hash is listed run")
                .help("move the handlers into scripts and remove 'unsafe-hashes'"),
            );
        }
        if s.has("'unsafe-eval'") {
            out.push(
                d(
                    "GL0806",
                    s.span_of("'unsafe-eval'"),
                    "'unsafe-eval' allows eval()",
                )
                .label("strings can become code")
                .help("remove it, or use 'wasm-unsafe-eval' if only WebAssembly needs it"),
            );
        }
    }
    // GL0807/0808: plain schemes and wildcards in script, object and base directives.
    let xss: Vec<&Dir<'_>> = script_dirs
        .iter()
        .copied()
        .chain(object)
        .chain(get("base-uri"))
        .collect();
    let mut reported: Vec<Span> = Vec::new();
    for x in &xss {
        let sd = x.has("'strict-dynamic'") && x.line.name.starts_with("script-src")
            || (x.line.name == "default-src" && x.has("'strict-dynamic'"));
        for (v, span) in &x.values {
            if reported.contains(span)
                || sd && !x.line.name.starts_with("base") && !x.line.name.starts_with("object")
            {
                continue;
            }
            let l = v.to_ascii_lowercase();
            if ["data:", "http:", "https:"].contains(&l.as_str()) {
                reported.push(*span);
                out.push(
                    d(
                        "GL0807",
                        *span,
                        format!(
                            "`{v}` in {} allows any script from that scheme",
                            x.line.name
                        ),
                    )
                    .label("an attacker can host a script there")
                    .help("name the hosts, or better: use `'nonce'` with `'strict-dynamic'`"),
                );
            } else if scheme_free(&l) == "*" || l == "*" {
                reported.push(*span);
                out.push(
                    d(
                        "GL0808",
                        *span,
                        format!("`{v}` in {} allows scripts from anywhere", x.line.name),
                    )
                    .label("plain wildcard")
                    .help("name the hosts, or better: use `'nonce'` with `'strict-dynamic'`"),
                );
            }
        }
    }
    // GL0809/0810/0811: missing directives.
    let report_head = Some(head);
    if let Some(head) = report_head {
        if object.is_none_or(|o| o.values.is_empty()) {
            out.push(
                d("GL0809", head, "no object-src")
                    .label("plugins can load scripts")
                    .help("add `object-src 'none'`"),
            );
        }
        if script.is_none() {
            out.push(
                d("GL0810", head, "no script-src (and no default-src)")
                    .label("any script may run")
                    .help("add `script-src 'nonce' 'strict-dynamic'`"),
            );
        }
        let sd = script.is_some_and(|s| s.has("'strict-dynamic'"));
        if (has_nonce || (has_hash && sd)) && get("base-uri").is_none() {
            out.push(
                d("GL0811", head, "nonces or hashes without base-uri")
                    .label("an injected <base> can redirect nonced scripts")
                    .help("add `base-uri 'none'` (or 'self')"),
            );
        }
    }
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
    for x in &dirs {
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
    // Strict CSP.
    if let Some(s) = script {
        let hosts = s.values.iter().any(|(v, _)| !v.starts_with('\''));
        let sd = s.has("'strict-dynamic'");
        if hosts && !sd {
            out.push(
                d("GL0821", s.line.name_span, "host or scheme allowlist without 'strict-dynamic'")
                    .label("allowlists are bypassable")
                    .help("a strict CSP is `script-src 'nonce' 'strict-dynamic'; object-src 'none'; base-uri 'none'`"),
            );
        }
        if sd && !s.has_nonce_or_hash() {
            out.push(
                d(
                    "GL0822",
                    s.span_of("'strict-dynamic'"),
                    "'strict-dynamic' without a nonce or hash",
                )
                .label("blocks every script")
                .help("add `'nonce'`"),
            );
        }
        if s.has_nonce_or_hash() && !s.has("'unsafe-inline'") {
            out.push(
                d(
                    "GL0823",
                    s.line.name_span,
                    "no 'unsafe-inline' fallback for CSP1 browsers",
                )
                .label("browsers without nonce support block inline scripts")
                .help("add 'unsafe-inline' (ignored by browsers that support nonces)"),
            );
        }
        if sd
            && !s.values.iter().any(|(v, _)| {
                let l = v.to_ascii_lowercase();
                l == "http:"
                    || l == "https:"
                    || l == "*"
                    || (!l.starts_with('\'') && l.contains('.'))
            })
        {
            out.push(
                d(
                    "GL0824",
                    s.span_of("'strict-dynamic'"),
                    "'strict-dynamic' without an allowlist fallback",
                )
                .label("browsers without 'strict-dynamic' block external scripts")
                .help("add `https:` (ignored by browsers that support 'strict-dynamic')"),
            );
        }
    }
    if let Some(head) = report_head {
        if get("require-trusted-types-for").is_none() {
            out.push(
                d("GL0825", head, "no require-trusted-types-for 'script'")
                    .label("DOM XSS sinks accept strings")
                    .help(
                        "add `require-trusted-types-for 'script'` once the app uses Trusted Types",
                    ),
            );
        }
        // Reporting.
        let uri = get("report-uri").is_some();
        let to = get("report-to").is_some();
        if !uri && !to {
            out.push(
                d("GL0826", head, "no report destination")
                    .label("violations are never reported")
                    .help("add `report-to NAME \"https://...\"`"),
            );
        } else if to && !uri {
            out.push(
                d("GL0827", head, "report-to without report-uri")
                    .label("browsers without the Reporting API send no reports")
                    .help("add `report-uri` with the same URL"),
            );
        }
        if let Some(def) = get("default-src") {
            let missing: Vec<&str> = OTHER_SL
                .iter()
                .copied()
                .filter(|n| get(n).is_none())
                .collect();
            if !missing.is_empty() {
                out.push(
                    d(
                        "GL0833",
                        def.line.name_span,
                        format!("default-src does not cover {}", missing.join(", ")),
                    )
                    .label("these directives have no fallback")
                    .help(format!(
                        "add {}",
                        missing
                            .iter()
                            .map(|m| format!("`{m} 'self'`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
            }
        }
    }
    if report_only {
        if let Some(sb) = get("sandbox") {
            out.push(
                d(
                    "GL0838",
                    sb.line.name_span,
                    "sandbox in a report-only policy",
                )
                .label("ignored in Content-Security-Policy-Report-Only")
                .help("move sandbox to an enforced csp block"),
            );
        }
    }
    // report-to endpoints.
    for e in endpoints {
        let (name, url) = &e.value;
        if !guestlist::is_header_value(url.as_bytes()) {
            // GL0839, reported where the block was read.
            continue;
        }
        if !url.starts_with("https://") {
            out.push(
                d(
                    "GL0834",
                    e.span,
                    format!("report-to endpoint `{name}` is not https"),
                )
                .label("browsers only send reports to secure endpoints")
                .help("use an https:// URL"),
            );
        } else if url.contains(['"', ' ', ',']) || url.len() <= "https://".len() {
            out.push(
                d("GL0834", e.span, "malformed endpoint URL")
                    .label("expected https://host/path")
                    .help("write `report-to csp-endpoint \"https://reports.example.com/csp\"`"),
            );
        }
    }
    let _ = Severity::Note;
    out
}

/// Checks each value against its directive's grammar.
fn value_checks(x: &Dir<'_>, out: &mut Vec<Diagnostic>) {
    let name = x.line.name.as_str();
    let sl = FETCH.contains(&name) || OTHER_SL.contains(&name);
    let no_value = matches!(
        name,
        "upgrade-insecure-requests" | "block-all-mixed-content"
    );
    if no_value && !x.values.is_empty() {
        if let Some((_, s)) = x.values.first() {
            out.push(
                d("GL0840", *s, format!("`{name}` takes no value"))
                    .label("unexpected")
                    .help(format!("write `{name}` alone")),
            );
        }
        return;
    }
    if sl && x.values.is_empty() {
        out.push(
            d(
                "GL0840",
                x.line.name_span,
                format!("`{name}` needs a source list"),
            )
            .label("an empty list means 'none'")
            .help(format!("write `{name} 'none'` if that is what you mean")),
        );
        return;
    }
    let has_none = x.has("'none'");
    if has_none && x.values.len() > 1 {
        out.push(
            d(
                "GL0829",
                x.span_of("'none'"),
                "'none' next to other sources",
            )
            .label("'none' is ignored when other sources are listed")
            .help("remove 'none', or the other sources"),
        );
    }
    for (v, span) in &x.values {
        let l = v.to_ascii_lowercase();
        if is_directive(&l) && !matches!(name, "sandbox" | "trusted-types" | "report-to") {
            out.push(
                d("GL0802", *span, format!("`{v}` is a directive name"))
                    .label("a missing line break or `;`?")
                    .help("put each directive on its own line"),
            );
            continue;
        }
        let unquoted_kw = KEYWORDS.iter().any(|k| k.trim_matches('\'') == l)
            || l == "nonce"
            || l.starts_with("nonce-")
            || l.starts_with("sha256-")
            || l.starts_with("sha384-")
            || l.starts_with("sha512-");
        match name {
            "sandbox" => {
                if !SANDBOX.contains(&l.as_str()) {
                    out.push(
                        d("GL0840", *span, format!("`{v}` is not a sandbox token"))
                            .label("ignored")
                            .help(format!("sandbox takes: {}", SANDBOX.join(", "))),
                    );
                }
                continue;
            }
            "report-uri" => {
                if !(l.starts_with("https://") || l.starts_with("http://") || l.starts_with('/')) {
                    out.push(
                        d("GL0840", *span, format!("`{v}` is not a report URL"))
                            .label("expected a URL")
                            .help("write `report-uri \"https://reports.example.com/csp\"`"),
                    );
                }
                continue;
            }
            "report-to" => continue,
            "webrtc" => {
                if l != "'allow'" && l != "'block'" {
                    out.push(
                        d("GL0803", *span, format!("`{v}` is not a webrtc value"))
                            .label("expected 'allow' or 'block'")
                            .help("write `webrtc 'block'`"),
                    );
                }
                continue;
            }
            "require-trusted-types-for" => {
                if l != "'script'" {
                    out.push(
                        d("GL0803", *span, format!("`{v}` is not valid here"))
                            .label("expected 'script'")
                            .help("write `require-trusted-types-for 'script'`"),
                    );
                }
                continue;
            }
            "trusted-types" => {
                if v.starts_with('\'') && !matches!(l.as_str(), "'none'" | "'allow-duplicates'") {
                    out.push(
                        d(
                            "GL0803",
                            *span,
                            format!("`{v}` is not a trusted-types keyword"),
                        )
                        .label("expected a policy name, 'none' or 'allow-duplicates'")
                        .help("write policy names unquoted"),
                    );
                }
                continue;
            }
            _ => {}
        }
        if unquoted_kw {
            let fixed = format!("'{v}'");
            out.push(
                d("GL0803", *span, format!("`{v}` must be quoted"))
                    .label("unquoted, it is read as a host name")
                    .help(format!("write `{fixed}`"))
                    .fix(*span, fixed),
            );
            continue;
        }
        if v.starts_with('\'') {
            if l == NONCE {
                if name == "frame-ancestors" {
                    out.push(
                        d("GL0832", *span, "nonce in frame-ancestors")
                            .label("frame-ancestors takes origins, 'self' and 'none' only")
                            .help("remove it"),
                    );
                }
                continue;
            }
            if let Some(n) = l.strip_prefix("'nonce-").and_then(|n| n.strip_suffix('\'')) {
                let raw = v.get(7..v.len().saturating_sub(1)).unwrap_or(n);
                out.push(
                    d("GL0830", *span, "a literal nonce")
                        .label("the same nonce on every response is no nonce at all")
                        .help("write `'nonce'`: guestlist puts a fresh 128-bit nonce in each response and hands it to the application"),
                );
                if raw.len() < 8 {
                    out.push(
                        d("GL0817", *span, "nonce shorter than 8 characters")
                            .label("guessable")
                            .help("write `'nonce'`"),
                    );
                }
                if !is_base64(raw) {
                    out.push(
                        d("GL0818", *span, "nonce outside the base64 alphabet")
                            .label("browsers may not match it")
                            .help("write `'nonce'`"),
                    );
                }
                continue;
            }
            if is_nonce_or_hash(v) {
                let raw = v.get(8..v.len().saturating_sub(1)).unwrap_or("");
                if !is_base64(raw) {
                    out.push(
                        d("GL0840", *span, format!("`{v}` is not a valid hash"))
                            .label("expected base64 after sha256-/sha384-/sha512-")
                            .help("write `'sha256-BASE64'`"),
                    );
                } else if name == "frame-ancestors" {
                    out.push(
                        d("GL0832", *span, "hash in frame-ancestors")
                            .label("frame-ancestors takes origins, 'self' and 'none' only")
                            .help("remove it"),
                    );
                }
                continue;
            }
            if !KEYWORDS.contains(&l.as_str()) {
                let mut x = d("GL0803", *span, format!("`{v}` is not a CSP keyword"))
                    .label("unknown keyword");
                x = match super::did_you_mean(&l, KEYWORDS.iter().copied()) {
                    Some(s) => x.help(format!("did you mean `{s}`?")),
                    None => x.help(
                        "keywords are 'self', 'none', 'strict-dynamic', 'nonce', 'sha256-...', ...",
                    ),
                };
                out.push(x);
                continue;
            }
            if name == "frame-ancestors" && !matches!(l.as_str(), "'self'" | "'none'") {
                out.push(
                    d("GL0832", *span, format!("`{v}` in frame-ancestors"))
                        .label("frame-ancestors takes origins, 'self' and 'none' only")
                        .help("remove it"),
                );
            }
            if l == "'unsafe-inline'" && name.starts_with("style-src") {
                out.push(
                    d("GL0836", *span, "'unsafe-inline' in style-src")
                        .label("injected styles can exfiltrate data")
                        .help("use a nonce or hashes for styles"),
                );
            }
            if l == "'wasm-unsafe-eval'" {
                out.push(
                    d(
                        "GL0837",
                        *span,
                        "'wasm-unsafe-eval' allows compiling WebAssembly",
                    )
                    .label("needed only by pages that run WebAssembly")
                    .help("keep it only where WebAssembly runs"),
                );
            }
            continue;
        }
        if *v == "*" || is_scheme_source(v) || is_host_source(v) {
            continue;
        }
        out.push(
            d("GL0840", *span, format!("`{v}` is not a source expression"))
                .label("expected a host, a scheme such as `https:`, or a quoted keyword")
                .help("write hosts as `cdn.example.com` or `https://cdn.example.com/path/`"),
        );
    }
}
