//! The Caddy emitter against a real Caddy 2.6 on 127.0.0.1: `caddy validate` on the emitted
//! snippet of every valid policy in `examples/` and `spec/`, hand-written requests (CORS,
//! guards, the CSP nonce, a supplied set swapped by `caddy reload`), and a differential test
//! that sends thousands of seeded requests and compares status and headers with the runtime.
//!
//! Caddy must be installed (`scripts/test.sh` installs it with apt-get). Without it the tests
//! fail when `CI=true`, and say loudly that they skipped otherwise.
#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use guestlist_compiler::emit::caddy;
use guestlist_compiler::emit::Loss;
use guestlist_compiler::Compilation;

mod support;
use support::differential::{self, Edge, Group, Sent};
use support::{require_tool, root, send, send_raw, tempdir, wait_for};

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The environment Caddy runs with: its home, data and config under the test's directory.
fn caddy_command(bin: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::null());
    cmd
}

/// Emits `c` (profile) into `dir/out`, with the upstream include `dir/upstream.caddy`.
fn emit_into(c: &Compilation, profile: &str, dir: &Path, accepted: &[Loss]) -> Vec<PathBuf> {
    let lowered = c.lower(profile).unwrap();
    let out = dir.join("out");
    let opts = caddy::Options {
        include_root: out.to_string_lossy().into_owned(),
        upstream_include: Some(dir.join("upstream.caddy").to_string_lossy().into_owned()),
        generated_by: "guestlist test harness".into(),
        accepted: accepted.to_vec(),
    };
    let files = caddy::emit(c, &lowered, &opts).unwrap();
    caddy::write(&out, &files).unwrap()
}

/// Writes `dir/Caddyfile`: the guestlist site on `port` (any Host), its upstream on
/// `backend` answering 200 with `X-App: yes`, its own `Access-Control-Allow-Origin: *`, CSP
/// and `X-Frame-Options`, and the nonce it received in its body; admin on `admin`.
fn write_caddyfile(dir: &Path, port: u16, backend: u16, admin: u16, up: Up) -> PathBuf {
    let upstream = match up {
        Up::Proxied => format!("reverse_proxy 127.0.0.1:{backend}\n"),
        Up::Echo(a) => format!("reverse_proxy {a}\n"),
        // Answered in place: 200, `X-App: yes`, no header a policy sets.
        Up::InPlace => "header X-App yes\nrespond \"app\" 200\n".to_string(),
    };
    std::fs::write(dir.join("upstream.caddy"), upstream).unwrap();
    let d = dir.to_string_lossy();
    let conf = format!(
        "{{\n\tadmin 127.0.0.1:{admin}\n\tauto_https off\n\tstorage file_system {d}/data\n}}\n\
         http://:{port} {{\n\tbind 127.0.0.1\n\timport {d}/out/guestlist.caddy\n}}\n\
         http://:{backend} {{\n\tbind 127.0.0.1\n\theader {{\n\t\tX-App yes\n\t\tAccess-Control-Allow-Origin \"*\"\n\t\tContent-Security-Policy \"default-src *\"\n\t\tX-Frame-Options ALLOWALL\n\t}}\n\trespond \"nonce={{http.request.header.Guestlist-Csp-Nonce}}\" 200\n}}\n"
    );
    let p = dir.join("Caddyfile");
    std::fs::write(&p, conf).unwrap();
    p
}

/// Where the snippet's upstream include sends a request the policy passes on.
#[derive(Clone, Copy)]
enum Up {
    /// Answered in place (`respond`).
    InPlace,
    /// `reverse_proxy` to the Caddyfile's own backend site.
    Proxied,
    /// `reverse_proxy` to an echo upstream (support::echo_upstream).
    Echo(SocketAddr),
}

/// `caddy validate` on a Caddyfile; panics with Caddy's output when it is refused.
fn validate(bin: &Path, dir: &Path, conf: &Path) {
    let out = caddy_command(bin, dir)
        .args(["validate", "--adapter", "caddyfile", "--config"])
        .arg(conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "caddy validate refused {}:\n{}\n{}",
        conf.display(),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("out/guestlist.caddy")).unwrap_or_default()
    );
}

