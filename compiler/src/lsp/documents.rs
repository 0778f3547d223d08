//! The open documents (full text, as the editor has it, saved or not) and the loader's view of
//! them: an open document's text replaces its file on disk, for the document itself and for
//! every policy that imports it. Every other file is read from disk exactly as `load` reads
//! it (regular files only, size and UTF-8 checked).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lsp_types::Uri;

use crate::load::{self, Disk, ReadError, Reader};

/// One open document.
#[derive(Debug)]
pub(crate) struct Document {
    /// Its URI, as the client sent it.
    pub uri: Uri,
    /// Its path, for a `file:` URI.
    pub path: Option<PathBuf>,
    /// The path with symlinks resolved, when it existed when the document was opened.
    pub key: Option<PathBuf>,
    /// The editor's text.
    pub text: String,
}

/// The open documents, by URI.
#[derive(Debug, Default)]
pub(crate) struct Documents {
    docs: BTreeMap<String, Document>,
}

impl Documents {
    /// Opens (or reopens) a document.
    pub(crate) fn open(&mut self, uri: Uri, text: String) {
        let path = path_of(uri.as_str());
        let key = path.as_deref().and_then(|p| std::fs::canonicalize(p).ok());
        self.docs.insert(
            uri.as_str().to_string(),
            Document {
                uri,
                path,
                key,
                text,
            },
        );
    }

    /// Replaces a document's text; `false` when it is not open.
    pub(crate) fn change(&mut self, uri: &str, text: String) -> bool {
        match self.docs.get_mut(uri) {
            Some(d) => {
                d.text = text;
                true
            }
            None => false,
        }
    }

    /// Closes a document.
    pub(crate) fn close(&mut self, uri: &str) -> Option<Document> {
        self.docs.remove(uri)
    }

    /// An open document.
    pub(crate) fn get(&self, uri: &str) -> Option<&Document> {
        self.docs.get(uri)
    }

    /// Whether no document is open.
    pub(crate) fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// The open document holding the file at `path` (as given, or with symlinks resolved).
    pub(crate) fn at_path(&self, path: &Path) -> Option<&Document> {
        let key = std::fs::canonicalize(path).ok();
        self.docs.values().find(|d| {
            d.path.as_deref() == Some(path) || (key.is_some() && (d.key == key || d.path == key))
        })
    }
}

/// The loader's reader: open documents first, then the disk.
pub(crate) struct Overlay<'a>(pub &'a Documents);

impl Reader for Overlay<'_> {
    fn read(&self, path: &Path) -> Result<Result<String, (&'static str, String)>, ReadError> {
        match self.0.at_path(path) {
            Some(d) => Ok(load::check_str(&d.text).map(|()| d.text.clone())),
            None => Disk.read(path),
        }
    }

    fn key(&self, path: &Path) -> PathBuf {
        // A document deleted on disk while open still has the key it was opened with.
        match self.0.at_path(path) {
            Some(Document { key: Some(k), .. }) => k.clone(),
            _ => Disk.key(path),
        }
    }
}

/// The path of a `file:` URI (`file:///a/b%20c` is `/a/b c`); `None` for other schemes, a
/// host other than `localhost`, or an escape that is not UTF-8.
pub(crate) fn path_of(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = rest.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(PathBuf::from)
}

/// The `file:` URI of an absolute path: every byte but the unreserved ones and `/` escaped.
pub(crate) fn uri_of(path: &Path) -> Option<Uri> {
    use std::fmt::Write;
    let text = path.to_str()?;
    let mut s = String::from("file://");
    if !text.starts_with('/') {
        s.push('/');
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_round_trip() {
        let p = Path::new("/tmp/a b/ü.policy");
        let u = uri_of(p).unwrap();
        assert_eq!(u.as_str(), "file:///tmp/a%20b/%C3%BC.policy");
        assert_eq!(path_of(u.as_str()).as_deref(), Some(p));
        assert_eq!(
            path_of("file://localhost/x").as_deref(),
            Some(Path::new("/x"))
        );
        assert_eq!(path_of("untitled:Untitled-1"), None);
        assert_eq!(path_of("file:///bad%zz"), None);
    }
}
