//! Diagnostics: one data type for every stage (load, parse, check, and what an output refuses),
//! rendered as text by [`render`].
//!
//! Stages never stop at the first problem: each returns its result together with a
//! `Vec<Diagnostic>`. Codes are stable and documented in `spec/diagnostics.md`; the table in
//! [`codes`] is the single list (a test checks that the spec documents every code).

pub mod codes;
pub mod render;

use crate::source::Span;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Purely informative: the policy works, but here is a fact worth knowing.
    Note,
    /// Probably a mistake; `check --deny warnings` fails on it.
    Warning,
    /// The policy is rejected.
    Error,
}

impl Severity {
    /// `error`, `warning` or `note`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A secondary location with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What it says.
    pub text: String,
}

/// A machine-applicable replacement (`check --fix` applies it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// The text to replace.
    pub span: Span,
    /// The replacement.
    pub replacement: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Severity (after any `dangerously-allow` opt-out).
    pub severity: Severity,
    /// Stable code, `GLnnnn`.
    pub code: &'static str,
    /// Lowercase, no trailing period: what is wrong.
    pub message: String,
    /// The primary location.
    pub span: Span,
    /// Text under the primary location.
    pub label: String,
    /// Secondary locations.
    pub secondary: Vec<Label>,
    /// What to write instead.
    pub help: Option<String>,
    /// Extra facts (`= note: ...`).
    pub notes: Vec<String>,
    /// A certain fix.
    pub fix: Option<Fix>,
}

impl Diagnostic {
    /// A diagnostic with the code's default severity.
    pub(crate) fn new(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: codes::default_severity(code),
            code,
            message: message.into(),
            span,
            label: String::new(),
            secondary: Vec::new(),
            help: None,
            notes: Vec::new(),
            fix: None,
        }
    }

    /// Sets the text under the primary span.
    pub(crate) fn label(mut self, text: impl Into<String>) -> Self {
        self.label = text.into();
        self
    }

    /// Adds a secondary label.
    pub(crate) fn secondary(mut self, span: Span, text: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Sets the help line.
    pub(crate) fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    /// Adds a note.
    pub(crate) fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    /// Sets a machine-applicable fix.
    pub(crate) fn fix(mut self, span: Span, replacement: impl Into<String>) -> Self {
        self.fix = Some(Fix {
            span,
            replacement: replacement.into(),
        });
        self
    }

    /// Overrides the severity.
    pub(crate) fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The fixes `check --fix` applies to the text of `file`, last first: each certain fix once,
/// leaving out one that overlaps a fix after it (the next run picks it up) or lies outside
/// the text. The language server's code actions offer the same ones.
#[cfg(feature = "cli")]
pub(crate) fn fixes_for<'a>(
    diags: &'a [Diagnostic],
    file: crate::source::FileId,
    text: &str,
) -> Vec<&'a Fix> {
    let mut fixes: Vec<&Fix> = diags
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|f| f.span.file == file)
        .collect();
    fixes.sort_by(|a, b| {
        (b.span.start, b.span.end, &b.replacement).cmp(&(a.span.start, a.span.end, &a.replacement))
    });
    fixes.dedup();
    let mut limit = u32::MAX;
    fixes.retain(|f| {
        let keep = f.span.end <= limit
            && text
                .get(f.span.start as usize..f.span.end as usize)
                .is_some();
        if keep {
            limit = f.span.start;
        }
        keep
    });
    fixes
}

/// Sorts diagnostics by file, position and code, and drops exact duplicates (the same finding
/// reached through two profiles).
pub(crate) fn normalize(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (a.span.file, a.span.start, a.code, &a.message).cmp(&(
            b.span.file,
            b.span.start,
            b.code,
            &b.message,
        ))
    });
    diags.dedup_by(|a, b| a.code == b.code && a.span == b.span && a.message == b.message);
}
