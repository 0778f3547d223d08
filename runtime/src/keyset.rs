//! `KeySet`: the one hash table behind every O(1) lookup (origins, patterns, routes, headers).
//!
//! Open addressing with linear probing over a power-of-two slot array, FNV-1a hashing, load
//! factor at most 1/2. The same type is built at run time ([`KeySet::new`]) or written out by
//! generated code as a `static` ([`KeySet::from_raw_parts`]); both use the same lookup path.
//!
//! Why not a `HashMap`: it cannot be a `static`, and its hasher is seeded per process, so tables
//! could not be precomputed. Hash flooding is not a concern: the keys are fixed by the policy,
//! an attacker only issues lookups, and a lookup probes at most the longest cluster (bounded by
//! the slot count), which is decided when the table is built.

use std::borrow::Cow;

/// Error from building a table out of plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
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
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::DuplicateKey(k) => write!(f, "duplicate key {k:?}"),
            BuildError::TooManyKeys => write!(f, "too many keys for one table"),
            BuildError::BadReference(what) => write!(f, "reference out of range: {what}"),
            BuildError::InvalidHeaderValue(v) => write!(f, "invalid header value {v:?}"),
            BuildError::WildcardWithCredentials(name) => {
                write!(f, "cors policy {name:?} allows origin `*` with credentials")
            }
        }
    }
}

impl std::error::Error for BuildError {}

/// A set of byte-string keys; each key's identity is its index in insertion order.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Cow<'static, [Cow<'static, str>]>,
    /// `0` marks an empty slot; otherwise `key index + 1`.
    slots: Cow<'static, [u32]>,
    fold_case: bool,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[inline]
fn fnv(mut h: u64, bytes: &[u8], fold_case: bool) -> u64 {
    for &b in bytes {
        let b = if fold_case { b.to_ascii_lowercase() } else { b };
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Hashes the concatenation of `parts` (the table layout depends on it: generated code stores
/// slot positions computed with this exact function, see `TABLE_FORMAT` in the crate root).
#[inline]
pub(crate) fn hash_parts(parts: &[&[u8]], fold_case: bool) -> u64 {
    let mut h = FNV_OFFSET;
    for p in parts {
        h = fnv(h, p, fold_case);
    }
    h
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
            head.eq_ignore_ascii_case(p)
        } else {
            head == *p
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
    pub fn new<I, S>(keys: I, fold_case: bool) -> Result<KeySet, BuildError>
    where
        I: IntoIterator<Item = S>,
        S: Into<Cow<'static, str>>,
    {
        let keys: Vec<Cow<'static, str>> = keys.into_iter().map(Into::into).collect();
        let n = keys.len();
        if n >= (u32::MAX / 4) as usize {
            return Err(BuildError::TooManyKeys);
        }
        if n == 0 {
            return Ok(KeySet {
                fold_case,
                ..KeySet::EMPTY
            });
        }
        let cap = (n * 2).next_power_of_two().max(4);
        let mask = cap - 1;
        let mut slots = vec![0u32; cap];
        for (i, key) in keys.iter().enumerate() {
            let mut pos = (hash_parts(&[key.as_bytes()], fold_case) as usize) & mask;
            loop {
                let Some(slot) = slots.get_mut(pos) else {
                    return Err(BuildError::BadReference("slot"));
                };
                if *slot == 0 {
                    // `i < u32::MAX / 4` was checked above.
                    *slot = u32::try_from(i + 1).map_err(|_| BuildError::TooManyKeys)?;
                    break;
                }
                let other = slots_key(&keys, *slot);
                if parts_eq(&[key.as_bytes()], other.as_bytes(), fold_case) {
                    return Err(BuildError::DuplicateKey(key.to_string()));
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

    /// Used by generated code: a table whose slots were laid out by [`KeySet::new`] at compile
    /// time. A malformed table cannot make lookups loop or panic (probing is bounded and every
    /// access is checked); it can only make them miss.
    #[doc(hidden)]
    pub const fn from_raw_parts(
        keys: &'static [Cow<'static, str>],
        slots: &'static [u32],
        fold_case: bool,
    ) -> KeySet {
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
    pub fn fold_case(&self) -> bool {
        self.fold_case
    }

    /// The index of `key`, if present.
    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<u32> {
        self.get_parts(&[key])
    }

    /// The index of the concatenation of `parts`, if present (no allocation: patterns are
    /// looked up as `scheme`, `"://*."`, `suffix`, `port` pieces).
    #[inline]
    pub fn get_parts(&self, parts: &[&[u8]]) -> Option<u32> {
        let cap = self.slots.len();
        if cap == 0 {
            return None;
        }
        let mask = cap - 1;
        let mut pos = (hash_parts(parts, self.fold_case) as usize) & mask;
        for _ in 0..cap {
            let slot = *self.slots.get(pos)?;
            if slot == 0 {
                return None;
            }
            let key = self.keys.get((slot - 1) as usize)?;
            if parts_eq(parts, key.as_bytes(), self.fold_case) {
                return Some(slot - 1);
            }
            pos = (pos + 1) & mask;
        }
        None
    }
}

fn slots_key<'a>(keys: &'a [Cow<'static, str>], slot: u32) -> &'a str {
    keys.get((slot - 1) as usize).map_or("", |k| k.as_ref())
}

#[cfg(test)]
mod tests {
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
    fn fold_case_set() {
        let set = KeySet::new(["content-type", "x-request-id"], true).unwrap();
        assert_eq!(set.get(b"X-Request-ID"), Some(1));
        assert_eq!(set.get(b"x-request-i"), None);
    }

    #[test]
    fn duplicates_are_refused() {
        assert!(matches!(
            KeySet::new(["a", "b", "a"], false),
            Err(BuildError::DuplicateKey(_))
        ));
        assert!(matches!(
            KeySet::new(["A", "a"], true),
            Err(BuildError::DuplicateKey(_))
        ));
    }

    #[test]
    fn malformed_static_table_cannot_loop() {
        static KEYS: [Cow<'static, str>; 1] = [Cow::Borrowed("a")];
        static SLOTS: [u32; 4] = [1, 1, 1, 1];
        let set = KeySet::from_raw_parts(&KEYS, &SLOTS, false);
        assert_eq!(set.get(b"zzz"), None);
        static BAD: [u32; 4] = [9, 9, 9, 9];
        let set = KeySet::from_raw_parts(&KEYS, &BAD, false);
        assert_eq!(set.get(b"a"), None);
    }
}
