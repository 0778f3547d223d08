//! The build.rs API ([`Build`]): checks a policy when the crate builds, and writes what
//! [`codegen`](crate::codegen) makes of one profile to `OUT_DIR` (and, when asked, what
//! [`emit`](crate::emit) makes of it elsewhere).

use std::path::{Path, PathBuf};

use crate::diag::{render, Severity};
use crate::emit::{edges, Engine};
use crate::ir::DEFAULT_PROFILE;
use crate::{codegen, Compilation, Lowered};

/// The file written to `OUT_DIR` unless [`Build::file_name`] says otherwise.
pub(crate) const DEFAULT_FILE_NAME: &str = "guestlist_policy.rs";
/// The static defined in it unless [`Build::static_name`] says otherwise.
pub(crate) const DEFAULT_STATIC_NAME: &str = "GUESTLIST_POLICY";

/// Configures and runs the compiler from a build script.
///
/// In `build.rs`:
///
/// ```no_run
/// guestlist_compiler::Build::new()
///     .policy("policies/site.policy")
///     .compile()
///     .unwrap(); // Display and Debug both render the diagnostics
/// ```
///
/// and in the crate, to define `pub static GUESTLIST_POLICY: guestlist::Policy`:
///
/// ```ignore
/// include!(concat!(env!("OUT_DIR"), "/guestlist_policy.rs"));
/// ```
#[derive(Debug, Clone)]
pub struct Build {
    policies: Vec<PathBuf>,
    profile: String,
    out_dir: Option<PathBuf>,
    file_name: String,
    static_name: String,
    runtime_crate: String,
    cargo_output: bool,
    /// The edges to write: (engine, directory, include root, upstream include).
    edges: Vec<EdgeTarget>,
    docs_path: Option<PathBuf>,
    accepted: Vec<crate::emit::Loss>,
}

/// One edge a [`Build`] writes: where, and its options.
#[derive(Debug, Clone)]
struct EdgeTarget {
    engine: Engine,
    /// The output directory; an edge given options but no directory is not written.
    dir: Option<PathBuf>,
    include_root: Option<String>,
    upstream_include: Option<String>,
}

impl Default for Build {
    fn default() -> Self {
        Build::new()
    }
}

/// Why [`Build::compile`] failed. `Display` and `Debug` both print the rendered diagnostics, so
/// `.unwrap()` and `fn main() -> Result<..>` in build.rs are readable.
pub struct BuildError {
    rendered: String,
}

impl BuildError {
    /// The rendered diagnostics (or the I/O error).
    pub fn rendered(&self) -> &str {
        &self.rendered
    }
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::fmt::Debug for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not a struct dump: `unwrap()` prints this, and the user wants the diagnostics.
        write!(f, "\n{}", self.rendered)
    }
}

impl std::error::Error for BuildError {}

/// What [`Build::generate`] produced.
#[derive(Debug)]
pub struct Generated {
    /// The Rust source.
    pub code: String,
    /// Every file read (policies and imports).
    pub inputs: Vec<PathBuf>,
    /// Rendered warnings and notes (errors make `generate` fail).
    pub warnings: Vec<String>,
}

impl Build {
    /// A build with no policy yet, the default profile, writing `guestlist_policy.rs`.
    pub fn new() -> Build {
        Build {
            policies: Vec::new(),
            profile: DEFAULT_PROFILE.to_string(),
            out_dir: None,
            file_name: DEFAULT_FILE_NAME.to_string(),
            static_name: DEFAULT_STATIC_NAME.to_string(),
            runtime_crate: "::guestlist".to_string(),
            cargo_output: true,
            edges: Vec::new(),
            docs_path: None,
            accepted: Vec::new(),
        }
    }

    /// Also writes the nginx configuration to `dir` (relative to `CARGO_MANIFEST_DIR`) on
    /// every build, only when its bytes change. `include` lines point to `dir`'s absolute path
    /// unless [`Build::nginx_include_root`] says otherwise.
    pub fn nginx(self, dir: impl AsRef<Path>) -> Build {
        self.edge(Engine::Nginx, dir)
    }

    /// The directory the emitted nginx `include` lines point to (where the files are deployed).
    pub fn nginx_include_root(self, root: impl Into<String>) -> Build {
        self.edge_root(Engine::Nginx, root.into())
    }

    /// A file each generated nginx `location` includes after the route snippet (`proxy_pass`).
    pub fn nginx_upstream_include(self, path: impl Into<String>) -> Build {
        self.edge_upstream(Engine::Nginx, path.into())
    }

    /// Also writes the HAProxy frontend lines and their files to `dir` (relative to
    /// `CARGO_MANIFEST_DIR`; spec/haproxy.md). File names point to `dir`'s absolute path unless
    /// [`Build::haproxy_include_root`] says otherwise.
    pub fn haproxy(self, dir: impl AsRef<Path>) -> Build {
        self.edge(Engine::Haproxy, dir)
    }

