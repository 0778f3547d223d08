//! `KeySet`: the one hash table behind every O(1) lookup (origins, patterns, routes, headers).
//!
//! Open addressing with linear probing over a power-of-two slot array, a word-at-a-time hash, load
//! factor at most 1/2. The same type is built at run time ([`KeySet::new`]) or written out by
//! generated code as a `static` ([`KeySet::from_raw_parts`]); both use the same lookup path.
//!
//! Why not a `HashMap`: it cannot be a `static`, and its hasher is seeded per process, so tables
//! could not be precomputed. Hash flooding is not a concern: the keys are fixed by the policy,
//! an attacker only issues lookups, and a lookup probes at most the longest cluster (bounded by
//! the slot count), which is decided when the table is built.

use std::borrow::Cow;

/// A string owned by a table: borrowed in `static`s, owned when built at run time.
pub type Str = Cow<'static, str>;

/// Why the runtime's tables cannot be built out of plain data ([`KeySet::new`],
/// [`Policy::build`](crate::Policy::build), [`Policy::from_spec`](crate::Policy::from_spec)).
/// The compiler's checker refuses such policies first, with a diagnostic; this is the runtime's
/// own guard. (Not to be confused with `guestlist_compiler::BuildError`, build.rs's error.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableError {
    /// A key appears twice; each key must be unique so that its index is its identity.
    DuplicateKey(String),
    /// More keys than a `u32` index can name.
    TooManyKeys,
    /// A table refers to something that does not exist (an index out of range).
    BadReference(&'static str),
    /// `*` origins combined with credentials: browsers refuse it, so the runtime refuses to build it.
    WildcardWithCredentials(String),
    /// A header value that HTTP cannot carry.
    InvalidHeaderValue(String),
    /// An origin pattern not in the strict form the matcher relies on (`scheme://*.host`,
    /// `scheme://*.host:port`, `scheme://*.host:*` or `scheme://host:*`, lowercase, as the
    /// compiler writes them).
    InvalidPattern(String),
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableError::DuplicateKey(k) => write!(f, "duplicate key {k:?}"),
            TableError::TooManyKeys => write!(f, "too many keys for one table"),
            TableError::BadReference(what) => write!(f, "reference out of range: {what}"),
            TableError::InvalidHeaderValue(v) => write!(f, "invalid header value {v:?}"),
            TableError::InvalidPattern(p) => write!(f, "invalid origin pattern {p:?}"),
            TableError::WildcardWithCredentials(name) => {
                write!(f, "cors policy {name:?} allows origin `*` with credentials")
            }
        }
    }
}

impl std::error::Error for TableError {}

/// Refuses a malformed generated table. Only the constructors generated code calls (through
/// `crate::__private`) use it; that code calls them in the `static`s it builds, which are
/// evaluated at compile time, so the refusal is a build error naming what is wrong. (The
/// tables the compiler generates pass these checks; only a hand-edited table is refused.)
#[expect(
    clippy::panic,
    reason = "evaluated at compile time in generated statics: a build error, by design"
)]
pub(crate) const fn refuse(what: &'static str) -> ! {
    panic!("{}", what)
}

/// Whether `a` and `b` are the same bytes (a `const fn`, for compile-time table checks).
pub(crate) const fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut a, mut b) = (a, b);
    while let ([x, a_tail @ ..], [y, b_tail @ ..]) = (a, b) {
        if *x != *y {
            return false;
        }
        a = a_tail;
        b = b_tail;
    }
    true
}

/// The slot count of a table of `n` keys (load at most 1/2, at least four slots; none for no
/// key), as [`KeySet::new`] lays it out.
const fn capacity(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        let c = (n * 2).next_power_of_two();
        if c < 4 {
            4
        } else {
            c
        }
    }
}

/// A set of byte-string keys; each key's identity is its index in insertion order.
#[derive(Debug, Clone)]
pub struct KeySet {
    pub(crate) keys: Cow<'static, [Cow<'static, str>]>,
    /// `0` marks an empty slot; otherwise `key index + 1`.
    slots: Cow<'static, [u32]>,
    fold_case: bool,
}

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// Folded multiply: the 128-bit product's halves xored (as in foldhash).
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

