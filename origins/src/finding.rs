//! What a check reports: a plain value, free of any source map.

use std::ops::Range;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Probably a mistake; the origin is still usable.
    Warning,
    /// The origin is refused.
    Error,
}

/// One finding about one origin text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code, `GLnnnn` (documented in guestlist's `spec/diagnostics.md`).
    pub code: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Lowercase, no trailing period: what is wrong.
    pub message: String,
    /// Text under the primary location.
    pub label: String,
    /// The primary location: a byte range within the text checked. The whole text
    /// (`0..text.len()`) when the finding is about the entry as a whole.
    pub range: Range<usize>,
    /// Further locations within the text, each with its label.
    pub secondary: Vec<(Range<usize>, String)>,
    /// What to write instead.
    pub help: Option<String>,
    /// An extra fact.
    pub note: Option<String>,
    /// A certain fix: the canonical text that replaces the whole text checked.
    pub fix: Option<String>,
}

impl Finding {
    /// An error with `code` and `message` at `range`, with nothing else yet.
    pub(crate) fn error(
        code: &'static str,
        range: Range<usize>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            code,
            severity: Severity::Error,
            message: message.into(),
            label: String::new(),
            range,
            secondary: Vec::new(),
            help: None,
            note: None,
            fix: None,
        }
    }

    pub(crate) fn label(mut self, text: impl Into<String>) -> Self {
        self.label = text.into();
        self
    }

    pub(crate) fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    pub(crate) fn note(mut self, text: impl Into<String>) -> Self {
        self.note = Some(text.into());
        self
    }

    pub(crate) fn secondary(mut self, range: Range<usize>, text: impl Into<String>) -> Self {
        self.secondary.push((range, text.into()));
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
