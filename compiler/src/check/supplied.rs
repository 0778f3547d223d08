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
    any: bool,
    /// Their static origins and patterns, by host (a pattern's after its `*.`).
    by_host: std::collections::HashMap<&'p str, Vec<&'p guestlist_origins::Origin>>,
    /// All of them, for a supplied pattern (which may allow hosts below its own).
    all: Vec<&'p guestlist_origins::Origin>,
}

impl<'p> Beside<'p> {
    /// What the supplied entries of a set may not overlap: `any` when a policy naming the set
    /// allows `*`, and the static `origins` of those policies.
    pub(crate) fn new(any: bool, origins: Vec<&'p guestlist_origins::Origin>) -> Beside<'p> {
        let mut by_host: std::collections::HashMap<&str, Vec<&guestlist_origins::Origin>> =
            std::collections::HashMap::new();
        for o in &origins {
            by_host.entry(o.host.as_str()).or_default().push(o);
        }
        Beside {
            any,
            by_host,
            all: origins,
        }
    }

    /// The static origin `o` overlaps (one allowing an origin the other allows:
    /// [`guestlist_origins::overlap`], the runtime's rule too), as written in the policy. An
    /// exact entry can only meet statics on its host or a domain above it (a few lookups);
    /// a pattern is compared with every static one.
    fn overlap(&self, o: &guestlist_origins::Origin) -> Option<String> {
        if self.any {
            return Some("*".into());
        }
        let meets = |s: &&&guestlist_origins::Origin| guestlist_origins::overlap(s, o);
        let found = if o.is_pattern() {
            self.all.iter().find(meets)
        } else {
            guestlist_origins::host_and_domains(&o.host)
                .filter_map(|h| self.by_host.get(h))
                .find_map(|list| list.iter().find(meets))
        };
        found.map(|s| s.canonical.clone())
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
            FileError::MoreLines { first, count } => Diagnostic::new(
                "GL1405",
                line_span(first),
                format!(
                    "{count} more malformed line{} in a supplied file",
                    if count == 1 { "" } else { "s" }
                ),
            )
            .label(format!(
                "the first {} are shown one by one; this is the next",
                guestlist_origins::MAX_LINE_ERRORS
            ))
            .help("is this the right file? A supplied file holds one entry per line: `ORIGIN`, or `ORIGIN KEY` in a tenant-bound set"),
            other => Diagnostic::new("GL1406", Span::new(id, 0, 0), other.to_string())
                .label("the file is not read further")
                .help("split the set, or keep the file within the limits (16 MiB, 1,000,000 entries)"),
        });
    }
    let mut refused = Refused::default();
    // The accepted entries, with their origins and where they are.
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for e in parsed {
        let span = line_span(e.line);
        // The whole line when it was cut before the entry's end.
        let origin_span = text
            .get(span.start as usize..span.end as usize)
            .and_then(|l| l.find(&e.origin))
            .map_or(span, |at| span.sub(at, at + e.origin.len()));
        if let Err(why) = guestlist_origins::check_key(e.key.as_deref(), tenant_bound) {
            refused.push(
                e.line,
                [
                    Diagnostic::new("GL1405", span, "an entry whose key does not fit its set")
                        .label(why)
                        .help("write `ORIGIN KEY` in a tenant-bound set, `ORIGIN` in any other"),
                ],
            );
            continue;
        }
        if !seen.insert(e.origin.clone()) {
            refused.push(
                e.line,
                [
                    Diagnostic::new("GL1405", origin_span, "an entry listed twice")
                        .label("listed on an earlier line too")
                        .help("keep one line per origin"),
                ],
            );
            continue;
        }
        match guestlist_origins::check_supplied(&e.origin, context) {
            Ok(o) => {
                if let Some(s) = beside.overlap(&o) {
                    refused.push(e.line, [
                        Diagnostic::new(
                            "GL1408",
                            origin_span,
                            format!("a supplied entry overlapping the static origin `{s}`"),
                        )
                        .label("a cors policy naming this set allows it, or it allows that origin, already")
                        .help("remove the line, or the static origin: an origin is either in the policy or supplied, so that removing it from one place removes it"),
                    ]);
                    continue;
                }
                accepted.push(Accepted {
                    origin: o,
                    key: e.key,
                    line: e.line,
                    span: origin_span,
                });
            }
            Err(findings) => {
                let len = e.origin.len();
                // No fix: `check --fix` rewrites policy files, never a supplied file.
                refused.push(
                    e.line,
                    findings.into_iter().map(|f| {
                        let mut d = diagnostic(f, len, origin_span);
                        d.fix = None;
                        d
                    }),
                );
            }
        }
    }
    let overlapping = if tenant_bound {
        tenants_overlapping(&accepted)
    } else {
        Vec::new()
    };
    let mut out = vec![false; accepted.len()];
    for (i, j) in overlapping {
        let (Some(a), Some(b)) = (accepted.get(i), accepted.get(j)) else {
            continue;
        };
        if let Some(o) = out.get_mut(j) {
            *o = true;
        }
        refused.push(
            b.line,
            [Diagnostic::new(
                "GL1409",
                b.span,
                format!(
                    "a supplied entry overlapping `{}` of another tenant (line {})",
                    a.origin.canonical, a.line
                ),
            )
            .label(format!(
                "key `{}` here, `{}` there: which tenant a host they both allow belongs to would depend on lookup order",
                b.key.as_deref().unwrap_or(""),
                a.key.as_deref().unwrap_or("")
            ))
            .help("give both lines the same key, or remove one: a host belongs to one tenant")],
        );
    }
    diags.extend(refused.finish(&line_span));
    let entries = accepted
        .into_iter()
        .zip(out)
        .filter(|(_, out)| !out)
        .map(|(a, _)| {
            (
                guestlist::SuppliedEntry {
                    origin: a.origin.canonical,
                    key: a.key,
                },
                a.line,
            )
        })
        .collect();
    (entries, diags)
}

