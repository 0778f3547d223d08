//! The HAProxy 2.6 emitter: the same decisions as the runtime, as lines placed inside a
//! `frontend` section (spec/haproxy.md).
//!
//! Layout:
//! - `guestlist.cfg`: the lines, placed before the frontend's `default_backend`/`use_backend`;
//! - `maps/paths-exact.map`, `maps/paths-prefix.map`: each route pattern's region (the
//!   longest pattern of any block or the top level that covers a path), `map_str` and
//!   `map_beg` (longest first);
//! - `maps/hosts-exact.map`, `maps/hosts-suffix.map`: the host block an authority selects;
//! - `maps/answers.map`: the answer of each key (host block, then each reading's region);
//! - `lists/*.lst`: the exact origins of each cors, csrf and websocket policy (ACL files,
//!   indexed trees, byte-exact);
//! - `origins/<set>.lst`, `origins/<set>.re`: a set supplied at run time (exact entries and
//!   pattern regexes), updatable with `add acl`/`del acl` on the runtime API or a reload.
//!
//! How the runtime's semantics map onto HAProxy:
//! - everything is decided in `http-request` rules, which copy what the response needs into
//!   `txn.gl_*` variables; `http-after-response` rules (the only ones that reach HAProxy's own
//!   `return` answers) write the `Access-Control-*` headers, `Vary`, the security headers and
//!   the CSP, after deleting the upstream's own copies;
//! - the path is read as sent (`path`, raw) and, when it is not structurally normal, decoded
//!   (`url_dec`) with `/` runs merged for the normalised reading, into variables: nothing the
//!   upstream sees is rewritten;
//! - the request's `Origin` is copied once into `txn.gl_os` when it is one non-empty line;
//!   exact origins are `-m str` ACL files (case-sensitive), patterns anchored regexes.
//!
//! Its parts: `text` (quoting, file names) and `plan` (what each request is decided under),
//! then this file, which writes the rules.

mod plan;
mod text;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use guestlist::{Cors, GuardValue, Guards, Policy};

use self::plan::Plan;
use self::text::{check, dq, set_file};
use crate::emit::edge::{
    acrh_list_regex, fold_expose, fold_max_age, pattern_regex, tenant_clashes, Matcher, Via, TCHAR,
};
use crate::emit::{header_name, header_text, File, Unsupported};
use crate::{Compilation, Lowered};

/// Options for [`emit`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Absolute directory the file names in `guestlist.cfg` point to (where the files live).
    pub include_root: String,
    /// The exact command or API call that generated the files (for the header comment).
    pub generated_by: String,
    /// What the user accepts losing (`--accept-loss`): listed in the header comment; an
    /// accepted `csp-nonce` route is served without its CSP.
    pub accepted: Vec<crate::emit::Loss>,
}

/// The longest `Access-Control-Request-Headers` lines read (the runtime's limit).
const ACRH_LINES: usize = 8;

/// Errors for exporting `lowered` to HAProxy: GL1203 for `paths { non-normal two-readings }`
/// (HAProxy has no converter that resolves dot segments without rewriting what the upstream
/// sees, so the normalised reading of such a path cannot be computed).
pub fn errors(compilation: &Compilation, lowered: &Lowered) -> Vec<crate::diag::Diagnostic> {
    crate::emit::two_readings_refusal(
        compilation,
        lowered,
        crate::emit::Engine::Haproxy,
        "GL1203",
        "HAProxy cannot read a path with dot segments the normalised way",
        "HAProxy resolves `..` only by rewriting the request the upstream receives (`normalize-uri`), which would change what your application routes",
    )
    .into_iter()
    .chain(crate::emit::carry_errors(
        compilation,
        lowered,
        crate::emit::Engine::Haproxy,
        "GL1205",
        |_, t| {
            (t.bytes().any(|b| b < 0x20 || b == 0x7f) || t.len() > 8000).then(|| {
                format!("{} bytes: HAProxy reads a configuration line of at most 8000 bytes", t.len())
            })
        },
        "make it shorter (split a long CSP's sources across fewer, wider ones), or serve these routes through the Rust runtime (guestlist::Layer)",
    ))
    .collect()
}

/// Warnings for exporting `lowered` to HAProxy: GL1407 for a set supplied at run time that no
/// file was given for.
pub fn warnings(compilation: &Compilation, lowered: &Lowered) -> Vec<crate::diag::Diagnostic> {
    crate::emit::empty_set_warnings(compilation, lowered, crate::emit::Engine::Haproxy, |name| {
        format!("{} (nor {})", set_file(name, "lst"), set_file(name, "re"))
    })
}

/// The configuration being written.
struct Writer<'a> {
    policy: &'a Policy,
    spec: &'a guestlist::PolicySpec,
    root: String,
    /// Files besides guestlist.cfg.
    files: Vec<File>,
    /// `acl` lines.
    acls: String,
    /// `http-request` lines.
    req: String,
    /// `http-after-response` lines.
    after: String,
    /// ACLs written (by name).
    written: std::collections::BTreeSet<String>,
    /// An accepted `csp-nonce` loss: nonce CSPs are not sent.
    nonce_lost: bool,
    /// Some answer sends Access-Control-Allow-Credentials on an actual request.
    credentials: bool,
    /// Some answer sends Access-Control-Expose-Headers.
    expose: bool,
    /// Some answer sends Access-Control-Allow-Origin without Vary (`gl_acas`).
    static_any: bool,
}

