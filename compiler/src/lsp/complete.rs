//! Completion: block kinds, settings, CSP directives and keywords, header names, and the
//! names in scope (sets, policies, profiles). The context is read from the text before the
//! cursor (the enclosing blocks' heads, the words typed on the line), since the text being
//! typed often does not parse yet; the names come from the last check.

use lsp_types::{CompletionItem, CompletionItemKind};

use super::vocab::{meaning, HEADER_NAMES};
use crate::Compilation;

/// Where the cursor is: the heads of the blocks around it (outermost first) and the words
/// of its line before it (the last one is the word being typed, empty after a space).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Context {
    /// The enclosing blocks' head words.
    pub blocks: Vec<Vec<String>>,
    /// The line's words so far.
    pub words: Vec<String>,
}

/// Reads the context of the end of `before` (the text up to the cursor): strings and
/// comments skipped, braces counted, a line ended by a newline, `;`, `{` or `}`.
pub(crate) fn context(before: &str) -> Context {
    let mut cx = Context::default();
    let mut line = String::new();
    let mut in_string = false;
    let mut in_comment = false;
    for c in before.chars() {
        if in_comment {
            if c == '\n' {
                in_comment = false;
                line.clear();
            }
            continue;
        }
        if in_string {
            line.push(c);
            if c == '"' || c == '\n' {
                in_string = false;
            }
            if c == '\n' {
                line.clear();
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                line.push(c);
            }
            '#' => in_comment = true,
            '{' => {
                cx.blocks
                    .push(line.split_whitespace().map(str::to_string).collect());
                line.clear();
            }
            '}' => {
                cx.blocks.pop();
                line.clear();
            }
            '\n' | ';' => line.clear(),
            c => line.push(c),
        }
    }
    cx.words = line.split_whitespace().map(str::to_string).collect();
    if line.is_empty() || line.ends_with(char::is_whitespace) {
        cx.words.push(String::new());
    }
    cx
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<&str>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: detail.map(str::to_string),
        ..CompletionItem::default()
    }
}

fn words(list: &[&str], kind: CompletionItemKind) -> Vec<CompletionItem> {
    list.iter().map(|w| item(w, kind, None)).collect()
}

fn names<'a>(list: impl Iterator<Item = &'a String>) -> Vec<CompletionItem> {
    let mut v: Vec<CompletionItem> = list
        .map(|n| item(n, CompletionItemKind::REFERENCE, None))
        .collect();
    v.dedup_by(|a, b| a.label == b.label);
    v
}

