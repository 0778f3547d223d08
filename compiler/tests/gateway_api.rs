//! The Gateway API emitter without a cluster: every emitted document validated against the
//! Gateway API v1 schemas (`@kubernetes-models/gateway-api` 2.0.0, offline, through
//! `gateway_api/validate.mjs`); the CEL rules those schemas do not check, tested on the
//! documents; a model of the `CORS` filter (GEP-1767) that first passes the cases of the
//! Gateway API conformance test, then decides thousands of generated requests per policy
//! like the runtime wherever the fidelity report claims equivalence; the report's codes.
//!
//! node and the npm packages (`npm ci` in `compiler/tests/gateway_api`) must be installed:
//! without them the tests fail when `CI=true`, and say loudly that they skipped otherwise.
#![expect(clippy::unwrap_used, reason = "tests fail by panicking")]
#![expect(clippy::indexing_slicing, reason = "tests fail by panicking")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use guestlist_compiler::emit::gateway_api::{self, Backend, Options, ParentRef};
use guestlist_compiler::emit::{Engine, Loss};
use guestlist_compiler::Compilation;
use serde_json::Value;

mod support;
use support::{require_tool, root, skip, tempdir};

/// Options for the tests: every loss accepted unless `accepted` says otherwise.
fn options(accepted: Vec<Loss>) -> Options {
    Options {
        parent_ref: "infra/gw:https".parse::<ParentRef>().unwrap(),
        backend: "app:8080".parse::<Backend>().unwrap(),
        namespace: Some("shop".into()),
        envoy_gateway: false,
        generated_by: "guestlist emit gateway-api (test)".into(),
        accepted,
    }
}

/// Every policy file of `examples/policies` and `spec/policies`.
fn policy_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["examples/policies", "spec/policies"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "policy") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// One emitted policy and profile.
struct Emitted {
    file: PathBuf,
    profile: String,
    yaml: PathBuf,
}

/// Emits every policy and profile the emitter accepts (every loss accepted) into `dir`; the
/// refusals, each with the codes of its errors, which must be GL1310-GL1312 (what no
/// acceptance makes right).
fn emit_all(dir: &Path) -> (Vec<Emitted>, Vec<String>) {
    let mut out = Vec::new();
    let mut refused = Vec::new();
    for f in policy_files() {
        let c = Compilation::load(&[&f]).unwrap();
        if c.has_errors() {
            continue;
        }
        for profile in c.profiles() {
            let lowered = c.lower(&profile).unwrap();
            let opts = options(Loss::ALL.to_vec());
            let report = gateway_api::report(&c, &lowered, &opts);
            match gateway_api::emit(&c, &lowered, &opts) {
                Ok(files) => {
                    assert!(report.iter().all(|d| !d.is_error()), "{report:?}");
                    let stem = f.file_stem().unwrap().to_str().unwrap();
                    let sub = dir.join(format!("{}-{stem}-{profile}", out.len()));
                    let written = gateway_api::write(&sub, &files).unwrap();
                    assert_eq!(written.len(), 1);
                    out.push(Emitted {
                        file: f.clone(),
                        profile: profile.clone(),
                        yaml: written[0].clone(),
                    });
                }
                Err(e) => {
                    let codes: BTreeSet<&str> = report
                        .iter()
                        .filter(|d| d.is_error())
                        .map(|d| d.code)
                        .collect();
                    assert!(
                        !codes.is_empty()
                            && codes
                                .iter()
                                .all(|c| ["GL1310", "GL1311", "GL1312"].contains(c)),
                        "{}: {e}",
                        f.display()
                    );
                    refused.push(format!("{} ({profile}): {codes:?}", f.display()));
                }
            }
        }
    }
    (out, refused)
}

/// The validator's directory, or `None` (after [`skip`]) when node or its packages are
/// missing.
fn validator() -> Option<PathBuf> {
    require_tool("node")?;
    let dir = root().join("compiler/tests/gateway_api");
    if !dir
        .join("node_modules/@kubernetes-models/gateway-api/package.json")
        .exists()
    {
        skip("the npm packages of compiler/tests/gateway_api are not installed (run `npm ci` there)");
        return None;
    }
    Some(dir)
}

