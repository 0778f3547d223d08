//! The `guestlist` command line (feature `cli`): `check`, `fmt`, `test`, `emit`, `serve`,
//! `build`, `explain` and `lsp`, each a front end to the library ([`run`] is the whole command).
//!
//! Exit codes: 0 success; 1 the policy has errors, a test failed or `--check` found changes;
//! 2 usage or I/O errors.

mod diff;
mod emit;
mod lsp;
mod probe;
mod sarif;
mod serve;

use std::io::{Read, Write};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::diag::render;
use crate::emit::Engine;
use crate::ir::DEFAULT_PROFILE;
use crate::{Compilation, Diagnostic, Severity};

/// guestlist: a policy compiler for CORS and the browser's other cross-origin guards.
#[derive(Debug, Parser)]
#[command(name = "guestlist", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Human,
    Json,
    /// SARIF 2.1.0 for code scanning (`check` only).
    Sarif,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum EmitTarget {
    /// Rust source defining a `static` `guestlist::Policy`.
    Rust,
    /// nginx configuration (`-o DIR`).
    Nginx,
    /// HAProxy frontend lines and their maps (`-o DIR`).
    Haproxy,
    /// A Caddyfile snippet (`-o DIR`).
    Caddy,
    /// Kubernetes Gateway API `HTTPRoute`s (`-o DIR --parent-ref .. --backend ..`).
    GatewayApi,
    /// Markdown documentation.
    Docs,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Deny {
    Warnings,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check policy files (and their imports) as one policy.
    Check {
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The profile (every profile is always checked; this verifies the name exists).
        #[arg(long)]
        profile: Option<String>,
        /// Fail on warnings too.
        #[arg(long, value_enum)]
        deny: Option<Deny>,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Apply machine-applicable fixes in place, then check again.
        #[arg(long)]
        fix: bool,
        /// Supplies the set `NAME` (declared `origins NAME provided`) from FILE (`ORIGIN [KEY]`
        /// lines); repeat for more sets.
        #[arg(long = "origins", value_name = "NAME=FILE")]
        origins: Vec<String>,
    },
    /// Rewrite policy files in the canonical layout.
    Fmt {
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Do not write; exit 1 and name the files that would change.
        #[arg(long)]
        check: bool,
    },
    /// Run the policy's `test` blocks.
    Test {
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Profile for tests without a `profile` line.
        #[arg(long)]
        profile: Option<String>,
        /// Supplies the set `NAME` (declared `origins NAME provided`) from FILE (`ORIGIN [KEY]`
        /// lines); repeat for more sets.
        #[arg(long = "origins", value_name = "NAME=FILE")]
        origins: Vec<String>,
    },
    /// Export the policy: `rust` (the code build.rs writes), `nginx`, `haproxy`, `caddy`
    /// (configuration making the same decisions; `-o DIR` required), `docs` (Markdown for
    /// reviewers).
    Emit {
        /// What to emit.
        #[arg(value_enum)]
        target: EmitTarget,
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output file (rust, docs; default: standard output) or directory (the edges).
        /// Written atomically, only when the bytes change.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// nginx, caddy: a file included where the policy lets a request through (nginx:
        /// after each route snippet, where `proxy_pass` lives; Caddy: `reverse_proxy ...`).
        #[arg(long)]
        upstream_include: Option<String>,
        /// nginx, haproxy, caddy: the directory the output's include lines and file names
        /// point to (default: the output directory's absolute path).
        #[arg(long)]
        include_root: Option<String>,
        /// gateway-api: the Gateway the routes attach to, `[NS/]NAME[:SECTION]`.
        #[arg(long, value_name = "[NS/]NAME[:SECTION]")]
        parent_ref: Option<crate::emit::gateway_api::ParentRef>,
        /// gateway-api: the Service the routes send requests to, `SERVICE:PORT`.
        #[arg(long, value_name = "SERVICE:PORT")]
        backend: Option<crate::emit::gateway_api::Backend>,
        /// gateway-api: the routes' namespace (none: `metadata.namespace` is not written).
        #[arg(long)]
        namespace: Option<String>,
        /// gateway-api: the Envoy Gateway add-on for the csrf and websocket checks.
        #[arg(long)]
        envoy_gateway: bool,
        /// Profile.
        #[arg(long, default_value = DEFAULT_PROFILE)]
        profile: String,
        /// Path of the runtime crate in generated code.
        #[arg(long, default_value = "::guestlist")]
        runtime_crate: String,
        /// Name of the generated static.
        #[arg(long, default_value = crate::builder::DEFAULT_STATIC_NAME)]
        static_name: String,
        /// The edges: supplies the set `NAME` (declared `origins NAME provided`) from FILE
        /// (`ORIGIN [KEY]` lines), written to a file of its own under DIR; repeat for more sets.
        #[arg(long = "origins", value_name = "NAME=FILE")]
        origins: Vec<String>,
        /// Edges: what the engine cannot carry and you accept losing (`csp-nonce`,
        /// `csrf-token`), one or more kinds; each is listed in the output's header comment.
        /// Without it such a policy is refused (GL1201, GL1202).
        #[arg(long = "accept-loss", value_name = "KIND", num_args = 1.., value_delimiter = ',')]
        accept_loss: Vec<crate::emit::Loss>,
    },
    /// A stand-in API behind the policy: every request that reaches the application gets 200
    /// and a small JSON body; each request is logged to stderr with its decision. The first
    /// line of stdout gives the bound address.
    Serve {
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Profile.
        #[arg(long, default_value = DEFAULT_PROFILE)]
        profile: String,
        /// PEM certificate chain (https).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key (https).
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// A CSRF secret (hex, 32+ bytes) for routes whose csrf policy signs tokens; the token
        /// appears as `csrf_token` in the JSON answers. For trying a policy, never production.
        #[arg(long = "csrf-secret-hex")]
        csrf_secret_hex: Option<String>,
        /// Serve the files of this directory (GET, through the policy) next to the stand-in
        /// API, so a page can call it from the same origin.
        #[arg(long)]
        pages: Option<PathBuf>,
        /// Supplies the set `NAME` (declared `origins NAME provided`) from FILE (`ORIGIN [KEY]`
        /// lines), read again on SIGHUP; repeat for more sets.
        #[arg(long = "origins", value_name = "NAME=FILE")]
        origins: Vec<String>,
    },
    /// Everything at once: `DIR/guestlist_policy.rs`, `DIR/nginx/`, `DIR/haproxy/`,
    /// `DIR/policy.md`, and `DIR/caddy/` with `--caddy-upstream-include`.
    Build {
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output directory.
        #[arg(short = 'o', long = "output", required = true)]
        output: PathBuf,
        /// Profile.
        #[arg(long, default_value = DEFAULT_PROFILE)]
        profile: String,
        /// nginx: a file each generated `location` includes after the route snippet.
        #[arg(long)]
        upstream_include: Option<String>,
        /// nginx: the directory `include` lines point to (default: `DIR/nginx`, absolute).
        #[arg(long)]
        include_root: Option<String>,
        /// HAProxy: the directory its file names point to (default: `DIR/haproxy`, absolute).
        #[arg(long)]
        haproxy_include_root: Option<String>,
        /// Caddy: writes `DIR/caddy/`, importing this file where a request is let through.
        #[arg(long)]
        caddy_upstream_include: Option<String>,
        /// Caddy: the directory its `import` lines point to (default: `DIR/caddy`, absolute).
        #[arg(long, requires = "caddy_upstream_include")]
        caddy_include_root: Option<String>,
        /// Gateway API (`DIR/gateway-api/`, with both `--parent-ref` and `--backend`): the Gateway the routes attach to, `[NS/]NAME[:SECTION]`.
        #[arg(long, value_name = "[NS/]NAME[:SECTION]")]
        parent_ref: Option<crate::emit::gateway_api::ParentRef>,
        /// Gateway API (`DIR/gateway-api/`, with both `--parent-ref` and `--backend`): the Service the routes send requests to, `SERVICE:PORT`.
        #[arg(long, value_name = "SERVICE:PORT")]
        backend: Option<crate::emit::gateway_api::Backend>,
        /// Gateway API (`DIR/gateway-api/`, with both `--parent-ref` and `--backend`): the routes' namespace (none: `metadata.namespace` is not written).
        #[arg(long)]
        namespace: Option<String>,
        /// Gateway API (`DIR/gateway-api/`, with both `--parent-ref` and `--backend`): the Envoy Gateway add-on for the csrf and websocket checks.
        #[arg(long)]
        envoy_gateway: bool,
        /// Supplies the set `NAME` (declared `origins NAME provided`) from FILE (`ORIGIN [KEY]`
        /// lines) to the edges (`DIR/nginx/origins/NAME.conf`, ...); the Rust output never
        /// holds supplied entries. Repeat for more sets.
        #[arg(long = "origins", value_name = "NAME=FILE")]
        origins: Vec<String>,
        /// Edges: what the engine cannot carry and you accept losing (`csp-nonce`,
        /// `csrf-token`), one or more kinds; each is listed in the output's header comment.
        /// Without it such a policy is refused (GL1201, GL1202).
        #[arg(long = "accept-loss", value_name = "KIND", num_args = 1.., value_delimiter = ',')]
        accept_loss: Vec<crate::emit::Loss>,
    },
    /// The access a policy change grants and removes, per profile, host and route: exit 0
    /// when NEW grants nothing OLD does not, 1 when it does (latent grants included), 2 on
    /// usage or policy errors in either side. A side is an entry file or `REV:PATH` from git.
    Diff {
        /// The old policy's entry file, or `REV:PATH`.
        #[arg(required_unless_present = "old_files", conflicts_with = "old_files")]
        old: Option<String>,
        /// The new policy's entry file, or `REV:PATH`.
        #[arg(required_unless_present = "new_files", conflicts_with = "new_files")]
        new: Option<String>,
        /// Several entry files for the old side.
        #[arg(long = "old", num_args = 1.., value_name = "FILE")]
        old_files: Vec<String>,
        /// Several entry files for the new side.
        #[arg(long = "new", num_args = 1.., value_name = "FILE")]
        new_files: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: diff::DiffFormat,
        /// Compare this profile only (default: every profile of either side).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Probe a running deployment against the policy: exit 0 when nothing is looser, 1 when
    /// something is, 2 on usage, policy or connection errors.
    #[command(long_about = probe::ABOUT)]
    Probe(probe::ProbeArgs),
    /// A language server on standard input and output, for editors (spec/lsp.md): exit 0
    /// after `shutdown` and `exit`, 1 on `exit` without `shutdown`.
    Lsp,
    /// Decide one request and explain the decision step by step.
    Explain {
        /// Policy files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Request method, as sent (case-sensitive).
        #[arg(long)]
        method: String,
        /// Request path (a query is ignored).
        #[arg(long)]
        path: String,
        /// A request header, `Name: value`; repeat for more.
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        /// Profile.
        #[arg(long, default_value = DEFAULT_PROFILE)]
        profile: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// A test CSRF secret (hex, 32+ bytes) to check tokens with; never a production one.
        #[arg(long = "csrf-secret-hex")]
        csrf_secret_hex: Option<String>,
        /// Supplies the set `NAME` (declared `origins NAME provided`) from FILE (`ORIGIN [KEY]`
        /// lines); repeat for more sets.
        #[arg(long = "origins", value_name = "NAME=FILE")]
        origins: Vec<String>,
    },
}

/// Runs the CLI with `args` (including the program name); returns the exit code.
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let command_line = shell_words(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let text = e.render().to_string();
            let _ = if code == 0 {
                out.write_all(text.as_bytes())
            } else {
                err.write_all(text.as_bytes())
            };
            return code;
        }
    };
    let result = match cli.command {
        Command::Check {
            files,
            profile,
            deny,
            format,
            fix,
            origins,
        } => check(
            &files,
            &origins,
            profile.as_deref(),
            deny.is_some(),
            format,
            fix,
            out,
            err,
        ),
        Command::Fmt { files, check } => fmt(&files, check, out, err),
        Command::Test {
            files,
            profile,
            origins,
        } => test(&files, &origins, profile.as_deref(), out, err),
        Command::Emit {
            target,
            files,
            output,
            upstream_include,
            include_root,
            profile,
            runtime_crate,
            static_name,
            origins,
            accept_loss,
            parent_ref,
            backend,
            namespace,
            envoy_gateway,
        } => match target {
            EmitTarget::Rust | EmitTarget::Docs if !origins.is_empty() => {
                Err("--origins is for the edges (`emit nginx|haproxy|caddy`, `build`): the Rust and docs outputs never hold supplied entries".into())
            }
            EmitTarget::Rust if !accept_loss.is_empty() => {
                Err("--accept-loss is for the edges and the docs that list what they lose: the Rust output carries every guard".into())
            }
            _ if target != EmitTarget::GatewayApi
                && (parent_ref.is_some() || backend.is_some() || namespace.is_some() || envoy_gateway) =>
            {
                Err("--parent-ref, --backend, --namespace and --envoy-gateway are for `emit gateway-api`".into())
            }
            EmitTarget::GatewayApi if parent_ref.is_none() || backend.is_none() => {
                Err("emit gateway-api needs --parent-ref [NS/]NAME[:SECTION] and --backend SERVICE:PORT".into())
            }
            EmitTarget::GatewayApi if !origins.is_empty() || include_root.is_some() => {
                Err("--origins and --include-root are not for `emit gateway-api`".into())
            }
            EmitTarget::Rust | EmitTarget::Docs | EmitTarget::Haproxy | EmitTarget::GatewayApi
                if upstream_include.is_some() =>
            {
                Err("--upstream-include is for `emit nginx` and `emit caddy`".into())
            }
            EmitTarget::Rust | EmitTarget::Docs if include_root.is_some() => {
                Err("--include-root is for the edges (`emit nginx|haproxy|caddy`)".into())
            }
            EmitTarget::Rust => emit::emit_rust(
                &files,
                output.as_deref(),
                &profile,
                &runtime_crate,
                &static_name,
                &command_line,
                out,
                err,
            ),
            EmitTarget::Nginx | EmitTarget::Haproxy | EmitTarget::Caddy | EmitTarget::GatewayApi => {
                let engine = match target {
                    EmitTarget::Haproxy => Engine::Haproxy,
                    EmitTarget::Caddy => Engine::Caddy,
                    EmitTarget::GatewayApi => Engine::GatewayApi,
                    _ => Engine::Nginx,
                };
                let gateway = match (parent_ref, backend) {
                    (Some(parent_ref), Some(backend)) => Some(crate::emit::edges::GatewayRoute {
                        parent_ref,
                        backend,
                        namespace,
                        envoy_gateway,
                    }),
                    _ => None,
                };
                match output {
                    Some(dir) => emit::emit_edge(
                        &files,
                        &origins,
                        &dir,
                        &profile,
                        &emit::EdgeOut {
                            engine,
                            upstream_include,
                            include_root,
                            gateway,
                        },
                        &accept_loss,
                        &command_line,
                        err,
                    ),
                    None => Err(format!(
                        "emit {} needs an output directory: -o DIR",
                        crate::emit::edges::dir_name(engine)
                    )
                    .into()),
                }
            }
            EmitTarget::Docs => {
emit::emit_docs(
                &files,
                output.as_deref(),
                &profile,
                &accept_loss,
                &command_line,
                out,
                err,
            )
            }
        },
        Command::Serve {
            files,
            listen,
            profile,
            tls_cert,
            tls_key,
            csrf_secret_hex,
            pages,
            origins,
        } => match csrf_secret_hex
            .as_deref()
            .map(guestlist::CsrfSecret::from_hex)
            .transpose()
        {
            Ok(csrf_secret) => serve::run(
                &files,
                &origins,
                &profile,
                serve::ServeOptions {
                    listen,
                    tls_cert,
                    tls_key,
                    csrf_secret,
                    pages,
                },
                err,
            ),
            Err(e) => Err(format!("--csrf-secret-hex: {e}").into()),
        },
        Command::Build {
            files,
            output,
            profile,
            upstream_include,
            include_root,
            haproxy_include_root,
            caddy_upstream_include,
            caddy_include_root,
            parent_ref,
            backend,
            namespace,
            envoy_gateway,
            origins,
            accept_loss,
        } => {
            let mut edges = vec![
                emit::EdgeOut {
                    engine: Engine::Nginx,
                    upstream_include,
                    include_root,
                    gateway: None,
                },
                emit::EdgeOut {
                    engine: Engine::Haproxy,
                    upstream_include: None,
                    include_root: haproxy_include_root,
                    gateway: None,
                },
            ];
            if caddy_upstream_include.is_some() {
                edges.push(emit::EdgeOut {
                    engine: Engine::Caddy,
                    upstream_include: caddy_upstream_include,
                    include_root: caddy_include_root,
                    gateway: None,
                });
            }
            if let (Some(parent_ref), Some(backend)) = (parent_ref, backend) {
                edges.push(emit::EdgeOut {
                    engine: Engine::GatewayApi,
                    upstream_include: None,
                    include_root: None,
                    gateway: Some(crate::emit::edges::GatewayRoute {
                        parent_ref,
                        backend,
                        namespace,
                        envoy_gateway,
                    }),
                });
            }
            emit::build_all(
                &files,
                &origins,
                &output,
                &profile,
                &edges,
                &accept_loss,
                &command_line,
                out,
                err,
            )
        }
        Command::Diff {
            old,
            new,
            old_files,
            new_files,
            format,
            profile,
        } => {
            let old: Vec<String> = old.into_iter().chain(old_files).collect();
            let new: Vec<String> = new.into_iter().chain(new_files).collect();
            diff::run(&old, &new, profile.as_deref(), format, out, err)
        }
        Command::Probe(args) => probe::run(args, out, err),
        Command::Lsp => lsp::run(),
        Command::Explain {
            files,
            method,
            path,
            headers,
            profile,
            format,
            csrf_secret_hex,
            origins,
        } => explain(
            &files,
            &origins,
            &method,
            &path,
            &headers,
            &profile,
            format,
            csrf_secret_hex.as_deref(),
            out,
            err,
        ),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            2
        }
    }
}