/// The completions for `cx`, with the names of `c` (the last check of the document, if any).
pub(crate) fn complete(cx: &Context, c: Option<&Compilation>) -> Vec<CompletionItem> {
    use CompletionItemKind as K;
    let program = c.map(|c| &c.program);
    let profiles: Vec<String> = program.map(|p| p.all_profiles()).unwrap_or_default();
    let typed = cx.words.len().saturating_sub(1);
    let prev = cx.words.len().checked_sub(2).and_then(|i| cx.words.get(i));
    if prev.is_some_and(|w| w == "when") {
        return names(profiles.iter());
    }
    let Some(head) = cx.blocks.last() else {
        // Top level: a block kind, or the rest of a head.
        if typed == 0 {
            return crate::check::BLOCKS
                .iter()
                .chain(&["import", "hosts"])
                .map(|b| item(b, K::KEYWORD, meaning("", b)))
                .collect();
        }
        return match cx.words.first().map(String::as_str) {
            Some("hosts") => words(&["dispatched-by-application"], K::KEYWORD),
            Some("origins") if typed == 2 => words(&["provided", "when"], K::KEYWORD),
            Some("origins") if typed >= 3 => {
                words(&["tenant-bound", "patterns", "when"], K::KEYWORD)
            }
            _ if typed >= 2 => words(&["when"], K::KEYWORD),
            _ => Vec::new(),
        };
    };
    let kind = head.first().map_or("", String::as_str);
    if typed == 0 {
        let mut v: Vec<CompletionItem> = crate::check::settings_of(kind)
            .into_iter()
            .map(|s| item(s, K::PROPERTY, meaning(kind, s)))
            .collect();
        if kind == "host" {
            v = vec![item("route", K::KEYWORD, meaning("host", "route"))];
        }
        return v;
    }
    let key = cx.words.first().map_or("", String::as_str);
    let mut out = match (kind, key) {
        ("route", "cors") => names(program.into_iter().flat_map(|p| &p.cors).map(|d| &d.name)),
        ("route", "csp") => names(program.into_iter().flat_map(|p| &p.csp).map(|d| &d.name)),
        ("route", "headers") => {
            let mut v = vec![item(
                "default",
                K::REFERENCE,
                Some("the built-in header set"),
            )];
            v.extend(names(
                program
                    .into_iter()
                    .flat_map(|p| &p.headers)
                    .map(|d| &d.name),
            ));
            v
        }
        ("route", "csrf") => names(program.into_iter().flat_map(|p| &p.csrf).map(|d| &d.name)),
        ("route", "websocket") => names(
            program
                .into_iter()
                .flat_map(|p| &p.websocket)
                .map(|d| &d.name),
        ),
        ("cors" | "websocket", "allow-origins") | ("csrf", "trusted-origins") => {
            let mut v = names(program.into_iter().flat_map(|p| &p.sets).map(|s| &s.name));
            match kind {
                "cors" => v.push(item("*", K::VALUE, Some("every origin"))),
                "websocket" => v.push(item("same-origin", K::KEYWORD, None)),
                _ => {}
            }
            v
        }
        ("cors", "allow-methods") => words(
            &[
                "PUT", "PATCH", "DELETE", "OPTIONS", "GET", "HEAD", "POST", "*",
            ],
            K::VALUE,
        ),
        ("cors", "allow-credentials") => words(&["true", "false"], K::VALUE),
        ("cors", "allow-headers" | "expose-headers") => words(HEADER_NAMES, K::VALUE),
        ("test", "header") if typed == 1 => words(HEADER_NAMES, K::VALUE),
        ("headers", "remove") => words(&["x-powered-by", "server"], K::VALUE),
        (_, "dangerously-allow") if typed == 1 => crate::diag::codes::ALL
            .iter()
            .filter(|i| i.lowerable)
            .map(|i| item(i.code, K::VALUE, Some(i.title)))
            .collect(),
        ("csrf", "same-site" | "missing-headers") | ("websocket", "missing-origin") => {
            words(&["allow", "reject"], K::VALUE)
        }
        ("paths", "non-normal") => words(&["reject", "two-readings"], K::VALUE),
        ("test", "profile") => names(profiles.iter()),
        ("test", "expect") => guestlist::Kind::ALL
            .iter()
            .map(|k| item(k.as_str(), K::ENUM_MEMBER, None))
            .collect(),
        ("csp", _) => words(crate::check::csp::directives().1, K::VALUE),
        _ => Vec::new(),
    };
    if kind != "test" {
        out.push(item(
            "when",
            K::KEYWORD,
            Some("limits the line to a profile"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_is_the_enclosing_heads_and_the_lines_words() {
        let cx = context("cors api {\n  allow-origins \"https://a{.com\" # x { y\n  max-age ");
        assert_eq!(cx.blocks, vec![vec!["cors".to_string(), "api".into()]]);
        assert_eq!(cx.words, vec!["max-age".to_string(), String::new()]);
        let cx = context("host \"a.example\" {\n route \"/x\" { cs");
        assert_eq!(cx.blocks.len(), 2);
        assert_eq!(cx.words, vec!["cs".to_string()]);
        let cx = context("cors a { }\nro");
        assert!(cx.blocks.is_empty());
    }
}
