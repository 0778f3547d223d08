//! Code generation: a lowered policy -> Rust source that builds the same runtime table types
//! as `static`s. The proc macro parses this text into tokens; build.rs and `emit rust` write it
//! to a file. One generator, so every way in produces the same tables.
//!
//! Generated code names the runtime only through `{krate}` (default `::guestlist`) and reaches
//! `core`/`std` only through `{krate}::__private`, so a crate that shadows `core` still builds.
//! It starts with a compile-time check of the runtime's `TABLE_FORMAT`, and builds every table
//! with the constructors of `{krate}::__private`, which check it when the user's crate
//! compiles. It writes data only (keys, slot layouts, header names and values); whatever the
//! runtime derives from that data (pattern-set flags, route-search lengths, a CSP's whole
//! value) the constructors compute again from it.

use std::fmt::Write as _;

use guestlist::{KeySet, Policy};
use http::HeaderValue;

use crate::emit::{csp_text, header_name, header_text, Unsupported};
use crate::Lowered;

/// The table format this generator writes (must equal `guestlist::__private::TABLE_FORMAT` of
/// the runtime it was built with; the generated code checks it against the user's runtime).
pub const TABLE_FORMAT: u32 = guestlist::__private::TABLE_FORMAT;

struct Gen<'a> {
    out: String,
    krate: &'a str,
}

impl Gen<'_> {
    fn cow_array(&mut self, name: &str, items: &[impl AsRef<str>]) {
        let k = self.krate;
        let _ = writeln!(
            self.out,
            "    static {name}: [{k}::__private::Cow<'static, str>; {}] = [",
            items.len()
        );
        for i in items {
            let _ = writeln!(
                self.out,
                "        {k}::__private::Cow::Borrowed({:?}),",
                i.as_ref()
            );
        }
        self.out.push_str("    ];\n");
    }

    /// The keys and slots of `set` as statics named `{prefix}_KEYS` and `{prefix}_SLOTS`.
    fn keys_and_slots(&mut self, prefix: &str, set: &KeySet) {
        self.cow_array(&format!("{prefix}_KEYS"), set.keys());
        let slots = set.raw_slots();
        let _ = write!(
            self.out,
            "    static {prefix}_SLOTS: [u32; {}] = [",
            slots.len()
        );
        for (i, s) in slots.iter().enumerate() {
            if i % 16 == 0 {
                self.out.push_str("\n        ");
            } else {
                self.out.push(' ');
            }
            let _ = write!(self.out, "{s},");
        }
        self.out.push_str("\n    ];\n");
    }

    /// A `static {name}: [u32; N]`.
    fn u32_array(&mut self, name: &str, items: &[u32]) {
        let _ = write!(self.out, "    static {name}: [u32; {}] = [", items.len());
        for i in items {
            let _ = write!(self.out, "{i}, ");
        }
        self.out.push_str("];\n");
    }

    fn keyset(&mut self, prefix: &str, set: &KeySet) -> String {
        self.keys_and_slots(prefix, set);
        format!(
            "{}::__private::key_set(&{prefix}_KEYS, &{prefix}_SLOTS, {})",
            self.krate,
            set.fold_case()
        )
    }

    fn pattern_set(&mut self, prefix: &str, set: &guestlist::PatternSet) -> String {
        self.keys_and_slots(prefix, set.as_keyset());
        format!(
            "{}::__private::pattern_set(&{prefix}_KEYS, &{prefix}_SLOTS)",
            self.krate
        )
    }

    /// `expr` wrapped by `__private::{wrap}` with the sets of `refs` (as a static named
    /// `{prefix}_PROVIDED`), or `expr` when `refs` is empty. A set is named by reference to
    /// its `PROVIDED{j}` static ([`Gen::provided_sets`]), never by its entries.
    fn with_provided(
        &mut self,
        wrap: &str,
        prefix: &str,
        refs: &[guestlist::SetRef],
        all: &[guestlist::SetRef],
        expr: String,
    ) -> Result<String, Unsupported> {
        if refs.is_empty() {
            return Ok(expr);
        }
        let k = self.krate;
        let _ = writeln!(
            self.out,
            "    static {prefix}_PROVIDED: [{k}::__private::SetRef; {}] = [",
            refs.len()
        );
        for r in refs {
            // Every set a table names is one of the policy's (`Policy::from_spec` shares them).
            let j = all
                .iter()
                .position(|s| std::ptr::eq(&**s, &**r))
                .ok_or_else(|| {
                    Unsupported(format!(
                        "{prefix} names a supplied set `{}` the policy does not hold",
                        r.name()
                    ))
                })?;
            let _ = writeln!(self.out, "        {k}::__private::set_ref(&PROVIDED{j}),");
        }
        self.out.push_str("    ];\n");
        Ok(format!(
            "{k}::__private::{wrap}({expr}, &{prefix}_PROVIDED)"
        ))
    }

    /// The policy's sets supplied at run time, as empty `static`s `PROVIDED{j}` and the list
    /// `PROVIDED`: their names and declared flags only. Their entries are the application's
    /// (`Policy::replace_provided` on the generated static) and are never written here.
    fn provided_sets(&mut self, sets: &[guestlist::SetRef]) {
        let k = self.krate;
        for (j, s) in sets.iter().enumerate() {
            let _ = writeln!(
                self.out,
                "    static PROVIDED{j}: {k}::__private::ProvidedSet = {k}::__private::provided_set({:?}, {}, {});",
                s.name(),
                s.is_tenant_bound(),
                s.allows_patterns()
            );
        }
        if !sets.is_empty() {
            let _ = writeln!(
                self.out,
                "    static PROVIDED: [{k}::__private::SetRef; {}] = [",
                sets.len()
            );
            for j in 0..sets.len() {
                let _ = writeln!(self.out, "        {k}::__private::set_ref(&PROVIDED{j}),");
            }
            self.out.push_str("    ];\n");
        }
    }

    /// `Some("value")` or `None`, the value checked as the runtime checks it.
    fn opt_value(&self, name: &str, v: Option<&HeaderValue>) -> Result<String, Unsupported> {
        let k = self.krate;
        Ok(match v {
            Some(v) => format!(
                "{k}::__private::Option::Some({:?})",
                header_text(name, v.as_bytes())?
            ),
            None => format!("{k}::__private::Option::None"),
        })
    }
}

