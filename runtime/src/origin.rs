//! Origins: the one parser of an origin's `scheme://host[:port]` (spec/language.md section 4),
//! the strict pattern form tables hold, and the one origin matcher cors and websocket blocks
//! share (`*`, the exact set, the pattern search).

use std::borrow::Cow;

use crate::keyset::{eq_exact, hash_bytes, refuse, KeySet, TableError, LINEAR_MAX};

/// Which origin entry let the request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OriginMatch {
    /// `allow-origins *`.
    Any,
    /// Exact origin number `n` of the policy's exact set.
    Exact(u32),
    /// Pattern number `n` of the policy's pattern set.
    Pattern(u32),
    /// An entry of a set supplied at run time (feature `provided`): the set's position in
    /// the cors policy's provided sets, the entry (exact entries first, then patterns), and
    /// the generation of the table that held it.
    Provided {
        /// The set's position in the cors policy's list of provided sets.
        set: u32,
        /// The entry in that table.
        entry: u32,
        /// The table's generation.
        generation: u64,
    },
}

/// `(scheme, host, port)` of a strictly formed origin.
pub(crate) type OriginParts<'a> = (&'a [u8], &'a [u8], Option<&'a [u8]>);

pub(crate) const OTHER: u8 = 0;
pub(crate) const LABEL: u8 = 1;
pub(crate) const DOT: u8 = 2;
pub(crate) const COLON: u8 = 3;

/// The class of each byte in an origin's host: one table load per byte.
#[expect(
    clippy::indexing_slicing,
    reason = "a const loop over 0..256 of a 256-entry table"
)]
pub(crate) static HOST_BYTE: [u8; 256] = {
    let mut t = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' {
            LABEL
        } else if c == b'.' {
            DOT
        } else if c == b':' {
            COLON
        } else {
            OTHER
        };
        b += 1;
    }
    t
};

/// One pass over host labels: lowercase letters, digits, '-' and '.', labels of 1 to 63
/// bytes, up to the first ':' or the end. `(where it stopped, length of the last label)`
/// (`0` when the bytes end with a dot or are empty); `None` at any other byte, an empty label
/// or a label longer than 63 bytes. A `const fn`, as [`strict_pattern`] is.
#[inline]
#[expect(
    clippy::indexing_slicing,
    reason = "a byte indexes a 256-entry table; `get` is not const"
)]
pub(crate) const fn scan_labels(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut label = 0usize;
    let mut i = 0;
    let mut rest = bytes;
    while let [b, tail @ ..] = rest {
        match HOST_BYTE[*b as usize] {
            LABEL if label < 63 => label += 1,
            DOT if label > 0 => label = 0,
            COLON => return Some((i, label)),
            _ => return None,
        }
        i += 1;
        rest = tail;
    }
    Some((bytes.len(), label))
}

/// Splits a request `Origin` into scheme, host and port when it has the strict form browsers
/// send (`scheme://host[:port]`, lowercase, no default-port check). Only such origins can match
/// a pattern; exact entries are compared byte-exactly before this is called.
pub(crate) fn split_origin(o: &[u8]) -> Option<OriginParts<'_>> {
    if o.len() > MAX_ORIGIN {
        return None;
    }
    let (scheme, rest) = split_scheme(o)?;
    let (host, port) = split_authority(rest)?;
    Some((scheme, host, port))
}

/// The longest origin [`split_origin`] accepts: a 64-byte scheme, `://`, a 255-byte host
/// (253, or a bracketed IPv6 address) and `:` with five digits.
pub(crate) const MAX_ORIGIN: usize = 64 + 3 + 255 + 6;

/// `(scheme, what follows "://")` of an origin whose scheme is a lowercase letter followed by
/// lowercase letters, digits, `+`, `.` and `-`.
pub(crate) const fn split_scheme(o: &[u8]) -> Option<(&[u8], &[u8])> {
    // The scheme's characters exclude ':', so the first ':' must start "://".
    let mut sep = 0;
    let mut rest = o;
    while let [b, tail @ ..] = rest {
        if *b == b':' {
            break;
        }
        sep += 1;
        rest = tail;
    }
    let Some((scheme, rest)) = o.split_at_checked(sep) else {
        return None;
    };
    let [b':', b'/', b'/', rest @ ..] = rest else {
        return None;
    };
    let [first, tail @ ..] = scheme else {
        return None;
    };
    if !first.is_ascii_lowercase() {
        return None;
    }
    let mut t = tail;
    while let [b, more @ ..] = t {
        if !(b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(*b, b'+' | b'.' | b'-')) {
            return None;
        }
        t = more;
    }
    Some((scheme, rest))
}

