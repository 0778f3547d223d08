//! The nginx emitter against a real nginx on 127.0.0.1: `nginx -t` on the emitted files of
//! every valid policy in `examples/` and `spec/`, and a differential test that sends thousands
//! of seeded requests to nginx and compares status and CORS headers with `guestlist explain`.
//!
//! nginx must be installed (`scripts/test.sh` installs it with apt-get). Without it the tests
//! fail when `CI=true`, and say loudly that they skipped otherwise.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use std::time::Duration;

use guestlist_compiler::Compilation;

mod support;
use support::differential::{self, provided_files, Edge, Group, Sent, PROVIDED_POLICY};
use support::{require_tool, root, send, send_raw, setup, start, tempdir, Upstream};

#[test]
fn nginx_accepts_every_emitted_policy() {
    let Some(bin) = require_tool("nginx") else {
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
    let mut checked = 0;
    let mut refused = 0;
    for f in &files {
        let c = Compilation::load(&[f]).unwrap();
        if c.has_errors() {
            continue;
        }
        for profile in c.profiles() {
            // A nonce CSP is refused for nginx, with the reason; nothing else may be.
            let lowered = c.lower(&profile).unwrap();
            let opts = guestlist_compiler::emit::nginx::Options {
                include_root: "/x".into(),
                upstream_include: None,
                generated_by: "test".into(),
                accepted: Vec::new(),
            };
            if let Err(e) = guestlist_compiler::emit::nginx::emit(&c, &lowered, &opts) {
                // Or a text nginx cannot write (GL1204) or a header it cannot apply to some
                // hosts only (GL1110), spec/diagnostics/cases.
                assert!(
                    e.to_string().contains("per-response nonce")
                        || guestlist_compiler::emit::nginx::errors(&c, &lowered, &[])
                            .iter()
                            .any(|d| d.code == "GL1204" || d.code == "GL1110"),
                    "{}: {e}",
                    f.display()
                );
                refused += 1;
                continue;
            }
            let dir = tempdir(&format!(
                "t-{}-{profile}",
                f.file_stem().unwrap().to_string_lossy()
            ));
            setup(&bin, &c, &profile, &dir, Upstream::Proxied, false); // asserts `nginx -t`
            checked += 1;
        }
    }
    println!("nginx -t passed for {checked} policy/profile pairs; {refused} refused (nonce CSP)");
    assert!(checked >= 6, "{checked}");
    assert!(
        refused >= 1,
        "examples/policies/guards.policy has a nonce CSP and must be refused"
    );
}

/// nginx as a differential-test edge: the emitted files around `proxy_pass` to the upstream.
struct NginxEdge {
    bin: std::path::PathBuf,
    server: Option<support::Nginx>,
}

impl NginxEdge {
    fn new(bin: &Path) -> NginxEdge {
        NginxEdge {
            bin: bin.to_path_buf(),
            server: None,
        }
    }
}

impl Edge for NginxEdge {
    fn name(&self) -> &'static str {
        "nginx"
    }

    fn start(
        &mut self,
        c: &Compilation,
        profile: &str,
        dir: &Path,
        upstream: std::net::SocketAddr,
    ) -> std::net::SocketAddr {
        self.server = None;
        let server = start(
            &self.bin,
            &setup(&self.bin, c, profile, dir, Upstream::Echo(upstream), false),
        );
        let addr = server.addr;
        self.server = Some(server);
        addr
    }

    /// nginx answers 400 itself to a path it cannot read, without the reason header
    /// (spec/nginx.md).
    fn own_answer(&self, sent: &Sent) -> Option<u16> {
        (sent.reason == "path-invalid").then_some(400)
    }

    /// nginx draws no nonce, and removing a request header would take a `proxy_set_header`
    /// that overrides the user's own (spec/nginx.md).
    fn passes_client_nonce(&self) -> bool {
        true
    }
}

#[test]
fn nginx_decides_like_the_runtime() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let (_, all) = differential::run_group(&mut NginxEdge::new(&bin), Group::Paths);
    assert!(
        all.is_empty(),
        "{} mismatches between nginx and the runtime",
        all.len()
    );
}

