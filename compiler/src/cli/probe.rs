//! `guestlist probe`: sends the plan of [`crate::probe`] to a running deployment over
//! HTTP/1.1 (rustls for https: the webpki roots plus `--ca-file`; a certificate error is an
//! error), one request per connection, at most `--rate` a second, to the target's address (or
//! the one `--resolve` pins) only; reads each answer's head, never follows a redirect, closes a
//! WebSocket handshake's connection once its head is read; then prints the mismatches.
//!
//! Exit codes: 0 nothing looser than the policy; 1 something looser; 2 usage, policy or
//! connection errors (an unreachable target is an error, never a pass).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio_rustls::rustls;

use crate::ir::DEFAULT_PROFILE;
use crate::probe::{self, Got, Mismatch, Plan, PlanOptions, Probe, Severity};

/// Output formats.
#[derive(Debug, Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub(super) enum ProbeFormat {
    /// A table per route.
    Text,
    /// `{"target", "requests", "truncated", "mismatches": [...]}`.
    Json,
    /// A Markdown table per route (a CI job summary).
    Markdown,
}

/// `guestlist probe` arguments.
#[derive(Debug, clap::Args)]
pub(super) struct ProbeArgs {
    /// Policy files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The deployment: `https://staging.example.com` (`http://` too), no path.
    #[arg(long)]
    target: String,
    /// Profile.
    #[arg(long, default_value = DEFAULT_PROFILE)]
    profile: String,
    /// Supplies the set `NAME` (declared `origins NAME provided`) from FILE (`ORIGIN [KEY]`
    /// lines), the deployment's entries; repeat for more sets.
    #[arg(long = "origins", value_name = "NAME=FILE")]
    origins: Vec<String>,
    /// A concrete path to probe, replacing the path generated for the routes whose pattern
    /// covers it (`/api/*` is probed at `/api/guestlist-probe` otherwise); repeat for more.
    #[arg(long = "path", value_name = "PATH")]
    paths: Vec<String>,
    /// Connect to IP for HOST (as curl's `--resolve`, port optional: `HOST[:PORT]:IP`): the
    /// target's host, or a host block's host, which is otherwise sent to the target's address
    /// in `Host`.
    #[arg(long, value_name = "HOST:IP")]
    resolve: Vec<String>,
    /// A header added to every request, `Name: value` (credentials for routes that answer
    /// 401 first); its value is not printed. Repeat for more.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: ProbeFormat,
    /// At most this many requests; a larger plan sends refusals and look-alike origins first
    /// and reports `truncated`.
    #[arg(long, default_value_t = 300)]
    max_requests: usize,
    /// At most this many requests a second (1 to 1000).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    rate: u32,
    /// Seconds to wait for a connection or an answer.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// PEM certificates trusted besides the webpki roots (a staging CA, a self-signed
    /// certificate).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Also send cross-site POSTs for the csrf checks. They reach the application when a
    /// check is missing and may change state there: use against staging.
    #[arg(long)]
    unsafe_methods: bool,
}

/// The long help: what probing may leave behind.
pub(super) const ABOUT: &str = "Probe a running deployment: send it the requests a browser and an attacker would (allowed and look-alike origins, preflights, path forms, WebSocket handshakes) and compare each answer with the policy's decision. Exit 0 when nothing is looser than the policy, 1 when something is, 2 on usage, policy or connection errors.\n\nEvery request carries a unique `?guestlist-probe=N` query and `Cache-Control: no-cache`, yet a shared cache (a CDN) may still store an answer given to a look-alike origin: probe a staging deployment, or one whose cache keys on the query. POSTs are sent only with --unsafe-methods: they may change state on the target.";

/// The target URL, split.
#[derive(Debug, Clone)]
struct Target {
    tls: bool,
    /// Its host (an IPv6 address without brackets).
    host: String,
    port: u16,
    /// `Host` of top-level routes: the host, with the port unless it is the scheme's default.
    authority: String,
}