/// Validates `files` with the schemas and returns every document (`{file, doc}`).
fn validate(dir: &Path, files: &[PathBuf]) -> Result<Vec<Value>, String> {
    let node = require_tool("node").unwrap();
    let out = std::process::Command::new(node)
        .arg(dir.join("validate.mjs"))
        .args(files)
        .current_dir(dir)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    Ok(v.as_array().unwrap().clone())
}

/// The CEL rules of the Gateway API v1 CRDs that the JSON schemas do not check, on one
/// `HTTPRoute`: the errors found.
fn cel_errors(doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let spec = &doc["spec"];
    let rules = spec["rules"].as_array().cloned().unwrap_or_default();
    let matches: usize = rules
        .iter()
        .map(|r| r["matches"].as_array().map_or(1, Vec::len))
        .sum();
    if matches > 128 {
        errors.push(format!("{matches} matches in one route (at most 128)"));
    }
    for h in spec["hostnames"].as_array().into_iter().flatten() {
        let h = h.as_str().unwrap();
        if h.contains(':') || h.parse::<std::net::Ipv4Addr>().is_ok() {
            errors.push(format!("hostname {h} has a port or is an IP address"));
        }
    }
    for r in &rules {
        for m in r["matches"].as_array().into_iter().flatten() {
            let v = m["path"]["value"].as_str().unwrap_or("/");
            for bad in ["//", "/./", "/../", "%2f", "%2F", "#"] {
                if v.contains(bad) {
                    errors.push(format!("path {v} holds {bad}"));
                }
            }
            if v.ends_with("/..") || v.ends_with("/.") {
                errors.push(format!("path {v} ends with a dot segment"));
            }
        }
        let filters = r["filters"].as_array().cloned().unwrap_or_default();
        for kind in ["CORS", "ResponseHeaderModifier"] {
            let n = filters.iter().filter(|f| f["type"] == kind).count();
            if n > 1 {
                errors.push(format!("{n} {kind} filters in one rule (at most one)"));
            }
        }
        for f in &filters {
            let t = f["type"].as_str().unwrap();
            // The filter of the type, and no other.
            let field = match t {
                "CORS" => "cors",
                "ResponseHeaderModifier" => "responseHeaderModifier",
                other => {
                    errors.push(format!("unexpected filter {other}"));
                    continue;
                }
            };
            let keys: Vec<&String> = f.as_object().unwrap().keys().collect();
            if keys.len() != 2 || f.get(field).is_none() {
                errors.push(format!("filter {t} must hold `{field}` and nothing else"));
            }
            if t == "CORS" {
                let cors = &f["cors"];
                for list in ["allowOrigins", "allowMethods", "allowHeaders"] {
                    let items = cors[list].as_array().cloned().unwrap_or_default();
                    if items.len() > 1 && items.iter().any(|x| x == "*") {
                        errors.push(format!("`*` not alone in {list}"));
                    }
                }
                let origins = cors["allowOrigins"].as_array().cloned().unwrap_or_default();
                if cors["allowCredentials"] == true && origins.iter().any(|x| x == "*") {
                    errors.push("`*` origin with credentials (guestlist never allows it)".into());
                }
                let eh = cors["exposeHeaders"].as_array().cloned().unwrap_or_default();
                if cors["allowCredentials"] == true && eh.iter().any(|x| x == "*") {
                    errors.push("`*` exposed headers with credentials".into());
                }
                let ah = cors["allowHeaders"].as_array().cloned().unwrap_or_default();
                if ah.iter().any(|x| x == "*") {
                    errors.push("allowHeaders `*` echoes Authorization on Envoy".into());
                }
            } else {
                let m = &f["responseHeaderModifier"];
                let mut seen = BTreeSet::new();
                for list in ["set", "add"] {
                    for h in m[list].as_array().into_iter().flatten() {
                        let n = h["name"].as_str().unwrap().to_ascii_lowercase();
                        if !seen.insert(n.clone()) {
                            errors.push(format!("header {n} twice in one modifier"));
                        }
                    }
                }
                for h in m["remove"].as_array().into_iter().flatten() {
                    let n = h.as_str().unwrap().to_ascii_lowercase();
                    if !seen.insert(n.clone()) {
                        errors.push(format!("header {n} twice in one modifier"));
                    }
                }
            }
        }
        for b in r["backendRefs"].as_array().into_iter().flatten() {
            if b.get("port").is_none() {
                errors.push("a Service backendRef without a port".into());
            }
        }
    }
    errors
}

