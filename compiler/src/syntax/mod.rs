//! Parsing: text -> [`ast::File`] plus syntax diagnostics. The only module that sees pest.
//!
//! The file is parsed one top-level item at a time. When an item fails, the error is reported
//! in words (never pest rule names) and parsing re-syncs at the next line that starts, in
//! column 0, with a letter (the start of the next top-level block), so one syntax error does
//! not hide the rest of the file.

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::Parser as _;

use crate::ast::{self, Block, Item, Line, Value};
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "src/syntax/grammar.pest"]
struct PolicyParser;

/// Parses one file.
pub fn parse(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    let mut items = Vec::new();
    let mut diags = Vec::new();
    let mut pos = skip_gap(text, 0);
    while pos < text.len() {
        let rest = text.get(pos..).unwrap_or("");
        match PolicyParser::parse(Rule::item, rest) {
            Ok(mut pairs) => {
                let Some(pair) = pairs.next() else { break };
                let end = pos + pair.as_span().end();
                if let Some(item) = lower_item(file, pos, pair) {
                    items.push(item);
                }
                pos = skip_gap(text, end.max(pos + 1));
            }
            Err(e) => {
                let at = match e.location {
                    InputLocation::Pos(p) => pos + p,
                    InputLocation::Span((s, _)) => pos + s,
                };
                diags.push(syntax_error(file, text, at, &e.variant));
                pos = skip_gap(text, resync(text, at));
            }
        }
    }
    (ast::File { id: file, items }, diags)
}

/// Skips white space, separators and comments.
fn skip_gap(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(pos) {
        match b {
            b' ' | b'\t' | b'\r' | b'\n' | b';' => pos += 1,
            b'#' => {
                // A comment ends at any of the grammar's line breaks, `\r` included.
                while bytes.get(pos).is_some_and(|&b| b != b'\n' && b != b'\r') {
                    pos += 1;
                }
            }
            _ => break,
        }
    }
    pos
}

/// The start of the next line after `at` that begins with a letter in column 0.
fn resync(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = at;
    loop {
        // Move to the start of the next line.
        while bytes.get(i).is_some_and(|&b| b != b'\n' && b != b'\r') {
            i += 1;
        }
        if i >= bytes.len() {
            return bytes.len();
        }
        i += 1;
        if bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
            return i;
        }
    }
}

fn describe_rule(r: Rule) -> &'static str {
    match r {
        Rule::item
        | Rule::block
        | Rule::head
        | Rule::declaration
        | Rule::host
        | Rule::host_head => "a block (like `cors NAME {`) or `import`",
        Rule::import => "`import \"FILE\"`",
        Rule::body | Rule::host_body | Rule::open => "`{`",
        Rule::close => "`}`",
        Rule::line => "a setting",
        Rule::string | Rule::string_inner => "a quoted string",
        Rule::word => "a word",
        Rule::sep => "a new line or `;`",
        Rule::EOI => "the end of the file",
        Rule::WHITESPACE | Rule::COMMENT => "white space",
    }
}

fn found_at(text: &str, at: usize) -> String {
    match text.get(at..).and_then(|s| s.chars().next()) {
        None => "end of file".into(),
        Some('\n') | Some('\r') => "end of line".into(),
        Some(c) if c.is_ascii_graphic() => format!("`{c}`"),
        Some(c) => format!("character {:?} (U+{:04X})", c, c as u32),
    }
}