/// A running Caddy, stopped (killed) on drop.
struct Caddy {
    child: Child,
    addr: SocketAddr,
    admin: u16,
    dir: PathBuf,
    conf: PathBuf,
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Caddy {
    /// Emits `c` (profile) into `dir` and starts Caddy on it.
    fn start(
        bin: &Path,
        c: &Compilation,
        profile: &str,
        dir: &Path,
        accepted: &[Loss],
        up: Up,
    ) -> Caddy {
        emit_into(c, profile, dir, accepted);
        let (port, backend, admin) = (free_port(), free_port(), free_port());
        let conf = write_caddyfile(dir, port, backend, admin, up);
        validate(bin, dir, &conf);
        let log = std::fs::File::create(dir.join("caddy.log")).unwrap();
        let child = caddy_command(bin, dir)
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&conf)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_for(addr);
        wait_for(format!("127.0.0.1:{backend}").parse().unwrap());
        Caddy {
            child,
            addr,
            admin,
            dir: dir.to_path_buf(),
            conf,
        }
    }

    /// `caddy reload` of the same Caddyfile (the files it imports re-read).
    fn reload(&self, bin: &Path) {
        let out = caddy_command(bin, &self.dir)
            .args(["reload", "--adapter", "caddyfile", "--address"])
            .arg(format!("127.0.0.1:{}", self.admin))
            .arg("--config")
            .arg(&self.conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "caddy reload: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn policies() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "examples/policies",
        "spec/policies",
        "spec/diagnostics/cases",
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "policy") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn caddy_validates_every_emitted_policy() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let mut checked = 0;
    let mut refused = Vec::new();
    for f in &policies() {
        let c = Compilation::load(&[f]).unwrap();
        if c.has_errors() {
            continue;
        }
        for profile in c.profiles() {
            let lowered = c.lower(&profile).unwrap();
            let mut errors = caddy::errors(&c, &lowered);
            errors.extend(guestlist_compiler::emit::loss_errors(
                &c,
                &lowered,
                guestlist_compiler::emit::Engine::Caddy,
                &[],
            ));
            let opts = caddy::Options {
                include_root: "/x".into(),
                upstream_include: None,
                generated_by: "test".into(),
                accepted: Vec::new(),
            };
            let emitted = caddy::emit(&c, &lowered, &opts);
            let mut accepted = Vec::new();
            if let Some(e) = errors.first() {
                // Every refusal is a diagnostic at a policy line.
                assert!(emitted.is_err(), "{}: {e:?}", f.display());
                assert!(c.sources().location(e.span).1 > 0, "{}: {e:?}", f.display());
                refused.push(format!("{} {} ({profile})", e.code, f.display()));
                // What `--accept-loss` accepts is emitted and checked too.
                if !errors
                    .iter()
                    .all(|e| e.code == "GL1201" || e.code == "GL1202")
                {
                    continue;
                }
                accepted = Loss::ALL.to_vec();
            }
            let emitted = if accepted.is_empty() {
                emitted
            } else {
                caddy::emit(
                    &c,
                    &lowered,
                    &caddy::Options {
                        accepted: accepted.clone(),
                        ..opts
                    },
                )
            };
            let emitted = emitted.unwrap_or_else(|e| panic!("{} ({profile}): {e}", f.display()));
            assert!(emitted.iter().all(|x| x
                .text
                .lines()
                .next()
                .unwrap()
                .contains("DO NOT EDIT, generated by")));
            let dir = tempdir(&format!(
                "caddy-v-{}-{profile}",
                f.file_stem().unwrap().to_string_lossy()
            ));
            emit_into(&c, &profile, &dir, &accepted);
            let conf = write_caddyfile(&dir, free_port(), free_port(), free_port(), Up::Proxied);
            validate(&bin, &dir, &conf);
            checked += 1;
        }
    }
    println!("caddy validate passed for {checked} policy/profile pairs; refused: {refused:?}");
    assert!(checked >= 8, "{checked}");
}

/// The headers of `hs` named `name`.
fn values<'a>(hs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    hs.iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn caddy_answers_like_the_runtime_by_hand() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let f = root().join("examples/policies/site.policy");
    let c = Compilation::load(&[&f]).unwrap();
    let lowered = c.lower("default").unwrap();
    let dir = tempdir("caddy-hand");
    let caddy = Caddy::start(&bin, &c, "default", &dir, &[], Up::Proxied);
    type Case<'a> = (&'a str, &'a str, Vec<(String, String)>);
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/api/v1/users",
            h(&[("Origin", "https://app.example.com")]),
        ),
        (
            "GET",
            "/api/v1/users",
            h(&[("Origin", "https://evil.example")]),
        ),
        (
            "OPTIONS",
            "/api/v1/users",
            h(&[
                ("Origin", "https://app.example.com"),
                ("Access-Control-Request-Method", "PUT"),
                ("Access-Control-Request-Headers", "content-type"),
            ]),
        ),
        (
            "OPTIONS",
            "/api/v1/users",
            h(&[
                ("Origin", "https://evil.example"),
                ("Access-Control-Request-Method", "PUT"),
            ]),
        ),
        (
            "POST",
            "/api/v1/users",
            h(&[
                ("Origin", "https://evil.example"),
                ("Sec-Fetch-Site", "cross-site"),
            ]),
        ),
        ("GET", "/api/../x", h(&[])),
        ("GET", "/api/%2e%2e/x", h(&[])),
        ("GET", "/a%00", h(&[])),
    ];
    for (m, p, hs) in &cases {
        let e = guestlist_compiler::explain::explain(&lowered, m, p, hs).unwrap();
        let (status, mut got) = send(caddy.addr, m, p, hs);
        // The upstream's own security headers pass where the policy sets none.
        got.retain(|(n, v)| {
            !(n == "content-security-policy" && v == "default-src *"
                || n == "x-frame-options" && v == "ALLOWALL")
                || e.headers.iter().any(|(w, _)| w == n)
        });
        let mut want = e.headers.clone();
        want.sort();
        let status_ok = match e.status {
            Some(s) => s == status,
            None => status == 200,
        };
        assert!(
            status_ok && got == want,
            "{m} {p} {hs:?}: guestlist {:?} {want:?}; caddy {status} {got:?}\n{}",
            e.status,
            std::fs::read_to_string(dir.join("out/guestlist.caddy")).unwrap()
        );
    }
    // The upstream's own Access-Control-Allow-Origin is replaced, never doubled.
    let (_, all) = send_raw(
        caddy.addr,
        "GET",
        "/api/v1/users",
        &h(&[("Origin", "https://app.example.com")]),
    );
    assert_eq!(
        values(&all, "access-control-allow-origin"),
        ["https://app.example.com"]
    );
    // A path over 8192 characters is invalid, as in the runtime; a `#` in the target (which
    // the runtime would cut, but Go passes to the upstream as part of the path) is refused too.
    let long = format!("/api/{}", "a".repeat(8200));
    let origin = h(&[("Origin", "https://app.example.com")]);
    let e = guestlist_compiler::explain::explain(&lowered, "GET", &long, &origin).unwrap();
    assert_eq!(e.status, Some(400));
    let exact = format!("/api/{}", "a".repeat(8192 - 5));
    for (path, want) in [
        (long.as_str(), 400),
        ("/public#/../api/x", 400),
        ("/api/v1?q=#", 400),
        (exact.as_str(), 200),
    ] {
        let (status, got) = send(caddy.addr, "GET", path, &origin);
        assert_eq!(status, want, "{}: {got:?}", &path[..path.len().min(40)]);
        if want == 400 {
            assert!(
                got.contains(&("guestlist-reason".to_string(), "path-invalid".to_string())),
                "{got:?}"
            );
            assert!(
                !got.iter().any(|(n, _)| n.starts_with("access-control-")),
                "{got:?}"
            );
        }
    }
}

