//! `guestlist diff OLD NEW`: the access a policy change grants and removes (spec/diff.md), as
//! a table, Markdown, JSON or SARIF; and `check --format sarif`.
//!
//! A side is a policy's entry files (imports followed) or `REV:PATH` read from git: an
//! argument containing `:` that names no existing file, PATH relative to the repository's
//! root (or to the current directory when it starts with `./` or `../`, as git reads it), its
//! imports read at the same revision.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use clap::ValueEnum;
use serde_json::json;

use super::sarif;
use crate::diff::{Finding, Kind, Report};
use crate::load::{check_text, ReadError, Reader};
use crate::Compilation;

/// `diff --format`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum DiffFormat {
    /// An aligned table for a terminal.
    Text,
    /// A Markdown table for a pull-request comment or a CI job summary.
    Markdown,
    /// `{"new_access": [...], "removed_access": [...], "summary": {...}}`.
    Json,
    /// SARIF 2.1.0, one result per new grant.
    Sarif,
}

/// A file of a git revision, read with `git show REV:PATH`.
struct Git {
    root: PathBuf,
    rev: String,
}

/// `a/./b/../c` -> `a/c` (git paths have no `.` or `..`); `None` when it climbs above the
/// root.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out: Vec<String> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(s.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out.join("/").into())
}

impl Reader for Git {
    fn read(&self, path: &Path) -> Result<Result<String, (&'static str, String)>, ReadError> {
        let Some(rel) = normalize(path) else {
            return Err(ReadError::Io(format!(
                "{} is outside the repository",
                path.display()
            )));
        };
        let spec = format!("{}:{}", self.rev, rel.to_string_lossy());
        let output = Command::new("git")
            .arg("-C")
            .arg(&self.root)
            .args(["show", "--no-textconv", &spec])
            .output()
            .map_err(|e| ReadError::Io(format!("cannot run git: {e}")))?;
        if !output.status.success() {
            let why = String::from_utf8_lossy(&output.stderr);
            return Err(ReadError::Io(format!(
                "git show {spec}: {}",
                why.lines().next().unwrap_or("failed").trim()
            )));
        }
        Ok(check_text(output.stdout))
    }

    fn key(&self, path: &Path) -> PathBuf {
        normalize(path).unwrap_or_else(|| path.to_path_buf())
    }
}

/// Runs git in the current directory; its trimmed output, or why it failed.
fn git(args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr);
        return Err(why
            .lines()
            .next()
            .unwrap_or("git failed")
            .trim()
            .to_string());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// Where the findings' files are, relative to the repository root (SARIF wants that).
#[derive(Default)]
pub(crate) struct Uris {
    /// The repository's root (canonical), when the current directory is in one.
    root: Option<PathBuf>,
    /// The current directory relative to the root (`git rev-parse --show-prefix`: empty or
    /// ending in `/`): a `REV:./PATH` or `REV:../PATH` is relative to it.
    prefix: String,
    /// `REV:` prefixes of the sides read from git.
    revs: Vec<String>,
}

impl Uris {
    pub(crate) fn new() -> Uris {
        let root = git(&["rev-parse", "--show-toplevel"])
            .ok()
            .map(|r| std::fs::canonicalize(&r).unwrap_or_else(|_| PathBuf::from(r)));
        let prefix = if root.is_some() {
            git(&["rev-parse", "--show-prefix"]).unwrap_or_default()
        } else {
            String::new()
        };
        Uris {
            root,
            prefix,
            revs: Vec::new(),
        }
    }

    /// The repository-relative URI of a file named `name` in findings.
    pub(crate) fn uri(&self, name: &str) -> String {
        for r in &self.revs {
            if let Some(rest) = name.strip_prefix(r.as_str()) {
                // git's rule: `./` and `../` are relative to the current directory, any other
                // path to the root (an import's name keeps its importer's form).
                let rel = if rest.starts_with("./") || rest.starts_with("../") {
                    format!("{}{rest}", self.prefix)
                } else {
                    rest.to_string()
                };
                return normalize(Path::new(&rel))
                    .map_or(rel, |p| p.to_string_lossy().replace('\\', "/"));
            }
        }
        let path = Path::new(name);
        if let (Some(root), Ok(abs)) = (&self.root, std::fs::canonicalize(path)) {
            if let Ok(rel) = abs.strip_prefix(root) {
                return rel.to_string_lossy().replace('\\', "/");
            }
        }
        name.trim_start_matches("./").replace('\\', "/")
    }
}

