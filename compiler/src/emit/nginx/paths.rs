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
use crate::emit::edge::{fold_expose, fold_max_age, tenant_clashes, Matcher, Via};
use crate::emit::Unsupported;

/// The policies a route applies, as one id: routes with the same cors policy and guards share
/// one, and `0` is "no policy" (no route, or a route with none). Two readings of a path only
/// differ when their routes' ids do.
pub(super) struct PolicyIds {
    /// Each id's (cors, guards); id 0 is no policy.
    tuples: Vec<(Option<u32>, guestlist::Guards)>,
    /// Each route's id.
    pub(super) of_route: Vec<usize>,
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
    /// The route behind partner id `p` of route `ri` ([`Self::partners`]): of the routes
    /// with that id, the prefix route with the longest prefix that `ri`'s pattern starts with
    /// (the one a path of `ri` reads as when sent); `None` for no route.
    pub(super) fn partner_route<'p>(
        &self,
        policy: &'p guestlist::Policy,
        ri: usize,
        p: usize,
    ) -> Option<(usize, &'p guestlist::Route)> {
        let literal = policy.routes().get(ri).map(|r| {
            let pat = r.pattern();
            pat.strip_suffix('*').unwrap_or(pat)
        })?;
        policy
            .routes()
            .iter()
            .enumerate()
            .zip(&self.of_route)
            .filter(|((x, r), id)| {
                **id == p
                    && *x != ri
                    && r.pattern()
                        .strip_suffix('*')
                        .is_some_and(|prefix| literal.starts_with(prefix))
            })
            .map(|(x, _)| x)
            .max_by_key(|(_, r)| r.pattern().len())
    }

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

/// One answer of a location: the routes a request is decided under (the runtime's
/// `decide_route`, or `decide_merged` for a path with two readings or in a policy with host
/// blocks), as the emitter writes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Answer {
    /// The cors policy of each route decided under, in the runtime's order, each once
    /// (`None`: a route without one, or no route, which allows nothing).
    pub(super) cors: Vec<Option<u32>>,
    /// The routes whose websocket and csrf checks run, in order, each once.
    pub(super) checks: Vec<usize>,
    /// The guards whose security headers and CSP are sent: the selected route's (the as-sent
    /// reading's), and the normalised reading's when it differs.
    pub(super) headers: (guestlist::Guards, Option<guestlist::Guards>),
    /// The route pattern that names the answer in messages.
    pub(super) name: String,
}

impl Answer {
    /// An answer from its routes' cors policies and checks, in order (repeats dropped).
    pub(super) fn new(
        cors: impl IntoIterator<Item = Option<u32>>,
        checks: impl IntoIterator<Item = usize>,
        headers: (guestlist::Guards, Option<guestlist::Guards>),
        name: &str,
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
        Answer {
            cors: c,
            checks: k,
            headers,
            name: name.to_string(),
        }
    }
}

/// How a location selects among its answers.
pub(super) enum Keying {
    /// Route `ri`'s: by the as-sent reading's policy id (`$<ns>_sent`), for a path that is
    /// not structurally normal.
    Readings(usize),
    /// By the variable named, which holds the answer's label (empty: the location's own).
    Label(String),
}

