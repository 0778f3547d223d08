//! Loading: reading policy files and following `import`s. Several files given on the command
//! line form one policy, exactly as if one imported the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::ast::{self, Item};
use crate::diag::Diagnostic;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax;

/// The largest policy file accepted (16 MiB: a 100,000-origin policy is about 4 MiB); larger
/// inputs get GL0004, never a slow parse.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// A file named on the command line (or by build.rs / the macro) cannot be read.
#[derive(Debug)]
pub struct LoadError {
    /// The path as given.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read {}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for LoadError {}

/// Everything loaded: sources, syntax trees (load order) and load/parse diagnostics.
#[derive(Debug, Default)]
pub struct Loaded {
    /// All files read.
    pub sources: SourceMap,
    /// Their syntax trees.
    pub files: Vec<ast::File>,
    /// Syntax and import diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

/// Why `meta` (of a path, symlinks followed) is not a regular file, in words; `None` for a
/// regular file. Opening a FIFO blocks until a writer appears, and reading a device or a
/// `/proc` entry may never end (`/dev/stdin`, `/dev/zero`, `/proc/kmsg`), so anything but a
/// regular file is refused before it is opened.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_dir() {
        return Some("is a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        if t.is_fifo() {
            return Some("is a FIFO, not a regular file");
        }
        if t.is_char_device() {
            return Some("is a character device, not a regular file");
        }
        if t.is_block_device() {
            return Some("is a block device, not a regular file");
        }
        if t.is_socket() {
            return Some("is a socket, not a regular file");
        }
        // `/proc` and `/sys` entries say they are regular files (of size 0); they are
        // recognised by the file system they live on, when one is mounted there (an empty
        // directory shares its parent's file system).
        for (dir, what) in [
            ("/proc", "is a /proc entry, not a regular file"),
            ("/sys", "is a /sys entry, not a regular file"),
        ] {
            let mounted = match (std::fs::metadata(dir), std::fs::metadata("/")) {
                (Ok(d), Ok(root)) => (d.dev() != root.dev()).then_some(d.dev()),
                _ => None,
            };
            if mounted == Some(meta.dev()) {
                return Some(what);
            }
        }
    }
    if !t.is_file() {
        return Some("is not a regular file");
    }
    None
}

/// Why a policy file could not be opened or read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The operating system's error, in its words.
    Io(String),
    /// The path names something other than a regular file (a directory, FIFO, device, socket,
    /// `/proc` entry): what it is, in words.
    NotRegular(&'static str),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => f.write_str(e),
            ReadError::NotRegular(why) => f.write_str(why),
        }
    }
}

fn io(e: std::io::Error) -> ReadError {
    ReadError::Io(e.to_string())
}

/// Opens `path` for reading when it is a regular file (symlinks followed). The one way policy
/// files are opened (`load`, `guestlist fmt`): never a FIFO, device or `/proc` entry, whose
/// reads can block forever. The type is checked on the path's metadata before opening (a
/// device is never opened), and again on what was opened ([`open_checked`]), in case the path
/// changed in between.
pub(crate) fn open_regular(path: &Path) -> Result<std::fs::File, ReadError> {
    let meta = std::fs::metadata(path).map_err(io)?;
    if let Some(why) = not_regular(&meta) {
        return Err(ReadError::NotRegular(why));
    }
    open_checked(path)
}

/// Opens `path` without blocking (`O_NONBLOCK`: opening a FIFO for reading otherwise waits for
/// a writer), and keeps what was opened only if it is a regular file, whose reads the flag
/// does not change.
fn open_checked(path: &Path) -> Result<std::fs::File, ReadError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(io)?;
    match not_regular(&file.metadata().map_err(io)?) {
        Some(why) => Err(ReadError::NotRegular(why)),
        None => Ok(file),
    }
}

