//! The policies under `examples/` and `spec/`: every `.policy` file, and the policy of each
//! `spec/cases/*.toml`. Shared by build.rs, which compiles the ones without errors into static
//! tables, and `tests/engines.rs`, which checks those against the run-time tables and nginx.

use std::path::{Path, PathBuf};

use guestlist_compiler::Compilation;

/// `(path from the repository root, the policy loaded and checked)`, sorted by path.
pub fn every_policy(root: &Path) -> Vec<(String, Compilation)> {
    let mut files = Vec::new();
    for dir in ["examples", "spec"] {
        walk(&root.join(dir), &mut files);
    }
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f
            .strip_prefix(root)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        let c = if f.extension().is_some_and(|e| e == "toml") {
            // A file that cannot be read or parsed stops the run: it would otherwise drop out
            // of every engine's check unnoticed.
            let text =
                std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
            let doc: toml::Table = text
                .parse()
                .unwrap_or_else(|e| panic!("{name} is not TOML: {e}"));
            let Some(policy) = doc.get("policy").and_then(|v| v.as_str()) else {
                continue;
            };
            Compilation::from_str(&name, policy)
        } else {
            Compilation::load_named(&[(f.clone(), name.clone())])
                .unwrap_or_else(|e| panic!("cannot load {name}: {e}"))
        };
        out.push((name, c));
    }
    out
}

/// `.policy` files below `dir`, and `.toml` files directly in `spec/cases`.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target") {
                walk(&p, out);
            }
        } else if p.extension().is_some_and(|e| e == "policy")
            || (p.extension().is_some_and(|e| e == "toml") && dir.ends_with("spec/cases"))
        {
            out.push(p);
        }
    }
}
