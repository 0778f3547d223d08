//! Names and where they are: every declaration and use of a set, a policy (cors, csp,
//! headers, csrf, websocket), a profile and an import, read from what the checker made of the
//! policy (`ir`) and, for profiles and imports, from the syntax tree. Definition, references,
//! rename and document symbols are answered from this one list.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lsp_types::{
    DocumentChangeOperation, DocumentChanges, DocumentSymbol, Location, OneOf,
    OptionalVersionedTextDocumentIdentifier, Range, RenameFile, ResourceOp, SymbolKind,
    TextDocumentEdit, TextEdit, Uri, WorkspaceEdit,
};

use super::position::{Encoding, Lines};
use crate::ast::{split_when, Block, Item, Value};
use crate::ir::{OriginRef, DEFAULT_PROFILE};
use crate::source::{FileId, Span};
use crate::Compilation;

/// A checked policy as the server sees it: the compilation, each file's URI (by file id) and
/// the position encoding.
pub(crate) struct View<'a> {
    /// The policy.
    pub c: &'a Compilation,
    /// Each file's URI.
    pub uris: &'a [Uri],
    /// How positions count.
    pub enc: Encoding,
}

impl View<'_> {
    /// The file behind `uri`.
    pub(crate) fn file(&self, uri: &str) -> Option<FileId> {
        let i = self.uris.iter().position(|u| u.as_str() == uri)?;
        Some(FileId(u32::try_from(i).ok()?))
    }

    /// The lines of a file.
    pub(crate) fn lines(&self, file: FileId) -> Option<Lines<'_>> {
        self.c.sources.get(file).map(Lines::of)
    }

    /// The range of a span.
    pub(crate) fn range(&self, span: Span) -> Range {
        self.lines(span.file).map_or_else(Range::default, |l| {
            l.range(span.start as usize, span.end as usize, self.enc)
        })
    }

    /// The location of a span.
    pub(crate) fn location(&self, span: Span) -> Option<Location> {
        Some(Location::new(
            self.uris.get(span.file.0 as usize)?.clone(),
            self.range(span),
        ))
    }

    /// `name:line` of a span.
    pub(crate) fn where_(&self, span: Span) -> String {
        let (name, line, _) = self.c.sources.location(span);
        let short = Path::new(&name)
            .file_name()
            .map_or(name.clone(), |n| n.to_string_lossy().into_owned());
        format!("{short}:{line}")
    }
}

/// What a name names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Ns {
    /// Origins sets and cors policies (one namespace).
    Origins,
    /// csp policies.
    Csp,
    /// Header sets.
    Headers,
    /// csrf policies.
    Csrf,
    /// websocket policies.
    WebSocket,
    /// Profiles (`when NAME`, a test's `profile NAME`).
    Profile,
    /// An imported file (its path).
    Import(PathBuf),
}

impl Ns {
    /// The block kind declaring such a name.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Ns::Origins => "origins set or cors policy",
            Ns::Csp => "csp policy",
            Ns::Headers => "header set",
            Ns::Csrf => "csrf policy",
            Ns::WebSocket => "websocket policy",
            Ns::Profile => "profile",
            Ns::Import(_) => "import",
        }
    }
}

/// One declaration or use of a name.
#[derive(Debug, Clone)]
pub(crate) struct Occurrence {
    /// What it names.
    pub ns: Ns,
    /// The name (an import's path as written).
    pub name: String,
    /// The name's text (inside the quotes, for an import).
    pub span: Span,
    /// Whether this is the declaration.
    pub def: bool,
}

