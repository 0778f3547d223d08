//! The server: one thread at a time (a session's: [`serve_with`]), one message at a time, in
//! the order the client sent them (the protocol requires changes to be applied in order;
//! lsp-server's loop gives that without locks). Each open document is checked as the entry
//! file of a policy, as `guestlist check FILE` would (its imports read through the open
//! documents first); its diagnostics are published for every file of that policy. Requests are answered from the last check.

use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionProviderCapability,
    CompletionOptions, HoverContents, HoverProviderCapability, InitializeResult, MarkupContent,
    MarkupKind, OneOf, PositionEncodingKind, PublishDiagnosticsParams, RenameOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit,
    Uri, WorkspaceEdit,
};
use serde_json::Value;

use super::diagnostics::{by_file, convert};
use super::documents::{uri_of, Documents, Overlay};
use super::navigate::{self, Occurrence, View};
use super::position::{Encoding, Lines};
use crate::ir::DEFAULT_PROFILE;
use crate::Compilation;

/// The last check of one open document, as the entry file of a policy.
struct Root {
    /// The check (`None` when the entry file could not be loaded).
    compilation: Option<Compilation>,
    /// Each file's URI, by file id.
    uris: Vec<Uri>,
    /// Each file's diagnostics, by URI.
    diags: BTreeMap<String, Vec<lsp_types::Diagnostic>>,
    /// Every name's declarations and uses.
    occurrences: Vec<Occurrence>,
}

/// A request's failure: its JSON-RPC code and message.
type Failure = (i32, String);

/// A request that cannot be answered as asked (`RequestFailed`).
fn failed(msg: impl Into<String>) -> Failure {
    (-32803, msg.into())
}

fn invalid_params(e: impl std::fmt::Display) -> Failure {
    (ErrorCode::InvalidParams as i32, e.to_string())
}

/// The server's state.
struct Server<'c> {
    conn: &'c Connection,
    enc: Encoding,
    /// The profile hover shows a route's grants in (`initializationOptions.profile`).
    profile: String,
    /// Whether the client applies file renames in workspace edits.
    file_ops: bool,
    docs: Documents,
    roots: BTreeMap<String, Root>,
    /// What was last published, by URI (never an empty list).
    published: HashMap<String, Vec<lsp_types::Diagnostic>>,
    shutdown: bool,
}

/// The policy checked once before `initialize` is answered ([`Server::warm_up`]).
const WARM_UP: &str = include_str!("warm-up.policy");

/// Its URI: not a file, so it reads nothing from disk, and never published.
const WARM_UP_URI: &str = "untitled:guestlist-warm-up.policy";

/// Hands the memory freed by a session back to the system: glibc keeps freed pages otherwise,
/// and an editor's server lives long. Called on the thread that waits for the sessions, after
/// the session's thread has ended (spec/lsp.md, "Memory").
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_memory() {
    #[expect(unsafe_code, reason = "malloc_trim takes and returns integers only")]
    // SAFETY: `malloc_trim` only releases free memory of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_memory() {}

/// How a session (a thread serving messages until no document is open) ended.
enum Ended {
    /// The last open document closed: the next message starts a new session.
    Idle,
    /// The client exited, or the connection closed: the process's exit code.
    Exit(i32),
}

/// The capabilities the server announces.
fn capabilities(enc: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::new(enc.name())),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(
            lsp_types::CodeActionOptions {
                code_action_kinds: Some(vec![
                    CodeActionKind::QUICKFIX,
                    CodeActionKind::SOURCE_FIX_ALL,
                ]),
                ..Default::default()
            },
        )),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![" ".into()]),
            ..Default::default()
        }),
        ..ServerCapabilities::default()
    }
}

/// Serves one client over `conn` until `exit`: the exit code is 0 after `shutdown`, 1 without
/// it (or when the connection closes first), as the protocol says.
pub fn serve(conn: &Connection) -> i32 {
    serve_with(conn, &mut || true)
}

