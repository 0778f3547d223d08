//! The guard blocks, one file per kind (`csp`, `headers`, `csrf`, `websocket`): each turns
//! its block into a typed declaration (pass 1) and runs its per-profile checks (pass 3). This
//! file dispatches a block to its kind and runs the kinds' checks in turn. Built on `checker`,
//! `optouts`, `origin`, `blocks` (origin entries, route patterns) and `csp` (the lints).

mod csp;
mod csrf;
mod headers;
mod websocket;

use super::checker::{when_of, Checker};
use crate::ast::{Block, Value};
use crate::diag::Diagnostic;
use crate::ir::Program;

/// The settings of a guard block kind (`csrf`, `websocket`, `headers`; a csp block's are its
/// directives, [`super::csp::directives`]), as the checker reads them.
#[cfg(feature = "cli")]
pub(super) fn settings_of(kind: &str) -> Vec<&'static str> {
    match kind {
        "csrf" => csrf::CSRF_SETTINGS.to_vec(),
        "websocket" => websocket::WS_SETTINGS.to_vec(),
        "headers" => ["include", "remove"]
            .into_iter()
            .chain(headers::HEADER_VALUES.iter().map(|(n, _)| *n))
            .collect(),
        _ => Vec::new(),
    }
}

fn malformed_head(b: &Block, kind: &str) -> Diagnostic {
    Diagnostic::new("GL0104", b.head_span, format!("malformed `{kind}` block"))
        .label("expected one name")
        .help(format!(
            "write `{kind} NAME {{` (optionally `{kind} NAME when PROFILE {{`)"
        ))
}

impl Checker {
    /// Dispatches the four guard block kinds; `false` when `kind` is not one of them.
    pub(super) fn guard_block(
        &mut self,
        kind: &str,
        b: &Block,
        args: &[Value],
        when: Option<&Value>,
    ) -> bool {
        if !matches!(kind, "csp" | "headers" | "csrf" | "websocket") {
            return false;
        }
        let name = match args {
            [n] if !n.quoted && n.text != "*" => n,
            _ => {
                self.diags.push(malformed_head(b, kind));
                return true;
            }
        };
        let when = when_of(when);
        match kind {
            "csp" => self.csp_block(b, name, when),
            "headers" => self.headers_block(b, name, when),
            "csrf" => self.csrf_block(b, name, when),
            _ => self.websocket_block(b, name, when),
        }
        true
    }

    /// Per-profile checks of the guard blocks, kind by kind.
    pub(super) fn guards_in_profile(&mut self, program: &Program, profile: &str) {
        self.csp_in_profile(program, profile);
        self.websocket_in_profile(program, profile);
        self.csrf_in_profile(program, profile);
    }
}
