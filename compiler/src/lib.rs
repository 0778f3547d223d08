//! The guestlist policy compiler: it reads `.policy` files (which origins may call which routes,
//! and each route's CSP, security headers, CSRF and WebSocket rules), checks them, and lowers
//! them into the tables of the runtime crate, [`guestlist`], which decides each request. The
//! same tables come out as Rust code, as an nginx configuration that decides alike, or as
//! Markdown for reviewers.
//!
//! # Three ways in
//!
//! **The `guestlist` command** (feature `cli`, [`cli::run`]): `guestlist check site.policy`,
//! `fmt`, `test`, `explain`, `emit rust|nginx|docs`, `build` (every output at once), `serve`,
//! `lsp` (a language server for editors, [`lsp`]).
//!
//! **build.rs** ([`Build`]): checks the policy when the crate builds and writes a `static` to
//! `OUT_DIR`; the diagnostics are the build error.
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), guestlist_compiler::BuildError> {
//!     guestlist_compiler::Build::new()
//!         .policy("policies/site.policy")
//!         .compile()?;
//!     Ok(())
//! }
//! ```
//!
//! and in the crate, to define `pub static GUESTLIST_POLICY: guestlist::Policy`:
//!
//! ```ignore
//! include!(concat!(env!("OUT_DIR"), "/guestlist_policy.rs"));
//! ```
//!
//! **`include_policy!`** (crate `guestlist-macros`, which calls this one): the same tables as a
//! `static`, with the policy's errors as `compile_error!` at the path literal.
//!
//! ```ignore
//! static POLICY: guestlist::Policy = guestlist_macros::include_policy!("policies/site.policy");
//! ```
//!
//! # As a library
//!
//! [`Compilation`] loads and checks a policy (every finding a [`Diagnostic`]) and lowers it for
//! one profile into a [`Lowered`] policy, whose `policy` decides requests. From there:
//! [`explain`] explains one request, [`testing`] runs the policy's `test` blocks, [`response`]
//! shows what the tower layer answers, [`codegen`] writes the Rust tables, and [`emit`] the
//! nginx configuration and the Markdown. [`fmt`] formats a policy's text.
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
//!
//! Inside, each stage is a module that hands the next a value: `load` (files, imports) ->
//! `syntax` (text -> syntax tree) -> `check` (-> the typed declarations of `ir`, and
//! diagnostics) -> `lower` (one profile -> `guestlist::Policy`) -> the consumers above.

mod ast;
mod builder;
mod check;
#[cfg(feature = "cli")]
pub mod cli;
pub mod codegen;
pub mod diag;
pub mod diff;
pub mod emit;
pub mod explain;
pub mod fmt;
// Reachable (not documented) for tests that compare an output with what the policy declares
// (compiler/tests/csp_oracle.rs, examples/build-script/tests/equivalence.rs): the typed
// declarations are the compiler's inner model, not an API.
#[doc(hidden)]
pub mod ir;
mod load;
mod lower;
#[cfg(feature = "cli")]
pub mod lsp;
pub mod probe;
pub mod response;
mod source;
mod syntax;
pub mod testing;
mod write;

use std::path::Path;

pub use builder::{Build, BuildError, Generated};
pub use diag::{Diagnostic, Severity};
pub use load::LoadError;
pub use lower::Lowered;
pub use source::{FileId, SourceFile, SourceMap, Span};

/// One policy, loaded and checked: its files, its findings, and what it declares.
#[derive(Debug)]
pub struct Compilation {
    /// The files read.
    sources: SourceMap,
    /// Their syntax trees.
    files: Vec<ast::File>,
    /// What they declare.
    program: ir::Program,
    /// Every finding, sorted.
    diagnostics: Vec<Diagnostic>,
    /// Entries supplied for sets supplied at run time ([`Compilation::supply`]).
    supplied: Vec<Supplied>,
}

/// One `--origins NAME=FILE`: the set, the file's name, and each entry with its line.
type Supplied = (String, String, Vec<(guestlist::SuppliedEntry, usize)>);

/// Why [`Compilation::supply`] cannot take a file (a usage error: the policy or the command
/// line names the wrong thing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SupplyError {
    /// No origins set of the policy has this name.
    UnknownSet(String),
    /// The set is written in the policy, not supplied at run time.
    NotProvided(String),
    /// The set was supplied twice.
    Twice(String),
    /// The file cannot be read (its path and why).
    Unreadable(String, String),
}