/// [`serve`], calling `between` after the warm-up and after each session (a run of open
/// documents, until the last one closes), when the server holds no message, before freed
/// memory is handed back to the system: the stdio transport renews its threads there
/// ([`super::Threads::renew`]). When `between` returns `false` the server ends, exit code 1.
pub fn serve_with(conn: &Connection, between: &mut dyn FnMut() -> bool) -> i32 {
    let Some((id, params)) = wait_for_initialize(conn) else {
        return 1;
    };
    let offered = |name: &str| {
        params
            .pointer("/capabilities/general/positionEncodings")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|e| e.as_str() == Some(name)))
    };
    let enc = if offered("utf-8") {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    };
    let profile = params
        .pointer("/initializationOptions/profile")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_PROFILE)
        .to_string();
    let file_ops = params
        .pointer("/capabilities/workspace/workspaceEdit/resourceOperations")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|e| e.as_str() == Some("rename")));
    let result = InitializeResult {
        capabilities: capabilities(enc),
        server_info: Some(ServerInfo {
            name: "guestlist".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
    };
    let mut server = Server {
        conn,
        enc,
        profile,
        file_ops,
        docs: Documents::default(),
        roots: BTreeMap::new(),
        published: HashMap::new(),
        shutdown: false,
    };
    // Each session runs on a thread of its own that ends when the last document closes: glibc
    // keeps up to seven freed blocks of each small size in a per-thread cache, which
    // `malloc_trim` cannot release, and a long-lived thread's cache holds blocks from all over
    // the heap, each keeping its page resident. A thread's cache goes back to the heap when
    // the thread ends, so after a session every page its documents used can be released.
    // The warm-up is a session of its own, so what ending a session runs has run once too
    // before `initialize` is answered (spec/lsp.md, "Memory").
    if in_session(|| server.warm_up()).is_none() {
        return 1;
    }
    if !between() {
        return 1;
    }
    release_memory();
    if conn
        .sender
        .send(Response::new_ok(id, result).into())
        .is_err()
    {
        return 1;
    }
    loop {
        let ended = in_session(|| server.run());
        if matches!(ended, Some(Ended::Idle)) && !between() {
            return 1;
        }
        release_memory();
        match ended {
            Some(Ended::Idle) => {}
            Some(Ended::Exit(code)) => return code,
            None => return 1,
        }
    }
}

/// The stack of a session's thread: the 8 MiB a main thread gets, which `guestlist check` runs
/// in.
const SESSION_STACK: usize = 8 << 20;

/// Runs `work` on a thread of its own and waits for it; `None` when the thread cannot start
/// or panicked.
fn in_session<T: Send>(work: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|s| {
        let thread = std::thread::Builder::new()
            .name("guestlist-lsp".into())
            .stack_size(SESSION_STACK)
            .spawn_scoped(s, work);
        match thread {
            Ok(t) => t.join().ok(),
            Err(e) => {
                eprintln!("guestlist lsp: cannot start a thread: {e}");
                None
            }
        }
    })
}

/// Answers requests before `initialize` with an error; returns the `initialize` request.
fn wait_for_initialize(conn: &Connection) -> Option<(RequestId, Value)> {
    for msg in &conn.receiver {
        match msg {
            Message::Request(r) if r.method == "initialize" => return Some((r.id, r.params)),
            Message::Request(r) => {
                let _ = conn.sender.send(
                    Response::new_err(
                        r.id,
                        ErrorCode::ServerNotInitialized as i32,
                        "the server is not initialized".into(),
                    )
                    .into(),
                );
            }
            Message::Notification(n) if n.method == "exit" => return None,
            Message::Notification(_) | Message::Response(_) => {}
        }
    }
    None
}