#[test]
fn nginx_decides_like_the_runtime_with_host_blocks() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let file = root().join("compiler/tests/fixtures/hosts-nginx.policy");
    let (_, all) = differential::run_group(&mut NginxEdge::new(&bin), Group::Hosts);
    // What nginx answers by itself (spec/nginx.md, "Host blocks"): two `Host` lines, which the
    // runtime refuses as host-ambiguous, and an HTTP/1.1 request without `Host`, which the
    // runtime decides under the top-level routes: both 400, without `Guestlist-Reason`.
    let c = Compilation::load(&[&file]).unwrap();
    let lowered = c.lower("default").unwrap();
    let dir = tempdir("hosts-by-nginx");
    let server = start(
        &bin,
        &setup(&bin, &c, "default", &dir, Upstream::Return, false),
    );
    let h = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    let two = h(&[("Host", "api.example.com"), ("Host", "api.example.com")]);
    let d = lowered.policy.decide("GET", "/api/x", two.as_slice());
    assert_eq!(d.kind.as_str(), "host-rejected");
    let (status, got) = support::send_line(server.addr, "GET /api/x HTTP/1.1", &two);
    assert_eq!(status, 400);
    assert!(!got.iter().any(|(n, _)| n == "guestlist-reason"), "{got:?}");
    let none = h(&[("Origin", "https://b.example.com")]);
    let d = lowered.policy.decide("GET", "/api/x", none.as_slice());
    assert_eq!(d.kind.as_str(), "actual-allowed");
    let (status, _) = support::send_line(server.addr, "GET /api/x HTTP/1.1", &none);
    assert_eq!(status, 400);
    let (status, got) = support::send_line(server.addr, "GET /api/x HTTP/1.0", &none);
    assert_eq!(status, 200, "{got:?}");
    for (line, host) in [
        ("GET /api/x HTTP/1.1", "a..example.com"),
        ("GET /api/x HTTP/1.1", ""),
        ("GET /api/x HTTP/1.1", "a/b.example.com"),
        ("GET http://u@api.example.com/x HTTP/1.1", "api.example.com"),
    ] {
        let (status, got) = support::send_line(server.addr, line, &h(&[("Host", host)]));
        assert_eq!(status, 400, "{line} Host: {host}");
        assert!(!got.iter().any(|(n, _)| n == "guestlist-reason"), "{got:?}");
    }
    assert!(
        all.is_empty(),
        "{} mismatches between nginx and the runtime",
        all.len()
    );
}

/// The differential test with sets supplied at run time: nginx reads their entries from
/// `origins/NAME.conf`, the runtime from `Policy::replace_provided`, and every decision is
/// the same.
#[test]
fn nginx_decides_like_the_runtime_with_supplied_sets() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let (_, mismatches) = differential::run_group(&mut NginxEdge::new(&bin), Group::Supplied);
    assert!(mismatches.is_empty(), "{} mismatches", mismatches.len());
    let dir = tempdir("provided-policy");
    let policy = dir.join("provided.policy");
    std::fs::write(&policy, PROVIDED_POLICY).unwrap();
    let files = provided_files(&dir);
    let supplied: Vec<(&str, &Path)> = files.iter().map(|(n, p)| (*n, p.as_path())).collect();
    // The same entries are allowed in the runtime and refused by a jub0bs-style confusion.
    let mut c = Compilation::load(&[&policy]).unwrap();
    for (name, path) in &supplied {
        c.supply(name, path).unwrap();
    }
    let lowered = c.lower("default").unwrap();
    for (origin, allowed) in [
        ("https://a.example.com", true),
        ("https://x.a.example.com", false),
        ("https://ba.example.com", false),
        ("https://c.example.com", false),
        ("https://c.example.com:8443", true),
        ("https://app.example.com", true),
    ] {
        let h = vec![("Origin".to_string(), origin.to_string())];
        let e = guestlist_compiler::explain::explain(&lowered, "GET", "/api/x", &h).unwrap();
        assert_eq!(e.kind.as_str() == "actual-allowed", allowed, "{origin}");
    }
}

/// A status and the policy headers (lowercase names, sorted).
type Answer = (u16, Vec<(String, String)>);

/// One HTTP/1.1 exchange on `conn`: the status and the policy headers of a complete, valid
/// answer; `Err(None)` when the connection closed before any byte of it; `Err(Some(why))`
/// for anything else (a cut or malformed answer).
fn exchange(
    conn: &mut std::io::BufReader<TcpStream>,
    request: &str,
) -> Result<Answer, Option<String>> {
    use std::io::BufRead;
    let fail = |why: String| Err(Some(why));
    if conn.get_mut().write_all(request.as_bytes()).is_err() {
        return Err(None);
    }
    let mut line = String::new();
    match conn.read_line(&mut line) {
        Ok(0) | Err(_) if line.is_empty() => return Err(None),
        Err(e) => return fail(format!("status line: {e}")),
        Ok(_) => {}
    }
    let Some(status) = line
        .strip_prefix("HTTP/1.1 ")
        .and_then(|l| l.get(..3))
        .and_then(|c| c.parse::<u16>().ok())
    else {
        return fail(format!("not a status line: {line:?}"));
    };
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        match conn.read_line(&mut h) {
            Ok(0) => return fail("cut in the headers".into()),
            Err(e) => return fail(format!("headers: {e}")),
            Ok(_) => {}
        }
        if h == "\r\n" {
            break;
        }
        let Some((n, v)) = h.trim_end().split_once(':') else {
            return fail(format!("not a header: {h:?}"));
        };
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    match (status, length) {
        (204 | 304, _) => {}
        (_, Some(n)) => {
            let mut body = vec![0; n];
            if let Err(e) = conn.read_exact(&mut body) {
                return fail(format!("body of {n} bytes: {e}"));
            }
        }
        (_, None) => return fail(format!("{status} without a length: {headers:?}")),
    }
    headers.retain(|(n, _)| support::is_policy_header(n));
    headers.sort();
    Ok((status, headers))
}

