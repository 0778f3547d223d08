//! Path forms in nginx (spec/nginx.md): the server-level maps of the raw path's form and of
//! the as-sent reading's policy id ([`PolicyIds`]), the 400 for a path with dot segments, and
//! the route snippet of a route whose paths can read, as sent, as a route with other
//! policies, every header chosen by that reading. The top of the emitter's parts: built on
//! `values`, `cors` and `guards`.

use std::fmt::Write as _;

use guestlist::Cors;

use super::cors::{CorsVars, ORDER, OWNED, STATES, TCHAR};
use super::guards::token_note;
use super::values::{check_value, q, re, text_of, upstream_var, var_name, Writer};
use crate::emit::Unsupported;

/// The policies a route applies, as one id: routes with the same cors policy and guards share
/// one, and `0` is "no policy" (no route, or a route with none). Two readings of a path only
/// differ when their routes' ids do.
pub(super) struct PolicyIds {
    /// Each id's (cors, guards); id 0 is no policy.
    tuples: Vec<(Option<u32>, guestlist::Guards)>,
    /// Each route's id.
    of_route: Vec<usize>,
}

impl PolicyIds {
    pub(super) fn new(policy: &guestlist::Policy) -> PolicyIds {
        let mut tuples: Vec<(Option<u32>, guestlist::Guards)> =
            vec![(None, guestlist::Guards::NONE)];
        let mut of_route = Vec::new();
        for r in policy.routes() {
            let t = (r.cors(), r.guards());
            let id = match tuples.iter().position(|x| *x == t) {
                Some(i) => i,
                None => {
                    tuples.push(t);
                    tuples.len() - 1
                }
            };
            of_route.push(id);
        }
        PolicyIds { tuples, of_route }
    }

    /// The first route with policy id `id` (its maps stand for every route with the id).
    fn route<'p>(
        &self,
        policy: &'p guestlist::Policy,
        id: usize,
    ) -> Option<(usize, &'p guestlist::Route)> {
        self.of_route
            .iter()
            .position(|&x| x == id)
            .and_then(|i| policy.routes().get(i).map(|r| (i, r)))
    }

    /// The ids a path whose normalised reading selects route `ri` can have as its as-sent
    /// reading's, besides the route's own. nginx serves `non-normal reject` only (GL1011), so
    /// a path with two readings has no dot segment, and its normalised reading starts with its
    /// as-sent reading's route prefix: the as-sent route is a prefix route whose literal
    /// prefix the route's pattern starts with, or no route (when the policy has no `/*`).
    pub(super) fn partners(&self, policy: &guestlist::Policy, ri: usize) -> Vec<usize> {
        let Some((own, r)) = self.of_route.get(ri).zip(policy.routes().get(ri)) else {
            return Vec::new();
        };
        let mut out = std::collections::BTreeSet::new();
        if !policy.routes().iter().any(|x| x.pattern() == "/*") {
            out.insert(0);
        }
        let literal = r.pattern().strip_suffix('*').unwrap_or(r.pattern());
        for (x, id) in policy.routes().iter().zip(&self.of_route) {
            if let Some(prefix) = x.pattern().strip_suffix('*') {
                if literal.starts_with(prefix) {
                    out.insert(*id);
                }
            }
        }
        out.remove(own);
        out.into_iter().collect()
    }
}

