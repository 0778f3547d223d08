//! Code generation: a lowered policy -> Rust source that builds the same runtime table types
//! as `static`s. The proc macro parses this text into tokens; build.rs and `emit rust` write it
//! to a file. One generator, so every way in produces the same tables.
//!
//! Generated code names the runtime only through `{krate}` (default `::guestlist`) and reaches
//! `core`/`std` only through `{krate}::__private`, so a crate that shadows `core` still builds.
//! It starts with a compile-time check of the runtime's `TABLE_FORMAT`.

use std::fmt::Write as _;

use guestlist::{KeySet, Policy};

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

    fn keyset(&mut self, prefix: &str, set: &KeySet) -> String {
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
        format!(
            "{}::KeySet::from_raw_parts(&{prefix}_KEYS, &{prefix}_SLOTS, {})",
            self.krate,
            set.fold_case()
        )
    }

    fn opt_value(&self, v: Option<&str>) -> String {
        let k = self.krate;
        match v {
            Some(s) => format!(
                "{k}::__private::Option::Some({k}::__private::HeaderValue::from_static({s:?}))"
            ),
            None => format!("{k}::__private::Option::None"),
        }
    }
}

/// The body of the policy expression: `{ ...statics...; Policy::from_raw_parts(..) }`.
/// `extra` lines go first inside the block (the macro's `include_bytes!`).
pub fn policy_expr(lowered: &Lowered, krate: &str, extra: &[String]) -> String {
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
    for r in policy.routes() {
        let cors = match r.cors() {
            Some(i) => format!("{k}::__private::Option::Some({i})"),
            None => format!("{k}::__private::Option::None"),
        };
        let _ = writeln!(
            g.out,
            "        {k}::Route::from_raw_parts({:?}, {}, {cors}),",
            r.pattern(),
            r.is_prefix()
        );
    }
    g.out.push_str("    ];\n");
    let route_keys = g.keyset("ROUTE", policy.route_keys());
    // CORS policies.
    let mut cors_exprs = Vec::new();
    for (i, c) in policy.cors_policies().iter().enumerate() {
        let origins = g.keyset(&format!("CORS{i}_ORIGINS"), c.origins());
        let patterns = g.keyset(&format!("CORS{i}_PATTERNS"), c.patterns());
        let headers = g.keyset(&format!("CORS{i}_HEADERS"), c.headers());
        g.cow_array(&format!("CORS{i}_METHODS"), c.methods());
        cors_exprs.push(format!(
            "        {k}::Cors::from_raw_parts(\n            {:?},\n            {},\n            {origins},\n            {patterns},\n            {},\n            {},\n            &CORS{i}_METHODS,\n            {},\n            {headers},\n            {},\n            {},\n            {},\n        ),",
            c.name(),
            c.any_origin(),
            c.credentials(),
            c.any_method(),
            c.any_header(),
            g.opt_value(c.allow_headers_value()),
            g.opt_value(c.expose_headers_value()),
            g.opt_value(c.max_age_value()),
        ));
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
    let _ = writeln!(
        g.out,
        "    {k}::Policy::from_raw_parts(&ROUTES, {route_keys}, &CORS)"
    );
    g.out.push('}');
    g.out
}

/// A whole file: a header comment and `pub static NAME: Policy = ...;`.
pub fn policy_file(lowered: &Lowered, krate: &str, static_name: &str, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "// {line}");
    }
    let _ = writeln!(
        out,
        "// Profile: {}. Table format: {TABLE_FORMAT}.\n\n/// The compiled guestlist policy.\n#[allow(clippy::all)]\npub static {static_name}: {krate}::Policy = {};",
        lowered.profile,
        policy_expr(lowered, krate, &[])
    );
    out
}
