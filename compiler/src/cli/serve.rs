//! `guestlist serve`: a stand-in API behind the policy, for trying a policy from a browser
//! before the backend exists (and for the browser tests). Every request that reaches the
//! "application" gets 200 and `{"method": .., "path": ..}`; the policy is applied by the
//! runtime's tower layer, exactly as in a real service. Each request is logged to stderr with
//! its decision, so a blocked request is never a mystery.
//!
//! `--origins NAME=FILE` supplies a provided set, checked as `check --origins` checks it; a
//! provided set without one starts empty. On SIGHUP every file is read and checked again: a
//! good file replaces its set (the report of what changed goes to stderr), a bad one keeps the
//! old set and its errors go to stderr at their `FILE:LINE`.

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tower_layer::Layer as _;

/// `serve` options.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// PEM certificate chain, for https.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key, for https.
    pub tls_key: Option<PathBuf>,
    /// The CSRF secret for token routes.
    pub csrf_secret: Option<guestlist::CsrfSecret>,
    /// A directory of pages served (GET) next to the stand-in API.
    pub pages: Option<PathBuf>,
}

/// `guestlist serve`: loads the policy and every `--origins NAME=FILE` (usage errors as
/// `check`'s: exit 2), refuses a policy or a file with errors (exit 1), then serves until
/// killed, reading the files again on SIGHUP.
pub(super) fn run(
    files: &[PathBuf],
    origins: &[String],
    profile: &str,
    opts: ServeOptions,
    err: &mut dyn Write,
) -> super::CliResult {
    let c = super::load_supplied(files, origins)?;
    if c.has_errors() {
        err.write_all(c.render().as_bytes())?;
        writeln!(err, "not serving: the policy has errors")?;
        return Ok(1);
    }
    let lowered = match c.lower(profile) {
        Ok(l) => l,
        Err(crate::LowerError::Supplied(name, why)) => {
            writeln!(err, "not serving: origins set `{name}`: {why}")?;
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    // Provided sets nobody supplied (GL1403), then what each file supplied.
    let empty: Vec<crate::Diagnostic> = c
        .diagnostics
        .iter()
        .filter(|d| d.code == "GL1403")
        .cloned()
        .collect();
    err.write_all(crate::diag::render::render(&c.sources, &empty).as_bytes())?;
    for (name, file, entries) in &c.supplied {
        writeln!(err, "origins {name}: {} entries from {file}", entries.len())?;
    }
    let reload = Reload {
        files: origins
            .iter()
            .filter_map(|o| o.split_once('='))
            .map(|(name, file)| (name.to_string(), PathBuf::from(file)))
            .collect(),
        compilation: c,
        one_at_a_time: std::sync::Mutex::new(()),
    };
    serve(lowered.policy, &opts, reload)?;
    Ok(0)
}

/// What SIGHUP reads again: each supplied set's name and file, checked against the policy.
struct Reload {
    compilation: crate::Compilation,
    files: Vec<(String, PathBuf)>,
    /// Held while a reload runs: a SIGHUP during one waits for it.
    one_at_a_time: std::sync::Mutex<()>,
}

impl Reload {
    /// Reads and checks every file again; each good one replaces its set, each bad one keeps
    /// the old set. Everything is logged to `err`. Runs on a blocking thread
    /// ([`tokio::task::spawn_blocking`]), never on the thread that accepts and serves
    /// connections: requests are served with the old sets until the new ones are swapped in.
    fn run(&self, policy: &guestlist::Policy, err: &mut dyn Write) {
        let _one = self
            .one_at_a_time
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.files.is_empty() {
            let _ = writeln!(err, "SIGHUP: no --origins file to read again");
        }
        for (name, path) in &self.files {
            let _ = reload_one(&self.compilation, policy, name, path, err);
        }
        let _ = err.flush();
    }
}

/// The most origins a reload's report names one by one (the counts are always given).
const REPORT_NAMED: usize = 20;

fn reload_one(
    c: &crate::Compilation,
    policy: &guestlist::Policy,
    name: &str,
    path: &Path,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let file = path.display();
    let entries = match c.reread_supplied(name, path) {
        Err(e) => {
            return writeln!(err, "SIGHUP: origins {name}: {e}; the old set stays");
        }
        Ok(Err(rendered)) => {
            err.write_all(rendered.as_bytes())?;
            return writeln!(
                err,
                "SIGHUP: origins {name}: {file} has errors; the old set stays"
            );
        }
        Ok(Ok(entries)) => entries,
    };
    let lines: Vec<usize> = entries.iter().map(|(_, line)| *line).collect();
    match policy.replace_provided(name, entries.into_iter().map(|(e, _)| e)) {
        None => writeln!(
            err,
            "SIGHUP: origins {name}: not a provided set of the policy"
        ),
        Some(Err(e)) => {
            for x in &e.entries {
                let line = lines.get(x.index).copied().unwrap_or(0);
                writeln!(err, "{file}:{line}: {}: {}", x.origin, x.why)?;
            }
            writeln!(
                err,
                "SIGHUP: origins {name}: {file} has errors; the old set stays"
            )
        }
        Some(Ok(report)) => {
            writeln!(
                err,
                "SIGHUP: origins {name}: {} entries from {file}: {} added, {} removed, {} with another key",
                report.entries,
                report.added.len(),
                report.removed.len(),
                report.changed.len()
            )?;
            for (sign, list) in [
                ('+', &report.added),
                ('-', &report.removed),
                ('~', &report.changed),
            ] {
                for o in list.iter().take(REPORT_NAMED) {
                    writeln!(err, "  {sign} {o}")?;
                }
                if list.len() > REPORT_NAMED {
                    writeln!(err, "  {sign} ... {} more", list.len() - REPORT_NAMED)?;
                }
            }
            Ok(())
        }
    }
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The stand-in application: 200 with the method and path (and the CSRF token the layer handed
/// it, on token routes), or a page from `--pages`.
#[derive(Clone, Debug)]
struct App {
    pages: Option<Arc<PathBuf>>,
}

impl App {
    /// The page for a GET path, if `--pages` has that file (no `..`, no hidden files).
    fn page(&self, path: &str) -> Option<(Vec<u8>, &'static str)> {
        let dir = self.pages.as_ref()?;
        let rel = path.trim_start_matches('/');
        if rel.is_empty() || rel.split('/').any(|s| s.is_empty() || s.starts_with('.')) {
            return None;
        }
        let bytes = std::fs::read(dir.join(rel)).ok()?;
        let ctype = if rel.ends_with(".html") {
            "text/html; charset=utf-8"
        } else if rel.ends_with(".js") {
            "text/javascript"
        } else {
            "application/octet-stream"
        };
        Some((bytes, ctype))
    }
}

impl tower_service::Service<Request<guestlist::RequestBody<Incoming>>> for App {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<guestlist::RequestBody<Incoming>>) -> Self::Future {
        if req.method() == hyper::Method::GET {
            if let Some((bytes, ctype)) = self.page(req.uri().path()) {
                let mut resp = Response::new(Full::new(Bytes::from(bytes)));
                resp.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static(ctype),
                );
                return std::future::ready(Ok(resp));
            }
        }
        let token = req
            .extensions()
            .get::<guestlist::CsrfToken>()
            .map_or_else(String::new, |t| {
                format!(",\"csrf_token\":\"{}\"", json_escape(t.value()))
            });
        let body = format!(
            "{{\"method\":\"{}\",\"path\":\"{}\"{token}}}\n",
            json_escape(req.method().as_str()),
            json_escape(req.uri().path())
        );
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        std::future::ready(Ok(resp))
    }
}

/// Logs the decision, then hands the request to the layered app.
#[derive(Clone)]
struct Logged {
    policy: Arc<guestlist::Policy>,
    secret: Option<Arc<guestlist::CsrfSecret>>,
    inner: guestlist::Service<App>,
}

impl tower_service::Service<Request<Incoming>> for Logged {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = guestlist::ResponseFuture<App, Incoming, Full<Bytes>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let d = self.policy.decide_full(
            req.method().as_str(),
            req.uri().path(),
            req.uri()
                .authority()
                .map(hyper::http::uri::Authority::as_str),
            req.headers(),
            self.secret.as_deref(),
        );
        let origin = req.headers().get(hyper::header::ORIGIN).map_or_else(
            || "-".to_string(),
            |v| String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
        if d.kind == guestlist::Kind::CsrfRejected && d.reason == guestlist::Reason::CsrfTokenInForm
        {
            // Refused while the body is unread: the layer reads it and decides again with its
            // token field, before the application sees the request.
            eprintln!(
                "{} {} -> an urlencoded form post without the token header: the layer reads its body for the token field ({})",
                req.method(),
                req.uri().path(),
                d.reason.code(),
            );
            return self.inner.call(req);
        }
        // With the token check's outcome.
        eprintln!(
            "{} {} origin={} -> {} ({}){}{}",
            req.method(),
            req.uri().path(),
            origin,
            d.kind.as_str(),
            d.reason.code(),
            d.status().map_or_else(String::new, |s| format!(" {s}")),
            d.token
                .map_or_else(String::new, |t| format!(" token={}", t.reason.code()))
        );
        self.inner.call(req)
    }
}

/// SIGHUP, on Unix; elsewhere a signal that never comes.
struct Hangup {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Hangup {
    fn new() -> Result<Hangup, String> {
        Ok(Hangup {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
                .map_err(|e| format!("cannot handle SIGHUP: {e}"))?,
        })
    }

    /// The next SIGHUP.
    async fn recv(&mut self) {
        #[cfg(unix)]
        if self.signal.recv().await.is_some() {
            return;
        }
        std::future::pending::<()>().await;
    }
}

fn tls_acceptor(cert: &PathBuf, key: &PathBuf) -> Result<tokio_rustls::TlsAcceptor, String> {
    use tokio_rustls::rustls;
    let certs = std::fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut certs.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: not a PEM certificate: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate found", cert.display()));
    }
    let key_pem = std::fs::read(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let key_der = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| format!("{}: not a PEM private key: {e}", key.display()))?
        .ok_or_else(|| format!("{}: no private key found", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key_der)
        .map_err(|e| format!("certificate and key do not fit: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Serves until killed. The first line on stdout is `listening on SCHEME://ADDR`. On SIGHUP
/// (Unix), `reload` reads its files again on a blocking thread, while connections are served.
fn serve(policy: guestlist::Policy, opts: &ServeOptions, reload: Reload) -> Result<(), String> {
    let reload = Arc::new(reload);
    let tls = match (&opts.tls_cert, &opts.tls_key) {
        (Some(c), Some(k)) => Some(tls_acceptor(c, k)?),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        // Before the address is announced: from then on a SIGHUP reloads, never kills.
        let mut hangup = Hangup::new()?;
        {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "listening on {}://{addr}",
                if tls.is_some() { "https" } else { "http" }
            );
            let _ = out.flush();
        }
        let policy = Arc::new(policy);
        let secret = opts.csrf_secret.clone().map(Arc::new);
        let mut layer = guestlist::Layer::shared(policy.clone());
        if let Some(s) = &opts.csrf_secret {
            layer = layer.csrf_secret(s.clone());
        } else if policy.needs_csrf_secret() {
            eprintln!("warning: the policy signs CSRF tokens and no --csrf-secret-hex was given: unsafe requests on those routes will be refused");
        }
        let service = Logged {
            policy,
            secret,
            inner: layer.layer(App {
                pages: opts.pages.clone().map(Arc::new),
            }),
        };
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                () = hangup.recv() => {
                    // Read, checked and built off this thread, then swapped in.
                    let (reload, policy) = (reload.clone(), service.policy.clone());
                    // Its log is written by this thread when it is done (the command holds
                    // stderr's lock while it serves).
                    tokio::spawn(async move {
                        let log = tokio::task::spawn_blocking(move || {
                            let mut log = Vec::new();
                            reload.run(&policy, &mut log);
                            log
                        })
                        .await;
                        match log {
                            Ok(log) => {
                                let _ = std::io::stderr().lock().write_all(&log);
                            }
                            Err(e) => eprintln!("SIGHUP: the reload failed: {e}"),
                        }
                    });
                    continue;
                }
            };
            let (stream, _) = match accepted {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    continue;
                }
            };
            let service = TowerToHyperService::new(service.clone());
            let tls = tls.clone();
            tokio::spawn(async move {
                let builder = hyper::server::conn::http1::Builder::new();
                let _ = match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(s) => builder.serve_connection(TokioIo::new(s), service).await,
                        Err(e) => {
                            eprintln!("TLS handshake failed: {e}");
                            return;
                        }
                    },
                    None => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                };
            });
        }
    })
}