/// Caddy as a differential-test edge: the emitted snippet, its upstream include a `reverse_proxy`
/// to the differential's upstream.
struct CaddyEdge {
    bin: PathBuf,
    server: Option<Caddy>,
}

impl Edge for CaddyEdge {
    fn name(&self) -> &'static str {
        "caddy"
    }

    fn start(
        &mut self,
        c: &Compilation,
        profile: &str,
        dir: &Path,
        upstream: SocketAddr,
    ) -> SocketAddr {
        self.server = None;
        let server = Caddy::start(&self.bin, c, profile, dir, &[], Up::Echo(upstream));
        let addr = server.addr;
        self.server = Some(server);
        addr
    }

    /// Go answers 400 itself to an invalid escape; a path whose dot segments climb above the
    /// root gets the 400 of any path with dot segments (`path-not-normal`): spec/caddy.md.
    fn own_answer(&self, sent: &Sent) -> Option<u16> {
        (sent.reason == "path-invalid").then_some(400)
    }
}

/// Runs the differential cases of `group` on Caddy: (requests, mismatches,
/// absolute-form requests refused by the runtime as host-ambiguous that Caddy decided by
/// their target, which spec/caddy.md documents).
fn run_cases(bin: &Path, group: Group) -> (usize, Vec<String>, usize) {
    let mut edge = CaddyEdge {
        bin: bin.to_path_buf(),
        server: None,
    };
    let (total, all) = differential::run_group(&mut edge, group);
    // Only absolute-form requests (`GET http://...`) the runtime refuses as host-ambiguous:
    // Go drops their `Host` line (spec/caddy.md).
    let (amb, other): (Vec<String>, Vec<String>) = all.into_iter().partition(|m| {
        m.split(' ')
            .nth(1)
            .is_some_and(|t| t.starts_with("http://"))
            && m.contains(": guestlist host-rejected Some(400)")
    });
    (total, other, amb.len())
}