impl Writer {
    /// The path rules at the server level (spec/language.md, "Path forms"): the raw path's
    /// form (`$request_uri`, cut at `?`), the as-sent reading's policy id (the route patterns
    /// as regexes over the raw path), and the 400 for a path with dot segments or a
    /// backslash, which jumps to a named location that answers by itself. Everything else is decided in the route locations, where the
    /// as-sent reading's id picks the answer (nothing is served from a named location, so
    /// your own locations keep applying). nginx itself answers 400 to a path it cannot read
    /// (an invalid escape, `%00`, `..` above the root).
    /// `locations` are the route patterns with the id the as-sent reading's map gives each:
    /// the policy id of a route, or in a policy with host blocks the location's (from 1).
    pub(super) fn paths(
        &mut self,
        locations: &[(&str, usize)],
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
        let mut order: Vec<usize> = (0..locations.len()).collect();
        order.sort_by_key(|&i| {
            let r = locations.get(i).map(|l| l.0);
            (
                r.is_some_and(|r| r.ends_with("/*")),
                std::cmp::Reverse(r.map_or(0, str::len)),
                i,
            )
        });
        let mut sent = vec![("default".to_string(), "0".to_string())];
        for &i in &order {
            let Some(&(pattern, t)) = locations.get(i) else {
                continue;
            };
            check_value("route pattern", pattern)?;
            let raw = match pattern.strip_suffix('*') {
                Some(prefix) => format!("^{}", as_sent_re(prefix)),
                None => format!("^{}(?:[?#]|$)", as_sent_re(pattern)),
            };
            let _ = writeln!(self.http, "# route \"{pattern}\"");
            sent.push((q(&format!("~{raw}")), t.to_string()));
        }
        let _ = writeln!(
            self.http,
            "# The policies of the route the as-sent reading selects (the raw path: nothing decoded,\n# merged or resolved)."
        );
        self.map("$request_uri", &format!("{ns}_sent"), &sent);
        // The jump's target: for a path with dot segments the 400; for every other 418 (one of
        // your own locations answering 418) a named location that answers 418 again.
        if self.hosts {
            // An ambiguous authority is refused first, as the runtime refuses it before any
            // route is chosen.
            self.map(
                &q(&format!("${ns}_amb${ns}_form")),
                &format!("{ns}_path"),
                &[
                    ("default".to_string(), q(&format!("@{ns}_teapot"))),
                    (q("dots"), q(&format!("@{ns}_not_normal"))),
                    (q("~^1"), q(&format!("@{ns}_host_ambiguous"))),
                ],
            );
        } else {
            self.map(
                &format!("${ns}_form"),
                &format!("{ns}_path"),
                &[
                    ("default".to_string(), q(&format!("@{ns}_teapot"))),
                    (q("dots"), q(&format!("@{ns}_not_normal"))),
                ],
            );
        }
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
        if self.hosts {
            let _ = writeln!(
                server,
                "\n# Host blocks (spec/language.md, section 6a): a request whose absolute-form target names\n\
                 # another authority than its `Host` gets 400 and `Guestlist-Reason: host-ambiguous`\n\
                 # (nginx itself answers 400 to two `Host` lines), before any location.\n\
                 if (${ns}_amb) {{ return 418; }}\n\
                 location @{ns}_host_ambiguous {{\n    add_header Guestlist-Reason host-ambiguous always;\n    return 400;\n}}"
            );
        }
        Ok(())
    }

