//! The benchmark policy as policy text, shared by build.rs (static tables, as `include_policy!`
//! and build.rs users get) and the library (tables built at run time).

/// `https://tenant-{i:05}.example.com` for `i < n`: equal lengths, so a linear scan compares
/// every entry.
pub fn origins(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://tenant-{i:05}.example.com"))
        .collect()
}

/// `https://*.tenant-{i:05}.example.com` for `i < n`: subdomain patterns.
pub fn patterns(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://*.tenant-{i:05}.example.com"))
        .collect()
}

/// A single-route policy allowing `n` origins, configured like the tower-http layer it is
/// compared with.
pub fn policy_text(n: usize) -> String {
    policy_with(&origins(n))
}

/// The same policy allowing `n` subdomain patterns instead of exact origins.
pub fn pattern_policy_text(n: usize) -> String {
    policy_with(&patterns(n))
}

/// The same policy with its origins in a set supplied at run time (`origins tenants
/// provided`, `tenant-bound` when `tenant_bound`), filled with `origins(n)` by
/// `replace_provided`.
pub fn provided_policy_text(tenant_bound: bool) -> String {
    let flag = if tenant_bound { " tenant-bound" } else { "" };
    let mut src = format!("origins tenants provided{flag}\n");
    src.push_str(&policy_body("    allow-origins tenants\n"));
    src
}

fn policy_with(entries: &[String]) -> String {
    let mut lines = String::new();
    for o in entries {
        lines.push_str(&format!("    allow-origins \"{o}\"\n"));
    }
    policy_body(&lines)
}

fn policy_body(origin_lines: &str) -> String {
    let mut src = String::from("cors api {\n");
    src.push_str(origin_lines);
    src.push_str(
        "    allow-methods GET POST PUT DELETE\n    allow-headers content-type x-auth-token\n    expose-headers x-request-id x-ratelimit-remaining\n    allow-credentials true\n    max-age 2h\n}\nroute \"/*\" { cors api }\n",
    );
    src
}

/// The benchmark policy (1,000 origins) served under `blocks` host blocks
/// (`h{i:05}.example.com`, each with `/*` and its own `/b{i:05}`, both under `cors api`) and
/// at top level: the requests come to the last block's host.
pub fn hosts_policy_text(blocks: usize) -> String {
    let mut src = policy_with(&origins(1_000));
    for i in 0..blocks {
        src.push_str(&format!(
            "host \"h{i:05}.example.com\" {{\n    route \"/*\" {{ cors api }}\n    route \"/b{i:05}\" {{ cors api }}\n}}\n"
        ));
    }
    src
}

/// The list sizes compiled into static tables by build.rs.
pub const STATIC_SIZES: [usize; 4] = [1, 100, 1_000, 10_000];
