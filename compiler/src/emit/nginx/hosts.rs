//! Host blocks in nginx (spec/language.md, section 6a): the request's one authority (the
//! absolute-form target's, else `Host`), the 400 when the two differ, the host block the
//! authority selects (`$<ns>_hb`), and the answers of each location. A policy with host blocks
//! has one location per distinct route pattern of any block or the top level; a location's
//! answer is chosen by the host block and, for a path that is not structurally normal, by the
//! location its as-sent reading selects, and is the runtime's: the route each block selects
//! for the path and, unless `hosts dispatched-by-application`, every block's route for it,
//! merged as `decide_merged` merges them. The top of the emitter's parts: built on `values`
//! and `paths`.

use std::fmt::Write as _;

use super::paths::Answer;
use super::values::{q, re, Writer};

/// A policy's host blocks as the emitter needs them.
pub(super) struct Hosts {
    /// Each route's host block (`None`: top level).
    blocks: Vec<Option<usize>>,
    /// How many host blocks.
    count: usize,
    /// The distinct route patterns, in the order of the routes: one location each.
    pub(super) patterns: Vec<String>,
}

/// What a contributing route decides beyond the selected one's: its cors, csrf and websocket
/// policies.
fn tuple(r: &guestlist::Route) -> (Option<u32>, Option<u32>, Option<u32>) {
    let g = r.guards();
    (r.cors(), g.csrf, g.websocket)
}

impl Hosts {
    /// The host blocks of `spec` (a policy with at least one).
    pub(super) fn new(policy: &guestlist::Policy, spec: &guestlist::PolicySpec) -> Hosts {
        let mut patterns: Vec<String> = Vec::new();
        for r in policy.routes() {
            if !patterns.iter().any(|p| p == r.pattern()) {
                patterns.push(r.pattern().to_string());
            }
        }
        Hosts {
            blocks: spec.routes.iter().map(|r| r.host).collect(),
            count: policy.host_block_count(),
            patterns,
        }
    }

    /// How many host blocks; selections are `0` (top level) to this.
    pub(super) fn count(&self) -> usize {
        self.count
    }

