//! Every CSP guestlist emits parses back, with servo's `content-security-policy` crate (an
//! implementation of the CSP3 parsing algorithm, used here as a test oracle), to exactly the
//! directives and sources the policy file declares, in order: one policy (no stray `,`), no
//! directive lost or merged, the disposition matching the header name, and every directive
//! valid by the crate's own grammar checks.

use content_security_policy::{CspList, PolicyDisposition, PolicySource};
use guestlist::CspNonce;
use guestlist_compiler::ir::active;
use guestlist_compiler::Compilation;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn emitted_csp_parses_back_to_the_policy() {
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
    let nonce = CspNonce::from_random(*b"0123456789abcdef");
    let mut checked = 0;
    for f in &files {
        let c = Compilation::load(&[f]).unwrap();
        assert!(!c.has_errors(), "{}", c.render());
        for profile in c.profiles() {
            let lowered = c.lower(&profile).unwrap();
            for csp in lowered.policy.csp_policies() {
                let decl = c
                    .program()
                    .csp
                    .iter()
                    .find(|d| d.name == csp.name())
                    .unwrap();
                let value = csp.value_with(Some(&nonce)).unwrap();
                let value = value.to_str().unwrap();
                let disposition = if csp.report_only() {
                    PolicyDisposition::Report
                } else {
                    PolicyDisposition::Enforce
                };
                let list = CspList::parse(value, PolicySource::Header, disposition);
                assert_eq!(list.0.len(), 1, "{}: one policy in {value:?}", f.display());
                let parsed = &list.0[0];
                assert!(
                    parsed.is_valid(),
                    "{}: invalid per the oracle: {value:?}",
                    f.display()
                );
                let got: Vec<(String, Vec<String>)> = parsed
                    .directive_set
                    .iter()
                    .map(|d| (d.name.clone(), d.value.clone()))
                    .collect();
                let want: Vec<(String, Vec<String>)> = decl
                    .directives
                    .iter()
                    .filter(|l| active(&l.when, &profile))
                    .map(|l| {
                        let values = l
                            .values
                            .iter()
                            .map(|(v, _)| {
                                if v == "'nonce'" {
                                    format!("'nonce-{nonce}'")
                                } else {
                                    v.clone()
                                }
                            })
                            .collect();
                        (l.name.clone(), values)
                    })
                    .collect();
                assert_eq!(got, want, "{} ({profile}): {value:?}", f.display());
                assert_eq!(
                    csp.header_name().as_str(),
                    if csp.report_only() {
                        "content-security-policy-report-only"
                    } else {
                        "content-security-policy"
                    }
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "only {checked} CSPs checked");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    /// Whatever CSP the checker accepts without errors, the oracle parses back to the same
    /// directives and finds valid.
    #[test]
    fn accepted_csp_is_valid_to_the_oracle(
        lines in proptest::collection::vec(
            (
                proptest::sample::select(vec![
                    "default-src", "script-src", "style-src", "img-src", "connect-src",
                    "object-src", "base-uri", "form-action", "frame-ancestors", "worker-src",
                    "script-src-elem", "font-src", "frame-src", "Media-Src",
                ]),
                proptest::collection::vec(
                    proptest::sample::select(vec![
                        "'self'", "'none'", "'nonce'", "'strict-dynamic'", "'unsafe-inline'",
                        "https:", "data:", "*", "cdn.example.com", "https://cdn.example.com/js/",
                        "*.example.com", "https://a.example.com:8443", "'report-sample'",
                        "'sha256-7OKuy6nkOy0JQ8Zq0gqcAmXk9cmbUYyGZO9ffXwYq0c='", "wss://ws.example.com",
                        "'wasm-unsafe-eval'", "http://localhost:*",
                    ]),
                    1..4,
                ),
            ),
            1..7,
        ),
        report_only in proptest::bool::ANY,
    ) {
        let mut text = String::from("csp p {\n");
        if report_only {
            text.push_str("    report-only\n");
        }
        for (name, values) in &lines {
            text.push_str(&format!("    {name} {}\n", values.join(" ")));
        }
        text.push_str("    dangerously-allow GL0804 \"generated\"\n    dangerously-allow GL0807 \"generated\"\n    dangerously-allow GL0808 \"generated\"\n    dangerously-allow GL0809 \"generated\"\n    dangerously-allow GL0810 \"generated\"\n    dangerously-allow GL0811 \"generated\"\n}\nroute \"/\" { csp p }\n");
        let c = Compilation::from_str("gen.policy", &text);
        if c.has_errors() {
            return Ok(());
        }
        let lowered = c.lower("default").unwrap();
        let csp = &lowered.policy.csp_policies()[0];
        let nonce = CspNonce::from_random([7; 16]);
        let value = csp.value_with(Some(&nonce)).unwrap();
        let value = value.to_str().unwrap();
        let list = CspList::parse(value, PolicySource::Header, PolicyDisposition::Enforce);
        proptest::prop_assert_eq!(list.0.len(), 1);
        proptest::prop_assert!(list.0[0].is_valid(), "{:?}", value);
        let got: Vec<String> = list.0[0].directive_set.iter().map(|d| d.name.clone()).collect();
        let want: Vec<String> = lines.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        proptest::prop_assert_eq!(got, want);
    }
}
