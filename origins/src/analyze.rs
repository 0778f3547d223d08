//! Origin texts: parsing, validation and canonical form.

use std::net::Ipv6Addr;
use std::ops::Range;

use crate::finding::Finding;
use crate::origin::Origin;

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// RFC 5952 text of an IPv6 address (lowercase hex, longest run of two or more zero groups
/// compressed, hex even for IPv4-mapped addresses, as the URL standard serializes them).
pub fn ipv6_canonical(a: Ipv6Addr) -> String {
    let seg = a.segments();
    // Longest run of zeros, length >= 2, first one wins.
    let (mut best_start, mut best_len) = (usize::MAX, 0usize);
    let mut i = 0;
    while i < seg.len() {
        if seg.get(i) == Some(&0) {
            let start = i;
            while seg.get(i) == Some(&0) {
                i += 1;
            }
            if i - start > best_len && i - start >= 2 {
                best_start = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    let mut out = String::new();
    let mut i = 0;
    while i < seg.len() {
        if i == best_start {
            out.push_str("::");
            i += best_len;
            continue;
        }
        if !out.is_empty() && !out.ends_with(':') {
            out.push(':');
        }
        out.push_str(&format!("{:x}", seg.get(i).copied().unwrap_or(0)));
        i += 1;
    }
    out
}

/// The result of analysing one origin text: the origin when it is usable, and the findings.
#[derive(Debug, Default)]
pub struct Analysis {
    /// The origin: when there was no finding; when every finding has the same certain fix
    /// (then this is the fixed origin, and each finding's `fix` its text); and for `null`,
    /// which is GL0202.
    pub origin: Option<Origin>,
    /// Findings, each located within the text.
    pub findings: Vec<Finding>,
}

/// Why an origin of `scheme` (lowercase) never reaches a server in `Origin`, when it never
/// does: a browser sends the origin of the page (or worker, or extension) that makes the
/// request, and no page is served as `ws:`, `wss:` or (in current browsers) `ftp:`.
fn never_a_page_origin(scheme: &str) -> Option<&'static str> {
    match scheme {
        "ws" | "wss" => Some("the socket's URL, not a page's origin"),
        "ftp" => Some("browsers no longer load pages over ftp"),
        _ => None,
    }
}

/// Analyses the text of an origin literal (the text inside the quotes), as written in a policy.
pub fn analyze(raw: &str) -> Analysis {
    analyze_in(raw, false)
}

/// Analyses an origin text; `supplied`: the text is an entry of a set supplied at run time,
/// where `*` and opt-outs do not exist (only some help texts differ).
pub(crate) fn analyze_in(raw: &str, supplied: bool) -> Analysis {
    let mut a = Analysis::default();
    let span = 0..raw.len();
    let at = |s: usize, e: usize| s..e.max(s + 1).min(raw.len().max(s + 1));
    if raw == "null" {
        a.findings.push(
            Finding::error("GL0202", span.clone(), "`null` origin allowed")
                .label("any page can send `Origin: null` (a sandboxed iframe, a data: URL)")
                .help(if supplied {
                    "remove it; allowing `null` lets every attacker in"
                } else {
                    "remove it; allowing `null` lets every attacker in (if you must, add `dangerously-allow GL0202 \"reason\"` to this block)"
                }),
        );
        a.origin = Some(Origin {
            canonical: "null".into(),
            scheme: String::new(),
            host: String::new(),
            wildcard_host: false,
            any_port: false,
            port: None,
            null: true,
        });
        return a;
    }
    let Some(sep) = raw.find("://") else {
        let looks_like_host = raw.contains('.') && !raw.contains(':') && !raw.contains(' ');
        let mut d = Finding::error("GL0201", span.clone(), format!("`{raw}` is not an origin"))
            .label("expected `scheme://host[:port]`");
        d = if looks_like_host {
            d.help(format!("an origin has a scheme: write \"https://{raw}\""))
        } else {
            d.help(if supplied {
                "write an origin such as \"https://app.example.com\""
            } else {
                "write an origin such as \"https://app.example.com\", or `*` for any origin"
            })
        };
        a.findings.push(d);
        return a;
    };
    let scheme_raw = raw.get(..sep).unwrap_or("");
    let after = raw.get(sep + 3..).unwrap_or("");
    let after_at = sep + 3;
    // Fixes accumulate into the parts of the canonical text.
    let mut fixable_only = true;
    let scheme = scheme_raw.to_ascii_lowercase();
    let scheme_ok = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase())
        && scheme
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    if !scheme_ok {
        a.findings.push(
            Finding::error(
                "GL0201",
                at(0, sep),
                format!("`{scheme_raw}` is not a URL scheme"),
            )
            .label("invalid scheme")
            .help("write a scheme such as `https` before `://`"),
        );
        return a;
    }
    if scheme == "file" {
        a.findings.push(
            Finding::error("GL0203", span.clone(), "`file://` origin")
                .label("pages loaded from files have an opaque origin")
                .help("remove it: browsers send `Origin: null` for file: pages, so this entry never matches, and allowing `null` would let every attacker in"),
        );
        return a;
    }
    if let Some(why) = never_a_page_origin(&scheme) {
        a.findings.push(
            Finding::error(
                "GL0201",
                at(0, sep),
                format!("`{scheme}://` is never the origin of a page"),
            )
            .label(why)
            .help(if scheme.starts_with("ws") {
                "write the page's origin, \"https://…\": a WebSocket handshake carries the origin of the page that opens it"
            } else {
                "write the page's origin, \"https://…\""
            }),
        );
        return a;
    }
    let mut upper_spans = Vec::new();
    if scheme != scheme_raw {
        upper_spans.push(at(0, sep));
    }
    // Authority ends at the first '/', '?' or '#'.
    let auth_end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let authority = after.get(..auth_end).unwrap_or("");
    let tail = after.get(auth_end..).unwrap_or("");
    let mut tail_diag = None;
    if !tail.is_empty() {
        let what = if tail == "/" {
            "origin has a trailing slash"
        } else if tail.starts_with('?') {
            "origin has a query"
        } else if tail.starts_with('#') {
            "origin has a fragment"
        } else {
            "origin has a path"
        };
        tail_diag = Some(
            Finding::error("GL0204", at(after_at + auth_end, raw.len()), what)
                .label("browsers never send this part in `Origin`")
                .note("the runtime compares origins byte-exactly, so this entry would never match"),
        );
    }
    // User info.
    let (host_port, hp_at) = match authority.rfind('@') {
        Some(i) => {
            a.findings.push(
                Finding::error(
                    "GL0205",
                    at(after_at, after_at + i + 1),
                    "origin has user info",
                )
                .label("browsers never send user info in `Origin`"),
            );
            (authority.get(i + 1..).unwrap_or(""), after_at + i + 1)
        }
        None => (authority, after_at),
    };
    // Host and port.
    let (host_raw, port_raw) = if host_port.starts_with('[') {
        match host_port.find(']') {
            Some(close) => {
                let rest = host_port.get(close + 1..).unwrap_or("");
                let port = rest.strip_prefix(':');
                if !rest.is_empty() && port.is_none() {
                    a.findings.push(
                        Finding::error(
                            "GL0217",
                            at(hp_at, hp_at + host_port.len()),
                            "invalid host",
                        )
                        .label("unexpected text after `]`"),
                    );
                    return a;
                }
                (host_port.get(..=close).unwrap_or(""), port)
            }
            None => {
                a.findings.push(
                    Finding::error("GL0217", at(hp_at, hp_at + host_port.len()), "invalid host")
                        .label("`[` is not closed by `]`"),
                );
                return a;
            }
        }
    } else {
        match host_port.find(':') {
            Some(i) => (host_port.get(..i).unwrap_or(""), host_port.get(i + 1..)),
            None => (host_port, None),
        }
    };
    let host_at = hp_at;
    let port_at = host_at + host_raw.len() + 1;
    if host_raw.is_empty() {
        a.findings.push(
            Finding::error("GL0201", span.clone(), "origin has no host")
                .label("expected a host after `://`")
                .help("write an origin such as \"https://app.example.com\""),
        );
        return a;
    }
    // Port.
    let mut port = None;
    let mut any_port = false;
    let mut port_text: Option<String> = None;
    if let Some(p) = port_raw {
        let pspan = at(port_at, port_at + p.len());
        if p == "*" {
            any_port = true;
            port_text = Some("*".into());
        } else if p.is_empty() {
            a.findings.push(
                Finding::error("GL0209", at(port_at - 1, port_at), "empty port")
                    .label("`:` with no port"),
            );
        } else if !p.bytes().all(|b| b.is_ascii_digit()) {
            a.findings.push(
                Finding::error("GL0209", pspan.clone(), format!("invalid port `{p}`"))
                    .label("a port is a number from 1 to 65535, or `*` for any port")
                    .help("write a port such as `:8443`, or `:*` for any port"),
            );
            fixable_only = false;
        } else {
            match p.parse::<u32>() {
                Ok(n) if (1..=65535).contains(&n) => {
                    if p.starts_with('0') {
                        a.findings.push(
                            Finding::error(
                                "GL0209",
                                pspan.clone(),
                                format!("port `{p}` has a leading zero"),
                            )
                            .label("browsers never send leading zeros"),
                        );
                    }
                    let n = u16::try_from(n).unwrap_or(0);
                    if default_port(&scheme) == Some(n) {
                        a.findings.push(
                            Finding::error("GL0208", at(port_at - 1, port_at + p.len()), format!("explicit default port {n} for {scheme}"))
                                .label("browsers omit the default port from `Origin`")
                                .note("the runtime compares origins byte-exactly, so this entry would never match"),
                        );
                    } else {
                        port = Some(n);
                        port_text = Some(n.to_string());
                    }
                }
                _ => {
                    a.findings.push(
                        Finding::error(
                            "GL0209",
                            pspan.clone(),
                            format!("port `{p}` is out of range"),
                        )
                        .label("a port is a number from 1 to 65535")
                        .help("write a port from 1 to 65535, or `:*` for any port"),
                    );
                    fixable_only = false;
                }
            }
        }
    }
    // Host.
    let hspan = at(host_at, host_at + host_raw.len());
    let mut wildcard_host = false;
    let mut host = host_raw.to_string();
    if host_raw.contains('*') {
        if let Some(rest) = host_raw.strip_prefix("*.") {
            if rest.contains('*') || rest.is_empty() {
                a.findings
                    .push(malformed_wildcard(hspan.clone(), &scheme, supplied));
                return a;
            }
            wildcard_host = true;
            host = rest.to_string();
        } else {
            a.findings
                .push(malformed_wildcard(hspan.clone(), &scheme, supplied));
            return a;
        }
    }
    if host.starts_with('[') {
        let inner = host.get(1..host.len().saturating_sub(1)).unwrap_or("");
        if wildcard_host {
            a.findings
                .push(malformed_wildcard(hspan.clone(), &scheme, supplied));
            return a;
        }
        if inner.contains('%') {
            a.findings.push(
                Finding::error(
                    "GL0211",
                    hspan.clone(),
                    "IPv6 zone identifiers never appear in origins",
                )
                .label("zone identifier")
                .help("remove the `%...` part"),
            );
            return a;
        }
        match inner.parse::<Ipv6Addr>() {
            Ok(addr) => {
                let canon = ipv6_canonical(addr);
                if canon != inner {
                    a.findings.push(
                        Finding::error("GL0211", hspan.clone(), "IPv6 address not in canonical form")
                            .label(format!("browsers send [{canon}]"))
                            .note("origins serialize IPv6 addresses in RFC 5952 form: lowercase, no leading zeros, longest zero run as `::`"),
                    );
                }
                host = format!("[{canon}]");
            }
            Err(_) => {
                a.findings.push(
                    Finding::error("GL0217", hspan.clone(), "invalid IPv6 address")
                        .label("not an IPv6 address"),
                );
                return a;
            }
        }
    } else {
        if !host.is_ascii() {
            match idna::domain_to_ascii_strict(&host) {
                Ok(ascii) => {
                    a.findings.push(
                        Finding::error("GL0207", hspan.clone(), "non-ASCII host")
                            .label(format!("browsers send this host as `{ascii}`"))
                            .note("origins carry internationalized domain names in punycode"),
                    );
                    host = ascii;
                }
                Err(_) => {
                    a.findings.push(
                        Finding::error("GL0217", hspan.clone(), "invalid internationalized host")
                            .label("this host has no punycode form")
                            .help("write the host in ASCII (punycode)"),
                    );
                    return a;
                }
            }
        } else if host.bytes().any(|b| b.is_ascii_uppercase()) {
            upper_spans.push(hspan.clone());
            host = host.to_ascii_lowercase();
        }
        if let Some(stripped) = host.strip_suffix('.') {
            a.findings.push(
                Finding::error("GL0217", hspan.clone(), "host ends with a dot")
                    .label("browsers never send the trailing dot"),
            );
            host = stripped.to_string();
        }
        let labels: Vec<&str> = host.split('.').collect();
        let last = labels.last().copied().unwrap_or("");
        let numeric_last = !last.is_empty()
            && (last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x"));
        if numeric_last {
            let canonical_v4 = labels.len() == 4
                && labels.iter().all(|l| {
                    !l.is_empty()
                        && l.len() <= 3
                        && l.bytes().all(|b| b.is_ascii_digit())
                        && !(l.len() > 1 && l.starts_with('0'))
                        && l.parse::<u16>().is_ok_and(|n| n <= 255)
                });
            if wildcard_host {
                a.findings
                    .push(malformed_wildcard(hspan.clone(), &scheme, supplied));
                return a;
            }
            if !canonical_v4 {
                a.findings.push(
                    Finding::error(
                        "GL0211",
                        hspan.clone(),
                        "IPv4 address not in dotted-decimal form",
                    )
                    .label("browsers send IPv4 hosts as four decimal numbers")
                    .help(
                        "write the address like `127.0.0.1` (no leading zeros, no hex, four parts)",
                    ),
                );
                return a;
            }
        } else {
            let bad = host.len() > 253
                || labels.iter().any(|l| {
                    l.is_empty()
                        || l.len() > 63
                        || !l.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                        })
                });
            if bad {
                a.findings.push(
                    Finding::error("GL0217", hspan.clone(), format!("invalid host `{host_raw}`"))
                        .label("hosts are dot-separated labels of letters, digits and `-`, each 1 to 63 long")
                        .help("write a host such as `app.example.com`"),
                );
                return a;
            }
        }
    }
    if let Some((first, rest)) = upper_spans.split_first() {
        let mut d = Finding::error("GL0206", first.clone(), "uppercase in an origin")
            .label("browsers send scheme and host in lowercase")
            .note("the runtime compares origins byte-exactly, so this entry would never match");
        for s in rest {
            d = d.secondary(s.clone(), "and here");
        }
        a.findings.push(d);
    }
    if let Some(d) = tail_diag {
        a.findings.push(d);
    }
    let mut canonical = format!("{scheme}://");
    if wildcard_host {
        canonical.push_str("*.");
    }
    canonical.push_str(&host);
    if let Some(p) = &port_text {
        canonical.push(':');
        canonical.push_str(p);
    }
    let origin = Origin {
        canonical: canonical.clone(),
        scheme,
        host,
        wildcard_host,
        any_port,
        port,
        null: false,
    };
    if a.findings.is_empty() {
        a.origin = Some(origin);
    } else if fixable_only {
        let help = format!("write \"{canonical}\"");
        for d in &mut a.findings {
            if d.help.is_none() {
                d.help = Some(help.clone());
            }
            d.fix = Some(canonical.clone());
        }
    }
    a
}

