//! `guestlist test`: runs the policy's `test` blocks through the runtime's evaluator (the
//! decision kind) and its tower layer (the headers it writes, [`crate::response`]).

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

/// The secret test blocks sign their tokens with (never a production secret: it is public).
const TEST_SECRET: [u8; 32] = *b"guestlist test blocks, not prod!";

/// The request headers of a test, with the `csrf-token` it asks for attached.
fn test_headers(
    t: &TestDecl,
    lowered: &Lowered,
    secret: &guestlist::CsrfSecret,
) -> Vec<(String, String)> {
    let mut headers = t.headers.clone();
    let Some(kind) = &t.csrf_token else {
        return headers;
    };
    let policy = &lowered.policy;
    let d = policy.decide(&t.method, &t.path, &t.headers[..]);
    let Some(tp) = policy.csrf_token_policy(d.guards) else {
        return headers;
    };
    let session = t
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| *n == tp.bind_cookie())
        .map_or(String::new(), |(_, v)| v.to_string());
    let minted = |s: &str| guestlist::mint_csrf_token(secret, s.as_bytes()).unwrap_or_default();
    let token = match kind.as_str() {
        "other-session" => minted(&format!("{session}-other")),
        "tampered" => {
            let mut t = minted(&session).into_bytes();
            if let Some(b) = t.first_mut() {
                *b = if *b == b'0' { b'1' } else { b'0' };
            }
            String::from_utf8(t).unwrap_or_default()
        }
        "malformed" => "not-a-token".to_string(),
        _ => minted(&session),
    };
    if kind != "cookie-only" {
        headers.push((tp.header().to_string(), token.clone()));
    }
    if kind != "header-only" {
        headers.push(("cookie".to_string(), format!("{}={token}", tp.cookie())));
    }
    headers
}

fn run_one(t: &TestDecl, lowered: &Lowered) -> Vec<String> {
    let secret = guestlist::CsrfSecret::new(TEST_SECRET.to_vec());
    let Ok(secret) = secret else {
        return vec!["the test secret is invalid".to_string()];
    };
    let headers = test_headers(t, lowered, &secret);
    // The request has no body, as the layer below is given it (an urlencoded form post
    // without the token header is an empty form: `csrf-token-missing`).
    let d = lowered.policy.decide_form(
        &t.method,
        &t.path,
        None,
        &headers[..],
        Some(&secret),
        guestlist::FormBody::Read(&[]),
    );
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
    // What the layer writes, with the same secret.
    let layer = guestlist::Layer::shared(std::sync::Arc::new(lowered.policy.clone()))
        .csrf_secret(secret.clone());
    let got = match crate::response::answer(&layer, &t.method, &t.path, &headers) {
        Ok(a) => a.headers,
        Err(e) => {
            failures.push(e.to_string());
            return failures;
        }
    };
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

/// Supplies a test's `origins` lines to `l`'s sets (in a tenant-bound set, with the key
/// `test`); the failures when a set is not one supplied at run time or an entry is refused.
fn supply(t: &TestDecl, l: &Lowered) -> Result<(), Vec<String>> {
    let mut failures = Vec::new();
    for (name, entries, _) in &t.origins {
        let Some(set) = l.policy.provided_set(name) else {
            failures.push(format!(
                "`origins {name}`: no set `{name}` supplied at run time in this profile (declare `origins {name} provided`)"
            ));
            continue;
        };
        let key = set.is_tenant_bound().then(|| "test".to_string());
        let entries = entries.iter().map(|o| guestlist::SuppliedEntry {
            origin: o.clone(),
            key: key.clone(),
        });
        match l.policy.replace_provided(name, entries) {
            Some(Ok(_)) | None => {}
            Some(Err(e)) => failures.extend(
                e.entries
                    .iter()
                    .map(|x| format!("`origins {name}`: {:?} refused: {}", x.origin, x.why)),
            ),
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
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
        let failures = if t.origins.is_empty() {
            if !lowered.contains_key(&profile) {
                let l = c.lower(&profile)?;
                lowered.insert(profile.clone(), l);
            }
            lowered
                .get(&profile)
                .map(|l| run_one(t, l))
                .unwrap_or_default()
        } else {
            // Its own tables: supplying a set replaces it in every clone of the policy.
            let l = c.lower(&profile)?;
            match supply(t, &l) {
                Ok(()) => run_one(t, &l),
                Err(f) => f,
            }
        };
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
