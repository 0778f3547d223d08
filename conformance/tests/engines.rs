//! Every policy under `examples/` and `spec/` that checks without errors, in each of its
//! profiles, built by every engine: the run-time tables (the compiler's lowering, through
//! `Policy::build`), the generated static tables (build.rs compiled them with the code
//! `include_policy!` gets, so their constructors checked them when this crate compiled), the
//! nginx configuration and the Markdown. Each must carry the same headers: the CSP, the
//! security headers, `Reporting-Endpoints` and the CORS values. An output may refuse a policy
//! only with an error saying why (nginx and a nonce CSP), never by writing another value.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeMap;
use std::path::Path;

use guestlist::{GuardValue, Policy};
use guestlist_compiler::emit::nginx;

#[path = "../every_policy.rs"]
mod every_policy;

/// A route's headers from its tables: `(name, value)`, the CSP with `{nonce}` in each nonce
/// position, and the CORS values (`$echo` where the request's list is echoed).
fn table_headers(policy: &Policy, route: &guestlist::Route) -> Vec<(String, String)> {
    let text = |v: &[u8]| String::from_utf8(v.to_vec()).expect("tables hold ASCII");
    let mut out: Vec<(String, String)> = policy
        .guard_headers(route.guards())
        .into_iter()
        .map(|(n, v)| {
            let v = match v {
                GuardValue::Fixed(v) => text(v.as_bytes()),
                GuardValue::Csp(c) => c.display_value(),
            };
            (n.as_str().to_string(), v)
        })
        .collect();
    if let Some(c) = route
        .cors()
        .and_then(|i| policy.cors_policies().get(i as usize))
    {
        if c.credentials() {
            out.push(("access-control-allow-credentials".into(), "true".into()));
        }
        if let Some(v) = c.expose_headers_value() {
            out.push(("access-control-expose-headers".into(), text(v.as_bytes())));
        }
        if c.any_header() && c.credentials() {
            out.push(("access-control-allow-headers".into(), "$echo".into()));
        } else if let Some(v) = c.allow_headers_value() {
            out.push(("access-control-allow-headers".into(), text(v.as_bytes())));
        }
        if let Some(v) = c.max_age_value() {
            out.push(("access-control-max-age".into(), text(v.as_bytes())));
        }
    }
    out.sort();
    out
}

/// What a request the route's cors policy allows gets back: the kind and every header, for a
/// preflight and an actual request (the evaluator reading the tables).
fn decided_headers(policy: &Policy, route: &guestlist::Route) -> Vec<String> {
    let path = match route.pattern().strip_suffix('*') {
        Some(p) => format!("{p}x"),
        None => route.pattern().to_string(),
    };
    let cors = route
        .cors()
        .and_then(|i| policy.cors_policies().get(i as usize));
    let origin = cors
        .and_then(|c| {
            c.origins()
                .keys()
                .first()
                .map(|o| o.to_string())
                .or_else(|| {
                    c.patterns()
                        .keys()
                        .first()
                        .map(|p| p.replace("://*.", "://a.").replace(":*", ""))
                })
        })
        .unwrap_or_else(|| "https://other.example".to_string());
    let method = cors
        .and_then(|c| c.methods().first().map(|m| m.to_string()))
        .unwrap_or_else(|| "PUT".into());
    let mut preflight = vec![
        ("Origin".to_string(), origin.clone()),
        ("Access-Control-Request-Method".to_string(), method),
    ];
    if let Some(h) = cors.and_then(|c| c.headers().keys().first()) {
        preflight.push(("Access-Control-Request-Headers".into(), h.to_string()));
    }
    let actual = vec![("Origin".to_string(), origin)];
    let mut out = Vec::new();
    for (method, headers) in [("OPTIONS", &preflight), ("GET", &actual)] {
        let d = policy.decide(method, &path, &headers[..]);
        out.push(format!("{method} {path}: {}", d.kind.as_str()));
        for h in d.headers().iter() {
            out.push(format!(
                "  {}: {}",
                h.name.as_str(),
                String::from_utf8_lossy(h.value.as_bytes())
            ));
        }
    }
    out
}

/// An nginx value as the emitter writes it: a `$variable`, or a double-quoted string with `\"`
/// and `\\` escaped and `$` written as `${<namespace>_dollar}`.
fn nginx_value(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut out = String::new();
    let mut rest = inner;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '\\' => {
                let n = rest.chars().next().expect("an escape ends a string");
                rest = &rest[n.len_utf8()..];
                out.push(n);
            }
            '$' => {
                let (var, tail) = rest.split_once('}').expect("a ${...} variable");
                assert!(var.starts_with('{') && var.ends_with("_dollar"), "{s}");
                out.push('$');
                rest = tail;
            }
            _ => out.push(c),
        }
    }
    out
}