/// Whether `s` is an IPv6 address in text (RFC 4291 section 2.2, as `std::net::Ipv6Addr`
/// parses it): eight groups of one to four hex digits, or fewer with one `::` standing for the
/// zero groups left out, the last two groups optionally written as a dotted IPv4 address.
pub(crate) const fn is_ipv6(s: &[u8]) -> bool {
    let mut rest = s;
    let mut groups = 0u32;
    let mut compressed = false;
    if let [b':', b':', tail @ ..] = rest {
        compressed = true;
        rest = tail;
        if rest.is_empty() {
            return true;
        }
    }
    loop {
        let group = rest;
        let mut digits = 0;
        while let [b, tail @ ..] = rest {
            if !b.is_ascii_hexdigit() {
                break;
            }
            digits += 1;
            rest = tail;
        }
        if let [b'.', ..] = rest {
            let room = if compressed { groups <= 5 } else { groups == 6 };
            return room && is_ipv4(group);
        }
        if digits == 0 || digits > 4 {
            return false;
        }
        groups += 1;
        match rest {
            [] => break,
            [b':', b':', tail @ ..] => {
                if compressed {
                    return false;
                }
                compressed = true;
                rest = tail;
                if rest.is_empty() {
                    break;
                }
            }
            [b':', tail @ ..] if !tail.is_empty() => rest = tail,
            _ => return false,
        }
    }
    if compressed {
        groups <= 7
    } else {
        groups == 8
    }
}

/// Whether `s` is a dotted IPv4 address as `std::net::Ipv4Addr` parses it: four decimal
/// octets up to 255, none with a leading zero.
pub(crate) const fn is_ipv4(s: &[u8]) -> bool {
    let mut rest = s;
    let mut octets = 0;
    loop {
        let mut n = 0u32;
        let mut digits = 0;
        let mut first = 0u8;
        while let [b, tail @ ..] = rest {
            if !b.is_ascii_digit() {
                break;
            }
            if digits == 0 {
                first = *b;
            }
            n = n * 10 + (*b - b'0') as u32;
            digits += 1;
            rest = tail;
            if digits > 3 {
                return false;
            }
        }
        if digits == 0 || n > 255 || (digits > 1 && first == b'0') {
            return false;
        }
        octets += 1;
        match rest {
            [] => return octets == 4,
            [b'.', tail @ ..] if octets < 4 => rest = tail,
            _ => return false,
        }
    }
}

/// `(host, port)` of an origin's `host[:port]`: lowercase labels of at most 253 bytes
/// together, or a bracketed IPv6 address of hex digits, `:` and `.`; a port of 1 to 65535
/// without a leading zero.
pub(crate) const fn split_authority(rest: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (host, port) = if let [b'[', inner @ ..] = rest {
        let mut close = 1;
        let mut t = inner;
        loop {
            match t {
                [b']', ..] => break,
                [b, more @ ..] => {
                    if !(b.is_ascii_digit() || matches!(*b, b'a'..=b'f' | b':' | b'.')) {
                        return None;
                    }
                    close += 1;
                    t = more;
                }
                [] => return None,
            }
        }
        let Some(split) = rest.split_at_checked(close + 1) else {
            return None;
        };
        // An IPv6 literal by its grammar (the characters alone let `[:]` or `[1]` through),
        // in lowercase as browsers serialise it.
        let Some((literal, _)) = inner.split_at_checked(close - 1) else {
            return None;
        };
        if !is_ipv6(literal) {
            return None;
        }
        split
    } else {
        let Some((end, label)) = scan_labels(rest) else {
            return None;
        };
        if label == 0 || end > 253 {
            return None;
        }
        let Some(split) = rest.split_at_checked(end) else {
            return None;
        };
        split
    };
    let port = match port {
        [] => None,
        [b':', digits @ ..] => {
            let [first, ..] = digits else {
                return None;
            };
            if digits.len() > 5 || *first == b'0' {
                return None;
            }
            let mut n = 0u32;
            let mut d = digits;
            while let [x, more @ ..] = d {
                if !x.is_ascii_digit() {
                    return None;
                }
                n = n * 10 + (*x - b'0') as u32;
                d = more;
            }
            if n > 65535 {
                return None;
            }
            Some(digits)
        }
        _ => return None,
    };
    Some((host, port))
}

/// The one origin matcher (cors and websocket): `*`, then the exact set, then patterns.
#[inline(always)]
pub(crate) fn match_origin(
    any: bool,
    exact: &KeySet,
    patterns: &PatternSet,
    origin: &[u8],
) -> Option<OriginMatch> {
    if any {
        return Some(OriginMatch::Any);
    }
    if let Some(i) = exact.get(origin) {
        return Some(OriginMatch::Exact(i));
    }
    if patterns.is_empty() {
        return None;
    }
    match_pattern(patterns, origin)
}

/// The pattern search, the one for every pattern set: the origin's host is walked label by
/// label from its start, and at each dot whose label in front is strict the suffix from the
/// dot on is probed for `scheme://*.suffix[:port]` (and, in a set with `:*` keys, for
/// `scheme://*.suffix:*`), after `scheme://host:*` when the set has such a key. Every key is a
/// strict pattern ([`strict_pattern`]) and a hit compares the key with the origin's own bytes,
/// so the origin is strict exactly when the labels in front of the matched suffix are, which
/// the walk checks. A set without `:*` keys therefore needs no split at all (an origin's port
/// is compared as part of the key: no key matches past a `:`); a set with them splits the
/// origin first ([`split_origin`]), to know where its host ends.
#[inline(never)]
pub(crate) fn match_pattern(patterns: &PatternSet, origin: &[u8]) -> Option<OriginMatch> {
    let (head, host_end) = match scheme_end(origin) {
        Some(sep) if !patterns.any_port && origin.len() - sep - 3 <= 253 => (sep + 3, origin.len()),
        _ => {
            let (scheme, host, _) = split_origin(origin)?;
            (scheme.len() + 3, scheme.len() + 3 + host.len())
        }
    };
    let host = origin.get(head..host_end)?;
    let &first = host.first()?;
    if first != b'[' && (host.len() > 253 || class(first) != LABEL) {
        return None;
    }
    if patterns.host_any_port {
        if let Some(i) = patterns.find_host_any_port(origin, head, host_end) {
            return Some(OriginMatch::Pattern(i));
        }
    }
    // An IPv6 host ends the walk at its `[`.
    probe_at_dots(origin, head, host_end, move |dot| {
        patterns.find_wild(origin, head, dot, host_end)
    })
    .map(OriginMatch::Pattern)
}

