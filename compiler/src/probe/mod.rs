//! `guestlist probe`, the part without a network: which requests to send a running deployment
//! ([`plan()`]), what the runtime answers each of them (its expectation, from
//! [`crate::explain`], the tower layer's own headers), and what differs in what the server
//! sent ([`compare()`]). The command line (`cli/probe.rs`) sends the requests and prints.
//!
//! The expectations are never assumed: a look-alike origin that the policy happens to allow is
//! expected to be allowed, because the runtime says so.

pub mod compare;
pub mod plan;

pub use compare::{compare, compare_nonces, Got, Mismatch, Severity};
pub use plan::{plan, Plan, PlanError, PlanOptions, Probe, Purpose};

use crate::diag::Diagnostic;
use crate::{Compilation, Lowered};

/// The query parameter every probe request carries, numbered (`?guestlist-probe=N`).
pub const QUERY: &str = "guestlist-probe";

/// What the runtime answers one request with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The status when the runtime answers itself (a preflight, a refusal); `None` when the
    /// application answers.
    pub status: Option<u16>,
    /// The decision's kind.
    pub kind: guestlist::Kind,
    /// The headers the layer writes (lowercase names; `{nonce}` for the CSP nonce).
    pub headers: Vec<(String, String)>,
    /// The route has a cors policy: the layer owns the `Access-Control-*` headers.
    pub governed: bool,
    /// Names the route's header set removes from every response.
    pub removed: Vec<String>,
}

impl Expected {
    /// The runtime refuses the request itself (a status of 400 or more).
    pub fn refuses(&self) -> bool {
        self.status.is_some_and(|s| s >= 400)
    }
}

/// The runtime's answer to `method target headers` (the target may carry a query).
pub fn expect(
    lowered: &Lowered,
    method: &str,
    target: &str,
    headers: &[(String, String)],
) -> Result<Expected, crate::response::AnswerError> {
    let e = crate::explain::explain(lowered, method, target, headers)?;
    let [_, set, _, _] = &e.guards;
    let removed = set
        .as_ref()
        .and_then(|name| lowered.spec.headers.iter().find(|h| &h.name == name))
        .map(|h| h.remove.clone())
        .unwrap_or_default();
    Ok(Expected {
        status: e.status,
        kind: e.kind,
        headers: e.headers,
        governed: e.cors.is_some(),
        removed,
    })
}

/// The probe's findings about the policy itself: GL1601 for each set supplied at run time
/// without a file (the runtime allows none of its entries, so a server that allows them is
/// reported looser), GL1602 for each csrf policy whose refusals go unprobed without
/// `--unsafe-methods`.
pub fn warnings(
    compilation: &Compilation,
    lowered: &Lowered,
    unsafe_methods: bool,
) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = compilation
        .unsupplied_sets(lowered)
        .map(|(name, span)| {
            Diagnostic::new(
                "GL1601",
                span,
                format!("origins set `{name}` is empty for the probe"),
            )
            .label("supplied at run time: no file was given, so the expectations allow none of its origins")
            .help(format!("give the deployment's entries with `--origins {name}=FILE`"))
        })
        .collect();
    if !unsafe_methods {
        let used = |i: usize| lowered.spec.routes.iter().any(|r| r.csrf == Some(i));
        for (i, c) in lowered.spec.csrf.iter().enumerate() {
            let Some(span) = lowered.provenance.csrf.get(i).copied() else {
                continue;
            };
            if !used(i) {
                continue;
            }
            out.push(
                Diagnostic::new(
                    "GL1602",
                    span,
                    format!("csrf policy `{}` is not probed", c.name),
                )
                .label("its check refuses cross-site posts, which may change state on the target")
                .help("pass `--unsafe-methods` to send cross-site POSTs (against a staging deployment)"),
            );
        }
    }
    out
}

/// An origin split into scheme, host and port (`None`: no port written).
pub(crate) fn split(origin: &str) -> Option<(&str, &str, Option<&str>)> {
    let (scheme, authority) = origin.split_once("://")?;
    match authority.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty()
                && !port.is_empty()
                && !authority.ends_with(']')
                && (port == "*" || port.bytes().all(|b| b.is_ascii_digit())) =>
        {
            Some((scheme, host, Some(port)))
        }
        _ => Some((scheme, authority, None)),
    }
}

/// The label probe requests put where a pattern has `*`.
pub const SAMPLE_LABEL: &str = "guestlist-probe";

/// An origin no policy is expected to allow.
pub const STRANGER: &str = "https://guestlist-probe.example";