type CliResult = Result<i32, Box<dyn std::error::Error>>;

/// The command line as typed, `guestlist` first, quoted where a shell would need it.
fn shell_words(args: &[std::ffi::OsString]) -> String {
    let mut words = vec!["guestlist".to_string()];
    for a in args.iter().skip(1) {
        let a = a.to_string_lossy();
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c));
        words.push(if plain {
            a.into_owned()
        } else {
            format!("'{}'", a.replace('\'', "'\\''"))
        });
    }
    words.join(" ")
}

/// Writes an output file atomically (only when its bytes change), with the path in the error.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    crate::write::write_if_changed(path, bytes)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(())
}

/// Loads, supplies each `--origins NAME=FILE` ([`load_supplied`]) and checks; prints errors
/// (a bad supplied entry's at its file and line) and returns `None` when there are any.
fn checked(
    files: &[PathBuf],
    origins: &[String],
    err: &mut dyn Write,
    what: &str,
) -> Result<Option<Compilation>, Box<dyn std::error::Error>> {
    let c = load_supplied(files, origins)?;
    if c.has_errors() {
        err.write_all(c.render().as_bytes())?;
        writeln!(err, "{what}: the policy has errors")?;
        return Ok(None);
    }
    Ok(Some(c))
}

fn load(files: &[PathBuf]) -> Result<Compilation, Box<dyn std::error::Error>> {
    Ok(Compilation::load(files)?)
}