/// The class of a byte of an origin's host ([`HOST_BYTE`]).
#[inline(always)]
fn class(b: u8) -> u8 {
    HOST_BYTE.get(usize::from(b)).copied().unwrap_or(OTHER)
}

/// Where an origin's scheme ends (its `://` follows): at once for the two schemes nearly every
/// origin has, else by the one parser's scheme rule ([`split_scheme`]).
#[inline(always)]
fn scheme_end(o: &[u8]) -> Option<usize> {
    if o.starts_with(b"https://") {
        Some(5)
    } else if o.starts_with(b"http://") {
        Some(4)
    } else {
        split_scheme(o).map(|(scheme, _)| scheme.len())
    }
}

/// The one walk over host labels: `probe` at each dot of `origin[head..end]` whose label in
/// front is strict (1 to 63 label bytes, checked when the dot is reached), until it finds a
/// key; any other byte, or a label that breaks that, ends the search, as every shorter suffix
/// has it in front too. (The last label is the suffix's, which a hit compares with a strict
/// key.)
#[inline(always)]
fn probe_at_dots(
    origin: &[u8],
    head: usize,
    end: usize,
    mut probe: impl FnMut(usize) -> Option<u32>,
) -> Option<u32> {
    let walked = origin.get(..end)?;
    let mut start = head;
    let mut i = head;
    while let Some(&b) = walked.get(i) {
        let c = class(b);
        if c != LABEL {
            if c != DOT || i == start || i - start > 63 {
                return None;
            }
            if let Some(k) = probe(i) {
                return Some(k);
            }
            start = i + 1;
        }
        i += 1;
    }
    None
}

/// Whether `p` has one of the pattern forms the matcher probes (`scheme://*.host`,
/// `scheme://*.host:port`, `scheme://*.host:*`, `scheme://host:*`) with `scheme://host[:port]`
/// an origin [`split_origin`] accepts. Pattern tables hold only such keys (the compiler writes
/// them so, and run-time tables are checked when built); [`match_pattern`] relies on it.
pub(crate) const fn strict_pattern(p: &str) -> bool {
    let p = p.as_bytes();
    // The origin the pattern stands for is `scheme://` and `rest`, without the `*.` and `:*`.
    let Some((_, rest)) = split_scheme(p) else {
        return false;
    };
    let (wild, rest) = match rest {
        [b'*', b'.', r @ ..] => (true, r),
        r => (false, r),
    };
    let (rest, any_port) = match rest {
        [r @ .., b':', b'*'] => (r, true),
        r => (r, false),
    };
    if !wild && !any_port {
        return false;
    }
    let len = p.len() - if wild { 2 } else { 0 } - if any_port { 2 } else { 0 };
    if len > MAX_ORIGIN {
        return false;
    }
    match split_authority(rest) {
        Some((_, port)) => !(any_port && port.is_some()),
        None => false,
    }
}

/// The host-and-port of an origin (`scheme://host[:port]`), for comparing with `Host`.
/// Byte-exact, as Go compares them. Not [`split_origin`], whose strict scheme rule would refuse
/// what this accepts (`HTTPS://a.test` against `Host: a.test`): the comparison with `Host` is
/// what checks the authority.
pub(crate) fn origin_authority(origin: &[u8]) -> Option<&[u8]> {
    let sep = origin.windows(3).position(|w| w == b"://")?;
    let rest = origin.get(sep + 3..)?;
    if rest.is_empty() || rest.iter().any(|&b| matches!(b, b'/' | b'?' | b'#' | b'@')) {
        return None;
    }
    Some(rest)
}

/// A table of origin patterns: every key must be a strict pattern ([`strict_pattern`]), which
/// the pattern matcher relies on.
pub(crate) fn pattern_set(patterns: Vec<String>) -> Result<PatternSet, TableError> {
    let shape = patterns.iter().fold(PatternKeys::NONE, |s, p| s.add(p));
    if !shape.strict {
        if let Some(bad) = patterns.iter().find(|p| !strict_pattern(p)) {
            return Err(TableError::InvalidPattern(bad.clone()));
        }
    }
    Ok(PatternSet {
        set: KeySet::build(patterns, false, |k| hash_bytes(pattern_host(k), false))?,
        host_any_port: shape.host_any_port,
        any_port: shape.any_port,
    })
}

/// What a pattern set's keys say about it, key by key: whether every key is a strict pattern,
/// and the two flags the matcher reads ([`PatternSet::host_any_port`],
/// [`PatternSet::any_port`]). The one computation, for run-time sets ([`pattern_set`]) and
/// generated ones ([`PatternSet::from_raw_parts`], at compile time).
#[derive(Debug, Clone, Copy)]
struct PatternKeys {
    strict: bool,
    host_any_port: bool,
    any_port: bool,
}

