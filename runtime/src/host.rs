//! The request's authority and the host block it selects (spec/language.md, section 6a).
//!
//! One authority per request: the target's (absolute-form, HTTP/2 `:authority`) when it has
//! one, else the single `Host` field; two `Host` lines, or a `Host` that differs from the
//! target's authority, make it ambiguous (400). The same authority selects the host block and
//! is what the CSRF and WebSocket same-origin checks compare an `Origin` with, compared
//! lowercased and without one trailing dot of the host.
//!
//! Host selection is hash probes, no allocation: the exact authority in one set, then each
//! suffix of the host at a label boundary, longest first, in the set of `*.` patterns (one
//! probe per label).

use std::borrow::Cow;

use crate::headers::{HeaderLookup, RequestHeader};
use crate::keyset::{KeySet, TableError};

/// The request's one authority, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestAuthority<'a> {
    /// No target authority and no `Host` field.
    Missing,
    /// The authority, as sent.
    One(&'a [u8]),
    /// Two `Host` lines, or a `Host` that differs from the target's authority.
    Ambiguous,
}

impl<'a> RequestAuthority<'a> {
    /// Reads the authority of a request: `target` is the request target's authority (HTTP/2
    /// `:authority`, an absolute-form request line). When `headers` say the deployment trusts
    /// `X-Forwarded-Host` ([`HeaderLookup::forwarded_host`]), that field replaces both (one
    /// line, one value; otherwise ambiguous).
    pub fn read<H>(target: Option<&'a str>, headers: &'a H) -> RequestAuthority<'a>
    where
        H: HeaderLookup + ?Sized,
    {
        if headers.forwarded_host() {
            // One `X-Forwarded-Host` line with one value replaces the authority; anything
            // else (none, two lines, a list) is ambiguous.
            let mut v = headers.values_named("x-forwarded-host");
            return match (v.next(), v.next()) {
                (Some(h), None) if !h.is_empty() && !h.contains(&b',') => RequestAuthority::One(h),
                _ => RequestAuthority::Ambiguous,
            };
        }
        let mut hosts = headers.values(RequestHeader::Host);
        let host = match (hosts.next(), hosts.next()) {
            (_, Some(_)) => return RequestAuthority::Ambiguous,
            (h, None) => h.filter(|h| !h.is_empty()),
        };
        match (target.filter(|t| !t.is_empty()), host) {
            (Some(t), Some(h)) if !same_authority(t.as_bytes(), h) => RequestAuthority::Ambiguous,
            (Some(t), _) => RequestAuthority::One(t.as_bytes()),
            (None, Some(h)) => RequestAuthority::One(h),
            (None, None) => RequestAuthority::Missing,
        }
    }

    /// The authority, when there is exactly one.
    pub fn get(self) -> Option<&'a [u8]> {
        match self {
            RequestAuthority::One(a) => Some(a),
            RequestAuthority::Missing | RequestAuthority::Ambiguous => None,
        }
    }
}

/// An authority's host (one trailing dot dropped) and its port part (`:8443`, or empty).
/// `None` when it cannot be one (an unclosed `[`, more than one `:` outside brackets).
pub(crate) fn split(authority: &[u8]) -> Option<(&[u8], &[u8])> {
    let (host, port) = if authority.first() == Some(&b'[') {
        let end = authority.iter().position(|&b| b == b']')?;
        let (h, p) = authority.split_at(end + 1);
        if !(p.is_empty() || p.first() == Some(&b':')) {
            return None;
        }
        (h, p)
    } else {
        match authority.iter().position(|&b| b == b':') {
            Some(i) => {
                let (h, p) = authority.split_at(i);
                if p.iter().skip(1).any(|&b| b == b':') {
                    return None;
                }
                (h, p)
            }
            None => (authority, &[][..]),
        }
    };
    Some((host.strip_suffix(b".").unwrap_or(host), port))
}

/// Whether two authorities are the same: ASCII case ignored, one trailing dot of each host
/// dropped, ports compared as written.
pub(crate) fn same_authority(a: &[u8], b: &[u8]) -> bool {
    match (split(a), split(b)) {
        (Some((ha, pa)), Some((hb, pb))) => ha.eq_ignore_ascii_case(hb) && pa == pb,
        _ => false,
    }
}