/// ASCII-lowercases the eight bytes of `w` at once (SWAR): bytes `A`..=`Z` gain 0x20.
#[inline]
fn lower8(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = w & !HIGH;
    let above_z = low7.wrapping_add((0x7f - u64::from(b'Z')) * ONES);
    let from_a = low7.wrapping_add((0x80 - u64::from(b'A')) * ONES);
    let upper = from_a & !above_z & !w & HIGH;
    w | (upper >> 2)
}

/// A streaming hash over the concatenation of byte slices, eight bytes at a time.
struct Hasher {
    h: u64,
    buf: u64,
    used: u32,
    len: u64,
    fold_case: bool,
}

impl Hasher {
    #[inline]
    fn word(&mut self, w: u64) {
        let w = if self.fold_case { lower8(w) } else { w };
        self.h = fold_mul(self.h ^ w, MUL);
    }

    #[inline]
    fn write(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        // Top up a partial word first.
        while self.used != 0 {
            let Some((&b, rest)) = bytes.split_first() else {
                return;
            };
            self.buf |= u64::from(b) << (8 * self.used);
            self.used += 1;
            bytes = rest;
            if self.used == 8 {
                let w = self.buf;
                self.buf = 0;
                self.used = 0;
                self.word(w);
            }
        }
        let mut chunks = bytes.chunks_exact(8);
        for c in chunks.by_ref() {
            self.word(le_word(c));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // `used` is 0 here: the tail is the start of the next word, loaded at once.
            self.buf = le_word(rest);
            self.used = rest.len() as u32;
        }
    }

    #[inline]
    fn finish(mut self) -> u64 {
        if self.used != 0 {
            let w = self.buf;
            self.word(w);
        }
        fold_mul(self.h ^ self.len, MUL)
    }
}

/// [`hash_parts`] of one contiguous key, without the streaming state (the same value).
#[inline]
pub(crate) fn hash_bytes(key: &[u8], fold_case: bool) -> u64 {
    // One function per case: the exact hash (origins, routes) needs few registers, and no
    // branch per word.
    if fold_case {
        hash_folded(key)
    } else {
        hash_exact(key)
    }
}

/// [`hash_bytes`] of an exact set's key.
#[inline(never)]
fn hash_exact(key: &[u8]) -> u64 {
    hash_words(key, |w| w)
}

/// [`hash_bytes`] of a fold-case set's key.
#[inline(never)]
fn hash_folded(key: &[u8]) -> u64 {
    hash_words(key, lower8)
}

/// [`hash_bytes`] with `word` applied to every word.
#[inline(always)]
fn hash_words(key: &[u8], word: impl Fn(u64) -> u64) -> u64 {
    let mut h = SEED;
    let n = key.len();
    if let (17..=32, Some(head), Some(last)) = (n, key.first_chunk::<16>(), key.last_chunk::<8>()) {
        // Most origins: the same words as the loop below, without the loop. Two or three
        // whole words, then the tail as the last eight bytes shifted down past the bytes
        // already hashed.
        let (lo, hi) = head.split_at(8);
        h = fold_mul(h ^ word(le_word(lo)), MUL);
        h = fold_mul(h ^ word(le_word(hi)), MUL);
        let whole = if n > 24 {
            if let Some(w) = key.get(16..24) {
                h = fold_mul(h ^ word(le_word(w)), MUL);
            }
            32
        } else {
            24
        };
        let tail = u64::from_le_bytes(*last) >> (8 * (whole - n));
        h = fold_mul(h ^ word(tail), MUL);
        return fold_mul(h ^ n as u64, MUL);
    }
    let mut chunks = key.chunks_exact(8);
    for c in chunks.by_ref() {
        h = fold_mul(h ^ word(le_word(c)), MUL);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // A key of eight bytes or more: its last eight, shifted down past the bytes already
        // hashed (the same zero-padded word as `le_word(rest)`, one load).
        let tail = match key.last_chunk::<8>() {
            Some(w) => u64::from_le_bytes(*w) >> (8 * (8 - rest.len())),
            None => le_word(rest),
        };
        h = fold_mul(h ^ word(tail), MUL);
    }
    fold_mul(h ^ key.len() as u64, MUL)
}