/// A provided set changed while nginx serves: a client thread sends a bounded loop of
/// requests (keep-alive connections and fresh ones) while `origins/tenants.conf` alone is
/// regenerated with another set and nginx (master and worker, as in production) reloads.
/// Every answer is complete and is the runtime's decision with the old set or the new one;
/// connections opened once the old worker has exited get the new set's; both sets answered.
#[test]
fn a_reload_swaps_a_supplied_set_without_losing_a_request() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let dir = tempdir("provided-reload");
    let policy = dir.join("p.policy");
    std::fs::write(&policy, PROVIDED_POLICY).unwrap();
    let files = provided_files(&dir);
    // Two tenant sets of 1,001 entries that differ in one origin of the same length.
    let filler: String = (0..1000)
        .map(|i| format!("https://t{i}.tenants.example tenant-{i}\n"))
        .collect();
    let (old_file, new_file) = (dir.join("old.txt"), dir.join("new.txt"));
    std::fs::write(&old_file, format!("{filler}https://old.example.com old\n")).unwrap();
    std::fs::write(&new_file, format!("{filler}https://new.example.com new\n")).unwrap();
    let compile = |tenants: &Path| {
        let mut c = Compilation::load(&[&policy]).unwrap();
        c.supply("tenants", tenants).unwrap();
        for (name, path) in &files {
            if *name != "tenants" {
                c.supply(name, path).unwrap();
            }
        }
        assert!(!c.has_errors(), "{}", c.render());
        c
    };
    let (old, new) = (compile(&old_file), compile(&new_file));
    // The requests, and each one's answer with either set (the runtime's decision).
    let kinds: Vec<(&str, Vec<(String, String)>)> = ["old", "new"]
        .iter()
        .flat_map(|who| {
            let origin = ("Origin".to_string(), format!("https://{who}.example.com"));
            let acrm = (
                "Access-Control-Request-Method".to_string(),
                "PUT".to_string(),
            );
            [
                ("GET", vec![origin.clone()]),
                ("OPTIONS", vec![origin, acrm]),
            ]
        })
        .collect();
    let answers = |c: &Compilation| -> Vec<Answer> {
        let lowered = c.lower("default").unwrap();
        kinds
            .iter()
            .map(|(m, h)| {
                let e = guestlist_compiler::explain::explain(&lowered, m, "/api/x", h).unwrap();
                let mut want = e.headers.clone();
                want.sort();
                (e.status.unwrap_or(200), want)
            })
            .collect()
    };
    let (want_old, want_new) = (answers(&old), answers(&new));
    assert_ne!(want_old, want_new);
    let setup = setup(&bin, &old, "default", &dir, Upstream::Return, false).with_master_process();
    let server = start(&bin, &setup);
    let addr = server.addr;
    let requests: Vec<String> = kinds
        .iter()
        .map(|(m, h)| {
            let mut r = format!("{m} /api/x HTTP/1.1\r\nHost: localhost\r\n");
            for (n, v) in h {
                r.push_str(&format!("{n}: {v}\r\n"));
            }
            r + "\r\n"
        })
        .collect();
    let switched = std::sync::Arc::new(AtomicBool::new(false));
    let done = std::sync::Arc::new(AtomicUsize::new(0));
    let client = {
        let (switched, done) = (switched.clone(), done.clone());
        let (want_old, want_new) = (want_old.clone(), want_new.clone());
        let requests = requests.clone();
        std::thread::spawn(move || {
            // (request, connection opened after the switch, answer matched the new set).
            let mut results: Vec<(usize, bool, bool)> = Vec::new();
            let mut failures: Vec<String> = Vec::new();
            let (mut retries, mut after) = (0, 0);
            let connect = || {
                let s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                (std::io::BufReader::new(s), switched.load(Ordering::SeqCst))
            };
            let mut conn: Option<(std::io::BufReader<TcpStream>, bool)> = None;
            let mut used = 0;
            // Bounded: at most 100,000 requests; 2,000 more once the new set is in force.
            for i in 0..100_000 {
                if switched.load(Ordering::SeqCst) {
                    after += 1;
                    if after > 2000 {
                        break;
                    }
                }
                // Every 21 requests: one on a fresh connection, then 20 on one kept alive.
                if i % 21 == 0 || conn.is_none() {
                    conn = Some(connect());
                    used = 0;
                }
                let k = i % requests.len();
                let (mut c, mut fresh_after) = conn.take().unwrap();
                let mut answer = exchange(&mut c, &requests[k]);
                // A kept-alive connection the old worker closed before reading the request:
                // sent again on a new one, as HTTP clients do (RFC 9112, section 9.3.1).
                if answer == Err(None) && used > 0 {
                    retries += 1;
                    (c, fresh_after) = connect();
                    used = 0;
                    answer = exchange(&mut c, &requests[k]);
                }
                used += 1;
                match answer {
                    Ok(got) if got == want_new[k] => results.push((k, fresh_after, true)),
                    Ok(got) if got == want_old[k] => results.push((k, fresh_after, false)),
                    Ok(got) => failures.push(format!(
                        "request {i} ({k}): {got:?}, neither {:?} nor {:?}",
                        want_old[k], want_new[k]
                    )),
                    Err(why) => failures.push(format!("request {i} ({k}): {why:?}")),
                }
                done.fetch_add(1, Ordering::SeqCst);
                if i % 21 != 0 {
                    conn = Some((c, fresh_after));
                }
            }
            (results, failures, retries)
        })
    };
    support::poll_until(
        "the client's first requests",
        Duration::from_secs(15),
        || (done.load(Ordering::SeqCst) >= 500).then_some(()),
    );
    // Only the set's file changes.
    let opts = guestlist_compiler::emit::nginx::Options {
        include_root: dir.join("out").to_string_lossy().into_owned(),
        upstream_include: Some(dir.join("upstream.conf").to_string_lossy().into_owned()),
        generated_by: "guestlist test harness".into(),
        accepted: Vec::new(),
    };
    let emit = |c: &Compilation| {
        let lowered = c.lower("default").unwrap();
        guestlist_compiler::emit::nginx::emit(c, &lowered, &opts).unwrap()
    };
    let (before, after) = (emit(&old), emit(&new));
    let changed: Vec<&str> = after
        .iter()
        .filter(|f| !before.contains(f))
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(changed, ["origins/tenants.conf"]);
    guestlist_compiler::emit::nginx::write(&dir.join("out"), &after).unwrap();
    assert!(server.signal("reload"), "nginx -s reload failed");
    // In force once a fresh connection gets the new set's answer and the old worker, which
    // may still accept connections while it shuts down, has exited.
    support::poll_until("the new set in force", Duration::from_secs(15), || {
        let mut c = std::io::BufReader::new(TcpStream::connect(addr).ok()?);
        (exchange(&mut c, &requests[0]).ok()? == want_new[0]).then_some(())
    });
    support::poll_until("the old worker to exit", Duration::from_secs(30), || {
        (support::Nginx::children(server.pid()) == 1).then_some(())
    });
    switched.store(true, Ordering::SeqCst);
    let (results, failures, retries) = client.join().unwrap();
    let new_count = results.iter().filter(|r| r.2).count();
    println!(
        "reload under load: {} answers ({} with the old set, {new_count} with the new), {retries} resent on a closed keep-alive connection, {} failed",
        results.len(),
        results.len() - new_count,
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:?}");
    assert!(
        results.len() > new_count && new_count >= 1000,
        "{}",
        results.len()
    );
    let stale: Vec<_> = results.iter().filter(|r| r.1 && !r.2).collect();
    assert!(stale.is_empty(), "old set after the switch: {stale:?}");
    let log = std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default();
    assert!(!log.contains("could not build"), "{log}");
}

