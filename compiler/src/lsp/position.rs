//! Positions: byte offsets (the compiler's spans) to and from the protocol's line and
//! character, counted in the negotiated encoding: UTF-8 bytes when the client offers it, else
//! UTF-16 code units (the protocol's default).

use std::borrow::Cow;

use lsp_types::{Position, Range};

use crate::source::SourceFile;

/// How a position's `character` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Bytes of UTF-8.
    Utf8,
    /// UTF-16 code units.
    Utf16,
}

impl Encoding {
    /// The protocol's name for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf16 => "utf-16",
        }
    }

    /// The length of `s` in this encoding's units.
    fn units(self, s: &str) -> usize {
        match self {
            Encoding::Utf8 => s.len(),
            Encoding::Utf16 => s.encode_utf16().count(),
        }
    }

    /// The length of `c` in this encoding's units.
    fn char_units(self, c: char) -> usize {
        match self {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A text and where its lines start (after each `\n`, as the compiler's source map counts
/// them; a `\r` before it belongs to the line).
#[derive(Debug)]
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Cow<'a, [usize]>,
}

impl<'a> Lines<'a> {
    /// The lines of a text not in a source map.
    pub(crate) fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines {
            text,
            starts: Cow::Owned(starts),
        }
    }

    /// The lines of a loaded file (its line table is reused).
    pub(crate) fn of(file: &'a SourceFile) -> Lines<'a> {
        Lines {
            text: &file.text,
            starts: Cow::Borrowed(file.line_starts()),
        }
    }

    /// The byte range of line `line` (0-based), without its line break.
    fn line_range(&self, line: usize) -> Option<(usize, usize)> {
        let start = *self.starts.get(line)?;
        let end = self
            .starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let body = self.text.get(start..end).unwrap_or("");
        let body = body.strip_suffix('\n').unwrap_or(body);
        let body = body.strip_suffix('\r').unwrap_or(body);
        Some((start, start + body.len()))
    }

    /// The position of byte `offset` (clamped to the text, and back to a character's start).
    pub(crate) fn position(&self, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0);
        let col = self.text.get(start..offset).map_or(0, |s| enc.units(s));
        Position::new(to_u32(line), to_u32(col))
    }

    /// The range of bytes `start..end`.
    pub(crate) fn range(&self, start: usize, end: usize, enc: Encoding) -> Range {
        Range::new(
            self.position(start, enc),
            self.position(end.max(start), enc),
        )
    }

    /// The range of the whole text.
    pub(crate) fn whole(&self, enc: Encoding) -> Range {
        self.range(0, self.text.len(), enc)
    }

    /// The byte offset of `pos`; `None` for a line past the end. A character past the end of
    /// its line means the line's end (as the protocol says); one inside a character (half a
    /// surrogate pair, a byte inside a UTF-8 sequence) means that character's start.
    pub(crate) fn offset(&self, pos: Position, enc: Encoding) -> Option<usize> {
        let (start, end) = self.line_range(pos.line as usize)?;
        let want = pos.character as usize;
        let mut units = 0;
        for (i, c) in self.text.get(start..end)?.char_indices() {
            let next = units + enc.char_units(c);
            if next > want {
                return Some(start + i);
            }
            units = next;
        }
        Some(end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_ascii_lines_count_in_either_encoding() {
        // `é` is 2 bytes and 1 UTF-16 unit; `𝄞` is 4 bytes and 2 UTF-16 units.
        let text = "# é𝄞x\r\nab\n";
        let lines = Lines::new(text);
        let x = text.find('x').unwrap();
        assert_eq!(lines.position(x, Encoding::Utf8), Position::new(0, 8));
        assert_eq!(lines.position(x, Encoding::Utf16), Position::new(0, 5));
        assert_eq!(lines.offset(Position::new(0, 8), Encoding::Utf8), Some(x));
        assert_eq!(lines.offset(Position::new(0, 5), Encoding::Utf16), Some(x));
        // Half a surrogate pair, or a byte inside `𝄞`, is the character's start.
        let clef = text.find('𝄞').unwrap();
        assert_eq!(
            lines.offset(Position::new(0, 4), Encoding::Utf16),
            Some(clef)
        );
        assert_eq!(
            lines.offset(Position::new(0, 6), Encoding::Utf8),
            Some(clef)
        );
        // Past the end of a line: the line's end, before `\r\n`; past the last line: none.
        assert_eq!(
            lines.offset(Position::new(0, 99), Encoding::Utf16),
            Some(x + 1)
        );
        assert_eq!(
            lines.offset(Position::new(1, 1), Encoding::Utf16),
            Some(x + 4)
        );
        assert_eq!(
            lines.offset(Position::new(2, 0), Encoding::Utf16),
            Some(text.len())
        );
        assert_eq!(lines.offset(Position::new(3, 0), Encoding::Utf16), None);
        // An offset inside a character is its start.
        assert_eq!(
            lines.position(clef + 1, Encoding::Utf16),
            Position::new(0, 3)
        );
    }
}
