//! Compiles the benchmark policies (one per size in `STATIC_SIZES`, with exact origins and with
//! subdomain patterns) into static tables with `guestlist_compiler::Build`, the way a service's
//! build.rs does.
#![expect(clippy::expect_used, reason = "a build script fails loudly")]

#[path = "src/policy_text.rs"]
#[allow(dead_code, reason = "build.rs compiles the static policies only")]
mod policy_text;

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    for n in policy_text::STATIC_SIZES {
        for (stem, text) in [
            ("", policy_text::policy_text(n)),
            ("pattern_", policy_text::pattern_policy_text(n)),
        ] {
            let file = out.join(format!("bench_{stem}{n}.policy"));
            if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
                std::fs::write(&file, text).expect("write the policy");
            }
            guestlist_compiler::Build::new()
                .policy(&file)
                .file_name(format!("policy_{stem}{n}.rs"))
                .static_name(format!("POLICY_{}{n}", stem.to_uppercase()))
                .compile()
                .expect("the benchmark policy compiles");
        }
    }
    println!("cargo:rerun-if-changed=src/policy_text.rs");
}