fn parse_target(url: &str) -> Result<Target, String> {
    let bad = |why: &str| format!("--target {url:?}: {why}");
    let uri: http::Uri = url
        .parse()
        .map_err(|_| bad("not a URL (write https://HOST[:PORT])"))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(bad("the scheme must be http or https")),
    };
    let authority = uri.authority().ok_or_else(|| bad("no host"))?;
    if authority.as_str().contains('@') {
        return Err(bad("credentials in the URL are not sent; use -H"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(bad("no path or query (give paths with --path)"));
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let default = if tls { 443 } else { 80 };
    let port = authority.port_u16().unwrap_or(default);
    let shown = authority.host().to_ascii_lowercase();
    Ok(Target {
        tls,
        host: host.to_ascii_lowercase(),
        port,
        authority: if port == default {
            shown
        } else {
            format!("{shown}:{port}")
        },
    })
}

/// One `--resolve HOST[:PORT]:IP`: the host (lowercase), the port it applies to (any, when
/// not given) and the address.
fn parse_resolve(s: &str) -> Result<Pin, String> {
    let bad = || format!("--resolve {s:?}: write HOST:IP (or HOST:PORT:IP)");
    let (host, rest) = s.split_once(':').ok_or_else(bad)?;
    let (port, ip) = match rest
        .split_once(':')
        .filter(|(port, _)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
    {
        Some((port, ip)) => (
            Some(
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(bad)?,
            ),
            ip,
        ),
        None => (None, rest),
    };
    let ip: IpAddr = ip
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Pin {
        host: host.to_ascii_lowercase(),
        port,
        ip,
    })
}

/// An address `--resolve` pins for a host (and port).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pin {
    host: String,
    port: Option<u16>,
    ip: IpAddr,
}

impl Pin {
    /// The address for a request to `host` whose `Host` names `port` (else the target's,
    /// `target_port`), if this pin applies to it: as curl's `--resolve`, a pin with a port
    /// applies to that port only, and is connected to on it; one without, on the target's.
    fn address(&self, host: &str, port: Option<u16>, target_port: u16) -> Option<SocketAddr> {
        let port = port.unwrap_or(target_port);
        (self.host == host && self.port.is_none_or(|p| p == port))
            .then(|| SocketAddr::new(self.ip, self.port.unwrap_or(target_port)))
    }
}

fn parse_header(h: &str) -> Result<(String, String), String> {
    let Some((n, v)) = h.split_once(':') else {
        return Err(format!("header `{h}` is not `Name: value`"));
    };
    let n = n.trim();
    if !guestlist::is_token(n.as_bytes()) {
        return Err(format!("`{n}` is not a header name"));
    }
    Ok((n.to_string(), v.trim_matches([' ', '\t']).to_string()))
}

/// Sends requests to the target (or the addresses `--resolve` pins).
struct Client {
    target: Target,
    addrs: Vec<SocketAddr>,
    resolve: Vec<Pin>,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
}

fn tls_config(ca_file: Option<&PathBuf>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
        let mut n = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("--ca-file {}: {e}", path.display()))?;
            n += 1;
        }
        if n == 0 {
            return Err(format!("--ca-file {}: no PEM certificate", path.display()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The host part of a `Host` value.
fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// The port a `Host` value names, if any.
fn port_of(authority: &str) -> Option<u16> {
    let rest = match authority.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |x| x.1),
        None => authority,
    };
    rest.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// The longest answer head read.
const HEAD_LIMIT: usize = 64 * 1024;

impl Client {
    /// Where the request with `Host: authority` goes, and the name its certificate must hold.
    fn route(&self, authority: &str) -> (Vec<SocketAddr>, String) {
        let host = host_of(authority).to_ascii_lowercase();
        // The request goes to the target's port; a `Host` naming a port is pinned by a
        // `--resolve` for that port only.
        let port = port_of(authority);
        match self
            .resolve
            .iter()
            .find_map(|p| p.address(&host, port, self.target.port))
        {
            Some(a) => (vec![a], host),
            None => (self.addrs.clone(), self.target.host.clone()),
        }
    }

    fn send(&self, p: &Probe) -> Result<Got, String> {
        let authority = p
            .header("host")
            .unwrap_or(&self.target.authority)
            .to_string();
        let (addrs, name) = self.route(&authority);
        let mut last = None;
        let mut tcp = None;
        for a in &addrs {
            match TcpStream::connect_timeout(a, self.timeout) {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = Some(format!("{a}: {e}")),
            }
        }
        let tcp = tcp.ok_or_else(|| last.unwrap_or_else(|| "no address".to_string()))?;
        tcp.set_read_timeout(Some(self.timeout))
            .and_then(|()| tcp.set_write_timeout(Some(self.timeout)))
            .map_err(|e| e.to_string())?;
        let mut req = format!("{} {} HTTP/1.1\r\n", p.method, p.target());
        for (n, v) in &p.headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("User-Agent: guestlist-probe\r\n");
        if !p.is_websocket() {
            req.push_str("Connection: close\r\n");
        }
        req.push_str("\r\n");
        let head = match &self.tls {
            Some(config) => {
                let server = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| format!("{name}: {e}"))?;
                let conn = rustls::ClientConnection::new(config.clone(), server)
                    .map_err(|e| e.to_string())?;
                let mut s = rustls::StreamOwned::new(conn, tcp);
                exchange(&mut s, req.as_bytes())?
            }
            None => {
                let mut s = tcp;
                exchange(&mut s, req.as_bytes())?
            }
        };
        parse_head(&head)
    }
}

/// Writes the request, reads the answer's head (up to the blank line); the connection closes
/// when the stream is dropped.
fn exchange(s: &mut impl ReadWrite, req: &[u8]) -> Result<Vec<u8>, String> {
    s.write_all(req).and_then(|()| s.flush()).map_err(io_text)?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).map_err(io_text)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(end);
            return Ok(head);
        }
        if head.len() > HEAD_LIMIT {
            return Err(format!("an answer head over {HEAD_LIMIT} bytes"));
        }
    }
    if head.is_empty() {
        return Err("the connection closed without an answer".into());
    }
    Ok(head)
}