impl std::fmt::Display for SupplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SupplyError::UnknownSet(n) => write!(f, "the policy has no origins set `{n}`"),
            SupplyError::NotProvided(n) => write!(
                f,
                "origins set `{n}` is written in the policy; only a set declared `origins {n} provided` is supplied"
            ),
            SupplyError::Twice(n) => write!(f, "origins set `{n}` is supplied twice"),
            SupplyError::Unreadable(p, e) => write!(f, "cannot read {p}: {e}"),
        }
    }
}

impl std::error::Error for SupplyError {}

impl Compilation {
    /// Loads and checks the files (and their imports) as one policy.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Compilation, LoadError> {
        Ok(Self::finish(load::load(paths)?))
    }

    /// Like [`Compilation::load`], with the name each file gets in diagnostics.
    pub fn load_named(files: &[(std::path::PathBuf, String)]) -> Result<Compilation, LoadError> {
        Ok(Self::finish(load::load_named(files)?))
    }

    /// Like [`Compilation::load_named`], every file (imports included) read through `reader`
    /// (`guestlist diff REV:PATH` reads a git revision).
    #[cfg(feature = "cli")]
    pub(crate) fn load_through(
        files: &[(std::path::PathBuf, String)],
        reader: &dyn load::Reader,
    ) -> Result<Compilation, LoadError> {
        Ok(Self::finish(load::load_through(files, reader)?))
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
            supplied: Vec::new(),
        }
    }

    /// The sets of `lowered` supplied at run time that no file was given for (no
    /// `--origins NAME=FILE`): each set's name and the span of its name. Their entries are
    /// empty in every output and decision made from this compilation.
    pub(crate) fn unsupplied_sets<'a>(
        &'a self,
        lowered: &'a Lowered,
    ) -> impl Iterator<Item = (&'a str, Span)> + 'a {
        lowered.spec.provided.iter().filter_map(move |p| {
            let set = self.program.set(&p.name)?;
            (!self.supplied.iter().any(|(n, _, _)| n == &p.name))
                .then_some((p.name.as_str(), set.name_span))
        })
    }

    /// Supplies the entries of the set `name` (declared `origins NAME provided`) from the file
    /// at `path` (spec/language.md, "Sets supplied at run time"): each entry is checked as an
    /// origin written in the policy is, in the strictest context the policy uses the set in,
    /// and a bad entry is a diagnostic at its file, line and column. Explain, `test` and
    /// `lower` then decide with the entries.
    pub fn supply(&mut self, name: &str, path: &Path) -> Result<(), SupplyError> {
        // A set supplied before is a provided set of the policy: only the repeat is wrong.
        if self.supplied.iter().any(|(n, _, _)| n == name) {
            return Err(SupplyError::Twice(name.to_string()));
        }
        let (supplied, diags) = read_supplied(&self.program, &mut self.sources, name, path)?;
        self.diagnostics
            .retain(|d| !(d.code == "GL1403" && self.sources.snippet(d.span) == name));
        self.diagnostics.extend(diags);
        diag::normalize(&mut self.diagnostics);
        self.supplied.push(supplied);
        Ok(())
    }

    /// Reads and checks the file of the set `name` again, as [`Compilation::supply`] does,
    /// without keeping it: its entries with their lines, or its findings rendered (each at its
    /// file, line and column) when any is an error. `serve` re-reads its files with it.
    #[cfg(feature = "cli")]
    pub(crate) fn reread_supplied(
        &self,
        name: &str,
        path: &Path,
    ) -> Result<Result<Vec<(guestlist::SuppliedEntry, usize)>, String>, SupplyError> {
        let mut sources = SourceMap::default();
        let ((_, _, entries), diags) = read_supplied(&self.program, &mut sources, name, path)?;
        if check::has_errors(&diags) {
            return Ok(Err(diag::render::render(&sources, &diags)));
        }
        Ok(Ok(entries))
    }

    /// Where the entry `entry` of the supplied set `set` came from: the file's name and the
    /// line ([`Compilation::supply`]).
    pub fn supplied_source(&self, set: &str, entry: &str) -> Option<(&str, usize)> {
        let (_, file, entries) = self.supplied.iter().find(|(n, _, _)| n == set)?;
        entries
            .iter()
            .find(|(e, _)| e.origin == entry)
            .map(|(_, line)| (file.as_str(), *line))
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        check::has_errors(&self.diagnostics)
    }

    /// Every finding (errors, warnings, notes), sorted by file and position.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The files read (the policy and its imports), for locating and rendering diagnostics.
    pub fn sources(&self) -> &SourceMap {
        &self.sources
    }

    /// Every profile of the policy: `default` first, then those its `when` lines name.
    pub fn profiles(&self) -> Vec<String> {
        self.program.all_profiles()
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
        let lowered = lower::lower(&self.program, profile).map_err(LowerError::Tables)?;
        for (name, _, entries) in &self.supplied {
            let entries = entries.iter().map(|(e, _)| e.clone());
            if let Some(Err(e)) = lowered.policy.replace_provided(name, entries) {
                return Err(LowerError::Supplied(name.clone(), e.to_string()));
            }
        }
        Ok(lowered)
    }

    /// The typed declarations (tests compare outputs with them; not an API).
    #[doc(hidden)]
    pub fn program(&self) -> &ir::Program {
        &self.program
    }

    /// Where a finding at `span` is, in words that survive moved lines and reformatting: the
    /// heads of the blocks it lies in, outermost first (`host a.example > route /api/*`), and
    /// what it points at (the value it lies in, else the line, else the text itself).
    #[cfg(feature = "cli")]
    pub(crate) fn finding_place(&self, span: Span) -> String {
        fn inside(outer: Span, span: Span) -> bool {
            outer.file == span.file && outer.start <= span.start && span.end <= outer.end
        }
        let mut blocks: Vec<String> = Vec::new();
        let mut subject: Option<String> = None;
        let mut level: Vec<&ast::Block> = self
            .files
            .iter()
            .filter(|f| f.id == span.file)
            .flat_map(|f| &f.items)
            .filter_map(|i| match i {
                ast::Item::Block(b) | ast::Item::Declaration(b) => Some(b),
                ast::Item::Import { .. } => None,
            })
            .collect();
        while let Some(b) = level.iter().copied().find(|b| inside(b.span, span)) {
            let head: Vec<&str> = b.head.iter().map(|v| v.text.as_str()).collect();
            blocks.push(head.join(" "));
            let values = b.head.iter().chain(b.lines.iter().flat_map(|l| &l.values));
            let in_value = values.clone().find(|v| inside(v.span, span));
            let in_line = b.lines.iter().find(|l| inside(l.span, span));
            subject = in_value.map(|v| v.text.clone()).or_else(|| {
                in_line.map(|l| {
                    let words: Vec<&str> = l.values.iter().map(|v| v.text.as_str()).collect();
                    words.join(" ")
                })
            });
            level = b.blocks.iter().collect();
        }
        let subject = subject.unwrap_or_else(|| {
            let text = self.sources.snippet(span).split_whitespace();
            text.collect::<Vec<_>>().join(" ")
        });
        format!("{}|{subject}", blocks.join(" > "))
    }

    /// Each file's items without spans or comments, one string per item: what `fmt` must
    /// preserve (tests compare a policy's structure with its formatted text's; not an API).
    #[doc(hidden)]
    pub fn structure(&self) -> Vec<String> {
        self.files.iter().flat_map(ast::File::structure).collect()
    }
}

