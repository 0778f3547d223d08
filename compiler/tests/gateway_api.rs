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

/// Every policy file of `examples/policies` and `spec/policies`, and the one of these tests
/// (host blocks, nested and exact routes, more rules than one HTTPRoute holds).
fn policy_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "examples/policies",
        "spec/policies",
        "compiler/tests/gateway_api",
    ] {
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
        skip(
            "the npm packages of compiler/tests/gateway_api are not installed (run `npm ci` there)",
        );
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
                let eh = cors["exposeHeaders"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
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
        assert!(
            names.insert((d["file"].to_string(), name.clone())),
            "{name} twice"
        );
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
    assert!(validate(&vdir, &[bad])
        .unwrap_err()
        .contains("allowOrigins"));
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
    assert!(cel_errors(&doc)
        .iter()
        .any(|e| e.contains("2 CORS filters")));
    let mut doc = docs[0]["doc"].clone();
    doc["spec"]["hostnames"] = serde_json::json!(["api.example.com:8443"]);
    assert!(!cel_errors(&doc).is_empty());
    let mut doc = docs[0]["doc"].clone();
    doc["spec"]["rules"][0]["matches"][0]["path"]["value"] = serde_json::json!("/a/../b");
    assert!(!cel_errors(&doc).is_empty());
}

// ---------------------------------------------------------------------------------------
// A model of a conformant implementation (GEP-1767 and the HTTPRoute matching rules), as
// Envoy-based implementations answer: a local 200 to every preflight on a rule with a CORS
// filter, the request's origin echoed for an allowed origin (never `*`), a `*` method or
// header list echoing the request's, and the ResponseHeaderModifier on responses that come
// from the backend.

/// What the edge answered: by itself (`local`: the status), or by passing the request on,
/// and the headers it added (lowercase names).
#[derive(Debug, Clone, Default)]
struct Answer {
    local: Option<u16>,
    headers: Vec<(String, String)>,
}

/// The header values of `name` in `fields`, in order.
fn values<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The `HTTPRoute`s of one emitted file.
struct Gateway {
    routes: Vec<Value>,
}

impl Gateway {
    /// The rule an implementation selects for `host` (the `Host` value) and `path`: the
    /// routes of the most specific matching hostname (an exact one, then the longest `*.`
    /// suffix; routes without hostnames when none matches), then an `Exact` match, then the
    /// longest `PathPrefix` (whole path elements).
    fn rule(&self, host: Option<&str>, path: &str) -> Option<&Value> {
        let host = host.map(|h| {
            let h = h.to_ascii_lowercase();
            let h = match h.rsplit_once(':') {
                Some((n, p)) if p.bytes().all(|b| b.is_ascii_digit()) => n.to_string(),
                _ => h,
            };
            h.trim_end_matches('.').to_string()
        });
        let score = |r: &Value| -> Option<(u8, usize)> {
            let names = r["spec"]["hostnames"].as_array()?;
            let h = host.as_deref()?;
            names
                .iter()
                .filter_map(|n| {
                    let n = n.as_str()?;
                    match n.strip_prefix("*.") {
                        Some(d) => (h.len() > d.len() + 1 && h.ends_with(&format!(".{d}")))
                            .then_some((1, d.len())),
                        None => (n == h).then_some((2, n.len())),
                    }
                })
                .max()
        };
        let best = self.routes.iter().filter_map(score).max();
        let chosen: Vec<&Value> = match best {
            Some(b) => self.routes.iter().filter(|r| score(r) == Some(b)).collect(),
            None => self
                .routes
                .iter()
                .filter(|r| r["spec"]["hostnames"].as_array().is_none())
                .collect(),
        };
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let rules: Vec<&Value> = chosen
            .iter()
            .flat_map(|r| r["spec"]["rules"].as_array().unwrap().iter())
            .collect();
        let m = |r: &Value| r["matches"][0]["path"].clone();
        if let Some(r) = rules
            .iter()
            .find(|r| m(r)["type"] == "Exact" && m(r)["value"] == path)
        {
            return Some(r);
        }
        rules
            .iter()
            .filter(|r| m(r)["type"] == "PathPrefix")
            .filter(|r| {
                let v = m(r)["value"].as_str().unwrap().to_string();
                v == "/" || path == v || path.starts_with(&format!("{v}/"))
            })
            .max_by_key(|r| m(r)["value"].as_str().unwrap().len())
            .copied()
    }

    /// What the implementation answers to a request.
    fn answer(&self, method: &str, path: &str, fields: &[(String, String)]) -> Answer {
        let host = values(fields, "host").first().copied();
        let Some(rule) = self.rule(host, path) else {
            return Answer {
                local: Some(404),
                headers: Vec::new(),
            };
        };
        cors_filter_answer(rule, method, fields)
    }
}

/// Whether a `CORS` filter's `allowOrigins` entry matches `origin`: `*` every origin; a
/// `*.` entry an origin of the same scheme (and port) whose host ends in the domain, with
/// anything before it (`*` is greedy to the left); any other entry the same bytes.
fn filter_origin_matches(entry: &str, origin: &str) -> bool {
    if entry == "*" {
        return true;
    }
    match entry.split_once("*.") {
        Some((scheme, rest)) => {
            origin.starts_with(scheme)
                && origin.len() > scheme.len() + rest.len() + 1
                && origin.ends_with(&format!(".{rest}"))
        }
        None => entry == origin,
    }
}

/// A rule's answer: its `CORS` filter first (a preflight is answered locally, never passed
/// on), then its `ResponseHeaderModifier` on what the backend answers.
fn cors_filter_answer(rule: &Value, method: &str, fields: &[(String, String)]) -> Answer {
    let mut a = Answer::default();
    let filters = rule["filters"].as_array().cloned().unwrap_or_default();
    let cors = filters
        .iter()
        .find(|f| f["type"] == "CORS")
        .map(|f| &f["cors"]);
    let origin = values(fields, "origin").first().map(|s| s.to_string());
    let acrm = values(fields, "access-control-request-method")
        .first()
        .map(|s| s.to_string())
        .filter(|s| !s.is_empty());
    let list = |c: &Value, k: &str| -> Vec<String> {
        c[k].as_array()
            .into_iter()
            .flatten()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    if let (Some(c), Some(o)) = (cors, &origin) {
        let allowed = list(c, "allowOrigins")
            .iter()
            .any(|e| filter_origin_matches(e, o));
        let mut h = Vec::new();
        if allowed {
            h.push(("access-control-allow-origin".to_string(), o.clone()));
            if c["allowCredentials"] == true {
                h.push(("access-control-allow-credentials".into(), "true".into()));
            }
        }
        if method == "OPTIONS" && acrm.is_some() {
            if allowed {
                let methods = list(c, "allowMethods");
                if methods == ["*"] {
                    h.push(("access-control-allow-methods".into(), acrm.clone().unwrap()));
                } else if !methods.is_empty() {
                    h.push(("access-control-allow-methods".into(), methods.join(", ")));
                }
                let headers = list(c, "allowHeaders");
                if headers == ["*"] {
                    let asked = values(fields, "access-control-request-headers").join(", ");
                    if !asked.is_empty() {
                        h.push(("access-control-allow-headers".into(), asked));
                    }
                } else if !headers.is_empty() {
                    h.push(("access-control-allow-headers".into(), headers.join(", ")));
                }
                let expose = list(c, "exposeHeaders");
                if !expose.is_empty() {
                    h.push(("access-control-expose-headers".into(), expose.join(", ")));
                }
                let max_age = c["maxAge"].as_u64().unwrap_or(5);
                h.push(("access-control-max-age".into(), max_age.to_string()));
            }
            return Answer {
                local: Some(200),
                headers: h,
            };
        }
        if allowed {
            let expose = list(c, "exposeHeaders");
            if !expose.is_empty() {
                h.push(("access-control-expose-headers".into(), expose.join(", ")));
            }
        }
        a.headers = h;
    }
    if let Some(m) = filters
        .iter()
        .find(|f| f["type"] == "ResponseHeaderModifier")
        .map(|f| &f["responseHeaderModifier"])
    {
        for (list, _) in [("set", false), ("add", true)] {
            for x in m[list].as_array().into_iter().flatten() {
                a.headers.push((
                    x["name"].as_str().unwrap().to_ascii_lowercase(),
                    x["value"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    a
}

/// What a browser makes of an answer: whether the request reached the application, whether
/// the CORS check (and, for a preflight, the method and header checks) passes without and
/// with credentials, and the security headers of a response from the application.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    reaches_app: bool,
    cors: [bool; 2],
    security: BTreeSet<(String, String)>,
}

/// A comma-separated header list, trimmed, empty elements skipped.
fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// The browser's view of `answer` to a request with `fields` and `method` (Fetch: the CORS
/// check, and for a preflight the method and header checks).
fn outcome(method: &str, fields: &[(String, String)], answer: &Answer) -> Outcome {
    let h = &answer.headers;
    let get = |n: &str| values(h, n);
    let origin = values(fields, "origin").first().copied();
    let acrm = values(fields, "access-control-request-method")
        .first()
        .copied();
    let preflight = method == "OPTIONS" && origin.is_some() && acrm.is_some();
    let cors_check = |cred: bool| -> bool {
        let Some(o) = origin else { return false };
        let acao = get("access-control-allow-origin");
        let ok = match acao.as_slice() {
            ["*"] => !cred,
            [v] => *v == o,
            _ => false,
        };
        ok && (!cred || get("access-control-allow-credentials") == ["true"])
    };
    let preflight_check = |cred: bool| -> bool {
        let status = answer.local.unwrap_or(200);
        if !(200..300).contains(&status) || !cors_check(cred) {
            return false;
        }
        let m = acrm.unwrap_or("");
        let acam: Vec<String> = get("access-control-allow-methods")
            .iter()
            .flat_map(|v| split_list(v))
            .collect();
        let method_ok = ["GET", "HEAD", "POST"].contains(&m)
            || acam.iter().any(|x| x == m)
            || (!cred && acam.iter().any(|x| x == "*"));
        let acah: Vec<String> = get("access-control-allow-headers")
            .iter()
            .flat_map(|v| split_list(v))
            .map(|x| x.to_ascii_lowercase())
            .collect();
        let asked: Vec<String> = values(fields, "access-control-request-headers")
            .iter()
            .flat_map(|v| split_list(v))
            .map(|x| x.to_ascii_lowercase())
            .collect();
        let headers_ok = asked.iter().all(|n| {
            acah.contains(n) || (!cred && n != "authorization" && acah.iter().any(|x| x == "*"))
        });
        method_ok && headers_ok
    };
    let reaches_app = answer.local.is_none();
    let cors = if origin.is_none() {
        [false, false]
    } else if preflight {
        [preflight_check(false), preflight_check(true)]
    } else if reaches_app {
        [cors_check(false), cors_check(true)]
    } else {
        [false, false]
    };
    let security = if reaches_app {
        h.iter()
            .filter(|(n, _)| {
                !n.starts_with("access-control-") && n != "vary" && n != "guestlist-reason"
            })
            .cloned()
            .collect()
    } else {
        BTreeSet::new()
    };
    Outcome {
        reaches_app,
        cors,
        security,
    }
}

#[test]
fn the_model_passes_the_gateway_api_conformance_cases() {
    // The routes and cases of kubernetes-sigs/gateway-api `conformance/tests/httproute-cors.yaml`
    // (commit 74d067ee7e0ed5c325d9acc9eb0f5a1564ef1ac9) and `httproute-cors.go` (commit
    // 0c87f4c12b824bcc5db972ace7ea64075e432120), transcribed: the cases of the two routes
    // that manifest defines (`/cors-1`, `/cors-2`).
    let cors1 = serde_json::json!({"matches": [{"path": {"type": "PathPrefix", "value": "/cors-1"}}],
        "filters": [{"type": "CORS", "cors": {
            "allowOrigins": ["https://www.foo.com", "https://*.bar.com"],
            "allowMethods": ["GET", "OPTIONS"],
            "allowHeaders": ["x-header-1", "x-header-2"],
            "exposeHeaders": ["x-header-3", "x-header-4"],
            "allowCredentials": true, "maxAge": 3600}}]});
    let cors2 = serde_json::json!({"matches": [{"path": {"type": "PathPrefix", "value": "/cors-2"}}],
        "filters": [{"type": "CORS", "cors": {
            "allowOrigins": ["https://www.foo.com"], "allowMethods": ["*"]}}]});
    let gw = Gateway {
        routes: vec![serde_json::json!({"spec": {"rules": [cors1, cors2]}})],
    };
    type Case<'a> = (
        &'a str,
        &'a str,
        &'a [(&'a str, &'a str)],
        &'a [u16],
        &'a [(&'a str, &'a [&'a str])],
        &'a [&'a str],
    );
    let pre = &[
        (
            "access-control-allow-methods",
            &["GET,OPTIONS", "OPTIONS,GET"][..],
        ),
        (
            "access-control-allow-headers",
            &["x-header-1,x-header-2", "x-header-2,x-header-1"],
        ),
        (
            "access-control-expose-headers",
            &["x-header-3,x-header-4", "x-header-4,x-header-3"],
        ),
        ("access-control-max-age", &["3600"]),
        ("access-control-allow-credentials", &["true"]),
    ][..];
    let with_origin = |o: &'static str| -> Vec<(&'static str, &'static [&'static str])> {
        let mut v: Vec<(&str, &[&str])> = vec![(
            "access-control-allow-origin",
            match o {
                "https://www.foo.com" => &["https://www.foo.com"],
                "https://www.bar.com" => &["https://www.bar.com"],
                _ => &["https://xpto.www.bar.com"],
            },
        )];
        v.extend_from_slice(pre);
        v
    };
    let p1 = with_origin("https://www.foo.com");
    let p2 = with_origin("https://www.bar.com");
    let p3 = with_origin("https://xpto.www.bar.com");
    const ACRH: (&str, &str) = ("access-control-request-headers", "x-header-1, x-header-2");
    let cases: Vec<Case> = vec![
        (
            "OPTIONS",
            "/cors-1",
            &[
                ("Origin", "https://www.foo.com"),
                ("access-control-request-method", "GET"),
                ACRH,
            ],
            &[200, 204],
            &p1,
            &[],
        ),
        (
            "OPTIONS",
            "/cors-1",
            &[
                ("Origin", "https://www.bar.com"),
                ("access-control-request-method", "GET"),
                ACRH,
            ],
            &[200],
            &p2,
            &[],
        ),
        (
            "OPTIONS",
            "/cors-1",
            &[
                ("Origin", "https://xpto.www.bar.com"),
                ("access-control-request-method", "GET"),
                ACRH,
            ],
            &[200],
            &p3,
            &[],
        ),
        (
            "OPTIONS",
            "/cors-1",
            &[
                ("Origin", "https://foobar.com"),
                ("access-control-request-method", "GET"),
            ],
            &[200, 204, 403],
            &[],
            &["access-control-allow-origin"],
        ),
        (
            "GET",
            "/cors-1",
            &[
                ("Origin", "https://www.foo.com"),
                ("access-control-request-method", "GET"),
                ACRH,
            ],
            &[200, 204],
            &[("access-control-allow-origin", &["https://www.foo.com"])],
            &[],
        ),
        (
            "GET",
            "/cors-1",
            &[
                ("Origin", "https://www.bar.com"),
                ("access-control-request-method", "GET"),
                ACRH,
            ],
            &[200, 204],
            &[("access-control-allow-origin", &["https://www.bar.com"])],
            &[],
        ),
        (
            "GET",
            "/cors-1",
            &[
                ("Origin", "https://foobar.com"),
                ("access-control-request-method", "GET"),
            ],
            &[200],
            &[],
            &["access-control-allow-origin"],
        ),
        (
            "OPTIONS",
            "/cors-2",
            &[
                ("Origin", "https://www.foo.com"),
                ("access-control-request-method", "POST"),
            ],
            &[200, 204],
            &[
                ("access-control-allow-methods", &["POST", "*"]),
                ("access-control-allow-origin", &["https://www.foo.com"]),
            ],
            &["access-control-allow-credentials"],
        ),
        (
            "OPTIONS",
            "/cors-2",
            &[
                ("Origin", "https://www.foo.com"),
                ("access-control-request-method", "POST"),
            ],
            &[200, 204],
            &[],
            &["access-control-allow-credentials"],
        ),
    ];
    for (i, (method, path, headers, statuses, valid, absent)) in cases.iter().enumerate() {
        let fields: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let a = gw.answer(method, path, &fields);
        // The backend answers 200 to what the filter passes on.
        let status = a.local.unwrap_or(200);
        assert!(statuses.contains(&status), "case {i}: status {status}");
        for (name, ok) in valid.iter() {
            let got = values(&a.headers, name);
            assert_eq!(got.len(), 1, "case {i}: {name}: {got:?}");
            let norm: String = got[0].chars().filter(|c| !c.is_whitespace()).collect();
            assert!(ok.contains(&norm.as_str()), "case {i}: {name}: {norm}");
        }
        for name in absent.iter() {
            assert!(
                values(&a.headers, name).is_empty(),
                "case {i}: {name} present"
            );
        }
    }
}