    /// The route of block `block` (`None`: the top level) for the paths of location `u`: its
    /// most specific pattern covering `u`.
    fn best(&self, policy: &guestlist::Policy, block: Option<usize>, u: &str) -> Option<usize> {
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

    /// The contributing routes of location `u`'s paths: the runtime's own list for the
    /// pattern (each block's route, then the top level's when it has a guard, one per
    /// distinct cors, csrf and websocket policy; none when the application dispatches by
    /// host).
    fn contributing(policy: &guestlist::Policy, u: &str) -> Vec<usize> {
        policy
            .contributing_routes_of_pattern(u)
            .iter()
            .map(|&r| r as usize)
            .collect()
    }

    /// Whether route `i` takes part in CORS as a contributing route: a host block's (the top
    /// level's contributes only its guards).
    fn cors_part(&self, i: usize) -> bool {
        self.blocks.get(i).is_some_and(Option::is_some)
    }

    /// Whether a request whose selected route is `selected` is decided under it alone (the
    /// runtime's `contrib::alone`).
    fn alone(policy: &guestlist::Policy, selected: Option<usize>, contributing: &[usize]) -> bool {
        let t = |i: usize| policy.routes().get(i).map(tuple);
        match (selected, contributing) {
            (_, []) => true,
            (Some(s), [one]) => t(s) == t(*one),
            _ => false,
        }
    }

    /// The distinct answers of location `u` (the first: the top level's for a structurally
    /// normal path), each (selection, as-sent location or `None`, answer index), and whether
    /// an as-sent reading changes the answer of some selection.
    #[expect(
        clippy::type_complexity,
        reason = "the answers, their keys and one flag, as the location writes them"
    )]
    pub(super) fn location_answers(
        &self,
        policy: &guestlist::Policy,
        u: &str,
    ) -> (Vec<Answer>, Vec<(usize, Option<usize>, usize)>, bool) {
        let same = |a: &Answer, b: &Answer| {
            a.cors == b.cors && a.checks == b.checks && a.headers == b.headers
        };
        let mut distinct: Vec<Answer> = vec![self.answer(policy, 0, None, u)];
        let mut index = |a: Answer| match distinct.iter().position(|d| same(d, &a)) {
            Some(i) => i,
            None => {
                distinct.push(a);
                distinct.len() - 1
            }
        };
        let mut keyed: Vec<(usize, Option<usize>, usize)> = Vec::new();
        let mut by_reading = false;
        for h in 0..=self.count() {
            let normal = index(self.answer(policy, h, None, u));
            keyed.push((h, None, normal));
            for a in self.as_sent_of(u) {
                let two = index(self.answer(policy, h, Some(a), u));
                by_reading |= two != normal;
                keyed.push((h, Some(a), two));
            }
        }
        (distinct, keyed, by_reading)
    }

    /// Every header an answer of location `u` sets or removes that another answer leaves to
    /// the upstream and nginx cannot apply for some requests only: (the route that sets or
    /// removes it, the name, removed). What `errors` reports as GL1110 or GL1012, as the
    /// emitter refuses it. The first answer's (the top level's for a normal path) headers are
    /// hidden on every request of the location, so another answer that leaves one gets the
    /// upstream's first line: refused unless that is all of it ([`cannot_pass`]), and for a
    /// list-valued header ([`list_valued`]) where that answer serves some host's normal paths
    /// (its ordinary requests would lose the upstream's later lines; on as-sent readings only,
    /// the loss is spec/nginx.md's table row). A header only another answer sets or removes
    /// follows `partner_rule` ([`cannot_hide`]: one it sets is added beside the upstream's
    /// lines, and refused where that could be looser than the runtime's answer,
    /// [`beside_looser`]).
    ///
    /// [`cannot_hide`]: super::paths::cannot_hide
    /// [`cannot_pass`]: super::paths::cannot_pass
    /// [`list_valued`]: super::paths::list_valued
    /// [`beside_looser`]: super::paths::beside_looser
    pub(super) fn refused_headers(
        &self,
        policy: &guestlist::Policy,
        u: &str,
        nonce_lost: bool,
    ) -> Vec<(usize, String, bool)> {
        let (distinct, keyed, _) = self.location_answers(policy, u);
        let names: Vec<(Vec<String>, Vec<String>)> = distinct
            .iter()
            .map(|a| super::paths::header_names(policy, a.headers.0, a.headers.1, nonce_lost))
            .collect();
        let mut out: Vec<(usize, String, bool)> = Vec::new();
        let own = names.first().cloned().unwrap_or_default();
        for (i, (a, (set, rm))) in distinct.iter().zip(&names).enumerate() {
            let flagged = set
                .iter()
                .map(|n| (n, false))
                .chain(rm.iter().map(|n| (n, true)));
            for (n, removed) in flagged {
                let refused = if i == 0 {
                    names.iter().enumerate().any(|(j, (s, r))| {
                        !s.contains(n) && !r.contains(n) && Self::first_line_lossy(&keyed, j, n)
                    })
                } else {
                    !own.0.contains(n)
                        && !own.1.contains(n)
                        && super::paths::cannot_hide(n, removed)
                };
                if !refused {
                    continue;
                }
                if let Some(ri) = Self::named_by(policy, a, n, removed, nonce_lost) {
                    if !out.iter().any(|x| x.0 == ri && x.1 == *n) {
                        out.push((ri, n.clone(), removed));
                    }
                }
            }
        }
        out
    }

    /// Whether answer `j` of a location (`keyed`: its keys, as [`Self::location_answers`]
    /// gives them) would lose part of header `n` if given only the upstream's first line:
    /// any header but a one-value one, and a list-valued one only where `j` serves a normal
    /// path of some host (a key without an as-sent location).
    fn first_line_lossy(keyed: &[(usize, Option<usize>, usize)], j: usize, n: &str) -> bool {
        super::paths::cannot_pass(n)
            || (super::paths::list_valued(n) && Self::serves_normal(keyed, j))
    }

    /// Whether answer `j` of a location serves some host's structurally normal paths (its
    /// ordinary requests): a key without an as-sent location.
    fn serves_normal(keyed: &[(usize, Option<usize>, usize)], j: usize) -> bool {
        keyed.iter().any(|k| k.2 == j && k.1.is_none())
    }

    /// The route among answer `a`'s whose header set or CSP sets (or, `removed`, removes)
    /// header `n`: the as-sent reading's, else the normalised one's.
    pub(super) fn named_by(
        policy: &guestlist::Policy,
        a: &Answer,
        n: &str,
        removed: bool,
        nonce_lost: bool,
    ) -> Option<usize> {
        a.checks.iter().copied().find(|&ri| {
            policy.routes().get(ri).is_some_and(|r| {
                let (s, rm) = super::paths::header_names(policy, r.guards(), None, nonce_lost);
                if removed {
                    rm.iter().any(|x| x == n)
                } else {
                    s.iter().any(|x| x == n)
                }
            })
        })
    }

    /// The answer of route `ri` alone; no route (`None`): nothing governs the request.
    pub(super) fn single(&self, policy: &guestlist::Policy, ri: Option<usize>) -> Answer {
        match ri.and_then(|i| policy.routes().get(i).map(|r| (i, r))) {
            Some((i, r)) => {
                let name = match self.blocks.get(i).copied().flatten() {
                    Some(b) => format!("route \"{}\" of host block {}", r.pattern(), b + 1),
                    None => format!("top-level route \"{}\"", r.pattern()),
                };
                Answer::new([r.cors()], [i], (r.guards(), None), &name)
            }
            None => Answer::new([], [], (guestlist::Guards::NONE, None), "no route"),
        }
    }

    /// The answer for location `u` under selection `h` (0: top level, `b + 1`: block `b`):
    /// `as_sent` is `None` for a structurally normal path, else `Some(a)` with `a` the location
    /// the as-sent reading selects (0: none, `i + 1`: pattern `i`).
    pub(super) fn answer(
        &self,
        policy: &guestlist::Policy,
        h: usize,
        as_sent: Option<usize>,
        u: &str,
    ) -> Answer {
        let block = h.checked_sub(1);
        let parts = |r: Option<usize>| {
            r.and_then(|i| policy.routes().get(i))
                .map_or((None, guestlist::Guards::NONE), |r| (r.cors(), r.guards()))
        };
        let name = |r: Option<usize>| {
            let r = r.and_then(|i| policy.routes().get(i).map(|r| (i, r)));
            match (r, h.checked_sub(1)) {
                (Some((_, r)), Some(b)) => {
                    format!("route \"{}\" of host block {}", r.pattern(), b + 1)
                }
                (Some((_, r)), None) => format!("top-level route \"{}\"", r.pattern()),
                (None, _) => "no route".to_string(),
            }
        };
        let cu = Self::contributing(policy, u);
        let second = self.best(policy, block, u);
        let Some(a) = as_sent else {
            return match second {
                Some(r) if Self::alone(policy, Some(r), &cu) => self.single(policy, Some(r)),
                None if cu.is_empty() => self.single(policy, None),
                _ => Answer::new(
                    std::iter::once(parts(second).0).chain(
                        cu.iter()
                            .filter(|&&i| self.cors_part(i))
                            .map(|&i| parts(Some(i)).0),
                    ),
                    second.into_iter().chain(cu.iter().copied()),
                    (parts(second).1, None),
                    &name(second),
                ),
            };
        };
        let pattern_a = a.checked_sub(1).and_then(|i| self.patterns.get(i));
        let first = pattern_a.and_then(|p| self.best(policy, block, p));
        let ca = pattern_a.map_or_else(Vec::new, |p| Self::contributing(policy, p));
        let one_policy = first == second || parts(first) == parts(second);
        let one = first.or(second);
        if one_policy && Self::alone(policy, one, &ca) && Self::alone(policy, one, &cu) {
            return self.single(policy, one);
        }
        let (gs, gn) = (parts(first).1, parts(second).1);
        Answer::new(
            [parts(first).0, parts(second).0].into_iter().chain(
                ca.iter()
                    .chain(&cu)
                    .filter(|&&i| self.cors_part(i))
                    .map(|&i| parts(Some(i)).0),
            ),
            first
                .into_iter()
                .chain(second)
                .chain(ca.iter().chain(&cu).copied()),
            (gs, (gn != gs).then_some(gn)),
            &name(first),
        )
    }

    /// The locations a path of location `u` that is not structurally normal can select by its
    /// as-sent reading (0: none, `i + 1`: pattern `i`): nginx serves `non-normal reject` only
    /// (GL1011), so they are the prefix patterns whose literal prefix `u` starts with, or
    /// none.
    pub(super) fn as_sent_of(&self, u: &str) -> Vec<usize> {
        let literal = u.strip_suffix('*').unwrap_or(u);
        // No route (0) only where no `/*` pattern matches every path.
        let mut out = if self.patterns.iter().any(|p| p == "/*") {
            Vec::new()
        } else {
            vec![0]
        };
        for (i, p) in self.patterns.iter().enumerate() {
            if let Some(prefix) = p.strip_suffix('*') {
                if literal.starts_with(prefix) {
                    out.push(i + 1);
                }
            }
        }
        out
    }
}

