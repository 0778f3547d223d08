//! The HAProxy emitter against a real HAProxy 2.6 on 127.0.0.1: `haproxy -c` on the emitted
//! files of every valid policy in `examples/` and `spec/`, the differential test every edge
//! runs (support::differential), and the behaviours spec/haproxy.md promises.
//!
//! HAProxy must be installed (`scripts/test.sh` installs it with apt-get). Without it the
//! tests fail when `CI=true`, and say loudly that they skipped otherwise.
#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use guestlist_compiler::emit::haproxy;
use guestlist_compiler::Compilation;

mod support;
use support::differential::{self, Edge, Group, Sent};
use support::{poll_until, require_tool, root, send, tempdir};

/// The emitted files of `c`'s `profile` in `dir`, as `guestlist emit haproxy` writes them.
fn emit(c: &Compilation, profile: &str, dir: &Path) -> Result<(), String> {
    let lowered = c.lower(profile).unwrap();
    let opts = haproxy::Options {
        include_root: dir.to_string_lossy().into_owned(),
        generated_by: "test".into(),
        accepted: Vec::new(),
    };
    let files = haproxy::emit(c, &lowered, &opts).map_err(|e| e.to_string())?;
    haproxy::write(dir, &files).unwrap();
    Ok(())
}

/// A port on 127.0.0.1 that was free a moment ago (HAProxy binds it itself; [`Haproxy::start`]
/// retries with another when it cannot).
fn candidate_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A whole HAProxy configuration: `guestlist.cfg` inside a frontend on `port`, in front of an
/// upstream frontend on `up` that answers 200 with `X-App: yes` and `extra` response lines.
fn config(dir: &Path, port: u16, up: u16, extra: &str, backend: Option<SocketAddr>) -> String {
    let backend = backend.map_or(format!("127.0.0.1:{up}"), |a| a.to_string());
    let lines = std::fs::read_to_string(dir.join("guestlist.cfg")).unwrap();
    let indented: String = lines.lines().map(|l| format!("    {l}\n")).collect();
    format!(
        "global\n    nbthread 1\n    stats socket {}/admin.sock mode 600 level admin\n\ndefaults d\n    mode http\n    timeout client 10s\n    timeout server 10s\n    timeout connect 5s\n\n\
         frontend upstream\n    bind 127.0.0.1:{up}\n    http-request return status 200 hdr X-App yes{extra}\n\n\
         frontend edge\n    bind 127.0.0.1:{port}\n{indented}    default_backend app\n\n\
         backend app\n    server app {backend}\n",
        dir.display()
    )
}