#[test]
fn caddy_decides_like_the_runtime() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let (n, mismatches, _) = run_cases(&bin, Group::Paths);
    println!(
        "differential: {n} requests, {} mismatches",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
}

#[test]
fn caddy_decides_like_the_runtime_with_host_blocks() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let (n, mismatches, ambiguous) = run_cases(&bin, Group::Hosts);
    println!(
        "differential (host blocks): {n} requests, {} mismatches, {ambiguous} host-ambiguous",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    // The class set apart stays a small share of the absolute-form requests.
    assert!(ambiguous * 20 < n, "{ambiguous} of {n} set apart");
}

#[test]
fn caddy_decides_like_the_runtime_with_supplied_sets() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let (n, mismatches, ambiguous) = run_cases(&bin, Group::Supplied);
    println!(
        "differential (supplied sets): {n} requests, {} mismatches, {ambiguous} host-ambiguous",
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    // The tenants case has host blocks: the class set apart stays a small share.
    assert!(ambiguous * 20 < n, "{ambiguous} of {n} set apart");
}

/// Sends `line` with exactly `headers`; returns the status, every response header (lowercase
/// names) and the body.
fn send_line_body(
    addr: SocketAddr,
    line: &str,
    headers: &[(String, String)],
) -> (u16, Vec<(String, String)>, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{line}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let hs = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, hs, body.to_string())
}

/// The nonce of a CSP value (`'nonce-X'`).
fn nonce_of(csp: &str) -> String {
    let at = csp.find("'nonce-").unwrap() + "'nonce-".len();
    csp[at..].split('\'').next().unwrap().to_string()
}

#[test]
fn caddy_makes_one_fresh_nonce_per_response_and_passes_it_on() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let c = Compilation::load(&[root().join("examples/policies/guards.policy")]).unwrap();
    let dir = tempdir("caddy-nonce");
    let caddy = Caddy::start(&bin, &c, "default", &dir, &[Loss::CsrfToken], Up::Proxied);
    let mut seen = Vec::new();
    for forged in ["", "forged-by-the-client"] {
        let hs = if forged.is_empty() {
            Vec::new()
        } else {
            h(&[("Guestlist-Csp-Nonce", forged)])
        };
        let (status, all, body) = send_line_body(caddy.addr, "GET /page HTTP/1.1", &{
            let mut x = h(&[("Host", "localhost")]);
            x.extend(hs);
            x
        });
        assert_eq!(status, 200);
        // The upstream's own security headers are replaced: one line each, ours.
        assert_eq!(values(&all, "x-frame-options"), ["DENY"], "{all:?}");
        let csp = values(&all, "content-security-policy");
        assert_eq!(csp.len(), 1, "{all:?}");
        let nonce = nonce_of(csp[0]);
        assert!(nonce.len() >= 32, "{nonce}");
        // The upstream received exactly the nonce of the CSP, never the client's copy.
        assert_eq!(body.trim(), format!("nonce={nonce}"), "{all:?}");
        assert!(!body.contains("forged"));
        seen.push(nonce);
    }
    assert_ne!(seen[0], seen[1], "two responses share a nonce");
}

