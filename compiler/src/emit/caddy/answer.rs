//! The routes a request is decided under in Caddy, by what the snippet can read of it: the
//! host block its authority selects, and the location (the most specific route pattern of any
//! block or the top level) each reading of its path selects. One [`Answer`] per combination,
//! as the runtime's `decide_route` and `decide_merged` decide it (spec/language.md, "Path
//! forms" and section 6a). The bottom of the Caddy emitter's parts: it reads only the
//! runtime's tables.

/// The routes a request is decided under, as the snippet writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Answer {
    /// The cors policy of each route whose CORS takes part, in the runtime's order, each once
    /// (`None`: a route without one, which allows nothing).
    pub(super) cors: Vec<Option<u32>>,
    /// The routes whose websocket and csrf checks run, in order, each once.
    pub(super) checks: Vec<usize>,
    /// The guards whose security headers and CSP are sent: the selected route's (the as-sent
    /// reading's), and the normalised reading's when it differs.
    pub(super) headers: (guestlist::Guards, Option<guestlist::Guards>),
}

impl Answer {
    /// An answer from its routes' cors policies and checks, in order (repeats dropped).
    fn new(
        cors: impl IntoIterator<Item = Option<u32>>,
        checks: impl IntoIterator<Item = usize>,
        headers: (guestlist::Guards, Option<guestlist::Guards>),
    ) -> Answer {
        let mut c = Vec::new();
        for x in cors {
            if !c.contains(&x) {
                c.push(x);
            }
        }
        let mut k = Vec::new();
        for x in checks {
            if !k.contains(&x) {
                k.push(x);
            }
        }
        // Every route without a cors policy: no CORS at all.
        if c.iter().all(Option::is_none) {
            c.clear();
        }
        Answer {
            cors: c,
            checks: k,
            headers,
        }
    }

    /// No route: nothing governs the request.
    pub(super) fn none() -> Answer {
        Answer::new([], [], (guestlist::Guards::NONE, None))
    }
}

/// A policy's locations: its distinct route patterns, and each route's host block.
pub(super) struct Locations {
    /// The distinct route patterns, in the order of the routes (location `i + 1`).
    pub(super) patterns: Vec<String>,
    /// Each route's host block (`None`: top level).
    blocks: Vec<Option<usize>>,
}

/// What a contributing route decides beyond the selected one's.
fn tuple(r: &guestlist::Route) -> (Option<u32>, Option<u32>, Option<u32>) {
    let g = r.guards();
    (r.cors(), g.csrf, g.websocket)
}

impl Locations {
    /// The locations of `policy` (whose spec is `spec`).
    pub(super) fn new(policy: &guestlist::Policy, spec: &guestlist::PolicySpec) -> Locations {
        let mut patterns: Vec<String> = Vec::new();
        for r in policy.routes() {
            if !patterns.iter().any(|p| p == r.pattern()) {
                patterns.push(r.pattern().to_string());
            }
        }
        Locations {
            patterns,
            blocks: spec.routes.iter().map(|r| r.host).collect(),
        }
    }

    /// The pattern of location `l` (0: none).
    fn pattern(&self, l: usize) -> Option<&str> {
        l.checked_sub(1)
            .and_then(|i| self.patterns.get(i))
            .map(String::as_str)
    }

    /// The route of block `block` (`None`: the top level) for the paths of location `l`: its
    /// most specific pattern covering the location's.
    fn route(&self, policy: &guestlist::Policy, block: Option<usize>, l: usize) -> Option<usize> {
        let u = self.pattern(l)?;
        policy
            .routes()
            .iter()
            .enumerate()
            .filter(|(i, r)| {
                self.blocks.get(*i) == Some(&block) && guestlist::pattern_covers(r.pattern(), u)
            })
            .max_by_key(|(_, r)| guestlist::pattern_specificity(r.pattern()))
            .map(|(i, _)| i)
    }

    /// The contributing routes of location `l`'s paths (the runtime's list for the pattern).
    fn contributing(policy: &guestlist::Policy, pattern: Option<&str>) -> Vec<usize> {
        pattern.map_or_else(Vec::new, |p| {
            policy
                .contributing_routes_of_pattern(p)
                .iter()
                .map(|&r| r as usize)
                .collect()
        })
    }

    /// The locations a path of location `l` that is not structurally normal can select by
    /// its as-sent reading (0: none): a path with two readings has no dot segment (they are
    /// refused), so its normalised reading starts with its as-sent reading's literal prefix:
    /// the prefix patterns whose literal prefix `l`'s starts with, or none.
    pub(super) fn as_sent_of(&self, l: usize) -> Vec<usize> {
        let mut out = vec![0];
        let Some(u) = self.pattern(l) else {
            // No route for the normalised reading: any location as sent.
            out.extend(1..=self.patterns.len());
            return out;
        };
        let literal = u.strip_suffix('*').unwrap_or(u);
        for (i, p) in self.patterns.iter().enumerate() {
            if let Some(prefix) = p.strip_suffix('*') {
                if literal.starts_with(prefix) && i + 1 != l {
                    out.push(i + 1);
                }
            }
        }
        out.push(l);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The answer for a request of host block selection `h` (0: top level, `b + 1`: block
    /// `b`) whose normalised reading selects location `ln`; `as_sent` is `None` for a
    /// structurally normal path, else the location its as-sent reading selects.
    pub(super) fn answer(
        &self,
        policy: &guestlist::Policy,
        h: usize,
        as_sent: Option<usize>,
        ln: usize,
    ) -> Answer {
        let block = h.checked_sub(1);
        let parts = |r: Option<usize>| {
            r.and_then(|i| policy.routes().get(i))
                .map_or((None, guestlist::Guards::NONE), |r| (r.cors(), r.guards()))
        };
        let tuple_of = |r: usize| policy.routes().get(r).map(tuple);
        let alone = |selected: Option<usize>, contributing: &[usize]| match (selected, contributing)
        {
            (_, []) => true,
            (Some(s), [one]) => tuple_of(s) == tuple_of(*one),
            _ => false,
        };
        let single = |r: Option<usize>| match r {
            Some(i) => {
                let (c, g) = parts(Some(i));
                Answer::new([c], [i], (g, None))
            }
            None => Answer::none(),
        };
        let second = self.route(policy, block, ln);
        let cn = Self::contributing(policy, self.pattern(ln));
        let top = |i: usize| self.blocks.get(i).is_some_and(Option::is_none);
        let Some(ls) = as_sent else {
            return match second {
                Some(r) if alone(Some(r), &cn) => single(Some(r)),
                None if cn.is_empty() => Answer::none(),
                _ => Answer::new(
                    std::iter::once(parts(second).0)
                        .chain(cn.iter().filter(|&&i| !top(i)).map(|&i| parts(Some(i)).0)),
                    second.into_iter().chain(cn.iter().copied()),
                    (parts(second).1, None),
                ),
            };
        };
        let first = self.route(policy, block, ls);
        let cs = Self::contributing(policy, self.pattern(ls));
        let one_policy = first == second || parts(first) == parts(second);
        let one = first.or(second);
        if one_policy && alone(one, &cs) && alone(one, &cn) {
            return single(one);
        }
        let (gs, gn) = (parts(first).1, parts(second).1);
        Answer::new(
            [parts(first).0, parts(second).0].into_iter().chain(
                cs.iter()
                    .chain(&cn)
                    .filter(|&&i| !top(i))
                    .map(|&i| parts(Some(i)).0),
            ),
            first
                .into_iter()
                .chain(second)
                .chain(cs.iter().chain(&cn).copied()),
            (gs, (gn != gs).then_some(gn)),
        )
    }
}