/// The lines of the `map` that sets `$var`: `(key, value)`.
fn map_lines(http: &str, var: &str) -> Vec<(String, String)> {
    let head = format!(" ${var} {{");
    let mut lines = http
        .lines()
        .skip_while(|l| !(l.starts_with("map ") && l.ends_with(&head)));
    assert!(lines.next().is_some(), "no map sets ${var}");
    lines
        .take_while(|l| *l != "}")
        .map(|l| {
            let l = l.trim().strip_suffix(';').unwrap();
            let split = match l.strip_prefix('"') {
                Some(quoted) => quoted.find('"').unwrap() + 2,
                None => l.find(' ').unwrap(),
            };
            (l[..split].to_string(), nginx_value(l[split..].trim()))
        })
        .collect()
}

/// The route's headers in nginx's files, as [`table_headers`] lists them.
fn nginx_headers(files: &[nginx::File], route: &guestlist::Route) -> Vec<(String, String)> {
    let file = |path: &str| {
        &files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("no {path}"))
            .text
    };
    let http = file("guestlist-http.conf");
    let snippet = file(&format!("routes/{}.conf", nginx::slug(route.pattern())));
    let mut out = Vec::new();
    for l in snippet.lines() {
        let Some(rest) = l.strip_prefix("add_header ") else {
            continue;
        };
        let (name, value) = rest.split_once(' ').unwrap();
        let value = value.strip_suffix(" always;").unwrap();
        let name = name.to_ascii_lowercase();
        if name == "vary" {
            // Not a table value: `Vary: Origin` follows from the decision.
            continue;
        }
        let Some(first) = value.strip_prefix('$') else {
            out.push((name, nginx_value(value)));
            continue;
        };
        // A route whose paths may read as another route picks each header by the as-sent
        // reading's policy id (`map $..._s`): a structurally normal path gets the default.
        let by_reading = |v: &str| {
            http.lines().any(|l| {
                l.starts_with("map $") && l.ends_with(&format!(" ${v} {{")) && {
                    let source = l.split(' ').nth(1).unwrap_or("");
                    source.ends_with("_s")
                }
            })
        };
        let mut var = first.to_string();
        let mut passed_on = false;
        while by_reading(&var) {
            let default = map_lines(http, &var)
                .into_iter()
                .find(|(k, _)| k == "default")
                .map(|(_, v)| v)
                .unwrap();
            match default.strip_prefix('$') {
                Some(v) if v.starts_with("upstream_http_") => {
                    passed_on = true;
                    break;
                }
                Some(v) => var = v.to_string(),
                None => {
                    if !default.is_empty() {
                        out.push((name.clone(), default));
                    }
                    passed_on = true;
                    break;
                }
            }
        }
        // A route's answer token (`map $..._a`) is `pass` where no policy governs its own
        // reading: the upstream's value.
        if !passed_on
            && map_lines(http, &var)
                .iter()
                .any(|(k, v)| k == "pass" && v.starts_with("$upstream_http_"))
        {
            passed_on = true;
        }
        if passed_on {
            // The upstream's own value, or a fixed one: not a table value the runtime sets.
            continue;
        }
        // A CORS header: the value its map gives an allowed request or a passed preflight.
        let key = match name.as_str() {
            "access-control-allow-credentials" | "access-control-expose-headers" => "allowed",
            "access-control-allow-headers" => "pok",
            "access-control-max-age" => "pok",
            _ => continue,
        };
        let lines = map_lines(http, &var);
        let value = lines
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("${var} has no {key} line"));
        // Access-Control-Allow-Headers is sent when the preflight names a header: the value
        // of the `_acah_pf` map's regex line.
        let value = match value.strip_prefix('$') {
            Some(v) if v.ends_with("_acah_pf") => map_lines(http, v)
                .into_iter()
                .find(|(k, _)| k.starts_with("\"~["))
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("${v} has no regex line")),
            _ => value,
        };
        match value.as_str() {
            "" => {}
            "$http_access_control_request_headers" => out.push((name, "$echo".into())),
            _ => out.push((name, value)),
        }
    }
    out.sort();
    out
}

