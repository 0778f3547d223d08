//! The contributing routes of a request in a policy with host blocks (spec/language.md,
//! section 6a). Unless the policy states `hosts dispatched-by-application`, a request is
//! decided under the route its host selects and under the route for its path in every host
//! block, because an application that routes by path alone runs the same handler for every
//! hostname.
//!
//! [`Regions`] finds every host block's route for a path in one route search: its keys are the
//! distinct patterns of the routes (the **regions**), and region `u` lists, for each host
//! block with a route covering `u`, that block's most specific such route, then the top
//! level's when it has a csrf or websocket guard (an application that routes by path runs the
//! top-level handler on every host too; its CORS does not narrow a block's), one per distinct
//! (cors, csrf, websocket) tuple, in block order. A path's most specific region is covered by
//! exactly the routes each block would select for the path: a block's route for the path is a
//! pattern of the union, no more specific than the region. Built on `routes`.

use std::borrow::Cow;

use crate::keyset::{KeySet, TableError};
use crate::routes::{pattern_covers, pattern_specificity, RouteShape, RouteTable};

/// Every host block's route for a path, by one route search: `Regions::for_path`.
#[derive(Debug, Clone)]
pub struct Regions {
    /// The distinct patterns of the host blocks' routes (key `i` is region `i`).
    pub(crate) table: RouteTable,
    /// Region `i`'s routes: `routes[start..start + len]`.
    pub(crate) spans: Cow<'static, [(u32, u32)]>,
    /// The policy's indexes of each region's contributing routes, region after region.
    pub(crate) routes: Cow<'static, [u32]>,
}

/// What [`Regions::new`] reads of a route.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RouteEntry<'a> {
    /// Its pattern.
    pub(crate) pattern: &'a str,
    /// Its cors, csrf and websocket policies: what a contributing route decides.
    pub(crate) policies: (Option<u32>, Option<u32>, Option<u32>),
    /// Its host block (`None`: top level).
    pub(crate) block: Option<usize>,
}

impl Regions {
    /// No host block.
    pub(crate) const EMPTY: Regions = Regions {
        table: RouteTable::EMPTY,
        spans: Cow::Borrowed(&[]),
        routes: Cow::Borrowed(&[]),
    };

    /// The regions of the policy's routes, each given as its pattern, its (cors, csrf,
    /// websocket) policies and its host block (`None`: top level, whose route for a path
    /// contributes its csrf and websocket checks, never its CORS).
    pub(crate) fn new(routes: &[RouteEntry<'_>]) -> Result<Regions, TableError> {
        let mut patterns: Vec<&str> = Vec::new();
        for r in routes {
            if !patterns.contains(&r.pattern) {
                patterns.push(r.pattern);
            }
        }
        let block_count = routes
            .iter()
            .filter_map(|r| r.block)
            .max()
            .map_or(0, |m| m + 1);
        // Each block's routes, with their indexes, then the top level's (last): one pass over
        // the routes.
        let mut by_block: Vec<Vec<(usize, &RouteEntry<'_>)>> = vec![Vec::new(); block_count + 1];
        for (i, r) in routes.iter().enumerate() {
            if let Some(list) = by_block.get_mut(r.block.unwrap_or(block_count)) {
                list.push((i, r));
            }
        }
        let mut spans = Vec::with_capacity(patterns.len());
        let mut contributing: Vec<u32> = Vec::new();
        for u in &patterns {
            let start = contributing.len();
            for block in &by_block {
                let best = block
                    .iter()
                    .filter(|(_, r)| pattern_covers(r.pattern, u))
                    .max_by_key(|(_, r)| pattern_specificity(r.pattern));
                // The top level's route contributes only a guard.
                let best = best.filter(|(_, r)| {
                    r.block.is_some() || r.policies.1.is_some() || r.policies.2.is_some()
                });
                if let Some(&(i, r)) = best {
                    let seen = contributing
                        .get(start..)
                        .unwrap_or_default()
                        .iter()
                        .any(|&j| routes.get(j as usize).map(|x| x.policies) == Some(r.policies));
                    if !seen {
                        contributing.push(u32::try_from(i).map_err(|_| TableError::TooManyKeys)?);
                    }
                }
            }
            let n = |x: usize| u32::try_from(x).map_err(|_| TableError::TooManyKeys);
            spans.push((n(start)?, n(contributing.len() - start)?));
        }
        let keys = KeySet::new(patterns.iter().map(|p| p.to_string()), false)?;
        let shape = patterns
            .iter()
            .enumerate()
            .fold(RouteShape::NONE, |s, (i, p)| s.add(i, p));
        Ok(Regions {
            table: RouteTable::new(keys, 0, shape),
            spans: Cow::Owned(spans),
            routes: Cow::Owned(contributing),
        })
    }

    /// The regions of generated code: `table` over the region patterns, each region's span
    /// of `routes`.
    pub(crate) const fn from_static(
        table: RouteTable,
        spans: &'static [(u32, u32)],
        routes: &'static [u32],
    ) -> Regions {
        Regions {
            table,
            spans: Cow::Borrowed(spans),
            routes: Cow::Borrowed(routes),
        }
    }

    /// The region patterns' table, for generated code.
    pub fn table(&self) -> &RouteTable {
        &self.table
    }

    /// Each region's span of [`Regions::routes`], for generated code.
    pub fn spans(&self) -> &[(u32, u32)] {
        &self.spans
    }

    /// The contributing routes, region after region, for generated code.
    pub fn routes(&self) -> &[u32] {
        &self.routes
    }

    /// The contributing routes of the paths route pattern `pattern` serves (`pattern` is a
    /// region: every route pattern is).
    pub(crate) fn for_pattern(&self, pattern: &str) -> &[u32] {
        match self
            .table
            .keys
            .get(pattern.as_bytes())
            .and_then(|u| self.spans.get(u as usize))
        {
            Some(&(start, len)) => self
                .routes
                .get(start as usize..(start + len) as usize)
                .unwrap_or_default(),
            None => &[],
        }
    }

    /// The contributing host-block routes of a structurally normal path (or of one reading of
    /// a path): one per distinct policy tuple, in block order.
    #[inline]
    pub(crate) fn for_path(&self, p: &[u8]) -> &[u32] {
        let Some(u) = self.table.route_for_normal(p) else {
            return &[];
        };
        match self.spans.get(u as usize) {
            Some(&(start, len)) => self
                .routes
                .get(start as usize..(start + len) as usize)
                .unwrap_or_default(),
            None => &[],
        }
    }
}