/// [`load`], then each `--origins NAME=FILE` supplied (a usage error when the set is unknown,
/// not provided, named twice or its file unreadable).
fn load_supplied(
    files: &[PathBuf],
    origins: &[String],
) -> Result<Compilation, Box<dyn std::error::Error>> {
    let mut c = load(files)?;
    for o in origins {
        let Some((name, file)) = o.split_once('=') else {
            return Err(format!("--origins {o:?}: write NAME=FILE").into());
        };
        c.supply(name, std::path::Path::new(file))
            .map_err(|e| format!("--origins {name}={file}: {e}"))?;
    }
    Ok(c)
}

fn json_diag(c: &Compilation, d: &Diagnostic) -> serde_json::Value {
    let (file, line, column) = c.sources.location(d.span);
    let end = crate::Span {
        start: d.span.end,
        ..d.span
    };
    let (_, end_line, end_column) = c.sources.location(end);
    json!({
        "severity": d.severity.as_str(),
        "code": d.code,
        "message": d.message,
        "file": file,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
        "help": d.help,
    })
}

fn check_profile(c: &Compilation, profile: Option<&str>) -> Result<(), Box<dyn std::error::Error>> {
    match profile {
        Some(p) if !c.program.has_profile(p) => Err(format!(
            "unknown profile `{p}`; the policy's profiles are: {}",
            c.program.all_profiles().join(", ")
        )
        .into()),
        _ => Ok(()),
    }
}