/// With `proxy_pass`, the upstream's own `Access-Control-*` headers are hidden: one
/// Access-Control-Allow-Origin, never two; the user's own add_header next to the include stays.
#[test]
fn proxied_locations_replace_the_upstreams_security_headers() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let c = Compilation::load(&[root().join("spec/policies/guards.policy")]).unwrap();
    let dir = tempdir("proxied-guards");
    let server = start(
        &bin,
        &setup(&bin, &c, "default", &dir, Upstream::Proxied, false),
    );
    let get = |path: &str| {
        let mut s = TcpStream::connect(server.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
        let mut raw = String::new();
        s.read_to_string(&mut raw).unwrap();
        raw
    };
    let lines = |raw: &str, name: &str| -> Vec<String> {
        raw.lines()
            .filter(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
            .map(str::to_string)
            .collect()
    };
    // The backend sends X-Powered-By, its own CSP and X-Frame-Options: the policy's replace them.
    let raw = get("/api/x");
    assert!(
        raw.contains("\r\n\r\napp\n"),
        "the request reached the backend: {raw}"
    );
    assert_eq!(
        lines(&raw, "x-frame-options"),
        ["x-frame-options: DENY"],
        "{raw}"
    );
    assert!(lines(&raw, "x-powered-by").is_empty(), "{raw}");
    // `remove server` hides the upstream's Server; nginx always adds its own (see the
    // generated comment), so exactly one is sent.
    assert_eq!(lines(&raw, "server").len(), 1, "{raw}");
    // No csp on this route: the backend's own passes through, once.
    assert_eq!(
        lines(&raw, "content-security-policy"),
        ["Content-Security-Policy: default-src *"],
        "{raw}"
    );
    let raw = get("/");
    let csp = lines(&raw, "content-security-policy");
    assert_eq!(csp.len(), 1, "{raw}");
    assert!(csp[0].contains("script-src 'self' 'sha256-"), "{raw}");
    assert!(lines(&raw, "x-powered-by").is_empty(), "{raw}");
    // A route without a header set or csp passes the backend's headers through.
    let raw = get("/hooks/x");
    assert_eq!(
        lines(&raw, "x-powered-by"),
        ["X-Powered-By: PHP/5"],
        "{raw}"
    );
}

#[test]
fn proxied_locations_never_duplicate_cors_headers() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let c = Compilation::load(&[root().join("examples/policies/site.policy")]).unwrap();
    let dir = tempdir("proxied");
    let server = start(
        &bin,
        &setup(&bin, &c, "default", &dir, Upstream::Proxied, false),
    );
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /api/users HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let acao: Vec<&str> = raw
        .lines()
        .filter(|l| {
            l.to_ascii_lowercase()
                .starts_with("access-control-allow-origin:")
        })
        .collect();
    assert_eq!(
        acao,
        ["Access-Control-Allow-Origin: https://app.example.com"],
        "{raw}"
    );
    assert!(raw.contains("X-App: yes"), "{raw}");
    assert!(
        raw.contains("\r\n\r\napp\n"),
        "the request reached the backend: {raw}"
    );
    // The static `*` policy: the backend's `*` is hidden, and exactly one of ours is sent.
    let (_, h) = send(
        server.addr,
        "GET",
        "/assets/x",
        &[("Origin".into(), "https://a.test".into())],
    );
    let cors: Vec<_> = h
        .into_iter()
        .filter(|(n, _)| n.starts_with("access-control-"))
        .collect();
    assert_eq!(
        cors,
        [("access-control-allow-origin".to_string(), "*".to_string())]
    );
}