impl Writer {
    /// The path rules at the server level (spec/language.md, "Path forms"): the raw path's
    /// form (`$request_uri`, cut at `?`), the as-sent reading's policy id (the route patterns
    /// as regexes over the raw path), and the 400 for a path with dot segments or a
    /// backslash, which jumps to a named location that answers by itself. Everything else is decided in the route locations, where the
    /// as-sent reading's id picks the answer (nothing is served from a named location, so
    /// your own locations keep applying). nginx itself answers 400 to a path it cannot read
    /// (an invalid escape, `%00`, `..` above the root).
    pub(super) fn paths(
        &mut self,
        policy: &guestlist::Policy,
        ids: &PolicyIds,
        server: &mut String,
    ) -> Result<(), Unsupported> {
        let ns = self.ns.clone();
        let _ = writeln!(
            self.http,
            "\n# Path forms (spec/language.md): the raw path's form"
        );
        let mut form = vec![("default".to_string(), q(""))];
        // First, the common case in one regex: a structurally normal path (segments that do
        // not start with `.`, no `//`, no `%`, no backslash) is empty without trying the
        // others below. A path it leaves out (`/.well-known/x`, `/a%20b`) is classified by them.
        form.push((q("~^(?:/[^./%\\x5c?#][^/%\\x5c?#]*)*/?(?:[?#]|$)"), q("")));
        form.push((
            q("~^[^?#]*(?:/|%2[fF])(?:\\.|%2[eE]){1,2}(?:/|%2[fF]|[?#]|$)"),
            "dots".into(),
        ));
        // A backslash is written `\x5c`: nginx unescapes `\\` in quoted strings. An escaped
        // slash next to a slash reads as a third path where `%2F` is decoded and `//` kept.
        form.push((
            q("~^[^?#]*(?:\\x5c|%5[cC]|(?:/|%2[fF])%2[fF]|%2[fF]/)"),
            "dots".into(),
        ));
        form.push((
            q("~^[^?#]*(?://|%|\\x5c|/\\.\\.?(?:/|[?#]|$))"),
            "two".into(),
        ));
        self.map("$request_uri", &format!("{ns}_form"), &form);
        // Routes in the runtime's order of precedence: exact routes, then prefixes, longest
        // first.
        let mut order: Vec<usize> = (0..policy.routes().len()).collect();
        order.sort_by_key(|&i| {
            let r = policy.routes().get(i);
            (
                r.is_some_and(|r| r.is_prefix()),
                std::cmp::Reverse(r.map_or(0, |r| r.pattern().len())),
                i,
            )
        });
        let mut sent = vec![("default".to_string(), "0".to_string())];
        for &i in &order {
            let (Some(r), Some(&t)) = (policy.routes().get(i), ids.of_route.get(i)) else {
                continue;
            };
            check_value("route pattern", r.pattern())?;
            let raw = match r.pattern().strip_suffix('*') {
                Some(prefix) => format!("^{}", as_sent_re(prefix)),
                None => format!("^{}(?:[?#]|$)", as_sent_re(r.pattern())),
            };
            let _ = writeln!(self.http, "# route \"{}\"", r.pattern());
            sent.push((q(&format!("~{raw}")), t.to_string()));
        }
        let _ = writeln!(
            self.http,
            "# The policies of the route the as-sent reading selects (the raw path: nothing decoded,\n# merged or resolved)."
        );
        self.map("$request_uri", &format!("{ns}_sent"), &sent);
        // The jump's target: for a path with dot segments the 400; for every other 418 (one of
        // your own locations answering 418) a named location that answers 418 again.
        self.map(
            &format!("${ns}_form"),
            &format!("{ns}_path"),
            &[
                ("default".to_string(), q(&format!("@{ns}_teapot"))),
                (q("dots"), q(&format!("@{ns}_not_normal"))),
            ],
        );
        let _ = writeln!(
            server,
            "\n# Path forms (spec/language.md): nginx answers 400 to a path it cannot read (an invalid\n\
             # escape, %00, `..` above the root). A path with a `.` or `..` segment or a backslash, once\n\
             # decoded, gets 400 and `Guestlist-Reason: path-not-normal`, in a named location that\n\
             # answers by itself (418 is only the internal jump: a 418 of your own is answered 418\n\
             # again). Every other path is decided in the route locations. Keep\n\
             # `recursive_error_pages` off (the default) in this server: with it on, a 418 of your\n\
             # own becomes a 500 (a redirection cycle).\n\
             error_page 418 = ${ns}_path;\n\
             # Locations are matched on the path with `//` merged, as the runtime's normalised\n\
             # reading is. nginx reads merge_slashes from the default server of the address (it\n\
             # parses the path before the Host header): if this server is not the default one, keep\n\
             # merge_slashes on (the default) in the default server too, or `/api//b/x` is matched\n\
             # as `/api/` here while the runtime reads `/api/b/x`.\n\
             merge_slashes on;\n\
             if (${ns}_form = dots) {{ return 418; }}\n\
             location @{ns}_not_normal {{\n    add_header Guestlist-Reason path-not-normal always;\n    return 400;\n}}\n\
             location @{ns}_teapot {{\n    return 418;\n}}"
        );
        Ok(())
    }

