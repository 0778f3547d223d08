//! The file format of a set supplied at run time (spec/language.md, "Sets supplied at run
//! time"): one entry per line, `ORIGIN` or `ORIGIN KEY`; `#` starts a comment (a whole line or
//! the rest of one); blank lines are skipped; `\r\n` line ends and a UTF-8 byte order mark are
//! accepted. At most [`MAX_FILE_BYTES`] bytes and [`MAX_ENTRIES`] entries; reading stops one
//! byte past the limit, so memory stays bounded whatever the file holds.

use std::io::Read;

/// The largest file read (16 MiB).
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// The most entries one file may hold.
pub const MAX_ENTRIES: usize = 1_000_000;

/// The most malformed lines reported one by one; the rest are counted in one
/// [`FileError::MoreLines`], so the errors of a file of bad lines take bounded memory.
pub const MAX_LINE_ERRORS: usize = 100;

/// One entry of a file, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The line it is on, from 1.
    pub line: usize,
    /// The origin, as written.
    pub origin: String,
    /// The key after it, when there is one.
    pub key: Option<String>,
}

/// Why a file cannot be read as entries: the whole file, or one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileError {
    /// Over [`MAX_FILE_BYTES`].
    TooLarge,
    /// Over [`MAX_ENTRIES`] entries.
    TooManyEntries,
    /// Line `line` is malformed (not UTF-8, or more than two words).
    Line {
        /// The line, from 1.
        line: usize,
        /// Why, as a sentence.
        why: String,
    },
    /// More malformed lines than [`MAX_LINE_ERRORS`]: those not reported one by one.
    MoreLines {
        /// The first of them, from 1.
        first: usize,
        /// How many there are.
        count: usize,
    },
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileError::TooLarge => write!(
                f,
                "the file is over {} MiB, the most a supplied set's file may hold",
                MAX_FILE_BYTES >> 20
            ),
            FileError::TooManyEntries => write!(
                f,
                "the file holds over {MAX_ENTRIES} entries, the most a supplied set may hold"
            ),
            FileError::Line { line, why } => write!(f, "line {line}: {why}"),
            FileError::MoreLines { first, count } => write!(
                f,
                "{count} more malformed line{}, from line {first} on",
                if *count == 1 { "" } else { "s" }
            ),
        }
    }
}

impl std::error::Error for FileError {}

