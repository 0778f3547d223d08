//! Request paths: how the evaluator reads one (spec/language.md, "Path forms").
//!
//! A path is **structurally normal** when it holds no `%` escape, no `\`, no empty segment
//! (`//`) and no `.` or `..` segment. Such a path has one reading: itself. Every other path has
//! two:
//! - the **as-sent reading** is the path's bytes as sent: nothing decoded, merged or
//!   resolved. It is what a router that matches the raw path (axum, matchit, hyper) sees:
//!   `/%68ooks/x` is not `/hooks/x` to it;
//! - the **normalised reading** is nginx's (what `location` matches): cut at `?`/`#`, decode
//!   every escape, merge runs of `/`, remove `.` segments and resolve `..` segments.
//!
//! A path that cannot be read at all is invalid ([`PathError`]): it does not start with `/`,
//! holds a `%` not followed by two hex digits or a `%00`, climbs above the root with `..`, or is
//! longer than [`MAX_PATH`] bytes. nginx answers 400 to the same paths.

use crate::keyset::{bytes_eq, le_word};

/// The longest path (before decoding) that is read; longer paths are invalid.
pub const MAX_PATH: usize = 8192;

/// Why a path cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Does not start with `/`.
    NotAbsolute,
    /// A `%` not followed by two hex digits, or `%00`.
    BadPercentEncoding,
    /// `..` would climb above the root.
    AboveRoot,
    /// Longer than [`MAX_PATH`].
    TooLong,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::NotAbsolute => f.write_str("the path does not start with `/`"),
            PathError::BadPercentEncoding => {
                f.write_str("the path has a `%` not followed by two hex digits, or `%00`")
            }
            PathError::AboveRoot => f.write_str("the path's `..` segments climb above the root"),
            PathError::TooLong => write!(f, "the path is longer than {MAX_PATH} bytes"),
        }
    }
}

impl std::error::Error for PathError {}

/// A path, read: [`read_path`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathForm<'a> {
    /// Structurally normal: one reading, the path decoded.
    Normal(&'a [u8]),
    /// Not structurally normal: two readings.
    TwoReadings {
        /// The path as sent (cut at `?`/`#`): nothing decoded, merged or resolved.
        as_sent: &'a [u8],
        /// nginx's normal form.
        normalised: &'a [u8],
        /// The fully decoded path has a `.` or `..` segment, or a `\` (raw or `%5C`), or an
        /// escaped slash stands next to a slash (`%2F%2F`, `/%2F`): such a path is refused
        /// unless the policy says `paths { non-normal two-readings }`.
        dot_segments: bool,
    },
}

/// The two buffers the readings of a path that is not plain are written to (16 KiB: keep it
/// out of hot stack frames).
#[derive(Debug)]
pub struct PathBuffers {
    as_sent: [u8; MAX_PATH],
    normalised: [u8; MAX_PATH],
}

impl PathBuffers {
    /// Zeroed buffers.
    pub fn new() -> PathBuffers {
        PathBuffers {
            as_sent: [0; MAX_PATH],
            normalised: [0; MAX_PATH],
        }
    }
}

impl Default for PathBuffers {
    fn default() -> Self {
        PathBuffers::new()
    }
}

/// The value of one hex digit (either case), for `%XX` escapes.
pub(crate) const fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte `%XX` at `path[i..]` decodes to: never NUL.
fn escape(path: &[u8], i: usize) -> Result<u8, PathError> {
    let hi = path.get(i + 1).copied().and_then(hex_digit);
    let lo = path.get(i + 2).copied().and_then(hex_digit);
    match (hi, lo) {
        (Some(h), Some(l)) if (h << 4 | l) != 0 => Ok(h << 4 | l),
        _ => Err(PathError::BadPercentEncoding),
    }
}

/// Whether `path` holds none of `%`, `?`, `#`, `\`, `//`, `/.`: then it is structurally normal,
/// its own reading, and has no query or fragment to cut (what every plain request path looks
/// like, and what `http::Uri::path` gives).
#[inline]
fn is_plain_target(path: &[u8]) -> bool {
    if path.len() >= 8 {
        return is_plain_target_words(path);
    }
    plain_bytes(path, false)
}

/// [`is_plain_target`]'s byte loop, and the check of a path already cut at `?`/`#`;
/// `prev_slash` says whether the byte before `bytes` is `/`.
fn plain_bytes(bytes: &[u8], mut prev_slash: bool) -> bool {
    for &b in bytes {
        if matches!(b, b'%' | b'?' | b'#' | b'\\') || (prev_slash && matches!(b, b'/' | b'.')) {
            return false;
        }
        prev_slash = b == b'/';
    }
    true
}

