//! The route search over one list of routes: exact patterns (`/x`) by one hash probe, prefix
//! patterns (`/x/*`) by the longest literal prefix, probing only the lengths some route has.
//! A policy's top-level routes are one [`RouteTable`]. Built on `keyset`.

use crate::keyset::{KeySet, TableError};

/// What a route list says about the route search, route by route: whether any route is
/// exact, the prefix lengths ([`RouteTable::prefix_lens`], [`RouteTable::long_prefixes`]) and the
/// `/*` route ([`RouteTable::root`]). The one computation, for run-time tables (`Policy::from_spec`)
/// and generated ones (`Policy::from_raw_parts`, at compile time).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteShape {
    has_exact: bool,
    prefix_lens: u64,
    long_prefixes: bool,
    root: Option<u32>,
}

impl RouteShape {
    /// No route.
    pub(crate) const NONE: RouteShape = RouteShape {
        has_exact: false,
        prefix_lens: 0,
        long_prefixes: false,
        root: None,
    };

    /// The routes so far and route `index`, whose pattern is `pattern`.
    pub(crate) const fn add(mut self, index: usize, pattern: &str) -> RouteShape {
        let p = pattern.as_bytes();
        if !is_prefix(p) {
            self.has_exact = true;
            return self;
        }
        // The literal prefix: `/x/` of `/x/*`.
        let len = p.len() - 1;
        if len <= 64 {
            self.prefix_lens |= 1u64 << (len - 1);
        } else {
            self.long_prefixes = true;
        }
        if self.root.is_none() && len == 1 && index < u32::MAX as usize {
            self.root = Some(index as u32);
        }
        self
    }

    /// Whether the only route is the `/*` one (`root`): no exact route, and no prefix but `/`
    /// (bit 0).
    pub(crate) const fn only_root(self) -> bool {
        self.root.is_some() && !self.has_exact && self.prefix_lens == 1 && !self.long_prefixes
    }
}

/// Whether route pattern `outer` serves every path route pattern `inner` serves: an exact
/// pattern covers itself; `/c/*` covers each pattern that starts with `/c/`. The one rule for
/// the runtime's regions, the nginx emitter and the checker's host warnings.
pub fn pattern_covers(outer: &str, inner: &str) -> bool {
    match outer.strip_suffix('*') {
        Some(prefix) if is_prefix(outer.as_bytes()) => inner.starts_with(prefix),
        _ => outer == inner,
    }
}

/// How specific a route pattern is, as the route search prefers it: exact patterns first,
/// then the longest prefix.
pub fn pattern_specificity(pattern: &str) -> (bool, usize) {
    (!is_prefix(pattern.as_bytes()), pattern.len())
}

/// Whether a route pattern is a prefix route (`/x/*`, `/*`); otherwise it is exact.
pub(crate) const fn is_prefix(pattern: &[u8]) -> bool {
    matches!(pattern, [.., b'/', b'*'])
}

/// The route search over one list of routes, numbered from `offset` in the policy's routes:
/// key `i` is route `offset + i`'s pattern.
#[derive(Debug, Clone)]
pub struct RouteTable {
    /// The patterns (`/x` exact, `/x/*` prefix).
    pub(crate) keys: KeySet,
    /// The policy's index of the route whose pattern is key 0.
    pub(crate) offset: u32,
    /// Whether any route is exact (otherwise the exact lookup is skipped).
    pub(crate) has_exact: bool,
    /// The lengths of the prefix routes' literal prefixes (`/x/` of `/x/*`): bit `n - 1` for
    /// length `n <= 64`, so the longest-prefix search probes only lengths some route has.
    pub(crate) prefix_lens: u64,
    /// Whether some prefix is longer than 64 bytes (every longer length is then probed).
    pub(crate) long_prefixes: bool,
    /// The `/*` route (prefix `/`), which every normal path falls back to, so that the
    /// longest-prefix search ends without a probe.
    pub(crate) root: Option<u32>,
    /// Whether `/*` is the only route (every normal path is `root`'s, without a lookup).
    pub(crate) only_root: bool,
}