fn io_text(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn parse_head(head: &[u8]) -> Result<Got, String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP/1 answer: {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Ok(Got { status, headers })
}

/// `guestlist probe`.
pub(super) fn run(a: ProbeArgs, out: &mut dyn Write, err: &mut dyn Write) -> super::CliResult {
    let target = parse_target(&a.target)?;
    let resolve = a
        .resolve
        .iter()
        .map(|r| parse_resolve(r))
        .collect::<Result<Vec<_>, _>>()?;
    let extra = a
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>, _>>()?;
    if a.max_requests == 0 {
        return Err(
            "--max-requests: give at least 1 (a probe that sends nothing checks nothing)".into(),
        );
    }
    if !(a.timeout > 0.0 && a.timeout <= 3600.0) {
        return Err("--timeout: give seconds between 0 and 3600".into());
    }
    for p in &a.paths {
        if !p.starts_with('/') {
            return Err(format!("--path {p:?}: a path starts with `/`").into());
        }
    }
    let c = super::load_supplied(&a.files, &a.origins)?;
    if c.has_errors() {
        err.write_all(c.render().as_bytes())?;
        writeln!(err, "not probing: the policy has errors")?;
        return Ok(2);
    }
    let lowered = c.lower(&a.profile)?;
    let diags = probe::warnings(&c, &lowered, a.unsafe_methods);
    if !diags.is_empty() {
        err.write_all(crate::diag::render::render(c.sources(), &diags).as_bytes())?;
    }
    let plan = probe::plan(
        &lowered,
        &PlanOptions {
            host: target.authority.clone(),
            paths: a.paths.clone(),
            extra_headers: extra.clone(),
            unsafe_methods: a.unsafe_methods,
            max_requests: a.max_requests,
            supplied: c
                .supplied
                .iter()
                .map(|(name, _, entries)| {
                    (
                        name.clone(),
                        entries.iter().map(|(e, _)| e.origin.clone()).collect(),
                    )
                })
                .collect(),
        },
    )?;
    let addrs: Vec<SocketAddr> = match resolve
        .iter()
        .find_map(|p| p.address(&target.host, None, target.port))
    {
        Some(a) => vec![a],
        None => (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {}: {e}", target.host))?
            .collect(),
    };
    let client = Client {
        tls: if target.tls {
            Some(tls_config(a.ca_file.as_ref())?)
        } else {
            None
        },
        target,
        addrs,
        resolve,
        timeout: Duration::from_secs_f64(a.timeout),
    };
    let mut pacer = probe::plan::Pacer::new(a.rate);
    let mut answers = Vec::with_capacity(plan.probes.len());
    for p in &plan.probes {
        std::thread::sleep(pacer.wait(Instant::now()));
        pacer.sent(Instant::now());
        let got = client.send(p).map_err(|e| {
            format!(
                "cannot probe {}: {} {}: {e}",
                a.target,
                p.method,
                p.target()
            )
        })?;
        answers.push(got);
    }
    let mut mismatches = Vec::new();
    for (i, (p, got)) in plan.probes.iter().zip(&answers).enumerate() {
        mismatches.extend(probe::compare(&lowered, i, p, got));
        if let Some(j) = p.pair.filter(|j| *j > i) {
            if let Some(other) = answers.get(j) {
                mismatches.extend(probe::compare_nonces(i, p, got, other));
            }
        }
    }
    let report = Report {
        target: &a.target,
        plan: &plan,
        answers: &answers,
        mismatches: &mismatches,
        secret: extra.iter().map(|(n, _)| n.to_ascii_lowercase()).collect(),
    };
    match a.format {
        ProbeFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &report.json())?;
            writeln!(out)?;
        }
        ProbeFormat::Text => out.write_all(report.tables(false).as_bytes())?,
        ProbeFormat::Markdown => out.write_all(report.tables(true).as_bytes())?,
    }
    Ok(i32::from(
        mismatches.iter().any(|m| m.severity == Severity::Looser),
    ))
}