/// Whether a path (query cut) is structurally normal: no escape, `\`, empty segment or dot
/// segment (spec/language.md, "Path forms").
fn structurally_normal(path: &str) -> bool {
    let p = path.split(['?', '#']).next().unwrap_or(path);
    p.starts_with('/')
        && !p.contains('%')
        && !p.contains('\\')
        && !p[1..].split('/').enumerate().any(|(i, s)| {
            s == "." || s == ".." || (s.is_empty() && i + 1 < p[1..].split('/').count())
        })
}

/// Whether a request is one a browser sends: one `Origin` line holding a canonical origin
/// (lowercase `http`/`https`, a host of non-empty lowercase LDH labels, a port without a
/// leading zero that is not the scheme's default), at most one `Access-Control-Request-Method`
/// holding a token, and request-header names that are tokens.
fn browser_shaped(fields: &[(String, String)]) -> bool {
    let origins = values(fields, "origin");
    let origin_ok = |o: &str| {
        let Some((scheme, rest)) = o.split_once("://") else {
            return false;
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        ["http", "https"].contains(&scheme)
            && host.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && l.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            })
            && port.is_none_or(|p| {
                !p.is_empty()
                    && !p.starts_with('0')
                    && p.bytes().all(|b| b.is_ascii_digit())
                    && p.parse::<u32>().is_ok_and(|n| n <= 65535)
                    && !(scheme == "https" && p == "443" || scheme == "http" && p == "80")
            })
    };
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    let acrm = values(fields, "access-control-request-method");
    let acrh = values(fields, "access-control-request-headers");
    origins.len() <= 1
        && origins.iter().all(|o| *o == "null" || origin_ok(o))
        && acrm.len() <= 1
        && acrm.iter().all(|m| token(m))
        && acrh.iter().all(|v| v.split(',').all(|n| token(n.trim())))
}