/// Bytes `b` of `w` marked by their high bit (exact, no false positives; SWAR).
#[inline(always)]
pub(crate) fn bytes_eq(w: u64, b: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = w ^ (0x0101_0101_0101_0101 * u64::from(b));
    // A byte of `x` is zero exactly when its low seven bits plus 0x7f do not carry into the
    // high bit and its own high bit is clear.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Up to eight bytes as a little-endian word, zero-padded (both hashers' word and tail load).
/// A tail of one to seven bytes is read as two overlapping loads of the widest size that fits
/// (a `memcpy` into a zeroed word would be a call per hash).
#[inline(always)]
pub(crate) fn le_word(bytes: &[u8]) -> u64 {
    if let Some(w) = bytes.first_chunk::<8>() {
        return u64::from_le_bytes(*w);
    }
    overlapping::<4>(bytes)
        .or_else(|| overlapping::<2>(bytes))
        .unwrap_or_else(|| bytes.first().copied().map_or(0, u64::from))
}

/// `N` to `2N` bytes as a zero-padded little-endian word, from the first `N` and the last `N`
/// (overlapping: the shared bytes are the same in both). `None` for fewer than `N` bytes.
#[inline(always)]
fn overlapping<const N: usize>(bytes: &[u8]) -> Option<u64> {
    let word = |c: &[u8; N]| {
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..N) {
            dst.copy_from_slice(c);
        }
        u64::from_le_bytes(w)
    };
    let (lo, hi) = (bytes.first_chunk::<N>()?, bytes.last_chunk::<N>()?);
    Some(word(lo) | (word(hi) << (8 * (bytes.len() - N))))
}

/// Hashes the concatenation of `parts` (the table layout depends on it: generated code stores
/// slot positions computed with this exact function, see `TABLE_FORMAT` in the crate root).
#[inline]
pub(crate) fn hash_parts(parts: &[&[u8]], fold_case: bool) -> u64 {
    let mut h = Hasher {
        h: SEED,
        buf: 0,
        used: 0,
        len: 0,
        fold_case,
    };
    for p in parts {
        h.write(p);
    }
    h.finish()
}

/// Up to this many keys, lookups scan the keys instead of hashing (same answers: a hash of a
/// short key costs more than a few length checks).
pub(crate) const LINEAR_MAX: usize = 8;

