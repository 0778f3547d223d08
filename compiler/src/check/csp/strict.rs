//! The strict-CSP lints (CSP Evaluator's STRICT_CSP checks): a host allowlist without
//! `'strict-dynamic'`, `'strict-dynamic'` without a nonce or hash, and the fallbacks for
//! browsers that know neither nonces nor `'strict-dynamic'`. Built on `grammar`.

use super::grammar::{d, Directives};
use crate::diag::Diagnostic;

/// The strict-CSP lints of one policy's script directive (script-src, else default-src).
pub(super) fn check(dirs: &Directives<'_>, out: &mut Vec<Diagnostic>) {
    let script = dirs.get("script-src").or_else(|| dirs.get("default-src"));
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
}
