//! The contributing routes of a request in a policy with host blocks (spec/language.md,
//! section 6a). Unless the policy states `hosts dispatched-by-application`, a request is
//! decided under the route its host selects and under the route for its path in every host
//! block, because an application that routes by path alone runs the same handler for every
//! hostname.
//!
//! [`Regions`] finds every host block's route for a path in one route search: its keys are the
//! distinct patterns of the host blocks' routes (the **regions**), and region `u` lists, for
//! each host block with a route covering `u`, that block's most specific such route, one per
//! distinct (cors, csrf, websocket) tuple, in block order. A path's most specific region is
//! covered by exactly the routes each block would select for the path: a block's route for the
//! path is a pattern of the union, no more specific than the region. Built on `routes`.

use std::borrow::Cow;

use crate::host::HostTable;
use crate::keyset::{KeySet, TableError};
use crate::policy::{Guards, Route};
use crate::routes::{is_prefix, RouteShape, RouteTable};

/// Every host block's route for a path, by one route search: [`Regions::for_path`].
#[derive(Debug, Clone)]
pub struct Regions {
    /// The distinct patterns of the host blocks' routes (key `i` is region `i`).
    pub(crate) table: RouteTable,
    /// Region `i`'s routes: `routes[start..start + len]`.
    pub(crate) spans: Cow<'static, [(u32, u32)]>,
    /// The policy's indexes of each region's contributing routes, region after region.
    pub(crate) routes: Cow<'static, [u32]>,
}

/// What a contributing route decides beyond its selected route's: its cors, csrf and
/// websocket policies.
pub(crate) fn tuple(r: &Route) -> (Option<u32>, Option<u32>, Option<u32>) {
    (r.cors, r.guards.csrf, r.guards.websocket)
}

/// Whether route pattern `route` covers every path pattern `region` covers: an exact pattern
/// covers itself; `/c/*` covers each pattern that starts with `/c/`.
fn covers(route: &str, region: &str) -> bool {
    if is_prefix(route.as_bytes()) {
        region.starts_with(route.trim_end_matches('*'))
    } else {
        route == region
    }
}

/// How specific a covering pattern is: exact first, then the longest prefix.
fn specificity(pattern: &str) -> (bool, usize) {
    (!is_prefix(pattern.as_bytes()), pattern.len())
}

impl Regions {
    /// No host block.
    pub(crate) const EMPTY: Regions = Regions {
        table: RouteTable::EMPTY,
        spans: Cow::Borrowed(&[]),
        routes: Cow::Borrowed(&[]),
    };

