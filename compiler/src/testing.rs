//! `guestlist test`: runs the policy's `test` blocks through the runtime's evaluator.

use std::collections::BTreeMap;

use crate::ir::{TestDecl, DEFAULT_PROFILE};
use crate::{Compilation, LowerError, Lowered};

/// The outcome of one test block.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    /// The test's name.
    pub name: String,
    /// `file:line` of the test.
    pub location: String,
    /// The profile it ran in.
    pub profile: String,
    /// What went wrong; empty when it passed.
    pub failures: Vec<String>,
}

impl TestOutcome {
    /// Whether the test passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn run_one(t: &TestDecl, lowered: &Lowered) -> Vec<String> {
    let d = lowered.policy.decide(&t.method, &t.path, &t.headers[..]);
    let mut failures = Vec::new();
    if d.kind != t.expect {
        failures.push(format!(
            "expected {}, got {} ({}: {})",
            t.expect.as_str(),
            d.kind.as_str(),
            d.reason.code(),
            d.reason.describe()
        ));
    }
    let got = crate::explain::response_headers(&lowered.policy, &d);
    for (name, value, _) in &t.expect_headers {
        if !got.iter().any(|(n, v)| n == name && v == value) {
            let actual: Vec<&str> = got
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            failures.push(if actual.is_empty() {
                format!("expected header `{name}: {value}`, but it is not sent")
            } else {
                format!(
                    "expected header `{name}: {value}`, got `{name}: {}`",
                    actual.join("`, `")
                )
            });
        }
    }
    for (name, _) in &t.expect_absent {
        if let Some((_, v)) = got.iter().find(|(n, _)| n == name) {
            failures.push(format!("expected no `{name}` header, got `{name}: {v}`"));
        }
    }
    failures
}

/// Runs every test block. `Err` when a profile cannot be lowered (the policy has errors).
pub fn run(c: &Compilation) -> Result<Vec<TestOutcome>, LowerError> {
    let mut lowered: BTreeMap<String, Lowered> = BTreeMap::new();
    let mut out = Vec::new();
    for t in &c.program.tests {
        let profile = t
            .profile
            .clone()
            .unwrap_or_else(|| DEFAULT_PROFILE.to_string());
        if !lowered.contains_key(&profile) {
            let l = c.lower(&profile)?;
            lowered.insert(profile.clone(), l);
        }
        let failures = lowered
            .get(&profile)
            .map(|l| run_one(t, l))
            .unwrap_or_default();
        let (file, line, _) = c.sources.location(t.head_span);
        out.push(TestOutcome {
            name: t.name.clone(),
            location: format!("{file}:{line}"),
            profile,
            failures,
        });
    }
    Ok(out)
}
