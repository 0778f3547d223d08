//! Hover: on a set or policy name, its block and where it is used; on a `route`, what it
//! grants in the profile (from the lowered tables, the ones the runtime decides with); on a
//! block kind, setting or CSP directive, its meaning; on a diagnostic code, its entry in
//! spec/diagnostics.md.

use std::fmt::Write;

use super::diagnostics::explanation;
use super::navigate::{block_at, head_text, imported, references, Ns, Occurrence, View};
use super::vocab::meaning;
use crate::ast::Block;
use crate::source::{FileId, Span};
use crate::LowerError;

/// How many lines of a block, and how many uses, a hover shows.
const MAX_LINES: usize = 15;
const MAX_USES: usize = 8;

/// The word or string around byte `offset` of `text` (`None` between words).
fn token_at(text: &str, offset: usize) -> Option<(usize, &str)> {
    let stop = |c: char| c.is_whitespace() || "{};\"#".contains(c);
    let before = text.get(..offset)?;
    let after = text.get(offset..)?;
    let start = before.rfind(stop).map_or(0, |i| i + 1);
    let end = offset + after.find(stop).unwrap_or(after.len());
    let word = text.get(start..end)?;
    (!word.is_empty()).then_some((start, word))
}

/// Whether `w` is a diagnostic code (`GL` and four digits).
fn is_code(w: &str) -> bool {
    w.len() == 6 && w.starts_with("GL") && w.bytes().skip(2).all(|b| b.is_ascii_digit())
}

/// The hover text at byte `offset` of `file`, in Markdown.
pub(crate) fn hover(
    v: &View<'_>,
    occs: &[Occurrence],
    file: FileId,
    offset: usize,
    profile: &str,
) -> Option<String> {
    let text = v.c.sources.get(file)?.text.as_str();
    let token = token_at(text, offset);
    if let Some((_, w)) = token {
        if is_code(w) {
            return explanation(w);
        }
    }
    if let Some(o) = super::navigate::at(occs, file, offset) {
        return Some(name(v, occs, o));
    }
    let (block, outer) = block_at(v.c, file, offset)?;
    let kind = block.head.first()?;
    let inside = |s: Span| s.start as usize <= offset && offset <= s.end as usize;
    if kind.is_word("route") && inside(block.head_span) {
        return Some(route(v, block, profile));
    }
    if inside(kind.span) {
        let parent = outer
            .and_then(|o| o.head.first())
            .map_or("", |k| k.text.as_str());
        let m = meaning(parent, &kind.text).or_else(|| meaning("", &kind.text))?;
        return Some(format!("**{}**: {m}", kind.text));
    }
    let line = block.lines.iter().find(|l| inside(l.span))?;
    let key = line
        .values
        .first()
        .filter(|k| inside(k.span) && !k.quoted)?;
    let m = meaning(&kind.text, &key.text.to_ascii_lowercase())?;
    Some(format!("**{}** (in `{}`): {m}", key.text, kind.text))
}

/// The text of a block, at most [`MAX_LINES`] lines, fenced.
fn block_text(v: &View<'_>, b: &Block) -> String {
    let text = v.c.sources.snippet(b.span);
    let mut lines: Vec<&str> = text.lines().collect();
    let more = lines.len().saturating_sub(MAX_LINES);
    lines.truncate(MAX_LINES);
    let mut s = format!("```policy\n{}\n", lines.join("\n"));
    if more > 0 {
        let _ = writeln!(s, "# ... {more} more lines");
    }
    s.push_str("```\n");
    s
}

/// A set, policy, profile or import: its block and its uses.
fn name(v: &View<'_>, occs: &[Occurrence], o: &Occurrence) -> String {
    let mut s = String::new();
    match &o.ns {
        Ns::Import(path) => {
            let _ = writeln!(s, "**import** `{}`: {}", o.name, path.display());
            match imported(v.c, path).and_then(|id| v.c.files.iter().find(|f| f.id == id)) {
                Some(f) => {
                    let _ = writeln!(s, "\n{} items", f.items.len());
                }
                None => s.push_str("\nnot loaded (see the diagnostic)\n"),
            }
            return s;
        }
        Ns::Profile => {
            let _ = writeln!(s, "**profile** `{}`", o.name);
        }
        ns => {
            let def = occs
                .iter()
                .find(|d| d.def && d.ns == *ns && d.name == o.name);
            match def.and_then(|d| block_at(v.c, d.span.file, d.span.start as usize)) {
                Some((b, _)) => s.push_str(&block_text(v, b)),
                None if *ns == Ns::Headers && o.name == "default" => {
                    s.push_str("**headers default**: the built-in security header set (spec/language.md, section 7a)\n");
                }
                None => {
                    let _ = writeln!(s, "**{}** `{}`: not declared", ns.kind(), o.name);
                }
            }
        }
    }
    let uses = references(occs, o, false);
    if uses.is_empty() {
        s.push_str("\nnot used\n");
        return s;
    }
    let _ = writeln!(
        s,
        "\nused {} time{}:",
        uses.len(),
        if uses.len() == 1 { "" } else { "s" }
    );
    for u in uses.iter().take(MAX_USES) {
        let within = block_at(v.c, u.span.file, u.span.start as usize)
            .map(|(b, _)| head_text(&b.head))
            .unwrap_or_default();
        let _ = writeln!(s, "- `{within}` ({})", v.where_(u.span));
    }
    if uses.len() > MAX_USES {
        let _ = writeln!(s, "- ... and {} more", uses.len() - MAX_USES);
    }
    s
}