/// `haproxy -c` on a configuration file: passes, or the test fails with HAProxy's words.
fn check(bin: &Path, cfg: &Path) {
    let out = Command::new(bin)
        .arg("-c")
        .arg("-f")
        .arg(cfg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "haproxy -c {}:\n{}{}",
        cfg.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running HAProxy (`-db`: in the foreground, one process), stopped on drop.
struct Haproxy {
    child: Child,
    addr: SocketAddr,
    cfg: PathBuf,
}

impl Haproxy {
    /// Checks and starts the configuration of `dir` with upstream lines `extra`.
    fn start(bin: &Path, dir: &Path, extra: &str) -> Haproxy {
        Haproxy::start_with(bin, dir, extra, None)
    }

    /// [`Haproxy::start`], with the backend at `backend` instead of the upstream frontend
    /// (which still runs).
    fn start_with(bin: &Path, dir: &Path, extra: &str, backend: Option<SocketAddr>) -> Haproxy {
        for _ in 0..5 {
            let (port, up) = (candidate_port(), candidate_port());
            let cfg = dir.join("haproxy.cfg");
            std::fs::write(&cfg, config(dir, port, up, extra, backend)).unwrap();
            check(bin, &cfg);
            let mut child = Command::new(bin)
                .arg("-db")
                .arg("-f")
                .arg(&cfg)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let up_addr: SocketAddr = format!("127.0.0.1:{up}").parse().unwrap();
            let ready = poll_until("haproxy to listen or exit", Duration::from_secs(15), || {
                if let Ok(Some(_)) = child.try_wait() {
                    return Some(false);
                }
                (std::net::TcpStream::connect(addr).is_ok()
                    && std::net::TcpStream::connect(up_addr).is_ok())
                .then_some(true)
            });
            if ready {
                return Haproxy { child, addr, cfg };
            }
        }
        panic!("haproxy could not bind a port on 127.0.0.1");
    }

    /// Reloads the configuration: a new process that reads the files again, on new ports.
    fn reload(&mut self, bin: &Path, dir: &Path, extra: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Haproxy::start(bin, dir, extra);
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.cfg;
    }
}

#[test]
fn haproxy_accepts_every_emitted_policy() {
    let Some(bin) = require_tool("haproxy") else {
        return;
    };
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
    let (mut checked, mut refused) = (0, Vec::new());
    for f in &files {
        let c = Compilation::load(&[f]).unwrap();
        if c.has_errors() {
            continue;
        }
        for profile in c.profiles() {
            let lowered = c.lower(&profile).unwrap();
            let dir = tempdir(&format!(
                "hx-{}-{profile}",
                f.file_stem().unwrap().to_string_lossy()
            ));
            let mut errors = haproxy::errors(&c, &lowered);
            errors.extend(guestlist_compiler::emit::loss_errors(
                &c,
                &lowered,
                guestlist_compiler::emit::Engine::Haproxy,
                &[],
            ));
            match emit(&c, &profile, &dir) {
                Ok(()) => {
                    assert!(
                        errors.is_empty(),
                        "{}: emitted despite {errors:?}",
                        f.display()
                    );
                    let cfg = dir.join("haproxy.cfg");
                    std::fs::write(&cfg, config(&dir, 1, 2, "", None)).unwrap();
                    check(&bin, &cfg);
                    checked += 1;
                }
                Err(e) => {
                    // Every refusal is a diagnostic at the policy line.
                    let codes: Vec<&str> = errors.iter().map(|d| d.code).collect();
                    assert!(
                        codes
                            .iter()
                            .any(|c| ["GL1201", "GL1202", "GL1203", "GL1205"].contains(c)),
                        "{}: refused without a diagnostic: {e}",
                        f.display()
                    );
                    refused.push(format!("{} ({profile}): {codes:?}", f.display()));
                }
            }
        }
    }
    println!("haproxy -c passed for {checked} policy/profile pairs; refused: {refused:#?}");
    assert!(checked >= 10, "{checked}");
    assert!(
        refused.iter().any(|r| r.contains("GL1201")),
        "examples/policies/guards.policy has a nonce CSP and must be refused: {refused:?}"
    );
}

/// HAProxy as a differential-test edge: the emitted lines in a frontend, before a backend
/// whose server is the differential's upstream.
struct HaproxyEdge {
    bin: PathBuf,
    server: Option<Haproxy>,
    /// Whether the running policy has a nonce CSP (only then is a client's
    /// `Guestlist-Csp-Nonce` removed).
    nonce_policy: bool,
}

impl HaproxyEdge {
    fn new(bin: &Path) -> HaproxyEdge {
        HaproxyEdge {
            bin: bin.to_path_buf(),
            server: None,
            nonce_policy: false,
        }
    }
}

impl Edge for HaproxyEdge {
    fn name(&self) -> &'static str {
        "haproxy"
    }

    fn start(
        &mut self,
        c: &Compilation,
        profile: &str,
        dir: &Path,
        upstream: SocketAddr,
    ) -> SocketAddr {
        self.server = None;
        emit(c, profile, dir).unwrap();
        self.nonce_policy = c
            .lower(profile)
            .unwrap()
            .policy
            .csp_policies()
            .iter()
            .any(|p| p.has_nonce());
        let server = Haproxy::start_with(&self.bin, dir, "", Some(upstream));
        let addr = server.addr;
        self.server = Some(server);
        addr
    }

    /// A client's `Guestlist-Csp-Nonce` means nothing to a policy without a nonce CSP, and
    /// HAProxy removes it only under one that has one (spec/haproxy.md).
    fn passes_client_nonce(&self) -> bool {
        !self.nonce_policy
    }

    /// HAProxy forwards the request target as it received it: an absolute-form target stays
    /// absolute (spec/haproxy.md), as it reaches an application without an edge.
    fn forwarded_target(&self, sent: &Sent) -> String {
        sent.line.split(' ').nth(1).unwrap_or(sent.path).to_string()
    }

    /// HAProxy answers 400 itself to an absolute-form target whose authority differs from
    /// `Host` in more than ASCII case, to two `Host` lines, to a `#` in the target, and to a
    /// WebSocket upgrade without `Sec-WebSocket-Key` (spec/haproxy.md).
    fn own_answer(&self, sent: &Sent) -> Option<u16> {
        let target = sent
            .line
            .split(' ')
            .nth(1)
            .and_then(|t| t.strip_prefix("http://"))
            .map(|t| t.split('/').next().unwrap_or(t));
        let hosts: Vec<&str> = sent
            .fields
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
            .map(|(_, v)| v.as_str())
            .collect();
        let differs = match (target, hosts.as_slice()) {
            (Some(t), [h]) => !t.eq_ignore_ascii_case(h),
            _ => false,
        };
        let tokens = |name: &str, token: &str| {
            sent.fields.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case(name)
                    && v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
            })
        };
        let keyless_upgrade = tokens("connection", "upgrade")
            && tokens("upgrade", "websocket")
            && !sent
                .fields
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("sec-websocket-key"));
        (differs || hosts.len() > 1 || sent.line.contains('#') || keyless_upgrade).then_some(400)
    }
}

