//! The stdio transport: `Content-Length` frames of JSON-RPC in, the server's messages out. A
//! frame that is not a message (bad JSON, a missing header, a body over
//! [`MAX_MESSAGE_BYTES`]) gets a JSON-RPC error response and a line on stderr, and the next
//! frame is read; lsp-server's own stdio transport stops at the first such frame. Nothing but
//! frames is ever written to stdout.

use std::io::{BufRead, Read, Write};
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, never, select, unbounded, Receiver, Select, Sender};
use lsp_server::{Connection, Message};

/// The largest message read (a document of 16 MiB, JSON-escaped, fits many times over); a
/// larger frame is skipped unread, with an error response.
pub const MAX_MESSAGE_BYTES: usize = 128 << 20;

/// The longest header line read.
const MAX_HEADER_LINE: u64 = 8 << 10;

/// The transport's threads: a reader (frames from the input, as bytes), a parser (frames to
/// messages) and a writer (messages to the output). The reader ends at the end of its input;
/// the parser after `exit`; the writer when the server drops its [`Connection`].
///
/// The parser and the writer free what the server's messages held, and glibc keeps some of
/// what a thread frees in that thread's own cache, out of reach of `malloc_trim`;
/// [`Threads::renew`] ends them and starts new ones, so that what they kept goes back to the
/// heap (spec/lsp.md, "Memory"). The reader frees nothing: it reuses one buffer for header
/// lines and reads each body into a buffer of its exact length, which the parser frees.
#[derive(Debug)]
pub struct Threads {
    parser: Option<JoinHandle<Option<Parser>>>,
    parser_stop: Sender<()>,
    writer: Option<JoinHandle<Option<Writer>>>,
    writer_stop: Sender<()>,
}

impl Threads {
    /// Waits until every message the server sent is written.
    pub fn join(self) {
        let Threads {
            writer,
            writer_stop,
            ..
        } = self;
        if let Some(w) = writer {
            let _ = w.join();
        }
        drop(writer_stop);
    }

    /// Ends the parser and the writer (once the writer has written every message sent so
    /// far) and starts new ones in their place; for when the server has no message in hand.
    /// `false` (with a line on standard error) when a new thread cannot start: the server
    /// then ends with exit code 1.
    pub fn renew(&mut self) -> bool {
        restart(
            &mut self.parser,
            &self.parser_stop,
            "guestlist-lsp-parser",
            Parser::run,
        ) && restart(
            &mut self.writer,
            &self.writer_stop,
            "guestlist-lsp-writer",
            Writer::run,
        )
    }
}

/// Stops the thread in `slot` (through `stop`) and, where it hands its state back, runs
/// `run` on that state in a new thread named `name`; `false` (with a line on standard error)
/// when the new thread cannot start.
fn restart<T: Send + 'static>(
    slot: &mut Option<JoinHandle<Option<T>>>,
    stop: &Sender<()>,
    name: &str,
    run: fn(T) -> Option<T>,
) -> bool {
    if let Some(h) = slot.take() {
        let _ = stop.send(());
        if let Ok(Some(state)) = h.join() {
            match spawn(name, move || run(state)) {
                Ok(t) => *slot = Some(t),
                Err(e) => return cannot_start(&e),
            }
        }
    }
    true
}

/// A thread named `name` running `f`.
fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<JoinHandle<T>> {
    std::thread::Builder::new().name(name.into()).spawn(f)
}

/// Says on standard error that a thread could not start; `false`.
fn cannot_start(e: &std::io::Error) -> bool {
    eprintln!("guestlist lsp: cannot start a thread: {e}");
    false
}

/// A connection over standard input and output; an error when its threads cannot start.
pub fn stdio() -> std::io::Result<(Connection, Threads)> {
    over(std::io::BufReader::new(std::io::stdin()), std::io::stdout())
}

/// A connection reading frames from `input` and writing them to `output`; an error when its
/// threads cannot start.
pub fn over<R, W>(input: R, output: W) -> std::io::Result<(Connection, Threads)>
where
    R: BufRead + Send + 'static,
    W: Write + Send + 'static,
{
    let (frame_send, frame_recv) = bounded::<Frame>(0);
    let (in_send, in_recv) = bounded::<Message>(0);
    let (out_send, out_recv) = unbounded::<Message>();
    let (raw_send, raw_recv) = unbounded::<String>();
    let (parser_stop, parser_stopped) = bounded::<()>(1);
    let (writer_stop, writer_stopped) = bounded::<()>(1);
    spawn("guestlist-lsp-reader", move || {
        read_frames(input, &frame_send)
    })?;
    let parser = Parser {
        frames: frame_recv,
        messages: in_send,
        raw: raw_send,
        stop: parser_stopped,
        pending: None,
    };
    let writer = Writer {
        output: Box::new(output),
        messages: out_recv,
        raw: raw_recv,
        stop: writer_stopped,
    };
    let parser = spawn("guestlist-lsp-parser", move || parser.run())?;
    let writer = spawn("guestlist-lsp-writer", move || writer.run())?;
    Ok((
        Connection {
            sender: out_send,
            receiver: in_recv,
        },
        Threads {
            parser: Some(parser),
            parser_stop,
            writer: Some(writer),
            writer_stop,
        },
    ))
}