#[test]
fn every_emitted_document_validates_against_the_gateway_api_schemas() {
    let Some(vdir) = validator() else {
        return;
    };
    let dir = tempdir("gateway-api-schemas");
    let (emitted, refused) = emit_all(&dir);
    assert!(emitted.len() >= 6, "{} emitted", emitted.len());
    let files: Vec<PathBuf> = emitted.iter().map(|e| e.yaml.clone()).collect();
    let docs = validate(&vdir, &files).unwrap_or_else(|e| panic!("{e}"));
    let mut names = BTreeSet::new();
    for d in &docs {
        let doc = &d["doc"];
        let errors = cel_errors(doc);
        assert!(errors.is_empty(), "{}: {errors:?}", d["file"]);
        let name = doc["metadata"]["name"].as_str().unwrap().to_string();
        assert!(names.insert((d["file"].to_string(), name.clone())), "{name} twice");
        assert!(name.len() <= 63, "{name}");
    }
    eprintln!(
        "gateway-api: {} policies and profiles emitted, {} documents valid; refused: {refused:?}",
        emitted.len(),
        docs.len()
    );
}

#[test]
fn the_validator_and_the_cel_checks_refuse_invalid_documents() {
    let Some(vdir) = validator() else {
        return;
    };
    let dir = tempdir("gateway-api-invalid");
    let good = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: \"x\"\nspec:\n  parentRefs:\n  - name: \"gw\"\n  rules:\n  - matches:\n    - path:\n        type: \"PathPrefix\"\n        value: \"/\"\n    filters:\n    - type: \"CORS\"\n      cors:\n        allowOrigins:\n        - \"ORIGIN\"\n    backendRefs:\n    - name: \"app\"\n      port: 8080\n";
    let f = dir.join("good.yaml");
    std::fs::write(&f, good.replace("ORIGIN", "https://a.example.com")).unwrap();
    let docs = validate(&vdir, std::slice::from_ref(&f)).unwrap();
    assert!(cel_errors(&docs[0]["doc"]).is_empty());
    // The schema: `null` is no CORSOrigin; a 17th rule is one too many.
    let bad = dir.join("null.yaml");
    std::fs::write(&bad, good.replace("ORIGIN", "null")).unwrap();
    assert!(validate(&vdir, &[bad]).unwrap_err().contains("allowOrigins"));
    let many = dir.join("many.yaml");
    let rule = &good[good.find("  - matches:").unwrap()..];
    let mut text = good.to_string().replace("ORIGIN", "https://a.example.com");
    for _ in 0..16 {
        text.push_str(&rule.replace("ORIGIN", "https://a.example.com"));
    }
    std::fs::write(&many, text).unwrap();
    assert!(validate(&vdir, &[many]).is_err());
    // The CEL rules: `*` with another origin, two CORS filters.
    let mut doc = docs[0]["doc"].clone();
    doc["spec"]["rules"][0]["filters"][0]["cors"]["allowOrigins"] =
        serde_json::json!(["*", "https://a.example.com"]);
    assert!(cel_errors(&doc)
        .iter()
        .any(|e| e.contains("not alone in allowOrigins")));
    let mut doc = docs[0]["doc"].clone();
    let f0 = doc["spec"]["rules"][0]["filters"][0].clone();
    doc["spec"]["rules"][0]["filters"] = serde_json::json!([f0.clone(), f0]);
    assert!(cel_errors(&doc).iter().any(|e| e.contains("2 CORS filters")));
    let mut doc = docs[0]["doc"].clone();
    doc["spec"]["hostnames"] = serde_json::json!(["api.example.com:8443"]);
    assert!(!cel_errors(&doc).is_empty());
    let mut doc = docs[0]["doc"].clone();
    doc["spec"]["rules"][0]["matches"][0]["path"]["value"] = serde_json::json!("/a/../b");
    assert!(!cel_errors(&doc).is_empty());
}
