//! Hostile input to the CLI and the runtime: a clear error or a correct decision, never a
//! panic or a hang, and never a half-written output file.
#![expect(clippy::unwrap_used, clippy::panic, reason = "tests fail by panicking")]

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

/// Runs the CLI with `args`, its stdin an open pipe nobody writes to (so a read of
/// `/dev/stdin` would wait), and kills it after `limit`: a command that has not finished by
/// then fails the test instead of hanging it.
fn run_within(args: &[&str], limit: std::time::Duration) -> Output {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_guestlist"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`guestlist {}` still running after {limit:?}",
                args.join(" ")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Stdin is dropped only now: while the command ran, it stayed open and empty.
    child.wait_with_output().unwrap()
}

/// A FIFO, a device or a `/proc` entry, named on the command line or imported, is refused
/// before it is opened (opening a FIFO blocks until a writer comes; `/dev/stdin` would eat a
/// language server's input): the reason in words, never a hang.
#[cfg(unix)]
#[test]
fn only_regular_files_are_read() {
    let dir = tempdir("hostile-fifo");
    let fifo = dir.join("pipe.policy");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    let link = dir.join("link.policy");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let limit = std::time::Duration::from_secs(20);
    let fifo_s = fifo.to_str().unwrap();
    let link_s = link.to_str().unwrap();

    // Named on the command line: an I/O error (exit 2) with the reason.
    for (path, why) in [
        (fifo_s, "is a FIFO, not a regular file"),
        (link_s, "is a FIFO, not a regular file"),
        ("/dev/null", "is a character device, not a regular file"),
        ("/dev/stdin", "not a regular file"),
        ("/proc/self/status", "is a /proc entry, not a regular file"),
    ] {
        for cmd in ["check", "fmt"] {
            let o = run_within(&[cmd, path], limit);
            no_panic(&o);
            assert_eq!(
                o.status.code(),
                Some(2),
                "{cmd} {path}: {}",
                text(&o.stderr)
            );
            let e = text(&o.stderr);
            assert!(
                e.contains(&format!("cannot read {path}")),
                "{cmd} {path}: {e}"
            );
            assert!(e.contains(why), "{cmd} {path}: {e}");
        }
    }

    // Imported: GL0002 with the reason, and the rest of the policy still checked.
    for (target, why) in [
        (fifo_s, "is a FIFO, not a regular file"),
        ("link.policy", "is a FIFO, not a regular file"),
        ("/dev/stdin", "not a regular file"),
        ("/proc/self/status", "is a /proc entry, not a regular file"),
    ] {
        let main = dir.join("main.policy");
        std::fs::write(
            &main,
            format!("import \"{target}\"\ncors a {{ allow-origins \"https://a.example.com/\"; max-age 2h }}\nroute \"/a/*\" {{ cors a }}\n"),
        )
        .unwrap();
        let o = run_within(&["check", main.to_str().unwrap()], limit);
        no_panic(&o);
        let e = text(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "import {target}: {e}");
        assert!(e.contains("error[GL0002]"), "import {target}: {e}");
        assert!(e.contains(why), "import {target}: {e}");
        assert!(e.contains("a regular file"), "import {target}: {e}");
        // The trailing slash: the importing file was checked all the same.
        assert!(e.contains("GL0204"), "import {target}: {e}");
    }
}