/// The body of the policy expression: `{ ...statics...; __private::policy(..) }`.
/// `extra` lines go first inside the block (the macro's `include_bytes!`). Fails when a table
/// holds a header name or value that is not one (which `Policy::build` never lets through).
pub fn policy_expr(
    lowered: &Lowered,
    krate: &str,
    extra: &[String],
) -> Result<String, Unsupported> {
    let policy: &Policy = &lowered.policy;
    let mut g = Gen {
        out: String::new(),
        krate,
    };
    let k = krate;
    g.out.push_str("{\n");
    let _ = writeln!(
        g.out,
        "    const _: () = {k}::__private::check_table_format({TABLE_FORMAT});"
    );
    for e in extra {
        let _ = writeln!(g.out, "    {e}");
    }
    // Routes.
    let _ = writeln!(
        g.out,
        "    static ROUTES: [{k}::Route; {}] = [",
        policy.routes().len()
    );
    let opt = |i: Option<u32>| match i {
        Some(i) => format!("{k}::__private::Option::Some({i})"),
        None => format!("{k}::__private::Option::None"),
    };
    for r in policy.routes() {
        let gd = r.guards();
        let _ = writeln!(
            g.out,
            "        {k}::__private::route({:?}, {}, {k}::Guards {{ csp: {}, headers: {}, csrf: {}, websocket: {} }}),",
            r.pattern(),
            opt(r.cors()),
            opt(gd.csp),
            opt(gd.headers),
            opt(gd.csrf),
            opt(gd.websocket),
        );
    }
    g.out.push_str("    ];\n");
    let route_keys = g.keyset("ROUTE", policy.route_keys());
    let provided = policy.provided_sets();
    g.provided_sets(provided);
    // CORS policies.
    let mut cors_exprs = Vec::new();
    for (i, c) in policy.cors_policies().iter().enumerate() {
        let origins = g.keyset(&format!("CORS{i}_ORIGINS"), c.origins());
        let patterns = g.pattern_set(&format!("CORS{i}_PATTERNS"), c.patterns());
        let headers = g.keyset(&format!("CORS{i}_HEADERS"), c.headers());
        g.cow_array(&format!("CORS{i}_METHODS"), c.methods());
        let expr = format!(
            "{k}::__private::cors(\n            {:?},\n            {},\n            {origins},\n            {patterns},\n            {},\n            {},\n            &CORS{i}_METHODS,\n            {},\n            {headers},\n            {},\n            {},\n            {},\n        )",
            c.name(),
            c.any_origin(),
            c.credentials(),
            c.any_method(),
            c.any_header(),
            g.opt_value("access-control-allow-headers", c.allow_headers_value())?,
            g.opt_value("access-control-expose-headers", c.expose_headers_value())?,
            g.opt_value("access-control-max-age", c.max_age_value())?,
        );
        let expr = g.with_provided(
            "cors_provided",
            &format!("CORS{i}"),
            c.provided(),
            provided,
            expr,
        )?;
        cors_exprs.push(format!("        {expr},"));
    }
    let _ = writeln!(
        g.out,
        "    static CORS: [{k}::Cors; {}] = [",
        cors_exprs.len()
    );
    for e in cors_exprs {
        g.out.push_str(&e);
        g.out.push('\n');
    }
    g.out.push_str("    ];\n");
    guards(&mut g, policy)?;
    let non_normal = match policy.non_normal_paths() {
        guestlist::NonNormalPaths::Reject => "Reject",
        guestlist::NonNormalPaths::TwoReadings => "TwoReadings",
    };
    let base = format!(
        "&ROUTES, {route_keys}, &CORS, &CSP, &HEADER_SETS, &CSRF, &WEBSOCKET, {k}::NonNormalPaths::{non_normal}"
    );
    let expr = if policy.host_block_count() == 0 {
        format!("{k}::__private::policy({base})")
    } else {
        let hosts = host_tables(&mut g, policy);
        format!("{k}::__private::policy_hosts({base}, {hosts})")
    };
    let expr = if provided.is_empty() {
        expr
    } else {
        format!("{k}::__private::policy_provided({expr}, &PROVIDED)")
    };
    let _ = writeln!(g.out, "    {expr}");
    g.out.push('}');
    Ok(g.out)
}