/// Every declaration and use, in file order.
pub(crate) fn occurrences(c: &Compilation) -> Vec<Occurrence> {
    let mut out = Vec::new();
    let mut def = |ns: Ns, name: &str, span: Span| {
        out.push(Occurrence {
            ns,
            name: name.to_string(),
            span,
            def: true,
        });
    };
    let p = &c.program;
    for s in &p.sets {
        def(Ns::Origins, &s.name, s.name_span);
    }
    for d in &p.cors {
        def(Ns::Origins, &d.name, d.name_span);
    }
    for d in &p.csp {
        def(Ns::Csp, &d.name, d.name_span);
    }
    for d in &p.headers {
        def(Ns::Headers, &d.name, d.name_span);
    }
    for d in &p.csrf {
        def(Ns::Csrf, &d.name, d.name_span);
    }
    for d in &p.websocket {
        def(Ns::WebSocket, &d.name, d.name_span);
    }
    let mut uses: Vec<(Ns, &str, Span)> = Vec::new();
    let sets = p
        .cors
        .iter()
        .flat_map(|d| &d.origins)
        .chain(p.websocket.iter().flat_map(|d| &d.origins))
        .chain(p.csrf.iter().flat_map(|d| &d.trusted_sets));
    for e in sets {
        if let OriginRef::Set(n) = &e.value {
            uses.push((Ns::Origins, n, e.span));
        }
    }
    for r in &p.routes {
        for (ns, list) in [
            (Ns::Origins, &r.cors),
            (Ns::Csp, &r.csp),
            (Ns::Headers, &r.headers),
            (Ns::Csrf, &r.csrf),
            (Ns::WebSocket, &r.websocket),
        ] {
            for e in list {
                uses.push((ns.clone(), &e.value, e.span));
            }
        }
    }
    for (ns, name, span) in uses {
        out.push(Occurrence {
            ns,
            name: name.to_string(),
            span,
            def: false,
        });
    }
    for f in &c.files {
        let dir = c
            .sources
            .get(f.id)
            .and_then(|s| s.path.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for item in &f.items {
            match item {
                Item::Import { path, .. } => out.push(Occurrence {
                    ns: Ns::Import(dir.join(&path.text)),
                    name: path.text.clone(),
                    span: path.inner_span(),
                    def: false,
                }),
                Item::Block(b) | Item::Declaration(b) => profiles(b, &mut out),
            }
        }
    }
    out.sort_by_key(|o| (o.span.file, o.span.start));
    out
}

/// The profile names a block's head and lines use (`when NAME`, a test's `profile NAME`).
fn profiles(b: &Block, out: &mut Vec<Occurrence>) {
    let mut add = |v: &Value| {
        out.push(Occurrence {
            ns: Ns::Profile,
            name: v.text.clone(),
            span: v.span,
            def: false,
        });
    };
    if let (_, Some(w)) = split_when(&b.head) {
        add(w);
    }
    let test = b.head.first().is_some_and(|k| k.is_word("test"));
    for l in &b.lines {
        match l.values.as_slice() {
            [k, name] if test && k.is_word("profile") && !name.quoted => add(name),
            vs => {
                if let (_, Some(w)) = split_when(vs) {
                    add(w);
                }
            }
        }
    }
    for inner in &b.blocks {
        profiles(inner, out);
    }
}

/// The occurrence at byte `offset` of `file` (the innermost).
pub(crate) fn at(occs: &[Occurrence], file: FileId, offset: usize) -> Option<&Occurrence> {
    occs.iter()
        .filter(|o| {
            o.span.file == file && o.span.start as usize <= offset && offset <= o.span.end as usize
        })
        .min_by_key(|o| o.span.end - o.span.start)
}

/// Whether two occurrences name the same thing.
fn same(a: &Occurrence, b: &Occurrence) -> bool {
    a.ns == b.ns && (matches!(a.ns, Ns::Import(_)) || a.name == b.name)
}

/// The file an import names, when it was loaded.
pub(crate) fn imported(c: &Compilation, path: &Path) -> Option<FileId> {
    c.sources
        .files()
        .find(|(_, f)| f.path == path)
        .map(|(id, _)| id)
}

/// Where the thing named at `at` is declared: a block's name, a profile's first use, an
/// imported file's start.
pub(crate) fn definition(v: &View<'_>, occs: &[Occurrence], o: &Occurrence) -> Vec<Location> {
    if let Ns::Import(path) = &o.ns {
        return imported(v.c, path)
            .and_then(|id| {
                v.location(Span {
                    file: id,
                    start: 0,
                    end: 0,
                })
            })
            .into_iter()
            .collect();
    }
    let defs: Vec<&Occurrence> = occs.iter().filter(|d| d.def && same(d, o)).collect();
    let chosen: Vec<&Occurrence> = if defs.is_empty() && o.ns == Ns::Profile {
        occs.iter().filter(|d| same(d, o)).take(1).collect()
    } else {
        defs
    };
    chosen
        .into_iter()
        .filter_map(|d| v.location(d.span))
        .collect()
}

/// Every occurrence of the thing named at `o` (its declaration only when asked for).
pub(crate) fn references<'a>(
    occs: &'a [Occurrence],
    o: &Occurrence,
    declaration: bool,
) -> Vec<&'a Occurrence> {
    occs.iter()
        .filter(|r| same(r, o) && (declaration || !r.def))
        .collect()
}

/// Whether `name` can be written as a bare name (a word of the grammar, not `*`).
fn is_word(name: &str) -> bool {
    !name.is_empty()
        && name != "*"
        && name != "when"
        && name
            .bytes()
            .all(|b| (b'!'..=b'~').contains(&b) && !b"{};\"#".contains(&b))
}