    /// A map from a location's key (its answer's label, empty for its own answer) to
    /// `default`, or to another answer's value; the variable, or the value itself when no other
    /// answer's differs.
    fn by_reading(
        &mut self,
        key: &str,
        target: &str,
        default: &str,
        cases: &[(String, String)],
    ) -> String {
        if cases.iter().all(|(_, v)| v == default) {
            return default.to_string();
        }
        let mut lines = vec![("default".to_string(), default.to_string())];
        for (label, v) in cases {
            if v != default {
                lines.push((q(label), v.clone()));
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
        let Some(r) = policy.routes().get(ri) else {
            return Ok(String::new());
        };
        let own = Answer::new([r.cors()], [ri], (r.guards(), None), r.pattern());
        let mut others = Vec::new();
        for &p in partners {
            let (pc, pg) = ids
                .tuples
                .get(p)
                .copied()
                .unwrap_or((None, guestlist::Guards::NONE));
            let rep = ids.route(policy, p);
            let a = Answer::new(
                [pc, r.cors()],
                rep.map(|(pi, _)| pi).into_iter().chain([ri]),
                (pg, Some(r.guards())),
                rep.map_or("", |(_, x)| x.pattern()),
            );
            others.push((p.to_string(), a));
        }
        let base = format!("{}r{ri}", self.ns);
        self.answers(
            &base,
            &Keying::Readings(ri),
            &own,
            &others,
            policy,
            single,
            r.pattern(),
        )
    }

    /// The CORS answer of `a`: its one cors policy's, none, or the stricter fold of several.
    fn answer_cors(
        &mut self,
        a: &Answer,
        policy: &guestlist::Policy,
        single: &[Option<CorsVars>],
    ) -> Result<Option<CorsVars>, Unsupported> {
        match a.cors.as_slice() {
            [] => Ok(None),
            [one] => Ok(one.and_then(|c| single.get(c as usize).cloned().flatten())),
            list => {
                let tables: Vec<Option<(usize, &Cors)>> = list
                    .iter()
                    .map(|c| {
                        c.and_then(|i| {
                            policy
                                .cors_policies()
                                .get(i as usize)
                                .map(|t| (i as usize, t))
                        })
                    })
                    .collect();
                Ok(Some(self.cors_fold(&tables)?))
            }
        }
    }

    /// The snippet of a location whose requests get one of several answers: `own`, or another
    /// (`others`, each with its label), as `keying` selects. Every header the answers set is a
    /// variable chosen by the label; the upstream's own copies of every such header are
    /// hidden, and passed on where the answer leaves them alone. `base` starts every variable
    /// name of the location.
    #[expect(
        clippy::too_many_arguments,
        reason = "the location's answers, how they are selected, and the tables they name"
    )]
    pub(super) fn answers(
        &mut self,
        base: &str,
        keying: &Keying,
        own_answer: &Answer,
        others: &[(String, Answer)],
        policy: &guestlist::Policy,
        single: &[Option<CorsVars>],
        pattern: &str,
    ) -> Result<String, Unsupported> {
        let ns = self.ns.clone();
        let key = match keying {
            Keying::Readings(ri) => {
                self.map(
                    &format!("${ns}_form"),
                    &format!("{ns}r{ri}_s"),
                    &[
                        ("default".to_string(), q("")),
                        (q("two"), format!("${ns}_sent")),
                    ],
                );
                format!("${ns}r{ri}_s")
            }
            Keying::Label(v) => v.clone(),
        };
        let own = self.answer_cors(own_answer, policy, single)?;
        // Each other answer's CORS answer (None: no cors policy decides it).
        let mut answers: Vec<(&str, Option<CorsVars>)> = Vec::new();
        for (p, a) in others {
            answers.push((p.as_str(), self.answer_cors(a, policy, single)?));
        }
        let mut s = String::new();
        match keying {
            Keying::Readings(_) => {
                let _ = writeln!(
                    s,
                    "# A path of this route that is not structurally normal may read, as sent, as another\n# route with other policies: each header below is chosen by that reading's policy id\n# (`{key}`), so that the answer is no looser than either reading's."
                );
            }
            Keying::Label(_) => {
                let _ = writeln!(
                    s,
                    "# The request's host block (and, for a path that is not structurally normal, the route its\n# as-sent reading selects) decide which routes it is decided under: each header below is\n# chosen by that answer (`{key}`), so that the answer is no looser than any of theirs."
                );
            }
        }
        let any_cors = own.is_some() || answers.iter().any(|(_, a)| a.is_some());
        if any_cors {
            s.push_str("# The upstream's own CORS headers are hidden; where no policy governs the answer they\n# are passed on.\n");
            for h in OWNED {
                let _ = writeln!(s, "proxy_hide_header {h};");
            }
            // The location's answer as one token (`<base>_a`): the own answer's state
            // (one lookup), and `<label>-<state>` (or `<label>-pass` where no policy governs)
            // for another answer. Every header is one lookup keyed on the token.
            let own_token = own.as_ref().map_or(q("pass"), |c| c.state.clone());
            let mut two = vec![("default".to_string(), own_token.clone())];
            // Another answer's state whose answer (every header and `Vary`) is the own one in
            // the same state keeps the own token, so the own maps and `if` lines serve both;
            // only the states the other answer can take get tokens.
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
            // (token prefix, answer, the states with tokens of their own): None is the own
            // answer.
            let mut tagged: Vec<(Option<&str>, Option<&CorsVars>, Vec<&'static str>)> =
                vec![(None, own.as_ref(), STATES.to_vec())];
            for ((p, a), (_, other)) in answers.iter().zip(others) {
                if other.cors == own_answer.cors {
                    continue;
                }
                let mut own_states = Vec::new();
                match a {
                    Some(c) => {
                        own_states = distinct(c);
                        if own_states.is_empty() {
                            two.push((q(p), c.state.clone()));
                        } else {
                            let t = format!("{base}_t{p}");
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
                            two.push((q(p), format!("${t}")));
                        }
                    }
                    None => two.push((q(p), q(&format!("{p}-pass")))),
                }
                tagged.push((Some(*p), a.as_ref(), own_states));
            }
            let token = |p: Option<&str>, st: &str| match p {
                None => st.to_string(),
                Some(p) => q(&format!("{p}-{st}")),
            };
            let answer = format!("{base}_a");
            match keying {
                Keying::Readings(_) => {
                    self.map(&format!("${ns}_sent"), &format!("{answer}_two"), &two);
                    self.map(
                        &format!("${ns}_form"),
                        &answer,
                        &[
                            ("default".to_string(), own_token),
                            (q("two"), format!("${answer}_two")),
                        ],
                    );
                }
                Keying::Label(_) => self.map(&key, &answer, &two),
            }
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
                    let target = format!("{base}_{}", short(name));
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
                let target = format!("{base}_vary");
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
            match keying {
                Keying::Readings(_) => s.push_str(
                    "# Neither reading's route has a cors policy: no CORS headers are added.\n",
                ),
                Keying::Label(_) => s.push_str(
                    "# No route this path is decided under has a cors policy: no CORS headers are added.\n",
                ),
            }
        }
        // CSRF and WebSocket refusals: each route's checks, in the runtime's order.
        s.push_str(&token_note(policy, own_answer.headers.0));
        let own_reasons = self.answer_reasons(own_answer, policy)?;
        let own_reason = self.first_reason(&format!("{base}_reason"), &own_reasons);
        let mut cases = Vec::new();
        for (p, a) in others {
            let reasons = self.answer_reasons(a, policy)?;
            cases.push((
                p.clone(),
                self.first_reason(&format!("{base}_p{p}_reason"), &reasons),
            ));
        }
        let reason = self.by_reading(&key, &format!("{base}_why"), &own_reason, &cases);
        if reason != q("") {
            s.push_str(
                "# CSRF and WebSocket refusals: 403 with the reason, before the upstream.\n",
            );
            let _ = writeln!(s, "add_header Guestlist-Reason {reason} always;");
            let _ = writeln!(s, "if ({reason}) {{ return 403; }}");
        }
        // An origin allowed through two different tenant-bound sets: 500, with no header.
        let own_clash =
            self.tenant_clash(&format!("{base}_tc"), own_answer, own.as_ref(), policy)?;
        let mut cases = Vec::new();
        for ((p, a), (_, c)) in others.iter().zip(&answers) {
            let v = self.tenant_clash(&format!("{base}_p{p}_tc"), a, c.as_ref(), policy)?;
            cases.push((p.clone(), v));
        }
        let clash = self.by_reading(&key, &format!("{base}_tcs"), &own_clash, &cases);
        if clash != q("") {
            s.push_str(
                "# The origin allowed through two different tenant-bound sets: 500, as the tower layer\n# answers (whatever the entries' keys). The `add_header` inside the `if` keeps every\n# header above off that answer (an empty value is never sent).\n",
            );
            let _ = writeln!(
                s,
                "if ({clash}) {{ add_header Guestlist-Reason \"\" always; return 500; }}"
            );
        }
        // Security headers and CSPs: the list the runtime writes for each answer
        // (`for_each_guard_header`), as slots of a name and its occurrence.
        // Per answer (None: the own one; else an index into `others`): the headers it sets
        // and the names it removes.
        type Listed = (Option<usize>, Vec<(String, String)>, Vec<String>);
        let mut lists: Vec<Listed> = Vec::new();
        let removed = |gs: guestlist::Guards| -> Vec<String> {
            gs.headers
                .and_then(|i| policy.header_sets().get(i as usize))
                .map(|h| h.remove().iter().map(|n| n.as_str().to_string()).collect())
                .unwrap_or_default()
        };
        let (g, n) = own_answer.headers;
        lists.push((None, self.guard_list(policy, g, n, pattern)?, removed(g)));
        for (i, (_, a)) in others.iter().enumerate() {
            let (g, n) = a.headers;
            lists.push((Some(i), self.guard_list(policy, g, n, pattern)?, removed(g)));
        }
        // The own answer's headers and removals are hidden on every response, as on a route
        // whose paths have one reading; a header only another answer sets or removes follows
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
                p.and_then(|i| others.get(i))
                    .map_or("", |(_, a)| a.name.as_str())
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
                        return Err(Unsupported(match keying {
                            Keying::Readings(_) => partner_refusal(n, false, partner(), pattern),
                            Keying::Label(_) => host_refusal(n, false, partner(), pattern),
                        }))
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
                        return Err(Unsupported(match keying {
                            Keying::Readings(_) => partner_refusal(n, true, partner(), pattern),
                            Keying::Label(_) => host_refusal(n, true, partner(), pattern),
                        }))
                    }
                }
            }
        }
        // A name the own answer hides reaches an answer that neither sets nor removes it as the
        // upstream's first line: refused where that is not all of it. `emit` refuses first what
        // depends on which answers serve normal paths (a list-valued header hidden from a
        // host's ordinary requests, GL1110: `host_header_errors`).
        for n in &hide {
            let own_removes = own_rm.iter().any(|x| x == n);
            let own_sets = own_list.iter().any(|(x, _)| x == n);
            let lossy = (own_removes || own_sets) && cannot_pass(n);
            if !lossy {
                continue;
            }
            for (p, list, rm) in &lists {
                if !list.iter().any(|(x, _)| x == n) && !rm.contains(n) {
                    let who = p
                        .and_then(|i| others.get(i))
                        .map_or(own_answer.name.as_str(), |(_, a)| a.name.as_str());
                    return Err(Unsupported(leave_refusal(
                        n,
                        who,
                        pattern,
                        matches!(keying, Keying::Label(_)),
                    )));
                }
            }
        }
        let label = |i: Option<usize>| i.and_then(|i| others.get(i)).map(|(l, _)| l.clone());
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
                let pass = self.upstream_passed(n)?;
                let value = |rm: &Vec<String>| {
                    if rm.contains(n) || n == "server" {
                        q("")
                    } else {
                        pass.clone()
                    }
                };
                let default = lists.first().map_or(q(""), |l| value(&l.2));
                let cases: Vec<(String, String)> = lists
                    .iter()
                    .filter_map(|(p, _, rm)| label(*p).map(|p| (p, value(rm))))
                    .collect();
                let v =
                    self.by_reading(&key, &format!("{base}_h_{}", var_part(n)), &default, &cases);
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
                        None if hidden && *k == 0 && !rm.contains(n) => self.upstream_passed(n)?,
                        None => q(""),
                    };
                    values.push((*p, v));
                }
                let default = values.first().map_or(q(""), |x| x.1.clone());
                let cases: Vec<(String, String)> = values
                    .iter()
                    .filter_map(|(p, v)| label(*p).map(|p| (p, v.clone())))
                    .collect();
                let v = self.by_reading(&key, &format!("{base}_g{i}"), &default, &cases);
                if v != q("") {
                    let _ = writeln!(s, "add_header {n} {v} always;");
                }
            }
        }
        Ok(s)
    }

    /// `1` (in `$<target>`) when answer `a` allows the request through two different
    /// tenant-bound sets ([`tenant_clashes`]): an actual request in state `allowed` of `cors`
    /// (its CORS answer), or a handshake; read after the preflight and refusal `if`s, so that
    /// no check refuses it. `""` when no two of its policies can.
    fn tenant_clash(
        &mut self,
        target: &str,
        a: &Answer,
        cors: Option<&CorsVars>,
        policy: &guestlist::Policy,
    ) -> Result<String, Unsupported> {
        let spec = self.spec.clone();
        let ws: Vec<Matcher> = a
            .checks
            .iter()
            .filter_map(|&ri| policy.routes().get(ri)?.guards().websocket)
            .map(Matcher::WebSocket)
            .collect();
        let tables: Vec<Matcher> = a.cors.iter().flatten().map(|&i| Matcher::Cors(i)).collect();
        let ws_clashes = tenant_clashes(policy, &spec, &ws);
        let cors_clashes = match cors {
            Some(_) if a.cors.iter().all(Option::is_some) => tenant_clashes(policy, &spec, &tables),
            _ => Vec::new(),
        };
        if ws_clashes.is_empty() && cors_clashes.is_empty() {
            return Ok(q(""));
        }
        let ns = self.ns.clone();
        let state = cors.map_or_else(|| "none".to_string(), |c| c.state.clone());
        let hs = match ws.first() {
            Some(Matcher::WebSocket(wi)) => {
                if let Some(w) = policy.websocket_policies().get(*wi as usize) {
                    self.websocket(*wi, w)?;
                }
                format!("${ns}w{wi}_up")
            }
            _ => "0".to_string(),
        };
        // The key: `<state>|<handshake>|` then one digit per way a policy allows the origin
        // through a tenant-bound set; a pair of different sets is two 1s.
        let mut digits = String::new();
        let mut lines = vec![("default".to_string(), q(""))];
        let mut n = 0;
        for (clashes, head) in [
            (&cors_clashes, "allowed\\|0\\|"),
            (&ws_clashes, "[^|]*\\|1\\|"),
        ] {
            let mut vias: Vec<&Via> = Vec::new();
            for (x, y) in clashes.iter() {
                for v in [x, y] {
                    if !vias.contains(&v) {
                        vias.push(v);
                    }
                }
            }
            let at = |v: &Via| vias.iter().position(|x| *x == v).unwrap_or_default() + n;
            for v in &vias {
                digits.push_str(&self.via(v, policy)?);
            }
            for (x, y) in clashes.iter() {
                let (i, j) = (at(x).min(at(y)), at(x).max(at(y)));
                lines.push((
                    q(&format!("~^{head}.{{{i}}}1.{{{}}}1", j - i - 1)),
                    "1".to_string(),
                ));
            }
            n += vias.len();
        }
        self.map(&q(&format!("{state}|{hs}|{digits}")), target, &lines);
        Ok(format!("${target}"))
    }

    /// `$<var>`: `1` when `v.matcher` allows the request's Origin through `v.set` (not among
    /// its own origins and patterns, in none of the sets it tries first, in the set), else `0`.
    fn via(&mut self, v: &Via, policy: &guestlist::Policy) -> Result<String, Unsupported> {
        let ns = self.ns.clone();
        let own = match v.matcher {
            Matcher::Cors(i) => format!("{ns}tc{i}"),
            Matcher::WebSocket(i) => format!("{ns}tw{i}"),
        };
        if self.first_time(&format!("tenant {own}")) {
            let _ = writeln!(
                self.http,
                "\n# the origins of `{own}` written in the policy"
            );
            match v.matcher {
                Matcher::Cors(i) => {
                    if let Some(c) = policy.cors_policies().get(i as usize) {
                        self.origin_match(&own, false, c.origins(), c.patterns(), &[])?;
                    }
                }
                Matcher::WebSocket(i) => {
                    if let Some(w) = policy.websocket_policies().get(i as usize) {
                        self.origin_match(&own, false, w.origins(), w.patterns(), &[])?;
                    }
                }
            }
        }
        let mut key = format!("${own}_allowed");
        let mut want = String::from("0");
        for &b in &v.before {
            let _ = write!(key, "${}", super::provided::set_var(&ns, b));
            want.push('0');
        }
        let _ = write!(key, "${}", super::provided::set_var(&ns, v.set));
        want.push('1');
        let target = format!("{own}_v{}_{}", v.set, v.before.len());
        if self.first_time(&format!("via {target}")) {
            self.map(
                &q(&key),
                &target,
                &[("default".into(), "0".into()), (q(&want), "1".into())],
            );
        }
        Ok(format!("${target}"))
    }

    /// The websocket and csrf refusal variables of every route `a` is decided under, in
    /// order.
    fn answer_reasons(
        &mut self,
        a: &Answer,
        policy: &guestlist::Policy,
    ) -> Result<Vec<String>, Unsupported> {
        let mut reasons = Vec::new();
        for &ri in &a.checks {
            if let Some(r) = policy.routes().get(ri) {
                reasons.extend(self.route_reasons(ri, r, policy)?);
            }
        }
        Ok(reasons)
    }

    /// CORS for several routes with different cors policies (some may have none), in the
    /// runtime's order (two readings: the as-sent one first; host blocks: the selected
    /// route's, then each block's): allowed only where every one allows, with the stricter
    /// settings folded in order (the runtime's `decide_cors_all`). Each policy's own maps are
    /// already written; the fold's are written once.
    fn cors_fold(&mut self, list: &[Option<(usize, &Cors)>]) -> Result<CorsVars, Unsupported> {
        let ns = self.ns.clone();
        let Some(first) = list.iter().flatten().next().copied() else {
            return Ok(CorsVars::default());
        };
        let id = |x: &Option<(usize, &Cors)>| x.map_or("n".to_string(), |(i, _)| i.to_string());
        let v = format!("{ns}x{}", list.iter().map(id).collect::<Vec<_>>().join("_"));
        let var = |x: (usize, &Cors)| var_name(&ns, x.0);
        let all: Option<Vec<&Cors>> = list.iter().map(|x| x.map(|(_, c)| c)).collect();
        let static_any = all
            .as_ref()
            .is_some_and(|a| a.iter().all(|c| c.is_static_any()));
        let st = format!("${v}_state");
        let mut out = CorsVars {
            state: st.clone(),
            vary: list.iter().flatten().any(|(_, c)| !c.is_static_any()),
            ..CorsVars::default()
        };
        let fresh = self.first_time(&format!("cors pair {v}"));
        if fresh {
            let lines: Vec<(String, String)>;
            let state = if all.is_some() {
                let key = |st: &str| q(&vec![st; list.len()].join(":"));
                lines = vec![
                    ("default".into(), "denied".into()),
                    (key("pok"), "pok".into()),
                    (key("allowed"), "allowed".into()),
                    (key("none"), "none".into()),
                    (q("~prej"), "prej".into()),
                ];
                list.iter()
                    .flatten()
                    .map(|x| format!("${}_state", var(*x)))
                    .collect::<Vec<_>>()
                    .join(":")
            } else {
                // A route without a cors policy allows nothing.
                lines = vec![
                    ("default".into(), format!("${}_state", var(first))),
                    ("pok".into(), "prej".into()),
                    ("allowed".into(), "denied".into()),
                ];
                format!("${}_state", var(first))
            };
            let name = |x: &Option<(usize, &Cors)>| {
                x.map_or("none".to_string(), |(_, c)| format!("`{}`", c.name()))
            };
            match list {
                [s, n] if !self.hosts => {
                    let _ = writeln!(
                        self.http,
                        "\n# two readings: cors policy {} (as sent) and {} (normalised)",
                        name(s),
                        name(n)
                    );
                }
                _ => {
                    let _ = writeln!(
                        self.http,
                        "\n# routes decided together: cors policies {}, in order",
                        list.iter().map(name).collect::<Vec<_>>().join(", ")
                    );
                }
            }
            self.map(&q(&state), &format!("{v}_state"), &lines);
        }
        let Some(all) = all else {
            // A route has no cors policy: a preflight is refused, an actual request denied.
            out.states = &["none", "denied", "prej"];
            return Ok(out);
        };
        // The fold's header values by state (the location's maps, keyed on its answer, hold
        // them).
        let acao = if all.iter().all(|c| c.any_origin()) {
            q("*")
        } else {
            "$http_origin".to_string()
        };
        out.tables[0] = vec![("allowed".into(), acao.clone()), ("pok".into(), acao)];
        if static_any {
            out.tables[0].push(("none".into(), q("*")));
        }
        if all.iter().all(|c| c.credentials()) {
            out.tables[1] = vec![("allowed".into(), q("true")), ("pok".into(), q("true"))];
        }
        if let Some(e) = fold_expose(&all) {
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
        if let Some(m) = fold_max_age(&all) {
            let m = self.value("access-control-max-age", &text_of(m)?)?;
            out.tables[5] = vec![("pok".into(), m)];
        }
        Ok(out)
    }
}