/// The host table, each host block's route table and the regions (spec/language.md, section
/// 6a), as statics; returns the arguments of `__private::policy_hosts` after the base ones.
fn host_tables(g: &mut Gen<'_>, policy: &Policy) -> String {
    let k = g.krate.to_string();
    let (hosts, blocks, regions) = policy.host_parts();
    let (exact_keys, exact_blocks) = hosts.exact();
    let exact = g.keyset("HOST_EXACT", exact_keys);
    g.u32_array("HOST_EXACT_BLOCK", exact_blocks);
    let (suffix_keys, suffix_blocks) = hosts.suffixes();
    let suffix = g.keyset("HOST_SUFFIX", suffix_keys);
    g.u32_array("HOST_SUFFIX_BLOCK", suffix_blocks);
    let mut tables = Vec::with_capacity(blocks.len());
    for (b, t) in blocks.iter().enumerate() {
        let keys = g.keyset(&format!("HOST{b}_ROUTE"), t.keys());
        tables.push(format!(
            "{k}::__private::route_table({keys}, {})",
            t.offset()
        ));
    }
    let _ = writeln!(
        g.out,
        "    static HOST_ROUTES: [{k}::__private::RouteTable; {}] = [",
        tables.len()
    );
    for t in tables {
        let _ = writeln!(g.out, "        {t},");
    }
    g.out.push_str("    ];\n");
    let region_keys = g.keyset("REGION", regions.table().keys());
    let _ = write!(
        g.out,
        "    static REGION_SPANS: [(u32, u32); {}] = [",
        regions.spans().len()
    );
    for (start, len) in regions.spans() {
        let _ = write!(g.out, "({start}, {len}), ");
    }
    g.out.push_str("];\n");
    g.u32_array("REGION_ROUTES", regions.routes());
    format!(
        "{k}::__private::host_table({exact}, &HOST_EXACT_BLOCK, {suffix}, &HOST_SUFFIX_BLOCK), &HOST_ROUTES, {k}::__private::regions({k}::__private::route_table({region_keys}, 0), &REGION_SPANS, &REGION_ROUTES), {}",
        policy.hosts_dispatched()
    )
}

