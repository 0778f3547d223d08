//! The nginx emitter: the same decisions as the runtime, as nginx `map`s and location snippets.
//!
//! Layout (see `spec/nginx.md`):
//! - `guestlist-tuning.conf`: the map and variable hash sizes, included inside `http {}` before
//!   any `map`;
//! - `guestlist-http.conf`: every `map`, included once inside `http {}`;
//! - `origins/<name>.conf`: the entries of a set supplied at run time, included by
//!   `guestlist-http.conf` inside the set's `map` (regenerated alone, then `nginx -s reload`);
//! - `routes/<slug>.conf`: one snippet per route, included inside a `location {}`;
//! - `guestlist-server.conf`: one `location` per route (exact `=`, prefix `^~`), included
//!   inside a `server {}`; each includes its route snippet, then the upstream include. With
//!   host blocks (spec/language.md, section 6a), one location per distinct route pattern,
//!   serving every host: the block the request's authority selects (`$<ns>_hb`, from the
//!   absolute-form target, else `$http_host`) chooses the answer inside it, and a target that
//!   differs from `Host` gets 400 `host-ambiguous` at the server level.
//!
//! How the runtime's semantics map onto nginx:
//! - exact origins: a hash `map` (fast at any size, but nginx compares string keys ignoring
//!   case), followed by one byte-exact equality check (a regex with a back-reference comparing
//!   the request's `Origin` with the canonical origin the hash returned);
//! - patterns: anchored, case-sensitive regexes with the runtime's label and port rules;
//! - a per-policy `state`, keyed on the request method so that only an OPTIONS evaluates the
//!   preflight checks: `none` (no Origin), `allowed`, `denied`, `pok` (preflight ok), `prej`
//!   (preflight rejected); every header value is a map of the state, `""` meaning "not sent"
//!   (nginx skips empty `add_header` values);
//! - `add_header ... always` on every header, `if (...) { return 204/403; }` only (the one safe
//!   use of `if`), `proxy_hide_header` for the upstream's own `Access-Control-*` headers.
//!
//! Its parts, bottom up: `values` (nginx strings, the map writer), `origins` (origin
//! matching), `provided` (sets supplied at run time), `cors` (a cors policy's maps and snippet) and `guards` (csrf, WebSocket, security
//! headers and CSP), `paths` (path forms, the two readings of a path, and a location's
//! answers), `hosts` (host blocks: the authority, the block it selects, and each location's
//! answer by block); this file checks what nginx cannot carry and lays out the files.

mod cors;
mod guards;
mod hosts;
mod origins;
mod paths;
mod provided;
mod values;

use std::fmt::Write as _;
use std::path::Path;

use self::paths::PolicyIds;
use self::values::{check_value, q, Writer};
use crate::emit::Unsupported;
use crate::{Compilation, Lowered};

/// Options for [`emit`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Absolute directory the `include` lines point to (where the files will live).
    pub include_root: String,
    /// A file to include in each generated `location` after the route snippet (`proxy_pass`).
    pub upstream_include: Option<String>,
    /// The exact command or API call that generated the files (for the header comment).
    pub generated_by: String,
    /// What the user accepts losing (`--accept-loss`): listed in the header comment; an
    /// accepted `csp-nonce` route is served without its CSP.
    pub accepted: Vec<crate::emit::Loss>,
}

pub use crate::emit::File;

/// The file-name slug of a route pattern: `exact-` or `prefix-`, then the path with `/` as
/// `-`, lowercase letters and digits kept, every other byte as `_` and two hex digits. The
/// encoding is injective, so slugs never collide.
pub fn slug(pattern: &str) -> String {
    let (kind, path) = match pattern.strip_suffix("/*") {
        Some(p) => ("prefix", p),
        None => ("exact", pattern),
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    let mut out = String::from(kind);
    out.push('-');
    if path.is_empty() {
        out.push_str("root");
        return out;
    }
    for b in path.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' => out.push(char::from(b)),
            b'/' => out.push('-'),
            _ => {
                let _ = write!(out, "_{b:02x}");
            }
        }
    }
    out
}

/// A short namespace for variable names: a hash of what the policy says, so two policies (or
/// two projects) never share variables.
fn namespace(lowered: &Lowered) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let text = format!("{:?}", lowered.spec);
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("gl{:08x}", h >> 32)
}

