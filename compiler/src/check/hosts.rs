//! `host "PATTERN"... { route ... }` blocks and `hosts dispatched-by-application`
//! (spec/language.md, section 6a): pass 1 reads the patterns (GL1101-GL1105, GL1108) and the
//! routes inside; the profile pass warns where host blocks guard one path differently (GL1106)
//! and where a wildcard block is same-site with a `same-site allow` csrf (GL1107). Built on
//! `checker` and `blocks` (the routes inside are read as every route is).

use std::collections::HashSet;

use crate::ast::{Block, Value};
use crate::diag::Diagnostic;
use crate::ir::{active, HostDecl, HostPattern, Program, RouteDecl};
use crate::source::Span;

use super::checker::Checker;

/// Why a host pattern is not one, and how to write it.
#[derive(Debug)]
struct Invalid {
    message: String,
    help: String,
}

fn invalid(message: impl Into<String>, help: impl Into<String>) -> Invalid {
    Invalid {
        message: message.into(),
        help: help.into(),
    }
}

/// A DNS name's labels: letters, digits and `-`, 1 to 63 bytes, no `-` at either end; at
/// most 253 bytes in all.
fn dns_name_error(host: &str) -> Option<String> {
    if host.len() > 253 {
        return Some(format!(
            "a host name is at most 253 bytes (this one has {})",
            host.len()
        ));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Some("a host name has no empty label (`..`)".into());
        }
        if label.len() > 63 {
            return Some(format!("the label `{label}` is longer than 63 bytes"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!(
                "`{c}` cannot appear in a host name (letters, digits, `-` and `.` only)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!("the label `{label}` starts or ends with `-`"));
        }
    }
    None
}

/// Reads one host pattern (spec/language.md, section 6a).
fn parse_pattern(text: &str, span: Span) -> Result<HostPattern, Invalid> {
    if text.is_empty() {
        return Err(invalid(
            "an empty host pattern",
            "write a host such as \"api.example.com\", \"api.example.net:8443\" or \"*.example.com\"",
        ));
    }
    if text.contains("://") || text.contains('/') {
        return Err(invalid(
            "a host pattern is a host, not a URL",
            format!(
                "write the host alone: \"{}\"",
                text.split("://")
                    .last()
                    .unwrap_or(text)
                    .split('/')
                    .next()
                    .unwrap_or("")
            ),
        ));
    }
    let lower = text.to_ascii_lowercase();
    let (wildcard, rest) = match lower.strip_prefix("*.") {
        Some(r) => (true, r),
        None => (false, lower.as_str()),
    };
    // The port: after the last `:` that is not inside an IPv6 literal.
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, p)) if !p.contains(']') => {
            let port = match p.parse::<u16>() {
                Ok(n) if n > 0 && !p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => {
                    return Err(invalid(
                        format!("`{p}` is not a port"),
                        "a port is a number from 1 to 65535 without leading zeros",
                    ))
                }
            };
            (host, Some(port))
        }
        _ => (rest, None),
    };
    if host.ends_with('.') {
        return Err(invalid(
            "a host pattern has no trailing dot",
            format!(
                "write \"{}{}\": a request's trailing dot is dropped before matching",
                if wildcard { "*." } else { "" },
                host.trim_end_matches('.')
            ),
        ));
    }
    if host.contains('*') {
        return Err(invalid(
            "`*` stands only at the start of a host pattern, as `*.`",
            "write \"*.example.com\" (one or more labels under example.com)",
        ));
    }
    if !host.is_ascii() {
        let help = match guestlist_origins::host_to_ascii(host) {
            Some(a) => format!(
                "write the A-label form browsers send in `Host`: \"{}{a}{}\"",
                if wildcard { "*." } else { "" },
                port.map(|p| format!(":{p}")).unwrap_or_default()
            ),
            None => "write the host's A-label (`xn--`) form".to_string(),
        };
        return Err(invalid("a host pattern is ASCII", help));
    }
    if let Some(v6) = host.strip_prefix('[') {
        let ok = v6
            .strip_suffix(']')
            .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok());
        if !ok || wildcard {
            return Err(invalid(
                "not an IPv6 address in brackets",
                "write an IPv6 host as \"[::1]\" or \"[::1]:8080\"; `*.` takes a domain",
            ));
        }
    } else if host.parse::<std::net::Ipv4Addr>().is_ok() {
        if wildcard {
            return Err(invalid(
                "`*.` takes a domain, not an IP address",
                format!("write \"{host}\" for the address itself"),
            ));
        }
    } else if let Some(why) = dns_name_error(host) {
        return Err(invalid(
            why,
            "write a host such as \"api.example.com\", \"api.example.net:8443\" or \"*.example.com\"",
        ));
    } else if host
        .split('.')
        .next_back()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(invalid(
            "a host name does not end with a numeric label",
            "write an IPv4 address as four decimal numbers (\"192.0.2.1\") or a DNS name",
        ));
    }
    Ok(HostPattern {
        host: host.to_string(),
        wildcard,
        port,
        span,
    })
}

