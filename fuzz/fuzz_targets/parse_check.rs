//! The parser, checker, renderer, lowering and formatter on any input: no panic, bounded time.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let c = guestlist_compiler::Compilation::from_str("fuzz.policy", &text);
    let _ = c.render();
    if !c.has_errors() {
        for p in c.program.all_profiles() {
            let _ = c.lower(&p);
        }
    }
    if c.diagnostics.iter().all(|d| d.code != "GL0001") {
        let once = guestlist_compiler::fmt::format(&text);
        assert_eq!(
            guestlist_compiler::fmt::format(&once),
            once,
            "fmt is not idempotent"
        );
        let again = guestlist_compiler::Compilation::from_str("fuzz.policy", &once);
        assert_eq!(
            again.files[0].structure(),
            c.files[0].structure(),
            "fmt changed the structure"
        );
    }
});