/// Errors for exporting `lowered` to nginx: GL1010 at each `allow-methods` method holding a
/// byte other than `A`-`Z`, `_` and `-`, which nginx answers with 400 before any
/// configuration runs (so the policy would allow a method its edge never serves); GL1011 for
/// `paths { non-normal two-readings }`: nginx picks a location by the normalised path, and a
/// path whose dot segments lead out of a route (`/api/..%2Fstatic/x`) reaches whatever
/// location of yours serves the other path, where nothing can apply the as-sent reading's
/// policies; GL1012 (the two readings of a path) and, with host blocks, GL1110 (two hosts)
/// for a header nginx cannot hide for some requests of a location only; GL1204 for a text nginx cannot write.
///
/// `accepted`: the losses the export accepts (a nonce CSP accepted lost is not sent, so a
/// route with one leaves the CSP to the upstream).
pub fn errors(
    compilation: &Compilation,
    lowered: &Lowered,
    accepted: &[crate::emit::Loss],
) -> Vec<crate::diag::Diagnostic> {
    let nonce_lost = accepted.contains(&crate::emit::Loss::CspNonce);
    let program = &compilation.program;
    let mut out = Vec::new();
    let policy = &lowered.policy;
    out.extend(crate::emit::two_readings_refusal(
        compilation,
        lowered,
        crate::emit::Engine::Nginx,
        "GL1011",
        "nginx cannot apply both readings of a path with dot segments",
        "nginx serves `/api/../static/x` from the location of `/static/x`, which may be one of yours, where the as-sent route's checks cannot run",
    ));
    let ids = paths::PolicyIds::new(policy);
    // With host blocks the answers differ by host as well as by reading: `host_header_errors`
    // tells the two apart.
    let refused = if policy.host_block_count() > 0 {
        Vec::new()
    } else {
        paths::refused_partner_headers(policy, &ids, nonce_lost)
    };
    for x in refused {
        let Some(by) = policy.routes().get(x.by) else {
            continue;
        };
        let Some(span) = lowered.provenance.routes.get(x.by).map(|p| p.span) else {
            continue;
        };
        let leaves = match x.leaves.and_then(|i| policy.routes().get(i)) {
            Some(r) => format!("route \"{}\"", r.pattern()),
            None => "no route".to_string(),
        };
        out.push(reading_header_error(
            span,
            &x.name,
            x.removed,
            by.pattern(),
            &leaves,
            x.by_as_sent,
        ));
    }
    if policy.host_block_count() > 0 {
        out.extend(host_header_errors(lowered, nonce_lost));
    }
    for c in lowered.policy.cors_policies() {
        let Some(decl) = program.cors.iter().find(|d| d.name == c.name()) else {
            continue;
        };
        for e in decl
            .methods
            .iter()
            .filter(|e| crate::ir::active(&e.when, &lowered.profile))
        {
            let crate::ir::ListValue::Name(m) = &e.value else {
                continue;
            };
            if m.bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-')
            {
                continue;
            }
            out.push(
                crate::diag::Diagnostic::new(
                    "GL1010",
                    e.span,
                    format!("nginx answers 400 to the method `{m}`"),
                )
                .label("nginx refuses a method with any byte but A-Z, `_` and `-` before any configuration runs")
                .help(
                    if m.to_ascii_uppercase().bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-') {
                        format!("write `{}` if that is what pages send, or serve this route through the Rust runtime (guestlist::Layer)", m.to_ascii_uppercase())
                    } else {
                        "remove it, or serve this route through the Rust runtime (guestlist::Layer) instead of nginx".to_string()
                    },
                ),
            );
        }
    }
    out.extend(crate::emit::carry_errors(
        compilation,
        lowered,
        crate::emit::Engine::Nginx,
        "GL1204",
        |kind, t| {
            let long = t.len() > 4000;
            let bad = kind != crate::emit::TextKind::Value
                && t.bytes().any(|b| matches!(b, b'"' | b'\\' | b'$') || b < 0x20 || b == 0x7f);
            if long {
                Some(format!("{} bytes: nginx reads its configuration in tokens of at most 4096 bytes", t.len()))
            } else {
                bad.then(|| "nginx reads `$` as a variable, and `\"` and `\\` as quotes and escapes, in this part of its configuration".to_string())
            }
        },
        "make it shorter, or write it without `$`, `\"` and `\\`; or serve these routes through the Rust runtime (guestlist::Layer)",
    ));
    out
}

