//! The diagnostics corpus: `spec/diagnostics/cases/*.policy`.
//!
//! Each case states what the checker must find, in comments:
//! - `#   ^ GL0213` under a line: a diagnostic with that code starts at the caret's column of
//!   the nearest line above that is not such a marker (optionally `^ GL0214 warning` to pin
//!   the severity);
//! - `#@ GL0107 7:9`: a diagnostic at line 7, column 9;
//! - `#! emit caddy` (or `nginx`, `haproxy`): the case is also exported to that edge, and
//!   the export's refusals are diagnostics found.
//!
//! Every expected diagnostic must be found, and every error or warning found must be
//! expected (notes may go unlisted). Every error must carry a help line. The rendered output
//! is compared with `NAME.stderr` next to the case; `BLESS=1 cargo test` rewrites those.

#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use guestlist_compiler::diag::render::render;
use guestlist_compiler::emit::{edges, Engine};
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
        // `#! emit ENGINE` lines: the case is also exported to that edge (its default profile),
        // whose refusals (`guestlist emit`'s errors) count as found diagnostics.
        let text = std::fs::read_to_string(case).unwrap();
        let mut edge_diags = Vec::new();
        for engine in text.lines().filter_map(|l| l.strip_prefix("#! emit ")) {
            let engine = match engine.trim() {
                "nginx" => Engine::Nginx,
                "haproxy" => Engine::Haproxy,
                "caddy" => Engine::Caddy,
                other => panic!("{name}: unknown engine {other}"),
            };
            let lowered = c
                .lower("default")
                .unwrap_or_else(|_| panic!("{name} does not lower:\n{}", c.render()));
            edge_diags.extend(edges::errors(&c, &lowered, engine, &[]));
        }
        let mut found: Vec<(String, Expect, Severity, bool)> = c
            .diagnostics()
            .iter()
            .chain(&edge_diags)
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
        for d in c.diagnostics().iter().chain(&edge_diags) {
            if d.severity != Severity::Note && d.help.is_none() {
                failures.push(format!(
                    "{name}: {} {} has no help line",
                    d.severity.as_str(),
                    d.code
                ));
            }
        }
        let rendered = c.render() + &render(c.sources(), &edge_diags);
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

/// Every refusal a policy can trigger in an edge emitter is a diagnostic of its `errors`: over
/// every policy of `examples/`, `spec/policies` and `spec/diagnostics/cases` that checks
/// clean, every profile, and nginx, HAProxy and Caddy (with no loss accepted, and with every
/// loss the engine has accepted), an export whose `errors` are empty is written, never refused
/// with a bare message.
#[test]
fn edges_refuse_only_with_diagnostics() {
    use guestlist_compiler::emit::edges::EdgeOptions;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "examples/policies",
        "spec/policies",
        "spec/diagnostics/cases",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "policy") {
                files.push(p);
            }
        }
    }
    files.sort();
    let (mut written, mut refused, mut escaped) = (0, 0, Vec::new());
    for f in &files {
        let Ok(c) = Compilation::load(&[f.as_path()]) else {
            continue;
        };
        if c.has_errors() {
            continue;
        }
        let mut profiles = vec!["default".to_string()];
        profiles.extend(c.program().profiles.iter().cloned());
        for profile in &profiles {
            let Ok(lowered) = c.lower(profile) else {
                continue;
            };
            for engine in [Engine::Nginx, Engine::Haproxy, Engine::Caddy] {
                for accepted in [Vec::new(), engine.cannot().to_vec()] {
                    let errors = edges::errors(&c, &lowered, engine, &accepted);
                    let opts = EdgeOptions {
                        engine,
                        include_root: "/etc/guestlist".into(),
                        upstream_include: Some("/etc/guestlist/upstream.conf".into()),
                        generated_by: "test".into(),
                        accepted,
                        gateway: None,
                    };
                    match (errors.is_empty(), edges::emit(&c, &lowered, &opts)) {
                        (true, Ok(_)) => written += 1,
                        (true, Err(e)) => escaped.push(format!(
                            "{} ({profile}) on {}: {e}",
                            f.display(),
                            engine.name()
                        )),
                        (false, _) => refused += 1,
                    }
                }
            }
        }
    }
    println!("{written} exports written, {refused} refused with diagnostics");
    assert!(
        escaped.is_empty(),
        "refused without a diagnostic:\n{}",
        escaped.join("\n")
    );
    assert!(
        written >= 60 && refused >= 3,
        "{written} written, {refused} refused"
    );
}