impl Writer {
    /// The maps of the request's authority and host block: `$<ns>_auth` (the absolute-form
    /// target's authority, else `Host`), `$<ns>_amb` (`1` when both are sent and differ, case
    /// and one trailing dot of the host aside) and `$<ns>_hb` (the block the authority
    /// selects, from 1; 0 for the top level). `patterns` holds each block's host patterns.
    pub(super) fn host_maps(&mut self, patterns: &[Vec<String>], dispatched: bool) {
        let ns = self.ns.clone();
        let _ = writeln!(
            self.http,
            "\n# Host blocks (spec/language.md, section 6a). The request's one authority: the target's\n\
             # when the request line is in absolute form (nginx keeps `Host` in $http_host and selects\n\
             # the server by the target), else `Host` ($http_host, never $host, which falls back to the\n\
             # server name and drops the port). nginx itself answers 400 to two `Host` lines."
        );
        self.map(
            "$request",
            &format!("{ns}_ra"),
            &[
                ("default".into(), q("")),
                (q("~^[^ ]+ [A-Za-z]+://([^/?# ]*)"), "$1".into()),
            ],
        );
        self.map(
            &format!("${ns}_ra"),
            &format!("{ns}_auth"),
            &[
                (q(""), "$http_host".into()),
                ("default".into(), format!("${ns}_ra")),
            ],
        );
        // The same authority (the runtime's `same_authority`): the host (a bracketed IPv6
        // address, or a name whose one trailing dot is dropped) compared ignoring ASCII case,
        // the port as written.
        let host = "(\\[[^\\]|]*\\]|(?:[^\\[:|.]|[^\\[:|][^:|]*[^.:|])?)";
        let dot = "(?:(?<!\\])\\.)?";
        let port = "((?::[^:|]*)?)";
        let _ = writeln!(
            self.http,
            "# A target authority that differs from `Host` is ambiguous: 400 host-ambiguous."
        );
        self.map(
            &q(&format!("${ns}_ra|$http_host")),
            &format!("{ns}_amb"),
            &[
                ("default".into(), "1".into()),
                (q("~^\\|"), q("")),
                (q("~\\|$"), q("")),
                (q(&format!("~*^{host}{dot}{port}\\|\\1{dot}\\2$")), q("")),
            ],
        );
        // Exact patterns are string keys (nginx compares them lowercased), with and without
        // the trailing dot; `*.` patterns are case-insensitive regexes, longest domain first,
        // tried only when no exact pattern matches.
        let mut lines = vec![("default".to_string(), "0".to_string())];
        let mut suffixes: Vec<(&str, usize)> = Vec::new();
        for (b, ps) in patterns.iter().enumerate() {
            for p in ps {
                match p.strip_prefix("*.") {
                    Some(s) => suffixes.push((s, b + 1)),
                    None => {
                        lines.push((q(p), (b + 1).to_string()));
                        if !p.starts_with('[') {
                            let dotted = match p.rsplit_once(':') {
                                Some((h, port)) => format!("{h}.:{port}"),
                                None => format!("{p}."),
                            };
                            lines.push((q(&dotted), (b + 1).to_string()));
                        }
                    }
                }
            }
        }
        suffixes.sort_by_key(|(s, b)| {
            let domain = s.rsplit_once(':').map_or(*s, |(d, _)| d);
            (std::cmp::Reverse(domain.len()), *b, *s)
        });
        for (s, b) in suffixes {
            let (domain, port) = match s.rsplit_once(':') {
                Some((d, p)) => (d, format!(":{p}")),
                None => (s, String::new()),
            };
            lines.push((
                q(&format!(
                    "~*^(?!\\[)(?:[^.:]+\\.)+{}\\.?{}$",
                    re(domain),
                    re(&port)
                )),
                b.to_string(),
            ));
        }
        let _ = writeln!(
            self.http,
            "# The host block the authority selects (0: the top-level routes): an exact pattern, then\n\
             # the `*.` pattern with the longest domain; a pattern without a port matches only an\n\
             # authority without one.{}",
            if dispatched {
                "\n# `hosts dispatched-by-application`: a request is decided under its block's route alone."
            } else {
                "\n# A request is decided under its block's route and every block's route for its path."
            }
        );
        self.map(&format!("${ns}_auth"), &format!("{ns}_hb"), &lines);
    }
}