#[test]
fn a_caddy_reload_swaps_a_supplied_set() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let dir = tempdir("caddy-reload");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins partners provided\ncors api {\n    allow-origins  partners\n}\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let set = dir.join("partners.txt");
    std::fs::write(&set, "https://one.example.com\n").unwrap();
    let mut c = Compilation::load(&[&policy]).unwrap();
    c.supply("partners", &set).unwrap();
    let caddy = Caddy::start(&bin, &c, "default", &dir, &[], Up::Proxied);
    let acao = |o: &str| {
        let (_, hs) = send(caddy.addr, "GET", "/api/x", &h(&[("Origin", o)]));
        values(&hs, "access-control-allow-origin")
            .first()
            .map(|s| s.to_string())
    };
    assert_eq!(
        acao("https://one.example.com").as_deref(),
        Some("https://one.example.com")
    );
    assert_eq!(acao("https://two.example.com"), None);
    // Only the set's file is regenerated; the snippet stays byte for byte the same.
    let snippet = std::fs::read(dir.join("out/guestlist.caddy")).unwrap();
    std::fs::write(&set, "https://two.example.com\n").unwrap();
    let mut c = Compilation::load(&[&policy]).unwrap();
    c.supply("partners", &set).unwrap();
    let written = emit_into(&c, "default", &dir, &[]);
    assert!(written.iter().any(|p| p.ends_with("sets/partners.caddy")));
    assert_eq!(
        std::fs::read(dir.join("out/guestlist.caddy")).unwrap(),
        snippet
    );
    caddy.reload(&bin);
    assert_eq!(acao("https://one.example.com"), None);
    assert_eq!(
        acao("https://two.example.com").as_deref(),
        Some("https://two.example.com")
    );
}

#[test]
fn what_caddy_cannot_carry_is_a_diagnostic_at_the_policy_line() {
    // GL1220: two readings of a path with dot segments, at the `paths` line.
    let c = Compilation::from_str(
        "t.policy",
        "cors c {\n    allow-origins  \"https://app.example.com\"\n}\npaths {\n    non-normal two-readings\n}\nroute \"/api/*\" { cors c }\n",
    );
    assert!(!c.has_errors(), "{}", c.render());
    let lowered = c.lower("default").unwrap();
    let errors = caddy::errors(&c, &lowered);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "GL1220");
    assert_eq!(c.sources().location(errors[0].span).1, 5);
    let opts = caddy::Options {
        include_root: "/x".into(),
        upstream_include: None,
        generated_by: "test".into(),
        accepted: Vec::new(),
    };
    let refused = caddy::emit(&c, &lowered, &opts).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("Caddy cannot apply both readings"),
        "{refused}"
    );
    // GL1407: a set supplied at run time with no file, named for Caddy, at the set's line.
    let c = Compilation::from_str(
        "t.policy",
        "origins partners provided\ncors c {\n    allow-origins  partners\n}\nroute \"/api/*\" { cors c }\n",
    );
    let lowered = c.lower("default").unwrap();
    let warnings = caddy::warnings(&c, &lowered);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].code, "GL1407");
    assert_eq!(c.sources().location(warnings[0].span).1, 1);
    assert!(
        warnings[0].message.contains("Caddy"),
        "{}",
        warnings[0].message
    );
    // GL1202: a token csrf policy, refused unless its loss is accepted; accepted, listed in
    // the header comment. A nonce CSP is carried (no GL1201).
    let c = Compilation::load(&[root().join("examples/policies/guards.policy")]).unwrap();
    let lowered = c.lower("default").unwrap();
    let refused = caddy::emit(&c, &lowered, &opts).unwrap_err();
    assert!(
        refused.to_string().contains("Caddy cannot verify"),
        "{refused}"
    );
    let lost = guestlist_compiler::emit::loss_errors(
        &c,
        &lowered,
        guestlist_compiler::emit::Engine::Caddy,
        &[],
    );
    assert!(lost.iter().all(|d| d.code == "GL1202"), "{lost:?}");
    // At the `token` line of csrf policy `account`.
    let line = c.sources().location(lost[0].span).1;
    let text = std::fs::read_to_string(root().join("examples/policies/guards.policy")).unwrap();
    let at = text.lines().nth(line - 1).unwrap();
    assert!(at.trim_start().starts_with("token"), "{line}: {at}");
    let accepted = caddy::Options {
        accepted: vec![Loss::CsrfToken],
        ..opts
    };
    let files = caddy::emit(&c, &lowered, &accepted).unwrap();
    assert!(files[0]
        .text
        .contains("# Accepted losses (--accept-loss):\n#   csrf-token: csrf policy"));
    assert!(files[0].text.contains("{http.request.uuid}"));
}