/// A port taken between its choice and nginx's bind (another test, another program): nginx
/// exits with "Address already in use", and the harness starts it again on another port
/// instead of talking to whatever holds the first one.
#[test]
fn nginx_starts_on_another_port_when_its_port_is_taken() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let c = Compilation::load(&[root().join("examples/policies/site.policy")]).unwrap();
    let dir = tempdir("port-taken");
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = held.local_addr().unwrap().port();
    let server = support::start_trying(
        &bin,
        &setup(&bin, &c, "default", &dir, Upstream::Return, false),
        taken,
    );
    assert_ne!(server.addr.port(), taken);
    let (status, headers) = send(
        server.addr,
        "GET",
        "/api/users",
        &[("Origin".into(), "https://app.example.com".into())],
    );
    assert_eq!(status, 200);
    assert!(
        headers.contains(&(
            "access-control-allow-origin".into(),
            "https://app.example.com".into()
        )),
        "{headers:?}"
    );
    drop(held);
}

/// The path rules never take a request past your own locations: a path with two readings
/// whose as-sent reading selects another route is still served by the location nginx chooses
/// for it (here one of yours that denies everything), a path whose dot segments would lead
/// into one of yours is refused with 400 before any location runs, a 418 of yours stays a
/// 418 (the path rules jump with 418 internally), and an upstream include with a URI part
/// works.
#[test]
fn the_path_rules_never_bypass_your_own_locations() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let cases = [
        (
            "route \"/api/*\" { cors api }\n",
            "location ^~ /api/admin/ { deny all; } location = /tea { return 418; }",
            &[
                ("/tea", 418),
                ("/api/admin/secret", 403),
                ("/api%2Fadmin/secret", 403),
                ("//api/admin/secret", 403),
                ("/api//admin/secret", 403),
            ][..],
        ),
        (
            "route \"/api/*\" { cors api }\nroute \"/*\" { }\n",
            "location ^~ /admin/ { deny all; }",
            &[
                ("/admin/secret", 403),
                ("/api/../admin/secret", 400),
                ("/api/%2e%2e/admin/secret", 400),
                ("/api/..%2Fadmin/secret", 400),
            ][..],
        ),
    ];
    for (i, (routes, own, paths)) in cases.iter().enumerate() {
        let text = format!(
            "cors api {{\n    allow-origins \"https://app.example.com\"\n    max-age 2h\n}}\n{routes}"
        );
        let c = Compilation::from_str("own.policy", &text);
        assert!(!c.has_errors(), "{}", c.render());
        for upstream in [Upstream::Proxied, Upstream::ProxiedWithUri] {
            let dir = tempdir(&format!("own-locations-{i}-{upstream:?}"));
            let setup = setup(&bin, &c, "default", &dir, upstream, false).with_own_lines(own);
            let server = start(&bin, &setup);
            for (p, want) in *paths {
                let (status, _) = send(
                    server.addr,
                    "GET",
                    p,
                    &[("Origin".into(), "https://app.example.com".into())],
                );
                assert_eq!(
                    status, *want,
                    "{upstream:?} GET {p}: your `deny all` location, or 400 for dot segments"
                );
            }
            // The route itself still reaches the upstream, with its CORS headers.
            let (status, h) = send(
                server.addr,
                "GET",
                "/api/x",
                &[("Origin".into(), "https://app.example.com".into())],
            );
            assert_eq!(status, 200, "{upstream:?}");
            assert!(
                h.contains(&(
                    "access-control-allow-origin".into(),
                    "https://app.example.com".into()
                )),
                "{upstream:?}: {h:?}"
            );
        }
    }
}

