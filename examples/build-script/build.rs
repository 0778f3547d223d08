//! Compiles the site policy into `$OUT_DIR/guestlist_policy.rs` (static `GUESTLIST_POLICY`)
//! and the `dev` profile into `$OUT_DIR/guestlist_policy_dev.rs` (static `GUESTLIST_POLICY_DEV`).

fn main() -> Result<(), guestlist_compiler::BuildError> {
    guestlist_compiler::Build::new()
        .policy("../policies/site.policy")
        .compile()?;
    guestlist_compiler::Build::new()
        .policy("../policies/site.policy")
        .profile("dev")
        .file_name("guestlist_policy_dev.rs")
        .static_name("GUESTLIST_POLICY_DEV")
        .compile()?;
    Ok(())
}
