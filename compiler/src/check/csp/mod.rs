//! CSP lints: every finding of Google's CSP Evaluator (default and strict-CSP checks, with the
//! allowlist-bypass lists of `csp_evaluator@1.1.8`) plus the spec-backed lints of
//! `spec/diagnostics.md`, "CSP". Severities follow the Evaluator's: HIGH and SYNTAX are errors
//! (HIGH ones can be lowered with `dangerously-allow`), MEDIUM and the *_MAYBE ones warnings,
//! STRICT_CSP and INFO notes. The table mapping each Evaluator finding to its code is in the
//! spec; each has a test in `spec/diagnostics/cases`.
//!
//! The lints come in families, one file each, on top of `grammar` (what CSP's grammar knows):
//! `syntax` (names and values; what passes is what the others read), `script`, `missing`
//! (directives a policy lacks), `allowlist` (known bypasses and other host sources), `strict`
//! and `reporting`.

mod allowlist;
mod grammar;
mod missing;
mod reporting;
mod script;
mod strict;
mod syntax;

use self::grammar::d;
use crate::diag::Diagnostic;
use crate::ir::{CspLine, Entry};
use crate::source::Span;

/// Every directive CSP's grammar knows (fetch directives first), and the source keywords.
#[cfg(feature = "cli")]
pub(crate) fn directives() -> (Vec<&'static str>, &'static [&'static str]) {
    let names = grammar::FETCH
        .iter()
        .chain(grammar::OTHER_SL)
        .chain(grammar::OTHER)
        .copied()
        .collect();
    (names, grammar::KEYWORDS)
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
    let dirs = syntax::directives(lines, &mut out);
    for dir in &dirs.list {
        syntax::value_checks(dir, &mut out);
    }
    script::check(&dirs, &mut out);
    missing::check(&dirs, head, &mut out);
    allowlist::check(&dirs, &mut out);
    strict::check(&dirs, &mut out);
    reporting::check(&dirs, head, report_only, endpoints, &mut out);
    out
}