/// [`is_plain_target`] eight bytes per step (SWAR), then the last few one by one.
fn is_plain_target_words(path: &[u8]) -> bool {
    let mut after_slash = 0u64;
    let mut chunks = path.chunks_exact(8);
    for c in chunks.by_ref() {
        let w = le_word(c);
        let slash = bytes_eq(w, b'/');
        let bad = bytes_eq(w, b'%') | bytes_eq(w, b'?') | bytes_eq(w, b'#') | bytes_eq(w, b'\\');
        // Byte i follows a '/' when byte i - 1 is one (little-endian: the next byte up).
        let follows = (slash << 8) | after_slash;
        if bad | (follows & (slash | bytes_eq(w, b'.'))) != 0 {
            return false;
        }
        after_slash = slash >> 56;
    }
    plain_bytes(chunks.remainder(), after_slash != 0)
}

/// The path of a request target: cut at the first `?` or `#`, absolute, at most [`MAX_PATH`].
fn cut(raw: &[u8]) -> Result<&[u8], PathError> {
    let end = raw
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(raw.len());
    let path = raw.get(..end).unwrap_or(raw);
    if path.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    if path.len() > MAX_PATH {
        return Err(PathError::TooLong);
    }
    Ok(path)
}

/// The path itself when it is plain (the common case: no copy, no buffer), `None` when it
/// needs [`read_path`]'s buffers.
#[inline]
pub fn already_normal(raw: &str) -> Result<Option<&[u8]>, PathError> {
    let raw = raw.as_bytes();
    // The common case in one pass: nothing to cut, nothing to decode.
    if raw.first() == Some(&b'/') && raw.len() <= MAX_PATH && is_plain_target(raw) {
        return Ok(Some(raw));
    }
    let path = cut(raw)?;
    Ok(plain_bytes(path, false).then_some(path))
}

/// Reads a request target's path (a query or fragment is cut off): its one reading when it is
/// structurally normal, else its two.
#[inline]
pub fn read_path<'a>(raw: &'a str, bufs: &'a mut PathBuffers) -> Result<PathForm<'a>, PathError> {
    match already_normal(raw)? {
        Some(p) => Ok(PathForm::Normal(p)),
        None => read_decoded(raw.as_bytes(), bufs),
    }
}

/// [`read_path`] for a path with escapes, `\`, `//` or a segment starting with `.`.
fn read_decoded<'a>(raw: &'a [u8], bufs: &'a mut PathBuffers) -> Result<PathForm<'a>, PathError> {
    let path = cut(raw)?;
    let PathBuffers {
        as_sent,
        normalised,
    } = bufs;
    // The as-sent reading: the bytes as sent, every escape checked (an invalid one makes the
    // path unreadable) and kept.
    let mut n = 0usize;
    let mut kept = false;
    let mut backslash = false;
    let mut i = 0usize;
    while let Some(&b) = path.get(i) {
        if b == b'%' {
            let v = escape(path, i)?;
            kept = true;
            backslash |= v == b'\\';
            for k in 0..3 {
                put(as_sent, &mut n, path.get(i + k).copied().unwrap_or(b'%'));
            }
            i += 3;
        } else {
            backslash |= b == b'\\';
            put(as_sent, &mut n, b);
            i += 1;
        }
    }
    let sent = as_sent.get(..n).unwrap_or(&[]);
    if !kept && !backslash && segments_normal(sent) {
        return Ok(PathForm::Normal(sent));
    }
    // The normalised reading: everything decoded, then merged and resolved in place.
    let n = decode_all(path, normalised)?;
    let dot_segments = backslash
        || has_dot_segment(normalised.get(..n).unwrap_or(&[]))
        || slash_escape_beside_slash(path);
    let w = resolve(normalised, n)?;
    Ok(PathForm::TwoReadings {
        as_sent: sent,
        normalised: normalised.get(..w).unwrap_or(&[]),
        dot_segments,
    })
}