impl Writer {
    /// The snippet of location `li` (route pattern `u`) in a policy with host blocks: one
    /// answer per host block (and, for a path that is not structurally normal, per location its
    /// as-sent reading selects), chosen by `$<ns>l<li>_k`, an answer's label keyed on the
    /// block; a location whose every request gets one route's answer is that route's snippet.
    #[expect(
        clippy::too_many_arguments,
        reason = "the location, the policy's host blocks and the tables its answers name"
    )]
    pub(super) fn host_location(
        &mut self,
        li: usize,
        u: &str,
        hosts: &Hosts,
        policy: &guestlist::Policy,
        patterns: &[Vec<String>],
        snippets: &[String],
        single: &[Option<super::cors::CorsVars>],
    ) -> Result<String, crate::emit::Unsupported> {
        let ns = self.ns.clone();
        let base = format!("{ns}l{li}");
        let (distinct, keyed, by_reading) = hosts.location_answers(policy, u);
        let same = |a: &Answer, b: &Answer| {
            a.cors == b.cors && a.checks == b.checks && a.headers == b.headers
        };
        let mut s = String::new();
        let route_name = |i: usize| {
            let block = match hosts.blocks.get(i).copied().flatten() {
                Some(b) => patterns
                    .get(b)
                    .and_then(|p| p.first())
                    .map_or(String::new(), |p| format!(" of host \"{p}\"")),
                None => " (top level)".to_string(),
            };
            policy
                .routes()
                .get(i)
                .map_or(String::new(), |r| format!("\"{}\"{block}", r.pattern()))
        };
        s.push_str(
            "# The routes a structurally normal path is decided under, by the request's host:\n",
        );
        for (h, a, i) in &keyed {
            if a.is_some() {
                continue;
            }
            let who = match h.checked_sub(1).and_then(|b| patterns.get(b)) {
                Some(ps) => ps.join(" "),
                None => "any other host, or none".to_string(),
            };
            let selected = hosts.best(policy, h.checked_sub(1), u);
            let with: Vec<String> = distinct
                .get(*i)
                .map(|d| {
                    d.checks
                        .iter()
                        .filter(|&&c| Some(c) != selected)
                        .map(|&c| route_name(c))
                        .collect()
                })
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "#   {who}: {}{}",
                selected.map_or("no route".to_string(), route_name),
                if with.is_empty() {
                    String::new()
                } else {
                    format!("; with {}", with.join(", "))
                }
            );
        }
        let own = distinct
            .first()
            .cloned()
            .unwrap_or_else(|| hosts.single(policy, None));
        if distinct.len() == 1 {
            if let [ri] = own.checks.as_slice() {
                if let Some(r) = policy.routes().get(*ri) {
                    if same(&own, &hosts.single(policy, Some(*ri))) {
                        match r.cors().and_then(|c| snippets.get(c as usize)) {
                            Some(c) => s.push_str(c),
                            None => s.push_str(
                                "# This route has no cors policy: no CORS headers are added.\n",
                            ),
                        }
                        s.push_str(&self.route_guards(*ri, r, policy)?);
                        return Ok(s);
                    }
                }
            }
        }
        let key = format!("{base}_k");
        if by_reading {
            self.map(
                &format!("${ns}_form"),
                &format!("{base}_s"),
                &[
                    ("default".to_string(), q("")),
                    (q("two"), format!("${ns}_sent")),
                ],
            );
            let mut lines = vec![("default".to_string(), q(""))];
            for (h, a, i) in &keyed {
                if *i != 0 {
                    let k = format!("{h}|{}", a.map_or(String::new(), |a| a.to_string()));
                    lines.push((q(&k), q(&i.to_string())));
                }
            }
            self.map(&q(&format!("${ns}_hb|${base}_s")), &key, &lines);
        } else {
            let mut lines = vec![("default".to_string(), q(""))];
            for (h, a, i) in &keyed {
                if a.is_none() && *i != 0 {
                    lines.push((q(&h.to_string()), q(&i.to_string())));
                }
            }
            self.map(&format!("${ns}_hb"), &key, &lines);
        }
        let others: Vec<(String, Answer)> = distinct
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, a)| (i.to_string(), a.clone()))
            .collect();
        s.push_str(&self.answers(
            &base,
            &super::paths::Keying::Label(format!("${key}")),
            &own,
            &others,
            policy,
            single,
            u,
        )?);
        Ok(s)
    }
}