impl Checker {
    /// Pass 1 for `host "PATTERN"... { route ... }`.
    pub(super) fn host_block(&mut self, b: &Block, args: &[Value], when: Option<&Value>) {
        if args.is_empty() || args.iter().any(|a| !a.quoted) || when.is_some() {
            self.diags.push(
                Diagnostic::new("GL0104", b.head_span, "malformed `host` block")
                    .label("expected one or more quoted host patterns")
                    .help("write `host \"api.example.com\" \"*.tenants.example.com\" {`; a host block holds in every profile (its routes may take `when`)"),
            );
            return;
        }
        let index = self.program.hosts.len();
        let mut patterns = Vec::new();
        for a in args {
            match parse_pattern(&a.text, a.inner_span()) {
                Ok(p) => {
                    if p.wildcard && guestlist_origins::is_public_suffix(&p.host) {
                        self.diags.push(
                            Diagnostic::new(
                                "GL1103",
                                p.span,
                                format!("`*.{}` matches every site under a public suffix", p.host),
                            )
                            .label("a public suffix: its subdomains belong to unrelated owners")
                            .help(format!("name your own domain: \"*.yourdomain.{}\"", p.host)),
                        );
                        continue;
                    }
                    let earlier = self
                        .program
                        .hosts
                        .iter()
                        .flat_map(|h| &h.patterns)
                        .chain(&patterns)
                        .find(|q: &&HostPattern| {
                            q.host == p.host && q.wildcard == p.wildcard && q.port == p.port
                        })
                        .map(|q| q.span);
                    if let Some(first) = earlier {
                        self.diags.push(
                            Diagnostic::new(
                                "GL1104",
                                p.span,
                                format!("host pattern \"{}\" is given twice", p.text()),
                            )
                            .label("given again here")
                            .secondary(first, "first given here")
                            .help("a host belongs to one host block: merge the two blocks' routes"),
                        );
                        continue;
                    }
                    patterns.push(p);
                }
                Err(e) => self.diags.push(
                    Diagnostic::new("GL1101", a.inner_span(), e.message)
                        .label("not a host pattern")
                        .help(e.help),
                ),
            }
        }
        for l in &b.lines {
            self.diags.push(
                Diagnostic::new("GL1105", l.span, "a host block holds only `route` blocks")
                    .label("not a route block")
                    .help("write the setting in a `route \"PATTERN\" { ... }` block inside the host block, or in a policy block named by the routes"),
            );
        }
        let mut routes = 0;
        for r in &b.blocks {
            let Some(kind) = r.head.first() else { continue };
            if !kind.is_word("route") {
                self.diags.push(
                    Diagnostic::new(
                        "GL1105",
                        r.head_span,
                        format!("a host block holds only `route` blocks, not `{}`", kind.text),
                    )
                    .label("not a route block")
                    .help("declare policies (`cors`, `csrf`, ...) at top level and name them in the host block's routes"),
                );
                continue;
            }
            let rest = r.head.get(1..).unwrap_or(&[]);
            let (rargs, rwhen) = crate::ast::split_when(rest);
            match rargs {
                [p] if p.quoted => {
                    routes += 1;
                    self.route_block(r, p, super::checker::when_of(rwhen), Some(index));
                }
                _ => self.diags.push(
                    Diagnostic::new("GL0104", r.head_span, "malformed `route` block")
                        .label("expected one quoted path pattern")
                        .help("write `route \"/api/*\" {` (everything below /api/) or `route \"/health\" {` (exactly /health)"),
                ),
            }
        }
        if routes == 0 {
            self.diags.push(
                Diagnostic::new("GL1102", b.head_span, "a host block with no routes")
                    .label("no `route` block inside")
                    .help("add `route \"/*\" { ... }` inside, or remove the block: its hosts would get no policy at all"),
            );
        }
        self.program.hosts.push(HostDecl {
            patterns,
            head_span: b.head_span,
        });
    }