/// `merge_slashes off` elsewhere in the configuration never lets `//` past a guard:
/// `guestlist-server.conf` turns it on for its server (the default server of its address
/// here), so `/api//b/x` is matched as `/api/b/x`, whose route refuses a cross-site POST.
#[test]
fn merge_slashes_off_in_http_does_not_split_the_readings() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let text = "csrf strict {\n}\nroute \"/api/*\" { }\nroute \"/api/b/*\" { csrf strict }\n";
    let c = Compilation::from_str("slashes.policy", text);
    assert!(!c.has_errors(), "{}", c.render());
    let dir = tempdir("merge-slashes");
    let setup = setup(&bin, &c, "default", &dir, Upstream::Proxied, false)
        .with_http_lines("merge_slashes off;");
    let server = start(&bin, &setup);
    for p in ["/api/b/x", "/api//b/x", "/api/b//x", "/api/b%2Fx"] {
        let (status, h) = send(
            server.addr,
            "POST",
            p,
            &[("Sec-Fetch-Site".into(), "cross-site".into())],
        );
        assert_eq!(status, 403, "POST {p}: {h:?}");
    }
    let (status, _) = send(
        server.addr,
        "POST",
        "/api//b/x",
        &[("Sec-Fetch-Site".into(), "same-origin".into())],
    );
    assert_eq!(status, 200);
}

/// The hash sizes are in guestlist-tuning.conf, which nginx takes only before any `map`:
/// included first, `nginx -t` passes; included after a `map` of the user's, nginx refuses it as
/// "duplicate" and names the file, whose first lines say to include it before any `map`.
#[test]
fn the_tuning_file_must_come_before_any_map() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let text = "cors api {\n    allow-origins \"https://app.example.com\"\n}\nroute \"/api/*\" { cors api }\n";
    let c = Compilation::from_str("tuning.policy", text);
    assert!(!c.has_errors(), "{}", c.render());
    let dir = tempdir("tuning");
    let out = dir.join("out");
    let lowered = c.lower("default").unwrap();
    let opts = guestlist_compiler::emit::nginx::Options {
        include_root: out.to_string_lossy().into_owned(),
        upstream_include: None,
        generated_by: "test".into(),
        accepted: Vec::new(),
    };
    let files = guestlist_compiler::emit::nginx::emit(&c, &lowered, &opts).unwrap();
    guestlist_compiler::emit::nginx::write(&out, &files).unwrap();
    let tuning = std::fs::read_to_string(out.join("guestlist-tuning.conf")).unwrap();
    assert!(tuning.contains("BEFORE any `map`"), "{tuning}");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let d = dir.to_string_lossy();
    let o = out.to_string_lossy();
    for (user_map_first, ok) in [(false, true), (true, false)] {
        let user_map = "map $uri $mine { default 0; }";
        let conf = format!(
            "pid {d}/nginx.pid;\nerror_log {d}/logs/error.log;\nevents {{}}\nhttp {{\n    {}\n    include {o}/guestlist-tuning.conf;\n    include {o}/guestlist-http.conf;\n    {}\n    server {{ listen 127.0.0.1:1; include {o}/guestlist-server.conf; }}\n}}\n",
            if user_map_first { user_map } else { "" },
            if user_map_first { "" } else { user_map },
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        let r = std::process::Command::new(&bin)
            .args(["-t", "-p"])
            .arg(&dir)
            .arg("-c")
            .arg(&path)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.success(), ok, "{err}");
        if !ok {
            assert!(err.contains("is duplicate"), "{err}");
            assert!(err.contains("guestlist-tuning.conf"), "{err}");
        }
    }
}