#[test]
fn every_policy_carries_the_same_headers_in_every_engine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let compiled: BTreeMap<(&str, &str), &Policy> = guestlist_conformance::EVERY_POLICY
        .iter()
        .map(|(f, p, policy)| ((*f, *p), *policy))
        .collect();
    let mut failures = Vec::new();
    let mut built = Vec::new();
    let mut nginx_refusals = Vec::new();
    let mut nginx_routes = 0;
    for (name, c) in every_policy::every_policy(&root) {
        if c.has_errors() {
            continue;
        }
        for profile in c.profiles() {
            built.push((name.clone(), profile.clone()));
            let at = format!("{name} ({profile})");
            let lowered = c
                .lower(&profile)
                .unwrap_or_else(|e| panic!("{at}: checks, but does not lower: {e}"));
            let run_time = &lowered.policy;
            let Some(generated) = compiled.get(&(name.as_str(), profile.as_str())) else {
                failures.push(format!("{at}: build.rs did not compile it"));
                continue;
            };
            // The generated tables are the run-time ones, field for field (borrowed and owned
            // tables print alike): keys, slots, metadata, header values.
            if format!("{generated:?}") != format!("{run_time:?}") {
                failures.push(format!("{at}: generated tables differ from run-time ones"));
            }
            let nginx = nginx::emit(
                &c,
                &lowered,
                &nginx::Options {
                    include_root: "/etc/nginx/guestlist".into(),
                    upstream_include: None,
                    generated_by: "tests/engines.rs".into(),
                    accepted: Vec::new(),
                },
            );
            if let Err(e) = &nginx {
                // A refusal: a route's per-response nonce, which nginx cannot make
                // (GL1201, naming the csp policy).
                let nonce_csp = run_time.routes().iter().find_map(|r| {
                    r.guards()
                        .csp
                        .and_then(|i| run_time.csp_policies().get(i as usize))
                        .filter(|c| c.has_nonce())
                });
                // Or what the emitter's own checks report at the policy line (GL1204:
                // text nginx cannot read back).
                let diagnosed: Vec<&str> = guestlist_compiler::emit::edges::errors(
                    &c,
                    &lowered,
                    guestlist_compiler::emit::Engine::Nginx,
                    &[],
                )
                .iter()
                .map(|d| d.code)
                .collect();
                match nonce_csp {
                    Some(csp)
                        if e.0.contains("nonce") && e.0.contains(&format!("`{}`", csp.name())) =>
                    {
                        nginx_refusals.push(format!("{at}: {e}"));
                    }
                    _ if !diagnosed.is_empty() => {
                        nginx_refusals.push(format!("{at}: {} ({e})", diagnosed.join(", ")));
                    }
                    _ => failures.push(format!("{at}: nginx refuses it: {e}")),
                }
            }
            let docs =
                guestlist_compiler::emit::docs::emit(&c, &lowered, "tests/engines.rs", &[], false);
            // A policy with host blocks holds one pattern in several blocks, and each
            // location's nginx file answers for every host: its routes are compared here table
            // by table and decision by decision (for a request with no Host), and host by host
            // in compiler/tests/nginx.rs and examples/build-script/tests/hosts.rs.
            let hosts = run_time.host_block_count() > 0;
            for (i, route) in run_time.routes().iter().enumerate() {
                let at = format!("{at}, route {}", route.pattern());
                let g = generated.routes().get(i).unwrap();
                assert_eq!(
                    g.pattern(),
                    route.pattern(),
                    "{at}: routes in another order"
                );
                let want = table_headers(run_time, route);
                if table_headers(generated, g) != want {
                    failures.push(format!("{at}: generated tables carry other headers"));
                }
                if decided_headers(generated, g) != decided_headers(run_time, route) {
                    failures.push(format!("{at}: generated tables decide other headers"));
                }
                if let (Ok(files), false) = (&nginx, hosts) {
                    let got = nginx_headers(files, route);
                    if got != want {
                        failures.push(format!("{at}: nginx sends {got:?}, want {want:?}"));
                    }
                    nginx_routes += 1;
                }
                match &docs {
                    Ok(md) => {
                        for (n, v) in &want {
                            if !n.starts_with("access-control-")
                                && !md.contains(&v.replace('|', "\\|"))
                            {
                                failures.push(format!("{at}: the docs do not show {n}: {v}"));
                            }
                        }
                    }
                    Err(e) => failures.push(format!("{at}: no docs: {e}")),
                }
            }
        }
    }
    let listed: Vec<(String, String)> = guestlist_conformance::EVERY_POLICY
        .iter()
        .map(|(f, p, _)| (f.to_string(), p.to_string()))
        .collect();
    assert_eq!(listed, built, "build.rs compiled another list of policies");
    println!(
        "{} policy profiles, 4 engines; nginx compared on {nginx_routes} routes, and refused {} policies (a gap, each with its reason):",
        built.len(),
        nginx_refusals.len()
    );
    for r in &nginx_refusals {
        println!("  {r}");
    }
    assert!(built.len() >= 15, "only {} policy profiles", built.len());
    assert!(
        nginx_routes >= 30,
        "nginx compared on {nginx_routes} routes"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