/// Whether an escaped slash (`%2F`) stands next to a slash or another escaped slash: decoded
/// without merging, as WSGI servers hand `PATH_INFO` on, the path has an empty segment that
/// neither reading has (`/api%2F%2Fpublic/x` is `/api//public/x` there, a third path).
fn slash_escape_beside_slash(path: &[u8]) -> bool {
    let slash_at = |i: usize| match path.get(i) {
        Some(b'/') => Some(1),
        Some(b'%') => matches!(path.get(i + 1..i + 3), Some([b'2', b'f' | b'F'])).then_some(3),
        _ => None,
    };
    let mut i = 0;
    let mut prev_slash = false;
    while i < path.len() {
        match slash_at(i) {
            Some(len) => {
                let escaped = len == 3;
                let next = slash_at(i + len);
                if escaped && (prev_slash || next.is_some()) {
                    return true;
                }
                if !escaped && next == Some(3) {
                    return true;
                }
                prev_slash = true;
                i += len;
            }
            None => {
                prev_slash = false;
                i += 1;
            }
        }
    }
    false
}

/// No empty segment (`//`) and no `.` or `..` segment; a trailing `/` is not an empty segment.
fn segments_normal(p: &[u8]) -> bool {
    let mut segments = p.split(|&b| b == b'/');
    // The empty piece before the leading '/'.
    segments.next();
    let mut last_empty = false;
    for s in segments {
        if last_empty || s == b"." || s == b".." {
            return false;
        }
        last_empty = s.is_empty();
    }
    true
}

/// Whether a decoded path has a `.` or `..` segment.
fn has_dot_segment(p: &[u8]) -> bool {
    p.split(|&b| b == b'/').any(|s| s == b"." || s == b"..")
}

/// Normalises `raw` (a request target's path, possibly with a query) into `buf` (nginx's
/// normal form: the normalised reading), or returns the input slice itself when it is plain.
pub fn normalize<'a>(raw: &'a str, buf: &'a mut [u8; MAX_PATH]) -> Result<&'a [u8], PathError> {
    if let Some(p) = already_normal(raw)? {
        return Ok(p);
    }
    let path = cut(raw.as_bytes())?;
    let n = decode_all(path, buf)?;
    let w = resolve(buf, n)?;
    Ok(buf.get(..w).unwrap_or(&[]))
}

/// Percent-decodes every escape of `path` into `buf`; returns the decoded length.
fn decode_all(path: &[u8], buf: &mut [u8]) -> Result<usize, PathError> {
    let mut n = 0usize;
    let mut i = 0usize;
    while let Some(&b) = path.get(i) {
        let out = if b == b'%' {
            let v = escape(path, i)?;
            i += 3;
            v
        } else {
            i += 1;
            b
        };
        let slot = buf.get_mut(n).ok_or(PathError::TooLong)?;
        *slot = out;
        n += 1;
    }
    Ok(n)
}

/// Merges slashes and resolves dot segments of the decoded path `buf[..n]`, in place; returns
/// the normal form's length. `w` never passes `r`.
fn resolve(buf: &mut [u8], n: usize) -> Result<usize, PathError> {
    let mut w = 0usize; // write position; buf[..w] is the normalised output so far
    let mut r = 0usize;
    while r < n {
        // At a '/': skip the run of slashes, then read one segment.
        while buf.get(r) == Some(&b'/') {
            r += 1;
        }
        let seg_start = r;
        while r < n && buf.get(r) != Some(&b'/') {
            r += 1;
        }
        let seg_len = r - seg_start;
        let trailing = r >= n; // no '/' after this segment
        let is_dot = seg_len == 1 && buf.get(seg_start) == Some(&b'.');
        let is_dotdot = seg_len == 2
            && buf.get(seg_start) == Some(&b'.')
            && buf.get(seg_start + 1) == Some(&b'.');
        if is_dot {
            if trailing {
                put(buf, &mut w, b'/');
            }
            continue;
        }
        if is_dotdot {
            if w == 0 {
                return Err(PathError::AboveRoot);
            }
            // Drop the last segment of the output: back to the previous '/'.
            while w > 0 {
                w -= 1;
                if buf.get(w) == Some(&b'/') {
                    break;
                }
            }
            if trailing {
                put(buf, &mut w, b'/');
            }
            continue;
        }
        if seg_len == 0 {
            // Trailing slash(es).
            put(buf, &mut w, b'/');
            continue;
        }
        put(buf, &mut w, b'/');
        buf.copy_within(seg_start..r, w);
        w += seg_len;
    }
    if w == 0 {
        put(buf, &mut w, b'/');
    }
    Ok(w)
}

