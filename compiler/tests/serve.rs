//! `guestlist serve`: the first stdout line gives the bound address; requests are decided by
//! the runtime's layer and logged with their decision; https with `--tls-cert/--tls-key`.
#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use support::{serve_policy, Server};

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn serve(extra: &[&str]) -> Server {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/site.policy");
    serve_policy(&site, extra)
}

fn raw(addr: &str, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_the_policy_and_logs_decisions() {
    let mut server = serve(&[]);
    let addr = server.url.strip_prefix("http://").unwrap().to_string();
    let r = raw(&addr, "OPTIONS /api/users/1 HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\nAccess-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 204"), "{r}");
    assert!(r.contains("access-control-allow-methods: PUT"), "{r}");
    let r = raw(&addr, "DELETE /api/users/1 HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example.com\r\nConnection: close\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(
        r.ends_with("{\"method\":\"DELETE\",\"path\":\"/api/users/1\"}\n"),
        "{r}"
    );
    assert!(
        r.contains("access-control-allow-origin: https://app.example.com"),
        "{r}"
    );
    let r = raw(&addr, "OPTIONS /api/users/1 HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.test\r\nAccess-Control-Request-Method: PUT\r\nConnection: close\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    let _ = server.child.kill();
    let mut log = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("OPTIONS /api/users/1 origin=https://app.example.com -> preflight-ok (preflight-allowed) 204"), "{log}");
    assert!(
        log.contains(
            "DELETE /api/users/1 origin=https://app.example.com -> actual-allowed (origin-allowed)"
        ),
        "{log}"
    );
    assert!(log.contains("OPTIONS /api/users/1 origin=https://evil.test -> preflight-rejected (origin-not-allowed) 403"), "{log}");
}