/// Hostile files given to `check --origins`: binary data, a 10 MB line, NUL bytes, invalid
/// UTF-8, a file far over 16 MiB (sparse: the read stops one byte past the limit, or the test
/// would read gigabytes). Each is a clear error at its place (exit 1), never a panic.
#[test]
fn hostile_supplied_files_get_clear_errors() {
    let dir = tempdir("hostile-supplied");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins tenants provided\ncors api { allow-origins tenants }\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let mut binary = b"\x7fELF\x02\x01\x01\x00".to_vec();
    binary.extend((0..=255u8).cycle().take(1 << 16));
    let long = format!("https://{}.example.com\n", "a".repeat(10 << 20)).into_bytes();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("binary.txt", binary, "error[GL1405]"),
        ("long.txt", long, "error[GL0201]"),
        (
            "nul.txt",
            b"https://a.example.com\nhttps://b.example.com\0\n".to_vec(),
            "error[GL1405]",
        ),
        (
            "latin1.txt",
            b"https://a.example.com\nhttps://b\xe9.example.com\n".to_vec(),
            "error[GL1405]",
        ),
    ];
    for (name, bytes, want) in cases {
        let file = dir.join(name);
        std::fs::write(&file, bytes).unwrap();
        let o = run(&[
            "check",
            policy.to_str().unwrap(),
            "--origins",
            &format!("tenants={}", file.display()),
        ]);
        no_panic(&o);
        let err = text(&o.stderr);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{name}: {}",
            &err[..err.len().min(2000)]
        );
        assert!(
            err.contains(want),
            "{name}: {}",
            &err[..err.len().min(2000)]
        );
        assert!(
            err.contains(&format!("{name}:")),
            "{name}: the file is named"
        );
        // The output stays readable: the 10 MB line is not echoed whole.
        assert!(err.len() < 1 << 20, "{name}: {} bytes of stderr", err.len());
    }
    // NUL and invalid UTF-8 are named at their line.
    let o = run(&[
        "check",
        policy.to_str().unwrap(),
        "--origins",
        &format!("tenants={}", dir.join("nul.txt").display()),
    ]);
    assert!(
        text(&o.stderr).contains("nul.txt:2:"),
        "{}",
        text(&o.stderr)
    );
    // Far over the limit: one error naming it.
    let big = dir.join("big.txt");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(4 << 30)
        .unwrap();
    let o = run(&[
        "check",
        policy.to_str().unwrap(),
        "--origins",
        &format!("tenants={}", big.display()),
    ]);
    no_panic(&o);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("error[GL1406]"), "{err}");
    assert!(err.contains("16 MiB"), "{err}");
}

/// A supplied file of 16 MiB of malformed lines (8 million of them): the first lines are
/// reported one by one and the rest counted in one error, so memory and output stay bounded;
/// likewise a file of a million refused entries.
#[test]
fn a_file_of_bad_lines_gives_bounded_output() {
    let dir = tempdir("hostile-bad-lines");
    let policy = dir.join("p.policy");
    std::fs::write(
        &policy,
        "origins tenants provided\ncors api { allow-origins tenants }\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let bad_lines = dir.join("bad-lines.txt");
    let lines = (16 << 20) / 2;
    std::fs::write(&bad_lines, b"\xff\n".repeat(lines)).unwrap();
    let refused = dir.join("refused.txt");
    std::fs::write(&refused, "x\n".repeat(1_000_000)).unwrap();
    for (file, first, more) in [
        (
            &bad_lines,
            "bad-lines.txt:1:",
            format!(
                "error[GL1405]: {} more malformed lines in a supplied file",
                lines - 100
            ),
        ),
        (
            &refused,
            "refused.txt:1:",
            "error[GL1405]: 999900 more refused entries in a supplied file".to_string(),
        ),
    ] {
        let o = run(&[
            "check",
            policy.to_str().unwrap(),
            "--origins",
            &format!("tenants={}", file.display()),
        ]);
        no_panic(&o);
        let err = text(&o.stderr);
        let head = &err[..err.len().min(2000)];
        assert_eq!(o.status.code(), Some(1), "{head}");
        assert!(err.contains(first), "{head}");
        assert!(
            err.contains(&more),
            "{}",
            &err[err.len().saturating_sub(2000)..]
        );
        assert!(err.len() < 1 << 20, "{} bytes of stderr", err.len());
        assert!(err.matches("error[").count() <= 102, "{head}");
    }
}