/// Equality of slices of at least eight bytes, eight bytes at a time through `map` (the
/// last word overlaps the one before it when the length is not a multiple of eight).
#[inline(always)]
fn eq_words(a: &[u8], b: &[u8], map: impl Fn(u64) -> u64) -> bool {
    let word = |s: &[u8], at: usize| {
        s.get(at..at + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(|w| map(u64::from_le_bytes(w)))
    };
    let n = a.len();
    if n != b.len() || n < 8 {
        return false;
    }
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

/// ASCII case-insensitive equality, eight bytes at a time.
#[inline]
fn eq_fold(a: &[u8], b: &[u8]) -> bool {
    if a.len() < 8 {
        return a.eq_ignore_ascii_case(b);
    }
    eq_words(a, b, lower8)
}

/// Byte equality without a call to `memcmp` (keys are short: origins, paths): eight bytes
/// at a time, and a short slice as two overlapping loads.
#[inline(always)]
pub(crate) fn eq_exact(a: &[u8], b: &[u8]) -> bool {
    fn two<const N: usize>(s: &[u8]) -> Option<([u8; N], [u8; N])> {
        let head = s.get(..N)?.try_into().ok()?;
        let tail = s.get(s.len().checked_sub(N)?..)?.try_into().ok()?;
        Some((head, tail))
    }
    let same = |at: usize| {
        let word = |s: &[u8]| s.get(at..at + 8).map(le_word);
        word(a) == word(b)
    };
    match a.len() {
        n if n != b.len() => false,
        // Four words, the last two overlapping the first two: most origins are 17 to 32 bytes.
        n @ 17..=32 => same(0) && same(8) && same(n - 16) && same(n - 8),
        // Two words, the second overlapping the first: most header names.
        n @ 8..=16 => same(0) && same(n - 8),
        8.. => eq_words(a, b, |w| w),
        4..8 => two::<4>(a) == two::<4>(b),
        2..4 => two::<2>(a) == two::<2>(b),
        _ => a == b,
    }
}

/// Whether the concatenation of `parts` equals `key`.
#[inline]
fn parts_eq(parts: &[&[u8]], key: &[u8], fold_case: bool) -> bool {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if total != key.len() {
        return false;
    }
    let mut rest = key;
    for p in parts {
        let (head, tail) = rest.split_at(p.len());
        let same = if fold_case {
            eq_fold(head, p)
        } else {
            eq_exact(head, p)
        };
        if !same {
            return false;
        }
        rest = tail;
    }
    true
}

impl KeySet {
    /// An empty set (no allocation; usable in a `static`).
    pub const EMPTY: KeySet = KeySet {
        keys: Cow::Borrowed(&[]),
        slots: Cow::Borrowed(&[]),
        fold_case: false,
    };

    /// Builds a set from keys; `fold_case` makes lookups ASCII case-insensitive (header names).
    pub fn new<I, S>(keys: I, fold_case: bool) -> Result<KeySet, TableError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        KeySet::build(keys, fold_case, |k| hash_parts(&[k], fold_case))
    }

    /// [`KeySet::new`] with each key's slot hashed by `hash` (pattern sets hash a part).
    pub(crate) fn build<I, S>(
        keys: I,
        fold_case: bool,
        hash: impl Fn(&[u8]) -> u64,
    ) -> Result<KeySet, TableError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        let mut keys: Vec<Cow<'static, str>> = keys.into_iter().map(Into::into).collect();
        // A vector collected in place from larger items (or grown by pushes) keeps its
        // capacity: the table holds exactly its keys.
        keys.shrink_to_fit();
        let n = keys.len();
        if n >= (u32::MAX / 4) as usize {
            return Err(TableError::TooManyKeys);
        }
        if n == 0 {
            return Ok(KeySet {
                fold_case,
                ..KeySet::EMPTY
            });
        }
        let cap = capacity(n);
        let mask = cap - 1;
        let mut slots = vec![0u32; cap];
        for (i, key) in keys.iter().enumerate() {
            let mut pos = (hash(key.as_bytes()) as usize) & mask;
            loop {
                let Some(slot) = slots.get_mut(pos) else {
                    return Err(TableError::BadReference("slot"));
                };
                if *slot == 0 {
                    // `i < u32::MAX / 4` was checked above.
                    *slot = u32::try_from(i + 1).map_err(|_| TableError::TooManyKeys)?;
                    break;
                }
                let other = slots_key(&keys, *slot);
                if parts_eq(&[key.as_bytes()], other.as_bytes(), fold_case) {
                    return Err(TableError::DuplicateKey(key.to_string()));
                }
                pos = (pos + 1) & mask;
            }
        }
        Ok(KeySet {
            keys: Cow::Owned(keys),
            slots: Cow::Owned(slots),
            fold_case,
        })
    }

    /// The constructor generated code calls (as `__private::key_set`, in a `static`): a table
    /// whose slots [`KeySet::new`] laid out when the code was generated. Refuses, at compile
    /// time, a table [`KeySet::new`] could not have made: an owned key, more keys than an
    /// index names, a slot count other than the one for this many keys, or slots that do not
    /// name each key once by count and range. (Where in its probe run each key sits, and
    /// whether two slots name one key or two keys are equal, is not checked: that would take
    /// the hash, or a pass per key, at compile time. Such a table can only make lookups miss,
    /// which refuses what the key allowed: probing is bounded and every access is checked.)
    pub(crate) const fn from_raw_parts(
        keys: &'static [Cow<'static, str>],
        slots: &'static [u32],
        fold_case: bool,
    ) -> KeySet {
        let n = keys.len();
        if n >= (u32::MAX / 4) as usize {
            refuse("guestlist: a generated key table has too many keys");
        }
        if slots.len() != capacity(n) {
            refuse("guestlist: a generated key table's slot count does not fit its keys");
        }
        let mut rest = keys;
        while let [k, tail @ ..] = rest {
            if let Cow::Owned(_) = k {
                refuse("guestlist: a generated key table owns a key");
            }
            rest = tail;
        }
        let mut used = 0;
        let mut rest = slots;
        while let [slot, tail @ ..] = rest {
            if *slot as usize > n {
                refuse("guestlist: a generated key table's slot names no key");
            }
            if *slot != 0 {
                used += 1;
            }
            rest = tail;
        }
        if used != n {
            refuse("guestlist: a generated key table's slots do not name every key once");
        }
        KeySet {
            keys: Cow::Borrowed(keys),
            slots: Cow::Borrowed(slots),
            fold_case,
        }
    }

    /// The raw slot array (for code generation).
    #[doc(hidden)]
    pub fn raw_slots(&self) -> &[u32] {
        &self.slots
    }

    /// The keys in index order.
    pub fn keys(&self) -> &[Cow<'static, str>] {
        &self.keys
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether lookups ignore ASCII case.
    pub const fn fold_case(&self) -> bool {
        self.fold_case
    }

    /// The keys of a generated table (`None` for a table built at run time), for the
    /// compile-time checks of the tables that hold this one.
    pub(crate) const fn borrowed_keys(&self) -> Option<&'static [Cow<'static, str>]> {
        match &self.keys {
            Cow::Borrowed(keys) => Some(*keys),
            Cow::Owned(_) => None,
        }
    }

    /// Whether stored key `k` equals `key` (ASCII case-insensitively in a fold-case set).
    #[inline(always)]
    fn key_eq(&self, k: &[u8], key: &[u8]) -> bool {
        k.len() == key.len()
            && if self.fold_case {
                eq_fold(k, key)
            } else {
                eq_exact(k, key)
            }
    }

    /// The index of `key`, if present.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        self.find(
            #[inline(always)]
            || hash_bytes(key, self.fold_case),
            #[inline(always)]
            |k| self.key_eq(k, key),
        )
    }

    /// The index of the key `eq` accepts: the keys of a small set are scanned (comparing
    /// lengths and bytes beats hashing a short key), a larger set is probed from `hash()`.
    #[inline(always)]
    pub(crate) fn find(
        &self,
        hash: impl FnOnce() -> u64,
        eq: impl Fn(&[u8]) -> bool,
    ) -> Option<u32> {
        if self.keys.len() <= LINEAR_MAX {
            for (i, k) in self.keys.iter().enumerate() {
                if eq(k.as_bytes()) {
                    return u32::try_from(i).ok();
                }
            }
            return None;
        }
        self.probe(hash(), eq)
    }

    /// For a small set (at most eight keys): the length of the key that `list` starts with,
    /// byte for byte, when that key is followed by `,` or ends `list`. `None` for larger sets,
    /// or when no key starts `list` so. The fast path of the `Access-Control-Request-Headers`
    /// check, which browsers send as `a,b,c` in lowercase: the runtime's header sets hold
    /// lowercase keys (`Cors::build`), so a byte comparison finds them without folding case.
    /// A name in other case is no key here, and is left to the set's own lookup.
    #[inline]
    pub(crate) fn leading_key(&self, list: &[u8]) -> Option<usize> {
        if self.keys.len() > LINEAR_MAX {
            return None;
        }
        self.keys.iter().find_map(|k| {
            let n = k.len();
            let head = list.get(..n)?;
            let delimited = matches!(list.get(n), None | Some(b','));
            (delimited && eq_exact(k.as_bytes(), head)).then_some(n)
        })
    }

    /// The index of `head` followed by `*` (a prefix route's key), if present.
    #[inline]
    pub(crate) fn get_star(&self, head: &[u8]) -> Option<u32> {
        self.find(
            || hash_parts(&[head, b"*"], self.fold_case),
            |k| {
                k.split_last()
                    .is_some_and(|(&last, h)| last == b'*' && self.key_eq(h, head))
            },
        )
    }

    /// Linear probing from `hash` until `eq` accepts a key or an empty slot ends the run.
    #[inline(always)]
    fn probe(&self, hash: u64, eq: impl Fn(&[u8]) -> bool) -> Option<u32> {
        let cap = self.slots.len();
        if cap == 0 {
            return None;
        }
        let mask = cap - 1;
        let mut pos = (hash as usize) & mask;
        for _ in 0..cap {
            let slot = *self.slots.get(pos)?;
            if slot == 0 {
                return None;
            }
            let key = self.keys.get((slot - 1) as usize)?;
            if eq(key.as_bytes()) {
                return Some(slot - 1);
            }
            pos = (pos + 1) & mask;
        }
        None
    }

    /// The index of the concatenation of `parts`, if present, without assembling it (no
    /// allocation): a host and its port, and the reference [`KeySet::get_star`] is tested
    /// against.
    pub(crate) fn get_parts(&self, parts: &[&[u8]]) -> Option<u32> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        self.find(
            || hash_parts(parts, self.fold_case),
            |k| k.len() == total && parts_eq(parts, k, self.fold_case),
        )
    }
}

