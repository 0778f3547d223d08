//! The constructors of generated code (`include_policy!`, build.rs): a policy from `static`
//! tables, checked at compile time against what [`Policy::from_spec`] would build (the route
//! keys are the routes' patterns, each index names a table that is there), its search
//! metadata computed from the keys. Built on `policy`, `routes`, `host` and `contrib`.

use std::borrow::Cow;

use crate::contrib::Regions;
use crate::guards::{Csp, Csrf, HeaderSet, WebSocket};
use crate::host::HostTable;
use crate::keyset::{bytes_equal, refuse, KeySet};
use crate::policy::{Cors, NonNormalPaths, Policy, Route};
use crate::routes::{RouteShape, RouteTable};

impl Policy {
    /// The constructor generated code calls (as `__private::policy`, in a `static`). Refuses,
    /// at compile time, what [`Policy::from_spec`] refuses at run time (a route naming a
    /// policy that is not there) and route keys that are not the routes' patterns; the route
    /// search's metadata comes from the routes, as [`Policy::from_spec`] computes it.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors the struct for generated code"
    )]
    pub(crate) const fn from_raw_parts(
        routes: &'static [Route],
        route_keys: KeySet,
        cors: &'static [Cors],
        csp: &'static [Csp],
        header_sets: &'static [HeaderSet],
        csrf: &'static [Csrf],
        websocket: &'static [WebSocket],
        non_normal: NonNormalPaths,
        top: usize,
    ) -> Policy {
        const fn in_range(i: Option<u32>, len: usize) -> bool {
            match i {
                Some(i) => (i as usize) < len,
                None => true,
            }
        }
        if route_keys.fold_case() {
            refuse("guestlist: a generated route table ignores case");
        }
        let keys = route_keys.borrowed_keys();
        if let Some(keys) = keys {
            if keys.len() != top || top > routes.len() {
                refuse("guestlist: a generated route table's keys are not its routes' patterns");
            }
        }
        let mut shape = RouteShape::NONE;
        let mut i = 0;
        let mut rest = routes;
        while let [r, tail @ ..] = rest {
            let Cow::Borrowed(pattern) = r.pattern else {
                refuse("guestlist: a generated route owns its pattern");
            };
            if let (Some(keys), true) = (keys, i < top) {
                let same = match keys.split_at_checked(i) {
                    Some((_, [Cow::Borrowed(k), ..])) => {
                        bytes_equal(k.as_bytes(), pattern.as_bytes())
                    }
                    _ => false,
                };
                if !same {
                    refuse(
                        "guestlist: a generated route table's keys are not its routes' patterns",
                    );
                }
            }
            let g = r.guards;
            if !(in_range(r.cors, cors.len())
                && in_range(g.csp, csp.len())
                && in_range(g.headers, header_sets.len())
                && in_range(g.csrf, csrf.len())
                && in_range(g.websocket, websocket.len()))
            {
                refuse("guestlist: a generated route names a policy its table does not hold");
            }
            if i < top {
                shape = shape.add(i, pattern);
            }
            i += 1;
            rest = tail;
        }
        Policy {
            routes: Cow::Borrowed(routes),
            table: RouteTable::new(route_keys, 0, shape),
            host_table: HostTable::EMPTY,
            host_routes: Cow::Borrowed(&[]),
            regions: crate::contrib::Regions::EMPTY,
            hosts_dispatched: false,
            cors: Cow::Borrowed(cors),
            csp: Cow::Borrowed(csp),
            header_sets: Cow::Borrowed(header_sets),
            csrf: Cow::Borrowed(csrf),
            websocket: Cow::Borrowed(websocket),
            non_normal,
            #[cfg(feature = "provided")]
            provided: Cow::Borrowed(&[]),
        }
    }

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
        // Host blocks without `dispatched-by-application` always have regions (a block has a
        // route): none would skip the merge.
        let merged = !dispatched && !host_routes.is_empty();
        if spans.len() != region_keys.len()
            || (dispatched && !spans.is_empty())
            || (merged && spans.is_empty())
        {
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