    /// A map from the route's key (`$<ns>r<ri>_s`: the as-sent reading's policy id, or empty
    /// for a structurally normal path) to `default`, or to a partner's value; the variable, or
    /// the value itself when no partner's differs.
    fn by_reading(
        &mut self,
        key: &str,
        target: &str,
        default: &str,
        cases: &[(usize, String)],
    ) -> String {
        if cases.iter().all(|(_, v)| v == default) {
            return default.to_string();
        }
        let mut lines = vec![("default".to_string(), default.to_string())];
        for (id, v) in cases {
            if v != default {
                lines.push((q(&id.to_string()), v.clone()));
            }
        }
        self.map(key, target, &lines);
        format!("${target}")
    }

    /// The route snippet of route `ri` when its paths can have an as-sent reading with other
    /// policies (`partners`): every header the route sets is a variable chosen by the as-sent
    /// reading's policy id, the route's own answer for a structurally normal path and the two
    /// readings' answer (the runtime's `decide_two`) otherwise; the upstream's own copies of
    /// every such header are hidden, and passed on where the answer leaves them alone.
    pub(super) fn route_with_readings(
        &mut self,
        ri: usize,
        policy: &guestlist::Policy,
        ids: &PolicyIds,
        partners: &[usize],
        single: &[Option<CorsVars>],
    ) -> Result<String, Unsupported> {
        let ns = self.ns.clone();
        let Some(r) = policy.routes().get(ri) else {
            return Ok(String::new());
        };
        let key = format!("${ns}r{ri}_s");
        self.map(
            &format!("${ns}_form"),
            &format!("{ns}r{ri}_s"),
            &[
                ("default".to_string(), q("")),
                (q("two"), format!("${ns}_sent")),
            ],
        );
        let table = |c: Option<u32>| {
            c.and_then(|i| {
                policy
                    .cors_policies()
                    .get(i as usize)
                    .map(|t| (i as usize, t))
            })
        };
        let own_cors = r.cors();
        let own = own_cors.and_then(|c| single.get(c as usize).cloned().flatten());
        // Each partner's CORS answer (None: neither reading has a cors policy).
        let mut answers: Vec<(usize, Option<CorsVars>)> = Vec::new();
        for &p in partners {
            let (pc, _) = ids
                .tuples
                .get(p)
                .copied()
                .unwrap_or((None, guestlist::Guards::NONE));
            let a = if pc == own_cors {
                own.clone()
            } else {
                Some(self.cors_pair(table(pc), table(own_cors))?)
            };
            answers.push((p, a));
        }
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# A path of this route that is not structurally normal may read, as sent, as another\n# route with other policies: each header below is chosen by that reading's policy id\n# (`${ns}r{ri}_s`), so that the answer is no looser than either reading's."
        );
        let any_cors = own.is_some() || answers.iter().any(|(_, a)| a.is_some());
        if any_cors {
            s.push_str("# The upstream's own CORS headers are hidden; where no policy governs the answer they\n# are passed on.\n");
            for h in OWNED {
                let _ = writeln!(s, "proxy_hide_header {h};");
            }
            // The route's answer as one token (`$<ns>r<N>_a`): the own policy's state for a
            // structurally normal path (one lookup, keyed on the form), and `<id>-<state>` (or
            // `<id>-pass` where no policy governs) for an as-sent reading with policy id `id`.
            // Every header is one lookup keyed on the token.
            let own_token = own.as_ref().map_or(q("pass"), |c| c.state.clone());
            let mut two = vec![("default".to_string(), own_token.clone())];
            // (token prefix, answer): None is the route's own.
            // A partner's state whose answer (every header and `Vary`) is the route's own in
            // the same state keeps the own token, so the route's maps and `if` lines serve
            // both; only the states the partner's answer can take get tokens.
            let distinct = |c: &CorsVars| -> Vec<&'static str> {
                c.reachable()
                    .iter()
                    .copied()
                    .filter(|st| {
                        own.as_ref().is_none_or(|o| {
                            o.vary != c.vary
                                || (0..ORDER.len()).any(|h| o.value(h, st) != c.value(h, st))
                        })
                    })
                    .collect()
            };
            // (token prefix, answer, the states with tokens of their own): None is the
            // route's own.
            let mut tagged: Vec<(Option<usize>, Option<&CorsVars>, Vec<&'static str>)> =
                vec![(None, own.as_ref(), STATES.to_vec())];
            for (p, a) in &answers {
                let own_policy = r.cors() == ids.tuples.get(*p).and_then(|t| t.0);
                if own_policy {
                    continue;
                }
                let mut own_states = Vec::new();
                match a {
                    Some(c) => {
                        own_states = distinct(c);
                        if own_states.is_empty() {
                            two.push((q(&p.to_string()), c.state.clone()));
                        } else {
                            let t = format!("{ns}r{ri}_t{p}");
                            let lines: Vec<(String, String)> = c
                                .reachable()
                                .iter()
                                .map(|st| {
                                    let token = if own_states.contains(st) {
                                        q(&format!("{p}-{st}"))
                                    } else {
                                        (*st).to_string()
                                    };
                                    ((*st).to_string(), token)
                                })
                                .collect();
                            self.map(&c.state, &t, &lines);
                            two.push((q(&p.to_string()), format!("${t}")));
                        }
                    }
                    None => two.push((q(&p.to_string()), q(&format!("{p}-pass")))),
                }
                tagged.push((Some(*p), a.as_ref(), own_states));
            }
            let token = |p: Option<usize>, st: &str| match p {
                None => st.to_string(),
                Some(p) => q(&format!("{p}-{st}")),
            };
            let answer = format!("{ns}r{ri}_a");
            self.map(&format!("${ns}_sent"), &format!("{answer}_two"), &two);
            self.map(
                &format!("${ns}_form"),
                &answer,
                &[
                    ("default".to_string(), own_token),
                    (q("two"), format!("${answer}_two")),
                ],
            );
            let answer = format!("${answer}");
            for (h, name) in ORDER.iter().enumerate() {
                let pass = upstream_var(name)?;
                let mut lines = vec![("default".to_string(), q(""))];
                for (p, a, states) in &tagged {
                    match a {
                        Some(c) => {
                            for (st, v) in c.tables.get(h).into_iter().flatten() {
                                if states.contains(&st.as_str()) {
                                    lines.push((token(*p, st), v.clone()));
                                }
                            }
                        }
                        None => lines.push((token(*p, "pass"), pass.clone())),
                    }
                }
                if lines.len() > 1 {
                    let target = format!("{ns}r{ri}_{}", short(name));
                    self.map(&answer, &target, &lines);
                    let _ = writeln!(s, "add_header {name} ${target} always;");
                }
            }
            let varies: Vec<bool> = tagged
                .iter()
                .map(|(_, a, _)| a.is_some_and(|c| c.vary))
                .collect();
            if varies.iter().all(|v| *v) {
                s.push_str("add_header Vary \"Origin\" always;\n");
            } else if varies.iter().any(|v| *v) {
                let mut lines = vec![("default".to_string(), q(""))];
                for (p, a, states) in &tagged {
                    if a.is_some_and(|c| c.vary) {
                        for st in states {
                            lines.push((token(*p, st), q("Origin")));
                        }
                    }
                }
                let target = format!("{ns}r{ri}_vary");
                self.map(&answer, &target, &lines);
                let _ = writeln!(s, "add_header Vary ${target} always;");
            }
            s.push_str("# Preflights are answered here and never reach the upstream. Only `return` inside `if`.\n");
            for (st, status) in [("pok", 204), ("prej", 403)] {
                for (p, a, states) in &tagged {
                    if a.is_some() && states.contains(&st) {
                        let _ = writeln!(
                            s,
                            "if ({answer} = {}) {{ return {status}; }}",
                            token(*p, st)
                        );
                    }
                }
            }
        } else {
            s.push_str("# Neither reading's route has a cors policy: no CORS headers are added.\n");
        }
        // CSRF and WebSocket refusals: each reading's checks, the as-sent reading's first.
        s.push_str(&token_note(policy, r.guards()));
        let own_reasons = self.route_reasons(ri, r, policy)?;
        let own_reason = self.first_reason(&format!("{ns}r{ri}_reason"), &own_reasons);
        let mut cases = Vec::new();
        for &p in partners {
            let mut reasons = match ids.route(policy, p) {
                Some((pi, pr)) => self.route_reasons(pi, pr, policy)?,
                None => Vec::new(),
            };
            reasons.extend(own_reasons.iter().cloned());
            cases.push((
                p,
                self.first_reason(&format!("{ns}r{ri}_p{p}_reason"), &reasons),
            ));
        }
        let reason = self.by_reading(&key, &format!("{ns}r{ri}_why"), &own_reason, &cases);
        if reason != q("") {
            s.push_str(
                "# CSRF and WebSocket refusals: 403 with the reason, before the upstream.\n",
            );
            let _ = writeln!(s, "add_header Guestlist-Reason {reason} always;");
            let _ = writeln!(s, "if ({reason}) {{ return 403; }}");
        }
        // Security headers and CSPs: the list the runtime writes for each answer
        // (`for_each_guard_header`), as slots of a name and its occurrence.
        let g = r.guards();
        let guards_of = |p: usize| ids.tuples.get(p).map_or(guestlist::Guards::NONE, |t| t.1);
        // Per answer (None: the route's own): the headers it sets and the names it removes.
        type Answer = (Option<usize>, Vec<(String, String)>, Vec<String>);
        let mut lists: Vec<Answer> = Vec::new();
        let removed = |gs: guestlist::Guards| -> Vec<String> {
            gs.headers
                .and_then(|i| policy.header_sets().get(i as usize))
                .map(|h| h.remove().iter().map(|n| n.as_str().to_string()).collect())
                .unwrap_or_default()
        };
        lists.push((
            None,
            self.guard_list(policy, g, None, r.pattern())?,
            removed(g),
        ));
        for &p in partners {
            let gs = guards_of(p);
            lists.push((
                Some(p),
                self.guard_list(policy, gs, Some(g), r.pattern())?,
                removed(gs),
            ));
        }
        // The route's own headers and removals are hidden on every response, as on a route
        // whose paths have one reading; a header only a partner sets or removes follows
        // `partner_rule` (`errors` refuses the policy first where it is `Refuse`).
        let (own_list, own_rm) = lists
            .first()
            .map(|(_, l, rm)| (l.clone(), rm.clone()))
            .unwrap_or_default();
        let governed =
            |n: &str| own_list.iter().any(|(x, _)| x == n) || own_rm.iter().any(|x| x == n);
        let mut slots: Vec<(String, usize)> = Vec::new();
        let mut hide = std::collections::BTreeSet::new();
        for (p, list, rm) in &lists {
            let mut seen: Vec<&str> = Vec::new();
            let partner = || {
                p.and_then(|p| ids.route(policy, p))
                    .map_or("", |(_, x)| x.pattern())
            };
            for (n, _) in list {
                let k = seen.iter().filter(|x| **x == n.as_str()).count();
                seen.push(n);
                if !slots.contains(&(n.clone(), k)) {
                    slots.push((n.clone(), k));
                }
                if governed(n) {
                    hide.insert(n.clone());
                    continue;
                }
                match partner_rule(n, false) {
                    PartnerRule::AddBeside | PartnerRule::LeaveAlone => {}
                    PartnerRule::HideAndPassFirst => {
                        hide.insert(n.clone());
                    }
                    PartnerRule::Refuse => {
                        return Err(Unsupported(partner_refusal(
                            n,
                            false,
                            partner(),
                            r.pattern(),
                        )))
                    }
                }
            }
            for n in rm {
                if governed(n) {
                    hide.insert(n.clone());
                    continue;
                }
                match partner_rule(n, true) {
                    PartnerRule::LeaveAlone => {}
                    PartnerRule::AddBeside | PartnerRule::HideAndPassFirst => {
                        hide.insert(n.clone());
                    }
                    PartnerRule::Refuse => {
                        return Err(Unsupported(partner_refusal(
                            n,
                            true,
                            partner(),
                            r.pattern(),
                        )))
                    }
                }
            }
        }
        if !slots.is_empty() || !hide.is_empty() {
            s.push_str("# Security headers and CSPs: the upstream's own copies are hidden (passed on where the\n# answer neither sets nor removes them), ours are sent `always`.\n");
            if hide.iter().any(|n| n == "server") {
                s.push_str("# `remove server` hides the upstream's Server header; nginx still sends its own\n# (`server_tokens off;` hides its version).\n");
            }
            for n in &hide {
                check_value("header name", n)?;
                let _ = writeln!(s, "proxy_hide_header {n};");
            }
            // Hidden names no answer sets: passed on unless the answer removes them.
            for n in hide.iter().filter(|n| !slots.iter().any(|(x, _)| x == *n)) {
                let pass = self.upstream_first(n)?;
                let value = |rm: &Vec<String>| {
                    if rm.contains(n) || n == "server" {
                        q("")
                    } else {
                        pass.clone()
                    }
                };
                let default = lists.first().map_or(q(""), |l| value(&l.2));
                let cases: Vec<(usize, String)> = lists
                    .iter()
                    .filter_map(|(p, _, rm)| p.map(|p| (p, value(rm))))
                    .collect();
                let v = self.by_reading(
                    &key,
                    &format!("{ns}r{ri}_h_{}", var_part(n)),
                    &default,
                    &cases,
                );
                if v != q("") {
                    let _ = writeln!(s, "add_header {n} {v} always;");
                }
            }
            for (i, (n, k)) in slots.iter().enumerate() {
                let hidden = hide.contains(n);
                let mut values = Vec::new();
                for (p, list, rm) in &lists {
                    let v = match list.iter().filter(|(x, _)| x == n).nth(*k) {
                        Some((_, v)) => self.value(n, v)?,
                        None if hidden && *k == 0 && !rm.contains(n) => self.upstream_first(n)?,
                        None => q(""),
                    };
                    values.push((*p, v));
                }
                let default = values.first().map_or(q(""), |x| x.1.clone());
                let cases: Vec<(usize, String)> = values
                    .iter()
                    .filter_map(|(p, v)| p.map(|p| (p, v.clone())))
                    .collect();
                let v = self.by_reading(&key, &format!("{ns}r{ri}_g{i}"), &default, &cases);
                if v != q("") {
                    let _ = writeln!(s, "add_header {n} {v} always;");
                }
            }
        }
        Ok(s)
    }

    /// CORS for two readings with different cors policies (one may have none): allowed only
    /// where both allow, with the stricter settings of the two (the runtime's
    /// `decide_cors_two`). Each policy's own maps are already written; the pair's are written
    /// once.
    fn cors_pair(
        &mut self,
        s: Option<(usize, &Cors)>,
        n: Option<(usize, &Cors)>,
    ) -> Result<CorsVars, Unsupported> {
        let ns = self.ns.clone();
        let ((Some(first), _) | (None, Some(first))) = (s, n) else {
            return Ok(CorsVars::default());
        };
        let id = |x: Option<(usize, &Cors)>| x.map_or("n".to_string(), |(i, _)| i.to_string());
        let v = format!("{ns}x{}_{}", id(s), id(n));
        let var = |x: (usize, &Cors)| var_name(&ns, x.0);
        let both = match (s, n) {
            (Some((_, a)), Some((_, b))) => Some((a, b)),
            _ => None,
        };
        let static_any = both.is_some_and(|(a, b)| a.is_static_any() && b.is_static_any());
        let st = format!("${v}_state");
        let mut out = CorsVars {
            state: st.clone(),
            vary: [s, n]
                .into_iter()
                .flatten()
                .any(|(_, c)| !c.is_static_any()),
            ..CorsVars::default()
        };
        let fresh = self.first_time(&format!("cors pair {v}"));
        if fresh {
            let lines: Vec<(String, String)>;
            let state = match (s, n) {
                (Some(a), Some(b)) => {
                    lines = vec![
                        ("default".into(), "denied".into()),
                        (q("pok:pok"), "pok".into()),
                        (q("allowed:allowed"), "allowed".into()),
                        (q("none:none"), "none".into()),
                        (q("~prej"), "prej".into()),
                    ];
                    format!("${}_state:${}_state", var(a), var(b))
                }
                _ => {
                    // One reading has no cors policy: it allows nothing.
                    lines = vec![
                        ("default".into(), format!("${}_state", var(first))),
                        ("pok".into(), "prej".into()),
                        ("allowed".into(), "denied".into()),
                    ];
                    format!("${}_state", var(first))
                }
            };
            let _ = writeln!(
                self.http,
                "\n# two readings: cors policy {} (as sent) and {} (normalised)",
                s.map_or("none".to_string(), |(_, c)| format!("`{}`", c.name())),
                n.map_or("none".to_string(), |(_, c)| format!("`{}`", c.name()))
            );
            self.map(&q(&state), &format!("{v}_state"), &lines);
        }
        let Some((a, b)) = both else {
            // One reading has no cors policy: a preflight is refused, an actual request denied.
            out.states = &["none", "denied", "prej"];
            return Ok(out);
        };
        // The pair's header values by state (the route's maps, keyed on its answer, hold them).
        let acao = if a.any_origin() && b.any_origin() {
            q("*")
        } else {
            "$http_origin".to_string()
        };
        out.tables[0] = vec![("allowed".into(), acao.clone()), ("pok".into(), acao)];
        if static_any {
            out.tables[0].push(("none".into(), q("*")));
        }
        if a.credentials() && b.credentials() {
            out.tables[1] = vec![("allowed".into(), q("true")), ("pok".into(), q("true"))];
        }
        if let Some(e) = a.stricter_expose(b) {
            let e = self.value("access-control-expose-headers", &text_of(e)?)?;
            out.tables[2] = vec![("allowed".into(), e.clone())];
            if static_any {
                out.tables[2].push(("none".into(), e));
            }
        }
        out.tables[3] = vec![("pok".into(), "$http_access_control_request_method".into())];
        out.tables[4] = vec![("pok".into(), format!("${v}_acah_pf"))];
        if fresh {
            self.map(
                "$http_access_control_request_headers",
                &format!("{v}_acah_pf"),
                &[
                    ("default".into(), q("")),
                    (
                        q(&format!("~[{TCHAR}]")),
                        "$http_access_control_request_headers".into(),
                    ),
                ],
            );
        }
        if let Some(m) = a.stricter_max_age(b) {
            let m = self.value("access-control-max-age", &text_of(m)?)?;
            out.tables[5] = vec![("pok".into(), m)];
        }
        Ok(out)
    }
}

