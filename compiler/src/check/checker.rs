//! The bottom of the checker: the [`Checker`] every pass works on (the program being built,
//! the findings, what the opt-outs lowered), and how every block reads its lines: settings,
//! `when`, entries, "did you mean", a setting given twice.

use std::collections::BTreeSet;

use crate::ast::{self, split_when, Value};
use crate::diag::Diagnostic;
use crate::ir::{active, Cond, Entry, Program, When};
use crate::source::Span;

/// What the passes have built and found so far.
#[derive(Default)]
pub(super) struct Checker {
    /// The typed declarations.
    pub(super) program: Program,
    /// Every finding.
    pub(super) diags: Vec<Diagnostic>,
    /// Opt-outs that lowered something, by span.
    pub(super) used_optouts: BTreeSet<Span>,
    /// `profile NAME` lines of tests, checked once every `when` is known.
    pub(super) pending_profiles: Vec<(String, Span)>,
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

/// The candidate closest to `word`, when it is close enough to be a typo of it.
pub(super) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min()
        .map(|(_, c)| c)
}

/// GL0104 for a setting a `block` block does not take, with the closest one it does.
pub(super) fn unknown_setting(key: &Value, block: &str, known: &[&str]) -> Diagnostic {
    let mut d = Diagnostic::new(
        "GL0104",
        key.span,
        format!("unknown setting `{}` in a {block} block", key.text),
    )
    .label("unknown setting");
    d = match did_you_mean(&key.text, known.iter().copied()) {
        Some(s) => d.help(format!("did you mean `{s}`?")),
        None => d.help(format!("a {block} block takes: {}", known.join(", "))),
    };
    d
}

/// One setting line of a block body, split the way every block reads it.
pub(super) struct Setting<'b> {
    /// The setting's name (the line's first value).
    pub(super) key: &'b Value,
    /// The values after the name, without a trailing `when NAME`.
    pub(super) vals: &'b [Value],
    /// The whole line.
    pub(super) lspan: Span,
    /// The line's `when`.
    pub(super) cond: Cond,
}

/// The non-empty lines of a block body as settings.
pub(super) fn settings(lines: &[ast::Line]) -> impl Iterator<Item = Setting<'_>> {
    lines.iter().filter_map(|line| {
        let key = line.values.first()?;
        let (vals, lw) = split_when(line.values.get(1..).unwrap_or(&[]));
        Some(Setting {
            key,
            vals,
            lspan: line_span(&line.values, line.span),
            cond: when_of(lw),
        })
    })
}

/// A line's span, from its first value to its last (`fallback` for an empty line).
pub(super) fn line_span(values: &[Value], fallback: Span) -> Span {
    match (values.first(), values.last()) {
        (Some(a), Some(b)) => a.span.to(b.span),
        _ => fallback,
    }
}

/// A block's or a line's `when PROFILE`, as a condition.
pub(super) fn when_of(w: Option<&Value>) -> Cond {
    w.map(|v| When {
        profile: v.text.clone(),
        span: v.span,
    })
}

/// An entry of a setting: its value, where it was written, and its `when`.
pub(super) fn mk<T>(value: T, span: Span, line: Span, when: &Cond) -> Entry<T> {
    Entry {
        value,
        span,
        line,
        when: when.clone(),
    }
}

/// A setting that takes one of two words: `Some(true)` for `yes`, `Some(false)` for `no`;
/// GL0104 otherwise.
pub(super) fn choice(
    vals: &[Value],
    key: &Value,
    lspan: Span,
    yes: &str,
    no: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<(bool, Span)> {
    match vals {
        [v] if v.is_word(yes) => Some((true, v.span)),
        [v] if v.is_word(no) => Some((false, v.span)),
        _ => {
            diags.push(
                Diagnostic::new(
                    "GL0104",
                    lspan,
                    format!("`{}` takes `{yes}` or `{no}`", key.text),
                )
                .label(format!("expected `{yes}` or `{no}`"))
                .help(format!("write `{} {yes}` or `{} {no}`", key.text, key.text)),
            );
            None
        }
    }
}

impl Checker {
    /// The entries of a setting that may be given once, active in `profile`; a second one is
    /// GL0105.
    pub(super) fn singular<'e, T>(
        &mut self,
        entries: &'e [Entry<T>],
        profile: &str,
        what: &str,
    ) -> Vec<&'e Entry<T>> {
        let active: Vec<&Entry<T>> = entries
            .iter()
            .filter(|e| active(&e.when, profile))
            .collect();
        if let [first, rest @ ..] = active.as_slice() {
            for e in rest {
                self.diags.push(
                    Diagnostic::new("GL0105", e.span, format!("`{what}` is set twice"))
                        .label("second setting")
                        .secondary(first.span, "first set here")
                        .help("keep one; to vary it by profile, give each a different `when`"),
                );
            }
        }
        active
    }
}