/// What nginx does with a header that a partner's answer (the as-sent reading's, or another
/// host block's) sets or removes and the route's own answer leaves to the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PartnerRule {
    /// Added after the upstream's lines, which stay: the CSPs (one more policy is never
    /// looser), Reporting-Endpoints (a dictionary: a later member replaces an earlier one of
    /// the same name; it only names where reports go) and Referrer-Policy (the last valid
    /// token, the policy's, wins). Not `Permissions-Policy` ([`beside_looser`]).
    AddBeside,
    /// Hidden, and the upstream's first value passed on where the answer leaves it alone:
    /// headers that hold one value, which browsers read from the first line.
    HideAndPassFirst,
    /// Left alone: nginx's own `Server` (a removal hides only the upstream's).
    LeaveAlone,
    /// Not expressible: hiding it for some requests would cut the upstream's other lines on
    /// the own answer's requests, which serve a normal path (a list-valued header the partner
    /// removes, any other header), or the header is one nginx manages. `errors` reports it
    /// as GL1012 (GL1110 between hosts).
    Refuse,
}

/// The rule for header `name`, set (`removed` false) or removed by a partner only.
pub(super) fn partner_rule(name: &str, removed: bool) -> PartnerRule {
    match name {
        "server" if removed => PartnerRule::LeaveAlone,
        n if list_valued(n) && !removed && !beside_looser(n) => PartnerRule::AddBeside,
        n if one_value(n) => PartnerRule::HideAndPassFirst,
        _ => PartnerRule::Refuse,
    }
}

