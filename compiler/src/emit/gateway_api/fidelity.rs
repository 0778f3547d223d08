//! The fidelity report: each way a conformant Gateway API implementation's answer differs
//! from the runtime's, at the policy line (spec/gateway-api.md has the table). Errors where a
//! browser's outcome would differ or a guard would be lost (GL1301-GL1305 through the shared
//! `--accept-loss` mechanism; GL1310-GL1312 for what no acceptance can make right); warnings
//! (GL1320-GL1322) where only the wire differs.

use super::rules::{cors_origin_ok, hostname_ok, path_ok, FILTER_METHODS};
use crate::diag::Diagnostic;
use crate::emit::{loss_errors, Engine};
use crate::{Compilation, Lowered};

/// The most request headers (and exposed headers) one `CORS` filter lists.
const HEADER_LIMIT: usize = 64;

/// Every difference, errors first (the losses `accepted` does not name, then what cannot be
/// carried), then the warnings.
pub(super) fn report(
    compilation: &Compilation,
    lowered: &Lowered,
    accepted: &[crate::emit::Loss],
) -> Vec<Diagnostic> {
    let mut out = loss_errors(compilation, lowered, Engine::GatewayApi, accepted);
    let program = &compilation.program;
    let policy = &lowered.policy;
    let spec = &lowered.spec;
    let mut warned_patterns = false;
    for (i, c) in spec.cors.iter().enumerate() {
        let used = policy.routes().iter().any(|r| r.cors() == Some(i as u32));
        let Some(decl) = program.cors.iter().find(|d| d.name == c.name) else {
            continue;
        };
        if !used {
            continue;
        }
        let prov = lowered.provenance.cors.get(i);
        let name = &c.name;
        let cannot = |span, message: String, label: &str, help: &str| {
            Diagnostic::new("GL1310", span, message)
                .label(label)
                .help(help)
        };
        for (k, o) in c.origins.iter().enumerate() {
            if !cors_origin_ok(o) {
                let span = prov
                    .and_then(|p| p.exact.get(k))
                    .copied()
                    .unwrap_or(decl.head_span);
                out.push(cannot(
                    span,
                    format!("the Gateway API CORS filter cannot allow the origin `{o}` of cors policy `{name}`"),
                    "an allowOrigins entry is `http` or `https`, a DNS name or IPv4 address and a numeric port",
                    "serve this origin through the Rust runtime (guestlist::Layer), or remove it from this profile",
                ));
            }
        }
        for (k, p) in c.patterns.iter().enumerate() {
            if !cors_origin_ok(p) {
                let span = prov
                    .and_then(|x| x.patterns.get(k))
                    .copied()
                    .unwrap_or(decl.head_span);
                out.push(cannot(
                    span,
                    format!("the Gateway API CORS filter cannot allow the pattern `{p}` of cors policy `{name}`"),
                    "allowOrigins has no any-port form and no IPv6 literal",
                    "list the ports (`https://app.example.com:8443`), or serve these origins through the Rust runtime (guestlist::Layer)",
                ));
            }
        }
        if !c.provided.is_empty() {
            out.push(cannot(
                decl.head_span,
                format!("cors policy `{name}` names a set supplied at run time"),
                "an HTTPRoute holds only the origins written in it",
                "serve this policy through the Rust runtime (guestlist::Layer), which takes sets supplied at run time",
            ));
        }
        for m in &c.methods {
            if !FILTER_METHODS.contains(&m.as_str()) {
                let span = prov
                    .and_then(|p| p.method_lines.first())
                    .copied()
                    .unwrap_or(decl.head_span);
                out.push(cannot(
                    span,
                    format!("the Gateway API CORS filter cannot allow the method `{m}`"),
                    "allowMethods names only GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE and PATCH",
                    "serve this route through the Rust runtime (guestlist::Layer), or remove the method",
                ));
            }
        }
        if c.any_header {
            let span = prov
                .and_then(|p| p.header_lines.first())
                .copied()
                .unwrap_or(decl.head_span);
            out.push(cannot(
                span,
                format!("cors policy `{name}` allows every request header but `Authorization`, which the Gateway API CORS filter cannot say"),
                "allowHeaders: [\"*\"] echoes the requested headers on Envoy-based implementations, `Authorization` included",
                "list the request headers pages send (`allow-headers Content-Type X-Request-Id`)",
            ));
        }
        if c.headers.len() > HEADER_LIMIT || c.expose.len() > HEADER_LIMIT {
            out.push(cannot(
                decl.head_span,
                format!("cors policy `{name}` lists more than {HEADER_LIMIT} headers"),
                "allowHeaders and exposeHeaders hold at most 64 names",
                "shorten the list, or serve this route through the Rust runtime (guestlist::Layer)",
            ));
        }
        if c.max_age == Some(0) {
            out.push(cannot(
                decl.head_span,
                format!(
                    "cors policy `{name}` has `max-age 0`, below the CORS filter's minimum of 1"
                ),
                "maxAge is at least 1 second",
                "write `max-age 1s`, or leave max-age out (both mean at most five seconds)",
            ));
        }
        if c.max_age.is_some_and(|m| m > i32::MAX as u32) {
            out.push(cannot(
                decl.head_span,
                format!("cors policy `{name}`'s max-age is out of the CORS filter's range"),
                "maxAge is an int32",
                "write a shorter max-age",
            ));
        }
        // Wire-only differences.
        out.push(
            Diagnostic::new(
                "GL1320",
                decl.head_span,
                format!("preflights of cors policy `{name}` are answered otherwise on the wire"),
            )
            .label("a refused preflight gets 200 (or 204) without CORS headers, or 403; an allowed one 200 with the configured lists, `Access-Control-Max-Age` always (5 s by default), and no security headers or `Vary`")
            .help("nothing to do: browsers reach the same outcome (spec/gateway-api.md)"),
        );
        if !c.patterns.is_empty() || !c.origins.is_empty() {
            if !warned_patterns {
                out.push(
                    Diagnostic::new(
                        "GL1321",
                        decl.head_span,
                        format!("origins of cors policy `{name}` also match non-canonical forms"),
                    )
                    .label("a `*.` pattern matches labels with uppercase letters or `_`; implementations may also match an exact origin written with its default port or in another case, which browsers never send")
                    .help("nothing to do for browser traffic: browsers send canonical, lowercase origins"),
                );
            }
            warned_patterns = true;
        }
    }
    for (b, h) in spec.hosts.iter().enumerate() {
        let Some(&span) = lowered.provenance.hosts.get(b) else {
            continue;
        };
        for p in &h.patterns {
            if !hostname_ok(p) {
                out.push(
                    Diagnostic::new(
                        "GL1311",
                        span,
                        format!("Gateway API cannot select the host `{p}`"),
                    )
                    .label("spec.hostnames holds DNS names without a port, never an IP address")
                    .help("give each port its own Gateway listener and write the host without the port, or serve this host through the Rust runtime (guestlist::Layer)"),
                );
            }
        }
    }
    if let Some(&span) = lowered.provenance.hosts.first() {
        out.push(
            Diagnostic::new("GL1322", span, "hosts are matched otherwise on the wire")
                .label("implementations may match a `Host` with a port, a trailing dot or two `Host` lines, which the runtime answers from the top-level routes or with 400")
                .help("nothing to do for browser traffic: browsers send one `Host`, without a default port or trailing dot"),
        );
        if !policy.hosts_dispatched() {
            for (i, r) in policy.routes().iter().enumerate() {
                let contributing = policy.contributing_routes_of_pattern(r.pattern());
                let cors_of = |k: u32| policy.routes().get(k as usize).and_then(|x| x.cors());
                let differs = contributing.iter().any(|&k| {
                    spec.routes
                        .get(k as usize)
                        .is_some_and(|x| x.host.is_some())
                        && cors_of(k) != r.cors()
                });
                if differs {
                    let Some(span) = lowered.provenance.routes.get(i).map(|p| p.span) else {
                        continue;
                    };
                    out.push(
                        Diagnostic::new(
                            "GL1312",
                            span,
                            format!("route \"{}\" is decided with another host block's route for its paths, which Gateway API cannot do", r.pattern()),
                        )
                        .label("without `hosts dispatched-by-application` CORS is allowed only where every host block's route for the path allows it; an HTTPRoute applies its own rule alone")
                        .help("give the host blocks' routes for this path the same cors policy, or state `hosts dispatched-by-application` if the application routes by host"),
                    );
                }
            }
        }
    }
    for r in policy.routes() {
        let p = r.pattern().strip_suffix("/*").unwrap_or(r.pattern());
        if !p.is_empty() && !path_ok(p) {
            if let Some(decl) = program.routes.iter().find(|d| d.pattern == r.pattern()) {
                out.push(
                    Diagnostic::new(
                        "GL1310",
                        decl.span,
                        format!("Gateway API cannot match the path of route \"{}\"", r.pattern()),
                    )
                    .label("an HTTPRoute path holds letters, digits and -._~!$&'()*+,;=:@/ only")
                    .help("write the pattern with those characters, or serve this route through the Rust runtime (guestlist::Layer)"),
                );
            }
        }
    }
    let (errors, warnings): (Vec<_>, Vec<_>) = out.into_iter().partition(Diagnostic::is_error);
    errors.into_iter().chain(warnings).collect()
}
