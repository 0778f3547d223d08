//! The conformance corpus (`spec/cases/*.toml`), run against every engine: the compiled static
//! tables behind the tower layer (the status and headers it writes), `guestlist explain` (the
//! compiler's lowering + the runtime), and a real nginx with the emitted configuration. A case an engine cannot run must say why (`nginx = false`,
//! `why = ...`); the runner prints those gaps.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking"
)]

use std::collections::BTreeMap;
use std::path::Path;

use guestlist_compiler::Compilation;

#[path = "../../compiler/tests/support/mod.rs"]
mod support;

struct Case {
    file: String,
    name: String,
    profile: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    kind: String,
    expect: Vec<(String, String)>,
    nginx: bool,
}

fn header(s: &str) -> (String, String) {
    let (n, v) = s
        .split_once(':')
        .unwrap_or_else(|| panic!("`{s}` is not `Name: value`"));
    (n.trim().to_string(), v.trim_start().to_string())
}

fn load() -> (BTreeMap<String, String>, Vec<Case>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut policies = BTreeMap::new();
    let mut cases = Vec::new();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let doc: toml::Table = std::fs::read_to_string(&f).unwrap().parse().unwrap();
        policies.insert(name.clone(), doc["policy"].as_str().unwrap().to_string());
        for c in doc["case"].as_array().unwrap() {
            let get = |k: &str| c.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let req: Vec<String> = c["request"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            let case_name = get("name").expect("name");
            assert!(
                get("source").is_some_and(|s| !s.is_empty()),
                "{name}: `{case_name}` has no source"
            );
            let nginx = c.get("nginx").and_then(|v| v.as_bool()).unwrap_or(true);
            if !nginx {
                assert!(
                    get("why").is_some(),
                    "{name}: `{case_name}` skips nginx without saying why"
                );
            }
            cases.push(Case {
                file: name.clone(),
                name: case_name,
                profile: get("profile").unwrap_or_else(|| "default".into()),
                method: req[0].clone(),
                path: req[1].clone(),
                headers: req[2..].iter().map(|h| header(h)).collect(),
                kind: get("kind").expect("kind"),
                expect: c["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| header(v.as_str().unwrap()))
                    .map(|(n, v)| (n.to_ascii_lowercase(), v))
                    .collect(),
                nginx,
            });
        }
    }
    (policies, cases)
}

/// Header lines by name, each name's values in order (the layer's map has an order of its own
/// across names; the lines of one name, such as `Vary` or echoed `Access-Control-Allow-Headers`,
/// keep theirs).
fn by_name(lines: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, v) in lines {
        m.entry(n.to_ascii_lowercase()).or_default().push(v.clone());
    }
    m
}

/// The status the layer answers a decision kind with (the stand-in application's 200 when the
/// request reaches it).
fn status(kind: &str) -> u16 {
    match kind {
        "preflight-ok" => 204,
        "preflight-rejected" | "csrf-rejected" | "websocket-rejected" => 403,
        "path-rejected" => 400,
        _ => 200,
    }
}

type Summary = (String, u16, BTreeMap<String, Vec<String>>);

#[test]
fn compiled_tables_and_explain() {
    let (policies, cases) = load();
    let mut failures = Vec::new();
    let mut lowered = BTreeMap::new();
    for c in &cases {
        let want: Summary = (c.kind.clone(), status(&c.kind), by_name(&c.expect));
        // The static tables the code generator writes, decided and answered by the tower layer
        // (`Layer::new`, what `include_policy!` users write).
        let compiled =
            guestlist_conformance::compiled(&c.file, &c.profile).expect("compiled by build.rs");
        let d = compiled.decide(&c.method, &c.path, &c.headers[..]);
        let layer = guestlist::Layer::new(compiled);
        let got: Summary =
            match guestlist_compiler::response::answer(&layer, &c.method, &c.path, &c.headers) {
                Ok(a) => (d.kind.as_str().to_string(), a.status, by_name(&a.headers)),
                Err(e) => (e.to_string(), 0, BTreeMap::new()),
            };
        if got != want {
            failures.push(format!(
                "compiled {}: {}: got {got:?}, want {want:?}",
                c.file, c.name
            ));
        }
        // `guestlist explain` on the compiler's lowering (its headers: the layer's too).
        let l = lowered
            .entry((c.file.clone(), c.profile.clone()))
            .or_insert_with(|| {
                Compilation::from_str(&c.file, &policies[&c.file])
                    .lower(&c.profile)
                    .unwrap()
            });
        let got: Summary =
            match guestlist_compiler::explain::explain(l, &c.method, &c.path, &c.headers) {
                Ok(e) => (
                    e.kind.as_str().to_string(),
                    e.status.unwrap_or(200),
                    by_name(&e.headers),
                ),
                Err(e) => (e.to_string(), 0, BTreeMap::new()),
            };
        if got != want {
            failures.push(format!(
                "explain {}: {}: got {got:?}, want {want:?}",
                c.file, c.name
            ));
        }
    }
    println!(
        "{} cases, 2 engines, {} failures",
        cases.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 150, "the corpus has {} cases", cases.len());
}

#[test]
fn nginx() {
    let Some(bin) = support::require_tool("nginx") else {
        return;
    };
    let (policies, cases) = load();
    let mut groups: BTreeMap<(String, String), Vec<&Case>> = BTreeMap::new();
    let mut gaps = Vec::new();
    for c in &cases {
        if c.nginx {
            groups
                .entry((c.file.clone(), c.profile.clone()))
                .or_default()
                .push(c);
        } else {
            gaps.push(format!("{}: {}", c.file, c.name));
        }
    }
    let mut failures = Vec::new();
    let mut ran = 0;
    for ((file, profile), group) in &groups {
        let comp = Compilation::from_str(file, &policies[file]);
        let dir = support::tempdir(&format!("corpus-{file}-{profile}"));
        let setup = support::setup(&bin, &comp, profile, &dir, support::Upstream::Return, false);
        let server = support::start(&bin, &setup);
        for c in group {
            let (status, got) = support::send(server.addr, &c.method, &c.path, &c.headers);
            let mut want = c.expect.clone();
            // nginx answers 400 itself to a path it cannot read, without the reason header
            // (spec/nginx.md).
            want.retain(|h| *h != ("guestlist-reason".to_string(), "path-invalid".to_string()));
            want.sort();
            let status_ok = match c.kind.as_str() {
                "preflight-ok" => status == 204,
                "preflight-rejected" | "csrf-rejected" | "websocket-rejected" => status == 403,
                "path-rejected" => status == 400,
                _ => status != 204 && status != 403 && status != 400 && status != 0,
            };
            if !status_ok || got != want {
                failures.push(format!(
                    "nginx {file}: {}: status {status}, headers {got:?}; want {} {want:?}",
                    c.name, c.kind
                ));
            }
            ran += 1;
        }
    }
    println!(
        "nginx ran {ran} of {} cases; gaps (cases nginx cannot run): {}",
        cases.len(),
        gaps.len()
    );
    for g in &gaps {
        println!("  gap: {g}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