/// What nginx does with a header that a partner's answer (the as-sent reading's) sets or
/// removes and the route's own answer leaves to the upstream, so that every other request
/// still gets the upstream's lines whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PartnerRule {
    /// Added after the upstream's lines, which stay: the CSPs (one more policy is never
    /// looser), Reporting-Endpoints and Permissions-Policy (dictionaries: a later member
    /// replaces an earlier one of the same name) and Referrer-Policy (the last valid token
    /// wins).
    AddBeside,
    /// Hidden, and the upstream's first value passed on where the answer leaves it alone:
    /// headers that hold one value, which browsers read from the first line.
    HideAndPassFirst,
    /// Left alone: nginx's own `Server` (a removal hides only the upstream's).
    LeaveAlone,
    /// Not expressible: hiding it for some requests would cut the upstream's other lines
    /// (or the header is one nginx manages). `errors` reports it as GL1012.
    Refuse,
}

/// The rule for header `name`, set (`removed` false) or removed by a partner only.
pub(super) fn partner_rule(name: &str, removed: bool) -> PartnerRule {
    match name {
        "server" if removed => PartnerRule::LeaveAlone,
        "content-security-policy"
        | "content-security-policy-report-only"
        | "reporting-endpoints"
        | "permissions-policy"
        | "referrer-policy"
            if !removed =>
        {
            PartnerRule::AddBeside
        }
        "strict-transport-security"
        | "x-frame-options"
        | "x-content-type-options"
        | "cross-origin-opener-policy"
        | "cross-origin-opener-policy-report-only"
        | "cross-origin-embedder-policy"
        | "cross-origin-embedder-policy-report-only"
        | "cross-origin-resource-policy"
        | "origin-agent-cluster"
        | "x-dns-prefetch-control"
        | "x-permitted-cross-domain-policies"
        | "x-xss-protection"
        | "x-powered-by" => PartnerRule::HideAndPassFirst,
        _ => PartnerRule::Refuse,
    }
}