/// The host blocks' patterns: which block (from 1) an authority selects; 0 is the top-level
/// routes (no pattern matches, or no authority).
#[derive(Debug, Clone)]
pub struct HostTable {
    /// Exact patterns (`host` or `host:port`, lowercase), ASCII case-insensitive.
    exact: KeySet,
    /// The block of each exact pattern.
    exact_block: Cow<'static, [u32]>,
    /// `*.` patterns without the `*.` (`example.com`, `example.com:8443`).
    suffix: KeySet,
    /// The block of each `*.` pattern.
    suffix_block: Cow<'static, [u32]>,
}

impl HostTable {
    /// No host block.
    pub const EMPTY: HostTable = HostTable {
        exact: KeySet::EMPTY,
        exact_block: Cow::Borrowed(&[]),
        suffix: KeySet::EMPTY,
        suffix_block: Cow::Borrowed(&[]),
    };

    /// Builds the table from each block's patterns (block `i` of `blocks` is block `i + 1`):
    /// `api.example.com`, `api.example.net:8443`, `*.example.com` (lowercase, as the compiler
    /// writes them).
    pub fn new(blocks: &[Vec<String>]) -> Result<HostTable, TableError> {
        let mut exact = Vec::new();
        let mut exact_block = Vec::new();
        let mut suffix = Vec::new();
        let mut suffix_block = Vec::new();
        for (i, patterns) in blocks.iter().enumerate() {
            let block = u32::try_from(i + 1).map_err(|_| TableError::TooManyKeys)?;
            for p in patterns {
                if p.bytes().any(|b| b.is_ascii_uppercase()) || split(p.as_bytes()).is_none() {
                    return Err(TableError::InvalidPattern(p.clone()));
                }
                match p.strip_prefix("*.") {
                    Some(s) => {
                        suffix.push(s.to_string());
                        suffix_block.push(block);
                    }
                    None => {
                        exact.push(p.clone());
                        exact_block.push(block);
                    }
                }
            }
        }
        Ok(HostTable {
            exact: KeySet::new(exact, true)?,
            exact_block: Cow::Owned(exact_block),
            suffix: KeySet::new(suffix, true)?,
            suffix_block: Cow::Owned(suffix_block),
        })
    }

    /// The table of generated code: the sets and blocks [`HostTable::new`] built (both sets
    /// ASCII case-insensitive, each block at least 1).
    pub(crate) const fn from_static(
        exact: KeySet,
        exact_block: &'static [u32],
        suffix: KeySet,
        suffix_block: &'static [u32],
    ) -> HostTable {
        if !(exact.fold_case() && suffix.fold_case()) {
            crate::keyset::refuse("guestlist: a generated host table does not ignore case");
        }
        const fn count(k: &KeySet) -> usize {
            match k.borrowed_keys() {
                Some(keys) => keys.len(),
                None => usize::MAX,
            }
        }
        if !(count(&exact) == exact_block.len() && count(&suffix) == suffix_block.len()) {
            crate::keyset::refuse("guestlist: a generated host table's blocks are not its keys'");
        }
        HostTable {
            exact,
            exact_block: Cow::Borrowed(exact_block),
            suffix,
            suffix_block: Cow::Borrowed(suffix_block),
        }
    }

    /// The highest block any pattern selects (0: none).
    pub(crate) const fn max_block(&self) -> u32 {
        const fn max(mut rest: &[u32], mut m: u32) -> u32 {
            while let [b, tail @ ..] = rest {
                if *b > m {
                    m = *b;
                }
                rest = tail;
            }
            m
        }
        max(self.suffix_block_slice(), max(self.exact_block_slice(), 0))
    }

    const fn exact_block_slice(&self) -> &[u32] {
        match &self.exact_block {
            Cow::Borrowed(b) => b,
            Cow::Owned(_) => &[],
        }
    }

    const fn suffix_block_slice(&self) -> &[u32] {
        match &self.suffix_block {
            Cow::Borrowed(b) => b,
            Cow::Owned(_) => &[],
        }
    }

    /// The exact patterns and each one's block, for generated code.
    pub fn exact(&self) -> (&KeySet, &[u32]) {
        (&self.exact, &self.exact_block)
    }

    /// The `*.` patterns (without `*.`) and each one's block, for generated code.
    pub fn suffixes(&self) -> (&KeySet, &[u32]) {
        (&self.suffix, &self.suffix_block)
    }