#[test]
fn the_same_policy_gives_byte_identical_files() {
    let c =
        Compilation::load(&[root().join("compiler/tests/fixtures/hosts-nginx.policy")]).unwrap();
    let lowered = c.lower("default").unwrap();
    let opts = caddy::Options {
        include_root: "/x".into(),
        upstream_include: Some("/x/up.caddy".into()),
        generated_by: "test".into(),
        accepted: Vec::new(),
    };
    let a = caddy::emit(&c, &lowered, &opts).unwrap();
    let b = caddy::emit(&c, &c.lower("default").unwrap(), &opts).unwrap();
    assert_eq!(a, b);
}

#[test]
fn supplied_patterns_keep_the_runtimes_host_bound() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let dir = tempdir("caddy-bound");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins partners provided patterns\ncors api {\n    allow-origins  partners\n}\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let set = dir.join("partners.txt");
    std::fs::write(&set, "https://*.p.example\nhttp://localhost:*\n").unwrap();
    let mut c = Compilation::load(&[&policy]).unwrap();
    c.supply("partners", &set).unwrap();
    let lowered = c.lower("default").unwrap();
    let caddy = Caddy::start(&bin, &c, "default", &dir, &[], Up::Proxied);
    let label = "a".repeat(63);
    let long = format!("https://{label}.{label}.{label}.{label}.p.example");
    let mut allowed = 0;
    for o in [
        "https://a.p.example",
        "https://a.b.p.example",
        long.as_str(),
        "https://p.example",
        "https://A.p.example",
        "http://localhost:8080",
        "http://localhost",
        "http://localhost:080",
    ] {
        let hs = h(&[("Origin", o)]);
        let e = guestlist_compiler::explain::explain(&lowered, "GET", "/api/x", &hs).unwrap();
        let (status, mut got) = send(caddy.addr, "GET", "/api/x", &hs);
        got.retain(|(n, _)| n.starts_with("access-control-") || n == "vary");
        let mut want = e.headers.clone();
        want.sort();
        assert_eq!((status, &got), (200, &want), "{o}");
        allowed += usize::from(
            !want.is_empty() && want.iter().any(|(n, _)| n == "access-control-allow-origin"),
        );
    }
    assert_eq!(
        allowed, 4,
        "the runtime allows a.p, a.b.p and both localhost origins"
    );
}

/// An error of the upstream (here Caddy's `error` directive, as a `file_server` 404 or a
/// `reverse_proxy` 502 would be) goes through `handle_errors`, and carries the same CORS and
/// security headers as an answer of the upstream would.
#[test]
fn error_responses_carry_the_policy_headers() {
    let Some(bin) = require_tool("caddy") else {
        return;
    };
    let f = root().join("examples/policies/site.policy");
    let c = Compilation::load(&[&f]).unwrap();
    let lowered = c.lower("default").unwrap();
    let dir = tempdir("caddy-errors");
    let caddy = Caddy::start(&bin, &c, "default", &dir, &[], Up::InPlace);
    std::fs::write(dir.join("upstream.caddy"), "error \"gone\" 404\n").unwrap();
    caddy.reload(&bin);
    for origin in ["https://app.example.com", "https://evil.example"] {
        let hs = h(&[("Origin", origin)]);
        let e =
            guestlist_compiler::explain::explain(&lowered, "GET", "/api/v1/users", &hs).unwrap();
        let (status, got) = send(caddy.addr, "GET", "/api/v1/users", &hs);
        assert_eq!(status, 404, "{origin}: {got:?}");
        let mut want = e.headers.clone();
        want.sort();
        assert_eq!(got, want, "{origin}");
    }
    // A preflight is still answered by the policy, never by the upstream's error.
    let pre = h(&[
        ("Origin", "https://app.example.com"),
        ("Access-Control-Request-Method", "PUT"),
    ]);
    let (status, _) = send(caddy.addr, "OPTIONS", "/api/v1/users", &pre);
    assert_eq!(status, 204);
}
