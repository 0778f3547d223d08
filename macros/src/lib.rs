//! Proc macros for guestlist: a thin shim over `guestlist-compiler`.
//!
//! ```ignore
//! static POLICY: guestlist::Policy = guestlist_macros::include_policy!("policies/site.policy");
//! static DEV: guestlist::Policy = guestlist_macros::include_policy!("policies/site.policy", profile = "dev");
//! ```
//!
//! The path is relative to `CARGO_MANIFEST_DIR`. The policy is checked when the crate
//! compiles: an error becomes a `compile_error!` on the path literal carrying the rendered
//! diagnostic (`--> policies/site.policy:LINE:COL`, the snippet, the help line). Warnings are
//! not shown here (proc macros cannot warn on stable): run `guestlist check --deny warnings`
//! in CI. The expansion holds an `include_bytes!` of every file read, so editing the policy or
//! anything it imports recompiles the crate.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

struct Input {
    path: LitStr,
    profile: Option<LitStr>,
}

impl Parse for Input {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let path: LitStr = input.parse()?;
        let mut profile = None;
        while input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: LitStr = input.parse()?;
            if key != "profile" {
                return Err(syn::Error::new(
                    key.span(),
                    "unknown option: include_policy! takes a path and optionally `profile = \"NAME\"`",
                ));
            }
            profile = Some(value);
        }
        Ok(Input { path, profile })
    }
}

fn error(span: Span, message: &str) -> TokenStream {
    quote_spanned!(span => compile_error!(#message))
}

fn runtime_crate() -> String {
    match proc_macro_crate::crate_name("guestlist") {
        Ok(proc_macro_crate::FoundCrate::Name(name)) => format!("::{name}"),
        _ => "::guestlist".to_string(),
    }
}

fn expand(input: Input) -> TokenStream {
    let rel = input.path.value();
    let span = input.path.span();
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return error(
            span,
            "CARGO_MANIFEST_DIR is not set; include_policy! must be expanded by cargo",
        );
    };
    let abs: PathBuf = Path::new(&dir).join(&rel);
    let c = match guestlist_compiler::Compilation::load_named(&[(abs, rel.clone())]) {
        Ok(c) => c,
        Err(e) => {
            return error(
                span,
                &format!(
                    "{e}\n  = help: the path is relative to the crate's directory ({})",
                    Path::new(&dir).display()
                ),
            )
        }
    };
    if c.has_errors() {
        let errors: Vec<_> = c
            .diagnostics()
            .iter()
            .filter(|d| d.is_error())
            .cloned()
            .collect();
        return error(
            span,
            &guestlist_compiler::diag::render::render(c.sources(), &errors),
        );
    }
    let profile = input
        .profile
        .as_ref()
        .map_or_else(|| "default".to_string(), LitStr::value);
    let lowered = match c.lower(&profile) {
        Ok(l) => l,
        Err(e) => {
            return error(
                input.profile.as_ref().map_or(span, LitStr::span),
                &e.to_string(),
            )
        }
    };
    let includes: Vec<String> = c
        .sources()
        .files()
        .map(|(_, f)| {
            format!(
                "const _: &[u8] = include_bytes!({:?});",
                f.path.to_string_lossy()
            )
        })
        .collect();
    let code = match guestlist_compiler::codegen::policy_expr(&lowered, &runtime_crate(), &includes)
    {
        Ok(code) => code,
        Err(e) => return error(span, &format!("guestlist cannot generate the tables: {e}")),
    };
    match TokenStream::from_str(&code) {
        Ok(t) => t,
        Err(e) => error(
            span,
            &format!("guestlist internal error: generated code does not parse: {e}"),
        ),
    }
}

/// Compiles a policy file into a `guestlist::Policy` expression, usable in a `static`.
///
/// `include_policy!("policies/site.policy")` or
/// `include_policy!("policies/site.policy", profile = "dev")`.
#[proc_macro]
pub fn include_policy(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    match syn::parse::<Input>(input) {
        Ok(i) => expand(i).into(),
        Err(e) => e.to_compile_error().into(),
    }
}