/// Applies every certain fix; returns how many were applied per file.
fn apply_fixes(c: &Compilation, err: &mut dyn Write) -> Result<usize, Box<dyn std::error::Error>> {
    let mut total = 0;
    for (id, file) in c.sources.files() {
        let mut text = file.text.clone();
        let mut n = 0;
        for f in crate::diag::fixes_for(&c.diagnostics, id, &file.text) {
            text.replace_range(f.span.start as usize..f.span.end as usize, &f.replacement);
            n += 1;
        }
        if n > 0 {
            write_file(&file.path, text.as_bytes())?;
            writeln!(
                err,
                "fixed {n} problem{} in {}",
                if n == 1 { "" } else { "s" },
                file.name
            )?;
            total += n;
        }
    }
    Ok(total)
}

#[expect(clippy::too_many_arguments, reason = "one argument per CLI option")]
fn check(
    files: &[PathBuf],
    origins: &[String],
    profile: Option<&str>,
    deny_warnings: bool,
    format: Format,
    fix: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    let mut c = load_supplied(files, origins)?;
    if fix && apply_fixes(&c, err)? > 0 {
        c = load_supplied(files, origins)?;
    }
    check_profile(&c, profile)?;
    let failed = c.has_errors()
        || (deny_warnings
            && c.diagnostics
                .iter()
                .any(|d| d.severity == Severity::Warning));
    match format {
        Format::Json => {
            let diags: Vec<_> = c.diagnostics.iter().map(|d| json_diag(&c, d)).collect();
            writeln!(out, "{}", json!({ "diagnostics": diags }))?;
        }
        Format::Sarif => diff::check_sarif(&c, out)?,
        Format::Human => {
            err.write_all(c.render().as_bytes())?;
            writeln!(
                err,
                "{}: {}",
                if failed {
                    "check failed"
                } else {
                    "check passed"
                },
                render::summary(&c.diagnostics)
            )?;
        }
    }
    Ok(i32::from(failed))
}