    /// `hosts dispatched-by-application`: the application routes by host itself.
    pub(super) fn hosts_declaration(&mut self, b: &Block, args: &[Value]) {
        match args {
            [v] if v.is_word("dispatched-by-application") => {
                if let Some(first) = self.program.hosts_dispatched {
                    self.diags.push(
                        Diagnostic::new("GL1108", b.head_span, "`hosts` is declared twice")
                            .label("declared again here")
                            .secondary(first, "first declared here")
                            .help("keep one `hosts dispatched-by-application` line for the whole policy"),
                    );
                } else {
                    self.program.hosts_dispatched = Some(b.head_span);
                }
            }
            _ => self.diags.push(
                Diagnostic::new("GL0104", b.head_span, "malformed `hosts` line")
                    .label("expected `dispatched-by-application`")
                    .help("write `hosts dispatched-by-application` when the application itself routes by host; leave it out otherwise"),
            ),
        }
    }

    /// GL1106, GL1107 and GL1109, in one profile.
    pub(super) fn hosts_in_profile(&mut self, program: &Program, profile: &str) {
        if program.hosts.is_empty() {
            return;
        }
        if program.hosts_dispatched.is_none() {
            self.guards_differ(program, profile);
        }
        self.same_site_wildcards(program, profile);
    }

    /// GL1106: one path guarded (csrf, websocket) under one host block and not under another;
    /// GL1109: one path with a cors policy under one host block and without under another.
    fn guards_differ(&mut self, program: &Program, profile: &str) {
        let routes: Vec<&RouteDecl> = program
            .routes
            .iter()
            .filter(|r| active(&r.when, profile))
            .collect();
        let scopes: Vec<Option<usize>> = {
            let mut s: Vec<Option<usize>> = routes.iter().map(|r| r.host).collect();
            s.sort_unstable();
            s.dedup();
            s
        };
        // Every route pattern is a region of the path space; in each scope, the route that
        // serves the region is the most specific of the scope's patterns covering it.
        let mut warned: HashSet<(Span, Span)> = HashSet::new();
        let mut warned_cors: HashSet<(Span, Span)> = HashSet::new();
        for region in &routes {
            let serving: Vec<&RouteDecl> = scopes
                .iter()
                .filter_map(|scope| {
                    routes
                        .iter()
                        .filter(|r| {
                            r.host == *scope
                                && guestlist::pattern_covers(&r.pattern, &region.pattern)
                        })
                        .max_by_key(|r| guestlist::pattern_specificity(&r.pattern))
                        .copied()
                })
                .collect();
            for (kind, has) in [
                ("csrf", guard(profile, |r: &RouteDecl| &r.csrf)),
                ("websocket", guard(profile, |r: &RouteDecl| &r.websocket)),
            ] {
                let Some(with) = serving.iter().find(|r| has(r)) else {
                    continue;
                };
                for without in serving.iter().filter(|r| !has(r)) {
                    if !warned.insert((with.span, without.span)) {
                        continue;
                    }
                    self.diags.push(
                        Diagnostic::new(
                            "GL1106",
                            without.span,
                            format!(
                                "\"{}\" has a {kind} guard under {} but not here",
                                region.pattern,
                                scope_name(program, with.host)
                            ),
                        )
                        .label(format!("no {kind} policy for this path under {}", scope_name(program, without.host)))
                        .secondary(with.span, format!("{kind} guards it here"))
                        .note("an application that routes by path serves this path on every host, so every host gets the guard")
                        .help(format!("add the {kind} line here too, or declare `hosts dispatched-by-application` if the application routes by host itself")),
                    );
                }
            }
            // GL1109: a host block's route without a cors policy refuses CORS on the path for
            // every host, the other blocks' included.
            let has_cors = guard(profile, |r: &RouteDecl| &r.cors);
            let blocks = || serving.iter().filter(|r| r.host.is_some());
            let Some(with) = blocks().find(|r| has_cors(r)) else {
                continue;
            };
            for without in blocks().filter(|r| !has_cors(r)) {
                if !warned_cors.insert((with.span, without.span)) {
                    continue;
                }
                self.diags.push(
                    Diagnostic::new(
                        "GL1109",
                        without.span,
                        format!(
                            "\"{}\" has a cors policy under {} but none here: no host allows CORS on it",
                            region.pattern,
                            scope_name(program, with.host)
                        ),
                    )
                    .label(format!("no cors policy for this path under {}", scope_name(program, without.host)))
                    .secondary(with.span, "cors policy here")
                    .note("an application that routes by path serves this path on every host, so CORS is allowed only where every host block's route for it allows (reason hosts-disagree)")
                    .help("give this route a cors policy too, narrow its pattern, or declare `hosts dispatched-by-application` if the application routes by host itself"),
                );
            }
        }
    }

