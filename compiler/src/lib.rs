//! The guestlist policy compiler.
//!
//! Pipeline (each stage a module, each handing the next a value):
//! `load` (files, imports) -> `syntax` (pest -> [`ast`]) -> [`check`] (-> [`ir::Program`] +
//! diagnostics) -> [`lower`] (one profile -> `guestlist::Policy`) -> consumers: [`explain`] and
//! [`testing`] (decisions from the policy, headers from the tower layer's [`response`]),
//! [`fmt`] (works on source text), [`codegen`] and [`emit`].
//!
//! ```
//! let c = guestlist_compiler::Compilation::from_str(
//!     "site.policy",
//!     r#"
//! cors api {
//!     allow-origins "https://app.example.com"
//!     max-age 2h
//! }
//! route "/api/*" { cors api }
//! "#,
//! );
//! assert!(!c.has_errors(), "{}", c.render());
//! let lowered = c.lower("default").unwrap();
//! let h = [("Origin", "https://app.example.com")];
//! let d = lowered.policy.decide("GET", "/api/x", &h[..]);
//! assert_eq!(d.kind, guestlist::Kind::ActualAllowed);
//! ```

pub mod ast;
pub mod builder;
pub mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod codegen;
pub mod diag;
pub mod emit;
pub mod explain;
pub mod fmt;
pub mod ir;
pub mod load;
pub mod lower;
pub mod response;
pub mod source;
mod syntax;
pub mod testing;
pub mod write;

use std::path::Path;

pub use builder::{Build, BuildError, Generated};
pub use diag::{Diagnostic, Severity};
pub use load::LoadError;
pub use lower::Lowered;
pub use source::{SourceMap, Span};

/// One policy, loaded and checked.
#[derive(Debug)]
pub struct Compilation {
    /// The files read.
    pub sources: SourceMap,
    /// Their syntax trees.
    pub files: Vec<ast::File>,
    /// What they declare.
    pub program: ir::Program,
    /// Every finding, sorted.
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    /// Loads and checks the files (and their imports) as one policy.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Compilation, LoadError> {
        Ok(Self::finish(load::load(paths)?))
    }

    /// Like [`Compilation::load`], with the name each file gets in diagnostics.
    pub fn load_named(files: &[(std::path::PathBuf, String)]) -> Result<Compilation, LoadError> {
        Ok(Self::finish(load::load_named(files)?))
    }

    /// Checks a policy given as text (no imports).
    pub fn from_str(name: &str, text: &str) -> Compilation {
        Self::finish(load::load_str(name, text))
    }

    fn finish(loaded: load::Loaded) -> Compilation {
        let (program, mut diagnostics) = check::check(&loaded.files);
        diagnostics.extend(loaded.diagnostics);
        diag::normalize(&mut diagnostics);
        Compilation {
            sources: loaded.sources,
            files: loaded.files,
            program,
            diagnostics,
        }
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        check::has_errors(&self.diagnostics)
    }

    /// Renders every finding as rustc-like text.
    pub fn render(&self) -> String {
        diag::render::render(&self.sources, &self.diagnostics)
    }

    /// Lowers for one profile. Fails when the policy has errors or the profile is unknown.
    pub fn lower(&self, profile: &str) -> Result<Lowered, LowerError> {
        if self.has_errors() {
            return Err(LowerError::HasErrors);
        }
        if !self.program.has_profile(profile) {
            return Err(LowerError::UnknownProfile {
                profile: profile.to_string(),
                known: self.program.all_profiles(),
            });
        }
        lower::lower(&self.program, profile).map_err(LowerError::Tables)
    }
}

/// Why a policy could not be lowered.
#[derive(Debug)]
pub enum LowerError {
    /// The policy has errors (render the diagnostics).
    HasErrors,
    /// `--profile` names no profile of the policy.
    UnknownProfile {
        /// What was asked for.
        profile: String,
        /// What exists.
        known: Vec<String>,
    },
    /// The runtime refused the tables (a checker bug if it happens).
    Tables(guestlist::TableError),
}

impl std::fmt::Display for LowerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LowerError::HasErrors => write!(f, "the policy has errors"),
            LowerError::UnknownProfile { profile, known } => write!(
                f,
                "unknown profile `{profile}`; the policy's profiles are: {}",
                known.join(", ")
            ),
            LowerError::Tables(e) => write!(f, "internal error building tables: {e}"),
        }
    }
}

impl std::error::Error for LowerError {}
