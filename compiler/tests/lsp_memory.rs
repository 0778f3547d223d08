//! `guestlist lsp`'s memory: alone in its test binary, so no other test's allocations move
//! the process's resident set while it is measured.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail by panicking; JSON is read by index"
)]

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// `(VmRSS, RssAnon)` in KiB: the resident set, and its part that is not pages of files (the
/// binary's code, faulted in as paths run for the first time).
fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    };
    (field("VmRSS:"), field("RssAnon:"))
}

fn notify(c: &Connection, method: &str, params: Value) {
    c.sender
        .send(Notification::new(method.into(), params).into())
        .unwrap();
}

/// Waits for the publication of diagnostics for `uri`.
fn published(c: &Connection, uri: &str) {
    loop {
        match c.receiver.recv_timeout(WAIT).unwrap() {
            Message::Notification(n) if n.params["uri"] == uri => return,
            _ => {}
        }
    }
}

/// Sends a request and waits for its answer: the server handles messages in order, so every
/// notification sent before it has been handled.
fn answered_after(c: &Connection, id: i32) {
    let params = json!({"textDocument": {"uri": "file:///closed.policy"}});
    c.sender
        .send(
            Request::new(
                RequestId::from(id),
                "textDocument/documentSymbol".into(),
                params,
            )
            .into(),
        )
        .unwrap();
    loop {
        if let Message::Response(r) = c.receiver.recv_timeout(WAIT).unwrap() {
            if r.id == RequestId::from(id) {
                return;
            }
        }
    }
}

/// The resident set after every document is closed is back within 10 % of its value after
/// `initialize` and a first document (a 1,000-line policy opened, changed and closed ten
/// more times).
#[test]
fn memory_returns_after_documents_close() {
    let (server_side, c) = Connection::memory();
    let server = std::thread::spawn(move || guestlist_compiler::lsp::serve(&server_side));
    c.sender
        .send(
            Request::new(
                RequestId::from(1),
                "initialize".into(),
                json!({"capabilities": {}}),
            )
            .into(),
        )
        .unwrap();
    c.receiver.recv_timeout(WAIT).unwrap();
    let dir = std::env::temp_dir();
    let mut text = String::new();
    for i in 0..250 {
        text.push_str(&format!("cors c{i} {{\n    allow-origins \"https://a{i}.example.com\"\n}}\nroute \"/r{i}/*\" {{ cors c{i} }}\n"));
    }
    let initialized = rss_kib();
    let mut before = initialized;
    for round in 0..11 {
        let u = format!("file://{}/guestlist-rss-{round}.policy", dir.display());
        notify(
            &c,
            "textDocument/didOpen",
            json!({"textDocument": {"uri": u, "languageId": "policy", "version": 1, "text": text}}),
        );
        published(&c, &u);
        notify(
            &c,
            "textDocument/didChange",
            json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"text": text.replace("a1.", "b1.")}]}),
        );
        published(&c, &u);
        notify(
            &c,
            "textDocument/didClose",
            json!({"textDocument": {"uri": u}}),
        );
        published(&c, &u);
        // The first document loads what the checker builds once (the public suffix list,
        // the CSP lints' tables): the figures compare with the resident set after it.
        if round == 0 {
            answered_after(&c, 8);
            before = rss_kib();
        }
    }
    // Notifications get no answer: a request answered after them shows that the server has
    // handled the last close (and released its memory) before the resident set is read.
    answered_after(&c, 9);
    let after = rss_kib();
    eprintln!("(VmRSS, RssAnon) after initialize: {initialized:?} KiB; after the first document closed: {before:?} KiB; after ten more: {after:?} KiB");
    // What the server holds (anonymous memory) grows by less than 10 % of the resident set.
    assert!(
        after.1 <= before.1 + before.0 / 10,
        "{before:?} KiB -> {after:?} KiB"
    );
    c.sender
        .send(Request::new(RequestId::from(2), "shutdown".into(), Value::Null).into())
        .unwrap();
    notify(&c, "exit", Value::Null);
    assert_eq!(server.join().unwrap(), 0);
}