/// Whether header `name`, added after the upstream's lines where the runtime would replace
/// them, can be looser than the runtime's answer: `Permissions-Policy`, whose members the
/// application names and the policy does not still apply (`camera=*`). One more CSP is only
/// stricter, the last valid `Referrer-Policy` token (the policy's) wins, and
/// `Reporting-Endpoints` only names where reports go.
pub(super) fn beside_looser(name: &str) -> bool {
    name == "permissions-policy"
}

/// Whether header `name` is a list whose lines browsers read together and nginx passes on
/// from its first line whole: the CSPs, `Reporting-Endpoints`, `Permissions-Policy` and
/// `Referrer-Policy`.
pub(super) fn list_valued(name: &str) -> bool {
    matches!(
        name,
        "content-security-policy"
            | "content-security-policy-report-only"
            | "reporting-endpoints"
            | "permissions-policy"
            | "referrer-policy"
    )
}

impl Writer {
    /// The upstream's value of header `name` where an answer leaves it alone in a location
    /// that hides it: a list-valued header (a CSP, `Permissions-Policy`, `Referrer-Policy`,
    /// `Reporting-Endpoints`) as nginx reads it, its first line on 1.22 and every line joined
    /// with ", " (the same list) on 1.23 and later; any other, its first value
    /// ([`Self::upstream_first`]).
    pub(super) fn upstream_passed(&mut self, name: &str) -> Result<String, Unsupported> {
        if list_valued(name) {
            return upstream_var(name);
        }
        self.upstream_first(name)
    }
}