/// Reads `path`, checking that it is a regular file, its size and its encoding. The outer
/// `Err` is a file that cannot be read; the inner one a file that is not a policy (GL0004).
fn read(path: &Path) -> Result<Result<String, (&'static str, String)>, ReadError> {
    use std::io::Read;
    let file = open_regular(path)?;
    let len = file.metadata().map_err(io)?.len();
    if len > MAX_FILE_BYTES as u64 {
        return Ok(Err((
            "policy file is too large",
            format!("policy files are at most {MAX_FILE_BYTES} bytes; this one has {len}"),
        )));
    }
    // Bounded: a file that grows while it is read stops one byte past the limit.
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Ok(Err((
            "policy file is too large",
            format!("policy files are at most {MAX_FILE_BYTES} bytes"),
        )));
    }
    match String::from_utf8(bytes) {
        Ok(s) if s.contains('\0') => Ok(Err((
            "policy file is binary",
            "it contains a NUL byte".into(),
        ))),
        Ok(s) => Ok(Ok(s)),
        Err(e) => Ok(Err((
            "policy file is not UTF-8 text",
            format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        ))),
    }
}

/// Where the loader reads files from: the file system, or another store (a git revision,
/// `guestlist diff REV:PATH`). Every file, imports included, is read through one reader.
pub(crate) trait Reader {
    /// The text of the file at `path`: the outer `Err` is a file that cannot be read, the
    /// inner one a file that is not a policy (GL0004: what, and the detail).
    fn read(&self, path: &Path) -> Result<Result<String, (&'static str, String)>, ReadError>;
    /// The identity of `path`, by which a file imported twice is read once and a cycle is
    /// found.
    fn key(&self, path: &Path) -> PathBuf;
}

/// The file system (symlinks followed, regular files only).
pub(crate) struct Disk;

impl Reader for Disk {
    fn read(&self, path: &Path) -> Result<Result<String, (&'static str, String)>, ReadError> {
        read(path)
    }

    fn key(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
    }
}

/// Checks the bytes of a policy file read from somewhere other than the file system: at most
/// [`MAX_FILE_BYTES`], UTF-8, no NUL (the inner `Err`, as [`Reader::read`] returns it).
#[cfg(feature = "cli")]
pub(crate) fn check_text(bytes: Vec<u8>) -> Result<String, (&'static str, String)> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(too_large(bytes.len()));
    }
    match String::from_utf8(bytes) {
        Ok(s) => check_str(&s).map(|()| s),
        Err(e) => Err((
            "policy file is not UTF-8 text",
            format!("invalid UTF-8 at byte {}", e.utf8_error().valid_up_to()),
        )),
    }
}

/// [`check_text`] for text already in memory (an editor's unsaved buffer): at most
/// [`MAX_FILE_BYTES`], no NUL.
#[cfg(feature = "cli")]
pub(crate) fn check_str(text: &str) -> Result<(), (&'static str, String)> {
    if text.len() > MAX_FILE_BYTES {
        return Err(too_large(text.len()));
    }
    if text.contains('\0') {
        return Err(("policy file is binary", "it contains a NUL byte".into()));
    }
    Ok(())
}

#[cfg(feature = "cli")]
fn too_large(len: usize) -> (&'static str, String) {
    (
        "policy file is too large",
        format!("policy files are at most {MAX_FILE_BYTES} bytes; this one has {len}"),
    )
}

struct Loader<'r> {
    reader: &'r dyn Reader,
    out: Loaded,
    loaded: HashMap<PathBuf, FileId>,
    stack: Vec<(PathBuf, String)>,
}