/// For a policy with host blocks, each header nginx cannot hide for some requests of a
/// location only, at the route that sets or removes it: GL1110 when that route's answer for
/// one host and another host's answer for the same reading differ in it (`proxy_hide_header`
/// applies to a whole location, which serves every host), GL1012 when its answer for one
/// reading of a path and the same host's answer for the other reading do (as without host
/// blocks). A header can be both.
fn host_header_errors(lowered: &Lowered, nonce_lost: bool) -> Vec<crate::diag::Diagnostic> {
    let policy = &lowered.policy;
    let hosts = hosts::Hosts::new(policy, &lowered.spec);
    let spans = &lowered.provenance.routes;
    let mut out = Vec::new();
    let mut seen: Vec<(&str, usize, String, bool)> = Vec::new();
    for u in &hosts.patterns {
        let (answers, keyed, _) = hosts.location_answers(policy, u);
        // The routes the top level's answer is decided under, for the secondary label.
        let plain = answers.first().and_then(|a| a.checks.first().copied());
        for (ri, name, removed) in hosts.refused_headers(policy, u, nonce_lost) {
            let governs = |i: usize| {
                answers.get(i).is_some_and(|a| {
                    let (set, rm) =
                        paths::header_names(policy, a.headers.0, a.headers.1, nonce_lost);
                    set.contains(&name) || rm.contains(&name)
                })
            };
            let by_route = |i: usize| {
                governs(i)
                    && answers
                        .get(i)
                        .and_then(|a| hosts::Hosts::named_by(policy, a, &name, removed, nonce_lost))
                        == Some(ri)
            };
            // Whether the answer of key `y` would lose part of the header: for a list-valued
            // one, only a normal path's (`Hosts::first_line_lossy`).
            let lossy =
                |y: &&(usize, Option<usize>, usize)| !paths::list_valued(&name) || y.1.is_none();
            // (governing key, leaving key) pairs: the route's answer, and another that leaves
            // the header to the upstream and would lose part of it.
            let pairs: Vec<_> = keyed
                .iter()
                .filter(|x| by_route(x.2))
                .flat_map(|x| {
                    keyed
                        .iter()
                        .filter(|y| !governs(y.2) && lossy(y))
                        .map(move |y| (x, y))
                })
                .collect();
            let (Some(r), Some(span)) = (policy.routes().get(ri), spans.get(ri).map(|p| p.span))
            else {
                continue;
            };
            let verb = if removed { "remove" } else { "set" };
            let mut by_reading = false;
            // One host's two readings of a path: one of them the normalised one.
            for (x, y) in pairs
                .iter()
                .filter(|(x, y)| x.0 == y.0 && x.1.is_none() != y.1.is_none())
            {
                by_reading = true;
                let key = ("GL1012", ri, name.clone(), x.1.is_some());
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
                let leaves = answers.get(y.2).map_or("no route", |a| a.name.as_str());
                out.push(reading_header_error(
                    span,
                    &name,
                    removed,
                    r.pattern(),
                    leaves,
                    x.1.is_some(),
                ));
            }
            // Two hosts' answers for the same reading differ (or no one host's two readings do).
            let by_host = pairs.iter().any(|(x, y)| x.1 == y.1 && x.0 != y.0) || !by_reading;
            if by_host && !seen.contains(&("GL1110", ri, name.clone(), false)) {
                seen.push(("GL1110", ri, name.clone(), false));
                // The answer of another host that leaves the header to the upstream.
                let leaving = pairs
                    .iter()
                    .find(|(x, y)| x.0 != y.0)
                    .or(pairs.first())
                    .and_then(|(_, y)| answers.get(y.2));
                let top_level = plain == Some(ri) && governs(0);
                let head = if top_level {
                    format!(
                        "nginx cannot {verb} `{name}` on top-level route \"{}\" while {} leaves it to the upstream: the location of \"{u}\" serves every host",
                        r.pattern(),
                        leaving.map_or("another host's route", |a| a.name.as_str())
                    )
                } else {
                    format!(
                        "nginx cannot {verb} `{name}` for the hosts of this route only: the location of \"{u}\" serves every host"
                    )
                };
                let why = if !removed && !top_level && paths::beside_looser(&name) {
                    format!(
                        "route \"{}\" sets `{name}`; nginx would add it beside the application's own lines on these hosts' requests, where the application's other members still apply (the runtime replaces them)",
                        r.pattern()
                    )
                } else {
                    format!(
                        "route \"{}\" {verb}s `{name}`; nginx would hide it on every request of \"{u}\" and pass on only the first line of the upstream's where another host's route leaves it",
                        r.pattern()
                    )
                };
                let mut d = crate::diag::Diagnostic::new("GL1110", span, head)
                    .label(why)
                    .help(format!(
                        "{verb} `{name}` in every host block's route for this path and in the top-level one, or in none; or serve these routes through the Rust runtime (guestlist::Layer)"
                    ));
                let other = leaving
                    .and_then(|a| a.checks.first().copied())
                    .filter(|&p| p != ri)
                    .and_then(|p| spans.get(p).map(|x| x.span));
                if let (Some(ps), Some(a)) = (other, leaving) {
                    d = d.secondary(
                        ps,
                        format!("{} here leaves `{name}` to the upstream", a.name),
                    );
                }
                out.push(d);
            }
        }
    }
    out
}