/// A backend that repeats headers: on a path with one reading the upstream's lines reach the
/// client whole, except a header the route's own answer replaces; on a path whose as-sent
/// reading is a partner route, the partner's combinable headers (CSP, Permissions-Policy,
/// Referrer-Policy) are added after the upstream's and the others replace them.
#[test]
fn repeated_upstream_headers_reach_the_client_whole() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let text = "cors api {\n    allow-origins \"https://app.example.com\"\n}\nheaders outer {\n    referrer-policy strict-origin\n    x-frame-options DENY\n    strict-transport-security max-age=600\n    cross-origin-opener-policy same-origin\n}\ncsp outer {\n    default-src 'none'\n}\nroute \"/api/*\" { cors api; headers outer; csp outer }\nroute \"/api/b/*\" { cors api }\n";
    let c = Compilation::from_str("repeat.policy", text);
    assert!(!c.has_errors(), "{}", c.render());
    let dir = tempdir("repeating-upstream");
    let server = start(
        &bin,
        &setup(&bin, &c, "default", &dir, Upstream::ProxiedRepeating, false),
    );
    let values = |path: &str| {
        let (status, h) = send_raw(
            server.addr,
            "GET",
            path,
            &[("Origin".into(), "https://app.example.com".into())],
        );
        assert_eq!(status, 200, "GET {path}");
        move |name: &str| -> Vec<String> {
            h.iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .collect()
        }
    };
    let one = values("/api/b/x");
    assert_eq!(
        one("permissions-policy"),
        ["camera=(), microphone=()", "usb=()"]
    );
    assert_eq!(one("referrer-policy"), ["no-referrer", "same-origin"]);
    assert_eq!(
        one("content-security-policy"),
        ["img-src *", "script-src 'self'"]
    );
    // Hidden for the partner's answer, passed on from its first line: the line browsers read.
    assert_eq!(one("strict-transport-security"), ["max-age=1"]);
    assert_eq!(one("x-frame-options"), ["SAMEORIGIN"]);
    assert_eq!(one("set-cookie"), ["a=1", "b=2"]);
    assert!(one("cross-origin-opener-policy").is_empty());

    let two = values("/api/b%2Fx");
    assert_eq!(
        two("permissions-policy"),
        ["camera=(), microphone=()", "usb=()"]
    );
    assert_eq!(
        two("referrer-policy"),
        ["no-referrer", "same-origin", "strict-origin"]
    );
    assert_eq!(
        two("content-security-policy"),
        ["img-src *", "script-src 'self'", "default-src 'none'"]
    );
    assert_eq!(two("strict-transport-security"), ["max-age=600"]);
    assert_eq!(two("x-frame-options"), ["DENY"]);
    assert_eq!(two("set-cookie"), ["a=1", "b=2"]);
    assert_eq!(two("cross-origin-opener-policy"), ["same-origin"]);

    // The route that sets them: its own values only.
    let own = values("/api/x");
    assert_eq!(own("referrer-policy"), ["strict-origin"]);
    assert_eq!(own("content-security-policy"), ["default-src 'none'"]);
    assert_eq!(own("strict-transport-security"), ["max-age=600"]);
    assert_eq!(own("set-cookie"), ["a=1", "b=2"]);
}

/// A list-valued header the location's own route sets, where another answer of the location
/// (a path that reads as the route above when sent) leaves it to the upstream: that answer
/// gets the upstream's first line whole, commas and all (nginx 1.22 reads only the first line
/// of a repeated header: spec/nginx.md, "Where nginx and the runtime can differ").
#[test]
fn a_list_valued_header_left_to_the_upstream_keeps_its_first_line_whole() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    let text = "headers below {\n    permissions-policy geolocation=()\n    referrer-policy strict-origin\n}\nroute \"/api/*\" { }\nroute \"/api/b/*\" { headers below }\n";
    let c = Compilation::from_str("below.policy", text);
    assert!(!c.has_errors(), "{}", c.render());
    let dir = tempdir("list-valued-upstream");
    let server = start(
        &bin,
        &setup(&bin, &c, "default", &dir, Upstream::ProxiedRepeating, false),
    );
    let get = |path: &str, name: &str| -> Vec<String> {
        let (status, h) = send_raw(server.addr, "GET", path, &[]);
        assert_eq!(status, 200, "GET {path}");
        h.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    // The route's own answer: its values replace the upstream's.
    assert_eq!(get("/api/b/x", "permissions-policy"), ["geolocation=()"]);
    assert_eq!(get("/api/b/x", "referrer-policy"), ["strict-origin"]);
    // Read as `/api/*` when sent: the upstream's, from its first line, whole.
    let pp = get("/api/b%2Fx", "permissions-policy");
    assert_eq!(
        pp.first().map(String::as_str),
        Some("camera=(), microphone=()"),
        "{pp:?}"
    );
    let rp = get("/api/b%2Fx", "referrer-policy");
    assert_eq!(
        rp.first().map(String::as_str),
        Some("no-referrer"),
        "{rp:?}"
    );
}

