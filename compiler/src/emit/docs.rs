//! The documentation emitter: Markdown a security reviewer reads instead of the policy.
//! Deterministic (nothing in hash order), so it can be committed and diffed in review. The
//! example headers are computed by the runtime's evaluator, not described from memory.

use std::fmt::Write as _;

use guestlist::{Kind, Policy};

use crate::diag::Severity;
use crate::emit::{csp_text, header_text, Unsupported};
use crate::ir::{
    active, is_safelisted_method, Cond, CorsDecl, ListValue, OriginRef, DEFAULT_PROFILE,
};
use crate::{Compilation, Lowered};

fn when(c: &Cond) -> String {
    match c {
        Some(w) => format!("`{}` only", w.profile),
        None => "all".to_string(),
    }
}

fn both(a: &Cond, b: &Cond) -> String {
    match (a, b) {
        (None, None) => "all".into(),
        (Some(w), _) | (None, Some(w)) => format!("`{}` only", w.profile),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "—".into()
    } else {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// An origin a browser could send that this policy allows (for the worked headers).
fn sample_origin(c: &guestlist::Cors) -> Option<String> {
    if let Some(o) = c.origins().keys().first() {
        return Some(o.to_string());
    }
    if let Some(p) = c.patterns().keys().first() {
        let p = p.replace("://*.", "://example-sub.").replace(":*", "");
        return Some(p);
    }
    c.any_origin()
        .then(|| "https://any-site.example".to_string())
}

/// A worked example's outcome: the kind, the status when the runtime answers, the headers.
type Worked = (Kind, Option<u16>, Vec<(String, String)>);

fn headers_of(
    policy: &Policy,
    method: &str,
    path: &str,
    h: &[(String, String)],
) -> Result<Worked, Unsupported> {
    let d = policy.decide(method, path, h);
    let headers = d
        .headers()
        .iter()
        .map(|x| {
            let name = x.name.as_str();
            Ok((
                name.to_string(),
                header_text(name, x.value.as_bytes())?.to_string(),
            ))
        })
        .collect::<Result<_, Unsupported>>()?;
    Ok((d.kind, d.status(), headers))
}

fn header_block(
    out: &mut String,
    title: &str,
    request: &[(String, String)],
    method: &str,
    result: Worked,
) {
    let _ = writeln!(out, "{title}\n\n```http");
    let _ = writeln!(out, "{method} ... HTTP/1.1");
    for (n, v) in request {
        let _ = writeln!(out, "{n}: {v}");
    }
    let (kind, status, headers) = result;
    match status {
        Some(s) => {
            let _ = writeln!(
                out,
                "\nHTTP/1.1 {s} (answered by guestlist: {})",
                kind.as_str()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "\n(the application's response, plus: {})",
                kind.as_str()
            );
        }
    }
    for (n, v) in &headers {
        let _ = writeln!(out, "{n}: {v}");
    }
    if headers.is_empty() {
        out.push_str("(no CORS headers)\n");
    }
    out.push_str("```\n\n");
}

/// The route table: one row per route, with its policies when any route has a guard.
fn route_table<'p>(
    out: &mut String,
    policy: &Policy,
    routes: impl Iterator<Item = &'p guestlist::Route>,
    guarded: bool,
) {
    if guarded {
        out.push_str("| route | matches | cors policy | csp | headers | csrf | websocket |\n|---|---|---|---|---|---|---|\n");
    } else {
        out.push_str("| route | matches | cors policy |\n|---|---|---|\n");
    }
    for r in routes {
        let matches = match r.pattern().strip_suffix('*') {
            Some(p) => format!("every path below `{p}`"),
            None => format!("exactly `{}`", r.pattern()),
        };
        let cors = r
            .cors()
            .and_then(|i| policy.cors_policies().get(i as usize))
            .map_or("— (no CORS headers)".to_string(), |c| {
                format!("`{}`", c.name())
            });
        let _ = write!(out, "| `{}` | {matches} | {cors} |", cell(r.pattern()));
        if guarded {
            let g = r.guards();
            let name = |n: Option<&str>| n.map_or("—".to_string(), |n| format!("`{n}`"));
            let _ = write!(
                out,
                " {} | {} | {} | {} |",
                name(
                    g.csp
                        .and_then(|i| policy.csp_policies().get(i as usize))
                        .map(|c| c.name())
                ),
                name(
                    g.headers
                        .and_then(|i| policy.header_sets().get(i as usize))
                        .map(|c| c.name())
                ),
                name(
                    g.csrf
                        .and_then(|i| policy.csrf_policies().get(i as usize))
                        .map(|c| c.name())
                ),
                name(
                    g.websocket
                        .and_then(|i| policy.websocket_policies().get(i as usize))
                        .map(|c| c.name())
                ),
            );
        }
        out.push('\n');
    }
}

/// A host block's patterns as its head writes them.
fn quoted(patterns: &[String]) -> String {
    patterns
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A host a pattern matches, for the worked headers: `*.example.com` gives
/// `tenant.example.com`.
fn sample_host(pattern: &str) -> String {
    match pattern.strip_prefix("*.") {
        Some(rest) => format!("tenant.{rest}"),
        None => pattern.to_string(),
    }
}

/// The routes of a policy with host blocks: a heading per block with its patterns and how
/// its routes combine with the other blocks' (spec/language.md, section 6a), then the
/// top-level routes.
fn host_sections(
    out: &mut String,
    c: &Compilation,
    lowered: &Lowered,
    rows: &[(&guestlist::Route, Option<usize>)],
    guarded: bool,
) {
    let policy = &lowered.policy;
    let dispatched = policy.hosts_dispatched();
    out.push_str(
        "The request's host (the request target's authority, else its one `Host` field) selects \
         a host block: an exact pattern first, then the `*.` pattern with the longest domain; a \
         pattern without a port matches only a host without one. A host no pattern matches, and \
         a request without a `Host`, get the top-level routes. Two `Host` lines are refused with \
         400 (`host-ambiguous`).\n\n",
    );
    for (b, decl) in c.program.hosts.iter().enumerate() {
        let patterns = lowered
            .spec
            .hosts
            .get(b)
            .map(|h| h.patterns.clone())
            .unwrap_or_default();
        let (f, l, _) = c.sources.location(decl.head_span);
        let _ = writeln!(
            out,
            "### Host block {}\n\nDefined at `{f}:{l}`. Matches: {}.\n",
            quoted(&patterns),
            decl.patterns
                .iter()
                .map(|p| {
                    let port = p.port.map_or(String::new(), |n| format!(" on port {n}"));
                    if p.wildcard {
                        format!(
                            "one or more labels under `{}`{port} (never `{}` itself)",
                            p.host, p.host
                        )
                    } else {
                        format!("exactly `{}`{port}", p.host)
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        );
        if dispatched {
            out.push_str(
                "**Dispatched by the application** (`hosts dispatched-by-application`): a \
                 request to these hosts is decided under this block's route for its path alone. \
                 The policy requires that the application dispatches by host itself, a router \
                 per host serving only this block's paths: a path served on these hosts that \
                 this block has no route for gets none of its guards.\n\n",
            );
        } else {
            out.push_str(
                "**Guards from every block apply.** The application routes by path alone, so a \
                 request to these hosts is decided under this block's route for its path and \
                 under every other host block's route for that path: each of their csrf, token \
                 and websocket checks runs, and CORS is allowed only where every one of those \
                 routes allows it (with the stricter settings). The security headers and CSP \
                 are this block's.\n\n",
            );
        }
        route_table(
            out,
            policy,
            rows.iter().filter(|(_, h)| *h == Some(b)).map(|(r, _)| *r),
            guarded,
        );
        out.push('\n');
    }
    out.push_str("### Top-level routes\n\n");
    if dispatched {
        out.push_str(
            "For a host no pattern matches, and a request without a `Host`: decided under these \
             routes alone.\n\n",
        );
    } else {
        out.push_str(
            "For a host no pattern matches, and a request without a `Host`: decided under these \
             routes and under every host block's route for the path.\n\n",
        );
    }
    let top: Vec<&guestlist::Route> = rows
        .iter()
        .filter(|(_, h)| h.is_none())
        .map(|(r, _)| *r)
        .collect();
    if top.is_empty() {
        out.push_str("None: such requests get no route of their own.\n");
    } else {
        route_table(out, policy, top.into_iter(), guarded);
    }
}

/// The path-form rule in words (spec/language.md, "Path forms").
fn path_forms(mode: guestlist::NonNormalPaths) -> &'static str {
    match mode {
        guestlist::NonNormalPaths::Reject => {
            "**Path forms.** A path's form never loosens a decision. A path the server cannot \
             read (an invalid `%` escape, `%00`, `..` above the root) and a path with a `.` or \
             `..` segment or a backslash once decoded (browsers never send one) are refused with \
             400. A path with `//` or any `%` escape is read twice, as the application's router sees \
             it (as sent) and as nginx sees it (normalised): both readings' CSRF and WebSocket \
             checks must pass, CORS is allowed only where both routes allow it, and an exemption \
             never applies; `/api/group%2Fproject` still reaches `/api/*`. Not covered: `;` path \
             parameters, case-insensitive routers in the application (Java servlet \
             containers, ASP.NET) and backends that decode twice, which read other paths than \
             guestlist.\n\n"
        }
        guestlist::NonNormalPaths::TwoReadings => {
            "**Path forms** (`paths { non-normal two-readings }`). A path's form never loosens a \
             decision. A path the server cannot read (an invalid `%` escape, `%00`, `..` above \
             the root) is refused with 400. A path with `//`, any `%` escape, a backslash or dot \
             segments is read twice, as the application's router sees it (as sent) and as nginx \
             sees it (normalised): both readings' CSRF and WebSocket checks must pass, CORS is \
             allowed only where both routes allow it, and an exemption never applies. The Rust \
             runtime applies this mode; nginx cannot (it serves a path with dot segments from \
             the location of the path they lead to), so `emit nginx` refuses it (GL1011). Not \
             covered: `;` path parameters, case-insensitive routers in the application (Java \
             servlet containers, ASP.NET) and backends that decode twice, which read other \
             paths than guestlist.\n\n"
        }
    }
}

/// The first route using cors policy `index`, and its index.
fn route_for_cors(policy: &Policy, index: usize) -> Option<(usize, &guestlist::Route)> {
    policy
        .routes()
        .iter()
        .enumerate()
        .find(|(_, r)| r.cors() == u32::try_from(index).ok())
}

fn sample_path(pattern: &str) -> String {
    match pattern.strip_suffix('*') {
        Some(p) => format!("{p}example"),
        None => pattern.to_string(),
    }
}

fn origins_table(out: &mut String, c: &Compilation, d: &CorsDecl) {
    out.push_str("| origin | matches | from | profiles |\n|---|---|---|---|\n");
    let loc = |s: crate::Span| {
        let (f, l, _) = c.sources.location(s);
        format!("{f}:{l}")
    };
    let describe = |o: &OriginRef| match o {
        OriginRef::Any => ("`*`".to_string(), "every origin".to_string()),
        OriginRef::Literal(o) if o.wildcard_host => (
            format!("`{}`", o.canonical),
            format!(
                "one or more labels under `{}`{}",
                o.host,
                if o.any_port { ", any port" } else { "" }
            ),
        ),
        OriginRef::Literal(o) if o.any_port => (
            format!("`{}`", o.canonical),
            format!("`{}` on any port", o.host),
        ),
        OriginRef::Literal(o) => (format!("`{}`", o.canonical), "exactly".to_string()),
        OriginRef::Set(_) => (String::new(), String::new()),
    };
    for e in &d.origins {
        match &e.value {
            OriginRef::Set(name) => {
                if let Some(set) = c.program.set(name) {
                    if let Some(p) = set.provided {
                        let _ = writeln!(
                            out,
                            "| every entry of `{name}`, supplied at run time | {}{} | set `{name}` ({}) | {} |",
                            if p.patterns {
                                "exactly, or as a pattern"
                            } else {
                                "exactly"
                            },
                            if p.tenant_bound {
                                "; tenant-bound: the application checks the session belongs to the matched entry's key"
                            } else {
                                ""
                            },
                            loc(set.name_span),
                            both(&e.when, &set.when)
                        );
                    }
                    for i in &set.items {
                        let (o, m) = describe(&i.value);
                        let _ = writeln!(
                            out,
                            "| {o} | {m} | set `{name}` ({}) | {} |",
                            loc(i.span),
                            both(&e.when, &i.when)
                        );
                    }
                }
            }
            v => {
                let (o, m) = describe(v);
                let _ = writeln!(
                    out,
                    "| {o} | {m} | inline ({}) | {} |",
                    loc(e.span),
                    when(&e.when)
                );
            }
        }
    }
    out.push('\n');
}

/// Renders the Markdown for `lowered` (one profile) with the policy's full declarations.
/// Fails when a table holds a header value that is not one (which `Policy::build` never lets
/// through): the Markdown never shows a value other than the one sent.
pub fn emit(
    c: &Compilation,
    lowered: &Lowered,
    generated_by: &str,
    accepted: &[crate::emit::Loss],
    gateway_api: bool,
) -> Result<String, Unsupported> {
    let policy = &lowered.policy;
    let mut out = String::new();
    let files: Vec<String> = c
        .sources
        .files()
        .map(|(_, f)| format!("`{}`", f.name))
        .collect();
    let _ = writeln!(
        out,
        "<!-- DO NOT EDIT, generated by `{generated_by}`. -->\n"
    );
    let _ = writeln!(out, "# Browser access policy\n");
    let _ = writeln!(
        out,
        "Source: {}. Profile: `{}`{}. Generated by guestlist {}.\n",
        files.join(", "),
        lowered.profile,
        if c.program.profiles.is_empty() {
            String::new()
        } else {
            format!(
                " (other profiles: {})",
                c.program
                    .profiles
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(
        "> **CORS is not access control.** These rules tell browsers which other sites' pages may \
         read responses. Requests still reach the server: a non-browser client (curl, a script, \
         another server) ignores CORS entirely, and a cross-site form post is sent before any CORS \
         check. Authenticate and authorize every request on the server.\n\n",
    );
    // Routes.
    let guarded = policy
        .routes()
        .iter()
        .any(|r| r.guards() != guestlist::Guards::NONE);
    let rows: Vec<(&guestlist::Route, Option<usize>)> = policy
        .routes()
        .iter()
        .zip(lowered.spec.routes.iter().map(|r| r.host))
        .collect();
    out.push_str("## Routes\n\n");
    if policy.host_block_count() == 0 {
        route_table(&mut out, policy, rows.iter().map(|(r, _)| *r), guarded);
    } else {
        host_sections(&mut out, c, lowered, &rows, guarded);
    }
    out.push_str(
        "\nAn exact route beats every prefix route, and the longest prefix wins; escapes such as \
         `%61` are decoded first. Paths outside every route get no CORS headers.\n\n",
    );
    out.push_str(path_forms(policy.non_normal_paths()));
    accepted_losses(&mut out, c, lowered, accepted, gateway_api);
    if gateway_api {
        gateway_fidelity(&mut out, c, lowered, accepted);
    }
    // Policies.
    for (i, cp) in policy.cors_policies().iter().enumerate() {
        let Some(d) = c.program.cors.iter().find(|d| d.name == cp.name()) else {
            continue;
        };
        let (f, l, _) = c.sources.location(d.head_span);
        let _ = writeln!(
            out,
            "## CORS policy `{}`\n\nDefined at `{f}:{l}`.\n\n### Origins\n",
            cp.name()
        );
        origins_table(&mut out, c, d);
        let names = |v: &[crate::ir::Entry<ListValue>], p: &str| -> Vec<String> {
            v.iter()
                .filter(|e| active(&e.when, p))
                .map(|e| match &e.value {
                    ListValue::Any => "*".to_string(),
                    ListValue::Name(n) => n.clone(),
                })
                .collect()
        };
        let p = lowered.profile.as_str();
        let _ = writeln!(
            out,
            "### Settings (profile `{p}`)\n\n| setting | value |\n|---|---|"
        );
        let methods = names(&d.methods, p);
        let _ = writeln!(
            out,
            "| methods | {} (GET, HEAD and POST always pass a preflight; methods are case-sensitive) |",
            list(&methods)
        );
        let headers = names(&d.headers, p);
        let _ = writeln!(
            out,
            "| request headers | {}{} |",
            list(&headers),
            if cp.any_header() {
                " (`*` never covers `Authorization`)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "| credentials (cookies, HTTP auth) | {} |",
            if cp.credentials() {
                "**allowed**"
            } else {
                "not allowed"
            }
        );
        let _ = writeln!(
            out,
            "| preflight cache (max-age) | {} |",
            cp.max_age_value()
                .map_or("not set (browsers cache for 5 s)".to_string(), |m| format!(
                    "{} s",
                    String::from_utf8_lossy(m.as_bytes())
                ))
        );
        let _ = writeln!(
            out,
            "| exposed response headers | {} |\n",
            list(&names(&d.expose, p))
        );
        // Worked headers, computed by the evaluator.
        let _ = writeln!(out, "### Headers sent\n");
        if let (Some(origin), Some((ri, route))) = (sample_origin(cp), route_for_cors(policy, i)) {
            let path = sample_path(route.pattern());
            // A route of a host block: the request names a host the block's first pattern
            // matches.
            let host: Vec<(String, String)> = lowered
                .spec
                .routes
                .get(ri)
                .and_then(|r| r.host)
                .and_then(|b| lowered.spec.hosts.get(b))
                .and_then(|h| h.patterns.first())
                .map(|p| ("Host".to_string(), sample_host(p)))
                .into_iter()
                .collect();
            let method = cp
                .methods()
                .iter()
                .find(|m| !is_safelisted_method(m))
                .map_or("GET".to_string(), |m| m.to_string());
            let mut pre = host.clone();
            pre.extend([
                ("Origin".to_string(), origin.clone()),
                ("Access-Control-Request-Method".to_string(), method.clone()),
            ]);
            if let Some(h) = cp.headers().keys().first() {
                pre.push((
                    "Access-Control-Request-Headers".into(),
                    h.to_ascii_lowercase(),
                ));
            }
            let r = headers_of(policy, "OPTIONS", &path, &pre)?;
            header_block(
                &mut out,
                &format!("A preflight from an allowed origin, to `{path}`:"),
                &pre,
                "OPTIONS",
                r,
            );
            let mut act = host.clone();
            act.push(("Origin".to_string(), origin));
            let r = headers_of(policy, "GET", &path, &act)?;
            header_block(
                &mut out,
                "An actual request from an allowed origin:",
                &act,
                "GET",
                r,
            );
            if !cp.any_origin() {
                let mut bad = host.clone();
                bad.push(("Origin".to_string(), "https://attacker.example".to_string()));
                let r = headers_of(policy, "GET", &path, &bad)?;
                header_block(
                    &mut out,
                    "A request from an origin that is not allowed:",
                    &bad,
                    "GET",
                    r,
                );
            }
        } else {
            out.push_str("No route uses this policy in this profile.\n\n");
        }
    }
    guard_sections(&mut out, policy)?;
    // Matrix.
    out.push_str("## Origin × route\n\n");
    let routes: Vec<&guestlist::Route> = policy.routes().iter().collect();
    let _ = write!(out, "| origin |");
    for (r, host) in routes.iter().zip(&rows) {
        // A host block's route: which block.
        let block = host
            .1
            .and_then(|b| lowered.spec.hosts.get(b))
            .map_or(String::new(), |h| format!(" on {}", quoted(&h.patterns)));
        let _ = write!(out, " `{}`{} |", cell(r.pattern()), cell(&block));
    }
    out.push_str("\n|---|");
    for _ in &routes {
        out.push_str("---|");
    }
    out.push('\n');
    // First-mention order, deduplicated in linear time (policies can list 100,000 origins).
    let mut all: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for cp in policy.cors_policies() {
        if cp.any_origin() && seen.insert("*".to_string()) {
            all.push("*".into());
        }
        for k in cp.origins().keys().iter().chain(cp.patterns().keys()) {
            if seen.insert(k.to_string()) {
                all.push(k.to_string());
            }
        }
    }
    for o in &all {
        let _ = write!(out, "| `{o}` |");
        for r in &routes {
            let c = r
                .cors()
                .and_then(|i| policy.cors_policies().get(i as usize));
            let mark = match c {
                Some(c)
                    if (o == "*" && c.any_origin())
                        || c.origins().get(o.as_bytes()).is_some()
                        || c.patterns().get(o.as_bytes()).is_some() =>
                {
                    if c.credentials() {
                        "✓ with credentials"
                    } else {
                        "✓"
                    }
                }
                Some(c) if c.any_origin() => "✓ (`*`)",
                _ => "—",
            };
            let _ = write!(out, " {mark} |");
        }
        out.push('\n');
    }
    out.push('\n');
    if policy.host_block_count() > 0 && !policy.hosts_dispatched() {
        out.push_str(
            "Each column is its route's own cors policy. A request is allowed only where its \
             host's route and every host block's route for its path allow it (see Routes).\n\n",
        );
    }
    // Findings.
    out.push_str("## Checker findings\n\n");
    let warnings: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .collect();
    let notes = c
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Note)
        .count();
    if warnings.is_empty() {
        out.push_str("No warnings.");
    } else {
        for d in &warnings {
            let (f, l, col) = c.sources.location(d.span);
            let _ = writeln!(
                out,
                "- **{}** `{f}:{l}:{col}`: {}{}",
                d.code,
                d.message,
                d.help
                    .as_ref()
                    .map_or(String::new(), |h| format!(" (help: {h})"))
            );
        }
    }
    let _ = writeln!(
        out,
        " {notes} informational note{} (run `guestlist check` to see them).\n",
        if notes == 1 { "" } else { "s" }
    );
    // Worked examples.
    out.push_str("## Worked examples\n\n");
    if c.program.tests.is_empty() {
        out.push_str("The policy has no `test` blocks.\n");
    } else {
        out.push_str("From the policy's `test` blocks (`guestlist test` checks them):\n\n| example | request | profile | outcome |\n|---|---|---|---|\n");
        for t in &c.program.tests {
            let hs: Vec<String> = t.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
            let req = if hs.is_empty() {
                format!("`{} {}`", t.method, t.path)
            } else {
                format!("`{} {}` with `{}`", t.method, t.path, hs.join("`, `"))
            };
            let _ = writeln!(
                out,
                "| {} | {} | `{}` | `{}` |",
                cell(&t.name),
                cell(&req),
                t.profile.as_deref().unwrap_or(DEFAULT_PROFILE),
                t.expect.as_str()
            );
        }
    }
    Ok(out)
}

/// The CSP, security-header, CSRF and WebSocket sections.
fn guard_sections(out: &mut String, policy: &guestlist::Policy) -> Result<(), Unsupported> {
    for c in policy.csp_policies() {
        let value = csp_text(c)?;
        let _ = writeln!(
            out,
            "## Content-Security-Policy `{}`\n\nSent as `{}`{} on every response of its routes{}:\n\n```\n{}\n```\n",
            c.name(),
            c.header_name().as_str(),
            if c.report_only() { " (violations are reported, nothing is blocked)" } else { "" },
            if c.has_nonce() {
                "; `{nonce}` is a fresh 128-bit nonce per response, handed to the application for its `<script nonce>` tags"
            } else {
                ""
            },
            value
        );
        if let Some(v) = c.reporting_endpoints() {
            let v = header_text("reporting-endpoints", v.as_bytes())?;
            let _ = writeln!(out, "With `Reporting-Endpoints: {v}`.\n");
        }
    }
    for h in policy.header_sets() {
        let _ = writeln!(
            out,
            "## Security headers `{}`\n\n| header | value |\n|---|---|",
            h.name()
        );
        for (n, v) in h.set() {
            let _ = writeln!(
                out,
                "| `{}` | `{}` |",
                n.as_str(),
                cell(header_text(n.as_str(), v.as_bytes())?)
            );
        }
        if !h.remove().is_empty() {
            let removed: Vec<String> = h
                .remove()
                .iter()
                .map(|n| format!("`{}`", n.as_str()))
                .collect();
            let _ = writeln!(
                out,
                "\nRemoved from every response: {}.",
                removed.join(", ")
            );
        }
        out.push_str("\nThe application's own values of these headers are replaced.\n\n");
    }
    for c in policy.csrf_policies() {
        let list = |k: &guestlist::KeySet| -> String {
            if k.is_empty() {
                "none".to_string()
            } else {
                k.keys()
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(out, "## CSRF policy `{}`\n\nCross-origin requests with unsafe methods are refused with 403 (`Guestlist-Reason` says why) before the application runs. Checked in this order:\n", c.name());
        out.push_str("1. `GET`, `HEAD` and `OPTIONS` always pass.\n");
        let _ = writeln!(
            out,
            "2. `Sec-Fetch-Site: same-origin` or `none` passes{}; any other value is refused unless the request is exempt or its Origin is trusted.",
            if c.allow_same_site() { ", and so does `same-site`" } else { "; `same-site` (a sibling subdomain) is refused" }
        );
        let _ = writeln!(
            out,
            "3. Without `Sec-Fetch-Site`: no `Origin` either is {}; an `Origin` passes when it is the site's own ({}), exempt, or trusted.",
            if c.reject_missing() { "**refused**" } else { "passed (not a browser, or a very old one)" },
            if c.self_origins().is_empty() {
                "its host and port equal the request's authority (the target's, else `Host`; ASCII case and one trailing dot aside)".to_string()
            } else {
                format!("one of {}", list(c.self_origins()))
            }
        );
        let _ = writeln!(
            out,
            "\nTrusted origins: {}, and on each route, the origins its cors policy allows by name or pattern (never `*`).",
            list(c.trusted())
        );
        if let Some(t) = c.token() {
            let _ = writeln!(
                out,
                "\n**CSRF token required.** Unsafe requests also need a signed token bound to the session (cookie `{}`): send it in the `{}` header ({}). It must equal the `{}` cookie, which the server sets (`Secure`, `Path=/`, `SameSite={}`, readable by the page) on any request without a valid one.",
                t.bind_cookie(),
                t.header(),
                if t.defers_forms() {
                    "form posts without it reach the application, which must check the submitted field: `defer-forms`".to_string()
                } else {
                    format!(
                        "or, in a form post, in the `{}` field of an urlencoded body of at most {} KiB; other form posts without the header are refused",
                        t.field(),
                        guestlist::FORM_BODY_LIMIT / 1024
                    )
                },
                t.cookie(),
                t.same_site()
            );
        }
        if c.exempt().is_empty() {
            out.push_str("\nNo exemptions.\n\n");
        } else {
            out.push_str("\n| exempt method | path |\n|---|---|\n");
            for e in c.exempt() {
                let _ = writeln!(out, "| `{}` | `{}` |", e.method(), cell(e.pattern()));
            }
            out.push('\n');
        }
    }
    for w in policy.websocket_policies() {
        let mut allowed: Vec<String> = w
            .origins()
            .keys()
            .iter()
            .chain(w.patterns().keys())
            .map(|o| format!("`{o}`"))
            .collect();
        if w.same_origin() {
            allowed.insert(0, "the site itself (Origin host = `Host`)".to_string());
        }
        let _ = writeln!(
            out,
            "## WebSocket policy `{}`\n\nA handshake (`GET` with `Upgrade: websocket`) is accepted from: {}. A handshake without `Origin` is {}. Others get 403.\n",
            w.name(),
            allowed.join(", "),
            if w.allow_missing() { "accepted (not a browser)" } else { "refused" }
        );
    }
    Ok(())
}

/// The losses accepted with `--accept-loss` (spec/diagnostics.md, GL1201 and GL1202), per
/// edge that has them: what a reviewer must know is not enforced at that edge.
fn accepted_losses(
    out: &mut String,
    c: &Compilation,
    lowered: &Lowered,
    accepted: &[crate::emit::Loss],
    gateway_api: bool,
) {
    use crate::emit::Engine;
    let mut any = false;
    let mut engines = vec![Engine::Nginx, Engine::Haproxy, Engine::Caddy];
    if gateway_api {
        engines.push(Engine::GatewayApi);
    }
    for engine in engines {
        let lines = crate::emit::accepted_lines(c, lowered, engine, accepted);
        if lines.is_empty() {
            continue;
        }
        if !any {
            out.push_str("## Accepted losses\n\nWhat an edge does not enforce, accepted with `--accept-loss`; the application behind it must.\n\n");
            any = true;
        }
        let _ = writeln!(out, "- {}:", engine.name());
        for l in lines {
            match l.split_once(": ") {
                Some((kind, rest)) => {
                    let _ = writeln!(out, "  - `{kind}`: {rest}");
                }
                None => {
                    let _ = writeln!(out, "  - {l}");
                }
            }
        }
    }
    if any {
        out.push('\n');
    }
}

/// The Gateway API fidelity report (spec/gateway-api.md): every difference between a
/// conformant implementation and the runtime that is not an accepted loss, at its policy line.
fn gateway_fidelity(
    out: &mut String,
    c: &Compilation,
    lowered: &Lowered,
    accepted: &[crate::emit::Loss],
) {
    let report = crate::emit::gateway_api::fidelity_report(c, lowered, accepted);
    out.push_str("## Gateway API fidelity\n\n");
    if report.is_empty() {
        out.push_str("A conformant implementation makes the runtime's decisions, but for the accepted losses above.\n\n");
        return;
    }
    out.push_str("Where a conformant Gateway API implementation answers otherwise than the runtime (spec/gateway-api.md):\n\n");
    for d in &report {
        let (f, l, _) = c.sources.location(d.span);
        let _ = writeln!(
            out,
            "- `{}` ({}, `{f}:{l}`): {}",
            d.code,
            if d.is_error() { "error" } else { "warning" },
            d.message
        );
    }
    out.push('\n');
}