/// GL1012 at route `by` (span `span`), which sets or removes header `name` that `leaves` (a
/// route, or no route) leaves to the upstream, where the two are the two readings of one
/// path: `by_as_sent`, `by` is the as-sent reading's route and `leaves` the normalised
/// reading's, whose location serves the path; else the reverse.
fn reading_header_error(
    span: crate::source::Span,
    name: &str,
    removed: bool,
    by: &str,
    leaves: &str,
    by_as_sent: bool,
) -> crate::diag::Diagnostic {
    let (verb, verbs) = if removed {
        ("remove", "removes")
    } else {
        ("set", "sets")
    };
    let (message, label) = if by_as_sent {
        (
            format!("nginx cannot {verb} `{name}` only for the paths of {leaves} that read as this route when sent"),
            if !removed && paths::beside_looser(name) {
                format!("route \"{by}\" sets it; added beside the application's own lines, their other members would still apply where the runtime replaces them, and hidden on every request of {leaves}, only the first line of the upstream's would pass")
            } else {
                format!("route \"{by}\" {verbs} it; nginx would hide it on every request of {leaves} and pass on only the first line of the upstream's")
            },
        )
    } else {
        (
            format!("nginx cannot {verb} `{name}` on route \"{by}\" and pass the upstream's whole on its paths that read as {leaves} when sent"),
            format!("{leaves} leaves `{name}` to the upstream there; nginx hides it on every request of \"{by}\" and would pass on only its first line"),
        )
    };
    let help = if leaves == "no route" {
        format!(
            "add a route \"/*\" whose header set {verbs} `{name}` too (every path then reads as a route), or {verb} it nowhere, or serve these routes through the Rust runtime (guestlist::Layer)"
        )
    } else {
        format!(
            "{verb} `{name}` in both routes' header sets or in neither, or serve these routes through the Rust runtime (guestlist::Layer)"
        )
    };
    crate::diag::Diagnostic::new("GL1012", span, message)
        .label(label)
        .help(help)
}

/// nginx answers 301 by itself to `/x` when the location `^~ /x/` passes requests on
/// (`proxy_pass` and the other `*_pass` directives redirect to `/x/`), where the runtime passes
/// `/x` on as the route that governs it decides: for each prefix route `/x/*` with no route
/// `/x`, an exact location `= /x` with the snippet of the route nginx would otherwise choose
/// for it (the longest prefix route above it; none: no snippet) and the upstream include `u`.
fn bare_prefix_locations(patterns: &[&str], root: &str, u: &str) -> String {
    let mut out = String::new();
    let mut done = std::collections::BTreeSet::new();
    for p in patterns {
        let Some(bare) = p.strip_suffix("/*").filter(|b| !b.is_empty()) else {
            continue;
        };
        if patterns.contains(&bare) || !done.insert(bare) {
            continue;
        }
        let governing = patterns
            .iter()
            .filter(|q| q.strip_suffix('*').is_some_and(|pre| bare.starts_with(pre)))
            .max_by_key(|q| q.len());
        let _ = writeln!(
            out,
            "\n# `{bare}` outside the route \"{p}\": nginx would redirect it to `{bare}/` (301) where the\n# location above passes requests on; served as the runtime decides it.\nlocation = {} {{",
            q(bare)
        );
        if let Some(g) = governing {
            let _ = writeln!(out, "    include {root}/routes/{}.conf;", slug(g));
        }
        let _ = writeln!(out, "    include {u};\n}}");
    }
    out
}