/// Reads at most [`MAX_FILE_BYTES`] from `reader`, and one byte more, so that
/// [`parse_entries`] knows the file is larger; memory stays bounded whatever it holds.
pub fn read_bounded(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_FILE_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    reader.take(limit).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// [`read_bounded`], then [`parse_entries`]; an I/O error is returned as is.
pub fn read_entries(reader: impl Read) -> std::io::Result<(Vec<FileEntry>, Vec<FileError>)> {
    Ok(parse_entries(&read_bounded(reader)?))
}

/// The malformed lines of a file: the first [`MAX_LINE_ERRORS`] one by one, then a count.
#[derive(Default)]
struct LineErrors {
    errors: Vec<FileError>,
    more: Option<(usize, usize)>,
}

impl LineErrors {
    fn push(&mut self, line: usize, why: &str) {
        if self.errors.len() < MAX_LINE_ERRORS {
            self.errors.push(FileError::Line {
                line,
                why: why.into(),
            });
        } else {
            let (_, count) = self.more.get_or_insert((line, 0));
            *count += 1;
        }
    }

    fn finish(self) -> Vec<FileError> {
        let mut errors = self.errors;
        if let Some((first, count)) = self.more {
            errors.push(FileError::MoreLines { first, count });
        }
        errors
    }
}

/// Parses a file's bytes: the entries of its good lines, and its malformed lines (the first
/// [`MAX_LINE_ERRORS`] one by one, then one [`FileError::MoreLines`] counting the rest). A
/// file over [`MAX_FILE_BYTES`] or [`MAX_ENTRIES`] gives that one error and no entries.
pub fn parse_entries(bytes: &[u8]) -> (Vec<FileEntry>, Vec<FileError>) {
    if bytes.len() > MAX_FILE_BYTES {
        return (Vec::new(), vec![FileError::TooLarge]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut entries = Vec::new();
    let mut errors = LineErrors::default();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = std::str::from_utf8(raw) else {
            errors.push(line, "not UTF-8 text");
            continue;
        };
        let code = text.split('#').next().unwrap_or("");
        let mut words = code.split_ascii_whitespace();
        let Some(origin) = words.next() else {
            continue;
        };
        let key = words.next();
        if words.next().is_some() {
            errors.push(
                line,
                "an entry is `ORIGIN` or `ORIGIN KEY`: more than two words",
            );
            continue;
        }
        if text.contains(|c: char| c.is_control() && c != '\t') {
            errors.push(line, "holds a control character");
            continue;
        }
        if entries.len() == MAX_ENTRIES {
            return (Vec::new(), vec![FileError::TooManyEntries]);
        }
        entries.push(FileEntry {
            line,
            origin: origin.to_string(),
            key: key.map(str::to_string),
        });
    }
    (entries, errors.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &[u8]) -> Vec<(usize, String, Option<String>)> {
        let (entries, errors) = parse_entries(text);
        assert!(errors.is_empty(), "{errors:?}");
        entries
            .into_iter()
            .map(|e| (e.line, e.origin, e.key))
            .collect()
    }

    #[test]
    fn entries_comments_blank_lines_crlf_and_a_bom() {
        let text = b"\xEF\xBB\xBF# customers\r\nhttps://a.example.com tenant-a  # the first\r\n\r\n   \n\thttps://b.example.com\ttenant-b\nhttps://c.example.com#no key\n#https://d.example.com\n";
        assert_eq!(
            ok(text),
            [
                (2, "https://a.example.com".into(), Some("tenant-a".into())),
                (5, "https://b.example.com".into(), Some("tenant-b".into())),
                (6, "https://c.example.com".into(), None),
            ]
        );
        assert!(ok(b"").is_empty());
        assert!(ok(b"\n\n# only comments\n").is_empty());
    }

    #[test]
    fn malformed_lines_are_named_and_every_one_is_reported() {
        let (entries, err) = parse_entries(b"https://a.example.com\nhttps://b.example.com k extra\n\xff\xfe\nhttps://c\x01.example.com\n");
        // The good lines' entries are kept beside the errors.
        assert_eq!(entries.len(), 1);
        let lines: Vec<usize> = err
            .iter()
            .map(|e| match e {
                FileError::Line { line, .. } => *line,
                _ => 0,
            })
            .collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(err[0].to_string().starts_with("line 2: "));
    }

    #[test]
    fn malformed_lines_past_the_bound_are_counted_not_collected() {
        // A file of bad lines as large as a file may be: the first lines one by one, the rest
        // counted in one error.
        let bad = b"\xff\n".repeat(MAX_FILE_BYTES / 2);
        let (entries, err) = parse_entries(&bad);
        assert!(entries.is_empty());
        assert_eq!(err.len(), MAX_LINE_ERRORS + 1);
        let lines = MAX_FILE_BYTES / 2 + 1;
        // The last line, empty after the final line break, is blank.
        let total_bad = lines - 1;
        assert_eq!(
            err.last(),
            Some(&FileError::MoreLines {
                first: MAX_LINE_ERRORS + 1,
                count: total_bad - MAX_LINE_ERRORS,
            })
        );
        assert_eq!(
            err.last().map(ToString::to_string).as_deref(),
            Some(format!("{} more malformed lines, from line 101 on", total_bad - 100).as_str())
        );
        // Good lines among them are still read.
        let mut mixed = b"\xff\n".repeat(MAX_LINE_ERRORS + 1);
        mixed.extend_from_slice(b"https://a.example.com\n");
        let (entries, err) = parse_entries(&mixed);
        assert_eq!(entries.len(), 1);
        assert_eq!(
            err.last(),
            Some(&FileError::MoreLines {
                first: MAX_LINE_ERRORS + 1,
                count: 1
            })
        );
        assert_eq!(
            err.last().map(ToString::to_string).as_deref(),
            Some("1 more malformed line, from line 101 on")
        );
    }

    #[test]
    fn limits_are_enforced_with_bounded_memory() {
        // Binary data, a 10 MB line: refused line by line, never a panic.
        let mut binary = vec![0u8; 4096];
        binary.extend((0..=255u8).cycle().take(1 << 16));
        assert!(!parse_entries(&binary).1.is_empty());
        let long = format!("https://{}.example.com\n", "a".repeat(10 << 20));
        let (entries, errors) = parse_entries(long.as_bytes());
        assert_eq!(
            (entries.len(), errors.len()),
            (1, 0),
            "one long word is one entry"
        );
        // Over the byte limit: one error, and `read_entries` reads no further than one byte past.
        let big = std::io::repeat(b'\n').take((MAX_FILE_BYTES as u64) * 4);
        assert_eq!(
            read_entries(big).expect("reads"),
            (Vec::new(), vec![FileError::TooLarge])
        );
        // Over the entry limit.
        let many = "h\n".repeat(MAX_ENTRIES + 1);
        assert_eq!(
            parse_entries(many.as_bytes()),
            (Vec::new(), vec![FileError::TooManyEntries])
        );
    }
}