fn fmt(files: &[PathBuf], check_only: bool, out: &mut dyn Write, err: &mut dyn Write) -> CliResult {
    let mut code = 0;
    for path in files {
        let cannot = |e: &dyn std::fmt::Display| format!("cannot read {}: {e}", path.display());
        let mut text = Vec::new();
        crate::load::open_regular(path)
            .map_err(|e| cannot(&e))?
            .read_to_end(&mut text)
            .map_err(|e| cannot(&e))?;
        let text =
            String::from_utf8(text).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
        let name = path.to_string_lossy();
        let loaded = crate::load::load_str(&name, &text);
        let syntax: Vec<Diagnostic> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == "GL0001")
            .cloned()
            .collect();
        if !syntax.is_empty() {
            err.write_all(render::render(&loaded.sources, &syntax).as_bytes())?;
            writeln!(err, "not formatted: {name} has syntax errors")?;
            code = 1;
            continue;
        }
        let formatted = crate::fmt::format(&text);
        if formatted != text {
            if check_only {
                writeln!(out, "would reformat {name}")?;
                code = 1;
            } else {
                write_file(path, formatted.as_bytes())?;
                writeln!(out, "formatted {name}")?;
            }
        }
    }
    Ok(code)
}

fn test(
    files: &[PathBuf],
    origins: &[String],
    profile: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    let mut c = load_supplied(files, origins)?;
    check_profile(&c, profile)?;
    if c.has_errors() {
        err.write_all(c.render().as_bytes())?;
        writeln!(err, "tests not run: the policy has errors")?;
        return Ok(1);
    }
    if let Some(p) = profile {
        for t in &mut c.program.tests {
            t.profile.get_or_insert_with(|| p.to_string());
        }
    }
    // The provided sets nothing supplies in some test: a note each (GL1403).
    empty_set_notes(
        &c,
        |name| {
            c.program
                .tests
                .iter()
                .any(|t| !t.origins.iter().any(|(n, _, _)| n == name))
        },
        err,
    )?;
    let outcomes = crate::testing::run(&c)?;
    let mut failed = 0;
    for o in &outcomes {
        if o.passed() {
            writeln!(out, "test {} ... ok", o.name)?;
        } else {
            failed += 1;
            writeln!(out, "test {} ... FAILED", o.name)?;
            writeln!(out, "  --> {} (profile {})", o.location, o.profile)?;
            for f in &o.failures {
                writeln!(out, "  {f}")?;
            }
        }
    }
    writeln!(
        out,
        "\n{} passed, {} failed",
        outcomes.len() - failed,
        failed
    )?;
    Ok(i32::from(failed > 0))
}

