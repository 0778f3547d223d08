//! The stdio transport: `Content-Length` frames of JSON-RPC in, the server's messages out. A
//! frame that is not a message (bad JSON, a missing header, a body over
//! [`MAX_MESSAGE_BYTES`]) gets a JSON-RPC error response and a line on stderr, and the next
//! frame is read; lsp-server's own stdio transport stops at the first such frame. Nothing but
//! frames is ever written to stdout.

use std::io::{BufRead, Read, Write};

use crossbeam_channel::{bounded, select, unbounded, Receiver, Sender};
use lsp_server::{Connection, Message};

/// The largest message read (a document of 16 MiB, JSON-escaped, fits many times over); a
/// larger frame is skipped unread, with an error response.
pub const MAX_MESSAGE_BYTES: usize = 128 << 20;

/// The longest header line read.
const MAX_HEADER_LINE: u64 = 8 << 10;

/// The transport's threads: the reader ends at the end of its input or after `exit`; the
/// writer when the server drops its [`Connection`].
#[derive(Debug)]
pub struct Threads {
    writer: std::thread::JoinHandle<()>,
}

impl Threads {
    /// Waits until every message the server sent is written.
    pub fn join(self) {
        let _ = self.writer.join();
    }
}

/// A connection over standard input and output.
pub fn stdio() -> (Connection, Threads) {
    over(std::io::BufReader::new(std::io::stdin()), std::io::stdout())
}

/// A connection reading frames from `input` and writing them to `output`.
pub fn over<R, W>(input: R, output: W) -> (Connection, Threads)
where
    R: BufRead + Send + 'static,
    W: Write + Send + 'static,
{
    let (in_send, in_recv) = bounded::<Message>(0);
    let (out_send, out_recv) = unbounded::<Message>();
    let (raw_send, raw_recv) = unbounded::<String>();
    std::thread::spawn(move || read_frames(input, &in_send, &raw_send));
    let writer = std::thread::spawn(move || write_frames(output, &out_recv, &raw_recv));
    (
        Connection {
            sender: out_send,
            receiver: in_recv,
        },
        Threads { writer },
    )
}

/// What one frame held.
enum Frame {
    /// A message body.
    Body(Vec<u8>),
    /// A frame that cannot be read, and why.
    Bad(String),
}

/// Reads one frame; `None` at the end of the input.
fn read_frame(input: &mut impl BufRead) -> std::io::Result<Option<Frame>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut any = false;
    loop {
        let mut line = Vec::new();
        let n = input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(if any {
                Some(Frame::Bad("the input ended inside a header".into()))
            } else {
                None
            });
        }
        any = true;
        if !line.ends_with(b"\n") {
            return Ok(Some(Frame::Bad("a header line is too long".into())));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| format!("bad Content-Length `{}`", value.trim())),
                );
            }
        }
    }
    let length = match length {
        None => return Ok(Some(Frame::Bad("a frame without Content-Length".into()))),
        Some(Err(why)) => return Ok(Some(Frame::Bad(why))),
        Some(Ok(n)) => n,
    };
    if length > MAX_MESSAGE_BYTES {
        std::io::copy(
            &mut input.by_ref().take(length as u64),
            &mut std::io::sink(),
        )?;
        return Ok(Some(Frame::Bad(format!(
            "a message of {length} bytes (at most {MAX_MESSAGE_BYTES} are read)"
        ))));
    }
    let mut body = Vec::new();
    input.by_ref().take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        return Ok(Some(Frame::Bad("the input ended inside a message".into())));
    }
    Ok(Some(Frame::Body(body)))
}

/// A JSON-RPC error response, as text (its `id` may be `null`, which lsp-server's types cannot
/// carry).
fn error_frame(id: serde_json::Value, code: i32, message: &str) -> String {
    serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": message },
    })
    .to_string()
}

/// The JSON-RPC codes for a frame that is not JSON, and JSON that is not a message.
const PARSE_ERROR: i32 = -32700;
const INVALID_REQUEST: i32 = -32600;

fn read_frames(mut input: impl BufRead, messages: &Sender<Message>, raw: &Sender<String>) {
    loop {
        let frame = match read_frame(&mut input) {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(e) => {
                eprintln!("guestlist lsp: cannot read the input: {e}");
                return;
            }
        };
        let reply = match frame {
            Frame::Bad(why) => {
                eprintln!("guestlist lsp: {why}");
                error_frame(serde_json::Value::Null, PARSE_ERROR, &why)
            }
            Frame::Body(body) => match serde_json::from_slice::<Message>(&body) {
                Ok(msg) => {
                    let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                    if messages.send(msg).is_err() || exit {
                        return;
                    }
                    continue;
                }
                Err(e) => match serde_json::from_slice::<serde_json::Value>(&body) {
                    Err(_) => {
                        let why = format!("a message that is not JSON: {e}");
                        eprintln!("guestlist lsp: {why}");
                        error_frame(serde_json::Value::Null, PARSE_ERROR, &why)
                    }
                    Ok(v) => {
                        let why = format!("not a JSON-RPC message: {e}");
                        eprintln!("guestlist lsp: {why}");
                        let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
                        error_frame(id, INVALID_REQUEST, &why)
                    }
                },
            },
        };
        if raw.send(reply).is_err() {
            return;
        }
    }
}

fn write_frames(mut output: impl Write, messages: &Receiver<Message>, raw: &Receiver<String>) {
    let mut raw_open = true;
    loop {
        let result = if raw_open {
            select! {
                recv(messages) -> m => match m {
                    Ok(m) => m.write(&mut output),
                    Err(_) => return,
                },
                recv(raw) -> r => match r {
                    Ok(text) => write!(output, "Content-Length: {}\r\n\r\n{text}", text.len())
                        .and_then(|()| output.flush()),
                    Err(_) => {
                        raw_open = false;
                        Ok(())
                    }
                },
            }
        } else {
            match messages.recv() {
                Ok(m) => m.write(&mut output),
                Err(_) => return,
            }
        };
        if let Err(e) = result {
            eprintln!("guestlist lsp: cannot write the output: {e}");
            return;
        }
    }
}