/// An entry of a supplied file that passed its own checks.
struct Accepted {
    origin: guestlist_origins::Origin,
    key: Option<String>,
    line: usize,
    span: Span,
}

/// The pairs `(i, j)` of `entries` (indices, `i` on the earlier line) whose keys differ and
/// which allow a common origin ([`guestlist_origins::tenant_overlaps`], the runtime's rule
/// too), at most one for each `j`: the entries refused, each beside the entry it overlaps.
fn tenants_overlapping(entries: &[Accepted]) -> Vec<(usize, usize)> {
    let pairs: Vec<(&guestlist_origins::Origin, Option<&str>)> = entries
        .iter()
        .map(|e| (&e.origin, e.key.as_deref()))
        .collect();
    guestlist_origins::tenant_overlaps(&pairs)
}

/// The entries of a file refused: the first [`MAX_REFUSED`] with their findings, then a count.
#[derive(Default)]
struct Refused {
    diags: Vec<Diagnostic>,
    shown: usize,
    /// The earliest line of those not shown, and how many they are.
    more: Option<(usize, usize)>,
}

/// The most refused entries of one file whose findings are shown; the rest are counted in one
/// GL1405 error, so a file of bad entries gives bounded output.
const MAX_REFUSED: usize = guestlist_origins::MAX_LINE_ERRORS;

impl Refused {
    fn push(&mut self, line: usize, diags: impl IntoIterator<Item = Diagnostic>) {
        if self.shown < MAX_REFUSED {
            self.shown += 1;
            self.diags.extend(diags);
        } else {
            let (first, count) = self.more.get_or_insert((line, 0));
            *first = (*first).min(line);
            *count += 1;
        }
    }

    fn finish(self, line_span: &dyn Fn(usize) -> Span) -> Vec<Diagnostic> {
        let mut diags = self.diags;
        if let Some((first, count)) = self.more {
            diags.push(
                Diagnostic::new(
                    "GL1405",
                    line_span(first),
                    format!(
                        "{count} more refused entr{} in a supplied file",
                        if count == 1 { "y" } else { "ies" }
                    ),
                )
                .label(format!(
                    "the findings of the first {MAX_REFUSED} are shown one by one; this is the first of the rest"
                ))
                .help("fix the entries shown and check the file again"),
            );
        }
        diags
    }
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
