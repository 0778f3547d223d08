//! The file of a set supplied at run time (`--origins NAME=FILE`): every line read
//! (`guestlist-origins`' file format), every entry checked as an origin written in the policy
//! is, in the strictest context the policy uses the set in; each finding at its file, line and
//! column.

use std::path::Path;

use guestlist_origins::{Context, FileError};

use super::origin::diagnostic;
use crate::diag::Diagnostic;
use crate::source::{SourceMap, Span};

/// What a supplied entry may not overlap: the static origins of the cors policies naming the
/// set ([`Program::static_origins_beside`](crate::ir::Program::static_origins_beside)).
pub(crate) struct Beside<'p> {
    /// One of those policies allows `*`.
    pub(crate) any: bool,
    /// Their static origins and patterns.
    pub(crate) origins: Vec<&'p guestlist_origins::Origin>,
}

impl Beside<'_> {
    /// The static origin `o` overlaps (equal to it, allowed by it, or a pattern `o` covers),
    /// as written in the policy.
    fn overlap(&self, o: &guestlist_origins::Origin) -> Option<String> {
        if self.any {
            return Some("*".into());
        }
        self.origins
            .iter()
            .find(|s| s.canonical == o.canonical || s.covers(o) || o.covers(s))
            .map(|s| s.canonical.clone())
    }
}

/// Checks the file `name` (`bytes`, at most `guestlist_origins::MAX_FILE_BYTES` of them, or
/// one more when it is larger) for a set whose entries carry a key exactly when
/// `tenant_bound`: the good entries with their lines, and the findings. The file joins
/// `sources`, so findings render with their line.
pub(crate) fn check_file(
    sources: &mut SourceMap,
    name: &str,
    path: &Path,
    bytes: &[u8],
    context: Context,
    tenant_bound: bool,
    beside: &Beside<'_>,
) -> (Vec<(guestlist::SuppliedEntry, usize)>, Vec<Diagnostic>) {
    let text = shown_text(bytes);
    let id = sources.add(name, path, text.clone());
    let starts: Vec<usize> = sources
        .get(id)
        .map(|f| f.line_starts().to_vec())
        .unwrap_or_default();
    // Line `line` (from 1) without its line break.
    let line_span = |line: usize| -> Span {
        let start = starts.get(line.saturating_sub(1)).copied().unwrap_or(0);
        let end = starts.get(line).copied().unwrap_or(text.len());
        let body = text.get(start..end).unwrap_or("");
        let len = body.trim_end_matches(['\n', '\r']).len();
        Span::new(id, start, start + len)
    };
    let mut diags = Vec::new();
    let (parsed, errors) = guestlist_origins::parse_entries(bytes);
    for e in errors {
        diags.push(match e {
            FileError::Line { line, why } => {
                Diagnostic::new("GL1405", line_span(line), "a malformed line in a supplied file")
                    .label(why)
                    .help("write one entry per line: `ORIGIN`, or `ORIGIN KEY` in a tenant-bound set; `#` starts a comment")
            }
            other => Diagnostic::new("GL1406", Span::new(id, 0, 0), other.to_string())
                .label("the file is not read further")
                .help("split the set, or keep the file within the limits (16 MiB, 1,000,000 entries)"),
        });
    }
    let mut entries = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in parsed {
        let span = line_span(e.line);
        // The whole line when it was cut before the entry's end.
        let origin_span = text
            .get(span.start as usize..span.end as usize)
            .and_then(|l| l.find(&e.origin))
            .map_or(span, |at| span.sub(at, at + e.origin.len()));
        if let Err(why) = guestlist_origins::check_key(e.key.as_deref(), tenant_bound) {
            diags.push(
                Diagnostic::new("GL1405", span, "an entry whose key does not fit its set")
                    .label(why)
                    .help("write `ORIGIN KEY` in a tenant-bound set, `ORIGIN` in any other"),
            );
            continue;
        }
        if !seen.insert(e.origin.clone()) {
            diags.push(
                Diagnostic::new("GL1405", origin_span, "an entry listed twice")
                    .label("listed on an earlier line too")
                    .help("keep one line per origin"),
            );
            continue;
        }
        match guestlist_origins::check_supplied(&e.origin, context) {
            Ok(o) => {
                if let Some(s) = beside.overlap(&o) {
                    diags.push(
                        Diagnostic::new(
                            "GL1408",
                            origin_span,
                            format!("a supplied entry overlapping the static origin `{s}`"),
                        )
                        .label("a cors policy naming this set allows it, or it allows that origin, already")
                        .help("remove the line, or the static origin: an origin is either in the policy or supplied, so that removing it from one place removes it"),
                    );
                    continue;
                }
                entries.push((
                    guestlist::SuppliedEntry {
                        origin: e.origin,
                        key: e.key,
                    },
                    e.line,
                ));
            }
            Err(findings) => {
                let len = e.origin.len();
                // No fix: `check --fix` rewrites policy files, never a supplied file.
                diags.extend(findings.into_iter().map(|f| {
                    let mut d = diagnostic(f, len, origin_span);
                    d.fix = None;
                    d
                }));
            }
        }
    }
    (entries, diags)
}

/// The most bytes of one line that diagnostics show: no entry and key take more, so a longer
/// line is refused whatever it holds, and shown cut.
const SHOWN_LINE: usize = 2 * guestlist_origins::MAX_ENTRY_BYTES;

/// The file's text as diagnostics show it: each line cut after [`SHOWN_LINE`] bytes (marked
/// `…`), so a 10 MB line is not echoed whole; line numbers stay those of the file.
fn shown_text(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len().min(1 << 20));
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        match line.get(..SHOWN_LINE) {
            Some(start) if line.len() > SHOWN_LINE => {
                out.extend_from_slice(start);
                out.extend_from_slice("…".as_bytes());
            }
            _ => out.extend_from_slice(line),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
