//! The syntax tree: what the grammar recognises, with spans, before any meaning is given to
//! it. `fmt` works from the source text; the checker (`check/`) turns this into typed
//! declarations. No pest type appears here.

use crate::source::{FileId, Span};

/// A value: a bare word or a quoted string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The text (for strings, without the quotes).
    pub text: String,
    /// Whether it was quoted.
    pub quoted: bool,
    /// Its span (for strings, including the quotes).
    pub span: Span,
}

impl Value {
    /// The span of the text inside the quotes.
    pub fn inner_span(&self) -> Span {
        if self.quoted {
            Span {
                file: self.span.file,
                start: self.span.start + 1,
                end: self.span.end.saturating_sub(1).max(self.span.start + 1),
            }
        } else {
            self.span
        }
    }

    /// Whether this is the bare word `w`.
    pub fn is_word(&self, w: &str) -> bool {
        !self.quoted && self.text == w
    }
}

/// One line of a block body (a setting or entries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The values, in order (a trailing `when NAME` included).
    pub values: Vec<Value>,
    /// The span of the whole line.
    pub span: Span,
}

/// A block: `kind args... { lines }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The head values (`cors`, `api`, maybe `when`, `dev`).
    pub head: Vec<Value>,
    /// The body lines.
    pub lines: Vec<Line>,
    /// Blocks inside the body (`route` blocks in a `host` block), in order.
    pub blocks: Vec<Block>,
    /// The whole block.
    pub span: Span,
    /// The head only (for labels).
    pub head_span: Span,
}

/// A top-level item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `import "path"`.
    Import {
        /// The path string.
        path: Value,
        /// The whole item.
        span: Span,
    },
    /// Any block.
    Block(Block),
    /// A head alone on its line, with no body (`origins NAME provided`): a [`Block`] whose
    /// `lines` are empty.
    Declaration(Block),
}

/// One parsed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Which file.
    pub id: FileId,
    /// Its items; items that failed to parse are missing (their errors were reported).
    pub items: Vec<Item>,
}

/// Splits a trailing `when NAME` off a list of values.
pub fn split_when(values: &[Value]) -> (&[Value], Option<&Value>) {
    if values.len() >= 3 {
        if let [rest @ .., w, name] = values {
            if w.is_word("when") && !name.quoted {
                return (rest, Some(name));
            }
        }
    }
    (values, None)
}

impl File {
    /// The file's structure without spans or comments, one string per item: what `fmt` must
    /// preserve (`parse(fmt(x))` has the same structure as `parse(x)`).
    pub fn structure(&self) -> Vec<String> {
        fn vals(vs: &[Value]) -> String {
            vs.iter()
                .map(|v| {
                    if v.quoted {
                        format!("{:?}", v.text)
                    } else {
                        v.text.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
        fn block(b: &Block) -> String {
            let mut s = vals(&b.head);
            for l in &b.lines {
                s.push_str(" | ");
                s.push_str(&vals(&l.values));
            }
            for inner in &b.blocks {
                s.push_str(" | {");
                s.push_str(&block(inner));
                s.push('}');
            }
            s
        }
        self.items
            .iter()
            .map(|i| match i {
                Item::Import { path, .. } => format!("import {:?}", path.text),
                Item::Declaration(b) => format!("{};", vals(&b.head)),
                Item::Block(b) => block(b),
            })
            .collect()
    }
}