impl PatternKeys {
    /// No key.
    const NONE: PatternKeys = PatternKeys {
        strict: true,
        host_any_port: false,
        any_port: false,
    };

    /// The keys so far and `k`.
    const fn add(self, key: &str) -> PatternKeys {
        let k = key.as_bytes();
        PatternKeys {
            strict: self.strict && strict_pattern(key),
            host_any_port: self.host_any_port || !has_wildcard_label(k),
            any_port: self.any_port || matches!(k, [.., b':', b'*']),
        }
    }
}

/// The part of a pattern key its slot is hashed from: what follows `*.` in
/// `scheme://*.suffix` and `scheme://*.suffix:port` (the port included, as it follows the
/// suffix in an origin), `suffix` of `scheme://*.suffix:*`, `host` of `scheme://host:*` (an
/// IPv6 host with its brackets). The scheme is split off by the one parser's scheme rule
/// ([`split_scheme`]); a text without such a scheme hashes whole (it is in no table, so a
/// lookup of it can only miss).
fn pattern_host(k: &[u8]) -> &[u8] {
    let rest = split_scheme(k).map_or(k, |(_, rest)| rest);
    let rest = rest.strip_suffix(b":*").unwrap_or(rest);
    rest.strip_prefix(b"*.").unwrap_or(rest)
}

/// Whether a pattern key holds `://*.` (a wildcard label; otherwise it is `scheme://host:*`).
const fn has_wildcard_label(k: &[u8]) -> bool {
    let mut rest = k;
    while let [_, tail @ ..] = rest {
        if let [b':', b'/', b'/', b'*', b'.', ..] = rest {
            return true;
        }
        rest = tail;
    }
    false
}

/// A set of origin patterns (`scheme://*.suffix`, `scheme://*.suffix:port`,
/// `scheme://*.suffix:*`, `scheme://host:*`), each key's slot hashed from its host part (the
/// suffix with its port, if the key has one, or the host of `scheme://host:*`): the matcher
/// hashes each suffix of an origin's host where it lies in the origin, with no key to
/// assemble, and compares a visited key with the origin's own bytes.
#[derive(Debug, Clone)]
pub struct PatternSet {
    set: KeySet,
    /// Whether some key is `scheme://host:*`, so that the matcher's `scheme://host:*` probe
    /// can hit.
    pub(crate) host_any_port: bool,
    /// Whether some key ends in `:*` (`scheme://*.suffix:*` or `scheme://host:*`). Without
    /// one, every key is `scheme://*.suffix[:port]`, and the matcher needs no port split.
    pub(crate) any_port: bool,
}

impl PatternSet {
    /// An empty set.
    pub const EMPTY: PatternSet = PatternSet {
        set: KeySet::EMPTY,
        host_any_port: false,
        any_port: false,
    };

    /// The constructor generated code calls (as `__private::pattern_set`, in a `static`): a set
    /// whose slots [`pattern_set`] laid out when the code was generated. Refuses, at compile
    /// time, what [`pattern_set`] refuses at run time (a key that is not a strict pattern) and
    /// a malformed table ([`KeySet::from_raw_parts`]); the flags come from the keys, as
    /// [`pattern_set`] computes them.
    pub(crate) const fn from_raw_parts(
        keys: &'static [Cow<'static, str>],
        slots: &'static [u32],
    ) -> PatternSet {
        let set = KeySet::from_raw_parts(keys, slots, false);
        let mut shape = PatternKeys::NONE;
        let mut rest = keys;
        while let [k, tail @ ..] = rest {
            if let Cow::Borrowed(k) = k {
                shape = shape.add(k);
            }
            rest = tail;
        }
        if !shape.strict {
            refuse("guestlist: a generated pattern table holds a key that is not a strict origin pattern (scheme://*.host, scheme://*.host:port, scheme://*.host:* or scheme://host:*)");
        }
        PatternSet {
            set,
            host_any_port: shape.host_any_port,
            any_port: shape.any_port,
        }
    }

    /// The keys (pattern texts) in index order.
    pub fn keys(&self) -> &[Cow<'static, str>] {
        self.set.keys()
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether the set has no patterns.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The keys and slots, for code generation.
    #[doc(hidden)]
    pub fn as_keyset(&self) -> &KeySet {
        &self.set
    }

    /// The index of the pattern whose text is `key`, if present.
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        self.set.find(
            || hash_bytes(pattern_host(key), false),
            |k| eq_exact(k, key),
        )
    }

    /// For an origin `scheme://host[:port]` (`origin[..head]` is `scheme://`, the host ends at
    /// `host_end`) and a dot of its host at `dot`: the index of `scheme://*.suffix[:port]` (the
    /// origin with `*` for the labels before the dot), else of `scheme://*.suffix:*`. Both are
    /// in the one probe run of the suffix, and both are compared with the origin's own bytes.
    #[inline(always)]
    pub(crate) fn find_wild(
        &self,
        origin: &[u8],
        head: usize,
        dot: usize,
        host_end: usize,
    ) -> Option<u32> {
        let (Some(scheme), Some(dotted), Some(suffix)) = (
            origin.get(..head),
            origin.get(dot..),
            origin.get(dot + 1..host_end),
        ) else {
            return None;
        };
        // Small sets are scanned: no hash.
        let hashed = self.set.keys.len() > LINEAR_MAX;
        let hash = |part: &[u8]| if hashed { hash_bytes(part, false) } else { 0 };
        // With the origin's port (or none): hashed with the port, as the key is.
        let with_port = dotted.get(1..).unwrap_or_default();
        let h = hash(with_port);
        let found = self.set.find(
            || h,
            #[inline(always)]
            |k| is_wild(k, scheme, dotted),
        );
        if found.is_some() || !self.any_port {
            return found;
        }
        // Then `:*`, hashed without the port.
        let h = if suffix.len() == with_port.len() {
            h
        } else {
            hash(suffix)
        };
        let host_dotted = origin.get(dot..host_end).unwrap_or_default();
        self.set.find(
            || h,
            |k| {
                k.strip_suffix(b":*")
                    .is_some_and(|k| is_wild(k, scheme, host_dotted))
            },
        )
    }

    /// For an origin whose host ends at `host_end`, with no port or any: the index of
    /// `scheme://host:*`, compared with the origin's own bytes. `head` is where the host
    /// starts.
    #[inline]
    pub(crate) fn find_host_any_port(
        &self,
        origin: &[u8],
        head: usize,
        host_end: usize,
    ) -> Option<u32> {
        let (Some(lead), Some(host)) = (origin.get(..host_end), origin.get(head..host_end)) else {
            return None;
        };
        self.set.find(
            || hash_bytes(host, false),
            |k| k.strip_suffix(b":*").is_some_and(|k| eq_exact(k, lead)),
        )
    }
}

