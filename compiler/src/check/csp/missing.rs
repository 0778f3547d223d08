//! The lints of missing directives: no object-src or script-src, nonces or hashes without
//! base-uri (CSP Evaluator's MISSING_DIRECTIVES), no require-trusted-types-for, and the
//! directives default-src does not cover. Built on `grammar`.

use super::grammar::{d, is_nonce_or_hash, Directives, OTHER_SL};
use crate::diag::Diagnostic;
use crate::ir::NONCE;
use crate::source::Span;

/// The lints of the directives one policy lacks, reported at its block's head.
pub(super) fn check(dirs: &Directives<'_>, head: Span, out: &mut Vec<Diagnostic>) {
    let get = |n: &str| dirs.get(n);
    // The effective script directive: script-src, else default-src.
    let script = get("script-src").or_else(|| get("default-src"));
    let object = get("object-src").or_else(|| get("default-src"));
    let has_nonce = dirs.list.iter().any(|x| {
        x.values.iter().any(|(v, _)| {
            v.eq_ignore_ascii_case(NONCE) || v.to_ascii_lowercase().starts_with("'nonce-")
        })
    });
    let has_hash = dirs.list.iter().any(|x| {
        x.values
            .iter()
            .any(|(v, _)| is_nonce_or_hash(v) && !v.eq_ignore_ascii_case(NONCE))
    });

    // GL0809/0810/0811: missing directives.
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
    // GL0825: no Trusted Types.
    if get("require-trusted-types-for").is_none() {
        out.push(
            d("GL0825", head, "no require-trusted-types-for 'script'")
                .label("DOM XSS sinks accept strings")
                .help("add `require-trusted-types-for 'script'` once the app uses Trusted Types"),
        );
    }
    // GL0833: the directives default-src does not cover.
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