    /// The directory the emitted HAProxy lines name their files under.
    pub fn haproxy_include_root(self, root: impl Into<String>) -> Build {
        self.edge_root(Engine::Haproxy, root.into())
    }

    /// Also writes the Caddyfile snippet to `dir` (relative to `CARGO_MANIFEST_DIR`;
    /// spec/caddy.md). `import` lines point to `dir`'s absolute path unless
    /// [`Build::caddy_include_root`] says otherwise.
    pub fn caddy(self, dir: impl AsRef<Path>) -> Build {
        self.edge(Engine::Caddy, dir)
    }

    /// The directory the emitted Caddy `import` lines point to.
    pub fn caddy_include_root(self, root: impl Into<String>) -> Build {
        self.edge_root(Engine::Caddy, root.into())
    }

    /// A file of Caddy directives (`reverse_proxy app:8080`) imported where the policy lets a
    /// request through.
    pub fn caddy_upstream_include(self, path: impl Into<String>) -> Build {
        self.edge_upstream(Engine::Caddy, path.into())
    }

    /// Sets part of the edge `engine`'s target, added when first named.
    fn with_target(mut self, engine: Engine, set: impl FnOnce(&mut EdgeTarget)) -> Build {
        match self.edges.iter_mut().find(|e| e.engine == engine) {
            Some(t) => set(t),
            None => {
                let mut t = EdgeTarget {
                    engine,
                    dir: None,
                    include_root: None,
                    upstream_include: None,
                };
                set(&mut t);
                self.edges.push(t);
            }
        }
        self
    }

    fn edge(self, engine: Engine, dir: impl AsRef<Path>) -> Build {
        let dir = dir.as_ref().to_path_buf();
        self.with_target(engine, |t| t.dir = Some(dir))
    }

    fn edge_root(self, engine: Engine, root: String) -> Build {
        self.with_target(engine, |t| t.include_root = Some(root))
    }

    fn edge_upstream(self, engine: Engine, path: String) -> Build {
        self.with_target(engine, |t| t.upstream_include = Some(path))
    }

    /// Accepts losing `loss` on the edges this build writes (`--accept-loss`): without it, a
    /// policy an edge cannot carry whole is refused (GL1201, GL1202).
    pub fn accept_loss(mut self, loss: crate::emit::Loss) -> Build {
        if !self.accepted.contains(&loss) {
            self.accepted.push(loss);
        }
        self
    }

    /// Also writes the Markdown documentation to `path` (relative to `CARGO_MANIFEST_DIR`) on
    /// every build, only when its bytes change.
    pub fn docs(mut self, path: impl AsRef<Path>) -> Build {
        self.docs_path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Adds a policy file (relative to `CARGO_MANIFEST_DIR`). Several files form one policy.
    pub fn policy(mut self, path: impl AsRef<Path>) -> Build {
        self.policies.push(path.as_ref().to_path_buf());
        self
    }

    /// The profile to compile (default `default`).
    pub fn profile(mut self, profile: impl Into<String>) -> Build {
        self.profile = profile.into();
        self
    }

    /// Where to write (default: `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Build {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The generated file's name (default `guestlist_policy.rs`).
    pub fn file_name(mut self, name: impl Into<String>) -> Build {
        self.file_name = name.into();
        self
    }

    /// The generated static's name (default `GUESTLIST_POLICY`).
    pub fn static_name(mut self, name: impl Into<String>) -> Build {
        self.static_name = name.into();
        self
    }

    /// The path of the runtime crate in generated code (default `::guestlist`; set it when the
    /// dependency is renamed, e.g. `::gl`).
    pub fn runtime_crate(mut self, path: impl Into<String>) -> Build {
        self.runtime_crate = path.into();
        self
    }

    /// Whether to print `cargo:` directives (default true; tests turn it off).
    pub fn cargo_output(mut self, on: bool) -> Build {
        self.cargo_output = on;
        self
    }

    fn resolve(&self, p: &Path) -> PathBuf {
        match std::env::var_os("CARGO_MANIFEST_DIR") {
            Some(dir) if p.is_relative() => Path::new(&dir).join(p),
            _ => p.to_path_buf(),
        }
    }

    /// Checks and generates without writing anything.
    pub fn generate(&self) -> Result<Generated, BuildError> {
        self.generate_all().map(|(g, _, _)| g)
    }

    fn generate_all(&self) -> Result<(Generated, Compilation, Lowered), BuildError> {
        if self.policies.is_empty() {
            return Err(BuildError {
                rendered: "error: guestlist_compiler::Build has no policy: call .policy(\"policies/site.policy\")".into(),
            });
        }
        let named: Vec<(PathBuf, String)> = self
            .policies
            .iter()
            .map(|p| (self.resolve(p), p.to_string_lossy().into_owned()))
            .collect();
        let c = Compilation::load_named(&named).map_err(|e| BuildError {
            rendered: format!("error: {e}"),
        })?;
        let inputs: Vec<PathBuf> = c.sources.files().map(|(_, f)| f.path.clone()).collect();
        if self.cargo_output {
            for p in &inputs {
                println!("cargo:rerun-if-changed={}", p.display());
            }
        }
        let warnings: Vec<String> = c
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Error)
            .map(|d| render::render_one(&c.sources, d))
            .collect();
        if c.has_errors() {
            let errors: Vec<_> = c
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .cloned()
                .collect();
            return Err(BuildError {
                rendered: format!(
                    "{}{}",
                    render::render(&c.sources, &errors),
                    render::summary(&c.diagnostics)
                ),
            });
        }
        let lowered: Lowered = c.lower(&self.profile).map_err(|e| BuildError {
            rendered: format!("error: {e}"),
        })?;
        let names: Vec<String> = self
            .policies
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let header = format!(
            "DO NOT EDIT, generated by guestlist_compiler::Build from {} (profile {}).",
            names.join(", "),
            self.profile
        );
        let code = codegen::policy_file(&lowered, &self.runtime_crate, &self.static_name, &header)
            .map_err(|e| BuildError {
                rendered: format!("error: cannot generate Rust: {e}"),
            })?;
        Ok((
            Generated {
                code,
                inputs,
                warnings,
            },
            c,
            lowered,
        ))
    }

