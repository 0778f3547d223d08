//! The parser, checker, renderer, lowering, every output and the formatter on any input: no
//! panic, bounded time; a policy `check` passes lowers in every profile, and its Rust and
//! Markdown are generated (nginx may refuse it, with a reason, never a panic).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let c = guestlist_compiler::Compilation::from_str("fuzz.policy", &text);
    let _ = c.render();
    if !c.has_errors() {
        for p in c.profiles() {
            let lowered = match c.lower(&p) {
                Ok(l) => l,
                Err(e) => panic!("checks without errors, but does not lower for {p}: {e}"),
            };
            if let Err(e) = guestlist_compiler::codegen::policy_expr(&lowered, "::guestlist", &[]) {
                panic!("checks without errors, but no Rust is generated for {p}: {e}");
            }
            if let Err(e) = guestlist_compiler::emit::docs::emit(&c, &lowered, "fuzz", &[], false) {
                panic!("checks without errors, but no Markdown is generated for {p}: {e}");
            }
            let opts = guestlist_compiler::emit::nginx::Options {
                include_root: "/etc/nginx/guestlist".into(),
                upstream_include: None,
                generated_by: "fuzz".into(),
                accepted: Vec::new(),
            };
            // A refusal (a nonce CSP, a value over an engine's limit) is an error with its
            // reason, never a panic, on every edge.
            let _ = guestlist_compiler::emit::nginx::emit(&c, &lowered, &opts);
            let haproxy = guestlist_compiler::emit::haproxy::Options {
                include_root: "/etc/haproxy/guestlist".into(),
                generated_by: "fuzz".into(),
                accepted: Vec::new(),
            };
            let _ = guestlist_compiler::emit::haproxy::emit(&c, &lowered, &haproxy);
            let caddy = guestlist_compiler::emit::caddy::Options {
                include_root: "/etc/caddy/guestlist".into(),
                upstream_include: None,
                generated_by: "fuzz".into(),
                accepted: Vec::new(),
            };
            let _ = guestlist_compiler::emit::caddy::emit(&c, &lowered, &caddy);
        }
    }
    if c.diagnostics().iter().all(|d| d.code != "GL0001") {
        let once = guestlist_compiler::fmt::format(&text);
        assert_eq!(
            guestlist_compiler::fmt::format(&once),
            once,
            "fmt is not idempotent"
        );
        let again = guestlist_compiler::Compilation::from_str("fuzz.policy", &once);
        assert_eq!(
            again.structure(),
            c.structure(),
            "fmt changed the structure"
        );
    }
});