/// The file of the provided set `name`, read (at most `guestlist_origins::MAX_FILE_BYTES`)
/// and checked in the strictest context `program` uses the set in; the file joins `sources`.
fn read_supplied(
    program: &ir::Program,
    sources: &mut SourceMap,
    name: &str,
    path: &Path,
) -> Result<(Supplied, Vec<Diagnostic>), SupplyError> {
    let set = program
        .set(name)
        .ok_or_else(|| SupplyError::UnknownSet(name.to_string()))?;
    let flags = set
        .provided
        .ok_or_else(|| SupplyError::NotProvided(name.to_string()))?;
    let shown = path.display().to_string();
    let unreadable =
        |e: &dyn std::fmt::Display| SupplyError::Unreadable(shown.clone(), e.to_string());
    let file = load::open_regular(path).map_err(|e| unreadable(&e))?;
    let bytes = guestlist_origins::read_bounded(file).map_err(|e| unreadable(&e))?;
    let context = program.supplied_context(name, flags.patterns);
    let (any, origins) = program.static_origins_beside(name);
    let (entries, diags) = check::supplied::check_file(
        sources,
        &shown,
        path,
        &bytes,
        context,
        flags.tenant_bound,
        &check::supplied::Beside::new(any, origins),
    );
    Ok(((name.to_string(), shown, entries), diags))
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
    /// The runtime refused a supplied set's entries (the set's name and why): an entry a
    /// static origins set of a cors policy naming the set already allows.
    Supplied(String, String),
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
            LowerError::Supplied(n, e) => write!(f, "origins set `{n}`: {e}"),
        }
    }
}

impl std::error::Error for LowerError {}
