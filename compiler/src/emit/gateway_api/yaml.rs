//! The YAML writer: block style, two-space indents, every string double-quoted (so that no
//! value is read as a number, a boolean or `null`), written by hand so that the same policy
//! gives byte-identical files.

use std::fmt::Write as _;

/// A double-quoted YAML scalar. The values written are header names and values, origins,
/// paths and names: visible ASCII; anything else is escaped.
pub(super) fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

/// A YAML document being written line by line.
#[derive(Default)]
pub(super) struct Doc {
    text: String,
}

impl Doc {
    /// `indent` levels of two spaces, then `line`.
    pub(super) fn line(&mut self, indent: usize, line: &str) {
        for _ in 0..indent {
            self.text.push_str("  ");
        }
        self.text.push_str(line);
        self.text.push('\n');
    }

    /// `key:` followed by a block sequence of quoted strings (one per line, at `indent`).
    pub(super) fn list<'a>(
        &mut self,
        indent: usize,
        key: &str,
        items: impl IntoIterator<Item = &'a str>,
    ) {
        self.line(indent, &format!("{key}:"));
        for i in items {
            self.line(indent, &format!("- {}", q(i)));
        }
    }

    /// The text.
    pub(super) fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::q;

    #[test]
    fn quoting() {
        assert_eq!(q("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(q("null"), "\"null\"");
        assert_eq!(q("é"), "\"\\u00e9\"");
    }
}
