//! Hostile input to the CLI and the runtime: a clear error or a correct decision, never a
//! panic or a hang, and never a half-written output file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests fail by panicking

mod support;
use support::tempdir;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guestlist"))
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn no_panic(o: &Output) {
    let e = text(&o.stderr);
    assert!(
        !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
        "{e}"
    );
    assert!(o.status.code().is_some(), "killed by a signal");
}

#[test]
fn bad_files_get_clear_errors() {
    let dir = tempdir("hostile-files");
    let cases: Vec<(PathBuf, Vec<u8>, i32, &str)> = vec![
        (
            dir.join("binary.policy"),
            vec![0x7f, b'E', b'L', b'F', 0, 1, 2],
            1,
            "GL0004",
        ),
        (
            dir.join("latin1.policy"),
            b"cors caf\xe9 {}\n".to_vec(),
            1,
            "not UTF-8",
        ),
        (
            dir.join("huge.policy"),
            vec![b'#'; 17 << 20],
            1,
            "too large",
        ),
        (
            dir.join("long-line.policy"),
            format!(
                "cors a {{ allow-origins \"https://{}.com\" }}\n",
                "a".repeat(1 << 20)
            )
            .into_bytes(),
            1,
            "GL0217",
        ),
        (
            dir.join("garbage.policy"),
            "}{;\"".repeat(100_000).into_bytes(),
            1,
            "GL0001",
        ),
        (
            dir.join("control.policy"),
            b"cors a {\x01\x02}\n".to_vec(),
            1,
            "GL0001",
        ),
    ];
    for (path, bytes, code, needle) in &cases {
        std::fs::write(path, bytes).unwrap();
        let o = run(&["check", path.to_str().unwrap()]);
        no_panic(&o);
        assert_eq!(
            o.status.code(),
            Some(*code),
            "{}: {}",
            path.display(),
            text(&o.stderr)
        );
        assert!(
            text(&o.stderr).contains(needle),
            "{}: {}",
            path.display(),
            &text(&o.stderr)[..text(&o.stderr).len().min(2000)]
        );
    }
    for args in [
        vec!["check", dir.to_str().unwrap()],
        vec!["check", "/nonexistent.policy"],
        vec!["fmt", dir.to_str().unwrap()],
    ] {
        let o = run(&args);
        no_panic(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn one_hundred_thousand_origins() {
    let dir = tempdir("hostile-big");
    let mut p = String::from("origins many {\n");
    for i in 0..100_000 {
        p.push_str(&format!("    \"https://h{i}.example.com\"\n"));
    }
    p.push_str(
        "}\ncors api {\n    allow-origins many\n    max-age 2h\n}\nroute \"/api/*\" { cors api }\n",
    );
    let path = dir.join("big.policy");
    std::fs::write(&path, p).unwrap();
    let o = run(&["check", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let o = run(&[
        "explain",
        path.to_str().unwrap(),
        "--method",
        "GET",
        "--path",
        "/api/x",
        "-H",
        "Origin: https://h99999.example.com",
        "--format",
        "json",
    ]);
    assert!(
        text(&o.stdout).contains("\"kind\":\"actual-allowed\""),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn hostile_requests_get_correct_decisions() {
    let c = guestlist_compiler::Compilation::load(&[
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/site.policy")
    ])
    .unwrap();
    let policy = c.lower("default").unwrap().policy;
    let h = |v: Vec<(String, String)>| v;
    // Control characters, huge values, and 10,000 header lines.
    let mut many: Vec<(String, String)> = (0..10_000)
        .map(|i| (format!("x-h{i}"), "v".to_string()))
        .collect();
    many.push(("Origin".into(), "https://app.example.com".into()));
    let cases = [
        (
            h(vec![(
                "Origin".into(),
                "https://app.example.com\u{1}".into(),
            )]),
            "GET",
            guestlist::Kind::ActualNotAllowed,
        ),
        (
            h(vec![(
                "Origin".into(),
                format!("https://{}.preview.example.com", "a.".repeat(50_000)),
            )]),
            "GET",
            guestlist::Kind::ActualNotAllowed,
        ),
        (many, "GET", guestlist::Kind::ActualAllowed),
        (
            h(vec![
                ("Origin".into(), "https://app.example.com".into()),
                ("Access-Control-Request-Method".into(), "PUT".into()),
                ("Access-Control-Request-Headers".into(), ",".repeat(1 << 20)),
            ]),
            "OPTIONS",
            guestlist::Kind::PreflightRejected,
        ),
        (
            h(vec![
                ("Origin".into(), "https://app.example.com".into()),
                ("Access-Control-Request-Method".into(), "PUT\r\nX: y".into()),
            ]),
            "OPTIONS",
            guestlist::Kind::PreflightRejected,
        ),
    ];
    for (headers, method, want) in cases {
        let d = policy.decide(method, "/api/x", &headers[..]);
        assert_eq!(d.kind, want, "{:?}", d.reason);
    }
    // Paths: enormous, dot-dot storms, bad escapes.
    let long = format!("/api/{}", "a/".repeat(100_000));
    for p in [
        long.as_str(),
        "/api/%",
        "/api/%zz",
        "/../../..",
        "/api/\u{0}",
    ] {
        let _ = policy.decide("GET", p, &[("Origin", "https://app.example.com")][..]);
    }
}

#[test]
fn failed_writes_leave_no_half_written_file() {
    let dir = tempdir("hostile-writes");
    let site = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/site.policy");
    // The target is a non-empty directory: the rename fails, the directory is untouched and no
    // temporary file is left behind.
    let target = dir.join("out.rs");
    std::fs::create_dir_all(target.join("keep")).unwrap();
    let o = run(&[
        "emit",
        "rust",
        site.to_str().unwrap(),
        "-o",
        target.to_str().unwrap(),
    ]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["out.rs"], "{left:?}");
    assert!(target.join("keep").is_dir());
    // A parent that is a file.
    let file = dir.join("plain");
    std::fs::write(&file, "x").unwrap();
    let o = run(&[
        "emit",
        "docs",
        site.to_str().unwrap(),
        "-o",
        file.join("policy.md").to_str().unwrap(),
    ]);
    no_panic(&o);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    // An existing output keeps its old bytes when the policy has errors.
    let good = dir.join("good.rs");
    std::fs::write(&good, "old").unwrap();
    let bad = dir.join("bad.policy");
    std::fs::write(&bad, "cors a {\n").unwrap();
    let o = run(&[
        "emit",
        "rust",
        bad.to_str().unwrap(),
        "-o",
        good.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&good).unwrap(), "old");
}