impl Writer<'_> {
    /// A file under the output directory; its absolute name in the configuration.
    fn file(&mut self, path: String, header: &str, body: String) -> String {
        let name = format!("{}/{path}", self.root);
        self.files.push(File {
            path,
            text: format!("{header}{body}"),
        });
        name
    }

    /// The ACL `name` matching `src` (the request's `Origin` line, `req.fhdr(origin)`, or its
    /// one line `var(txn.gl_os)`) against an origin list: `*`, exact origins (an ACL file),
    /// patterns (regexes) and supplied sets. A rule using it also requires one Origin line.
    #[expect(clippy::too_many_arguments, reason = "the parts of an origin list")]
    fn origin_acl(
        &mut self,
        name: &str,
        what: &str,
        any: bool,
        exact: &[std::borrow::Cow<'static, str>],
        patterns: &[std::borrow::Cow<'static, str>],
        provided: &[usize],
        header: &str,
        src: &str,
    ) -> Result<(), Unsupported> {
        if !self.written.insert(name.to_string()) {
            return Ok(());
        }
        let _ = writeln!(self.acls, "# {what}");
        if any {
            // `*` matches any one Origin line, an empty one too.
            let _ = writeln!(self.acls, "acl {name} {src} -m found");
        }
        if !exact.is_empty() {
            let mut body = String::new();
            let mut sorted: Vec<&str> = exact.iter().map(|k| &**k).collect();
            sorted.sort_unstable();
            for o in sorted {
                check("origin", o)?;
                let _ = writeln!(body, "{o}");
            }
            let f = self.file(
                format!("lists/{}.lst", name.trim_start_matches("gl_")),
                &format!(
                    "{header}# {what}: exact origins, one per line (compared byte for byte).\n"
                ),
                body,
            );
            let _ = writeln!(self.acls, "acl {name} {src} -m str -f {}", dq(&f, false));
        }
        for p in patterns {
            let r = pattern_regex(p)
                .ok_or_else(|| Unsupported(format!("cannot translate origin pattern {p:?}")))?;
            let _ = writeln!(
                self.acls,
                "acl {name} {src} -m reg {}  # {p}",
                dq(&r, false)
            );
        }
        for &i in provided {
            let Some(set) = self.spec.provided.get(i) else {
                continue;
            };
            for kind in ["lst", "re"] {
                let m = if kind == "lst" { "str" } else { "reg" };
                let _ = writeln!(
                    self.acls,
                    "acl {name} {src} -m {m} -f {}",
                    dq(
                        &format!("{}/{}", self.root, set_file(&set.name, kind)),
                        false
                    )
                );
            }
        }
        if !any && exact.is_empty() && patterns.is_empty() && provided.is_empty() {
            let _ = writeln!(self.acls, "acl {name} always_false");
        }
        Ok(())
    }

    /// The ACL of cors policy `i`'s origins.
    fn cors_acl(&mut self, i: u32, header: &str) -> Result<String, Unsupported> {
        let name = format!("gl_c{i}");
        let (Some(c), Some(s)) = (
            self.policy.cors_policies().get(i as usize),
            self.spec.cors.get(i as usize),
        ) else {
            return Err(Unsupported(format!("no cors policy {i}")));
        };
        let what = format!("cors policy `{}`: its allowed origins", c.name());
        self.origin_acl(
            &name,
            &what,
            c.any_origin(),
            c.origins().keys(),
            c.patterns().keys(),
            &s.provided,
            header,
            "req.fhdr(origin)",
        )?;
        Ok(name)
    }
}

/// A route pattern's path as `map_str` / `map_beg` keys take it.
fn pattern_key(p: &str) -> &str {
    p.strip_suffix('*').unwrap_or(p)
}

/// Emits the HAProxy files for `lowered`, a profile of `compilation`. [`errors`] says first
/// whether HAProxy can carry the policy; [`write()`] writes the files.
pub fn emit(
    compilation: &Compilation,
    lowered: &Lowered,
    opts: &Options,
) -> Result<Vec<File>, Unsupported> {
    let engine = crate::emit::Engine::Haproxy;
    if let Some(e) = crate::emit::loss_errors(compilation, lowered, engine, &opts.accepted).first()
    {
        return Err(Unsupported(e.message.clone()));
    }
    if let Some(e) = errors(compilation, lowered).first() {
        return Err(Unsupported(e.message.clone()));
    }
    let policy = &lowered.policy;
    let spec = &lowered.spec;
    let root = opts.include_root.trim_end_matches('/').to_string();
    check("include root", &root)?;
    let accepted = crate::emit::accepted_lines(compilation, lowered, engine, &opts.accepted);
    let mut header = format!(
        "# DO NOT EDIT, generated by `{}`.\n# guestlist {} for profile `{}`.\n",
        opts.generated_by,
        env!("CARGO_PKG_VERSION"),
        lowered.profile
    );
    if !accepted.is_empty() {
        header.push_str("# Accepted losses (--accept-loss):\n");
        for l in &accepted {
            let _ = writeln!(header, "#   {l}");
        }
    }
    let mut w = Writer {
        policy,
        spec,
        root,
        files: Vec::new(),
        acls: String::new(),
        req: String::new(),
        after: String::new(),
        written: Default::default(),
        nonce_lost: opts.accepted.contains(&crate::emit::Loss::CspNonce),
        credentials: false,
        expose: false,
        static_any: false,
    };
    // Sets supplied at run time: their files, always written (empty when nothing was given).
    for p in &spec.provided {
        let supplied = compilation.supplied.iter().find(|(n, _, _)| n == &p.name);
        let (mut exact, mut patterns) = (Vec::new(), Vec::new());
        for (e, _) in supplied.map_or(&[][..], |(_, _, e)| e.as_slice()) {
            check("supplied origin", &e.origin)?;
            if e.origin.contains('*') {
                let r = pattern_regex(&e.origin).ok_or_else(|| {
                    Unsupported(format!("cannot translate origin pattern {:?}", e.origin))
                })?;
                patterns.push(format!("# {}\n{r}\n", e.origin));
            } else {
                exact.push(format!("{}\n", e.origin));
            }
        }
        exact.sort();
        patterns.sort();
        let from = supplied.map_or_else(
            || "EMPTY: no entries were supplied (GL1407)".to_string(),
            |(_, f, _)| format!("supplied from {f}"),
        );
        let tenant = if p.tenant_bound {
            "# The set is tenant-bound: the keys stay with the application.\n"
        } else {
            ""
        };
        let how = format!(
            "# origins set `{}`, {from}.\n{tenant}# Regenerate this file (`--origins {}=FILE`) and reload HAProxy, or change the running\n# process with `add acl`/`del acl` on its runtime API (spec/haproxy.md).\n",
            p.name, p.name
        );
        w.file(
            set_file(&p.name, "lst"),
            &format!("{header}{how}# Exact origins, one per line.\n"),
            exact.concat(),
        );
        w.file(
            set_file(&p.name, "re"),
            &format!("{header}{how}# Origin patterns, one anchored regex per line.\n"),
            patterns.concat(),
        );
    }
    let mut cfg = header.clone();
    let _ = writeln!(
        cfg,
        "# Place these lines inside your `frontend` section (mode http), before its\n\
         # default_backend/use_backend lines. Variables are txn.gl_*, ACLs gl_*.\n\
         # Files: {}/ (maps/, lists/, origins/).",
        w.root
    );
    if policy.routes().is_empty() {
        cfg.push_str("# The policy has no route: nothing to decide.\n");
        let mut files = vec![File {
            path: "guestlist.cfg".into(),
            text: cfg,
        }];
        files.extend(w.files);
        return Ok(files);
    }
    rules(&mut w, &header)?;
    cfg.push_str("\n# --- ACLs ---\n");
    cfg.push_str(&w.acls);
    cfg.push_str("\n# --- Request: the runtime's decision ---\n");
    // Only a policy with a nonce CSP (its loss accepted: the application draws the nonce)
    // gives `Guestlist-Csp-Nonce` a meaning; elsewhere the rule would cost every request.
    if lowered.policy.csp_policies().iter().any(|c| c.has_nonce()) {
        cfg.push_str("# A CSP nonce the client sent never reaches the upstream (HAProxy draws none).\nhttp-request del-header Guestlist-Csp-Nonce\n");
    }
    cfg.push_str(&w.req);
    cfg.push_str("\n# --- Every response, HAProxy's own answers included ---\n");
    cfg.push_str(&w.after);
    let mut files = vec![File {
        path: "guestlist.cfg".into(),
        text: cfg,
    }];
    files.extend(w.files);
    Ok(files)
}

/// Regex of a decoded path that climbs above the root (`..` segments beyond the segments
/// before them; `.` and empty segments skipped), as the runtime refuses it (`path-invalid`).
const ABOVE_ROOT: &str = "^(?(DEFINE)(?<s>/\\.?(?=/|$))(?<o>/(?!\\.\\.?(?:/|$))[^/]+)(?<c>/\\.\\.(?=/|$))(?<u>(?&o)(?:(?&s)|(?&u))*(?&c)))(?:(?&s)|(?&u))*(?&c)";

/// An answer's parts, gathered before any rule is written.
struct Answers {
    /// Every distinct plan, by id.
    plans: Vec<Plan>,
    /// Key -> plan id.
    keys: BTreeMap<String, usize>,
    /// Whether every key (every path of every host) has the one plan.
    constant: bool,
}

/// Every key's plan: (host block, region of each reading).
fn answers(policy: &Policy, spec: &guestlist::PolicySpec) -> Answers {
    let regions = plan::regions(policy);
    let blocks: Vec<Option<usize>> = std::iter::once(None)
        .chain((0..policy.host_block_count()).map(Some))
        .collect();
    let mut plans: Vec<Plan> = Vec::new();
    let mut keys = BTreeMap::new();
    let mut all = 0;
    // With `/*`, every readable path has a region: none is never the answer.
    let root = regions.iter().any(|(p, _)| p == "/*");
    let reps: Vec<Option<(usize, &str)>> = std::iter::once(None)
        .filter(|_| !root)
        .chain(
            regions
                .iter()
                .enumerate()
                .map(|(i, (_, r))| Some((i, r.as_str()))),
        )
        .collect();
    let id = |g: Option<(usize, &str)>| g.map_or(String::new(), |(i, _)| i.to_string());
    let block_id = |b: Option<usize>| b.map_or(String::new(), |b| (b + 1).to_string());
    let mut add = |key: String, p: Option<Plan>, plans: &mut Vec<Plan>| {
        let Some(p) = p.filter(|p| !p.is_empty()) else {
            return;
        };
        let i = match plans.iter().position(|x| *x == p) {
            Some(i) => i,
            None => {
                plans.push(p);
                plans.len() - 1
            }
        };
        keys.insert(key, i);
    };
    for &b in &blocks {
        for &g in &reps {
            all += 1;
            let p = plan::normal(policy, spec, b, g.map(|x| x.1));
            add(format!("{}/{}", block_id(b), id(g)), p, &mut plans);
            for &h in &reps {
                all += 1;
                let p = plan::two(policy, spec, b, g.map(|x| x.1), h.map(|x| x.1));
                add(
                    format!("{}/{}/{}", block_id(b), id(g), id(h)),
                    p,
                    &mut plans,
                );
            }
        }
    }
    let constant = plans.len() == 1 && keys.len() == all;
    Answers {
        plans,
        keys,
        constant,
    }
}

/// Writes every rule.
fn rules(w: &mut Writer<'_>, header: &str) -> Result<(), Unsupported> {
    let policy = w.policy;
    let spec = w.spec;
    let a = answers(policy, spec);
    let hosts = policy.host_block_count() > 0;
    let any_ws = a.plans.iter().any(|p| !p.websocket.is_empty());
    let any_csrf = a.plans.iter().any(|p| !p.csrf.is_empty());
    let any_cors = a.plans.iter().any(|p| p.cors.iter().any(Option::is_some));
    // 1. Common ACLs.
    let _ = writeln!(
        w.acls,
        "# The path is not structurally normal (set below), the Origin lines (count, the one line).\n\
         acl gl_odd var(txn.gl_odd) -m bool\n\
         acl gl_o0 req.fhdr_cnt(origin) eq 0\n\
         acl gl_o1 req.fhdr_cnt(origin) eq 1\n\
         acl gl_omulti req.fhdr_cnt(origin) gt 1\n\
         acl gl_onone req.fhdr_cnt(origin) eq 0\n\
         acl gl_onone var(txn.gl_os) -m len 0\n\
         acl gl_osome var(txn.gl_os) -m len 1:"
    );
    // 2. The path's form: a path that is not structurally normal is read as sent and decoded
    //    (`RAW#DECODED`: a target holds no `#`), and its refusal, if any, is the first line of
    //    maps/path-forms.map that matches.
    let forms = [
        ("^(?!/)", "path-invalid"),
        ("^[^#]*(?:%(?![0-9A-Fa-f]{2})|%00)", "path-invalid"),
        ("^[^#]{8193}", "path-invalid"),
        (
            &format!("^[^#]*#{}", ABOVE_ROOT.trim_start_matches('^'))[..],
            "path-invalid",
        ),
        ("^[^#]*#[\\s\\S]*?/\\.\\.?(?:/|$)", "path-not-normal"),
        ("^[^#]*#[\\s\\S]*\\\\", "path-not-normal"),
        ("(?i)^[^#]*(?:(?:/|%2f)%2f|%2f/)", "path-not-normal"),
    ];
    let body: String = forms.iter().map(|(r, v)| format!("{r} {v}\n")).collect();
    let h = format!(
        "{header}# The refusals of a path that is not structurally normal: a regex over `RAW#DECODED`\n# (the path as sent, `#`, the path decoded), then the reason; the first line that matches.\n"
    );
    let forms_file = dq(&w.file("maps/path-forms.map".into(), &h, body), false);
    let _ = writeln!(
        w.req,
        "# The path's form (spec/language.md, \"Path forms\"): unreadable, or with dot segments: 400.\n\
         http-request set-var(txn.gl_odd) bool(true) if {{ path -m reg {} }}\n\
         http-request set-var-fmt(txn.gl_pk) \"%[path]#%[path,url_dec]\" if gl_odd\n\
         http-request return status 400 hdr Guestlist-Reason \"%[var(txn.gl_pk),map_reg({forms_file})]\" if gl_odd {{ var(txn.gl_pk),map_reg({forms_file}) -m found }}",
        dq("^(?!/)|[%\\\\]|//|/\\.\\.?(?:/|$)|^[\\s\\S]{8193}", false),
    );
    // 3. The request's authority and Origin.
    let needs_authority = hosts
        || a.plans.iter().any(|p| {
            p.websocket.iter().any(|&i| {
                policy
                    .websocket_policies()
                    .get(i as usize)
                    .is_some_and(|x| x.same_origin())
            }) || p.csrf.iter().any(|&(i, _)| {
                policy
                    .csrf_policies()
                    .get(i as usize)
                    .is_some_and(|x| x.self_origins().is_empty())
            })
        });
    let _ = writeln!(
        w.req,
        "{}",
        if any_ws || any_csrf {
            "# The request's Origin when it has one line (for the CSRF and WebSocket checks).\n\
             http-request set-var(txn.gl_os) req.fhdr(origin) if gl_o1"
        } else {
            ""
        }
    );
    if needs_authority {
        let valid = dq(
            "^(?:\\[[^\\]]*\\](?::[\\s\\S]*)?|(?!\\[)[^:]*(?::[^:]*)?)$",
            false,
        );
        let _ = writeln!(
            w.req,
            "# The request's authority (the absolute-form target's, else the one Host), lowercase,\n\
             # one trailing dot of its host dropped; unset when it cannot be split.\n\
             http-request set-var(txn.gl_h) req.fhdr(host) if {{ req.fhdr_cnt(host) eq 1 }} !{{ req.fhdr(host) -m len 0 }}\n\
             http-request set-var(txn.gl_h) url,regsub(^[^/]*//,),field(1,/) if {{ url -m reg {} }}\n\
             http-request unset-var(txn.gl_h) if {{ var(txn.gl_h) -m found }} !{{ var(txn.gl_h) -m reg {valid} }}\n\
             http-request set-var(txn.gl_h) var(txn.gl_h),lower if {{ var(txn.gl_h) -m found }}\n\
             http-request set-var(txn.gl_h) var(txn.gl_h),regsub(\\.:,:) if {{ var(txn.gl_h) -m found }} !{{ var(txn.gl_h) -m beg [ }}\n\
             http-request set-var(txn.gl_h) var(txn.gl_h),regsub('\\.$',) if {{ var(txn.gl_h) -m found }} !{{ var(txn.gl_h) -m sub : }}",
            dq("^[A-Za-z][A-Za-z0-9+.-]*://", false)
        );
        if any_ws || any_csrf {
            let _ = writeln!(
                w.req,
                "# The Origin's authority, the same way (for the CSRF and WebSocket same-origin checks).\n\
                 http-request set-var(txn.gl_oa) var(txn.gl_os),regsub(^.*?://,),lower if gl_osome {{ var(txn.gl_os) -m reg {} }}\n\
                 http-request unset-var(txn.gl_oa) if {{ var(txn.gl_oa) -m found }} !{{ var(txn.gl_oa) -m reg {valid} }}\n\
                 http-request set-var(txn.gl_oa) var(txn.gl_oa),regsub(\\.:,:) if {{ var(txn.gl_oa) -m found }} !{{ var(txn.gl_oa) -m beg [ }}\n\
                 http-request set-var(txn.gl_oa) var(txn.gl_oa),regsub('\\.$',) if {{ var(txn.gl_oa) -m found }} !{{ var(txn.gl_oa) -m sub : }}",
                dq("^(?:(?!://)[\\s\\S])*://[^/?#@]+$", false)
            );
            let _ = writeln!(w.acls, "acl gl_same var(txn.gl_oa),strcmp(txn.gl_h) eq 0");
        }
    }
    // 4. The answer: host block, regions of each reading.
    if !a.constant {
        let regions = plan::regions(policy);
        let mut exact = String::new();
        let mut prefix: Vec<(usize, String)> = Vec::new();
        for (i, (p, _)) in regions.iter().enumerate() {
            check("route pattern", p)?;
            if p.ends_with('*') {
                prefix.push((i, pattern_key(p).to_string()));
            } else {
                let _ = writeln!(exact, "{p} {i}");
            }
        }
        prefix.sort_by(|x, y| y.1.len().cmp(&x.1.len()).then(x.1.cmp(&y.1)));
        let prefix: String = prefix.iter().map(|(i, p)| format!("{p} {i}\n")).collect();
        let h = format!("{header}# Route patterns (exact) and their region ids.\n");
        let fe = w.file("maps/paths-exact.map".into(), &h, exact);
        let h =
            format!("{header}# Route patterns (prefix), longest first, and their region ids.\n");
        let fp = w.file("maps/paths-prefix.map".into(), &h, prefix);
        if hosts {
            let mut exact = String::new();
            let mut suffix: Vec<(usize, String, String)> = Vec::new();
            for (b, hs) in spec.hosts.iter().enumerate() {
                for p in &hs.patterns {
                    check("host pattern", p)?;
                    match p.strip_prefix("*.") {
                        Some(s) => {
                            let (host, port) = match s.split_once(':') {
                                Some((h, port)) => (h, format!(":{}", crate::emit::edge::re(port))),
                                None => (s, String::new()),
                            };
                            suffix.push((
                                b + 1,
                                s.to_string(),
                                format!("^(?:[^.:]+\\.)+{}{port}$", crate::emit::edge::re(host)),
                            ));
                        }
                        None => {
                            let _ = writeln!(exact, "{p} {}", b + 1);
                        }
                    }
                }
            }
            suffix.sort_by(|x, y| y.1.len().cmp(&x.1.len()).then(x.1.cmp(&y.1)));
            let suffix: String = suffix
                .iter()
                .map(|(b, s, r)| format!("# *.{s}\n{r} {b}\n"))
                .collect();
            let h = format!("{header}# Exact host patterns and their host block.\n");
            let hx = w.file("maps/hosts-exact.map".into(), &h, exact);
            let h = format!(
                "{header}# `*.` host patterns, longest domain first, and their host block.\n"
            );
            let hsx = w.file("maps/hosts-suffix.map".into(), &h, suffix);
            let _ = writeln!(
                w.req,
                "# The host block the authority selects (none: the top-level routes).\n\
                 http-request set-var(txn.gl_b) var(txn.gl_h),map_str({}) if {{ var(txn.gl_h) -m found }}\n\
                 http-request set-var(txn.gl_b) var(txn.gl_h),map_reg({}) if {{ var(txn.gl_h) -m found }} !{{ var(txn.gl_b) -m found }}",
                dq(&hx, false),
                dq(&hsx, false)
            );
        }
        let mut body = String::new();
        for (k, v) in &a.keys {
            let _ = writeln!(body, "{k} {v}");
        }
        let h = format!(
            "{header}# Answer of each key: host block (empty: top level) / region of the path\n# [/ region of its normalised reading, for a path that is not structurally normal].\n"
        );
        let fa = w.file("maps/answers.map".into(), &h, body);
        let _ = writeln!(
            w.req,
            "# The route region of each reading, then the answer.\n\
             http-request set-var(txn.gl_g) path,map_str({fe})\n\
             http-request set-var(txn.gl_g) path,map_beg({fp}) if !{{ var(txn.gl_g) -m found }}\n\
             http-request set-var(txn.gl_n) path,url_dec,regsub(/+,/,g) if gl_odd\n\
             http-request set-var(txn.gl_gn) var(txn.gl_n),map_str({fe}) if gl_odd\n\
             http-request set-var(txn.gl_gn) var(txn.gl_n),map_beg({fp}) if gl_odd !{{ var(txn.gl_gn) -m found }}\n\
             http-request set-var-fmt(txn.gl_k) \"%[var(txn.gl_b)]/%[var(txn.gl_g)]\" if !gl_odd\n\
             http-request set-var-fmt(txn.gl_k) \"%[var(txn.gl_b)]/%[var(txn.gl_g)]/%[var(txn.gl_gn)]\" if gl_odd\n\
             http-request set-var(txn.gl_a) var(txn.gl_k),map_str({fa})",
            fe = dq(&fe, false),
            fp = dq(&fp, false),
            fa = dq(&fa, false),
        );
    }
    // 5. Request flags the answers read.
    if any_ws {
        let _ = writeln!(
            w.req,
            "# A WebSocket handshake: GET with `websocket` among the Upgrade tokens.\n\
             http-request set-var(txn.gl_hs) bool(true) if {{ method GET }} {{ req.hdr(upgrade) -i websocket }}"
        );
        let _ = writeln!(w.acls, "acl gl_hs var(txn.gl_hs) -m bool");
    }
    if any_csrf {
        let _ = writeln!(
            w.acls,
            "acl gl_safe method GET HEAD OPTIONS\n\
             acl gl_sfsmulti req.fhdr_cnt(sec-fetch-site) gt 1\n\
             acl gl_sfsnone req.fhdr_cnt(sec-fetch-site) eq 0\n\
             acl gl_sfsnone req.fhdr(sec-fetch-site) -m len 0\n\
             acl gl_sfsok req.fhdr(sec-fetch-site) -m str same-origin none\n\
             acl gl_sfsss req.fhdr(sec-fetch-site) -m str same-site"
        );
        // Exemptions: only on a structurally normal path.
        for (i, c) in policy.csrf_policies().iter().enumerate() {
            if c.exempt().is_empty()
                || !a
                    .plans
                    .iter()
                    .any(|p| p.csrf.iter().any(|x| x.0 as usize == i))
            {
                continue;
            }
            for e in c.exempt() {
                check("exempt method", e.method())?;
                check("exempt path", e.pattern())?;
                let (m, p) = match e.pattern().strip_suffix('*') {
                    Some(prefix) => ("beg", prefix),
                    None => ("str", e.pattern()),
                };
                let _ = writeln!(
                    w.req,
                    "http-request set-var(txn.gl_x{i}) bool(true) if !gl_safe !gl_odd {{ method {} }} {{ path -m {m} {} }}",
                    dq(e.method(), false),
                    dq(p, false)
                );
            }
            let _ = writeln!(w.acls, "acl gl_x{i} var(txn.gl_x{i}) -m bool");
        }
    }
    if any_cors {
        let _ = writeln!(
            w.req,
            "# A preflight's requested headers on several lines: up to {ACRH_LINES} joined by commas.\n\
             http-request set-var-fmt(txn.gl_rj) \"{}\" if gl_opt {{ req.fhdr_cnt(access-control-request-headers) gt 1 }}",
            (1..=ACRH_LINES)
                .map(|i| format!("%[req.fhdr(access-control-request-headers,{i})]"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let _ = writeln!(
            w.acls,
            "# A preflight: OPTIONS with Origin and Access-Control-Request-Method.\n\
             acl gl_opt method OPTIONS\n\
             acl gl_acrm req.fhdr_cnt(access-control-request-method) gt 0\n\
             acl gl_acrm1 req.fhdr_cnt(access-control-request-method) eq 1\n\
             acl gl_acrhmany req.fhdr_cnt(access-control-request-headers) gt {ACRH_LINES}\n\
             acl gl_rhnames req.fhdr(access-control-request-headers) -m reg {rn}\n\
             acl gl_rhnames var(txn.gl_rj) -m reg {rn}\n\
             acl gl_ok var(txn.gl_ok) -m bool",
            rn = dq("[^ \\t,]", false)
        );
    }
    // 6. Each answer's rules.
    let mut guard_ids: Vec<(Guards, Option<Guards>)> = Vec::new();
    let mut echo_lines = false;
    let mut clashes = false;
    for (id, p) in a.plans.iter().enumerate() {
        let cond = if a.constant {
            String::new()
        } else {
            let _ = writeln!(w.acls, "acl gl_a{id} var(txn.gl_a) -m str {id}");
            format!(" gl_a{id}")
        };
        let _ = writeln!(w.req, "\n# Answer {id}.");
        let (g, n) = p.headers;
        let has = |g: Guards| g.csp.is_some() || g.headers.is_some();
        if has(g) || n.is_some_and(has) {
            let gid = match guard_ids.iter().position(|x| *x == p.headers) {
                Some(i) => i,
                None => {
                    guard_ids.push(p.headers);
                    guard_ids.len() - 1
                }
            };
            let _ = writeln!(
                w.req,
                "http-request set-var(txn.gl_gh) int({gid}){}",
                if_(&cond)
            );
        }
        let mut c = cond.clone();
        if !p.websocket.is_empty() {
            websocket_rules(w, p, &cond, header)?;
            c.push_str(" !gl_hs");
        }
        let tables: Vec<Option<&Cors>> = p
            .cors
            .iter()
            .map(|x| x.and_then(|i| policy.cors_policies().get(i as usize)))
            .collect();
        let some: Vec<&Cors> = tables.iter().flatten().copied().collect();
        let vary = some.iter().any(|t| !t.is_static_any());
        if !some.is_empty() && !p.csrf.is_empty() {
            // A CSRF refusal of a governed route: Vary: Origin when the answer depends on it
            // (only unsafe methods are refused, never a preflight).
            let _ = writeln!(
                w.req,
                "http-request set-var(txn.gl_cv) int({}) if{c} !gl_safe",
                if vary { 2 } else { 1 }
            );
        }
        if !p.csrf.is_empty() {
            csrf_rules(w, p, &c, header)?;
        }
        if !some.is_empty() {
            echo_lines |= cors_rules(w, p, &tables, &c, header)?;
        }
        clashes |= tenant_rules(w, p, &cond, &c, header)?;
    }
    if clashes {
        // The tower layer's 500 carries no header: no rule below adds one to it.
        let _ = writeln!(
            w.after,
            "# A request refused for two tenant-bound sets (500): sent as it is.\n\
             http-after-response allow if {{ var(txn.gl_tc) -m bool }}"
        );
    }
    // 7. Responses: an actual request's CORS headers (a preflight's are in its `return`).
    let _ = writeln!(
        w.after,
        "http-response del-header {} -m reg if {{ var(txn.gl_cv) -m found }} || {{ var(txn.gl_acao) -m found }}{}\n\
         http-after-response set-header Access-Control-Allow-Origin \"%[var(txn.gl_acao)]\" if {{ var(txn.gl_acao) -m found }}",
        dq("^access-control-(?:allow-origin|allow-credentials|allow-methods|allow-headers|max-age|expose-headers)$", false),
        if w.static_any { " || { var(txn.gl_acas) -m found }" } else { "" }
    );
    if w.static_any {
        let _ = writeln!(
            w.after,
            "http-after-response set-header Access-Control-Allow-Origin \"%[var(txn.gl_acas)]\" if {{ var(txn.gl_acas) -m found }}"
        );
    }
    if w.credentials {
        let _ = writeln!(
            w.after,
            "http-after-response set-header Access-Control-Allow-Credentials true if {{ var(txn.gl_acac) -m found }}"
        );
    }
    if w.expose {
        let _ = writeln!(
            w.after,
            "http-after-response set-header Access-Control-Expose-Headers \"%[var(txn.gl_aceh)]\" if {{ var(txn.gl_aceh) -m found }}"
        );
    }
    if echo_lines {
        for i in 1..=ACRH_LINES {
            let _ = writeln!(
                w.after,
                "http-after-response add-header Access-Control-Allow-Headers \"%[var(txn.gl_e{i})]\" if {{ var(txn.gl_e{i}) -m found }}"
            );
        }
    }
    let _ = writeln!(
        w.after,
        "http-after-response add-header Vary Origin if {{ var(txn.gl_acao) -m found }} || {{ var(txn.gl_cv) -m int 2 }}"
    );
    for (gid, (g, n)) in guard_ids.iter().enumerate() {
        let cond = format!("if {{ var(txn.gl_gh) -m int {gid} }}");
        if let Some(set) = g.headers.and_then(|i| policy.header_sets().get(i as usize)) {
            for name in set.remove() {
                let _ = writeln!(
                    w.after,
                    "http-after-response del-header {} {cond}",
                    header_name(name.as_str())?
                );
            }
        }
        let mut out: Vec<(String, String, bool)> = Vec::new();
        let mut err = None;
        policy.for_each_guard_header(*g, *n, |h| {
            let value = match h.value {
                GuardValue::Fixed(v) => {
                    header_text(h.name.as_str(), v.as_bytes()).map(str::to_string)
                }
                GuardValue::Csp(c) if c.has_nonce() => {
                    if w.nonce_lost {
                        return;
                    }
                    Err(Unsupported(format!(
                        "csp policy `{}` has a nonce",
                        c.name()
                    )))
                }
                GuardValue::Csp(c) => crate::emit::csp_text(c),
            };
            match value {
                Ok(v) => out.push((h.name.as_str().to_string(), v, h.append)),
                Err(e) => err = Some(e),
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        for (name, value, append) in out {
            header_name(&name)?;
            check("header value", &value)?;
            let verb = if append { "add-header" } else { "set-header" };
            let _ = writeln!(
                w.after,
                "http-after-response {verb} {name} {} {cond}",
                dq(&value, true)
            );
        }
    }
    Ok(())
}

/// The 500 of plan `p` for an origin allowed through two different tenant-bound sets
/// ([`tenant_clashes`]): an allowed actual request (`cors_cond`, the plan's CORS condition,
/// with one Origin line every table allows) or an allowed handshake (`cond`, with the
/// refusals above already answered). Returns whether it wrote any rule; a plan without such a
/// pair writes nothing.
fn tenant_rules(
    w: &mut Writer<'_>,
    p: &Plan,
    cond: &str,
    cors_cond: &str,
    header: &str,
) -> Result<bool, Unsupported> {
    let cors: Vec<Matcher> = p.cors.iter().flatten().map(|&i| Matcher::Cors(i)).collect();
    let ws: Vec<Matcher> = p.websocket.iter().map(|&i| Matcher::WebSocket(i)).collect();
    let mut lines = Vec::new();
    let every_table = p.cors.iter().all(Option::is_some);
    for (matchers, base) in [
        (cors, format!("{cors_cond} gl_o1")),
        (ws, format!("{cond} gl_hs gl_o1")),
    ] {
        for (a, b) in tenant_clashes(w.policy, w.spec, &matchers) {
            if matches!(a.matcher, Matcher::Cors(_)) && !every_table {
                continue;
            }
            let mut allowed = String::new();
            for m in &matchers {
                if let Matcher::Cors(i) = m {
                    let name = w.cors_acl(*i, header)?;
                    let _ = write!(allowed, " {name}");
                }
            }
            let (va, vb) = (via_acl(w, &a, header)?, via_acl(w, &b, header)?);
            lines.push(format!("{base}{allowed}{va}{vb}"));
        }
    }
    if lines.is_empty() {
        return Ok(false);
    }
    let _ = writeln!(
        w.req,
        "# The origin allowed through two different tenant-bound sets: 500, as the tower layer\n# answers (whatever the entries' keys)."
    );
    for l in lines {
        let _ = writeln!(w.req, "http-request set-var(txn.gl_tc) bool(true) if{l}");
    }
    let _ = writeln!(
        w.req,
        "http-request return status 500 if {{ var(txn.gl_tc) -m bool }}"
    );
    Ok(true)
}

/// The ACL terms (each starting with a space) that `v.matcher` allows the request's Origin
/// through `v.set`: not among its own origins, in none of the sets it tries first, in the set.
fn via_acl(w: &mut Writer<'_>, v: &Via, header: &str) -> Result<String, Unsupported> {
    let (own, kind, policy) = match v.matcher {
        Matcher::Cors(i) => (
            format!("gl_c{i}o"),
            "cors",
            w.policy.cors_policies().get(i as usize).map(|c| {
                (
                    c.name().to_string(),
                    c.origins().keys(),
                    c.patterns().keys(),
                )
            }),
        ),
        Matcher::WebSocket(i) => (
            format!("gl_w{i}o"),
            "websocket",
            w.policy.websocket_policies().get(i as usize).map(|c| {
                (
                    c.name().to_string(),
                    c.origins().keys(),
                    c.patterns().keys(),
                )
            }),
        ),
    };
    if let Some((name, exact, patterns)) = policy {
        let what = format!("{kind} policy `{name}`: its own origins");
        w.origin_acl(
            &own,
            &what,
            false,
            exact,
            patterns,
            &[],
            header,
            "req.fhdr(origin)",
        )?;
    }
    let mut out = format!(" !{own}");
    for &s in &v.before {
        let _ = write!(out, " !{}", set_acl(w, s, header)?);
    }
    let _ = write!(out, " {}", set_acl(w, v.set, header)?);
    Ok(out)
}

/// The ACL of set `i` supplied at run time (the request's Origin among its entries).
fn set_acl(w: &mut Writer<'_>, i: usize, header: &str) -> Result<String, Unsupported> {
    let name = format!("gl_in{i}");
    let what = w
        .spec
        .provided
        .get(i)
        .map_or(String::new(), |p| format!("origins set `{}`", p.name));
    w.origin_acl(
        &name,
        &what,
        false,
        &[],
        &[],
        &[i],
        header,
        "req.fhdr(origin)",
    )?;
    Ok(name)
}

/// ` if COND` (the condition starts with a space), or nothing.
fn if_(cond: &str) -> String {
    if cond.trim().is_empty() {
        String::new()
    } else {
        format!(" if{cond}")
    }
}

/// The WebSocket checks of plan `p` (each policy in order; the first refusal answers).
fn websocket_rules(
    w: &mut Writer<'_>,
    p: &Plan,
    cond: &str,
    header: &str,
) -> Result<(), Unsupported> {
    let c = format!("{cond} gl_hs");
    let _ = writeln!(
        w.req,
        "http-request return status 403 hdr Guestlist-Reason multiple-origins if{c} gl_omulti"
    );
    for &i in &p.websocket {
        let Some(ws) = w.policy.websocket_policies().get(i as usize) else {
            continue;
        };
        let provided = w
            .spec
            .websocket
            .get(i as usize)
            .map(|s| s.provided.clone())
            .unwrap_or_default();
        let name = format!("gl_w{i}");
        w.origin_acl(
            &name,
            &format!("websocket policy `{}`: its allowed origins", ws.name()),
            false,
            ws.origins().keys(),
            ws.patterns().keys(),
            &provided,
            header,
            "var(txn.gl_os)",
        )?;
        if !ws.allow_missing() {
            let _ = writeln!(
                w.req,
                "http-request return status 403 hdr Guestlist-Reason websocket-missing-origin if{c} gl_onone"
            );
        }
        let same = if ws.same_origin() { " !gl_same" } else { "" };
        let _ = writeln!(
            w.req,
            "http-request return status 403 hdr Guestlist-Reason websocket-origin-not-allowed if{c} gl_osome !{name}{same}"
        );
    }
    Ok(())
}

/// The CSRF checks of plan `p` (each policy in order, with its route's cors origins trusted).
fn csrf_rules(w: &mut Writer<'_>, p: &Plan, cond: &str, header: &str) -> Result<(), Unsupported> {
    let c = format!("{cond} !gl_safe");
    for &(i, cors) in &p.csrf {
        let Some(csrf) = w.policy.csrf_policies().get(i as usize) else {
            continue;
        };
        let provided = w
            .spec
            .csrf
            .get(i as usize)
            .map(|s| s.trusted_provided.clone())
            .unwrap_or_default();
        let trusted = format!(
            "gl_t{i}_{}",
            cors.map_or("n".to_string(), |x| x.to_string())
        );
        w.origin_acl(
            &trusted,
            &format!("csrf policy `{}`: its trusted origins", csrf.name()),
            false,
            csrf.trusted().keys(),
            &[],
            &provided,
            header,
            "var(txn.gl_os)",
        )?;
        if let Some(t) = cors.and_then(|x| w.policy.cors_policies().get(x as usize)) {
            if !t.any_origin() {
                // The route's cors origins are trusted too: the same lines under this name.
                let name = w.cors_acl(cors.unwrap_or_default(), header)?;
                let lines: Vec<String> = w
                    .acls
                    .lines()
                    .filter(|l| l.starts_with(&format!("acl {name} ")))
                    .map(|l| {
                        l.replacen(&format!("acl {name} "), &format!("acl {trusted} "), 1)
                            .replacen("req.fhdr(origin)", "var(txn.gl_os)", 1)
                    })
                    .collect();
                if w.written.insert(format!("{trusted}+cors")) {
                    for l in lines {
                        let _ = writeln!(w.acls, "{l}");
                    }
                }
            }
        }
        let own = if csrf.self_origins().is_empty() {
            "gl_same".to_string()
        } else {
            let name = format!("gl_s{i}");
            w.origin_acl(
                &name,
                &format!("csrf policy `{}`: the site's own origins", csrf.name()),
                false,
                csrf.self_origins().keys(),
                &[],
                &[],
                header,
                "var(txn.gl_os)",
            )?;
            name
        };
        let x = if csrf.exempt().is_empty() {
            String::new()
        } else {
            format!(" !gl_x{i}")
        };
        let _ = writeln!(w.req, "# csrf policy `{}`", csrf.name());
        let r = |reason: &str, more: &str| {
            format!("http-request return status 403 hdr Guestlist-Reason {reason} if{c}{more}\n")
        };
        let mut s = String::new();
        s.push_str(&r("csrf-ambiguous-headers", &format!(" gl_sfsmulti{x}")));
        let ss = if csrf.allow_same_site() {
            " !gl_sfsss"
        } else {
            ""
        };
        s.push_str(&r(
            "csrf-cross-site",
            &format!(" !gl_sfsmulti !gl_sfsnone !gl_sfsok{ss}{x} !{trusted}"),
        ));
        if csrf.reject_missing() {
            s.push_str(&r(
                "csrf-missing-headers",
                &format!(" !gl_sfsmulti gl_sfsnone !gl_omulti gl_onone{x}"),
            ));
        }
        s.push_str(&r(
            "csrf-ambiguous-headers",
            &format!(" !gl_sfsmulti gl_sfsnone gl_omulti{x}"),
        ));
        s.push_str(&r(
            "csrf-origin-mismatch",
            &format!(" !gl_sfsmulti gl_sfsnone gl_osome !{own}{x} !{trusted}"),
        ));
        w.req.push_str(&s);
    }
    Ok(())
}

/// The CORS rules of plan `p` over `tables` (its cors policies, `None` allowing nothing):
/// the preflight's 204 (its headers in the `return`) or 403, and the variables an actual
/// request's response headers are written from. Returns whether the requested headers are
/// echoed from several lines (the `http-after-response` rules that add them).
fn cors_rules(
    w: &mut Writer<'_>,
    p: &Plan,
    tables: &[Option<&Cors>],
    cond: &str,
    header: &str,
) -> Result<bool, Unsupported> {
    let some: Vec<&Cors> = tables.iter().flatten().copied().collect();
    let all = tables.iter().all(Option::is_some);
    let vary = some.iter().any(|t| !t.is_static_any());
    let mut preflight_ok = String::new();
    let mut actual_ok = String::new();
    for (&i, t) in p.cors.iter().zip(tables) {
        let (Some(i), Some(t)) = (i, t) else { continue };
        let name = w.cors_acl(i, header)?;
        let _ = write!(actual_ok, " {name}");
        if w.written.insert(format!("gl_m{i}")) {
            let mut ms: Vec<String> = vec!["GET".into(), "HEAD".into(), "POST".into()];
            for m in t.methods() {
                check("method", m)?;
                if !ms.iter().any(|x| x == m.as_ref()) {
                    ms.push(m.to_string());
                }
            }
            let methods: Vec<String> = ms.iter().map(|m| dq(m, false)).collect();
            let _ = writeln!(
                w.acls,
                "acl gl_m{i} req.fhdr(access-control-request-method) -m str {}",
                methods.join(" ")
            );
            if t.any_method() {
                let _ = writeln!(
                    w.acls,
                    "acl gl_m{i} req.fhdr(access-control-request-method) -m reg {}",
                    dq(&format!("^[{TCHAR}]+$"), false)
                );
            }
            // One line (a longer one is refused by gl_acrhmany), and the lines joined when
            // there are several (every one's names, 4096 bytes in all).
            let _ = writeln!(
                w.acls,
                "acl gl_h{i} req.fhdr_cnt(access-control-request-headers) eq 0\n\
                 acl gl_h{i} req.fhdr(access-control-request-headers) -m reg -i {}\n\
                 acl gl_hjbad{i} var(txn.gl_rj) -m reg -i {}",
                dq(&acrh_list_regex(t, 4096), false),
                dq(
                    &format!(
                        "^(?!{})",
                        acrh_list_regex(t, 4096 + ACRH_LINES - 1).trim_start_matches('^')
                    ),
                    false
                )
            );
        }
        let _ = write!(preflight_ok, " {name} gl_m{i} gl_h{i} !gl_hjbad{i}");
    }
    let merged = p.merged;
    let first = some.first().copied();
    let (any_origin, credentials, aceh, max_age) = if merged {
        (
            some.iter().all(|t| t.any_origin()),
            some.iter().all(|t| t.credentials()),
            fold_expose(&some),
            fold_max_age(&some),
        )
    } else {
        (
            first.is_some_and(Cors::any_origin),
            first.is_some_and(Cors::credentials),
            first.and_then(Cors::expose_headers_value),
            first.and_then(Cors::max_age_value),
        )
    };
    let text = |name: &str, v: &http::HeaderValue| -> Result<String, Unsupported> {
        let v = header_text(name, v.as_bytes())?;
        check("header value", v)?;
        Ok(dq(v, true))
    };
    let acao_src = if any_origin {
        "str(*)"
    } else {
        "req.fhdr(origin)"
    };
    let acao_var = if vary { "gl_acao" } else { "gl_acas" };
    w.static_any |= !vary;
    let mut echo = false;
    let _ = writeln!(w.req, "# CORS");
    // No Origin: `*` when every table allows any origin without credentials.
    if all && some.iter().all(|t| t.is_static_any()) {
        let c = format!("{cond} gl_o0");
        let _ = writeln!(w.req, "http-request set-var(txn.gl_acas) str(*){}", if_(&c));
        w.static_any = true;
        if let Some(v) = aceh {
            let v = text("access-control-expose-headers", v)?;
            let _ = writeln!(
                w.req,
                "http-request set-var-fmt(txn.gl_aceh) {v}{}",
                if_(&c)
            );
            w.expose = true;
        }
    }
    // Preflights: answered here, every header in the `return`.
    let vary_hdr = if vary { " hdr Vary Origin" } else { "" };
    let pf = format!(" gl_opt gl_acrm !gl_o0{cond}");
    if all {
        let mut ok = format!(" gl_opt gl_o1 gl_acrm1 !gl_acrhmany{cond}{preflight_ok}");
        let mut hdrs = format!(
            " hdr Access-Control-Allow-Origin {}",
            if any_origin {
                "\"*\""
            } else {
                "\"%[req.fhdr(origin)]\""
            }
        );
        if credentials {
            hdrs.push_str(" hdr Access-Control-Allow-Credentials true");
        }
        hdrs.push_str(
            " hdr Access-Control-Allow-Methods \"%[req.fhdr(access-control-request-method)]\"",
        );
        let mut tail = String::new();
        if let Some(v) = max_age {
            let _ = write!(
                tail,
                " hdr Access-Control-Max-Age {}",
                text("access-control-max-age", v)?
            );
        }
        tail.push_str(vary_hdr);
        let acrh = "access-control-request-headers";
        let echoes = merged || first.is_some_and(|t| t.any_header() && t.credentials());
        if echoes {
            echo = true;
            let _ = writeln!(w.req, "http-request set-var(txn.gl_ok) bool(true) if{ok}");
            ok = " gl_ok".to_string();
            let _ = writeln!(
                w.req,
                "http-request return status 204{hdrs} hdr Access-Control-Allow-Headers \"%[req.fhdr({acrh},1)]\"{tail} if{ok} gl_rhnames {{ req.fhdr_cnt({acrh}) eq 1 }}"
            );
            // Several lines: each that names a header, in order (after the response is made).
            for i in 1..=ACRH_LINES {
                let _ = writeln!(
                    w.req,
                    "http-request set-var(txn.gl_e{i}) req.fhdr({acrh},{i}) if{ok} {{ req.fhdr({acrh},{i}) -m reg {} }}",
                    dq("[^ \\t,]", false)
                );
            }
        } else if let Some(v) = first.and_then(Cors::allow_headers_value) {
            let _ = writeln!(
                w.req,
                "http-request return status 204{hdrs} hdr Access-Control-Allow-Headers {}{tail} if{ok} gl_rhnames",
                text("access-control-allow-headers", v)?
            );
        }
        let _ = writeln!(w.req, "http-request return status 204{hdrs}{tail} if{ok}");
    }
    let _ = writeln!(w.req, "http-request return status 403{vary_hdr} if{pf}");
    // Actual requests: what the response carries.
    if all {
        let c = format!("{cond} gl_o1{actual_ok}");
        let _ = writeln!(
            w.req,
            "http-request set-var(txn.{acao_var}) {acao_src}{}",
            if_(&c)
        );
        if credentials {
            let _ = writeln!(
                w.req,
                "http-request set-var(txn.gl_acac) str(true){}",
                if_(&c)
            );
            w.credentials = true;
        }
        if let Some(v) = aceh {
            let v = text("access-control-expose-headers", v)?;
            let _ = writeln!(
                w.req,
                "http-request set-var-fmt(txn.gl_aceh) {v}{}",
                if_(&c)
            );
            w.expose = true;
        }
    }
    // Governed (the upstream's Access-Control-* lines removed), with Vary: Origin when the
    // answer depends on it: `gl_cv`, or an Access-Control-Allow-Origin whose answer varies
    // (`gl_acao`; `gl_acas` when it does not).
    let _ = writeln!(
        w.req,
        "http-request set-var(txn.gl_cv) int({}) if{cond} !{{ var(txn.{acao_var}) -m found }}",
        if vary { 2 } else { 1 },
    );
    Ok(echo)
}

/// Writes the files under `dir` (atomically, only when changed) and removes the map, list and
/// set files that no longer exist. Returns the files written.
pub fn write(dir: &Path, files: &[File]) -> std::io::Result<Vec<PathBuf>> {
    crate::emit::write(dir, files, &["maps", "lists", "origins"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn emit_text(policy: &str) -> Vec<File> {
        let c = Compilation::from_str("t.policy", policy);
        assert!(!c.has_errors(), "{}", c.render());
        let lowered = c.lower("default").unwrap();
        let opts = Options {
            include_root: "/x".into(),
            generated_by: "test".into(),
            accepted: Vec::new(),
        };
        emit(&c, &lowered, &opts).unwrap()
    }

    #[test]
    fn one_answer_for_every_request_needs_no_lookup() {
        let files = emit_text(
            "cors c {\n    allow-origins  \"https://app.example.com\"\n}\nroute \"/*\" { cors c }\n",
        );
        assert!(!files.iter().any(|f| f.path == "maps/answers.map"));
        let cfg = &files
            .iter()
            .find(|f| f.path == "guestlist.cfg")
            .unwrap()
            .text;
        assert!(!cfg.contains("gl_a0"), "{cfg}");
    }

    #[test]
    fn answers_are_keyed_by_block_and_each_readings_region() {
        let files = emit_text(
            "cors c {\n    allow-origins  \"https://app.example.com\"\n}\nroute \"/api/*\" { cors c }\nroute \"/static/*\" { }\n",
        );
        let answers = &files
            .iter()
            .find(|f| f.path == "maps/answers.map")
            .unwrap()
            .text;
        let keys: Vec<&str> = answers
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        // `/api/*` is region 0: a normal path, and both readings in it.
        assert!(keys.contains(&"/0"), "{keys:?}");
        assert!(keys.contains(&"/0/0"), "{keys:?}");
        // One reading in `/api/*`, the other in no route: decided (no CORS allowed).
        assert!(keys.contains(&"/0/"), "{keys:?}");
        // `/static/*` has no policy: no answer.
        assert!(!keys.contains(&"/1"), "{keys:?}");
        let prefix = &files
            .iter()
            .find(|f| f.path == "maps/paths-prefix.map")
            .unwrap()
            .text;
        assert!(prefix.contains("\n/api/ 0\n"), "{prefix}");
    }
}
