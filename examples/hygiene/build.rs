//! The build.rs route with a renamed runtime crate.
fn main() -> Result<(), guestlist_compiler::BuildError> {
    guestlist_compiler::Build::new()
        .policy("../policies/site.policy")
        .runtime_crate("::gl")
        .compile()?;
    guestlist_compiler::Build::new()
        .policy("tenants.policy")
        .runtime_crate("::gl")
        .file_name("tenants_policy.rs")
        .static_name("TENANTS_POLICY")
        .compile()?;
    Ok(())
}