fn malformed_wildcard(range: Range<usize>, scheme: &str, supplied: bool) -> Finding {
    let d = Finding::error("GL0210", range, "malformed wildcard")
        .label("`*` may only stand for whole leading labels, as in `*.example.com`");
    if supplied {
        d.help(format!(
            "write \"{scheme}://*.example.com\" (one or more labels under example.com) or \"{scheme}://host:*\" (any port), where the set allows patterns"
        ))
    } else {
        d.help(format!(
            "write \"{scheme}://*.example.com\" (one or more labels under example.com) or \"{scheme}://host:*\" (any port); `*` alone allows every origin"
        ))
    }
}

/// Whether `host` is itself a public suffix (`com`, `co.uk`, `github.io`), per the public
/// suffix list (ICANN and private sections).
pub fn is_public_suffix(host: &str) -> bool {
    if host.starts_with('[') {
        return false;
    }
    match psl::suffix(host.as_bytes()) {
        Some(s) => s.is_known() && s.as_bytes() == host.as_bytes(),
        None => false,
    }
}

/// The registrable domain of `host` (`example.co.uk` for `a.b.example.co.uk`), per the public
/// suffix list; `None` for an IP address or a host that is itself a public suffix.
pub fn registrable_domain(host: &str) -> Option<&str> {
    if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
        return None;
    }
    let d = psl::domain(host.as_bytes())?;
    let len = d.as_bytes().len();
    host.get(host.len().checked_sub(len)?..)
}