impl Server<'_> {
    /// Serves messages until the client exits or the last open document closes.
    fn run(&mut self) -> Ended {
        while let Ok(msg) = self.conn.receiver.recv() {
            match msg {
                Message::Request(r) => self.request(r),
                Message::Notification(n) if n.method == "exit" => {
                    return Ended::Exit(if self.shutdown { 0 } else { 1 });
                }
                Message::Notification(n) => {
                    let method = n.method.clone();
                    let closes = method == "textDocument/didClose";
                    let done = catch_unwind(AssertUnwindSafe(|| self.notification(n)));
                    match done {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => eprintln!("guestlist lsp: {method}: {e}"),
                        Err(_) => eprintln!("guestlist lsp: {method}: internal error"),
                    }
                    if closes && self.docs.is_empty() {
                        return Ended::Idle;
                    }
                }
                Message::Response(_) => {}
            }
        }
        Ended::Exit(1)
    }

    fn send(&self, msg: Message) {
        if self.conn.sender.send(msg).is_err() {
            eprintln!("guestlist lsp: the client is gone");
        }
    }

    /// Checks [`WARM_UP`] and answers the requests that lower it, then forgets it: what the
    /// checker builds once (the public suffix list, the lints' tables) and the code every
    /// document runs are in memory before the first document, which then leaves nothing
    /// behind when it closes (spec/lsp.md, "Memory").
    fn warm_up(&mut self) {
        let Ok(uri) = WARM_UP_URI.parse::<Uri>() else {
            return;
        };
        self.docs.open(uri, WARM_UP.to_string());
        self.check(WARM_UP_URI);
        let at = |line: u32, character: u32| {
            serde_json::json!({
                "textDocument": {"uri": WARM_UP_URI},
                "position": {"line": line, "character": character},
            })
        };
        let doc = serde_json::json!({"textDocument": {"uri": WARM_UP_URI}, "options": {"tabSize": 4, "insertSpaces": true}});
        // A route's grants, a set's entries, completion, symbols and formatting; the answers
        // are dropped.
        let route = WARM_UP
            .lines()
            .position(|l| l.starts_with("route "))
            .and_then(|l| u32::try_from(l).ok());
        for (method, params) in [
            ("textDocument/hover", at(route.unwrap_or(0), 8)),
            ("textDocument/hover", at(3, 9)),
            ("textDocument/completion", at(route.unwrap_or(0), 0)),
            ("textDocument/documentSymbol", doc.clone()),
            ("textDocument/formatting", doc),
        ] {
            let _ = self.answer(method, params);
        }
        self.docs.close(WARM_UP_URI);
        self.roots.remove(WARM_UP_URI);
    }

    fn request(&mut self, r: Request) {
        let id = r.id.clone();
        let response = if self.shutdown {
            Response::new_err(
                id,
                ErrorCode::InvalidRequest as i32,
                "the server is shutting down".into(),
            )
        } else if r.method == "shutdown" {
            self.shutdown = true;
            Response::new_ok(id, ())
        } else {
            let method = r.method.clone();
            match catch_unwind(AssertUnwindSafe(|| self.answer(&r.method, r.params))) {
                Ok(Ok(v)) => Response::new_ok(id, v),
                Ok(Err((code, message))) => Response::new_err(id, code, message),
                Err(_) => Response::new_err(
                    id,
                    ErrorCode::InternalError as i32,
                    format!("internal error answering {method}"),
                ),
            }
        };
        self.send(response.into());
    }

    fn notification(&mut self, n: Notification) -> Result<(), String> {
        let p = |key: &str| n.params.pointer(key);
        let uri = || -> Result<Uri, String> {
            let text = p("/textDocument/uri")
                .and_then(Value::as_str)
                .ok_or("no textDocument.uri")?;
            text.parse().map_err(|_| format!("`{text}` is not a URI"))
        };
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let uri = uri()?;
                let text = p("/textDocument/text")
                    .and_then(Value::as_str)
                    .ok_or("no textDocument.text")?;
                let key = uri.as_str().to_string();
                self.docs.open(uri, text.to_string());
                self.refresh(&key);
            }
            "textDocument/didChange" => {
                let uri = uri()?;
                // Full sync: the last change holds the whole text.
                let text = p("/contentChanges")
                    .and_then(Value::as_array)
                    .and_then(|a| a.last())
                    .and_then(|c| c.get("text"))
                    .and_then(Value::as_str)
                    .ok_or("no contentChanges[].text")?;
                if !self.docs.change(uri.as_str(), text.to_string()) {
                    return Err(format!("{} is not open", uri.as_str()));
                }
                self.refresh(uri.as_str());
            }
            "textDocument/didClose" => {
                let uri = uri()?;
                let closed = self.docs.close(uri.as_str());
                self.roots.remove(uri.as_str());
                if let Some(d) = closed {
                    // The policies importing it read it from disk again.
                    let dependents = self.dependents(d.path.as_deref());
                    for r in dependents {
                        self.check(&r);
                    }
                }
                self.publish(None);
                if self.docs.is_empty() {
                    self.roots = BTreeMap::new();
                    self.published = HashMap::new();
                }
            }
            "textDocument/didSave"
            | "initialized"
            | "workspace/didChangeConfiguration"
            | "$/cancelRequest"
            | "$/setTrace" => {}
            other => eprintln!("guestlist lsp: ignored notification {other}"),
        }
        Ok(())
    }

    /// The open documents whose policy reads the file at `path`, besides its own.
    fn dependents(&self, path: Option<&std::path::Path>) -> Vec<String> {
        let Some(path) = path else {
            return Vec::new();
        };
        self.roots
            .iter()
            .filter(|(_, r)| {
                r.compilation
                    .as_ref()
                    .is_some_and(|c| c.sources.files().skip(1).any(|(_, f)| f.path == path))
            })
            .map(|(u, _)| u.clone())
            .collect()
    }

    /// Checks `uri` again, and the open documents importing it; publishes.
    fn refresh(&mut self, uri: &str) {
        self.check(uri);
        let path = self.docs.get(uri).and_then(|d| d.path.clone());
        for r in self.dependents(path.as_deref()) {
            if r != uri {
                self.check(&r);
            }
        }
        self.publish(Some(uri));
    }

    /// Checks one open document as an entry file.
    fn check(&mut self, uri: &str) {
        let Some(doc) = self.docs.get(uri) else {
            return;
        };
        let loaded = match &doc.path {
            Some(path) => Compilation::load_through(
                &[(path.clone(), path.to_string_lossy().into_owned())],
                &Overlay(&self.docs),
            ),
            None => Ok(Compilation::from_str(uri, &doc.text)),
        };
        let root = match loaded {
            Ok(c) => {
                let uris: Vec<Uri> = c
                    .sources
                    .files()
                    .map(|(id, f)| {
                        if id.0 == 0 {
                            return doc.uri.clone();
                        }
                        self.docs
                            .at_path(&f.path)
                            .map(|d| d.uri.clone())
                            .or_else(|| uri_of(&f.path))
                            .unwrap_or_else(|| doc.uri.clone())
                    })
                    .collect();
                let diags = by_file(&c.sources, &uris, &c.diagnostics, self.enc);
                let occurrences = navigate::occurrences(&c);
                Root {
                    compilation: Some(c),
                    uris,
                    diags,
                    occurrences,
                }
            }
            Err(e) => {
                let d = lsp_types::Diagnostic {
                    code: Some(lsp_types::NumberOrString::String("GL0002".into())),
                    source: Some("guestlist".into()),
                    message: e.to_string(),
                    severity: Some(lsp_types::DiagnosticSeverity::ERROR),
                    ..Default::default()
                };
                Root {
                    compilation: None,
                    uris: vec![doc.uri.clone()],
                    diags: BTreeMap::from([(uri.to_string(), vec![d])]),
                    occurrences: Vec::new(),
                }
            }
        };
        self.roots.insert(uri.to_string(), root);
    }

    /// Publishes what changed: an open document's own check's diagnostics for it; for a file
    /// only imported, the first (by URI) open policy's. `force`: a URI published even when
    /// unchanged (the document just checked).
    fn publish(&mut self, force: Option<&str>) {
        let mut want: BTreeMap<String, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        for (u, root) in &self.roots {
            want.insert(u.clone(), root.diags.get(u).cloned().unwrap_or_default());
        }
        for root in self.roots.values() {
            for (u, ds) in &root.diags {
                if !self.roots.contains_key(u) {
                    want.entry(u.clone()).or_insert_with(|| ds.clone());
                }
            }
        }
        for u in self.published.keys() {
            want.entry(u.clone()).or_default();
        }
        for (u, ds) in want {
            let before = self.published.get(&u).map_or(&[][..], Vec::as_slice);
            if before == ds.as_slice() && force != Some(u.as_str()) {
                continue;
            }
            let Ok(uri) = u.parse::<Uri>() else {
                continue;
            };
            let params = PublishDiagnosticsParams::new(uri, ds.clone(), None);
            self.send(Notification::new("textDocument/publishDiagnostics".into(), params).into());
            if ds.is_empty() {
                self.published.remove(&u);
            } else {
                self.published.insert(u, ds);
            }
        }
    }

    /// The request's document, its last check and the byte offset of its position.
    fn at(&self, params: &Value) -> Result<(String, Option<usize>), Failure> {
        let uri = params
            .pointer("/textDocument/uri")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid_params("no textDocument.uri"))?;
        let doc = self
            .docs
            .get(uri)
            .ok_or_else(|| failed(format!("{uri} is not open")))?;
        let offset = match params.get("position") {
            Some(p) => {
                let pos: lsp_types::Position =
                    serde_json::from_value(p.clone()).map_err(invalid_params)?;
                Lines::new(&doc.text).offset(pos, self.enc)
            }
            None => None,
        };
        Ok((uri.to_string(), offset))
    }

    /// The view of `uri`'s last check, and the file id of `uri` in it.
    fn view(&self, uri: &str) -> Option<(View<'_>, &Root, crate::FileId)> {
        let root = self.roots.get(uri)?;
        let c = root.compilation.as_ref()?;
        let v = View {
            c,
            uris: &root.uris,
            enc: self.enc,
        };
        let file = v.file(uri)?;
        Some((v, root, file))
    }

    fn answer(&mut self, method: &str, params: Value) -> Result<Value, Failure> {
        let json = |v: Result<Value, serde_json::Error>| v.map_err(|e| failed(e.to_string()));
        match method {
            "textDocument/hover" => {
                let (uri, offset) = self.at(&params)?;
                let text = offset.and_then(|off| {
                    let (v, root, file) = self.view(&uri)?;
                    super::hover::hover(&v, &root.occurrences, file, off, &self.profile)
                });
                json(serde_json::to_value(text.map(|value| lsp_types::Hover {
                    contents: HoverContents::Markup(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value,
                    }),
                    range: None,
                })))
            }
            "textDocument/definition"
            | "textDocument/references"
            | "textDocument/prepareRename"
            | "textDocument/rename" => {
                let (uri, offset) = self.at(&params)?;
                let Some((v, root, file)) = self.view(&uri) else {
                    return Ok(Value::Null);
                };
                let Some(o) = offset.and_then(|off| navigate::at(&root.occurrences, file, off))
                else {
                    return if method == "textDocument/rename" {
                        Err(failed("no set, policy, profile or import here to rename"))
                    } else {
                        Ok(Value::Null)
                    };
                };
                match method {
                    "textDocument/definition" => json(serde_json::to_value(navigate::definition(
                        &v,
                        &root.occurrences,
                        o,
                    ))),
                    "textDocument/references" => {
                        let decl = params
                            .pointer("/context/includeDeclaration")
                            .and_then(Value::as_bool)
                            .unwrap_or(true);
                        let locs: Vec<lsp_types::Location> =
                            navigate::references(&root.occurrences, o, decl)
                                .into_iter()
                                .filter_map(|r| v.location(r.span))
                                .collect();
                        json(serde_json::to_value(locs))
                    }
                    "textDocument/prepareRename" => json(serde_json::to_value(v.range(o.span))),
                    _ => {
                        let new = params
                            .get("newName")
                            .and_then(Value::as_str)
                            .ok_or_else(|| invalid_params("no newName"))?;
                        let edit = navigate::rename(&v, &root.occurrences, o, new, self.file_ops)
                            .map_err(failed)?;
                        json(serde_json::to_value(edit))
                    }
                }
            }
            "textDocument/documentSymbol" => {
                let (uri, _) = self.at(&params)?;
                let symbols = self
                    .view(&uri)
                    .map(|(v, _, file)| navigate::symbols(&v, file))
                    .unwrap_or_default();
                json(serde_json::to_value(symbols))
            }
            "textDocument/formatting" => {
                let (uri, _) = self.at(&params)?;
                self.format(&uri)
            }
            "textDocument/codeAction" => {
                let (uri, _) = self.at(&params)?;
                let range: lsp_types::Range = params
                    .get("range")
                    .cloned()
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(invalid_params)?
                    .unwrap_or_default();
                let only: Option<Vec<CodeActionKind>> = params
                    .pointer("/context/only")
                    .cloned()
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(invalid_params)?;
                json(serde_json::to_value(self.code_actions(
                    &uri,
                    range,
                    only.as_deref(),
                )))
            }
            "textDocument/completion" => {
                let (uri, offset) = self.at(&params)?;
                let Some(doc) = self.docs.get(&uri) else {
                    return Ok(Value::Null);
                };
                let before = offset.and_then(|o| doc.text.get(..o)).unwrap_or("");
                let cx = super::complete::context(before);
                let c = self.roots.get(&uri).and_then(|r| r.compilation.as_ref());
                json(serde_json::to_value(super::complete::complete(&cx, c)))
            }
            other => Err((
                ErrorCode::MethodNotFound as i32,
                format!("method not found: {other}"),
            )),
        }
    }

    /// `guestlist fmt`'s text, as one edit (none when the text is formatted already).
    fn format(&self, uri: &str) -> Result<Value, Failure> {
        let doc = self
            .docs
            .get(uri)
            .ok_or_else(|| failed(format!("{uri} is not open")))?;
        if let Err((what, detail)) = crate::load::check_str(&doc.text) {
            return Err(failed(format!("not formatted: {what} ({detail})")));
        }
        let loaded = crate::load::load_str(uri, &doc.text);
        if loaded.diagnostics.iter().any(|d| d.code == "GL0001") {
            return Err(failed("not formatted: the document has syntax errors"));
        }
        let formatted = crate::fmt::format(&doc.text);
        let edits = if formatted == doc.text {
            Vec::new()
        } else {
            vec![TextEdit::new(
                Lines::new(&doc.text).whole(self.enc),
                formatted,
            )]
        };
        serde_json::to_value(edits).map_err(|e| failed(e.to_string()))
    }

    /// `check --fix`'s fixes in `uri`: one quick fix per diagnostic with a fix touching
    /// `range`, and every fix of the file at once (`source.fixAll`), exactly as `check --fix`
    /// applies them.
    fn code_actions(
        &self,
        uri: &str,
        range: lsp_types::Range,
        only: Option<&[CodeActionKind]>,
    ) -> Vec<CodeActionOrCommand> {
        let Some((v, _, file)) = self.view(uri) else {
            return Vec::new();
        };
        let Some(src) = v.c.sources.get(file) else {
            return Vec::new();
        };
        let wanted = |k: &CodeActionKind| {
            only.is_none_or(|o| o.iter().any(|w| k.as_str().starts_with(w.as_str())))
        };
        let certain = crate::diag::fixes_for(&v.c.diagnostics, file, &src.text);
        let edit_of = |fixes: &[&crate::diag::Fix]| {
            let edits = fixes
                .iter()
                .map(|f| TextEdit::new(v.range(f.span), f.replacement.clone()))
                .collect();
            let Ok(u) = uri.parse::<Uri>() else {
                return WorkspaceEdit::default();
            };
            WorkspaceEdit::new(HashMap::from([(u, edits)]))
        };
        let overlaps = |r: &lsp_types::Range| r.start <= range.end && range.start <= r.end;
        let mut out = Vec::new();
        if wanted(&CodeActionKind::QUICKFIX) {
            for d in v.c.diagnostics.iter().filter(|d| d.span.file == file) {
                let Some(fix) = d.fix.as_ref() else { continue };
                if !certain.contains(&fix) {
                    continue;
                }
                let ld = convert(&v.c.sources, v.uris, d, self.enc);
                if !overlaps(&ld.range) && !overlaps(&v.range(fix.span)) {
                    continue;
                }
                let title = match &d.help {
                    Some(h) => format!("{}: {h}", d.code),
                    None => format!("{}: write `{}`", d.code, fix.replacement),
                };
                out.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title,
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![ld]),
                    edit: Some(edit_of(&[fix])),
                    is_preferred: Some(true),
                    ..CodeAction::default()
                }));
            }
        }
        if !certain.is_empty() && wanted(&CodeActionKind::SOURCE_FIX_ALL) {
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!(
                    "fix {} problem{} (guestlist check --fix)",
                    certain.len(),
                    if certain.len() == 1 { "" } else { "s" }
                ),
                kind: Some(CodeActionKind::SOURCE_FIX_ALL),
                edit: Some(edit_of(&certain)),
                ..CodeAction::default()
            }));
        }
        out
    }
}