/// Whether the upstream's first line of header `name` is all of it, as browsers read it: a
/// one-value header, which nginx may hide and pass on as its first line (`Server` aside:
/// nginx sends its own).
pub(super) fn one_value(name: &str) -> bool {
    matches!(
        name,
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
            | "x-powered-by"
    )
}

/// Why a header one answer of location `route` sets or removes cannot be left to the
/// upstream for `who`, an answer that neither sets nor removes it (the emitter's own refusal;
/// `errors` reports it first, GL1012 or GL1110).
pub(super) fn leave_refusal(name: &str, who: &str, route: &str, hosts: bool) -> String {
    format!(
        "on \"{route}\", {who} leaves `{name}` to the upstream, which another answer of the location sets or removes: nginx hides `{name}` on every request of the location and would pass on only the first line of the upstream's; set or remove it in {} or in none, or serve these routes through the Rust runtime (guestlist::Layer)",
        if hosts {
            "every host block's route for this path and the top-level one"
        } else {
            "both routes' header sets"
        }
    )
}

/// Why a partner's header cannot be applied (the message of GL1012 and of the emitter's own
/// refusal).
pub(super) fn partner_refusal(name: &str, removed: bool, partner: &str, route: &str) -> String {
    let verb = if removed { "removes" } else { "sets" };
    format!(
        "route \"{partner}\" {verb} `{name}`, which route \"{route}\" leaves to the upstream: nginx cannot hide `{name}` only for the paths of \"{route}\" that read as \"{partner}\" when sent (hiding a header for some requests passes on only its first line for the others, and nginx manages some headers itself)"
    )
}

