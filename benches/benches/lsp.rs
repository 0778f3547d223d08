//! `guestlist lsp`: the time from a `didChange` to its `publishDiagnostics`, measured in
//! process over lsp-server's in-memory connection, for a generated 1,000-line policy and for
//! a 100,000-origin policy; beside the latter, what `guestlist check` does in process for the
//! same file (load from disk, check, render the diagnostics).
//!
//! `cargo bench -p guestlist-benches --bench lsp -- --noplot`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark fails by panicking; JSON is read by index"
)]

use criterion::{criterion_group, criterion_main, Criterion};
use guestlist_benches::policy_text;
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};

/// A 1,000-line policy: 200 cors blocks of three lines, each with a route of two.
fn thousand_lines() -> String {
    let mut s = String::new();
    for i in 0..200 {
        s.push_str(&format!(
            "cors c{i} {{\n    allow-origins \"https://a{i}.example.com\"\n    max-age 2h\n}}\nroute \"/r{i}/*\" {{ cors c{i} }}\n"
        ));
    }
    assert_eq!(s.lines().count(), 1000);
    s
}

/// A server on a thread, initialized, with `text` open at `uri`.
struct Server {
    client: Connection,
    thread: Option<std::thread::JoinHandle<i32>>,
    uri: String,
    version: i64,
}

impl Server {
    fn start(uri: &str, text: &str) -> Server {
        let (server_side, client) = Connection::memory();
        let thread = std::thread::spawn(move || guestlist_compiler::lsp::serve(&server_side));
        client
            .sender
            .send(
                Request::new(
                    RequestId::from(1),
                    "initialize".into(),
                    json!({"capabilities": {}}),
                )
                .into(),
            )
            .unwrap();
        client.receiver.recv().unwrap();
        let s = Server {
            client,
            thread: Some(thread),
            uri: uri.to_string(),
            version: 1,
        };
        s.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "policy", "version": 1, "text": text}}),
        );
        s.published();
        s
    }

    fn notify(&self, method: &str, params: Value) {
        self.client
            .sender
            .send(Notification::new(method.into(), params).into())
            .unwrap();
    }

    /// Waits for the document's diagnostics; how many there are.
    fn published(&self) -> usize {
        loop {
            if let Message::Notification(n) = self.client.receiver.recv().unwrap() {
                if n.params["uri"] == self.uri.as_str() {
                    return n.params["diagnostics"].as_array().map_or(0, Vec::len);
                }
            }
        }
    }

    /// A change and its diagnostics.
    fn change(&mut self, text: &str) -> usize {
        self.version += 1;
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": self.uri, "version": self.version}, "contentChanges": [{"text": text}]}),
        );
        self.published()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .client
            .sender
            .send(Request::new(RequestId::from(2), "shutdown".into(), Value::Null).into());
        self.notify("exit", Value::Null);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("guestlist-lsp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let small = thousand_lines();
    let edited = small.replace("https://a7.example.com", "https://b7.example.com");
    let path = dir.join("thousand.policy");
    std::fs::write(&path, &small).unwrap();
    let mut server = Server::start(&format!("file://{}", path.display()), &small);
    let mut g = c.benchmark_group("lsp");
    let mut flip = false;
    g.bench_function("change/1000-lines", |b| {
        b.iter(|| {
            flip = !flip;
            server.change(if flip { &edited } else { &small })
        });
    });
    drop(server);

    let big = policy_text(100_000);
    let path = dir.join("origins.policy");
    std::fs::write(&path, &big).unwrap();
    let mut server = Server::start(&format!("file://{}", path.display()), &big);
    g.sample_size(10);
    g.bench_function("change/100000-origins", |b| b.iter(|| server.change(&big)));
    drop(server);
    g.bench_function("check/100000-origins", |b| {
        b.iter(|| {
            let c = guestlist_compiler::Compilation::load(&[&path]).unwrap();
            c.render().len()
        });
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