/// The edit renaming what `o` names to `new`, or why it cannot be renamed. `file_ops`: whether
/// the client can rename files (an import's rename renames the file it names, in its
/// directory).
#[expect(
    clippy::mutable_key_type,
    reason = "lsp-types' WorkspaceEdit maps by Uri, whose lazily cached parts never change its text"
)]
pub(crate) fn rename(
    v: &View<'_>,
    occs: &[Occurrence],
    o: &Occurrence,
    new: &str,
    file_ops: bool,
) -> Result<WorkspaceEdit, String> {
    if let Ns::Import(path) = &o.ns {
        return rename_import(v, occs, o, path, new, file_ops);
    }
    if !is_word(new) {
        return Err(format!(
            "`{new}` is not a name: a name is one word of printable ASCII without `{{ }} ; \" #`"
        ));
    }
    if o.name == DEFAULT_PROFILE && matches!(o.ns, Ns::Profile | Ns::Headers) {
        return Err(format!(
            "`default` is built in: the {} cannot be renamed",
            o.ns.kind()
        ));
    }
    if occs.iter().any(|x| x.ns == o.ns && x.name == new) || new == DEFAULT_PROFILE {
        return Err(format!("a {} named `{new}` exists already", o.ns.kind()));
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for r in references(occs, o, true) {
        if let Some(loc) = v.location(r.span) {
            changes
                .entry(loc.uri)
                .or_default()
                .push(TextEdit::new(loc.range, new.to_string()));
        }
    }
    Ok(WorkspaceEdit::new(changes))
}

fn rename_import(
    v: &View<'_>,
    occs: &[Occurrence],
    o: &Occurrence,
    path: &Path,
    new: &str,
    file_ops: bool,
) -> Result<WorkspaceEdit, String> {
    if !file_ops {
        return Err("renaming an import renames its file, which this client cannot do".into());
    }
    if new.is_empty() || new == "." || new == ".." || new.contains(['/', '"', '\n', '\r']) {
        return Err(format!(
            "`{new}` is not a file name: renaming an import renames the file in its directory"
        ));
    }
    let target = path.with_file_name(new);
    if target.exists() {
        return Err(format!("{} exists already", target.display()));
    }
    let (Some(old_uri), Some(new_uri)) = (
        super::documents::uri_of(path),
        super::documents::uri_of(&target),
    ) else {
        return Err("the file's path cannot be written as a URI".into());
    };
    let mut ops = Vec::new();
    for r in references(occs, o, true) {
        let Some(loc) = v.location(r.span) else {
            continue;
        };
        let text = match r.name.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{new}"),
            None => new.to_string(),
        };
        ops.push(DocumentChangeOperation::Edit(TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier {
                uri: loc.uri,
                version: None,
            },
            edits: vec![OneOf::Left(TextEdit::new(loc.range, text))],
        }));
    }
    ops.push(DocumentChangeOperation::Op(ResourceOp::Rename(
        RenameFile {
            old_uri,
            new_uri,
            options: None,
            annotation_id: None,
        },
    )));
    Ok(WorkspaceEdit {
        document_changes: Some(DocumentChanges::Operations(ops)),
        ..WorkspaceEdit::default()
    })
}

/// A head's values as written (`route "/api/*"`).
pub(crate) fn head_text(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| {
            if v.quoted {
                format!("\"{}\"", v.text)
            } else {
                v.text.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The symbol kind of a block kind.
fn symbol_kind(kind: &str) -> SymbolKind {
    match kind {
        "origins" => SymbolKind::ARRAY,
        "cors" | "csp" | "headers" | "csrf" | "websocket" => SymbolKind::OBJECT,
        "route" => SymbolKind::FUNCTION,
        "host" | "hosts" => SymbolKind::NAMESPACE,
        "test" => SymbolKind::EVENT,
        _ => SymbolKind::MODULE,
    }
}

#[expect(
    deprecated,
    reason = "DocumentSymbol::deprecated is a required field of the type"
)]
fn block_symbol(v: &View<'_>, b: &Block) -> DocumentSymbol {
    let kind = b.head.first().map_or("", |k| k.text.as_str());
    let children: Vec<DocumentSymbol> = b.blocks.iter().map(|i| block_symbol(v, i)).collect();
    DocumentSymbol {
        name: head_text(&b.head),
        detail: None,
        kind: symbol_kind(kind),
        tags: None,
        deprecated: None,
        range: v.range(b.span),
        selection_range: v.range(b.head_span),
        children: (!children.is_empty()).then_some(children),
    }
}

/// The outline of one file: its imports and blocks (a host block's routes inside it).
#[expect(
    deprecated,
    reason = "DocumentSymbol::deprecated is a required field of the type"
)]
pub(crate) fn symbols(v: &View<'_>, file: FileId) -> Vec<DocumentSymbol> {
    let Some(f) = v.c.files.iter().find(|f| f.id == file) else {
        return Vec::new();
    };
    f.items
        .iter()
        .map(|item| match item {
            Item::Import { path, span } => DocumentSymbol {
                name: format!("import \"{}\"", path.text),
                detail: None,
                kind: SymbolKind::FILE,
                tags: None,
                deprecated: None,
                range: v.range(*span),
                selection_range: v.range(path.span),
                children: None,
            },
            Item::Block(b) | Item::Declaration(b) => block_symbol(v, b),
        })
        .collect()
}

/// The innermost block of `file` holding byte `offset`, and its enclosing block.
pub(crate) fn block_at(
    c: &Compilation,
    file: FileId,
    offset: usize,
) -> Option<(&Block, Option<&Block>)> {
    let inside = |b: &Block| b.span.start as usize <= offset && offset <= b.span.end as usize;
    let f = c.files.iter().find(|f| f.id == file)?;
    let outer = f.items.iter().find_map(|i| match i {
        Item::Block(b) | Item::Declaration(b) if inside(b) => Some(b),
        _ => None,
    })?;
    match outer.blocks.iter().find(|b| inside(b)) {
        Some(inner) => Some((inner, Some(outer))),
        None => Some((outer, None)),
    }
}