/// Why a partner's header cannot be applied (the message of GL1012 and of the emitter's own
/// refusal).
pub(super) fn partner_refusal(name: &str, removed: bool, partner: &str, route: &str) -> String {
    let verb = if removed { "removes" } else { "sets" };
    format!(
        "route \"{partner}\" {verb} `{name}`, which route \"{route}\" leaves to the upstream: nginx cannot hide `{name}` only for the paths of \"{route}\" that read as \"{partner}\" when sent (hiding a header for some requests passes on only its first line for the others, and nginx manages some headers itself)"
    )
}

/// Every header a partner sets or removes that nginx cannot apply ([`PartnerRule::Refuse`]):
/// (route index, partner route index, name, removed).
pub(super) fn refused_partner_headers(
    policy: &guestlist::Policy,
    ids: &PolicyIds,
) -> Vec<(usize, usize, String, bool)> {
    let names = |g: guestlist::Guards, normalised: Option<guestlist::Guards>| {
        let mut set: Vec<String> = Vec::new();
        policy.for_each_guard_header(g, normalised, |h| set.push(h.name.as_str().to_string()));
        let removed: Vec<String> = g
            .headers
            .and_then(|i| policy.header_sets().get(i as usize))
            .map(|h| h.remove().iter().map(|n| n.as_str().to_string()).collect())
            .unwrap_or_default();
        (set, removed)
    };
    let mut out = Vec::new();
    for (ri, r) in policy.routes().iter().enumerate() {
        let (own_set, own_rm) = names(r.guards(), None);
        for p in ids.partners(policy, ri) {
            let Some((pi, pr)) = ids.route(policy, p) else {
                continue;
            };
            let (set, rm) = names(pr.guards(), Some(r.guards()));
            let flagged = set
                .into_iter()
                .map(|n| (n, false))
                .chain(rm.into_iter().map(|n| (n, true)));
            for (n, removed) in flagged {
                let governed = own_set.contains(&n) || own_rm.contains(&n);
                if !governed
                    && partner_rule(&n, removed) == PartnerRule::Refuse
                    && !out
                        .iter()
                        .any(|x: &(usize, usize, String, bool)| x.0 == ri && x.1 == pi && x.2 == n)
                {
                    out.push((ri, pi, n, removed));
                }
            }
        }
    }
    out
}

/// A header name as part of a variable name: lowercase letters and digits kept, every other
/// byte as `_` and two hex digits (injective, as the slugs are).
fn var_part(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "_{b:02x}");
            }
        }
    }
    out
}

/// A short variable suffix for an `Access-Control-*` header.
fn short(name: &str) -> &'static str {
    match name {
        "Access-Control-Allow-Origin" => "acao",
        "Access-Control-Allow-Credentials" => "acac",
        "Access-Control-Expose-Headers" => "aceh",
        "Access-Control-Allow-Methods" => "acam",
        "Access-Control-Allow-Headers" => "acah",
        _ => "acma",
    }
}

/// A route pattern as a regex over the raw path (the as-sent reading, which decodes
/// nothing): each byte matches itself.
fn as_sent_re(p: &str) -> String {
    re(p)
}
