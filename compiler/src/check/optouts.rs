//! `dangerously-allow CODE "reason"`: read with its block (pass 1), applied where a lowerable
//! error is found (in any pass), and reported when it lowered nothing (GL0702) once every
//! pass has run. Built on `checker`.

use super::checker::{line_span, Checker};
use crate::ast::Block;
use crate::diag::{codes, Diagnostic, Severity};
use crate::ir::OptOut;

impl Checker {
    /// Parses the `dangerously-allow` lines of a block.
    pub(super) fn optouts(&mut self, b: &Block) -> Vec<OptOut> {
        let mut out = Vec::new();
        for line in &b.lines {
            let Some(key) = line.values.first() else {
                continue;
            };
            if !key.is_word("dangerously-allow") {
                continue;
            }
            let span = line_span(&line.values, line.span);
            match line.values.get(1..) {
                Some([code, reason]) if !code.quoted && reason.quoted => {
                    let info = codes::info(&code.text);
                    if reason.text.trim().is_empty() {
                        self.diags.push(
                            Diagnostic::new("GL0701", reason.span, "an opt-out needs a reason")
                                .label("empty reason")
                                .help("say why this is safe, and who decided: the reason is what reviewers grep for"),
                        );
                    } else if code.text == "GL0213" {
                        self.diags.push(
                            Diagnostic::new("GL0701", code.span, "GL0213 cannot be lowered")
                                .label("`*` with credentials is never allowed")
                                .help("browsers refuse `Access-Control-Allow-Origin: *` with credentials; list the origins instead"),
                        );
                    } else if !info.is_some_and(|i| i.lowerable) {
                        let lowerable: Vec<&str> = codes::ALL
                            .iter()
                            .filter(|c| c.lowerable)
                            .map(|c| c.code)
                            .collect();
                        self.diags.push(
                            Diagnostic::new(
                                "GL0701",
                                code.span,
                                format!("`{}` cannot be lowered", code.text),
                            )
                            .label(if info.is_some() {
                                "not a security error that can be opted out of"
                            } else {
                                "unknown code"
                            })
                            .help(format!(
                                "only these codes can be opted out of: {}",
                                lowerable.join(", ")
                            )),
                        );
                    } else {
                        out.push(OptOut {
                            code: code.text.clone(),
                            reason: reason.text.clone(),
                            span,
                        });
                    }
                }
                _ => self.diags.push(
                    Diagnostic::new("GL0701", span, "malformed opt-out")
                        .label("expected a code and a quoted reason")
                        .help("write `dangerously-allow GL0214 \"why this is safe\"`"),
                ),
            }
        }
        out
    }

    /// Lowers `d` to a warning when one of `optouts` names its code.
    pub(super) fn apply_optouts(&mut self, mut d: Diagnostic, optouts: &[OptOut]) -> Diagnostic {
        if d.severity != Severity::Error || !codes::info(d.code).is_some_and(|i| i.lowerable) {
            return d;
        }
        if let Some(o) = optouts.iter().find(|o| o.code == d.code) {
            self.used_optouts.insert(o.span);
            d.severity = Severity::Warning;
            d.fix = None;
            d = d.secondary(o.span, "allowed here").note(format!(
                "lowered to a warning by dangerously-allow: {}",
                o.reason
            ));
        }
        d
    }

    /// GL0702 for each opt-out that lowered nothing.
    pub(super) fn unused_optouts(&mut self) {
        let all: Vec<OptOut> = self
            .program
            .sets
            .iter()
            .flat_map(|s| s.optouts.iter())
            .chain(self.program.cors.iter().flat_map(|c| c.optouts.iter()))
            .chain(self.program.csp.iter().flat_map(|c| c.optouts.iter()))
            .chain(self.program.csrf.iter().flat_map(|c| c.optouts.iter()))
            .chain(self.program.websocket.iter().flat_map(|c| c.optouts.iter()))
            .cloned()
            .collect();
        for o in all {
            if !self.used_optouts.contains(&o.span) {
                self.diags.push(
                    Diagnostic::new(
                        "GL0702",
                        o.span,
                        format!("opt-out for {} matches nothing", o.code),
                    )
                    .label("nothing here raises this error")
                    .help("remove it, so that a future dangerous change is not silently allowed"),
                );
            }
        }
    }
}