#[test]
fn serves_https() {
    let dir = std::env::temp_dir().join(format!("guestlist-serve-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let Some(openssl) = support::require_tool("openssl") else {
        return;
    };
    let Some(curl) = support::require_tool("curl") else {
        return;
    };
    let ok = Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let server = serve(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let out = Command::new(curl)
        .args(["-sk", "-D", "-", "-H", "Origin: https://app.example.com"])
        .arg(format!("{}/api/x", server.url))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("access-control-allow-origin: https://app.example.com"),
        "{text}"
    );
    // A mismatched pair is a clear error, not a crash.
    let o = Command::new(env!("CARGO_BIN_EXE_guestlist"))
        .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
        .arg(&key)
        .arg("--tls-key")
        .arg(&key)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/site.policy"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no certificate found"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A credentialed cors policy on `/api/*` whose only origins are the tenant-bound provided set
/// `tenants`, in a fresh directory.
fn tenants_policy(dir: &Path) -> std::path::PathBuf {
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins tenants provided tenant-bound\ncors api {\n    allow-origins      tenants\n    allow-credentials  true\n}\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    policy
}

/// The `access-control-allow-origin` the server answers a GET from `origin` with, if any.
fn allowed_origin(addr: &str, origin: &str) -> Option<String> {
    let r = raw(
        addr,
        &format!("GET /api/x HTTP/1.1\r\nHost: x\r\nOrigin: {origin}\r\nConnection: close\r\n\r\n"),
    );
    assert!(r.starts_with("HTTP/1.1 "), "{r}");
    r.lines()
        .find_map(|l| l.strip_prefix("access-control-allow-origin: "))
        .map(|v| v.trim().to_string())
}

/// `--origins` supplies a set to `serve`; SIGHUP reads the file again: a good file replaces
/// the set (the report on stderr), a bad or missing one keeps the old set (its errors at
/// `FILE:LINE`).
#[cfg(unix)]
#[test]
fn serve_supplies_sets_and_reads_them_again_on_sighup() {
    use std::sync::{Arc, Mutex};
    let dir = support::tempdir("serve-origins");
    let policy = tenants_policy(&dir);
    let file = dir.join("tenants.txt");
    std::fs::write(&file, "# tenants\nhttps://a.example.com tenant-a\n").unwrap();
    let arg = format!("tenants={}", file.display());
    let mut server = serve_policy(&policy, &["--origins", &arg]);
    let addr = server.url.strip_prefix("http://").unwrap().to_string();
    // stderr, read as it comes.
    let log = Arc::new(Mutex::new(String::new()));
    let reader = {
        let log = Arc::clone(&log);
        let stderr = server.child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut l = log.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        })
    };
    let logged = |what: &str| log.lock().unwrap().contains(what);
    let hup = |pid: u32| {
        let ok = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    let pid = server.child.id();
    let a = "https://a.example.com";
    let b = "https://b.example.com";
    assert_eq!(allowed_origin(&addr, a).as_deref(), Some(a));
    assert_eq!(allowed_origin(&addr, b), None);
    support::poll_until("the start is logged", Duration::from_secs(10), || {
        logged(&format!(
            "origins tenants: 1 entries from {}",
            file.display()
        ))
        .then_some(())
    });

    // A new file: after SIGHUP, b is allowed and a no longer is.
    std::fs::write(&file, "https://b.example.com tenant-b\n").unwrap();
    hup(pid);
    support::poll_until("b allowed after SIGHUP", Duration::from_secs(10), || {
        (allowed_origin(&addr, b).as_deref() == Some(b)).then_some(())
    });
    assert_eq!(allowed_origin(&addr, a), None);
    support::poll_until("the report", Duration::from_secs(10), || {
        logged("SIGHUP: origins tenants: 1 entries from").then_some(())
    });
    {
        let l = log.lock().unwrap();
        assert!(l.contains("1 added, 1 removed"), "{l}");
        assert!(l.contains("  + https://b.example.com\n"), "{l}");
        assert!(l.contains("  - https://a.example.com\n"), "{l}");
    }

    // A bad file: the old set stays, the error names the file and line.
    std::fs::write(
        &file,
        "https://c.example.com tenant-c\n\nhttp://d.example.com tenant-d\n",
    )
    .unwrap();
    hup(pid);
    let kept = format!(
        "SIGHUP: origins tenants: {} has errors; the old set stays",
        file.display()
    );
    support::poll_until("the bad file is refused", Duration::from_secs(10), || {
        logged(&kept).then_some(())
    });
    {
        let l = log.lock().unwrap();
        assert!(l.contains("error[GL0214]"), "{l}");
        assert!(l.contains(&format!("{}:3:1", file.display())), "{l}");
    }
    assert_eq!(allowed_origin(&addr, b).as_deref(), Some(b));
    assert_eq!(allowed_origin(&addr, "https://c.example.com"), None);

    // A missing file: the old set stays.
    std::fs::remove_file(&file).unwrap();
    hup(pid);
    support::poll_until(
        "the missing file is reported",
        Duration::from_secs(10),
        || logged("cannot read").then_some(()),
    );
    assert!(log.lock().unwrap().contains("; the old set stays"));
    assert_eq!(allowed_origin(&addr, b).as_deref(), Some(b));

    let _ = server.child.kill();
    let _ = server.child.wait();
    reader.join().unwrap();
}

/// Without `--origins` the set starts empty (GL1403 says so); `serve` takes the same usage
/// errors as `check` (exit 2) and refuses a bad entry (exit 1, at `FILE:LINE`).
#[test]
fn serve_starts_provided_sets_empty_and_refuses_bad_files() {
    let dir = support::tempdir("serve-origins-errors");
    let policy = tenants_policy(&dir);
    let mut server = serve_policy(&policy, &[]);
    let addr = server.url.strip_prefix("http://").unwrap().to_string();
    assert_eq!(allowed_origin(&addr, "https://a.example.com"), None);
    let _ = server.child.kill();
    let mut log = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("GL1403"), "{log}");

    let good = dir.join("good.txt");
    std::fs::write(&good, "https://a.example.com tenant-a\n").unwrap();
    let bad = dir.join("bad.txt");
    std::fs::write(
        &bad,
        "https://a.example.com tenant-a\nhttps://B.example.com tenant-b\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let run = |origins: &[String]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_guestlist"));
        c.args(["serve", p, "--listen", "127.0.0.1:0"]);
        for o in origins {
            c.args(["--origins", o]);
        }
        c.output().unwrap()
    };
    let arg = |name: &str, f: &Path| format!("{name}={}", f.display());
    for (args, why) in [
        (vec![arg("nosuch", &good)], "no origins set `nosuch`"),
        (
            vec![arg("tenants", &dir.join("missing.txt"))],
            "cannot read",
        ),
        (
            vec![arg("tenants", &good), arg("tenants", &good)],
            "supplied twice",
        ),
        (vec!["tenants".to_string()], "write NAME=FILE"),
    ] {
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
    }
    let o = run(&[arg("tenants", &bad)]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[GL0206]"), "{err}");
    assert!(err.contains(&format!("{}:2:9", bad.display())), "{err}");
    assert!(err.contains("not serving"), "{err}");
}