/// Loads one side: files on disk, or one `REV:PATH` (several entry files of one revision share
/// the revision).
fn load_side(args: &[String], uris: &mut Uris) -> Result<Compilation, String> {
    let on_disk = |a: &String| Path::new(a).exists() || !a.contains(':');
    if args.iter().all(on_disk) {
        let files: Vec<PathBuf> = args.iter().map(PathBuf::from).collect();
        return Compilation::load(&files).map_err(|e| e.to_string());
    }
    let mut rev: Option<&str> = None;
    let mut named = Vec::new();
    for a in args {
        let Some((r, path)) = a.split_once(':').filter(|_| !on_disk(a)) else {
            return Err(format!(
                "{a}: one side is either files on disk or REV:PATH arguments of one revision"
            ));
        };
        if rev.is_some_and(|x| x != r) {
            return Err(format!(
                "{a}: the entry files of one side come from one revision"
            ));
        }
        rev = Some(r);
        // git's rule: relative to the root, unless it starts with ./ or ../ (the current
        // directory).
        let rel = if path.starts_with("./") || path.starts_with("../") {
            let prefix = git(&["rev-parse", "--show-prefix"]).map_err(|e| format!("{a}: {e}"))?;
            format!("{prefix}{path}")
        } else {
            path.to_string()
        };
        let rel = normalize(Path::new(&rel))
            .ok_or_else(|| format!("{a}: the path is outside the repository"))?;
        named.push((rel, a.clone()));
    }
    let rev = rev.unwrap_or("HEAD");
    let root = git(&["rev-parse", "--show-toplevel"])
        .map_err(|e| format!("{}: not in a git repository: {e}", args.join(" ")))?;
    git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])
    .map_err(|_| format!("{rev}: not a git revision"))?;
    uris.revs.push(format!("{rev}:"));
    let reader = Git {
        root: root.into(),
        rev: rev.to_string(),
    };
    Compilation::load_through(&named, &reader).map_err(|e| e.to_string())
}