    /// Whether the table has no pattern.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.suffix.is_empty()
    }

    /// The block `authority` selects: an exact pattern, else the `*.` pattern with the longest
    /// domain; 0 when none matches.
    pub fn select(&self, authority: &[u8]) -> u32 {
        let Some((host, port)) = split(authority) else {
            return 0;
        };
        // Without a port the authority's host is the key (one word-wise hash); with one, the
        // two parts are hashed as one key.
        let lookup = |set: &KeySet, host: &[u8]| {
            if port.is_empty() {
                set.get(host)
            } else {
                set.get_parts(&[host, port])
            }
        };
        if let Some(i) = lookup(&self.exact, host) {
            return self.exact_block.get(i as usize).copied().unwrap_or(0);
        }
        if self.suffix.is_empty() {
            return 0;
        }
        // Each suffix after a `.` with at least one byte of label before it, longest first.
        let mut start = 0;
        while let Some(dot) = host
            .get(start..)
            .and_then(|h| h.iter().position(|&b| b == b'.'))
        {
            let at = start + dot;
            if at > start {
                let rest = host.get(at + 1..).unwrap_or(&[]);
                if let Some(i) = lookup(&self.suffix, rest) {
                    return self.suffix_block.get(i as usize).copied().unwrap_or(0);
                }
            } else {
                // An empty label: no pattern names such a host.
                return 0;
            }
            start = at + 1;
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> HostTable {
        HostTable::new(&[
            vec!["api.example.com".into(), "api.example.net:8443".into()],
            vec!["*.tenants.example.com".into()],
            vec!["*.example.com".into(), "[::1]:3000".into()],
            vec!["x.tenants.example.com".into()],
        ])
        .unwrap()
    }

    #[test]
    fn the_most_specific_pattern_wins() {
        let t = table();
        for (authority, block) in [
            ("api.example.com", 1),
            ("API.Example.COM", 1),
            ("api.example.com.", 1),
            ("api.example.com:443", 0),
            ("api.example.net:8443", 1),
            ("api.example.net.:8443", 1),
            ("api.example.net", 0),
            ("a.tenants.example.com", 2),
            ("a.b.tenants.example.com", 2),
            ("x.tenants.example.com", 4),
            ("tenants.example.com", 3),
            ("www.example.com", 3),
            ("example.com", 0),
            ("evilexample.com", 0),
            ("a..example.com", 0),
            (".example.com", 0),
            ("[::1]:3000", 3),
            ("[::1]", 0),
            ("", 0),
            ("a:b:c", 0),
            ("api.example.com..", 0),
        ] {
            assert_eq!(t.select(authority.as_bytes()), block, "{authority}");
        }
    }

    #[test]
    fn one_authority_per_request() {
        let h = |v: &'static [(&'static str, &'static str)]| v;
        let read = |target: Option<&'static str>,
                    headers: &'static [(&'static str, &'static str)]| {
            RequestAuthority::read(target, headers)
        };
        assert_eq!(
            read(None, h(&[("Host", "a.example")])),
            RequestAuthority::One(b"a.example")
        );
        assert_eq!(
            read(Some("b.example"), h(&[])),
            RequestAuthority::One(b"b.example")
        );
        assert_eq!(
            read(Some("B.example."), h(&[("host", "b.EXAMPLE")])),
            RequestAuthority::One(b"B.example.")
        );
        assert_eq!(
            read(Some("b.example"), h(&[("Host", "a.example")])),
            RequestAuthority::Ambiguous
        );
        assert_eq!(
            read(Some("b.example:8443"), h(&[("Host", "b.example")])),
            RequestAuthority::Ambiguous
        );
        assert_eq!(
            read(None, h(&[("Host", "a.example"), ("Host", "a.example")])),
            RequestAuthority::Ambiguous
        );
        assert_eq!(read(None, h(&[])), RequestAuthority::Missing);
        assert_eq!(read(None, h(&[("Host", "")])), RequestAuthority::Missing);
    }

    #[test]
    fn patterns_are_lowercase_and_well_formed() {
        assert!(HostTable::new(&[vec!["API.example.com".into()]]).is_err());
        assert!(HostTable::new(&[vec!["a:b:c".into()]]).is_err());
        assert!(HostTable::new(&[vec!["a.example".into()], vec!["a.example".into()]]).is_err());
        assert!(HostTable::EMPTY.is_empty());
        assert_eq!(HostTable::EMPTY.select(b"a.example"), 0);
    }
}
