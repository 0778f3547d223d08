//! The reporting lints: where violations are reported (report-uri, report-to and its
//! endpoints), and `sandbox`, which a report-only policy ignores. Built on `grammar`.

use super::grammar::{d, Directives};
use crate::diag::Diagnostic;
use crate::ir::Entry;
use crate::source::Span;

/// The reporting lints of one policy, reported at its block's head.
pub(super) fn check(
    dirs: &Directives<'_>,
    head: Span,
    report_only: bool,
    endpoints: &[&Entry<(String, String)>],
    out: &mut Vec<Diagnostic>,
) {
    let get = |n: &str| dirs.get(n);
    // GL0826/0827: where violations are reported.
    let uri = get("report-uri").is_some();
    let to = get("report-to").is_some();
    if !uri && !to {
        out.push(
            d("GL0826", head, "no report destination")
                .label("violations are never reported")
                .help("add `report-to NAME \"https://...\"`"),
        );
    } else if to && !uri {
        out.push(
            d("GL0827", head, "report-to without report-uri")
                .label("browsers without the Reporting API send no reports")
                .help("add `report-uri` with the same URL"),
        );
    }
    if report_only {
        if let Some(sb) = get("sandbox") {
            out.push(
                d(
                    "GL0838",
                    sb.line.name_span,
                    "sandbox in a report-only policy",
                )
                .label("ignored in Content-Security-Policy-Report-Only")
                .help("move sandbox to an enforced csp block"),
            );
        }
    }
    // report-to endpoints.
    for e in endpoints {
        let (name, url) = &e.value;
        if !guestlist::is_header_value(url.as_bytes()) {
            // GL0839, reported where the block was read.
            continue;
        }
        if !url.starts_with("https://") {
            out.push(
                d(
                    "GL0834",
                    e.span,
                    format!("report-to endpoint `{name}` is not https"),
                )
                .label("browsers only send reports to secure endpoints")
                .help("use an https:// URL"),
            );
        } else if url.contains(['"', ' ', ',']) || url.len() <= "https://".len() {
            out.push(
                d("GL0834", e.span, "malformed endpoint URL")
                    .label("expected https://host/path")
                    .help("write `report-to csp-endpoint \"https://reports.example.com/csp\"`"),
            );
        }
    }
}