/// A list-valued header nginx hides on a location only where the answers that leave it to
/// the upstream serve paths that are not structurally normal (the route below removes it; its
/// paths that read as the route above when sent get the upstream's first line, whole), or
/// not at all (a host block's route sets a Referrer-Policy, added after the upstream's lines,
/// the last token winning as the runtime's replacement does): every ordinary request keeps the
/// upstream's lines whole. The cases nginx cannot apply (the route above, or one host's route,
/// removing it; the top-level route setting it where a host block's route leaves it; a host
/// block's route setting a Permissions-Policy) are refused:
/// `nginx_export_refuses_a_header_it_cannot_apply_to_one_reading` and
/// spec/diagnostics/cases/gl1110-nginx-host-list-header.policy.
#[test]
fn a_list_valued_header_is_hidden_only_where_ordinary_requests_keep_their_lines() {
    let Some(bin) = require_tool("nginx") else {
        return;
    };
    // (header, host, path, the lines the client gets; empty where the runtime removes it)
    type Expect<'a> = (&'a str, &'a str, &'a str, &'a [&'a str]);
    let (pp, csp) = ("permissions-policy", "content-security-policy");
    let cases: [(&str, &[Expect<'_>]); 2] = [
        (
            "headers rm {\n    remove content-security-policy permissions-policy\n}\nroute \"/api/*\" { }\nroute \"/api/b/*\" { headers rm }\n",
            &[
                (pp, "localhost", "/api/b/x", &[]),
                (csp, "localhost", "/api/b/x", &[]),
                (pp, "localhost", "/api/b%2Fx", &["camera=(), microphone=()"]),
                (csp, "localhost", "/api/b%2Fx", &["img-src *"]),
                // Another location, which hides nothing: every line.
                (pp, "localhost", "/api/x", &["camera=(), microphone=()", "usb=()"]),
            ],
        ),
        (
            "headers rp {\n    referrer-policy strict-origin\n}\nroute \"/api/*\" { }\nhost \"x.example.com\" {\n    route \"/api/*\" { headers rp }\n}\n",
            &[
                (
                    "referrer-policy",
                    "x.example.com",
                    "/api/x",
                    &["no-referrer", "same-origin", "strict-origin"],
                ),
                (
                    "referrer-policy",
                    "localhost",
                    "/api/x",
                    &["no-referrer", "same-origin"],
                ),
            ],
        ),
    ];
    for (i, (text, expect)) in cases.iter().enumerate() {
        let c = Compilation::from_str("lists.policy", text);
        assert!(!c.has_errors(), "{}", c.render());
        let dir = tempdir(&format!("list-valued-hidden-{i}"));
        let server = start(
            &bin,
            &setup(&bin, &c, "default", &dir, Upstream::ProxiedRepeating, false),
        );
        for (name, host, path, want) in *expect {
            let headers = [("Host".to_string(), (*host).to_string())];
            let (status, h) = send_raw(server.addr, "GET", path, &headers);
            assert_eq!(status, 200, "{text}: {host} {path}");
            let got: Vec<&str> = h
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            if path.contains('%') {
                // The first line, whole (nginx 1.22; 1.23 and later join every line with ", ").
                let first = want.first().copied().unwrap_or_default();
                assert!(
                    got.len() == usize::from(!want.is_empty())
                        && got.first().copied().unwrap_or_default().starts_with(first),
                    "{text}: {host} {path}: {got:?}"
                );
            } else {
                assert_eq!(got, *want, "{text}: {host} {path}");
            }
            // The runtime removes it exactly where nginx sends none.
            let answer = guestlist_compiler::explain::explain(
                &c.lower("default").unwrap(),
                "GET",
                path,
                &headers,
            )
            .unwrap();
            assert_eq!(
                answer.removed.iter().any(|n| n == name),
                want.is_empty(),
                "{text}: {host} {path}: {answer:?}"
            );
        }
    }
}

/// The library's `emit` refuses what `errors` reports as GL1110 for a list-valued header (the
/// location writer alone cannot tell which answers serve a host's ordinary requests), as the
/// CLI and `Build` do: never a configuration that loses the application's header lines.
#[test]
fn emit_refuses_a_list_valued_header_hidden_from_a_hosts_ordinary_requests() {
    let path = root().join("spec/diagnostics/cases/gl1110-nginx-host-list-header.policy");
    let c = Compilation::load(&[&path]).unwrap();
    assert!(!c.has_errors(), "{}", c.render());
    let lowered = c.lower("default").unwrap();
    let codes: Vec<&str> = guestlist_compiler::emit::nginx::errors(&c, &lowered, &[])
        .iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(codes, ["GL1110"; 3], "{codes:?}");
    let opts = guestlist_compiler::emit::nginx::Options {
        include_root: "/x".into(),
        upstream_include: None,
        generated_by: "test".into(),
        accepted: Vec::new(),
    };
    let e = guestlist_compiler::emit::nginx::emit(&c, &lowered, &opts).unwrap_err();
    assert!(e.to_string().contains("referrer-policy"), "{e}");
}