/// `guestlist diff`.
pub(crate) fn run(
    old: &[String],
    new: &[String],
    profile: Option<&str>,
    format: DiffFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> super::CliResult {
    let mut uris = Uris::new();
    let o = load_side(old, &mut uris)?;
    let n = load_side(new, &mut uris)?;
    let mut bad = false;
    for (side, c) in [("old", &o), ("new", &n)] {
        if c.has_errors() {
            err.write_all(c.render().as_bytes())?;
            writeln!(err, "diff: the {side} policy has errors")?;
            bad = true;
        }
    }
    if bad {
        return Ok(2);
    }
    let report = crate::diff::diff(&o, &n, profile)?;
    match format {
        DiffFormat::Json => writeln!(out, "{}", json_report(&report))?,
        DiffFormat::Text => out.write_all(text(&report).as_bytes())?,
        DiffFormat::Markdown => out.write_all(markdown(&report).as_bytes())?,
        DiffFormat::Sarif => {
            let log = sarif_report(&report, &uris);
            out.write_all(sarif::to_string(&log)?.as_bytes())?;
        }
    }
    Ok(i32::from(report.has_new_access()))
}

fn witness_json(f: &Finding) -> serde_json::Value {
    f.witness.as_ref().map_or(serde_json::Value::Null, |w| {
        json!({
            "method": w.method,
            "path": w.path,
            "headers": w.headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
            "supplied": w.supplied.iter().map(|(set, o)| json!([set, o])).collect::<Vec<_>>(),
        })
    })
}

fn finding_json(f: &Finding) -> serde_json::Value {
    json!({
        "kind": f.kind.as_str(),
        "rule": f.kind.rule_id(),
        "profile": f.profile,
        "route": f.route,
        "host": f.host,
        "subject": f.subject,
        "message": f.message,
        "file": f.file,
        "line": f.line,
        "column": f.column,
        "witness": witness_json(f),
        "latent": f.latent,
        "legacy": f.legacy,
    })
}

fn json_report(r: &Report) -> serde_json::Value {
    json!({
        "new_access": r.new_access.iter().map(finding_json).collect::<Vec<_>>(),
        "removed_access": r.removed_access.iter().map(finding_json).collect::<Vec<_>>(),
        "summary": {
            "profiles": r.profiles,
            "new": r.new_access.len(),
            "latent": r.new_access.iter().filter(|f| f.latent).count(),
            "legacy": r.new_access.iter().filter(|f| f.legacy).count(),
            "removed": r.removed_access.len(),
            "new_access": r.has_new_access(),
        },
    })
}

/// `GET /api/x Origin: https://a.example`.
fn witness_text(f: &Finding) -> String {
    f.witness.as_ref().map_or_else(String::new, |w| {
        let mut s = format!("{} {}", w.method, w.path);
        for (n, v) in &w.headers {
            s.push_str(&format!(" {n}: {v}"));
        }
        for (set, o) in &w.supplied {
            s.push_str(&format!(" (`{set}` supplies {o})"));
        }
        s
    })
}

fn flags(f: &Finding) -> String {
    let mut v = Vec::new();
    if f.latent {
        v.push("latent");
    }
    if f.legacy {
        v.push("legacy");
    }
    v.join(", ")
}

fn summary(r: &Report) -> String {
    let latent = r.new_access.iter().filter(|f| f.latent).count();
    let legacy = r.new_access.iter().filter(|f| f.legacy).count();
    format!(
        "{} new access ({latent} latent, {legacy} legacy), {} removed; profiles: {}; {}",
        r.new_access.len(),
        r.removed_access.len(),
        r.profiles.join(", "),
        if r.has_new_access() {
            "FAIL: the change grants new access"
        } else {
            "PASS: no new access"
        }
    )
}

/// The rows of the table: sign, kind, profile, host, route, what, where, flags, witness.
fn rows(r: &Report) -> Vec<[String; 9]> {
    let row = |sign: &str, f: &Finding| {
        [
            sign.to_string(),
            f.kind.as_str().to_string(),
            f.profile.clone(),
            f.host.clone().unwrap_or_default(),
            f.route.clone().unwrap_or_default(),
            f.message.clone(),
            format!("{}:{}", f.file, f.line),
            flags(f),
            witness_text(f),
        ]
    };
    r.new_access
        .iter()
        .map(|f| row("+", f))
        .chain(r.removed_access.iter().map(|f| row("-", f)))
        .collect()
}

const HEAD: [&str; 9] = [
    "", "kind", "profile", "host", "route", "access", "at", "flags", "witness",
];

fn text(r: &Report) -> String {
    let rows = rows(r);
    let mut s = String::new();
    if !rows.is_empty() {
        let mut width = [0usize; 9];
        for row in std::iter::once(&HEAD.map(str::to_string)).chain(&rows) {
            for (w, c) in width.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        for row in std::iter::once(&HEAD.map(str::to_string)).chain(&rows) {
            let mut line = String::new();
            for (i, (w, c)) in width.iter().zip(row).enumerate() {
                if i + 1 == row.len() {
                    line.push_str(c);
                } else {
                    line.push_str(&format!("{c:<w$}  "));
                }
            }
            s.push_str(line.trim_end());
            s.push('\n');
        }
    }
    s.push_str(&summary(r));
    s.push('\n');
    s
}

/// A Markdown table cell: `|` escaped, on one line.
fn cell(c: &str) -> String {
    c.replace('|', "\\|").replace('\n', " ")
}

/// The most bytes of Markdown written: a GitHub job summary takes 1 MiB per step. New access
/// comes first; rows past the limit are counted, not written.
const MARKDOWN_LIMIT: usize = 1_000_000;

fn markdown(r: &Report) -> String {
    let mut s = String::from("## guestlist diff\n\n");
    s.push_str(&format!("**{}**\n\n", summary(r)));
    for (title, sign, items) in [
        ("New access", "+", &r.new_access),
        ("Removed access", "-", &r.removed_access),
    ] {
        if items.is_empty() {
            continue;
        }
        s.push_str(&format!("### {title} ({})\n\n", items.len()));
        s.push_str("| | kind | profile | host | route | access | at | flags | witness |\n");
        s.push_str("|---|---|---|---|---|---|---|---|---|\n");
        for (i, f) in items.iter().enumerate() {
            let w = witness_text(f);
            let row = format!(
                "| {sign} | `{}` | {} | {} | {} | {} | `{}:{}` | {} | {} |\n",
                f.kind.as_str(),
                cell(&f.profile),
                f.host
                    .as_deref()
                    .map(|h| format!("`{}`", cell(h)))
                    .unwrap_or_default(),
                f.route
                    .as_deref()
                    .map(|h| format!("`{}`", cell(h)))
                    .unwrap_or_default(),
                cell(&f.message),
                cell(&f.file),
                f.line,
                flags(f),
                if w.is_empty() {
                    String::new()
                } else {
                    format!("`{}`", cell(&w))
                },
            );
            // Room for this row and the line saying how many are left out.
            if s.len() + row.len() + 200 > MARKDOWN_LIMIT {
                s.push_str(&format!(
                    "\n_{} more not shown (the summary's 1 MiB limit); `--format json` lists all._\n",
                    items.len() - i
                ));
                break;
            }
            s.push_str(&row);
        }
        s.push('\n');
    }
    s
}

/// The SARIF rules of `diff`: one per kind.
fn diff_rules() -> Vec<sarif::RuleInfo> {
    Kind::ALL
        .iter()
        .map(|k| sarif::RuleInfo {
            id: k.rule_id().to_string(),
            title: k.title().to_string(),
            full: format!(
                "guestlist diff: {} (kind `{}`); the change grants access the base policy does not.",
                k.title(),
                k.as_str()
            ),
            level: "error",
            doc: "diff.md",
            anchor: "kinds",
            security: true,
        })
        .collect()
}

fn sarif_report(r: &Report, uris: &Uris) -> sarif::Log {
    let items = r
        .new_access
        .iter()
        .map(|f| sarif::Item {
            rule: f.kind.rule_id().to_string(),
            level: if f.legacy { "note" } else { "error" },
            message: format!("{} (profile {})", f.message, f.profile),
            uri: uris.uri(&f.file),
            region: (f.line, f.column, f.line, f.column + 1),
            identity: format!(
                "{}|{}|{}|{}",
                f.profile,
                f.host.as_deref().unwrap_or(""),
                f.route.as_deref().unwrap_or(""),
                f.subject
            ),
            properties: Some(json!({
                "kind": f.kind.as_str(),
                "latent": f.latent,
                "legacy": f.legacy,
                "witness": witness_json(f),
            })),
        })
        .collect();
    sarif::log("no-new-access", &diff_rules(), items)
}

/// `check --format sarif`: every finding of the policy.
pub(crate) fn check_sarif(c: &Compilation, out: &mut dyn Write) -> std::io::Result<()> {
    let uris = Uris::new();
    let rules: Vec<sarif::RuleInfo> = crate::diag::codes::ALL
        .iter()
        .map(|i| sarif::RuleInfo {
            id: i.code.to_string(),
            title: i.title.to_string(),
            full: format!("{}: {}.", i.code, i.title),
            level: level(i.severity),
            doc: "diagnostics.md",
            anchor: sarif::diagnostic_anchor(i.code),
            security: i.lowerable,
        })
        .collect();
    let items = c
        .diagnostics()
        .iter()
        .map(|d| {
            let (file, line, column) = c.sources().location(d.span);
            let end = crate::Span {
                start: d.span.end,
                ..d.span
            };
            let (_, end_line, end_column) = c.sources().location(end);
            let end_column = if end_line == line {
                end_column.max(column + 1)
            } else {
                end_column
            };
            sarif::Item {
                rule: d.code.to_string(),
                level: level(d.severity),
                message: d.message.clone(),
                uri: uris.uri(&file),
                region: (line, column, end_line, end_column),
                // The blocks the finding is in and what it points at: neither moves with the
                // lines around it.
                identity: c.finding_place(d.span),
                properties: None,
            }
        })
        .collect();
    let log = sarif::log("check", &rules, items);
    let text = sarif::to_string(&log).map_err(std::io::Error::other)?;
    out.write_all(text.as_bytes())
}

fn level(s: crate::Severity) -> &'static str {
    match s {
        crate::Severity::Error => "error",
        crate::Severity::Warning => "warning",
        crate::Severity::Note => "note",
    }
}