/// What was sent, what came back, what differs.
struct Report<'a> {
    target: &'a str,
    plan: &'a Plan,
    answers: &'a [Got],
    mismatches: &'a [Mismatch],
    /// The `-H` names (lowercase): their values are not printed.
    secret: Vec<String>,
}

/// The headers worth showing of an answer: the policy's and a redirect's.
fn shown_headers(p: &Probe, headers: &[(String, String)]) -> Map<String, Value> {
    let mut m = Map::new();
    for (n, v) in headers {
        let n = n.to_ascii_lowercase();
        let policy = n.starts_with("access-control-")
            || n.starts_with("content-security-policy")
            || matches!(n.as_str(), "vary" | "location" | "guestlist-reason")
            || p.expected.headers.iter().any(|(e, _)| *e == n)
            || p.expected.removed.contains(&n);
        if !policy {
            continue;
        }
        let value = match m.get(&n) {
            Some(Value::String(prev)) => format!("{prev}, {v}"),
            _ => v.clone(),
        };
        m.insert(n, Value::String(value));
    }
    m
}

impl Report<'_> {
    fn request_headers(&self, p: &Probe) -> Map<String, Value> {
        p.headers
            .iter()
            .map(|(n, v)| {
                let v = if self.secret.contains(&n.to_ascii_lowercase()) {
                    "(from -H, not shown)".to_string()
                } else {
                    v.clone()
                };
                (n.clone(), Value::String(v))
            })
            .collect()
    }

    fn json(&self) -> Value {
        let mismatches: Vec<Value> = self
            .mismatches
            .iter()
            .filter_map(|m| {
                let p = self.plan.probes.get(m.probe)?;
                let got = self.answers.get(m.probe)?;
                Some(json!({
                    "severity": m.severity.as_str(),
                    "path": p.path,
                    "request": {
                        "method": p.method,
                        "path": p.target(),
                        "headers": self.request_headers(p),
                    },
                    "expected": {
                        "status": p.expected.status,
                        "headers": shown_headers(p, &p.expected.headers),
                    },
                    "got": {
                        "status": got.status,
                        "headers": shown_headers(p, &got.headers),
                    },
                    "message": m.message,
                }))
            })
            .collect();
        json!({
            "target": self.target,
            "requests": self.answers.len(),
            "truncated": self.plan.truncated,
            "mismatches": mismatches,
        })
    }

    fn tables(&self, markdown: bool) -> String {
        let count = |s| self.mismatches.iter().filter(|m| m.severity == s).count();
        let mut out = String::new();
        let summary = format!(
            "{} requests to {}{}: {} looser, {} stricter, {} unmanaged",
            self.answers.len(),
            self.target,
            if self.plan.truncated {
                " (truncated at --max-requests)"
            } else {
                ""
            },
            count(Severity::Looser),
            count(Severity::Stricter),
            count(Severity::Unmanaged),
        );
        if markdown {
            out.push_str(&format!("## guestlist probe\n\n{summary}\n"));
        } else {
            out.push_str(&format!("{summary}\n"));
        }
        let mut routes: Vec<&str> = Vec::new();
        for p in &self.plan.probes {
            if !routes.contains(&p.route.as_str()) {
                routes.push(&p.route);
            }
        }
        for route in routes {
            let sent = self.plan.probes.iter().filter(|p| p.route == route).count();
            let rows: Vec<[String; 5]> = self
                .mismatches
                .iter()
                .filter_map(|m| {
                    let p = self.plan.probes.get(m.probe)?;
                    let got = self.answers.get(m.probe)?;
                    (p.route == route).then(|| {
                        let origin = p
                            .header("origin")
                            .map(|o| format!(" (Origin: {o})"))
                            .unwrap_or_default();
                        [
                            m.severity.as_str().to_string(),
                            format!("{} {}{origin}", p.method, p.target()),
                            p.expected
                                .status
                                .map_or_else(|| "application".to_string(), |s| s.to_string()),
                            got.status.to_string(),
                            m.message
                                .split_once(": ")
                                .map_or(m.message.as_str(), |(_, rest)| rest)
                                .to_string(),
                        ]
                    })
                })
                .collect();
            let head = format!("route {route}: {sent} requests, {} mismatches", rows.len());
            if markdown {
                out.push_str(&format!("\n### {}\n\n", head.replace('|', "\\|")));
                if rows.is_empty() {
                    continue;
                }
                out.push_str("| Severity | Request | Expected | Got | Difference |\n");
                out.push_str("|---|---|---|---|---|\n");
                for r in &rows {
                    let cells: Vec<String> = r
                        .iter()
                        .map(|c| format!("`{}`", c.replace('|', "\\|").replace('`', "'")))
                        .collect();
                    out.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
            } else {
                out.push_str(&format!("\n{head}\n"));
                if rows.is_empty() {
                    continue;
                }
                let titles = ["severity", "request", "expected", "got", "difference"];
                let mut widths = titles.map(str::len);
                for r in &rows {
                    for (w, c) in widths.iter_mut().zip(r) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                let line = |cells: [&str; 5]| {
                    let mut l = String::from(" ");
                    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                        if i == 4 {
                            l.push_str(&format!(" {c}"));
                        } else {
                            l.push_str(&format!(" {c:<w$} "));
                        }
                    }
                    format!("{}\n", l.trim_end())
                };
                out.push_str(&line(titles));
                for r in &rows {
                    out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_resolves_parse() {
        let t = parse_target("https://Staging.Example.com").unwrap();
        assert!(t.tls && t.port == 443 && t.authority == "staging.example.com");
        let t = parse_target("http://127.0.0.1:8080/").unwrap();
        assert_eq!((t.port, t.authority.as_str()), (8080, "127.0.0.1:8080"));
        assert!(parse_target("https://x.example/app").is_err());
        assert!(parse_target("ftp://x.example").is_err());
        assert!(parse_target("https://u:p@x.example").is_err());
        let any = parse_resolve("A.example:127.0.0.1").unwrap();
        assert_eq!(
            any,
            Pin {
                host: "a.example".into(),
                port: None,
                ip: "127.0.0.1".parse().unwrap()
            }
        );
        let v6 = parse_resolve("a.example:443:[::1]").unwrap();
        assert_eq!(
            (v6.port, v6.ip),
            (Some(443), "::1".parse::<IpAddr>().unwrap())
        );
        assert!(parse_resolve("a.example").is_err());
        assert!(parse_resolve("a.example:0:127.0.0.1").is_err());
        assert!(parse_resolve("a.example:65536:127.0.0.1").is_err());
        // A pin without a port applies to every port and connects on the target's; one with
        // a port, to that port only.
        let at = |p: &Pin, host, port| p.address(host, port, 8443).map(|a| a.port());
        assert_eq!(at(&any, "a.example", None), Some(8443));
        assert_eq!(at(&any, "a.example", Some(9000)), Some(8443));
        assert_eq!(at(&any, "b.example", None), None);
        assert_eq!(at(&v6, "a.example", Some(443)), Some(443));
        assert_eq!(at(&v6, "a.example", None), None);
        assert_eq!(port_of("[::1]:8080"), Some(8080));
        assert_eq!(port_of("[::1]"), None);
        assert_eq!(port_of("a.example"), None);
        assert_eq!(host_of("[::1]:8080"), "::1");
        assert_eq!(host_of("a.example:8080"), "a.example");
    }

    #[test]
    fn heads_parse() {
        let g = parse_head(b"HTTP/1.1 204 No Content\r\nVary: Origin\r\nX-A: 1").unwrap();
        assert_eq!(g.status, 204);
        assert_eq!(
            g.headers,
            vec![("vary".into(), "Origin".into()), ("x-a".into(), "1".into())]
        );
        assert!(parse_head(b"SSH-2.0-OpenSSH").is_err());
    }
}