/// A host name's ASCII form (IDNA: `café.example` is `xn--caf-dma.example`), as browsers send
/// it in `Host` and `Origin`; `None` when it has none.
pub fn host_to_ascii(host: &str) -> Option<String> {
    idna::domain_to_ascii(host).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(raw: &str) -> Vec<&'static str> {
        analyze(raw).findings.iter().map(|d| d.code).collect()
    }

    fn fixed(raw: &str) -> Option<String> {
        analyze(raw).findings.first().and_then(|d| d.fix.clone())
    }

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        assert_eq!(
            registrable_domain("a.b.example.co.uk"),
            Some("example.co.uk")
        );
        assert_eq!(registrable_domain("example.com"), Some("example.com"));
        assert_eq!(registrable_domain("co.uk"), None);
        assert_eq!(registrable_domain("192.0.2.1"), None);
        assert_eq!(
            host_to_ascii("café.example").as_deref(),
            Some("xn--caf-dma.example")
        );
    }

    #[test]
    fn canonical_origins_pass() {
        for o in [
            "https://app.example.com",
            "https://admin.example.com:8443",
            "https://*.preview.example.com",
            "http://localhost:3000",
            "http://localhost:*",
            "https://*.example.com:*",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
            "chrome-extension://abcdef",
            "https://xn--rsum-bpad.example",
        ] {
            let a = analyze(o);
            assert!(a.findings.is_empty(), "{o}: {:?}", a.findings);
            assert_eq!(a.origin.unwrap().canonical, o);
        }
    }

    #[test]
    fn findings_and_fixes() {
        assert_eq!(codes("wss://app.example.com"), ["GL0201"]);
        assert_eq!(codes("ws://localhost:3000"), ["GL0201"]);
        assert_eq!(codes("ftp://files.example.com"), ["GL0201"]);
        assert_eq!(fixed("wss://app.example.com"), None);
        assert_eq!(codes("https://app.example.com/"), ["GL0204"]);
        assert_eq!(
            fixed("https://app.example.com/"),
            Some("https://app.example.com".into())
        );
        assert_eq!(codes("https://App.Example.com"), ["GL0206"]);
        assert_eq!(
            fixed("HTTPS://App.example.com:443/x"),
            Some("https://app.example.com".into())
        );
        assert_eq!(codes("https://user@app.example.com"), ["GL0205"]);
        assert_eq!(codes("https://app.example.com:443"), ["GL0208"]);
        assert_eq!(codes("https://app.example.com:0"), ["GL0209"]);
        assert_eq!(codes("https://app.example.com:65536"), ["GL0209"]);
        assert_eq!(codes("https://app.example.com:08080"), ["GL0209"]);
        assert_eq!(codes("https://*"), ["GL0210"]);
        assert_eq!(codes("https://a.*.example.com"), ["GL0210"]);
        assert_eq!(codes("https://*example.com"), ["GL0210"]);
        assert_eq!(codes("https://*.*.example.com"), ["GL0210"]);
        assert_eq!(codes("*.example.com"), ["GL0201"]);
        assert_eq!(codes("https://résumé.example"), ["GL0207"]);
        assert_eq!(
            fixed("https://résumé.example"),
            Some("https://xn--rsum-bpad.example".into())
        );
        assert_eq!(codes("http://[0:0:0:0:0:0:0:1]"), ["GL0211"]);
        assert_eq!(
            fixed("http://[0:0:0:0:0:0:0:1]"),
            Some("http://[::1]".into())
        );
        assert_eq!(codes("http://0x7f000001"), ["GL0211"]);
        assert_eq!(codes("http://127.1"), ["GL0211"]);
        assert_eq!(codes("file:///etc/passwd"), ["GL0203"]);
        assert_eq!(codes("null"), ["GL0202"]);
        assert_eq!(codes("https://exa mple.com"), ["GL0217"]);
    }

    #[test]
    fn ranges_are_within_the_text() {
        let raw = "HTTPS://App.example.com:443/x";
        let a = analyze(raw);
        let by_code = |c: &str| a.findings.iter().find(|d| d.code == c).unwrap();
        // The scheme, with the host as a secondary location.
        let upper = by_code("GL0206");
        assert_eq!(raw.get(upper.range.clone()), Some("HTTPS"));
        assert_eq!(upper.secondary.len(), 1);
        assert_eq!(
            raw.get(upper.secondary[0].0.clone()),
            Some("App.example.com")
        );
        assert_eq!(raw.get(by_code("GL0208").range.clone()), Some(":443"));
        assert_eq!(raw.get(by_code("GL0204").range.clone()), Some("/x"));
        // Every finding of a fixable entry carries the one fix; `help` says it.
        assert!(a
            .findings
            .iter()
            .all(|d| d.fix.as_deref() == Some("https://app.example.com")));
        assert_eq!(
            by_code("GL0208").help.as_deref(),
            Some("write \"https://app.example.com\"")
        );
        // An entry that is not an origin at all is located as a whole.
        assert_eq!(analyze("example.com").findings[0].range, 0..11);
        assert_eq!(analyze("").findings[0].range, 0..0);
    }

    #[test]
    fn unfixable_entries_have_no_fix_and_no_origin() {
        for raw in [
            "https://app.example.com:99999",
            "https://app.example.com:x1",
            "https://*x.com",
        ] {
            let a = analyze(raw);
            assert!(a.origin.is_none(), "{raw}");
            assert!(a.findings.iter().all(|d| d.fix.is_none()), "{raw}");
        }
    }

    #[test]
    fn ipv6_form() {
        let c = |s: &str| ipv6_canonical(s.parse().unwrap());
        assert_eq!(c("0:0:0:0:0:0:0:1"), "::1");
        assert_eq!(c("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(c("::ffff:1.2.3.4"), "::ffff:102:304");
        assert_eq!(c("2001:db8::"), "2001:db8::");
        assert_eq!(c("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
    }

    #[test]
    fn public_suffixes() {
        assert!(is_public_suffix("com"));
        assert!(is_public_suffix("co.uk"));
        assert!(is_public_suffix("github.io"));
        assert!(!is_public_suffix("example.com"));
        assert!(!is_public_suffix("preview.example.com"));
        assert!(!is_public_suffix("[::1]"));
    }
}