/// Why a header that the answer of some hosts only sets or removes cannot be applied (the
/// emitter's own refusal for a policy with host blocks; `errors` reports it first, GL1110).
pub(super) fn host_refusal(name: &str, removed: bool, who: &str, route: &str) -> String {
    let verb = if removed { "removes" } else { "sets" };
    format!(
        "on \"{route}\", {who} {verb} `{name}`, which the answer for other hosts leaves to the upstream: nginx cannot hide `{name}` for some hosts only (hiding a header for some requests passes on only its first line for the others, and nginx manages some headers itself); {} `{name}` in every host block's route for this path and the top-level one, or in none, or serve these routes through the Rust runtime (guestlist::Layer)",
        if removed { "remove" } else { "set" }
    )
}

/// The names of the headers guards `g` (with the normalised reading's `normalised`) send, and
/// of those its header set removes; `nonce_lost` (`--accept-loss csp-nonce`): a nonce CSP is
/// not sent, as the emitter writes it.
pub(super) fn header_names(
    policy: &guestlist::Policy,
    g: guestlist::Guards,
    normalised: Option<guestlist::Guards>,
    nonce_lost: bool,
) -> (Vec<String>, Vec<String>) {
    let mut set: Vec<String> = Vec::new();
    policy.for_each_guard_header(g, normalised, |h| {
        let lost = matches!(h.value, guestlist::GuardValue::Csp(c) if c.has_nonce() && nonce_lost);
        if !lost {
            set.push(h.name.as_str().to_string());
        }
    });
    let removed: Vec<String> = g
        .headers
        .and_then(|i| policy.header_sets().get(i as usize))
        .map(|h| h.remove().iter().map(|n| n.as_str().to_string()).collect())
        .unwrap_or_default();
    (set, removed)
}