    /// The regions of `routes`, each given with its host block (`None`: top level, which
    /// contributes only when selected).
    pub(crate) fn new(routes: &[Route], blocks: &[Option<usize>]) -> Result<Regions, TableError> {
        let mut patterns: Vec<&str> = Vec::new();
        for (r, b) in routes.iter().zip(blocks) {
            if b.is_some() && !patterns.contains(&r.pattern()) {
                patterns.push(r.pattern());
            }
        }
        let block_count = blocks.iter().flatten().max().map_or(0, |m| m + 1);
        // Each block's routes, with their indexes: one pass over the routes.
        let mut by_block: Vec<Vec<(usize, &Route)>> = vec![Vec::new(); block_count];
        for (i, (r, b)) in routes.iter().zip(blocks).enumerate() {
            if let Some(list) = b.and_then(|b| by_block.get_mut(b)) {
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
                    .filter(|(_, r)| covers(r.pattern(), u))
                    .max_by_key(|(_, r)| specificity(r.pattern()));
                if let Some(&(i, r)) = best {
                    let seen = contributing
                        .get(start..)
                        .unwrap_or_default()
                        .iter()
                        .any(|&j| routes.get(j as usize).map(tuple) == Some(tuple(r)));
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

/// Whether a request whose selected route is `selected` (with `guards`' tuple) is decided
/// under it alone: every contributing route has its policies.
#[inline]
pub(crate) fn alone(
    routes: &[Route],
    selected: Option<(Option<u32>, Guards)>,
    contributing: &[u32],
) -> bool {
    match (selected, contributing) {
        (_, []) => true,
        (Some((cors, g)), [one]) => routes
            .get(*one as usize)
            .is_some_and(|r| tuple(r) == (cors, g.csrf, g.websocket)),
        _ => false,
    }
}

impl crate::Policy {
    /// The host block an authority (`Host` or `:authority` value) selects: an index into
    /// [`PolicySpec::hosts`](crate::PolicySpec::hosts); `None` for the top-level routes.
    pub fn host_block(&self, authority: &str) -> Option<usize> {
        (self.host_table.select(authority.as_bytes()) as usize).checked_sub(1)
    }

    /// Every host-block route a request path is decided under besides the selected one (each
    /// reading's, for a path that is not structurally normal): what the tower layer asks again
    /// for a tenant-bound entry.
    #[cfg(all(feature = "provided", feature = "tower"))]
    pub(crate) fn contributing_for<'s>(
        &'s self,
        path: &str,
    ) -> impl Iterator<Item = u32> + Clone + 's {
        let mut found: [&'s [u32]; 2] = [&[], &[]];
        if self.regions.spans.is_empty() {
            // No host block contributes.
        } else if let Ok(Some(p)) = crate::path::already_normal(path) {
            found[0] = self.regions.for_path(p);
        } else {
            let mut bufs = crate::path::PathBuffers::new();
            match crate::path::read_path(path, &mut bufs) {
                Ok(crate::path::PathForm::Normal(p)) => found[0] = self.regions.for_path(p),
                Ok(crate::path::PathForm::TwoReadings {
                    as_sent,
                    normalised,
                    ..
                }) => {
                    found = [
                        self.regions.for_path(as_sent),
                        self.regions.for_path(normalised),
                    ];
                }
                Err(_) => {}
            }
        }
        found.into_iter().flatten().copied()
    }

    /// How many host blocks the policy has.
    pub fn host_block_count(&self) -> usize {
        self.host_routes.len()
    }

    /// Whether the policy states `hosts dispatched-by-application`.
    pub fn hosts_dispatched(&self) -> bool {
        self.hosts_dispatched
    }

    /// The routes of a request path's readings among host block `block`'s routes (`None`: the
    /// top-level routes), as [`Policy::routes_for`](crate::Policy::routes_for) finds them among the top-level ones.
    pub fn routes_in_block(
        &self,
        block: Option<usize>,
        path: &str,
    ) -> Result<crate::PathRoutes, crate::PathError> {
        static NONE: RouteTable = RouteTable::EMPTY;
        let table = match block {
            None => &self.table,
            Some(b) => self.host_routes.get(b).unwrap_or(&NONE),
        };
        self.routes_in(table, path)
    }

    /// The host blocks' routes that a structurally normal path (or one reading of a path)
    /// is decided under besides the selected route (spec/language.md, section 6a): one per
    /// distinct cors, csrf and websocket policy, in block order. Empty without host blocks
    /// and with `hosts dispatched-by-application`.
    pub fn contributing_routes(&self, normal_path: &str) -> &[u32] {
        self.regions.for_path(normal_path.as_bytes())
    }
}

impl crate::Policy {
    /// The policy of generated code with its host blocks: checks, at compile time, that the
    /// block tables cover the routes after the top-level ones, block by block, with their
    /// patterns as keys, that every host pattern names a block, and that the regions name
    /// routes the policy has (none when the application dispatches by host).
    pub(crate) const fn with_hosts(
        mut self,
        hosts: HostTable,
        host_routes: &'static [RouteTable],
        regions: Regions,
        dispatched: bool,
    ) -> crate::Policy {
        use crate::keyset::{bytes_equal, refuse};
        let Cow::Borrowed(routes) = self.routes else {
            refuse("guestlist: generated routes are owned");
        };
        let Some(top) = self.table.keys.borrowed_keys() else {
            refuse("guestlist: a generated route table owns its keys");
        };
        let mut next = top.len();
        let mut tables = host_routes;
        while let [t, tail @ ..] = tables {
            let Some(mut keys) = t.keys.borrowed_keys() else {
                refuse("guestlist: a generated route table owns its keys");
            };
            if t.offset as usize != next {
                refuse("guestlist: a generated host block's routes are not the next routes");
            }
            while let [Cow::Borrowed(k), rest @ ..] = keys {
                let same = match routes.split_at_checked(next) {
                    Some((_, [r, ..])) => match r.pattern {
                        Cow::Borrowed(p) => bytes_equal(p.as_bytes(), k.as_bytes()),
                        Cow::Owned(_) => false,
                    },
                    _ => false,
                };
                if !same {
                    refuse("guestlist: a generated host block's keys are not its routes' patterns");
                }
                next += 1;
                keys = rest;
            }
            if !keys.is_empty() {
                refuse("guestlist: a generated route table owns its keys");
            }
            tables = tail;
        }
        if next != routes.len() {
            refuse("guestlist: a generated policy has routes no table holds");
        }
        if hosts.max_block() as usize > host_routes.len() {
            refuse("guestlist: a generated host pattern names no block");
        }
        let (Cow::Borrowed(spans), Cow::Borrowed(contributing)) = (&regions.spans, &regions.routes)
        else {
            refuse("guestlist: generated regions are owned");
        };
        let Some(region_keys) = regions.table.keys.borrowed_keys() else {
            refuse("guestlist: a generated route table owns its keys");
        };
        if spans.len() != region_keys.len() || (dispatched && !spans.is_empty()) {
            refuse("guestlist: generated regions do not match their keys");
        }
        let mut rest = *spans;
        while let [(start, len), tail @ ..] = rest {
            if (*start as usize) + (*len as usize) > contributing.len() {
                refuse("guestlist: a generated region names routes out of range");
            }
            rest = tail;
        }
        let mut rest = *contributing;
        while let [r, tail @ ..] = rest {
            if *r as usize >= routes.len() {
                refuse("guestlist: a generated region names a route out of range");
            }
            rest = tail;
        }
        std::mem::forget(std::mem::replace(&mut self.host_table, hosts));
        std::mem::forget(std::mem::replace(
            &mut self.host_routes,
            Cow::Borrowed(host_routes),
        ));
        std::mem::forget(std::mem::replace(&mut self.regions, regions));
        self.hosts_dispatched = dispatched;
        self
    }

    /// The host table, each block's route table and the regions, for generated code.
    #[doc(hidden)]
    pub fn host_parts(&self) -> (&HostTable, &[RouteTable], &Regions) {
        (&self.host_table, &self.host_routes, &self.regions)
    }
}