/// What one frame held.
enum Frame {
    /// A message body.
    Body(Vec<u8>),
    /// A frame that cannot be read, and why.
    Bad(String),
}

/// Reads one frame; `None` at the end of the input.
/// `line` is the buffer header lines are read into.
fn read_frame(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<Frame>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut any = false;
    loop {
        line.clear();
        let n = input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', line)?;
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
        let text = String::from_utf8_lossy(line);
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
    // Reserved as declared, but never a crash when memory is short: the body is then skipped.
    let mut body = Vec::new();
    if body.try_reserve_exact(length).is_err() {
        std::io::copy(
            &mut input.by_ref().take(length as u64),
            &mut std::io::sink(),
        )?;
        return Ok(Some(Frame::Bad(format!(
            "a message of {length} bytes: not enough memory to read it"
        ))));
    }
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

/// Reads frames and hands them to the parser, until the input ends or the parser is gone.
fn read_frames(mut input: impl BufRead, frames: &Sender<Frame>) {
    let mut line = Vec::new();
    loop {
        let frame = match read_frame(&mut input, &mut line) {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(e) => {
                eprintln!("guestlist lsp: cannot read the input: {e}");
                return;
            }
        };
        if frames.send(frame).is_err() {
            return;
        }
    }
}

/// The parser's state, handed from one parser thread to the next by [`Threads::renew`].
#[derive(Debug)]
struct Parser {
    frames: Receiver<Frame>,
    messages: Sender<Message>,
    raw: Sender<String>,
    stop: Receiver<()>,
    /// A message parsed but not yet taken by the server.
    pending: Option<Message>,
}

impl Parser {
    /// Parses frames until `exit`, the end of the input or the server's end (`None`), or until
    /// asked to stop (itself, for the next parser).
    fn run(mut self) -> Option<Parser> {
        loop {
            if let Some(msg) = self.pending.take() {
                let exit = matches!(&msg, Message::Notification(n) if n.method == "exit");
                let mut sel = Select::new();
                let send = sel.send(&self.messages);
                sel.recv(&self.stop);
                let op = sel.select();
                if op.index() != send {
                    let _ = op.recv(&self.stop);
                    self.pending = Some(msg);
                    return Some(self);
                }
                if op.send(&self.messages, msg).is_err() || exit {
                    return None;
                }
                continue;
            }
            let frame = select! {
                recv(self.frames) -> f => f.ok()?,
                recv(self.stop) -> _ => return Some(self),
            };
            let reply = match frame {
                Frame::Bad(why) => {
                    eprintln!("guestlist lsp: {why}");
                    error_frame(serde_json::Value::Null, PARSE_ERROR, &why)
                }
                Frame::Body(body) => match serde_json::from_slice::<Message>(&body) {
                    Ok(msg) => {
                        self.pending = Some(msg);
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
            self.raw.send(reply).ok()?;
        }
    }
}

/// The writer's state, handed from one writer thread to the next by [`Threads::renew`].
struct Writer {
    output: Box<dyn Write + Send>,
    messages: Receiver<Message>,
    /// Error responses to frames that were not messages ([`never`] once the parser is gone).
    raw: Receiver<String>,
    stop: Receiver<()>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Writes until the server drops its connection or the output fails (`None`), or until
    /// asked to stop (itself, for the next writer, after writing what was sent before).
    fn run(mut self) -> Option<Writer> {
        loop {
            let result = select! {
                recv(self.messages) -> m => m.ok()?.write(&mut self.output),
                recv(self.raw) -> r => match r {
                    Ok(text) => self.raw_frame(&text),
                    Err(_) => {
                        self.raw = never();
                        Ok(())
                    }
                },
                recv(self.stop) -> s => {
                    if s.is_err() {
                        self.stop = never();
                        continue;
                    }
                    while let Ok(m) = self.messages.try_recv() {
                        report(m.write(&mut self.output))?;
                    }
                    while let Ok(text) = self.raw.try_recv() {
                        let written = self.raw_frame(&text);
                        report(written)?;
                    }
                    return Some(self);
                }
            };
            report(result)?;
        }
    }

    fn raw_frame(&mut self, text: &str) -> std::io::Result<()> {
        write!(self.output, "Content-Length: {}\r\n\r\n{text}", text.len())
            .and_then(|()| self.output.flush())
    }
}

/// `None` (and a line on stderr) when a write failed.
fn report(result: std::io::Result<()>) -> Option<()> {
    result
        .map_err(|e| eprintln!("guestlist lsp: cannot write the output: {e}"))
        .ok()
}
