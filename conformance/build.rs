//! Compiles every policy of the conformance corpus (spec/cases/*.toml), for every profile its
//! cases use, with the same code generation as `include_policy!` and build.rs users get.
#![expect(
    clippy::panic,
    clippy::unwrap_used,
    reason = "a build script fails loudly"
)]

use std::fmt::Write as _;
use std::path::Path;

#[path = "every_policy.rs"]
mod every_policy;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/cases");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut statics = String::new();
    let mut table = String::from("/// (case file, profile, compiled policy)\npub static POLICIES: &[(&str, &str, &::guestlist::Policy)] = &[\n");
    let mut n = 0;
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let text = std::fs::read_to_string(f).unwrap();
        let doc: toml::Table = text
            .parse()
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let policy = doc
            .get("policy")
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{}: no policy", f.display()));
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let c = guestlist_compiler::Compilation::from_str(&name, policy);
        assert!(!c.has_errors(), "{name}:\n{}", c.render());
        let mut profiles = vec!["default".to_string()];
        for case in doc
            .get("case")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(p) = case.get("profile").and_then(|v| v.as_str()) {
                if !profiles.iter().any(|x| x == p) {
                    profiles.push(p.to_string());
                }
            }
        }
        for p in profiles {
            let lowered = c.lower(&p).unwrap();
            let expr =
                guestlist_compiler::codegen::policy_expr(&lowered, "::guestlist", &[]).unwrap();
            let _ = writeln!(statics, "static P{n}: ::guestlist::Policy = {expr};");
            let _ = writeln!(table, "    ({name:?}, {p:?}, &P{n}),");
            n += 1;
        }
    }
    table.push_str("];\n");
    let every = every_policy(&mut statics, &mut n);
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("cases.rs");
    std::fs::write(out, format!("{statics}\n{table}\n{every}")).unwrap();
}

/// Every policy under `examples/` and `spec/` that checks without errors (policy files, and
/// the policies of `spec/cases/*.toml`), for every profile it has, as static tables:
/// `tests/engines.rs` compares them with the run-time tables and the nginx output.
fn every_policy(statics: &mut String, n: &mut usize) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut table = String::from(
        "/// (path from the repository root, profile, compiled policy) of every policy under\n\
         /// `examples/` and `spec/` that checks without errors, for each of its profiles.\n\
         pub static EVERY_POLICY: &[(&str, &str, &::guestlist::Policy)] = &[\n",
    );
    for dir in ["examples", "spec"] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    for (name, c) in every_policy::every_policy(&root) {
        if c.has_errors() {
            continue;
        }
        for p in c.profiles() {
            let lowered = c.lower(&p).unwrap();
            let expr =
                guestlist_compiler::codegen::policy_expr(&lowered, "::guestlist", &[]).unwrap();
            let _ = writeln!(statics, "static P{n}: ::guestlist::Policy = {expr};");
            let _ = writeln!(table, "    ({name:?}, {p:?}, &P{n}),");
            *n += 1;
        }
    }
    table.push_str("];\n");
    table
}
