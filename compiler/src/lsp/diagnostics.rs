//! The compiler's diagnostics as the protocol's: the same codes, severities, spans and
//! messages as `guestlist check` (the help and notes follow the message on lines of their
//! own), secondary labels as related information, and a link to the code's entry in
//! spec/diagnostics.md. Also the explanation of a code (its entry's text), for hover.

use std::collections::BTreeMap;

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    Uri,
};

use super::position::{Encoding, Lines};
use crate::diag::{Diagnostic, Severity};
use crate::source::SourceMap;

/// spec/diagnostics.md: every code's entry, read when the compiler is built.
const SPEC: &str = include_str!("../../../spec/diagnostics.md");

/// The project's repository (Cargo.toml's `repository`).
const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");

/// The heading line of `code`'s entry (`### GL0204: path, query, ... (error, ...)`), without
/// the `### `.
fn heading(code: &str) -> Option<&'static str> {
    SPEC.lines()
        .filter_map(|l| l.strip_prefix("### "))
        .find(|h| h.strip_prefix(code).is_some_and(|r| r.starts_with(':')))
}

/// The anchor GitHub gives a heading: lowercase, punctuation other than `-` and `_`
/// dropped, each space a `-`.
pub(crate) fn slug(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The link to `code`'s entry in spec/diagnostics.md.
pub(crate) fn href(code: &str) -> Option<Uri> {
    let anchor = slug(heading(code)?);
    format!("{REPOSITORY}/blob/main/spec/diagnostics.md#{anchor}")
        .parse()
        .ok()
}

/// `code`'s entry in spec/diagnostics.md: its heading and text, up to the next heading.
pub(crate) fn explanation(code: &str) -> Option<String> {
    let head = heading(code)?;
    let start = SPEC.find(head)?;
    let body = SPEC.get(start + head.len()..)?;
    let end = body.find("\n#").unwrap_or(body.len());
    Some(format!(
        "**{}**\n{}",
        head,
        body.get(..end).unwrap_or("").trim_end()
    ))
}

/// The protocol's severity for one of the compiler's.
fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Note => DiagnosticSeverity::INFORMATION,
    }
}

/// What the message says: the check's message, then its label, notes and help on lines of
/// their own.
fn message(d: &Diagnostic) -> String {
    let mut m = d.message.clone();
    if !d.label.is_empty() {
        m.push('\n');
        m.push_str(&d.label);
    }
    for n in &d.notes {
        m.push_str("\nnote: ");
        m.push_str(n);
    }
    if let Some(h) = &d.help {
        m.push_str("\nhelp: ");
        m.push_str(h);
    }
    m
}

/// One diagnostic in the protocol's terms (`uris`: each file's URI, by file id).
pub(crate) fn convert(
    sources: &SourceMap,
    uris: &[Uri],
    d: &Diagnostic,
    enc: Encoding,
) -> lsp_types::Diagnostic {
    let range = |span: crate::Span| match sources.get(span.file) {
        Some(f) => Lines::of(f).range(span.start as usize, span.end as usize, enc),
        None => lsp_types::Range::default(),
    };
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: Location::new(uris.get(l.span.file.0 as usize)?.clone(), range(l.span)),
                message: l.text.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: range(d.span),
        severity: Some(severity(d.severity)),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: href(d.code).map(|href| CodeDescription { href }),
        source: Some("guestlist".into()),
        message: message(d),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// Every file's diagnostics, by URI; every file of the policy has an entry, empty when it has
/// none (which clears what was published for it before).
pub(crate) fn by_file(
    sources: &SourceMap,
    uris: &[Uri],
    diags: &[Diagnostic],
    enc: Encoding,
) -> BTreeMap<String, Vec<lsp_types::Diagnostic>> {
    let mut out: BTreeMap<String, Vec<lsp_types::Diagnostic>> = uris
        .iter()
        .map(|u| (u.as_str().to_string(), Vec::new()))
        .collect();
    for d in diags {
        if let Some(uri) = uris.get(d.span.file.0 as usize) {
            out.entry(uri.as_str().to_string())
                .or_default()
                .push(convert(sources, uris, d, enc));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code has an entry, and its link's anchor is GitHub's for the entry's heading.
    #[test]
    fn every_code_links_to_its_entry() {
        for info in crate::diag::codes::ALL {
            let h = heading(info.code).unwrap_or_else(|| panic!("no entry for {}", info.code));
            let link = href(info.code).unwrap();
            assert!(link.as_str().ends_with(&format!("#{}", slug(h))));
            assert!(explanation(info.code).unwrap().contains(info.code));
        }
        assert_eq!(
            slug("GL0202: `null` origin (error, lowerable)"),
            "gl0202-null-origin-error-lowerable"
        );
        assert_eq!(
            href("GL0204").unwrap().as_str(),
            format!("{REPOSITORY}/blob/main/spec/diagnostics.md#gl0204-path-query-fragment-or-trailing-slash-error-machine-applicable-fix")
        );
    }
}