#[test]
fn haproxy_decides_like_the_runtime() {
    let Some(bin) = require_tool("haproxy") else {
        return;
    };
    let (_, m) = differential::run_group(&mut HaproxyEdge::new(&bin), Group::Paths);
    assert!(m.is_empty(), "{} mismatches", m.len());
}

#[test]
fn haproxy_decides_like_the_runtime_with_host_blocks() {
    let Some(bin) = require_tool("haproxy") else {
        return;
    };
    let (_, m) = differential::run_group(&mut HaproxyEdge::new(&bin), Group::Hosts);
    assert!(m.is_empty(), "{} mismatches", m.len());
}

#[test]
fn haproxy_decides_like_the_runtime_with_supplied_sets() {
    let Some(bin) = require_tool("haproxy") else {
        return;
    };
    let (_, m) = differential::run_group(&mut HaproxyEdge::new(&bin), Group::Supplied);
    assert!(m.is_empty(), "{} mismatches", m.len());
}

const SMALL: &str = "\
origins partners provided
cors api {
    allow-origins      \"https://app.example.com\" partners
    allow-credentials  true
    max-age            2h
}
headers strict {
    x-frame-options  DENY
}
csp app {
    default-src  'self'
}
route \"/api/*\" { cors api; headers strict; csp app }
";

#[test]
fn the_upstreams_own_cors_and_security_headers_are_replaced() {
    let Some(bin) = require_tool("haproxy") else {
        return;
    };
    let c = Compilation::from_str("small.policy", SMALL);
    assert!(!c.has_errors(), "{}", c.render());
    let dir = tempdir("hx-replaced");
    emit(&c, "default", &dir).unwrap();
    let extra = " hdr Access-Control-Allow-Origin \"*\" hdr Access-Control-Allow-Credentials false hdr X-Frame-Options SAMEORIGIN hdr Content-Security-Policy \"default-src *\"";
    let server = Haproxy::start(&bin, &dir, extra);
    let origin = vec![("Origin".to_string(), "https://app.example.com".to_string())];
    let (status, h) = send(server.addr, "GET", "/api/x", &origin);
    assert_eq!(status, 200);
    let get = |n: &str| -> Vec<&str> {
        h.iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(
        get("access-control-allow-origin"),
        ["https://app.example.com"]
    );
    assert_eq!(get("access-control-allow-credentials"), ["true"]);
    assert_eq!(get("x-frame-options"), ["DENY"]);
    assert_eq!(get("content-security-policy"), ["default-src 'self'"]);
    assert_eq!(get("vary"), ["Origin"]);
    // A refused origin: the upstream's `*` is removed, not passed on.
    let other = vec![("Origin".to_string(), "https://evil.example".to_string())];
    let (_, h) = send(server.addr, "GET", "/api/x", &other);
    assert!(
        !h.iter().any(|(k, _)| k.starts_with("access-control-")),
        "{h:?}"
    );
    // Outside every route the upstream's headers pass untouched.
    let (_, h) = send(server.addr, "GET", "/elsewhere", &origin);
    assert!(
        h.contains(&("access-control-allow-origin".into(), "*".into())),
        "{h:?}"
    );
}

#[test]
fn a_supplied_set_changes_with_its_file_and_a_reload() {
    let Some(bin) = require_tool("haproxy") else {
        return;
    };
    let dir = tempdir("hx-supplied");
    let set = dir.join("partners.txt");
    std::fs::write(&set, "https://one.example.com\n").unwrap();
    let mut c = Compilation::from_str("small.policy", SMALL);
    c.supply("partners", &set).unwrap();
    let out = dir.join("out");
    emit(&c, "default", &out).unwrap();
    let cfg_before = std::fs::read_to_string(out.join("guestlist.cfg")).unwrap();
    let mut server = Haproxy::start(&bin, &out, "");
    let ask = |addr, o: &str| {
        let (_, h) = send(
            addr,
            "GET",
            "/api/x",
            &[("Origin".to_string(), o.to_string())],
        );
        h.iter()
            .find(|(k, _)| k == "access-control-allow-origin")
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        ask(server.addr, "https://one.example.com").as_deref(),
        Some("https://one.example.com")
    );
    assert_eq!(ask(server.addr, "https://two.example.com"), None);
    // The set's file alone is regenerated; guestlist.cfg stays as it was.
    std::fs::write(&set, "https://two.example.com\n").unwrap();
    let mut c = Compilation::from_str("small.policy", SMALL);
    c.supply("partners", &set).unwrap();
    emit(&c, "default", &out).unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("guestlist.cfg")).unwrap(),
        cfg_before
    );
    server.reload(&bin, &out, "");
    assert_eq!(ask(server.addr, "https://one.example.com"), None);
    assert_eq!(
        ask(server.addr, "https://two.example.com").as_deref(),
        Some("https://two.example.com")
    );
    // The running process, through its runtime API: no reload, no file written.
    let list = out.join("origins/partners.lst");
    let said = runtime_api(
        &out,
        &format!("add acl {} https://three.example.com", list.display()),
    );
    assert!(said.trim().is_empty() || said.contains("Done"), "{said}");
    assert_eq!(
        ask(server.addr, "https://three.example.com").as_deref(),
        Some("https://three.example.com")
    );
    runtime_api(
        &out,
        &format!("del acl {} https://two.example.com", list.display()),
    );
    assert_eq!(ask(server.addr, "https://two.example.com"), None);
}