/// The route tables of a policy's routes, each given with its host block (an index below
/// `blocks`; `None` at top level): the top-level routes' table and each block's. The routes
/// are grouped: the top-level ones first, then each block's in block order (what the compiler
/// writes), so that each table's routes are consecutive.
pub(crate) fn build_tables(
    routes: &[(&str, Option<usize>)],
    blocks: usize,
) -> Result<(RouteTable, Vec<RouteTable>), TableError> {
    let table = |start: usize, end: usize| -> Result<RouteTable, TableError> {
        let slice = routes.get(start..end).unwrap_or_default();
        let keys = KeySet::new(slice.iter().map(|(p, _)| p.to_string()), false)?;
        let shape = slice
            .iter()
            .enumerate()
            .fold(RouteShape::NONE, |s, (i, (p, _))| s.add(start + i, p));
        let offset = u32::try_from(start).map_err(|_| TableError::TooManyKeys)?;
        Ok(RouteTable::new(keys, offset, shape))
    };
    let top = routes.iter().take_while(|(_, h)| h.is_none()).count();
    let mut per_block = Vec::with_capacity(blocks);
    let mut start = top;
    for b in 0..blocks {
        let end = start
            + routes
                .get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|(_, h)| *h == Some(b))
                .count();
        per_block.push(table(start, end)?);
        start = end;
    }
    if start != routes.len() {
        return Err(TableError::BadReference(
            "routes grouped by host block (top level first, then each block in order)",
        ));
    }
    Ok((table(0, top)?, per_block))
}

impl RouteTable {
    /// The table of generated code: `keys` (a static set) numbered from `offset`, its search
    /// metadata computed from the keys, as [`build_tables`] computes it.
    pub(crate) const fn from_static_keys(keys: KeySet, offset: u32) -> RouteTable {
        if keys.fold_case() {
            crate::keyset::refuse("guestlist: a generated route table ignores case");
        }
        let Some(mut rest) = keys.borrowed_keys() else {
            crate::keyset::refuse("guestlist: a generated route table owns its keys");
        };
        let mut shape = RouteShape::NONE;
        let mut i = offset as usize;
        while let [k, tail @ ..] = rest {
            let std::borrow::Cow::Borrowed(k) = k else {
                crate::keyset::refuse("guestlist: a generated route table owns its keys");
            };
            shape = shape.add(i, k);
            i += 1;
            rest = tail;
        }
        RouteTable::new(keys, offset, shape)
    }

    /// Its keys (route patterns), for generated code.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The policy's index of the route of key 0.
    pub fn offset(&self) -> u32 {
        self.offset
    }

    /// No route.
    pub(crate) const EMPTY: RouteTable = RouteTable::new(KeySet::EMPTY, 0, RouteShape::NONE);

    /// The table of `keys`, numbered from `offset`, whose shape is `shape` (computed from the
    /// same patterns, with the policy's route indexes).
    pub(crate) const fn new(keys: KeySet, offset: u32, shape: RouteShape) -> RouteTable {
        RouteTable {
            keys,
            offset,
            has_exact: shape.has_exact,
            prefix_lens: shape.prefix_lens,
            long_prefixes: shape.long_prefixes,
            root: shape.root,
            only_root: shape.only_root(),
        }
    }

    /// The route of a structurally normal path (or of one reading of a path).
    #[inline]
    pub(crate) fn route_for_normal(&self, p: &[u8]) -> Option<u32> {
        if self.only_root {
            return self.root;
        }
        if self.has_exact {
            if let Some(r) = self.exact_route(p) {
                return Some(r);
            }
        }
        // The lengths (bit `n - 1` for length `n`) of the prefix routes the path is long
        // enough for. When `/*` is the only one (a one-route policy, or a path no longer
        // prefix matches), it is the answer, without a probe.
        let lens = match p.len() {
            n @ 0..64 => self.prefix_lens & ((1u64 << n) - 1),
            _ => self.prefix_lens,
        };
        if lens == 1 && self.root.is_some() && (p.len() <= 64 || !self.long_prefixes) {
            return self.root;
        }
        self.longest_prefix(p, lens)
    }

    /// The exact route for `p`, if any.
    #[inline(never)]
    fn exact_route(&self, p: &[u8]) -> Option<u32> {
        let i = self.keys.get(p)?;
        self.keys
            .keys()
            .get(i as usize)
            .is_some_and(|k| !is_prefix(k.as_bytes()))
            .then_some(i + self.offset)
    }

    /// Longest prefix: every '/' in the path, from the right, at a length some prefix route
    /// has. Positions from 64 on are scanned (when some prefix is that long); below 64 they
    /// are the set bits of `lens`, high to low.
    #[inline(never)]
    fn longest_prefix(&self, p: &[u8], mut lens: u64) -> Option<u32> {
        let mut long = if self.long_prefixes { p.len() } else { 0 };
        loop {
            let i = if long > 64 {
                long -= 1;
                long
            } else if lens != 0 {
                let i = 63 - lens.leading_zeros() as usize;
                lens ^= 1u64 << i;
                i
            } else {
                return None;
            };
            if i == 0 && self.root.is_some() {
                return self.root;
            }
            if p.get(i) == Some(&b'/') {
                if let Some(r) = self.keys.get_star(p.get(..=i).unwrap_or(&[])) {
                    return Some(r + self.offset);
                }
            }
        }
    }
}