fn slots_key<'a>(keys: &'a [Cow<'static, str>], slot: u32) -> &'a str {
    keys.get((slot - 1) as usize).map_or("", |k| k.as_ref())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn finds_every_key_and_nothing_else() {
        let keys: Vec<String> = (0..1000)
            .map(|i| format!("https://{i}.example.com"))
            .collect();
        let set = KeySet::new(keys.clone(), false).unwrap();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(set.get(k.as_bytes()), Some(i as u32));
        }
        assert_eq!(set.get(b"https://1000.example.com"), None);
        assert_eq!(set.get(b"https://1.example.com/"), None);
        assert_eq!(set.get(b"HTTPS://1.example.com"), None);
        assert_eq!(
            set.get_parts(&[b"https://", b"7", b".example.com"]),
            Some(7)
        );
    }

    #[test]
    fn word_loads_are_zero_padded_little_endian() {
        let bytes = b"\x01\x82\x03\xf4\x05\x06\x07\x88\x09";
        for n in 0..=bytes.len() {
            let mut want = [0u8; 8];
            let k = n.min(8);
            want[..k].copy_from_slice(&bytes[..k]);
            assert_eq!(le_word(&bytes[..n]), u64::from_le_bytes(want), "{n}");
        }
    }

    #[test]
    fn hash_is_the_same_however_the_key_is_split() {
        let key = b"https://tenant-00042.example.com:8443";
        for fold in [false, true] {
            let whole = hash_parts(&[key], fold);
            for n in 0..key.len() {
                assert_eq!(hash_bytes(&key[..n], fold), hash_parts(&[&key[..n]], fold));
            }
            for i in 0..key.len() {
                for j in i..key.len() {
                    let parts: [&[u8]; 3] = [&key[..i], &key[i..j], &key[j..]];
                    assert_eq!(hash_parts(&parts, fold), whole, "{i} {j}");
                }
            }
        }
        assert_eq!(
            hash_parts(&[b"Content-TYPE"], true),
            hash_parts(&[b"content-type"], true)
        );
        assert_ne!(
            hash_parts(&[b"Content-TYPE"], false),
            hash_parts(&[b"content-type"], false)
        );
        // Only ASCII letters fold: `@` and `[` are neighbours of `A` and `Z`.
        assert_ne!(hash_parts(&[b"@["], true), hash_parts(&[b"`{"], true));
        assert_eq!(
            lower8(u64::from_le_bytes(*b"AZaz@[\x80\xc1")),
            u64::from_le_bytes(*b"azaz@[\x80\xc1")
        );
    }

    #[test]
    fn fold_case_set() {
        let set = KeySet::new(["content-type", "x-request-id"], true).unwrap();
        assert_eq!(set.get(b"X-Request-ID"), Some(1));
        assert_eq!(set.get(b"x-request-i"), None);
    }

    #[test]
    fn duplicates_are_refused() {
        assert!(matches!(
            KeySet::new(["a", "b", "a"], false),
            Err(TableError::DuplicateKey(_))
        ));
        assert!(matches!(
            KeySet::new(["A", "a"], true),
            Err(TableError::DuplicateKey(_))
        ));
    }

    /// A table with the given parts, unchecked: one the generated-table constructor refuses,
    /// to see what lookups do with it anyway.
    pub(crate) fn unchecked(keys: &'static [Cow<'static, str>], slots: &'static [u32]) -> KeySet {
        KeySet {
            keys: Cow::Borrowed(keys),
            slots: Cow::Borrowed(slots),
            fold_case: false,
        }
    }

    #[test]
    fn malformed_static_table_cannot_loop() {
        // Enough keys for the hashed path (small sets scan their keys and ignore the slots).
        static KEYS: [Cow<'static, str>; 9] = [
            Cow::Borrowed("a"),
            Cow::Borrowed("b"),
            Cow::Borrowed("c"),
            Cow::Borrowed("d"),
            Cow::Borrowed("e"),
            Cow::Borrowed("f"),
            Cow::Borrowed("g"),
            Cow::Borrowed("h"),
            Cow::Borrowed("i"),
        ];
        static SLOTS: [u32; 4] = [1, 1, 1, 1];
        let set = unchecked(&KEYS, &SLOTS);
        assert_eq!(set.get(b"zzz"), None);
        static BAD: [u32; 4] = [99, 99, 99, 99];
        let set = unchecked(&KEYS, &BAD);
        assert_eq!(set.get(b"a"), None);
        // A small set answers from its keys whatever its slots say.
        let small = unchecked(&KEYS[..1], &BAD);
        assert_eq!(small.get(b"a"), Some(0));
        assert_eq!(small.get(b"b"), None);
    }

    #[test]
    fn eq_exact_is_byte_equality() {
        // Every length up to five words: equal, one byte changed at every position, and
        // different lengths.
        for n in 0..=40usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(eq_exact(&a, &a));
            assert!(!eq_exact(&a, &a[..n.saturating_sub(1)]) || n == 0);
            for at in 0..n {
                for change in [0x20u8, 0x01, 0x80] {
                    let mut b = a.clone();
                    b[at] ^= change;
                    assert!(!eq_exact(&a, &b), "{n} {at} {change}");
                }
            }
        }
    }

    #[test]
    fn eq_fold_is_ascii_case_insensitive_equality() {
        let words: [&[u8]; 8] = [
            b"",
            b"a",
            b"A",
            b"content-type",
            b"Content-Type",
            b"CONTENT-TYPE",
            b"content-typf",
            b"x-\xc3\xa9\x40[`{@Zz",
        ];
        for a in words {
            for b in words {
                assert_eq!(eq_fold(a, b), a.eq_ignore_ascii_case(b), "{a:?} {b:?}");
            }
        }
        // Every length up to three words (the last word overlaps when the length is not a
        // multiple of eight): one byte changed, or its case flipped, at every position.
        for n in 0..=24usize {
            let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(eq_fold(&a, &a));
            for at in 0..n {
                for change in [0x20u8, 0x01] {
                    let mut b = a.clone();
                    b[at] ^= change;
                    assert_eq!(eq_fold(&a, &b), a.eq_ignore_ascii_case(&b), "{n} {at}");
                }
            }
        }
        // Every byte pair, one position at a time, at every offset of a 16-byte word.
        for x in 0..=255u8 {
            for y in [x, x ^ 0x20, x.wrapping_add(1)] {
                for at in [0usize, 7, 8, 15] {
                    let mut a = *b"abcdefghijklmnop";
                    let mut b = a;
                    a[at] = x;
                    b[at] = y;
                    assert_eq!(
                        eq_fold(&a, &b),
                        a.eq_ignore_ascii_case(&b),
                        "{x} {y} at {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn small_and_hashed_sets_agree() {
        for n in [1usize, 5, 8, 9, 40] {
            let keys: Vec<String> = (0..n).map(|i| format!("X-Key-{i}")).collect();
            for fold in [false, true] {
                let set = KeySet::new(keys.clone(), fold).unwrap();
                for (i, k) in keys.iter().enumerate() {
                    assert_eq!(set.get(k.as_bytes()), Some(i as u32));
                    let lower = k.to_ascii_lowercase();
                    assert_eq!(set.get(lower.as_bytes()), fold.then_some(i as u32));
                    let (a, b) = k.split_at(3);
                    assert_eq!(set.get_parts(&[a.as_bytes(), b.as_bytes()]), Some(i as u32));
                }
                assert_eq!(set.get(b"X-Key-"), None);
                assert_eq!(set.get(b""), None);
            }
        }
    }

    #[test]
    fn get_star_is_get_parts_with_a_star() {
        for n in [1usize, 8, 9, 40] {
            let mut keys: Vec<String> = (0..n).map(|i| format!("/p{i}/*")).collect();
            keys.push("/exact".into());
            keys.push("/q/".into());
            for fold in [false, true] {
                let set = KeySet::new(keys.clone(), fold).unwrap();
                let heads: Vec<String> = (0..n + 2)
                    .map(|i| format!("/p{i}/"))
                    .chain(["/exact".into(), "/exac".into(), "/q".into(), "/q/".into()])
                    .chain(["/P0/".into(), "".into(), "/".into()])
                    .collect();
                for h in &heads {
                    assert_eq!(
                        set.get_star(h.as_bytes()),
                        set.get_parts(&[h.as_bytes(), b"*"]),
                        "{h:?} n={n} fold={fold}"
                    );
                }
                assert_eq!(set.get_star(b"/p0/"), Some(0));
            }
        }
    }
}
