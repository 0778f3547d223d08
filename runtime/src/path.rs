//! Request-path normalisation, identical to nginx's before `location` matching, so that the
//! Rust runtime and the emitted nginx config pick the same route for the same request.
//!
//! Normative text: `spec/language.md`, section "Routes". In short, on the raw request target:
//! 1. cut at the first `?` or `#` (query and fragment never select a route);
//! 2. the path must start with `/`;
//! 3. percent-decode every `%XX` (so `%2F` becomes a `/` and separates segments, as in nginx);
//!    a `%` not followed by two hex digits, or a decoded NUL byte, makes the path invalid;
//! 4. merge runs of `/` into one;
//! 5. remove `.` segments and resolve `..` segments; a `..` above the root makes the path invalid
//!    (nginx answers 400).
//!
//! An invalid path, or one longer than [`MAX_PATH`] bytes, matches no route.

/// The longest path (after decoding) that is matched against routes; longer paths match none.
pub const MAX_PATH: usize = 8192;

/// Why a path could not be normalised.
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

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Whether `path` holds none of `%`, `?`, `#`, `//`, `/.`: then it is already normal and has no
/// query or fragment to cut (what every plain request path looks like, and what
/// `http::Uri::path` gives).
#[inline]
fn is_plain_target(path: &[u8]) -> bool {
    if path.len() >= 8 {
        return is_plain_target_words(path);
    }
    plain_bytes(path, false)
}

/// [`is_plain_target`]'s byte loop, and the check of a path already cut at `?`/`#`;
/// `prev_slash` says whether the byte before `bytes` is `/`.
#[inline(always)]
fn plain_bytes(bytes: &[u8], mut prev_slash: bool) -> bool {
    for &b in bytes {
        if matches!(b, b'%' | b'?' | b'#') || (prev_slash && matches!(b, b'/' | b'.')) {
            return false;
        }
        prev_slash = b == b'/';
    }
    true
}

/// [`is_plain_target`] eight bytes per step (SWAR), then the last few one by one. Out of
/// line: the word constants would cost a path as short as `/` more than its one byte does.
#[inline(never)]
fn is_plain_target_words(path: &[u8]) -> bool {
    use crate::keyset::{bytes_eq, le_word};
    let mut after_slash = 0u64;
    let mut chunks = path.chunks_exact(8);
    for c in chunks.by_ref() {
        let w = le_word(c);
        let slash = bytes_eq(w, b'/');
        let bad = bytes_eq(w, b'%') | bytes_eq(w, b'?') | bytes_eq(w, b'#');
        // Byte i follows a '/' when byte i - 1 is one (little-endian: the next byte up).
        let follows = (slash << 8) | after_slash;
        if bad | (follows & (slash | bytes_eq(w, b'.'))) != 0 {
            return false;
        }
        after_slash = slash >> 56;
    }
    plain_bytes(chunks.remainder(), after_slash != 0)
}

/// The path itself when it is already normal (the common case: no copy, no buffer), `None`
/// when it needs [`normalize`].
#[inline]
pub fn already_normal(raw: &str) -> Result<Option<&[u8]>, PathError> {
    let raw = raw.as_bytes();
    // The common case in one pass: nothing to cut, nothing to normalise.
    if raw.first() == Some(&b'/') && raw.len() <= MAX_PATH && is_plain_target(raw) {
        return Ok(Some(raw));
    }
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
    Ok(plain_bytes(path, false).then_some(path))
}

/// Normalises `raw` (a request target's path, possibly with a query) into `buf`, or returns the
/// input slice itself when it is already normal.
pub fn normalize<'a>(raw: &'a str, buf: &'a mut [u8; MAX_PATH]) -> Result<&'a [u8], PathError> {
    if let Some(p) = already_normal(raw)? {
        return Ok(p);
    }
    let raw = raw.as_bytes();
    let end = raw
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(raw.len());
    let path = raw.get(..end).unwrap_or(raw);
    // Pass 1: percent-decode into buf.
    let mut n = 0usize;
    let mut i = 0usize;
    while let Some(&b) = path.get(i) {
        let out = if b == b'%' {
            let hi = path.get(i + 1).copied().and_then(hex);
            let lo = path.get(i + 2).copied().and_then(hex);
            match (hi, lo) {
                (Some(h), Some(l)) if (h << 4 | l) != 0 => {
                    i += 3;
                    h << 4 | l
                }
                _ => return Err(PathError::BadPercentEncoding),
            }
        } else {
            i += 1;
            b
        };
        let slot = buf.get_mut(n).ok_or(PathError::TooLong)?;
        *slot = out;
        n += 1;
    }
    // Pass 2: in place, merge slashes and resolve dot segments. `w` never passes `r`.
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
    Ok(buf.get(..w).unwrap_or(&[]))
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
            if b == b'%' || (prev == b'/' && (b == b'/' || b == b'.')) {
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
        const ALPHABET: &[u8] = b"/.%?#a";
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
        assert!(n > 1_000_000, "{n}");
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
}