/// Sends one command to HAProxy's runtime API (the `stats socket` of [`config`]); its answer.
fn runtime_api(dir: &Path, command: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(dir.join("admin.sock")).unwrap();
    s.write_all(format!("{command}\n").as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn two_readings_are_refused_at_the_paths_line() {
    let c = Compilation::from_str(
        "p.policy",
        "paths {\n    non-normal  two-readings\n}\nroute \"/api/*\" { }\n",
    );
    assert!(!c.has_errors(), "{}", c.render());
    let lowered = c.lower("default").unwrap();
    let errors = haproxy::errors(&c, &lowered);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, "GL1203");
    // At the `non-normal` line.
    assert_eq!(c.sources().location(errors[0].span).1, 2);
    let opts = haproxy::Options {
        include_root: "/x".into(),
        generated_by: "test".into(),
        accepted: Vec::new(),
    };
    let e = haproxy::emit(&c, &lowered, &opts).unwrap_err();
    assert!(e.to_string().contains("dot segments"), "{e}");
}

/// The differential's WebSocket handshakes carry no `Sec-WebSocket-Key`, which HAProxy
/// refuses itself; here the same generated requests carry one, so the emitted handshake
/// checks (and everything else) are compared with the runtime.
#[test]
fn websocket_handshakes_with_a_key_decide_like_the_runtime() {
    let Some(bin) = require_tool("haproxy") else {
        return;
    };
    let mut total = 0;
    let mut handshakes = 0;
    let mut mismatches = Vec::new();
    for case in differential::cases(1.0) {
        let name = case
            .file
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if name != "guards.policy" && name != "provided.policy" && name != "hosts-nginx.policy" {
            continue;
        }
        let mut c = Compilation::load(&[&case.file]).unwrap();
        let mut entries = Vec::new();
        for (n, p) in &case.supplied {
            c.supply(n, p).unwrap();
            let text = std::fs::read_to_string(p).unwrap();
            entries.extend(
                text.lines()
                    .filter_map(|l| l.split('#').next()?.split_whitespace().next())
                    .map(str::to_string),
            );
        }
        let dir = tempdir(&format!("hx-ws-{name}"));
        emit(&c, case.profile, &dir).unwrap();
        let server = Haproxy::start(&bin, &dir, "");
        let lowered = c.lower(case.profile).unwrap();
        for (m, p, h) in differential::requests(&c, case.profile, 3000, case.seed, &entries) {
            if h.iter().any(|(n, _)| n.starts_with(':'))
                || !h
                    .iter()
                    .any(|(n, v)| n == "Upgrade" && v.to_ascii_lowercase().contains("websocket"))
                || h.iter().filter(|(n, _)| n == "Host").count() != 1
            {
                continue;
            }
            let mut h = h.clone();
            h.push((
                "Sec-WebSocket-Key".to_string(),
                "dGhlIHNhbXBsZSBub25jZQ==".to_string(),
            ));
            let e = guestlist_compiler::explain::explain(&lowered, &m, &p, &h).unwrap();
            if e.kind.as_str().starts_with("websocket") {
                handshakes += 1;
            }
            let mut want = e.headers.clone();
            want.sort();
            let (status, got) = send(server.addr, &m, &p, &h);
            total += 1;
            if status != e.status.unwrap_or(200) || got != want {
                mismatches.push(format!(
                    "{m} {p} {h:?}: guestlist {} {:?} {want:?}; haproxy {status} {got:?}",
                    e.kind.as_str(),
                    e.status
                ));
            }
        }
    }
    for m in mismatches.iter().take(20) {
        println!("MISMATCH {m}");
    }
    println!("{total} upgrade requests with a key ({handshakes} handshakes decided by a websocket policy), {} mismatches", mismatches.len());
    assert!(handshakes >= 200, "{handshakes}");
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
}

#[test]
fn a_set_supplied_without_a_file_is_empty_with_a_warning() {
    let c = Compilation::from_str("small.policy", SMALL);
    let lowered = c.lower("default").unwrap();
    let w = haproxy::warnings(&c, &lowered);
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].code, "GL1407");
    assert_eq!(c.sources().location(w[0].span).1, 1);
    assert!(w[0].message.contains("HAProxy"), "{}", w[0].message);
    // Supplied: no warning.
    let dir = tempdir("hx-warn");
    let set = dir.join("p.txt");
    std::fs::write(&set, "https://one.example.com\n").unwrap();
    let mut c = Compilation::from_str("small.policy", SMALL);
    c.supply("partners", &set).unwrap();
    let lowered = c.lower("default").unwrap();
    assert!(haproxy::warnings(&c, &lowered).is_empty());
}