/// Writes the notes (GL1403) of the provided sets that no `--origins` supplied and `shown`
/// picks, to `err`: the set is empty there and allows no origin.
fn empty_set_notes(
    c: &Compilation,
    shown: impl Fn(&str) -> bool,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let notes: Vec<Diagnostic> = c
        .diagnostics
        .iter()
        .filter(|d| d.code == "GL1403" && shown(c.sources.snippet(d.span)))
        .cloned()
        .collect();
    if notes.is_empty() {
        return Ok(());
    }
    err.write_all(render::render(&c.sources, &notes).as_bytes())
}

/// The names of the provided sets named by the cors, csrf and websocket policies that decided
/// `e`.
fn used_provided_sets(policy: &guestlist::Policy, e: &crate::explain::Explanation) -> Vec<String> {
    let names = |sets: &[guestlist::SetRef]| -> Vec<String> {
        sets.iter().map(|s| s.name().to_string()).collect()
    };
    let mut out = Vec::new();
    if let Some(c) = e
        .cors
        .as_deref()
        .and_then(|n| policy.cors_policies().iter().find(|c| c.name() == n))
    {
        out.extend(names(c.provided()));
    }
    if let Some(c) = e.guards[2]
        .as_deref()
        .and_then(|n| policy.csrf_policies().iter().find(|c| c.name() == n))
    {
        out.extend(names(c.trusted_provided()));
    }
    if let Some(w) = e.guards[3]
        .as_deref()
        .and_then(|n| policy.websocket_policies().iter().find(|w| w.name() == n))
    {
        out.extend(names(w.provided()));
    }
    out
}

