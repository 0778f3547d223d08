//! The `csp` block: its directives, `report-only` and `report-to` endpoints as a typed
//! declaration (pass 1; GL0839 for a value no header can carry), and the CSP lints of
//! `check::csp` on each block active in a profile, opt-outs applied (pass 3).

use crate::ast::{Block, Value};
use crate::check::checker::{mk, settings, Checker, Setting};
use crate::diag::Diagnostic;
use crate::ir::{active, CspDecl, CspLine, Entry, Program};

/// GL0839 for a string that goes into a header value but is not one by the runtime's
/// definition ([`guestlist::is_header_value`]: visible ASCII, spaces and tabs, none at either
/// end); `None` when it is one. Words always are: only strings can hold anything else.
fn not_a_header_value(v: &Value) -> Option<Diagnostic> {
    let text = v.text.as_str();
    if guestlist::is_header_value(text.as_bytes()) {
        return None;
    }
    let (message, label, help) = if text.is_empty() {
        (
            "an empty CSP value".to_string(),
            "nothing to send",
            "remove the empty string".to_string(),
        )
    } else if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
        let encoded: String = c.to_string().bytes().map(|b| format!("%{b:02X}")).collect();
        (
            format!("`{text}` holds non-ASCII text"),
            "HTTP header values are ASCII",
            format!("write a non-ASCII host in punycode (`xn--...`, as browsers send it) and percent-encode other non-ASCII characters (`{c}` is `{encoded}`)"),
        )
    } else if let Some(c) = text.chars().find(|c| c.is_ascii_control() && *c != '\t') {
        (
            format!("`{}` holds a control character", text.escape_debug()),
            "a header value cannot carry control characters",
            format!(
                "remove it, or percent-encode it (`%{:02X}`) where a URL needs it",
                u32::from(c)
            ),
        )
    } else {
        (
            format!("`{text}` starts or ends with white space"),
            "receivers strip it: the value would not arrive as written",
            "remove the white space inside the quotes".to_string(),
        )
    };
    let span = if text.is_empty() {
        v.span
    } else {
        v.inner_span()
    };
    Some(
        Diagnostic::new("GL0839", span, message)
            .label(label)
            .help(help),
    )
}

impl Checker {
    pub(super) fn csp_block(&mut self, b: &Block, name: &Value, when: crate::ir::Cond) {
        let optouts = self.optouts(b);
        let mut c = CspDecl {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            directives: Vec::new(),
            report_only: Vec::new(),
            endpoints: Vec::new(),
            optouts,
        };
        for Setting {
            key,
            vals,
            lspan,
            cond,
        } in settings(&b.lines)
        {
            if key.quoted {
                self.diags.push(
                    Diagnostic::new("GL0104", key.span, "a setting starts with its name")
                        .label("expected a directive name")
                        .help("write `script-src 'self'`"),
                );
                continue;
            }
            match key.text.as_str() {
                "dangerously-allow" => {}
                "report-only" => {
                    if vals.is_empty() {
                        c.report_only.push(mk((), key.span, lspan, &cond));
                    } else {
                        self.diags.push(
                            Diagnostic::new("GL0104", lspan, "`report-only` takes no value")
                                .label("unexpected value")
                                .help("write `report-only` on its own line"),
                        );
                    }
                }
                "report-to" => match vals {
                    [n, url] if !n.quoted => {
                        self.diags.extend(not_a_header_value(url));
                        c.endpoints.push(mk((n.text.clone(), url.text.clone()), url.inner_span(), lspan, &cond));
                        c.directives.push(CspLine {
                            name: "report-to".into(),
                            name_span: key.span,
                            values: vec![(n.text.clone(), n.span)],
                            line: lspan,
                            when: cond,
                        });
                    }
                    _ => self.diags.push(
                        Diagnostic::new("GL0834", lspan, "`report-to` takes an endpoint name and its URL")
                            .label("expected NAME \"https://...\"")
                            .help("write `report-to csp-endpoint \"https://reports.example.com/csp\"`; guestlist sends the Reporting-Endpoints header for it"),
                    ),
                },
                other => {
                    let lower = other.to_ascii_lowercase();
                    self.diags.extend(vals.iter().filter_map(not_a_header_value));
                    c.directives.push(CspLine {
                        name: lower,
                        name_span: key.span,
                        values: vals.iter().map(|v| (v.text.clone(), v.inner_span())).collect(),
                        line: lspan,
                        when: cond,
                    });
                }
            }
        }
        self.program.csp.push(c);
    }

    /// The CSP lints of each csp block active in `profile`.
    pub(super) fn csp_in_profile(&mut self, program: &Program, profile: &str) {
        for c in program.csp.iter().filter(|c| active(&c.when, profile)) {
            let lines: Vec<&CspLine> = c
                .directives
                .iter()
                .filter(|l| active(&l.when, profile))
                .collect();
            let report_only = c.report_only.iter().any(|e| active(&e.when, profile));
            let endpoints: Vec<&Entry<(String, String)>> = c
                .endpoints
                .iter()
                .filter(|e| active(&e.when, profile))
                .collect();
            let found = crate::check::csp::check(c.name_span, &lines, report_only, &endpoints);
            for d in found {
                let d = self.apply_optouts(d, &c.optouts);
                self.diags.push(d);
            }
        }
    }
}