    /// GL1107: a `*.` block under the registrable domain of a block whose csrf allows
    /// same-site requests.
    fn same_site_wildcards(&mut self, program: &Program, profile: &str) {
        for (hi, h) in program.hosts.iter().enumerate() {
            let allows_same_site = program.routes.iter().any(|r| {
                r.host == Some(hi)
                    && active(&r.when, profile)
                    && r.csrf.iter().filter(|e| active(&e.when, profile)).any(|e| {
                        program.csrf.iter().any(|c| {
                            c.name == e.value
                                && active(&c.when, profile)
                                && c.same_site
                                    .iter()
                                    .any(|s| active(&s.when, profile) && s.value)
                        })
                    })
            });
            if !allows_same_site {
                continue;
            }
            for p in &h.patterns {
                let Some(site) = guestlist_origins::registrable_domain(&p.host) else {
                    continue;
                };
                for (wi, w) in program.hosts.iter().enumerate() {
                    if wi == hi {
                        continue;
                    }
                    for wp in w.patterns.iter().filter(|q| q.wildcard) {
                        if wp.host == site || wp.host.ends_with(&format!(".{site}")) {
                            self.diags.push(
                                Diagnostic::new(
                                    "GL1107",
                                    wp.span,
                                    format!("\"{}\" is same-site with \"{}\", whose csrf allows same-site requests", wp.text(), p.text()),
                                )
                                .label(format!("every host here is under {site}"))
                                .secondary(p.span, "csrf `same-site allow` here")
                                .help("set `same-site reject` in that csrf policy: whoever controls one of these subdomains can post to it as same-site"),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Whether a route has an active guard of one kind.
fn guard(
    profile: &str,
    list: fn(&RouteDecl) -> &Vec<crate::ir::Entry<String>>,
) -> impl Fn(&&RouteDecl) -> bool + '_ {
    move |r| list(r).iter().any(|e| active(&e.when, profile))
}

fn scope_name(program: &Program, host: Option<usize>) -> String {
    match host.and_then(|i| program.hosts.get(i)) {
        Some(h) => h.patterns.first().map_or_else(
            || "a host block".to_string(),
            |p| format!("host \"{}\"", p.text()),
        ),
        None => "the top-level routes".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn span() -> Span {
        Span::new(FileId(0), 0, 0)
    }

    #[test]
    fn patterns_are_hosts_ports_and_wildcards() {
        let p = parse_pattern("API.Example.com", span()).unwrap();
        assert_eq!(
            (p.host.as_str(), p.wildcard, p.port),
            ("api.example.com", false, None)
        );
        let p = parse_pattern("*.t.example.com:8443", span()).unwrap();
        assert_eq!(
            (p.host.as_str(), p.wildcard, p.port),
            ("t.example.com", true, Some(8443))
        );
        assert_eq!(p.text(), "*.t.example.com:8443");
        for ok in [
            "127.0.0.1:8080",
            "[::1]",
            "[::1]:3000",
            "xn--caf-dma.example",
            "localhost",
        ] {
            assert!(parse_pattern(ok, span()).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "https://api.example.com",
            "api.example.com/",
            "api.example.com.",
            "api..example.com",
            "a*.example.com",
            "*",
            "*.",
            "api.example.com:0",
            "api.example.com:08443",
            "api.example.com:65536",
            "api.example.com:",
            "-api.example.com",
            "api_x.example.com",
            "café.example",
            "*.127.0.0.1",
            "[::1",
            "1.2.3",
        ] {
            assert!(parse_pattern(bad, span()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_wildcard_matches_one_or_more_labels_and_the_port_exactly() {
        let w = parse_pattern("*.example.com", span()).unwrap();
        assert!(w.matches("a.example.com"));
        assert!(w.matches("a.b.example.com"));
        assert!(!w.matches("example.com"));
        assert!(!w.matches("evilexample.com"));
        assert!(!w.matches("a.example.com:443"));
        let e = parse_pattern("api.example.net:8443", span()).unwrap();
        assert!(e.matches("api.example.net:8443"));
        assert!(!e.matches("api.example.net"));
        assert!(!e.matches("api.example.net:443"));
    }
}