/// The CSP, header-set, CSRF and WebSocket tables.
fn guards(g: &mut Gen<'_>, policy: &Policy) -> Result<(), Unsupported> {
    let k = g.krate.to_string();
    let table = |g: &mut Gen<'_>, name: &str, ty: &str, exprs: Vec<String>| {
        let _ = writeln!(g.out, "    static {name}: [{k}::{ty}; {}] = [", exprs.len());
        for e in exprs {
            let _ = writeln!(g.out, "        {e},");
        }
        g.out.push_str("    ];\n");
    };
    let mut exprs = Vec::new();
    for (i, c) in policy.csp_policies().iter().enumerate() {
        csp_text(c)?;
        g.cow_array(&format!("CSP{i}_PARTS"), c.parts());
        let re = g.opt_value("reporting-endpoints", c.reporting_endpoints())?;
        exprs.push(format!(
            "{k}::__private::csp({:?}, {}, &CSP{i}_PARTS, {re})",
            c.name(),
            c.report_only()
        ));
    }
    table(g, "CSP", "Csp", exprs);
    let mut exprs = Vec::new();
    for (i, h) in policy.header_sets().iter().enumerate() {
        let _ = writeln!(
            g.out,
            "    static HEADER_SET{i}: [({k}::__private::HeaderName, {k}::__private::HeaderValue); {}] = [",
            h.set().len()
        );
        for (n, v) in h.set() {
            let _ = writeln!(
                g.out,
                "        ({k}::__private::header_name({:?}), {k}::__private::header_value({:?})),",
                header_name(n.as_str())?,
                header_text(n.as_str(), v.as_bytes())?
            );
        }
        g.out.push_str("    ];\n");
        let _ = writeln!(
            g.out,
            "    static HEADER_REMOVE{i}: [{k}::__private::HeaderName; {}] = [",
            h.remove().len()
        );
        for n in h.remove() {
            let _ = writeln!(
                g.out,
                "        {k}::__private::header_name({:?}),",
                header_name(n.as_str())?
            );
        }
        g.out.push_str("    ];\n");
        exprs.push(format!(
            "{k}::__private::header_set({:?}, &HEADER_SET{i}, &HEADER_REMOVE{i})",
            h.name()
        ));
    }
    table(g, "HEADER_SETS", "HeaderSet", exprs);
    let mut exprs = Vec::new();
    for (i, c) in policy.csrf_policies().iter().enumerate() {
        let trusted = g.keyset(&format!("CSRF{i}_TRUSTED"), c.trusted());
        let own = g.keyset(&format!("CSRF{i}_SELF"), c.self_origins());
        let _ = writeln!(
            g.out,
            "    static CSRF{i}_EXEMPT: [{k}::Exempt; {}] = [",
            c.exempt().len()
        );
        for e in c.exempt() {
            let _ = writeln!(
                g.out,
                "        {k}::__private::exempt({:?}, {:?}),",
                e.method(),
                e.pattern()
            );
        }
        g.out.push_str("    ];\n");
        let token = match c.token() {
            Some(t) => format!(
                "{k}::__private::Option::Some({k}::__private::token_policy({:?}, {:?}, {:?}, {:?}, {:?}, {}))",
                header_name(t.header())?,
                t.cookie(),
                t.bind_cookie(),
                t.same_site(),
                t.field(),
                t.defers_forms()
            ),
            None => format!("{k}::__private::Option::None"),
        };
        let expr = format!(
            "{k}::__private::csrf({:?}, {trusted}, {own}, {}, {}, &CSRF{i}_EXEMPT, {token})",
            c.name(),
            c.allow_same_site(),
            c.reject_missing()
        );
        exprs.push(g.with_provided(
            "csrf_provided",
            &format!("CSRF{i}"),
            c.trusted_provided(),
            policy.provided_sets(),
            expr,
        )?);
    }
    table(g, "CSRF", "Csrf", exprs);
    let mut exprs = Vec::new();
    for (i, w) in policy.websocket_policies().iter().enumerate() {
        let origins = g.keyset(&format!("WS{i}_ORIGINS"), w.origins());
        let patterns = g.pattern_set(&format!("WS{i}_PATTERNS"), w.patterns());
        let expr = format!(
            "{k}::__private::websocket({:?}, {}, {origins}, {patterns}, {})",
            w.name(),
            w.same_origin(),
            w.allow_missing()
        );
        exprs.push(g.with_provided(
            "websocket_provided",
            &format!("WS{i}"),
            w.provided(),
            policy.provided_sets(),
            expr,
        )?);
    }
    table(g, "WEBSOCKET", "WebSocket", exprs);
    Ok(())
}