#[inline]
fn put(buf: &mut [u8], w: &mut usize, b: u8) {
    if let Some(slot) = buf.get_mut(*w) {
        *slot = b;
        *w += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each error says what is wrong with the path, and is a `std::error::Error`.
    #[test]
    fn path_errors_read_as_sentences() {
        let long = format!("/{}", "a".repeat(MAX_PATH));
        let err = |p: &str| -> Box<dyn std::error::Error> { Box::new(norm(p).unwrap_err()) };
        assert_eq!(err("x").to_string(), "the path does not start with `/`");
        assert!(err("/%zz").to_string().contains("two hex digits"));
        assert!(err("/..").to_string().contains("above the root"));
        assert_eq!(err(&long).to_string(), "the path is longer than 8192 bytes");
    }

    fn norm(p: &str) -> Result<String, PathError> {
        let mut buf = [0u8; MAX_PATH];
        normalize(p, &mut buf).map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// `already_normal` as it was before its one-pass check: cut at `?`/`#`, then a byte loop.
    fn reference_already_normal(raw: &str) -> Result<Option<&[u8]>, PathError> {
        let raw = raw.as_bytes();
        let end = raw
            .iter()
            .position(|&b| b == b'?' || b == b'#')
            .unwrap_or(raw.len());
        let path = &raw[..end];
        if path.first() != Some(&b'/') {
            return Err(PathError::NotAbsolute);
        }
        if path.len() > MAX_PATH {
            return Err(PathError::TooLong);
        }
        let mut prev = 0u8;
        for &b in path {
            if b == b'%' || b == b'\\' || (prev == b'/' && (b == b'/' || b == b'.')) {
                return Ok(None);
            }
            prev = b;
        }
        Ok(Some(path))
    }

    #[test]
    fn the_one_pass_check_agrees_with_the_reference() {
        // When the one-pass check passes a path, the reference gives the path itself; when it
        // does not, `already_normal` gives what the reference gives. Every string of up to 6
        // bytes over the bytes that matter, each padded at both ends so that every byte sits
        // at every position of an eight-byte word, and across a word boundary.
        const ALPHABET: &[u8] = b"/.%?#a\\";
        let mut n = 0;
        for len in 0..=6u32 {
            for mut code in 0..ALPHABET.len().pow(len) {
                let mut core = Vec::new();
                for _ in 0..len {
                    core.push(ALPHABET[code % ALPHABET.len()]);
                    code /= ALPHABET.len();
                }
                for lead in 0..9 {
                    let mut p = b"/".to_vec();
                    p.extend(std::iter::repeat_n(b'x', lead));
                    p.extend(&core);
                    for trail in [0, 1, 9] {
                        let mut q = p.clone();
                        q.extend(std::iter::repeat_n(b'y', trail));
                        let q = String::from_utf8(q).unwrap();
                        let want = reference_already_normal(&q);
                        assert_eq!(already_normal(&q), want, "{q:?}");
                        if is_plain_target(q.as_bytes()) {
                            assert_eq!(want, Ok(Some(q.as_bytes())), "{q:?}");
                        }
                        n += 1;
                    }
                }
            }
        }
        assert!(n > 3_500_000, "{n}");
        // The longest path, one byte more, and a long path with a `//` in its last word.
        let long = format!("/{}", "a".repeat(MAX_PATH));
        assert_eq!(already_normal(&long), Err(PathError::TooLong));
        let longest = &long.as_bytes()[..MAX_PATH];
        assert_eq!(already_normal(&long[..MAX_PATH]), Ok(Some(longest)));
        let late = format!("{}//", &long[..100]);
        assert_eq!(already_normal(&late), Ok(None));
    }

    #[test]
    fn table() {
        let ok = [
            ("/", "/"),
            ("/api/x", "/api/x"),
            ("/api/x?y=/z", "/api/x"),
            ("/api//x", "/api/x"),
            ("//api///x//", "/api/x/"),
            ("/api/./x", "/api/x"),
            ("/api/.", "/api/"),
            ("/api/x/..", "/api/"),
            ("/api/x/../y", "/api/y"),
            ("/a/b/../../c", "/c"),
            ("/%61pi/x", "/api/x"),
            ("/api%2Fx", "/api/x"),
            ("/api/%2e%2e/assets/x", "/assets/x"),
            ("/..a/.b/", "/..a/.b/"),
            ("/x#frag", "/x"),
        ];
        for (input, want) in ok {
            assert_eq!(norm(input).as_deref(), Ok(want), "input {input}");
        }
        assert_eq!(norm("api"), Err(PathError::NotAbsolute));
        assert_eq!(norm("*"), Err(PathError::NotAbsolute));
        assert_eq!(norm("/%zz"), Err(PathError::BadPercentEncoding));
        assert_eq!(norm("/%4"), Err(PathError::BadPercentEncoding));
        assert_eq!(norm("/%00"), Err(PathError::BadPercentEncoding));
        assert_eq!(norm("/.."), Err(PathError::AboveRoot));
        assert_eq!(norm("/a/../../b"), Err(PathError::AboveRoot));
        assert_eq!(norm(&"/a".repeat(5000)), Err(PathError::TooLong));
    }

    fn read(p: &str) -> Result<(String, Option<(String, bool)>), PathError> {
        let mut bufs = PathBuffers::new();
        let show = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        read_path(p, &mut bufs).map(|f| match f {
            PathForm::Normal(p) => (show(p), None),
            PathForm::TwoReadings {
                as_sent,
                normalised,
                dot_segments,
            } => (show(as_sent), Some((show(normalised), dot_segments))),
        })
    }

    #[test]
    fn structurally_normal_paths_have_one_reading() {
        for (input, want) in [
            ("/", "/"),
            ("/api/x", "/api/x"),
            ("/api/x/", "/api/x/"),
            ("/api/x?y=/../z//", "/api/x"),
            ("/.well-known/x", "/.well-known/x"),
            ("/a/..b/.c./...", "/a/..b/.c./..."),
        ] {
            assert_eq!(read(input), Ok((want.to_string(), None)), "{input}");
        }
    }

    #[test]
    fn other_paths_have_two_readings() {
        let two = |sent: &str, norm: &str, dots: bool| {
            Ok((sent.to_string(), Some((norm.to_string(), dots))))
        };
        for (input, want) in [
            ("//webhooks/x", two("//webhooks/x", "/webhooks/x", false)),
            ("/a//b", two("/a//b", "/a/b", false)),
            ("/api%2Fx", two("/api%2Fx", "/api/x", false)),
            ("/api%2fx", two("/api%2fx", "/api/x", false)),
            ("/a%2Eb", two("/a%2Eb", "/a.b", false)),
            ("/%61/%2F", two("/%61/%2F", "/a/", true)),
            // Any escape: a router on the raw path reads `/%61pi/x` as another path than
            // `/api/x`.
            ("/%61pi/x", two("/%61pi/x", "/api/x", false)),
            ("/%68ooks/x", two("/%68ooks/x", "/hooks/x", false)),
            ("/a%20b/%C3%A9", two("/a%20b/%C3%A9", "/a b/\u{e9}", false)),
            ("/a%252F", two("/a%252F", "/a%2F", false)),
            (
                "/account/%2e%2e/webhooks/x",
                two("/account/%2e%2e/webhooks/x", "/webhooks/x", true),
            ),
            (
                "/account/../webhooks/x",
                two("/account/../webhooks/x", "/webhooks/x", true),
            ),
            ("/a/./b", two("/a/./b", "/a/b", true)),
            ("/a/.", two("/a/.", "/a/", true)),
            (
                "/api/x%2F..%2F..%2Fpartner/y",
                two("/api/x%2F..%2F..%2Fpartner/y", "/partner/y", true),
            ),
            ("/a\\b", two("/a\\b", "/a\\b", true)),
            ("/a%5Cb", two("/a%5Cb", "/a\\b", true)),
            ("/a%5cb", two("/a%5cb", "/a\\b", true)),
            // An escaped slash next to a slash: a third path where `%2F` is decoded and `//`
            // kept (WSGI).
            (
                "/api%2F%2Fpublic/x",
                two("/api%2F%2Fpublic/x", "/api/public/x", true),
            ),
            (
                "/api/%2Fpublic/x",
                two("/api/%2Fpublic/x", "/api/public/x", true),
            ),
            (
                "/api%2f/public/x",
                two("/api%2f/public/x", "/api/public/x", true),
            ),
            (
                "/api%2Fpublic/x%2F",
                two("/api%2Fpublic/x%2F", "/api/public/x/", false),
            ),
        ] {
            assert_eq!(read(input), want, "{input}");
        }
        for (input, err) in [
            ("/account/x%zz", PathError::BadPercentEncoding),
            ("/x%00", PathError::BadPercentEncoding),
            ("/x%4", PathError::BadPercentEncoding),
            ("/account/a%2F..%2F..%2F..%2Fx", PathError::AboveRoot),
            ("/..", PathError::AboveRoot),
            ("x", PathError::NotAbsolute),
            ("*", PathError::NotAbsolute),
        ] {
            assert_eq!(read(input), Err(err), "{input}");
        }
        assert_eq!(read(&"/a".repeat(5000)), Err(PathError::TooLong));
    }
}