/// A list, at most `n` items shown.
fn some(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        let _ = write!(s, " and {} more", items.len() - n);
    }
    s
}

/// What a route grants in `profile`, read from the lowered tables.
fn route(v: &View<'_>, block: &Block, profile: &str) -> String {
    let mut s = format!("**{}** in profile `{profile}`\n\n", head_text(&block.head));
    let Some(decl) =
        v.c.program
            .routes
            .iter()
            .find(|r| r.head_span == block.head_span)
    else {
        s.push_str("not a route the checker accepted (see the diagnostics)");
        return s;
    };
    let lowered = match v.c.lower(profile) {
        Ok(l) => l,
        Err(LowerError::HasErrors) => {
            s.push_str("the policy has errors: what the route grants is shown once they are fixed");
            return s;
        }
        Err(e) => {
            s.push_str(&e.to_string());
            return s;
        }
    };
    let Some(i) = lowered
        .provenance
        .routes
        .iter()
        .position(|r| r.span == decl.span)
    else {
        s.push_str("not in this profile (its `when` leaves it out)");
        return s;
    };
    let Some(r) = lowered.spec.routes.get(i) else {
        return s;
    };
    let spec = &lowered.spec;
    match r.cors.and_then(|c| spec.cors.get(c)) {
        None => s.push_str("- cors: none (cross-origin reads are refused)\n"),
        Some(c) => {
            let mut origins: Vec<String> = Vec::new();
            if c.any_origin {
                origins.push("*".into());
            }
            origins.extend(c.origins.iter().cloned());
            origins.extend(c.patterns.iter().cloned());
            origins.extend(
                c.provided
                    .iter()
                    .filter_map(|p| spec.provided.get(*p))
                    .map(|p| format!("set `{}` (supplied at run time)", p.name)),
            );
            let mut methods: Vec<String> = vec!["GET".into(), "HEAD".into(), "POST".into()];
            if c.any_method {
                methods.push("*".into());
            } else {
                for m in &c.methods {
                    if !methods.contains(m) {
                        methods.push(m.clone());
                    }
                }
            }
            let _ = writeln!(
                s,
                "- cors `{}`: {} origin{} ({}) x methods {} x {}",
                c.name,
                origins.len(),
                if origins.len() == 1 { "" } else { "s" },
                some(&origins, 4),
                methods.join(", "),
                if c.credentials {
                    "with credentials"
                } else {
                    "without credentials"
                },
            );
            if c.any_header || !c.headers.is_empty() {
                let mut h = c.headers.clone();
                if c.any_header {
                    h.insert(0, "*".into());
                }
                let _ = writeln!(s, "- request headers: {}", some(&h, 6));
            }
        }
    }
    let guards = [
        (
            "csp",
            r.csp.and_then(|i| spec.csp.get(i)).map(|g| g.name.as_str()),
        ),
        (
            "headers",
            r.headers
                .and_then(|i| spec.headers.get(i))
                .map(|g| g.name.as_str()),
        ),
        (
            "csrf",
            r.csrf
                .and_then(|i| spec.csrf.get(i))
                .map(|g| g.name.as_str()),
        ),
        (
            "websocket",
            r.websocket
                .and_then(|i| spec.websocket.get(i))
                .map(|g| g.name.as_str()),
        ),
    ];
    let shown: Vec<String> = guards
        .iter()
        .map(|(k, n)| match n {
            Some(n) => format!("{k} `{n}`"),
            None => format!("{k}: none"),
        })
        .collect();
    let _ = writeln!(s, "- guards: {}", shown.join(" · "));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_codes() {
        let t = "dangerously-allow GL0202 \"why\"";
        assert_eq!(token_at(t, 20), Some((18, "GL0202")));
        assert!(is_code("GL0202"));
        assert!(!is_code("GL020"));
        assert_eq!(token_at("a  b", 2), None);
    }
}