/// A whole file: a header comment and `pub static NAME: Policy = ...;`.
pub fn policy_file(
    lowered: &Lowered,
    krate: &str,
    static_name: &str,
    header: &str,
) -> Result<String, Unsupported> {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "// {line}");
    }
    let _ = writeln!(
        out,
        "// Profile: {}. Table format: {TABLE_FORMAT}.\n\n/// The compiled guestlist policy.\n#[allow(clippy::all, reason = \"generated code\")]\npub static {static_name}: {krate}::Policy = {};",
        lowered.profile,
        policy_expr(lowered, krate, &[])?
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// Entries supplied to the compilation (`--origins`) decide `explain` and `test`; the
    /// generated code declares the set empty and never holds them.
    #[test]
    fn generated_code_declares_provided_sets_and_never_holds_supplied_entries() {
        let dir = std::env::temp_dir().join(format!("guestlist-codegen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("customers.txt");
        std::fs::write(&file, "https://shop.customer.example c-1\n").unwrap();
        let mut c = crate::Compilation::from_str(
            "p.policy",
            "origins customers provided tenant-bound\ncors api {\n    allow-origins \"https://app.example.com\" customers\n    allow-credentials true\n}\nroute \"/api/*\" { cors api }\n",
        );
        c.supply("customers", &file).unwrap();
        assert!(!c.has_errors(), "{}", c.render());
        let lowered = c.lower("default").unwrap();
        // The lowered policy holds the supplied entry (it decides with it) ...
        assert_eq!(lowered.policy.provided_set("customers").unwrap().len(), 1);
        let code = super::policy_expr(&lowered, "::guestlist", &[]).unwrap();
        // ... the generated code declares the set, and neither its entry nor its key.
        assert!(
            code.contains("provided_set(\"customers\", true, false)"),
            "{code}"
        );
        assert!(code.contains("cors_provided("), "{code}");
        assert!(code.contains("policy_provided("), "{code}");
        assert!(!code.contains("shop.customer.example"), "{code}");
        assert!(!code.contains("c-1"), "{code}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
