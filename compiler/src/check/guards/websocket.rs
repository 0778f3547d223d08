//! The `websocket` block: the origins that may open a WebSocket (`same-origin`, origins and
//! sets, never `*`) and whether a handshake without an Origin passes, as a typed declaration
//! (pass 1), and its per-profile checks (pass 3).

use crate::ast::{Block, Value};
use crate::check::checker::{choice, mk, settings, unknown_setting, Checker, Setting};
use crate::diag::Diagnostic;
use crate::ir::{active, OriginRef, Program, WebSocketDecl};
use crate::source::Span;

pub(super) const WS_SETTINGS: [&str; 2] = ["allow-origins", "missing-origin"];

impl Checker {
    pub(super) fn websocket_block(&mut self, b: &Block, name: &Value, when: crate::ir::Cond) {
        let optouts = self.optouts(b);
        let mut w = WebSocketDecl {
            name: name.text.clone(),
            name_span: name.span,
            head_span: b.head_span,
            when,
            origins: Vec::new(),
            same_origin: Vec::new(),
            invalid: 0,
            missing: Vec::new(),
            optouts: optouts.clone(),
        };
        for Setting {
            key,
            vals,
            lspan,
            cond,
        } in settings(&b.lines)
        {
            match key.text.as_str() {
                "allow-origins" => {
                    for v in vals {
                        if v.is_word("same-origin") {
                            w.same_origin.push(mk((), v.span, lspan, &cond));
                            continue;
                        }
                        if v.is_word("*") {
                            self.diags.push(websocket_wildcard(v.span));
                            w.invalid += 1;
                            continue;
                        }
                        match self.origin_value(v, &optouts, true) {
                            Some(r) => w.origins.push(mk(r, v.inner_span(), lspan, &cond)),
                            None => w.invalid += 1,
                        }
                    }
                }
                "missing-origin" => {
                    if let Some((allow, s)) =
                        choice(vals, key, lspan, "allow", "reject", &mut self.diags)
                    {
                        w.missing.push(mk(allow, s, lspan, &cond));
                    }
                }
                _ => self
                    .diags
                    .push(unknown_setting(key, "websocket", &WS_SETTINGS)),
            }
        }
        self.program.websocket.push(w);
    }

    /// A websocket block active in `profile`: whether it allows any origin, `*` through a
    /// set, its single settings.
    pub(super) fn websocket_in_profile(&mut self, program: &Program, profile: &str) {
        for w in program
            .websocket
            .iter()
            .filter(|w| active(&w.when, profile))
        {
            let (eff, _) = program.expand_origins(&w.origins, profile);
            let same = w.same_origin.iter().any(|e| active(&e.when, profile));
            // `*` through a set (a literal `*` was reported where it was written).
            if let Some(e) = eff.iter().find(|e| matches!(e.value, OriginRef::Any)) {
                self.diags.push(websocket_wildcard(e.span));
            }
            if eff.is_empty()
                && !same
                && w.invalid == 0
                && program.provided_in(&w.origins, profile).is_empty()
            {
                self.diags.push(
                    Diagnostic::new("GL0973", w.name_span, format!("websocket policy `{}` allows no origin", w.name))
                        .label("every browser handshake would be refused")
                        .help("add `allow-origins same-origin` or the origins of the pages that open the socket"),
                );
            }
            self.singular(&w.missing, profile, "missing-origin");
        }
    }
}

fn websocket_wildcard(span: Span) -> Diagnostic {
    Diagnostic::new("GL0971", span, "`*` may open a WebSocket")
        .label("every site could open this socket with the user's cookies")
        .help("list the origins (or write `same-origin`); a WebSocket handshake is not protected by CORS (cross-site WebSocket hijacking)")
}
