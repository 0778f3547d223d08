//! `guestlist serve`: the first stdout line gives the bound address; requests are decided by
//! the runtime's layer and logged with their decision; https with `--tls-cert/--tls-key`.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Server {
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/site.policy");
    let mut child = Command::new(env!("CARGO_BIN_EXE_guestlist"))
        .arg("serve")
        .arg(site)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .expect("first line gives the address")
        .to_string();
    assert!(url.contains("://127.0.0.1:"), "{url}");
    Server { child, url }
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