impl Loader<'_> {
    fn visit(&mut self, path: &Path, name: String, from: Option<Span>) -> Result<(), LoadError> {
        let key = self.reader.key(path);
        if let Some(pos) = self.stack.iter().position(|(p, _)| *p == key) {
            if let Some(span) = from {
                let chain: Vec<&str> = self
                    .stack
                    .get(pos..)
                    .unwrap_or(&[])
                    .iter()
                    .map(|(_, n)| n.as_str())
                    .chain(std::iter::once(name.as_str()))
                    .collect();
                self.out.diagnostics.push(
                    Diagnostic::new("GL0003", span, "import cycle")
                        .label("this import leads back to a file being imported")
                        .note(format!("cycle: {}", chain.join(" -> ")))
                        .help("move what both files need into a third file that both import"),
                );
            }
            return Ok(());
        }
        if self.loaded.contains_key(&key) {
            return Ok(());
        }
        let text = match self.reader.read(path) {
            Ok(t) => t,
            Err(e) => {
                return match from {
                    Some(span) => {
                        let help = match e {
                            ReadError::Io(_) => "import paths are relative to the importing file",
                            ReadError::NotRegular(_) => {
                                "import a policy file (a regular file, not a FIFO, device or /proc entry)"
                            }
                        };
                        self.out.diagnostics.push(
                            Diagnostic::new("GL0002", span, format!("cannot read `{name}`"))
                                .label(e.to_string())
                                .help(help),
                        );
                        Ok(())
                    }
                    None => Err(LoadError {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    }),
                };
            }
        };
        let text = match text {
            Ok(t) => t,
            Err((what, detail)) => {
                let id = self.out.sources.add(name, path, String::new());
                self.out.diagnostics.push(
                    Diagnostic::new("GL0004", Span::new(id, 0, 0), what)
                        .label(detail)
                        .help("a policy is a UTF-8 text file of at most 16 MiB"),
                );
                return Ok(());
            }
        };
        let id = self.out.sources.add(name.clone(), path, text);
        self.loaded.insert(key.clone(), id);
        let src = self
            .out
            .sources
            .get(id)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        let (file, diags) = syntax::parse(id, &src);
        self.out.diagnostics.extend(diags);
        let imports: Vec<(String, Span)> = file
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Import { path, .. } => Some((path.text.clone(), path.span)),
                Item::Block(_) | Item::Declaration(_) => None,
            })
            .collect();
        self.out.files.push(file);
        self.stack.push((key, name.clone()));
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let name_dir = Path::new(&name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for (rel, span) in imports {
            let child = dir.join(&rel);
            let child_name = name_dir.join(&rel).to_string_lossy().into_owned();
            self.visit(&child, child_name, Some(span))?;
        }
        self.stack.pop();
        Ok(())
    }
}

/// Loads the given files and everything they import.
pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Loaded, LoadError> {
    let named: Vec<(PathBuf, String)> = paths
        .iter()
        .map(|p| {
            (
                p.as_ref().to_path_buf(),
                p.as_ref().to_string_lossy().into_owned(),
            )
        })
        .collect();
    load_named(&named)
}

/// Loads files given as (path on disk, name shown in diagnostics); imports are named relative
/// to their importer's name.
pub fn load_named(files: &[(PathBuf, String)]) -> Result<Loaded, LoadError> {
    load_through(files, &Disk)
}

/// [`load_named`] with every file, imports included, read through `reader`.
pub(crate) fn load_through(
    files: &[(PathBuf, String)],
    reader: &dyn Reader,
) -> Result<Loaded, LoadError> {
    let mut l = Loader {
        reader,
        out: Loaded::default(),
        loaded: HashMap::new(),
        stack: Vec::new(),
    };
    for (p, name) in files {
        l.visit(p, name.clone(), None)?;
    }
    Ok(l.out)
}

/// Loads one policy from a string (tests, tools): no imports are followed.
pub fn load_str(name: &str, text: &str) -> Loaded {
    let mut out = Loaded::default();
    let id = out.sources.add(name, name, text.to_string());
    let (file, diags) = syntax::parse(id, text);
    for item in &file.items {
        if let Item::Import { path, .. } = item {
            out.diagnostics.push(
                Diagnostic::new("GL0002", path.span, "imports need a policy file on disk")
                    .label("cannot follow an import from an in-memory policy"),
            );
        }
    }
    out.files.push(file);
    out.diagnostics.extend(diags);
    out
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// The check on what was opened: a FIFO that takes a checked path's place is opened
    /// without waiting for a writer, and refused. (Without `O_NONBLOCK` the open never
    /// returns; the test fails after its deadline instead of hanging.)
    #[test]
    fn a_fifo_is_opened_without_blocking_and_refused() {
        let dir = std::env::temp_dir().join(format!("guestlist-load-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("pipe.policy");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        let (send, receive) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = send.send(open_checked(&path).map(|_| ()).map_err(|e| e.to_string()));
        });
        let got = receive
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("opening a FIFO blocked");
        assert_eq!(got, Err("is a FIFO, not a regular file".to_string()));
        // And a regular file opens, and reads, as before.
        let file = dir.join("a.policy");
        std::fs::write(&file, "route \"/x\" {}\n").unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut open_regular(&file).unwrap(), &mut text).unwrap();
        assert_eq!(text, "route \"/x\" {}\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