/// Whether nginx cannot apply header `name` that a partner (an answer other than the
/// location's own) sets (`removed` false) or removes, where the own answer leaves it to the
/// upstream: [`partner_rule`]'s `Refuse` (hiding it would cut the upstream's lines on the
/// location's own, ordinary requests).
pub(super) fn cannot_hide(name: &str, removed: bool) -> bool {
    partner_rule(name, removed) == PartnerRule::Refuse
}

/// Whether nginx cannot pass header `name` on for an answer that leaves it to the upstream,
/// where the location's own answer sets or removes it (so it is hidden), whatever paths that
/// answer serves: the upstream's first value is all of a one-value header, and the first line
/// of a CSP, `Permissions-Policy`, `Referrer-Policy` or `Reporting-Endpoints` is passed whole
/// (its later lines lost on nginx 1.22: spec/nginx.md, "Where nginx and the runtime can
/// differ"; refused by `errors` where the answer serves a host's normal paths); any other
/// header would be cut.
pub(super) fn cannot_pass(name: &str) -> bool {
    name != "server" && !list_valued(name) && !one_value(name)
}

/// A header nginx cannot apply to one reading of a route's paths only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    /// The route that sets or removes it.
    pub(super) by: usize,
    /// The route whose answer leaves it to the upstream (`None`: no route).
    pub(super) leaves: Option<usize>,
    /// The header's name.
    pub(super) name: String,
    /// Whether `by` removes it (else sets it).
    pub(super) removed: bool,
    /// Whether `by` is the as-sent reading's route (else the normalised reading's, whose
    /// location serves the path).
    pub(super) by_as_sent: bool,
}

/// Every header nginx cannot apply to one reading only: one a partner (the as-sent reading's
/// route) sets or removes that the route (the normalised reading's) leaves to the upstream
/// ([`cannot_hide`]), and one the route sets or removes that a partner leaves
/// ([`cannot_pass`]).
pub(super) fn refused_partner_headers(
    policy: &guestlist::Policy,
    ids: &PolicyIds,
    nonce_lost: bool,
) -> Vec<Refused> {
    let names = |g, normalised| header_names(policy, g, normalised, nonce_lost);
    let mut out: Vec<Refused> = Vec::new();
    let mut push = |x: Refused| {
        if !out.contains(&x) {
            out.push(x);
        }
    };
    let flagged = |(set, rm): (Vec<String>, Vec<String>)| {
        set.into_iter()
            .map(|n| (n, false))
            .chain(rm.into_iter().map(|n| (n, true)))
            .collect::<Vec<_>>()
    };
    for (ri, r) in policy.routes().iter().enumerate() {
        let (own_set, own_rm) = names(r.guards(), None);
        for p in ids.partners(policy, ri) {
            let partner = ids.partner_route(policy, ri, p);
            let (set, rm) = names(
                partner.map_or(guestlist::Guards::NONE, |(_, pr)| pr.guards()),
                Some(r.guards()),
            );
            let governs = |n: &String| set.contains(n) || rm.contains(n);
            if let Some((pi, _)) = partner {
                for (n, removed) in flagged((set.clone(), rm.clone())) {
                    if !own_set.contains(&n) && !own_rm.contains(&n) && cannot_hide(&n, removed) {
                        push(Refused {
                            by: pi,
                            leaves: Some(ri),
                            name: n,
                            removed,
                            by_as_sent: true,
                        });
                    }
                }
            }
            for (n, removed) in flagged((own_set.clone(), own_rm.clone())) {
                if !governs(&n) && cannot_pass(&n) {
                    push(Refused {
                        by: ri,
                        leaves: partner.map(|(pi, _)| pi),
                        name: n,
                        removed,
                        by_as_sent: false,
                    });
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