fn syntax_error(file: FileId, text: &str, at: usize, variant: &ErrorVariant<Rule>) -> Diagnostic {
    let found = found_at(text, at);
    let len = text
        .get(at..)
        .and_then(|s| s.chars().next())
        .map_or(0, char::len_utf8);
    let span = Span::new(file, at, at + len.max(usize::from(at < text.len())));
    let mut expected: Vec<&str> = match variant {
        ErrorVariant::ParsingError { positives, .. } => {
            positives.iter().map(|r| describe_rule(*r)).collect()
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.sort_unstable();
    expected.dedup();
    // A string that runs to the end of the line is the commonest error; say so.
    let line_start = text
        .get(..at)
        .and_then(|s| s.rfind('\n'))
        .map_or(0, |i| i + 1);
    let before = text.get(line_start..at).unwrap_or("");
    let line_rest = text
        .get(at..)
        .map_or("", |s| s.split('\n').next().unwrap_or(""));
    let unterminated = before.matches('"').count() % 2 == 1
        || (line_rest.starts_with('"') && line_rest.matches('"').count() == 1);
    let expected_text = match expected.as_slice() {
        [] => String::from("something else"),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    };
    let mut d = if unterminated {
        Diagnostic::new("GL0001", span, "unterminated string")
            .label("the string is not closed on this line")
            .help("close the string with `\"` before the end of the line")
    } else {
        Diagnostic::new(
            "GL0001",
            span,
            format!("expected {expected_text}, found {found}"),
        )
        .label(format!("expected {expected_text}"))
    };
    if !unterminated {
        let help = if found.starts_with("character") {
            "policy files use ASCII outside quoted strings; put non-ASCII text in \"...\""
        } else if expected.contains(&"`}`") || expected.contains(&"a setting") {
            "each setting goes on its own line (or ends with `;`), and every `{` needs a `}`"
        } else {
            "a policy file holds `import \"FILE\"` lines and blocks such as `origins NAME { ... }`, `cors NAME { ... }`, `route \"/path/*\" { ... }`"
        };
        d = d.help(help);
    }
    d
}

fn span_of(file: FileId, base: usize, pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(file, base + s.start(), base + s.end())
}

fn lower_value(file: FileId, base: usize, pair: Pair<'_, Rule>) -> Option<Value> {
    let span = span_of(file, base, &pair);
    match pair.as_rule() {
        Rule::word => Some(Value {
            text: pair.as_str().to_string(),
            quoted: false,
            span,
        }),
        Rule::string => {
            let inner = pair.into_inner().next().map_or("", |p| p.as_str());
            Some(Value {
                text: inner.to_string(),
                quoted: true,
                span,
            })
        }
        _ => None,
    }
}

fn lower_item(file: FileId, base: usize, pair: Pair<'_, Rule>) -> Option<Item> {
    let inner = pair.into_inner().next()?;
    let span = span_of(file, base, &inner);
    match inner.as_rule() {
        Rule::import => {
            let path = inner
                .into_inner()
                .find_map(|p| lower_value(file, base, p))?;
            Some(Item::Import { path, span })
        }
        Rule::declaration => {
            let part = inner.into_inner().next()?;
            let head_span = span_of(file, base, &part);
            let head = part
                .into_inner()
                .filter_map(|p| lower_value(file, base, p))
                .collect();
            Some(Item::Declaration(Block {
                head,
                lines: Vec::new(),
                blocks: Vec::new(),
                span,
                head_span,
            }))
        }
        Rule::block | Rule::host => Some(Item::Block(lower_block(file, base, inner))),
        _ => None,
    }
}

/// A `block` pair: its head, its lines and the blocks in its body.
fn lower_block(file: FileId, base: usize, pair: Pair<'_, Rule>) -> Block {
    let span = span_of(file, base, &pair);
    let mut head = Vec::new();
    let mut head_span = span;
    let mut lines = Vec::new();
    let mut blocks = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::head => {
                head_span = span_of(file, base, &part);
                head = part
                    .into_inner()
                    .filter_map(|p| lower_value(file, base, p))
                    .collect();
            }
            Rule::body | Rule::host_body => {
                for l in part.into_inner() {
                    match l.as_rule() {
                        Rule::line => {
                            let lspan = span_of(file, base, &l);
                            let values = l
                                .into_inner()
                                .filter_map(|p| lower_value(file, base, p))
                                .collect();
                            lines.push(Line {
                                values,
                                span: lspan,
                            });
                        }
                        Rule::block => blocks.push(lower_block(file, base, l)),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Block {
        head,
        lines,
        blocks,
        span,
        head_span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: &str) -> (ast::File, Vec<Diagnostic>) {
        parse(FileId(0), src)
    }

    #[test]
    fn parses_blocks_lines_and_one_line_blocks() {
        let (f, d) = p("origins a { \"https://x.test\" }\ncors api when dev {\n  allow-origins a; max-age 2h # c\n\n}\nimport \"b.policy\"\n");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(f.items.len(), 3);
        let Item::Block(b) = &f.items[1] else {
            panic!()
        };
        assert_eq!(b.head.len(), 4);
        assert_eq!(b.lines.len(), 2);
        assert_eq!(b.lines[1].values[1].text, "2h");
    }

    #[test]
    fn a_head_alone_on_its_line_is_a_declaration() {
        let (f, d) = p("origins t provided tenant-bound # customers\norigins u provided; cors a { allow-origins t u }\norigins v provided");
        assert!(d.is_empty(), "{d:?}");
        let heads: Vec<(bool, usize)> = f
            .items
            .iter()
            .map(|i| match i {
                Item::Declaration(b) => (true, b.head.len()),
                Item::Block(b) => (false, b.head.len()),
                Item::Import { .. } => (false, 0),
            })
            .collect();
        assert_eq!(heads, [(true, 4), (true, 3), (false, 2), (true, 3)]);
    }

    #[test]
    fn a_body_may_hold_blocks_and_lines() {
        let (f, d) = p("host \"api.example.com\" \"*.t.example.com\" {\n    route \"/api/*\" { cors a }\n    x y\n    route \"/b\" {\n        csrf c\n    }\n}\n");
        assert!(d.is_empty(), "{d:?}");
        let [Item::Block(b)] = f.items.as_slice() else {
            panic!("{:?}", f.items)
        };
        assert_eq!(b.head.len(), 3);
        assert_eq!(b.lines.len(), 1);
        let inner: Vec<(&str, usize)> = b
            .blocks
            .iter()
            .map(|r| (r.head[1].text.as_str(), r.lines.len()))
            .collect();
        assert_eq!(inner, [("/api/*", 1), ("/b", 1)]);
        assert_eq!(f.structure(), ["host \"api.example.com\" \"*.t.example.com\" | x y | {route \"/api/*\" | cors a} | {route \"/b\" | csrf c}"]);
    }

    #[test]
    fn resyncs_after_an_error() {
        let src = "cors a {\n  allow-origins \"https://x.test\n}\ncors b { max-age 1 }\norigins c { { }\nroute \"/x\" { cors b }\n";
        let (f, d) = p(src);
        assert_eq!(d.len(), 2, "{d:?}");
        assert_eq!(d[0].message, "unterminated string");
        assert_eq!(f.items.len(), 2);
        assert!(d.iter().all(|d| !d.message.contains("Rule")));
    }
}
