//! The commands that write outputs: `emit rust`, `emit nginx|haproxy|caddy`, `emit docs` and
//! `build` (`--origins NAME=FILE` supplies a provided set's entries to the edges, never to the
//! Rust output).

use std::io::Write;
use std::path::PathBuf;

use super::{checked, write_file, CliResult};
use crate::emit::{edges, Engine, Loss};
use crate::Compilation;

fn absolute(dir: &std::path::Path) -> Result<String, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(std::fs::canonicalize(dir)?.to_string_lossy().into_owned())
}

/// One edge output and its command-line options.
pub(super) struct EdgeOut {
    /// The engine.
    pub engine: Engine,
    /// nginx, Caddy: the file included where a request is let through.
    pub upstream_include: Option<String>,
    /// The directory the output's include lines name (default: the output directory's
    /// absolute path).
    pub include_root: Option<String>,
    /// Gateway API: where the routes attach and what they route to.
    pub gateway: Option<edges::GatewayRoute>,
}

/// Renders what the edges cannot carry; `true` when there is any, so nothing is written.
fn render_edge_errors(
    c: &Compilation,
    lowered: &crate::Lowered,
    edges: &[&EdgeOut],
    accepted: &[Loss],
    err: &mut dyn Write,
) -> Result<bool, Box<dyn std::error::Error>> {
    let mut refused = Vec::new();
    let mut errors = Vec::new();
    for e in edges {
        let found = edges::errors(c, lowered, e.engine, accepted);
        if !found.is_empty() {
            refused.push(e.engine.name());
        }
        errors.extend(found);
    }
    if errors.is_empty() {
        return Ok(false);
    }
    err.write_all(crate::diag::render::render(&c.sources, &errors).as_bytes())?;
    writeln!(
        err,
        "nothing emitted: {} cannot serve this policy as written",
        refused.join(" and ")
    )?;
    Ok(true)
}

/// The files of one edge, made before anything is written.
fn edge_files(
    c: &Compilation,
    lowered: &crate::Lowered,
    out: &EdgeOut,
    dir: &std::path::Path,
    accepted: &[Loss],
    command_line: &str,
) -> Result<Vec<crate::emit::File>, Box<dyn std::error::Error>> {
    let include_root = match &out.include_root {
        Some(r) => r.clone(),
        None => absolute(dir)?,
    };
    let options = edges::EdgeOptions {
        engine: out.engine,
        include_root,
        upstream_include: out.upstream_include.clone(),
        generated_by: command_line.to_string(),
        accepted: accepted.to_vec(),
        gateway: out.gateway.clone(),
    };
    Ok(edges::emit(c, lowered, &options)?)
}

/// Writes one edge's files into `dir` and renders its warnings.
fn write_edge(
    c: &Compilation,
    lowered: &crate::Lowered,
    engine: Engine,
    dir: &std::path::Path,
    files: &[crate::emit::File],
    err: &mut dyn Write,
) -> Result<(), Box<dyn std::error::Error>> {
    edges::write(engine, dir, files).map_err(|e| format!("cannot write {}: {e}", dir.display()))?;
    let warnings = edges::warnings(c, lowered, engine);
    if !warnings.is_empty() {
        err.write_all(crate::diag::render::render(&c.sources, &warnings).as_bytes())?;
    }
    Ok(())
}

/// `emit nginx|haproxy|caddy`.
#[expect(clippy::too_many_arguments, reason = "one argument per CLI option")]
pub(super) fn emit_edge(
    files: &[PathBuf],
    origins: &[String],
    dir: &std::path::Path,
    profile: &str,
    edge: &EdgeOut,
    accepted: &[Loss],
    command_line: &str,
    err: &mut dyn Write,
) -> CliResult {
    let Some(c) = checked(files, origins, err, "nothing emitted")? else {
        return Ok(1);
    };
    let lowered = c.lower(profile)?;
    if render_edge_errors(&c, &lowered, &[edge], accepted, err)? {
        return Ok(1);
    }
    let out = edge_files(&c, &lowered, edge, dir, accepted, command_line)?;
    write_edge(&c, &lowered, edge.engine, dir, &out, err)?;
    Ok(0)
}

pub(super) fn emit_docs(
    files: &[PathBuf],
    output: Option<&std::path::Path>,
    profile: &str,
    accepted: &[Loss],
    command_line: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    let Some(c) = checked(files, &[], err, "nothing emitted")? else {
        return Ok(1);
    };
    let lowered = c.lower(profile)?;
    let md = crate::emit::docs::emit(&c, &lowered, command_line, accepted, false)?;
    match output {
        Some(path) => write_file(path, md.as_bytes())?,
        None => out.write_all(md.as_bytes())?,
    }
    Ok(0)
}

/// `build`: the Rust code, the docs, and every edge in `edges`, each in `DIR/<engine>/`.
#[expect(clippy::too_many_arguments, reason = "one argument per CLI option")]
pub(super) fn build_all(
    files: &[PathBuf],
    origins: &[String],
    dir: &std::path::Path,
    profile: &str,
    edges: &[EdgeOut],
    accepted: &[Loss],
    command_line: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    let Some(c) = checked(files, origins, err, "nothing emitted")? else {
        return Ok(1);
    };
    err.write_all(c.render().as_bytes())?;
    let lowered = c.lower(profile)?;
    let refs: Vec<&EdgeOut> = edges.iter().collect();
    if render_edge_errors(&c, &lowered, &refs, accepted, err)? {
        return Ok(1);
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let header = format!("DO NOT EDIT, generated by `{command_line}`.");
    // Every output is made before any is written: a target that refuses the policy leaves
    // the directory as it was.
    let code = crate::codegen::policy_file(
        &lowered,
        "::guestlist",
        crate::builder::DEFAULT_STATIC_NAME,
        &header,
    )?;
    let gateway_api = edges.iter().any(|e| e.engine == Engine::GatewayApi);
    let docs = crate::emit::docs::emit(&c, &lowered, command_line, accepted, gateway_api)?;
    let mut made = Vec::new();
    for e in edges {
        let sub = dir.join(edges::dir_name(e.engine));
        let files = edge_files(&c, &lowered, e, &sub, accepted, command_line)?;
        made.push((e.engine, sub, files));
    }
    let mut wrote = Vec::new();
    for (engine, sub, files) in &made {
        write_edge(&c, &lowered, *engine, sub, files, err)?;
        wrote.push(sub.display().to_string());
    }
    let rust = dir.join(crate::builder::DEFAULT_FILE_NAME);
    write_file(&rust, code.as_bytes())?;
    let md = dir.join("policy.md");
    write_file(&md, docs.as_bytes())?;
    writeln!(
        out,
        "wrote {}, {}, {}",
        rust.display(),
        wrote.join(", "),
        md.display()
    )?;
    Ok(0)
}

#[expect(clippy::too_many_arguments, reason = "one argument per CLI option")]
pub(super) fn emit_rust(
    files: &[PathBuf],
    output: Option<&std::path::Path>,
    profile: &str,
    runtime_crate: &str,
    static_name: &str,
    command_line: &str,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CliResult {
    let Some(c) = checked(files, &[], err, "nothing emitted")? else {
        return Ok(1);
    };
    let lowered = c.lower(profile)?;
    let header = format!("DO NOT EDIT, generated by `{command_line}`.");
    let code = crate::codegen::policy_file(&lowered, runtime_crate, static_name, &header)?;
    match output {
        Some(path) => write_file(path, code.as_bytes())?,
        None => out.write_all(code.as_bytes())?,
    }
    Ok(0)
}