/// Warnings for exporting `lowered` to nginx: GL1407 for a set supplied at run time that no
/// file was given for.
pub fn warnings(compilation: &Compilation, lowered: &Lowered) -> Vec<crate::diag::Diagnostic> {
    crate::emit::empty_set_warnings(
        compilation,
        lowered,
        crate::emit::Engine::Nginx,
        provided::file_name,
    )
}

const TRAP: &str = "\
# THE add_header TRAP: nginx drops every add_header inherited from the server or http level
# in a location that has add_header lines of its own, and this snippet has some. Repeat the
# server-level add_header lines (security headers) inside the location, or move them into a
# file you include in every location. add_header lines written next to this include, in the
# same location, are kept.";

/// Emits the nginx files for `lowered`, a profile of `compilation`. [`errors`] says first
/// whether nginx can carry the policy; [`write()`] writes the files.
pub fn emit(
    compilation: &Compilation,
    lowered: &Lowered,
    opts: &Options,
) -> Result<Vec<File>, Unsupported> {
    let (sources, program) = (&compilation.sources, &compilation.program);
    let policy = &lowered.policy;
    let ns = namespace(lowered);
    let mut w = Writer::new(ns.clone());
    w.hosts = policy.host_block_count() > 0;
    let engine = crate::emit::Engine::Nginx;
    // The header refusals that depend on which answers serve a host's normal paths, which the
    // location writer cannot see (`errors` reports them as GL1110 or GL1012).
    let nonce_lost = opts.accepted.contains(&crate::emit::Loss::CspNonce);
    let host_headers = if w.hosts {
        host_header_errors(lowered, nonce_lost)
    } else {
        Vec::new()
    };
    if let Some(e) = crate::emit::loss_errors(compilation, lowered, engine, &opts.accepted)
        .into_iter()
        .chain(host_headers)
        .next()
    {
        return Err(Unsupported(e.message));
    }
    w.nonce_lost = nonce_lost;
    let accepted = crate::emit::accepted_lines(compilation, lowered, engine, &opts.accepted);
    let accepted: String = if accepted.is_empty() {
        String::new()
    } else {
        let mut s = String::from("# Accepted losses (--accept-loss):\n");
        for l in &accepted {
            let _ = writeln!(s, "#   {l}");
        }
        s
    };
    let root = opts.include_root.trim_end_matches('/');
    check_value("include root", root)?;
    let header = |what: &str| {
        format!(
            "# DO NOT EDIT, generated by `{}`.\n# guestlist {} for profile `{}`; variables are namespaced `${ns}p<N>_`.\n{accepted}{what}",
            opts.generated_by,
            env!("CARGO_PKG_VERSION"),
            lowered.profile
        )
    };
    // Sets supplied at run time: one map each, its entries in a file of their own.
    let mut set_files = Vec::new();
    for (i, p) in lowered.spec.provided.iter().enumerate() {
        let location = program.set(&p.name).map_or_else(String::new, |set| {
            let (f, l, _) = sources.location(set.name_span);
            format!("{f}:{l}")
        });
        let supplied = compilation.supplied.iter().find(|(n, _, _)| n == &p.name);
        let entries: Option<Vec<guestlist::SuppliedEntry>> =
            supplied.map(|(_, _, e)| e.iter().map(|(e, _)| e.clone()).collect());
        let file = w.provided_set(i, &p.name, &location, entries.as_deref(), root)?;
        set_files.push((p, supplied.map(|(_, f, _)| f.clone()), file));
    }
    let vars = |refs: &[usize]| -> Vec<String> {
        refs.iter().map(|&i| provided::set_var(&ns, i)).collect()
    };
    w.supplied.cors = lowered
        .spec
        .cors
        .iter()
        .map(|c| vars(&c.provided))
        .collect();
    w.supplied.csrf = lowered
        .spec
        .csrf
        .iter()
        .map(|c| vars(&c.trusted_provided))
        .collect();
    w.supplied.websocket = lowered
        .spec
        .websocket
        .iter()
        .map(|c| vars(&c.provided))
        .collect();
    w.spec = lowered.spec.clone();
    // Per-policy maps and snippets.
    let mut snippets = Vec::new();
    let mut single = Vec::new();
    for (i, c) in policy.cors_policies().iter().enumerate() {
        let decl = program.cors.iter().find(|d| d.name == c.name());
        let location = decl.map_or_else(String::new, |d| {
            let (f, l, _) = sources.location(d.head_span);
            format!("{f}:{l}")
        });
        let (snippet, vars) = w.cors(i, c, &location)?;
        snippets.push(snippet);
        single.push(Some(vars));
    }
    let ids = PolicyIds::new(policy);
    // Hash sizes: the largest exact-origin map (cors, websocket and csrf lists, and the
    // supplied sets' entries).
    let lists = policy
        .cors_policies()
        .iter()
        .map(|c| c.origins())
        .chain(policy.websocket_policies().iter().map(|w| w.origins()))
        .chain(policy.csrf_policies().iter().map(|c| c.trusted()));
    let (entries, longest) = lists
        .map(|o| (o.len(), o.keys().iter().map(|k| k.len()).max().unwrap_or(0)))
        .chain(set_files.iter().map(|(_, _, f)| (f.exact, f.longest)))
        .fold((0, 0), |(n, l), (n2, l2)| (n.max(n2), l.max(l2)));
    let (map_max, map_bucket) = provided::hash_sizes(entries, longest);
    let mut files = Vec::new();
    for (p, from, f) in set_files {
        let (max, bucket) = provided::hash_sizes(f.exact, f.longest);
        let what = match from {
            Some(from) => format!(
                "supplied from {from}: {} exact entries (up to {} bytes) and {} patterns",
                f.exact, f.longest, f.patterns
            ),
            None => "EMPTY: no entries were supplied (GL1407); nginx allows none of its origins"
                .to_string(),
        };
        let tenant = if p.tenant_bound {
            "\n# The set is tenant-bound: the keys stay with the application, which looks up the tenant\n# of the request's Origin itself."
        } else {
            ""
        };
        files.push(File {
            path: f.path.clone(),
            text: header(&format!(
                "# The entries of origins set `{}`, {what}.{tenant}\n\
                 # Included by guestlist-http.conf inside the set's `map $http_origin`: only `KEY 1;` lines.\n\
                 # To change the set, regenerate this file (`--origins {}=FILE`) and `nginx -s reload`;\n\
                 # a reload that nginx refuses keeps the old configuration.\n\
                 # Its hash needs map_hash_max_size {max} and map_hash_bucket_size {bucket}; guestlist-tuning.conf,\n\
                 # generated with it, sets {map_max} and {map_bucket}. More entries than that: nginx warns and\n\
                 # slows down; an entry longer than the bucket allows: nginx refuses the configuration.\n{}",
                p.name, p.name, f.lines
            )),
        });
    }
    // Route snippets and the server file. A policy with host blocks has one location per
    // distinct route pattern, whose snippet serves every host.
    let hosts = w.hosts.then(|| hosts::Hosts::new(policy, &lowered.spec));
    let host_patterns: Vec<Vec<String>> = lowered
        .spec
        .hosts
        .iter()
        .map(|h| h.patterns.clone())
        .collect();
    if hosts.is_some() {
        w.host_maps(&host_patterns, policy.hosts_dispatched());
    }
    let mut server = header(&format!(
        "# Include inside a `server {{}}`: `include {root}/guestlist-server.conf;`\n\
         # One location per route, matched like the runtime: exact (`=`) beats prefix (`^~`), the\n\
         # longest prefix wins, on nginx's normalised path (decoded, `//` merged, dots resolved).\n\
         # Paths outside every route are left to your own locations.\n{}{TRAP}\n",
        if hosts.is_some() {
            "# With host blocks, one location per route pattern of any block or the top level: each\n\
             # serves every host, and the request's host block chooses its answer inside.\n"
        } else {
            ""
        }
    ));
    let count = hosts
        .as_ref()
        .map_or(policy.routes().len(), |h| h.patterns.len());
    for i in 0..count {
        let (pattern, body, origin) = match &hosts {
            None => {
                let Some(r) = policy.routes().get(i) else {
                    continue;
                };
                let partners = ids.partners(policy, i);
                let body = if partners.is_empty() {
                    let mut body = match r.cors().and_then(|c| snippets.get(c as usize)) {
                        Some(s) => s.clone(),
                        None => "# This route has no cors policy: no CORS headers are added.\n"
                            .to_string(),
                    };
                    body.push_str(&w.route_guards(i, r, policy)?);
                    body
                } else {
                    w.route_with_readings(i, policy, &ids, &partners, &single)?
                };
                let origin = lowered
                    .provenance
                    .routes
                    .get(i)
                    .map_or_else(String::new, |p| {
                        let (f, l, _) = sources.location(p.span);
                        format!(" ({f}:{l})")
                    });
                (r.pattern().to_string(), body, origin)
            }
            Some(h) => {
                let Some(u) = h.patterns.get(i) else {
                    continue;
                };
                check_value("route pattern", u)?;
                let body = w.host_location(i, u, h, policy, &host_patterns, &snippets, &single)?;
                let places: Vec<String> = policy
                    .routes()
                    .iter()
                    .zip(&lowered.provenance.routes)
                    .filter(|(r, _)| r.pattern() == u)
                    .map(|(_, p)| {
                        let (f, l, _) = sources.location(p.span);
                        format!("{f}:{l}")
                    })
                    .collect();
                (u.clone(), body, format!(" ({})", places.join(", ")))
            }
        };
        let slug = slug(&pattern);
        check_value("route pattern", &pattern)?;
        let rel = format!("routes/{slug}.conf");
        files.push(File {
            path: rel.clone(),
            text: header(&format!(
                "# Route \"{pattern}\"{origin}. Include inside your `location {{}}` for it:\n#     include {root}/{rel};\n# The 400 for a path with dot segments is in guestlist-server.conf (include it in the\n# server, or the route snippets alone let such paths through).\n{TRAP}\n{body}"
            )),
        });
        let (modifier, path) = match pattern.strip_suffix('*') {
            Some(p) => ("^~", p),
            None => ("=", pattern.as_str()),
        };
        let _ = writeln!(
            server,
            "\nlocation {modifier} {} {{\n    include {root}/{rel};",
            q(path)
        );
        if let Some(u) = &opts.upstream_include {
            check_value("upstream include", u)?;
            let _ = writeln!(server, "    include {u};");
        }
        server.push_str("}\n");
    }
    if let Some(u) = &opts.upstream_include {
        let patterns: Vec<&str> = match &hosts {
            None => policy.routes().iter().map(|r| r.pattern()).collect(),
            Some(h) => h.patterns.iter().map(String::as_str).collect(),
        };
        server.push_str(&bare_prefix_locations(&patterns, root, u));
    }
    if !policy.routes().is_empty() {
        let locations: Vec<(&str, usize)> = match &hosts {
            None => policy
                .routes()
                .iter()
                .zip(&ids.of_route)
                .map(|(r, &id)| (r.pattern(), id))
                .collect(),
            Some(h) => h
                .patterns
                .iter()
                .enumerate()
                .map(|(i, p)| (p.as_str(), i + 1))
                .collect(),
        };
        w.paths(&locations, &mut server)?;
    }
    // nginx builds one hash of every variable; a policy with many routes or policies
    // defines more than its defaults hold without a warning, and their names are long.
    let variables = w.http.lines().filter(|l| l.starts_with("map ")).count();
    let vars_max = (variables * 2).next_power_of_two().max(1024);
    let tuning = File {
        path: "guestlist-tuning.conf".into(),
        text: header(&format!(
            "# Include once inside `http {{}}`, BEFORE any `map` (yours included) and before\n\
             # guestlist-http.conf: `include {root}/guestlist-tuning.conf;`\n\
             # nginx fixes the map hash sizes at the first `map` of `http {{}}`: set after one, they are\n\
             # refused as \"duplicate\". Remove your own settings of these four directives.\n\
             # The largest exact-origin list has {entries} entries of up to {longest} bytes; the maps define\n\
             # {variables} variables. Without these sizes nginx warns and slows down.\n\
             # Also set `pcre_jit on;` in nginx's main context (outside `http {{}}`; it cannot be set\n\
             # here): every request runs at least one regex (the path's form), and without JIT\n\
             # nginx interprets them (spec/nginx.md, \"Cost per request\").\n\
             map_hash_max_size {map_max};\n\
             map_hash_bucket_size {map_bucket};\n\
             variables_hash_max_size {vars_max};\n\
             variables_hash_bucket_size 128;\n"
        )),
    };
    // The maps are complete once every route snippet is written.
    if w.dollar {
        let _ = writeln!(
            w.http,
            "\n# `$` in a header value: nginx strings have no escape for it, a geo value is literal.\ngeo ${ns}_dollar {{ default \"$\"; }}"
        );
    }
    let http_file = File {
        path: "guestlist-http.conf".into(),
        text: header(&format!(
            "# Include once inside `http {{}}`: `include {root}/guestlist-http.conf;`\n\
             # It holds only `map` blocks; nothing is evaluated until a route snippet uses it. The hash\n\
             # sizes its maps need are in guestlist-tuning.conf, which must come before any `map`.\n{}",
            w.http
        )),
    };
    files.insert(0, http_file);
    files.insert(0, tuning);
    files.push(File {
        path: "guestlist-server.conf".into(),
        text: server,
    });
    Ok(files)
}