    fn generated_by(&self) -> String {
        let names: Vec<String> = self
            .policies
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        format!(
            "guestlist_compiler::Build for {} (profile {})",
            names.join(", "),
            self.profile
        )
    }

    /// Checks the policy, prints `cargo:rerun-if-changed` for every file read and
    /// `cargo:warning=` for every warning, and writes the Rust file (only when its bytes
    /// change). On error, prints the rendered diagnostics to stderr and returns them.
    pub fn compile(self) -> Result<PathBuf, BuildError> {
        let (generated, c, lowered) = match self.generate_all() {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{}", e.rendered);
                return Err(e);
            }
        };
        if self.cargo_output {
            for w in &generated.warnings {
                if w.starts_with("note") {
                    continue;
                }
                for line in w.lines() {
                    println!("cargo:warning={line}");
                }
            }
        }
        let dir = match &self.out_dir {
            Some(d) => d.clone(),
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| BuildError {
                rendered: "error: OUT_DIR is not set: call Build::compile from build.rs, or set .out_dir(..)".into(),
            })?,
        };
        let path = dir.join(&self.file_name);
        let io = |p: &Path, e: &dyn std::fmt::Display| BuildError {
            rendered: format!("error: cannot write {}: {e}", p.display()),
        };
        // Every output is made before any is written: nothing is written when one is refused.
        let mut made = Vec::new();
        for t in &self.edges {
            let Some(dir) = &t.dir else {
                continue;
            };
            let errors = edges::errors(&c, &lowered, t.engine, &self.accepted);
            if !errors.is_empty() {
                return Err(BuildError {
                    rendered: crate::diag::render::render(&c.sources, &errors),
                });
            }
            let dir = self.resolve(dir);
            std::fs::create_dir_all(&dir).map_err(|e| io(&dir, &e))?;
            let include_root = match &t.include_root {
                Some(r) => r.clone(),
                None => std::fs::canonicalize(&dir)
                    .map_err(|e| io(&dir, &e))?
                    .to_string_lossy()
                    .into_owned(),
            };
            let options = edges::EdgeOptions {
                engine: t.engine,
                include_root,
                upstream_include: t.upstream_include.clone(),
                generated_by: self.generated_by(),
                accepted: self.accepted.clone(),
                gateway: None,
            };
            let files = edges::emit(&c, &lowered, &options).map_err(|e| BuildError {
                rendered: format!("error: cannot emit {} configuration: {e}", t.engine.name()),
            })?;
            made.push((t.engine, dir, files));
        }
        crate::write::write_if_changed(&path, generated.code.as_bytes())
            .map_err(|e| io(&path, &e))?;
        for (engine, dir, files) in &made {
            edges::write(*engine, dir, files).map_err(|e| io(dir, &e))?;
            if self.cargo_output {
                let warnings = edges::warnings(&c, &lowered, *engine);
                for line in crate::diag::render::render(&c.sources, &warnings).lines() {
                    println!("cargo:warning={line}");
                }
            }
        }
        if let Some(docs) = &self.docs_path {
            let docs = self.resolve(docs);
            let md =
                crate::emit::docs::emit(&c, &lowered, &self.generated_by(), &self.accepted, false)
                    .map_err(|e| BuildError {
                        rendered: format!("error: cannot emit documentation: {e}"),
                    })?;
            crate::write::write_if_changed(&docs, md.as_bytes()).map_err(|e| io(&docs, &e))?;
        }
        Ok(path)
    }
}