#[test]
fn accepted_losses_are_listed_and_the_nonce_csp_left_to_the_application() {
    let Some(bin) = require_tool("haproxy") else {
        return;
    };
    let c = Compilation::load(&[root().join("examples/policies/guards.policy")]).unwrap();
    let lowered = c.lower("default").unwrap();
    let lost =
        guestlist_compiler::emit::lost(&c, &lowered, guestlist_compiler::emit::Engine::Haproxy);
    assert!(!lost.is_empty());
    let kinds: Vec<guestlist_compiler::emit::Loss> = lost.iter().map(|l| l.kind).collect();
    let dir = tempdir("hx-accepted");
    let opts = haproxy::Options {
        include_root: dir.to_string_lossy().into_owned(),
        generated_by: "test".into(),
        accepted: kinds.clone(),
    };
    let files = haproxy::emit(&c, &lowered, &opts).unwrap();
    for f in &files {
        assert!(f
            .text
            .lines()
            .next()
            .unwrap()
            .contains(guestlist_compiler::emit::GENERATED));
        assert!(
            f.text.contains("# Accepted losses (--accept-loss):"),
            "{}",
            f.path
        );
        for k in &kinds {
            assert!(
                f.text.contains(&format!("#   {}: ", k.name())),
                "{}",
                f.path
            );
        }
    }
    let cfg = &files
        .iter()
        .find(|f| f.path == "guestlist.cfg")
        .unwrap()
        .text;
    assert!(!cfg.contains("{nonce}"), "a nonce CSP was written");
    haproxy::write(&dir, &files).unwrap();
    let cfg_path = dir.join("haproxy.cfg");
    std::fs::write(&cfg_path, config(&dir, 1, 2, "", None)).unwrap();
    check(&bin, &cfg_path);
    // Without the acceptance: refused, naming HAProxy.
    let opts = haproxy::Options {
        accepted: Vec::new(),
        ..opts
    };
    let e = haproxy::emit(&c, &lowered, &opts).unwrap_err();
    assert!(e.to_string().contains("HAProxy"), "{e}");
}