/// `host` of `explain --format json` (README.md, "explain --format json").
fn host_json(c: &Compilation, h: &crate::explain::HostInfo) -> serde_json::Value {
    let line = |s: Option<crate::Span>| {
        s.map(|sp| {
            let (f, l, col) = c.sources.location(sp);
            format!("{f}:{l}:{col}")
        })
    };
    let contributing: Vec<_> = h
        .contributing
        .iter()
        .map(|x| {
            json!({
                "patterns": x.block.patterns,
                "host_line": line(x.block.span),
                "route": x.route,
                "line": line(x.span),
                "reading": x.reading.map(guestlist::Reading::as_str),
                "adds": x.adds,
                "policies": { "cors": x.cors, "csrf": x.csrf, "websocket": x.websocket },
                "kind": x.kind.as_str(),
                "reason_code": x.reason.code(),
                "refused": x.refused,
            })
        })
        .collect();
    json!({
        "authority": h.authority,
        "ambiguous": h.ambiguous,
        "block": h.block.as_ref().map(|b| json!({ "patterns": b.patterns, "line": line(b.span) })),
        "dispatched_by_application": h.dispatched,
        "contributing": contributing,
    })
}

#[expect(clippy::too_many_arguments, reason = "one argument per CLI option")]
fn explain(
    files: &[PathBuf],
    origins: &[String],
    method: &str,
    path: &str,
    raw_headers: &[String],
    profile: &str,
    format: Format,
    secret_hex: Option<&str>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    if format == Format::Sarif {
        return Err("--format sarif is for `check` and `diff`".into());
    }
    let secret = match secret_hex {
        Some(h) => Some(
            guestlist::CsrfSecret::from_hex(h).map_err(|e| format!("--csrf-secret-hex: {e}"))?,
        ),
        None => None,
    };
    let mut headers = Vec::new();
    for h in raw_headers {
        let Some((n, v)) = h.split_once(':') else {
            return Err(format!("header `{h}` is not `Name: value`").into());
        };
        let n = n.trim();
        if !guestlist::is_token(n.as_bytes()) {
            return Err(format!("`{n}` is not a header name").into());
        }
        headers.push((n.to_string(), v.trim_matches([' ', '\t']).to_string()));
    }
    let c = load_supplied(files, origins)?;
    if c.has_errors() {
        err.write_all(c.render().as_bytes())?;
        writeln!(err, "cannot explain: the policy has errors")?;
        return Ok(1);
    }
    let lowered = c.lower(profile)?;
    let e = crate::explain::explain_with(&lowered, method, path, &headers, secret.as_ref())
        .map_err(|e| e.to_string())?;
    // The provided sets the deciding policies name that nothing supplied: a note each (GL1403).
    let used = used_provided_sets(&lowered.policy, &e);
    empty_set_notes(&c, |name| used.iter().any(|u| u == name), err)?;
    match format {
        Format::Json => {
            let hs: Vec<_> = e.headers.iter().map(|(n, v)| json!([n, v])).collect();
            let steps: Vec<_> = e
                .steps
                .iter()
                .map(|s| {
                    let mut step = serde_json::Map::new();
                    step.insert("text".into(), s.text.clone().into());
                    let line = s.span.map(|sp| {
                        let (f, l, col) = c.sources.location(sp);
                        format!("{f}:{l}:{col}")
                    });
                    step.insert("line".into(), line.into());
                    if let Some(r) = s.reading {
                        step.insert("reading".into(), r.as_str().into());
                    }
                    serde_json::Value::Object(step)
                })
                .collect();
            let mut v = json!({
                "route": e.route,
                "policies": {
                    "cors": e.cors,
                    "csp": e.guards[0],
                    "headers": e.guards[1],
                    "csrf": e.guards[2],
                    "websocket": e.guards[3],
                },
                "kind": e.kind.as_str(),
                "status": e.status,
                "headers": hs,
                "reason": e.reason,
                "reason_code": e.reason_code,
                "steps": steps,
            });
            // A route whose csrf policy signs tokens: what the token check made of the request
            // (`reason` null when it did not run).
            if let (Some(t), Some(obj)) = (e.csrf_token, v.as_object_mut()) {
                obj.insert(
                    "csrf_token".into(),
                    json!({
                        "reason": t.reason.map(guestlist::Reason::code),
                        "issue": t.issue,
                    }),
                );
            }
            // A header set's `remove` took lines out of the application's response.
            if let (false, Some(obj)) = (e.removed.is_empty(), v.as_object_mut()) {
                obj.insert("removed".into(), json!(e.removed));
            }
            // A path that is not structurally normal: its two readings, and which refused.
            if let (false, Some(obj)) = (e.readings.is_empty(), v.as_object_mut()) {
                let readings = e
                    .readings
                    .iter()
                    .map(|r| {
                        json!({
                            "reading": r.reading.as_str(),
                            "path": r.path,
                            "route": r.route,
                        })
                    })
                    .collect();
                obj.insert("readings".into(), readings);
                obj.insert(
                    "refused_by".into(),
                    e.refused_by.map(guestlist::Reading::as_str).into(),
                );
            }
            // A policy with host blocks: the block the host selects, and the other blocks'
            // routes the request was decided under.
            if let (Some(h), Some(obj)) = (&e.host, v.as_object_mut()) {
                obj.insert("host".into(), host_json(&c, h));
            }
            // An entry of a set supplied at run time allowed the origin: where it came from.
            if let (Some((set, entry)), Some(obj)) = (&e.supplied_entry, v.as_object_mut()) {
                let (file, line) = c
                    .supplied_source(set, entry)
                    .map_or((None, None), |(f, l)| (Some(f), Some(l)));
                obj.insert(
                    "origin_source".into(),
                    json!({ "set": set, "entry": entry, "file": file, "line": line }),
                );
            }
            writeln!(out, "{v}")?;
        }
        Format::Human | Format::Sarif => {
            out.write_all(crate::explain::render_human(&c, method, path, &headers, &e).as_bytes())?;
        }
    }
    Ok(0)
}