/// Writes the files under `dir` (atomically, only when changed) and removes the route
/// snippets and set files of routes and supplied sets that no longer exist. Returns the files
/// written.
pub fn write(dir: &Path, files: &[File]) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir.join("routes"))?;
    crate::emit::write(dir, files, &["routes", "origins"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emit_text(policy: &str) -> Result<Vec<File>, Unsupported> {
        let c = Compilation::from_str("t.policy", policy);
        assert!(!c.has_errors(), "{}", c.render());
        let lowered = c.lower("default").map_err(|e| Unsupported(e.to_string()))?;
        let opts = Options {
            include_root: "/x".into(),
            upstream_include: None,
            generated_by: "test".into(),
            accepted: Vec::new(),
        };
        emit(&c, &lowered, &opts)
    }

    #[test]
    fn a_header_one_host_block_removes_alone_is_refused() {
        let refused = emit_text(
            "headers quiet {\n    remove  referrer-policy\n}\nhost \"a.example.com\" {\n    route \"/x/*\" { headers quiet }\n}\nroute \"/x/*\" { }\n",
        );
        let Err(e) = refused else {
            panic!("emitted a policy nginx cannot carry");
        };
        // `errors`' GL1110, which `emit` reports first.
        assert!(
            e.to_string()
                .contains("cannot remove `referrer-policy` for the hosts of this route only"),
            "{e}"
        );
        // Removed under every host: one answer, emitted.
        assert!(emit_text(
            "headers quiet {\n    remove  referrer-policy\n}\nhost \"a.example.com\" {\n    route \"/x/*\" { headers quiet }\n}\nroute \"/x/*\" { headers quiet }\n",
        )
        .is_ok());
    }

    #[test]
    fn host_patterns_become_one_block_map() {
        let files = emit_text(
            "cors c {\n    allow-origins  \"https://app.example.com\"\n}\nhost \"api.example.com\" \"api.example.net:8443\" {\n    route \"/api/*\" { cors c }\n}\nhost \"*.example.com\" \"*.tenants.example.com\" {\n    route \"/api/*\" { }\n}\nroute \"/*\" { }\n",
        )
        .unwrap();
        let http = &files
            .iter()
            .find(|f| f.path == "guestlist-http.conf")
            .unwrap()
            .text;
        let map = http
            .split("_hb {\n")
            .nth(1)
            .and_then(|m| m.split("\n}").next())
            .unwrap();
        let keys: Vec<&str> = map
            .lines()
            .map(|l| l.split_whitespace().next().unwrap_or(""))
            .collect();
        assert_eq!(
            keys,
            [
                "default",
                "\"api.example.com\"",
                "\"api.example.com.\"",
                "\"api.example.net:8443\"",
                "\"api.example.net.:8443\"",
                "\"~*^(?!\\[)(?:[^.:]+\\.)+tenants\\.example\\.com\\.?$\"",
                "\"~*^(?!\\[)(?:[^.:]+\\.)+example\\.com\\.?$\"",
            ]
        );
        // One location per distinct pattern.
        let server = &files
            .iter()
            .find(|f| f.path == "guestlist-server.conf")
            .unwrap()
            .text;
        assert_eq!(server.matches("location ^~ \"/api/\"").count(), 1);
    }

    #[test]
    fn slugs_are_injective() {
        assert_eq!(slug("/api/*"), "prefix-api");
        assert_eq!(slug("/api/v1/users"), "exact-api-v1-users");
        assert_eq!(slug("/*"), "prefix-root");
        assert_eq!(slug("/"), "exact-root");
        assert_eq!(slug("/a-b"), "exact-a_2db");
        assert_ne!(slug("/a-b"), slug("/a/b"));
        assert_ne!(slug("/A"), slug("/a"));
        assert_ne!(slug("/x/"), slug("/x/*"));
    }
}
