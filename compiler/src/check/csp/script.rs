//! The script lints (CSP Evaluator): `'unsafe-inline'`, `'unsafe-hashes'` and
//! `'unsafe-eval'` in script directives, and plain schemes and wildcards in script, object
//! and base directives. Built on `grammar`.

use super::grammar::{d, scheme_free, Dir, Directives};
use crate::diag::Diagnostic;
use crate::source::Span;

/// The script lints of one policy's directives.
pub(super) fn check(dirs: &Directives<'_>, out: &mut Vec<Diagnostic>) {
    let get = |n: &str| dirs.get(n);
    let object = get("object-src").or_else(|| get("default-src"));
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
}
