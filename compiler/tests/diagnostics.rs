//! The diagnostics corpus: `spec/diagnostics/cases/*.policy`.
//!
//! Each case states what the checker must find, in comments:
//! - `#   ^ GL0213` under a line: a diagnostic with that code starts at the caret's column of
//!   the nearest line above that is not such a marker (optionally `^ GL0214 warning` to pin
//!   the severity);
//! - `#@ GL0107 7:9`: a diagnostic at line 7, column 9.
//!
//! Every expected diagnostic must be found, and every error or warning found must be
//! expected (notes may go unlisted). Every error must carry a help line. The rendered output
//! is compared with `NAME.stderr` next to the case; `BLESS=1 cargo test` rewrites those.

#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use guestlist_compiler::{Compilation, Severity};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Expect {
    code: String,
    line: usize,
    col: usize,
    severity: Option<String>,
}

fn expectations(text: &str) -> Vec<Expect> {
    let mut out = Vec::new();
    let mut target = 0;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        let trimmed = line.trim_start_matches(['#', ' ']);
        if line.starts_with('#') && trimmed.starts_with('^') {
            let col = line.find('^').unwrap() + 1;
            let mut words = trimmed.trim_start_matches('^').split_whitespace();
            out.push(Expect {
                code: words.next().unwrap().to_string(),
                line: target,
                col,
                severity: words.next().map(str::to_string),
            });
        } else if let Some(rest) = line.strip_prefix("#@ ") {
            let mut words = rest.split_whitespace();
            let code = words.next().unwrap().to_string();
            let (l, c) = words.next().unwrap().split_once(':').unwrap();
            out.push(Expect {
                code,
                line: l.parse().unwrap(),
                col: c.parse().unwrap(),
                severity: words.next().map(str::to_string),
            });
        } else {
            target = lineno;
        }
    }
    out
}

#[test]
fn diagnostics_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/diagnostics/cases");
    std::env::set_current_dir(&dir).unwrap();
    let bless = std::env::var_os("BLESS").is_some();
    let mut cases: Vec<_> = std::fs::read_dir(".")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "policy"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut codes_seen = BTreeSet::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let c = Compilation::load(&[Path::new(&name)]).unwrap();
        // Expectations from the case and from every file it imports.
        let mut expected: Vec<(String, Expect)> = Vec::new();
        for (_, f) in c.sources().files() {
            for e in expectations(&f.text) {
                expected.push((f.name.clone(), e));
            }
        }
        let mut found: Vec<(String, Expect, Severity, bool)> = c
            .diagnostics()
            .iter()
            .map(|d| {
                let (file, line, col) = c.sources().location(d.span);
                (
                    file,
                    Expect {
                        code: d.code.to_string(),
                        line,
                        col,
                        severity: None,
                    },
                    d.severity,
                    d.help.is_some(),
                )
            })
            .collect();
        for (file, e) in &expected {
            let pos = found.iter().position(|(f, x, sev, _)| {
                f == file
                    && x.code == e.code
                    && x.line == e.line
                    && x.col == e.col
                    && e.severity.as_deref().is_none_or(|s| s == sev.as_str())
            });
            match pos {
                Some(i) => {
                    codes_seen.insert(e.code.clone());
                    found.remove(i);
                }
                None => failures.push(format!(
                    "{name}: expected {} at {file}:{}:{} {:?}",
                    e.code, e.line, e.col, e.severity
                )),
            }
        }
        for (file, x, sev, _) in &found {
            if *sev != Severity::Note {
                failures.push(format!(
                    "{name}: unexpected {} {} at {file}:{}:{}",
                    sev.as_str(),
                    x.code,
                    x.line,
                    x.col
                ));
            }
        }
        for d in c.diagnostics() {
            if d.severity != Severity::Note && d.help.is_none() {
                failures.push(format!(
                    "{name}: {} {} has no help line",
                    d.severity.as_str(),
                    d.code
                ));
            }
        }
        let rendered = c.render();
        let golden = case.with_extension("stderr");
        if bless {
            std::fs::write(&golden, &rendered).unwrap();
        } else {
            match std::fs::read_to_string(&golden) {
                Ok(g) if g == rendered => {}
                Ok(_) => failures.push(format!(
                    "{name}: rendered output differs from {} (BLESS=1 to update)",
                    golden.display()
                )),
                Err(_) => failures.push(format!(
                    "{name}: missing {} (BLESS=1 to create)",
                    golden.display()
                )),
            }
        }
    }
    // Every code in the registry that a policy can trigger has a case (GL0004 is tested below,
    // GL0960 (retired); GL1010, GL1011, GL1012, GL1201 and GL1202, raised when emitting to an
    // edge, in tests/cli.rs; GL1203 in tests/haproxy.rs; GL1220 and Caddy's GL1407 in
    // tests/caddy.rs; GL1301-GL1322, raised when exporting to Gateway API, in
    // tests/gateway_api.rs; GL1404,
    // raised on supplied entries, in guestlist-origins; GL1405, GL1406, GL1408 and GL1409, raised on
    // supplied files, and GL1407, raised when emitting nginx, in tests/cli.rs and
    // guestlist-origins; GL1601-GL1699, raised by `probe`, in tests/probe.rs).
    for info in guestlist_compiler::diag::codes::ALL {
        if ![
            "GL0004", "GL0960", "GL1010", "GL1011", "GL1012", "GL1201", "GL1202", "GL1203",
            "GL1220", "GL1404", "GL1405", "GL1406", "GL1407", "GL1408", "GL1409",
        ]
        .contains(&info.code)
            && !info.code.starts_with("GL13")
            && !info.code.starts_with("GL16")
            && !codes_seen.contains(info.code)
        {
            failures.push(format!("no case asserts {}", info.code));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn not_a_policy_file() {
    let dir = support::tempdir("diag");
    let bin = dir.join("binary.policy");
    std::fs::write(&bin, b"cors \xff\xfe {\n").unwrap();
    let c = Compilation::load(&[&bin]).unwrap();
    let d = &c.diagnostics()[0];
    assert_eq!((d.code, c.sources().location(d.span).1), ("GL0004", 1));
    assert!(c.render().contains("not UTF-8"));
    let big = dir.join("big.policy");
    std::fs::write(&big, "#".repeat(17 << 20)).unwrap();
    let c = Compilation::load(&[&big]).unwrap();
    assert_eq!(c.diagnostics()[0].code, "GL0004");
    assert!(Compilation::load(&[dir.join("missing.policy")]).is_err());
    assert!(Compilation::load(&[&dir]).is_err());
}

#[test]
fn every_code_is_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../spec/diagnostics.md"
    ))
    .unwrap();
    for info in guestlist_compiler::diag::codes::ALL {
        let heading = format!("### {}: ", info.code);
        let line = doc.lines().find(|l| l.starts_with(&heading));
        let line = line.unwrap_or_else(|| panic!("{} is not documented", info.code));
        let sev = info.severity.as_str();
        assert!(
            line.contains(sev),
            "{}: documented severity differs from {sev}: {line}",
            info.code
        );
        assert_eq!(
            line.contains("lowerable") && !line.contains("never lowerable"),
            info.lowerable,
            "{line}"
        );
    }
}