/// Whether the request's authority is one a browser sends: one `Host`, lowercase, without a
/// port that is the default or a trailing dot, and an origin-form request line.
fn browser_host(fields: &[(String, String)]) -> bool {
    let hosts = values(fields, "host");
    !fields.iter().any(|(n, _)| n.starts_with(':'))
        && hosts.len() == 1
        && hosts.iter().all(|h| {
            *h == h.to_ascii_lowercase()
                && !h.ends_with('.')
                && !h.ends_with(":443")
                && !h.contains(".:")
        })
}

#[test]
fn the_model_decides_like_the_runtime_wherever_the_report_claims_equivalence() {
    let Some(vdir) = validator() else {
        return;
    };
    let dir = tempdir("gateway-api-differential");
    let (emitted, _) = emit_all(&dir);
    let mut total = 0;
    let mut claimed_total = 0;
    let mut explained: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for (k, e) in emitted.iter().enumerate() {
        let c = Compilation::load(&[&e.file]).unwrap();
        let lowered = c.lower(&e.profile).unwrap();
        let opts = options(Loss::ALL.to_vec());
        let codes: BTreeSet<&str> = gateway_api::report(&c, &lowered, &opts)
            .iter()
            .map(|d| d.code)
            .collect();
        let lost: BTreeSet<Loss> = guestlist_compiler::emit::lost(&c, &lowered, Engine::GatewayApi)
            .iter()
            .map(|l| l.kind)
            .collect();
        let docs = validate(&vdir, std::slice::from_ref(&e.yaml)).unwrap();
        let gw = Gateway {
            routes: docs.iter().map(|d| d["doc"].clone()).collect(),
        };
        let reqs = support::differential::requests(&c, &e.profile, 2500, 0x6a7e + k as u64, &[]);
        let mut agreed = 0;
        for (m, p, h) in &reqs {
            let fields: Vec<(String, String)> = h
                .iter()
                .filter(|(n, _)| !n.starts_with(':'))
                .cloned()
                .collect();
            let ex = guestlist_compiler::explain::explain(&lowered, m, p, &fields).unwrap();
            let runtime = Answer {
                local: ex.status,
                headers: ex.headers.clone(),
            };
            let model = gw.answer(m, p, &fields);
            let (r, g) = (outcome(m, &fields, &runtime), outcome(m, &fields, &model));
            // A request of a browser, on a structurally normal path, that no lost guard
            // decides: the report claims the same outcome.
            let claimed = browser_shaped(&fields)
                && browser_host(h)
                && structurally_normal(p)
                && !["csrf-rejected", "websocket-allowed", "websocket-rejected"]
                    .contains(&ex.kind.as_str());
            if claimed {
                claimed_total += 1;
            }
            if r == g {
                agreed += 1;
                continue;
            }
            // Each difference must be one the report names for this policy.
            let kind = ex.kind.as_str();
            let only_nonce_csp = r.reaches_app == g.reaches_app
                && r.cors == g.cors
                && r.security.symmetric_difference(&g.security).all(|(n, v)| {
                    n.starts_with("content-security-policy") && v.contains("{nonce}")
                });
            let why: Option<&'static str> = if kind == "csrf-rejected"
                && (lost.contains(&Loss::Csrf) || lost.contains(&Loss::CsrfToken))
            {
                Some("csrf (GL1301, GL1202)")
            } else if kind.starts_with("websocket-") && lost.contains(&Loss::Websocket) {
                Some("websocket (GL1302)")
            } else if (!structurally_normal(p) || kind == "path-rejected")
                && lost.contains(&Loss::PathForm)
            {
                Some("path-form (GL1305)")
            } else if only_nonce_csp && lost.contains(&Loss::CspNonce) {
                Some("csp-nonce (GL1201)")
            } else if !browser_host(h) && codes.contains("GL1322") {
                Some("host on the wire (GL1322)")
            } else if !browser_shaped(&fields) && codes.contains("GL1320") {
                Some("not a browser's request (GL1320, GL1321)")
            } else {
                None
            };
            match why {
                Some(w) => *explained.entry(w).or_insert(0) += 1,
                None => unexplained.push(format!(
                    "{} ({}): {m} {p} {fields:?}: runtime {kind} {r:?}, gateway {g:?} {:?}",
                    e.file.display(),
                    e.profile,
                    model.headers
                )),
            }
        }
        total += reqs.len();
        assert!(reqs.len() >= 2000);
        eprintln!(
            "gateway-api differential: {} ({}): {} requests, {agreed} decided alike",
            e.file.display(),
            e.profile,
            reqs.len()
        );
    }
    eprintln!("gateway-api differential: {total} requests, {claimed_total} of them browser requests on normal paths that no lost guard decides; explained differences: {explained:?}; unexplained: {}", unexplained.len());
    assert!(claimed_total >= 5000, "{claimed_total}");
    assert!(
        unexplained.is_empty(),
        "{} unexplained differences, first:\n{}",
        unexplained.len(),
        unexplained
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The report of `text` (a policy) for profile `default` with `accepted`: each diagnostic's
/// code, severity (`true`: error) and line.
fn report_of(text: &str, accepted: &[Loss]) -> Vec<(&'static str, bool, usize)> {
    let c = Compilation::from_str("t.policy", text);
    assert!(!c.has_errors(), "{}", c.render());
    let lowered = c.lower("default").unwrap();
    gateway_api::report(&c, &lowered, &options(accepted.to_vec()))
        .iter()
        .map(|d| (d.code, d.is_error(), c.sources().location(d.span).1))
        .collect()
}

#[test]
fn every_gateway_api_code_is_raised_at_its_line() {
    let origins: String = (0..65)
        .map(|i| format!("    allow-origins \"https://o{i}.example.com\"\n"))
        .collect();
    let many = format!("cors many {{\n{origins}    max-age 1m\n}}\nroute \"/x\" {{ cors many }}\n");
    // (policy, code, error, line): the code must be raised there, with that severity.
    let cases: Vec<(String, &str, bool, usize)> = vec![
        ("csp app {\n    script-src 'nonce'\n    object-src 'none'\n    base-uri 'none'\n}\nroute \"/p\" { csp app }\n".into(), "GL1201", true, 2),
        ("csrf a {\n    token bind-to cookie \"s\"\n}\nroute \"/p\" { csrf a }\n".into(), "GL1202", true, 2),
        ("csrf forms {\n    trusted-origins \"https://p.example.com\"\n}\nroute \"/p\" { csrf forms }\n".into(), "GL1301", true, 1),
        ("websocket live {\n    allow-origins same-origin\n}\nroute \"/live\" { websocket live }\n".into(), "GL1302", true, 1),
        (many.clone(), "GL1303", true, 66),
        ("cors a {\n    allow-origins \"https://a.example.com\"\n    max-age 1m\n}\nroute \"/x\" { cors a }\n".into(), "GL1304", true, 1),
        ("cors a {\n    allow-origins \"https://a.example.com\"\n    max-age 1m\n}\nroute \"/x\" { cors a }\n".into(), "GL1305", true, 5),
        ("cors a {\n    allow-origins \"https://a.example.com\"\n    allow-headers *\n    max-age 1m\n}\nroute \"/x\" { cors a }\n".into(), "GL1310", true, 3),
        ("cors a {\n    allow-origins \"https://a.example.com\"\n    allow-methods PROPFIND\n    max-age 1m\n}\nroute \"/x\" { cors a }\n".into(), "GL1310", true, 3),
        ("cors a {\n    allow-origins \"https://a.example.com:*\"\n    max-age 1m\n}\nroute \"/x\" { cors a }\n".into(), "GL1310", true, 2),
        ("host \"api.example.com:8443\" {\n    route \"/x\" { headers default }\n}\n".into(), "GL1311", true, 1),
        ("cors a {\n    allow-origins \"https://a.example.com\"\n    max-age 1m\n}\ncors b {\n    allow-origins \"https://b.example.com\"\n    max-age 1m\n}\nhost \"a.example.com\" {\n    route \"/api/*\" { cors a }\n}\nhost \"b.example.com\" {\n    route \"/api/*\" { cors b }\n}\n".into(), "GL1312", true, 10),
        ("cors a {\n    allow-origins \"https://a.example.com\"\n    max-age 1m\n}\nroute \"/x\" { cors a }\n".into(), "GL1320", false, 1),
        ("cors a {\n    allow-origins \"https://*.example.com\"\n    max-age 1m\n}\nroute \"/x\" { cors a }\n".into(), "GL1321", false, 1),
        ("host \"api.example.com\" {\n    route \"/x\" { headers default }\n}\n".into(), "GL1322", false, 1),
    ];
    for (text, code, error, line) in &cases {
        let got = report_of(text, &[]);
        assert!(
            got.contains(&(code, *error, *line)),
            "{code} at line {line} expected in {got:?}\n{text}"
        );
        // An accepted loss is reported no more, and the policy is emitted.
        if let Some(kind) = Loss::ALL.iter().find(|l| l.code() == *code) {
            let got = report_of(text, &Loss::ALL);
            assert!(got.iter().all(|(c, ..)| c != code), "{code}: {got:?}");
            let c = Compilation::from_str("t.policy", text);
            let lowered = c.lower("default").unwrap();
            let files = gateway_api::emit(&c, &lowered, &options(Loss::ALL.to_vec())).unwrap();
            assert!(
                files[0].text.contains(&format!("# - {}: ", kind.name())),
                "{}",
                files[0].text
            );
            assert!(gateway_api::emit(&c, &lowered, &options(Vec::new())).is_err());
        }
    }
    // Every code of the range has a case.
    for info in guestlist_compiler::diag::codes::ALL {
        if info.code.starts_with("GL13") {
            assert!(
                cases.iter().any(|c| c.1 == info.code),
                "no case for {}",
                info.code
            );
        }
    }
    // origin-limit accepted: the first 64 origins, the 65th refused at the edge.
    let c = Compilation::from_str("t.policy", &many);
    let lowered = c.lower("default").unwrap();
    let text = &gateway_api::emit(&c, &lowered, &options(Loss::ALL.to_vec())).unwrap()[0].text;
    assert!(
        text.contains("\"https://o63.example.com\"")
            && !text.contains("\"https://o64.example.com\"")
    );
}

#[test]
fn output_is_deterministic_and_write_removes_stale_yaml() {
    let f = root().join("examples/policies/site.policy");
    let c = Compilation::load(&[&f]).unwrap();
    let lowered = c.lower("default").unwrap();
    let opts = options(Loss::ALL.to_vec());
    let a = gateway_api::emit(&c, &lowered, &opts).unwrap();
    let b = gateway_api::emit(&c, &lowered, &opts).unwrap();
    assert_eq!(a, b);
    assert!(a[0]
        .text
        .lines()
        .next()
        .unwrap()
        .contains(guestlist_compiler::emit::GENERATED));
    // Without --namespace no metadata.namespace; the parent reference as given.
    let mut plain = opts.clone();
    plain.namespace = None;
    plain.parent_ref = "gw".parse().unwrap();
    let t = &gateway_api::emit(&c, &lowered, &plain).unwrap()[0].text;
    assert!(!t.contains("namespace:") && !t.contains("sectionName"));
    let dir = tempdir("gateway-api-write");
    std::fs::write(
        dir.join("old.yaml"),
        format!("# {} x\n", guestlist_compiler::emit::GENERATED),
    )
    .unwrap();
    std::fs::write(dir.join("mine.yaml"), "kind: Service\n").unwrap();
    gateway_api::write(&dir, &a).unwrap();
    assert!(!dir.join("old.yaml").exists());
    assert!(dir.join("mine.yaml").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("httproutes.yaml")).unwrap(),
        a[0].text
    );
    // The add-on is refused, not silently dropped.
    let mut eg = opts;
    eg.envoy_gateway = true;
    assert!(gateway_api::emit(&c, &lowered, &eg).is_err());
}