/// Whether `k` is `scheme://*` and then `rest`: the origin's `scheme://`, a `*`, the rest.
#[inline(always)]
fn is_wild(k: &[u8], scheme: &[u8], rest: &[u8]) -> bool {
    let head = scheme.len();
    k.len() == head + 1 + rest.len()
        && k.get(head + 1..).is_some_and(|r| eq_exact(r, rest))
        && k.get(head) == Some(&b'*')
        && k.get(..head).is_some_and(|s| eq_exact(s, scheme))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CorsSpec, Policy};

    /// The pattern search's reference: the origin split and checked first, then every candidate
    /// key, in the matcher's order, looked for in the key list itself (no hashing, no probing).
    fn match_by_parts(patterns: &PatternSet, origin: &[u8]) -> Option<OriginMatch> {
        let (scheme, host, port) = split_origin(origin)?;
        let (scheme, host) = (
            std::str::from_utf8(scheme).ok()?,
            std::str::from_utf8(host).ok()?,
        );
        let index = |key: String| {
            patterns
                .keys()
                .iter()
                .position(|k| *k == key)
                .map(|i| OriginMatch::Pattern(i as u32))
        };
        if let Some(m) = index(format!("{scheme}://{host}:*")) {
            return Some(m);
        }
        if host.starts_with('[') {
            return None;
        }
        let port = port.map(|p| format!(":{}", std::str::from_utf8(p).unwrap_or("?")));
        for (i, _) in host.match_indices('.') {
            let suffix = &host[i + 1..];
            let this_port = format!("{scheme}://*.{suffix}{}", port.as_deref().unwrap_or(""));
            if let Some(m) = index(this_port).or_else(|| index(format!("{scheme}://*.{suffix}:*")))
            {
                return Some(m);
            }
        }
        None
    }

    /// The strict origin form, re-stated from spec/language.md section 4 with the standard
    /// library's parsers (no byte classes, no single pass): `scheme "://" host [":" port]` with
    /// a lowercase RFC 3986 scheme; a host of lowercase LDH labels (RFC 1034: 1 to 63 bytes
    /// each, 253 in all) or a bracketed IPv6 literal (std's `Ipv6Addr` grammar, lowercase);
    /// a port of 1 to 65535 written without a leading zero. Origins longer than 328 bytes (a
    /// 64-byte scheme, `://`, a 255-byte host, `:65535`) are never strict.
    fn reference_split(o: &[u8]) -> Option<OriginParts<'_>> {
        if o.len() > 328 {
            return None;
        }
        let s = std::str::from_utf8(o).ok()?;
        let (scheme, rest) = s.split_once("://")?;
        let mut chars = scheme.chars();
        let scheme_ok = chars.next()?.is_ascii_lowercase()
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
        if !scheme_ok {
            return None;
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (inner, after) = bracketed.split_once(']')?;
            let ipv6 = inner.parse::<std::net::Ipv6Addr>().is_ok();
            if !ipv6 || inner.chars().any(|c| c.is_ascii_uppercase()) {
                return None;
            }
            (&rest[..inner.len() + 2], after)
        } else {
            let (host, after) = match rest.find(':') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let ldh = |l: &str| {
                (1..=63).contains(&l.len())
                    && l.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            };
            if host.len() > 253 || !host.split('.').all(ldh) {
                return None;
            }
            (host, after)
        };
        let port = match port {
            "" => None,
            p => {
                let digits = p.strip_prefix(':')?;
                let n: u32 = digits.parse().ok()?;
                let plain = digits.bytes().all(|b| b.is_ascii_digit()) && !digits.starts_with('0');
                if !plain || !(1..=65535).contains(&n) {
                    return None;
                }
                Some(digits.as_bytes())
            }
        };
        Some((scheme.as_bytes(), host.as_bytes(), port))
    }

    #[test]
    fn one_pass_origin_split_agrees_with_the_reference() {
        let mut origins: Vec<Vec<u8>> = Vec::new();
        // Every host part of up to 5 bytes over an alphabet with every byte class the host
        // check distinguishes (brackets included), behind "https://".
        for rest in crate::headers::every_string(b"a0-.:[]Z_", 5) {
            origins.push([&b"https://"[..], &rest].concat());
        }
        // Every whole origin of up to 7 bytes over the separators and two host bytes.
        origins.extend(crate::headers::every_string(b"a:/[]1", 7));
        // Schemes, hosts and ports at and around every bound, combined.
        let long_scheme = "a".repeat(70);
        let schemes = [
            "https",
            "http",
            "a",
            "a1+.-",
            "1a",
            "A",
            "htTp",
            "",
            &long_scheme,
        ];
        let mut hosts: Vec<String> = [
            "a",
            "a.b",
            "a-b.c0",
            "-",
            "a..b",
            ".a",
            "a.",
            "A.b",
            "a_b",
            "[::1]",
            "[::]",
            "[1:2:3:4:5:6:7:8]",
            "[1:2:3:4:5:6:7:8:9]",
            "[::ffff:1.2.3.4]",
            "[::FFFF]",
            "[:]",
            "[]",
            "[1]",
            "[::1",
            "[::1]x",
            "[::1]]",
            "[g::1]",
            "[fe80::1%25eth0]",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        for n in [62usize, 63, 64, 120, 252, 253, 254] {
            hosts.push("a".repeat(n));
            let mut labels = "abcdefghi.".repeat(n / 10 + 1);
            labels.truncate(n);
            hosts.push(labels);
        }
        let ports = [
            "", ":", ":0", ":1", ":01", ":443", ":65535", ":65536", ":99999", ":123456", ":8a",
            ":+1", ": 1", "::1",
        ];
        for scheme in schemes {
            for host in &hosts {
                for port in ports {
                    origins.push(format!("{scheme}://{host}{port}").into_bytes());
                }
            }
        }
        let mut strict = 0;
        for o in &origins {
            let want = reference_split(o);
            strict += usize::from(want.is_some());
            assert_eq!(split_origin(o), want, "{:?}", String::from_utf8_lossy(o));
        }
        // The inputs reach both answers, bracketed hosts included.
        assert!(strict > 1_000, "{strict} strict origins");
        assert!(reference_split(b"https://[::1]:8443").is_some());
        assert!(split_origin(b"ht:tp://x").is_none());
        assert!(split_origin(b"https:/x").is_none());
        assert_eq!(
            split_origin(b"https://a.b:8443"),
            Some((&b"https"[..], &b"a.b"[..], Some(&b"8443"[..])))
        );
    }

    #[test]
    fn contiguous_pattern_keys_match_like_pieces() {
        let base = [
            "https://*.example.com",
            "https://*.a.example.com:*",
            "http://*.example.org:8080",
            "https://host.example.net:*",
            "http://*.b.c.d",
            "https://*.xn--bcher-kva.example",
        ];
        let origins = [
            "https://x.example.com",
            "https://x.y.example.com",
            "https://example.com",
            "https://x.a.example.com",
            "https://x.a.example.com:444",
            "http://x.example.org:8080",
            "http://x.example.org",
            "https://host.example.net",
            "https://host.example.net:1",
            "http://a.b.c.d",
            "http://b.c.d",
            "https://[::1]",
            "https://q.xn--bcher-kva.example",
            "https://x.example.com.evil.net",
            "https://",
        ];
        let long = format!("https://{}.example.com", "a".repeat(300));
        for extra in [0usize, 20] {
            let mut keys: Vec<String> = base.iter().map(|k| k.to_string()).collect();
            keys.extend((0..extra).map(|i| format!("https://*.t{i}.example.io")));
            let set = crate::origin::pattern_set(keys).unwrap();
            for o in origins.iter().map(|o| o.to_string()).chain([long.clone()]) {
                assert_eq!(
                    match_origin(false, &KeySet::EMPTY, &set, o.as_bytes()),
                    match_by_parts(&set, o.as_bytes()),
                    "{o} with {extra} extra patterns"
                );
            }
            assert!(
                match_origin(false, &KeySet::EMPTY, &set, b"https://q.t3.example.io").is_some()
                    == (extra > 0)
            );
        }
    }

    #[test]
    fn probing_before_checking_agrees_with_checking_first() {
        // The matcher checks an origin only when a probe hits; the reference splits and checks
        // every origin first. Every string of up to 5 bytes over an alphabet with every byte
        // class the checks distinguish, in front of and instead of a pattern's host.
        // With a `scheme://host:*` key and without one (the matcher then skips that probe; the
        // reference always looks), each as a small set (scanned) and a large one (probed).
        // (`*.com:*` before `*.com`: when both port forms of a suffix are listed, the
        // default-port one is the match.)
        let with = vec![
            "https://*.com:*",
            "https://*.example.com",
            "https://*.a.example.com:*",
            "https://host.example.net:*",
            "http://*.b.c:8080",
            "https://*.com",
            // Schemes as long as `https` and `http`, one byte off.
            "httpz://*.example.com",
            "xttps://*.example.org",
            "htxp://*.b.c:8080",
        ];
        let without: Vec<_> = with.iter().copied().filter(|k| k.contains("*.")).collect();
        // No `:*` key at all: the matcher then searches without splitting the origin.
        let no_any_port: Vec<_> = with
            .iter()
            .copied()
            .filter(|k| !k.ends_with(":*"))
            .collect();
        let mut hits = 0;
        for (keys, host_any_port, any_port) in [
            (with, true, true),
            (without, false, true),
            (no_any_port, false, false),
        ] {
            for extra in [0, 12] {
                let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                keys.extend((0..extra).map(|i| format!("https://*.t{i}.example.io")));
                let set = crate::origin::pattern_set(keys).unwrap();
                assert_eq!(set.host_any_port, host_any_port);
                assert_eq!(set.any_port, any_port);
                for s in crate::headers::every_string(b"a0-.:[Z*", 5) {
                    let s = String::from_utf8(s).unwrap();
                    for o in [
                        format!("https://{s}"),
                        format!("https://{s}.example.com"),
                        format!("https://{s}example.com"),
                        format!("https://{s}.a.example.com"),
                        format!("http://{s}.b.c:8080"),
                        format!("https://{s}host.example.net"),
                        format!("https://x.{s}"),
                        format!("http{s}://x.example.com"),
                        format!("http://x.b.c:80{s}"),
                        format!("https://{s}.com:443"),
                        format!("httpz://{s}.example.com"),
                        format!("htxp://{s}.b.c:8080"),
                        format!("https://{s}.example.org"),
                    ] {
                        let got = match_origin(false, &KeySet::EMPTY, &set, o.as_bytes());
                        assert_eq!(got, match_by_parts(&set, o.as_bytes()), "{o}");
                        hits += usize::from(got.is_some());
                    }
                }
            }
        }
        assert!(hits > 1000, "{hits}");
        let set = crate::origin::pattern_set(vec![
            "https://*.example.com".to_string(),
            "https://*.com".to_string(),
            "https://*.com:8443".to_string(),
        ])
        .unwrap();
        // Labels of 63 and 64 bytes, hosts of 253 and 254, with and without a port.
        let label = |n| "a".repeat(n);
        let with_port = |n| format!("https://{0}.{0}.{0}.{1}.com:8443", label(63), label(n));
        let mut hits = 0;
        for o in [
            with_port(50),
            with_port(57),
            with_port(58),
            format!("https://{}.example.com", label(63)),
            format!("https://{}.example.com", label(64)),
            format!("https://{}.{}.example.com", label(63), label(64)),
            format!(
                "https://{}.{}.{}.example.com",
                label(63),
                label(63),
                label(63)
            ),
            format!(
                "https://{}.{}.{}.{}.com",
                label(63),
                label(63),
                label(63),
                label(57)
            ),
            format!(
                "https://{}.{}.{}.{}.com",
                label(63),
                label(63),
                label(63),
                label(58)
            ),
        ] {
            let got = match_origin(false, &KeySet::EMPTY, &set, o.as_bytes());
            assert_eq!(got, match_by_parts(&set, o.as_bytes()), "{o}");
            hits += usize::from(got.is_some());
        }
        assert_eq!(hits, 5);
    }

    #[test]
    fn only_strict_patterns_are_tables_keys() {
        for ok in [
            "https://*.example.com",
            "https://*.example.com:8443",
            "https://*.example.com:*",
            "https://example.com:*",
            "https://[::1]:*",
            "http://*.xn--bcher-kva.example",
            "chrome-extension://*.abc",
        ] {
            assert!(strict_pattern(ok), "{ok}");
        }
        for bad in [
            "https://example.com",
            "https://*.Example.com",
            "HTTPS://*.example.com",
            "https://*.example.com:0",
            "https://*.example..com",
            "https://*..example.com",
            "https://*.example.com.",
            "https://*.",
            "https://*.example.com:8443:*",
            "https:/*.example.com",
            "*.example.com",
            "",
        ] {
            assert!(!strict_pattern(bad), "{bad}");
        }
        let spec = |p: &str| CorsSpec {
            name: "c".into(),
            patterns: vec![p.into()],
            ..Default::default()
        };
        assert!(Policy::build(vec![], vec![spec("https://*.example.com")]).is_ok());
        assert_eq!(
            Policy::build(vec![], vec![spec("https://*.EXAMPLE.com")]).err(),
            Some(crate::TableError::InvalidPattern(
                "https://*.EXAMPLE.com".into()
            ))
        );
    }

    #[test]
    fn origin_authority_is_strict() {
        assert_eq!(
            origin_authority(b"https://a.test:8443"),
            Some(&b"a.test:8443"[..])
        );
        assert_eq!(origin_authority(b"https://a.test/x"), None);
        assert_eq!(origin_authority(b"null"), None);
        assert_eq!(origin_authority(b"https://"), None);
    }

    #[test]
    fn pattern_sets_know_whether_they_have_host_any_port_keys() {
        static WILD: [Cow<'static, str>; 2] = [
            Cow::Borrowed("https://*.a.example.com"),
            Cow::Borrowed("https://*.b.example.com:*"),
        ];
        static PLAIN: [Cow<'static, str>; 2] = [
            Cow::Borrowed("https://*.a.example.com"),
            Cow::Borrowed("http://localhost:*"),
        ];
        // Generated tables: computed in a `const` (a set of two keys is scanned, so the slots
        // only need the right count).
        static WILD_SET: PatternSet = PatternSet::from_raw_parts(&WILD, &[1, 2, 0, 0]);
        static PLAIN_SET: PatternSet = PatternSet::from_raw_parts(&PLAIN, &[1, 2, 0, 0]);
        assert!(!WILD_SET.host_any_port && WILD_SET.any_port);
        assert!(PLAIN_SET.host_any_port && PLAIN_SET.any_port);
        // Run-time tables.
        let set = |keys: &[Cow<'static, str>]| {
            pattern_set(keys.iter().map(|k| k.to_string()).collect()).unwrap()
        };
        assert!(!set(&WILD).host_any_port && set(&WILD).any_port);
        assert!(set(&PLAIN).host_any_port && set(&PLAIN).any_port);
        assert!(!set(&WILD[..1]).host_any_port && !set(&WILD[..1]).any_port);
    }

    #[test]
    fn a_malformed_generated_pattern_table_only_misses() {
        // Keys a compiler never writes, in a set without `:*` keys (so `find_suffix` searches
        // it): a plain origin (no `*` where `WildHead` expects one) and schemes one byte off.
        static BAD: [Cow<'static, str>; 4] = [
            Cow::Borrowed("https://a.example.com"),
            Cow::Borrowed("http://ab.example.com"),
            Cow::Borrowed("https:/*.example.com"),
            Cow::Borrowed("https//*.example.com"),
        ];
        let shape = BAD.iter().fold(PatternKeys::NONE, |s, k| s.add(k));
        assert!(!shape.strict && !shape.any_port);
        let set = PatternSet {
            set: crate::keyset::tests::unchecked(&BAD, &[]),
            host_any_port: shape.host_any_port,
            any_port: shape.any_port,
        };
        for origin in [
            "https://b.example.com",
            "https://a.example.com",
            "http://b.example.com",
            "http://xy.example.com",
            "https:/x.example.com",
        ] {
            assert_eq!(
                crate::origin::match_origin(false, &KeySet::EMPTY, &set, origin.as_bytes()),
                None,
                "{origin}"
            );
        }
        // The same origins under the well-formed key do match (the search above ran).
        static GOOD: [Cow<'static, str>; 1] = [Cow::Borrowed("https://*.example.com")];
        static GOOD_SET: PatternSet = PatternSet::from_raw_parts(&GOOD, &[1, 0, 0, 0]);
        let hit = |o: &str| {
            crate::origin::match_origin(false, &KeySet::EMPTY, &GOOD_SET, o.as_bytes()).is_some()
        };
        assert!(hit("https://b.example.com") && hit("https://a.example.com"));
    }

    #[test]
    fn pattern_keys_are_hashed_by_their_host_part() {
        for (key, host) in [
            ("https://*.example.com", "example.com"),
            ("https://*.example.com:8443", "example.com:8443"),
            ("https://*.example.com:*", "example.com"),
            ("http://localhost:*", "localhost"),
            ("http://[::1]:*", "[::1]"),
            ("http://*.a.b", "a.b"),
            ("no-scheme", "no-scheme"),
            ("https://plain.example.com", "plain.example.com"),
        ] {
            assert_eq!(pattern_host(key.as_bytes()), host.as_bytes(), "{key}");
        }
        // Every key is found by its text, in small (scanned) and large (hashed) sets.
        for n in [3usize, 40] {
            let keys: Vec<String> = (0..n)
                .flat_map(|i| {
                    [
                        format!("https://*.t{i}.example.com"),
                        format!("https://*.t{i}.example.com:8443"),
                        format!("http://*.t{i}.example.com:*"),
                        format!("http://h{i}.example.com:*"),
                    ]
                })
                .collect();
            let set = pattern_set(keys.clone()).unwrap();
            for (i, k) in keys.iter().enumerate() {
                assert_eq!(set.get(k.as_bytes()), Some(i as u32), "{k}");
            }
            assert_eq!(set.get(b"https://*.t0.example.com:1"), None);
            assert_eq!(set.get(b"https://t0.example.com"), None);
            // An origin's first label stands for the `*`.
            let wild = |origin: &str| {
                let o = origin.as_bytes();
                let head = origin.find("://").unwrap() + 3;
                let dot = head + origin[head..].find('.').unwrap();
                let host_end = head + origin[head..].find(':').unwrap_or(origin.len() - head);
                set.find_wild(o, head, dot, host_end)
            };
            assert_eq!(wild("https://a.t1.example.com"), Some(4));
            assert_eq!(wild("https://a.t1.example.com:8443"), Some(5));
            assert_eq!(wild("https://a.t1.example.com:8444"), None);
            assert_eq!(wild("https://a.t1.example.co"), None);
            assert_eq!(wild("http://a.t1.example.com:1"), Some(6));
            assert_eq!(wild("http://a.t1.example.com"), Some(6));
            assert_eq!(wild("ftp://a.t1.example.com"), None);
            let any = |origin: &str, host_end: usize| {
                let head = origin.find("://").unwrap() + 3;
                set.find_host_any_port(origin.as_bytes(), head, host_end)
            };
            assert_eq!(any("http://h1.example.com", 21), Some(7));
            assert_eq!(any("http://h1.example.com:8080", 21), Some(7));
            assert_eq!(any("https://h1.example.com", 22), None);
            assert_eq!(any("http://h1.example.co", 20), None);
        }
    }
}
