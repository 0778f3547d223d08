//! Origin literals: the checks of `guestlist-origins` (canonical form, fixes), reported as
//! diagnostics at the literal's span.

use guestlist_origins::Finding;

use crate::diag::{Diagnostic, Fix, Severity};
use crate::ir::Origin;
use crate::source::Span;

/// The result of analysing one origin literal: the origin when it is usable, and the findings.
#[derive(Debug, Default)]
pub struct Analysis {
    /// The origin, when there was no error (or only fixable ones were found, see `fix`).
    pub origin: Option<Origin>,
    /// Findings, each spanned inside the literal.
    pub diags: Vec<Diagnostic>,
}

/// Analyses the text of an origin literal; `span` is the text inside the quotes.
pub fn analyze(raw: &str, span: Span) -> Analysis {
    let a = guestlist_origins::analyze(raw);
    Analysis {
        origin: a.origin,
        diags: a
            .findings
            .into_iter()
            .map(|f| diagnostic(f, raw.len(), span))
            .collect(),
    }
}

/// A finding about a text of `len` bytes written at `span`: a finding about the whole text is
/// at `span`, one about a part of it at that part (offsets within `span`).
pub(crate) fn diagnostic(f: Finding, len: usize, span: Span) -> Diagnostic {
    let at = |r: &std::ops::Range<usize>| {
        if r.start == 0 && r.end == len {
            span
        } else {
            span.sub(r.start, r.end)
        }
    };
    let mut d = Diagnostic::new(f.code, at(&f.range), f.message)
        .label(f.label)
        .severity(match f.severity {
            guestlist_origins::Severity::Error => Severity::Error,
            guestlist_origins::Severity::Warning => Severity::Warning,
        });
    for (r, text) in &f.secondary {
        d = d.secondary(at(r), text.clone());
    }
    d.help = f.help;
    d.notes.extend(f.note);
    d.fix = f.fix.map(|replacement| Fix { span, replacement });
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::codes;
    use crate::source::FileId;

    fn run(raw: &str) -> Analysis {
        analyze(raw, Span::new(FileId(0), 10, 10 + raw.len()))
    }

    #[test]
    fn spans_and_fixes() {
        let raw = "HTTPS://App.example.com:443/x";
        let a = run(raw);
        let at = |code: &str| {
            let d = a.diags.iter().find(|d| d.code == code).unwrap();
            (d.span.start - 10, d.span.end - 10)
        };
        assert_eq!(at("GL0206"), (0, 5));
        assert_eq!(at("GL0208"), (23, 27));
        assert_eq!(at("GL0204"), (27, 29));
        for d in &a.diags {
            let fix = d.fix.as_ref().unwrap();
            assert_eq!(fix.span, Span::new(FileId(0), 10, 10 + raw.len()));
            assert_eq!(fix.replacement, "https://app.example.com");
        }
        let up = a.diags.iter().find(|d| d.code == "GL0206").unwrap();
        assert_eq!(up.secondary[0].span, Span::new(FileId(0), 18, 33));
        assert_eq!(up.notes.len(), 1);
        let whole = run("example.com");
        assert_eq!(whole.diags[0].span, Span::new(FileId(0), 10, 21));
    }

    #[test]
    fn supplied_codes_are_registered() {
        for code in [
            guestlist_origins::PATTERN_NOT_DECLARED,
            "GL0951",
            "GL0212",
            "GL0214",
        ] {
            assert!(codes::info(code).is_some(), "{code}");
        }
    }

    #[test]
    fn severities_agree_with_the_registry() {
        for raw in [
            "null",
            "example.com",
            "file:///x",
            "https://a.example.com/",
            "https://u@a.example.com",
            "https://A.example.com",
            "https://bücher.example",
            "https://a.example.com:443",
            "https://a.example.com:x",
            "https://*x.example.com",
            "http://[0::1]",
            "https://a..example.com",
        ] {
            let a = run(raw);
            assert!(!a.diags.is_empty(), "{raw}");
            for d in a.diags {
                assert_eq!(
                    d.severity,
                    codes::default_severity(d.code),
                    "{raw}: {}",
                    d.code
                );
            }
        }
    }
}
