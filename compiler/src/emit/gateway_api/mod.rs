//! The Gateway API emitter: the policy as Kubernetes Gateway API v1 `HTTPRoute`s
//! (spec/gateway-api.md), for any conformant implementation that supports the `CORS` filter
//! (GEP-1767, Standard since v1.5.0) and `ResponseHeaderModifier`.
//!
//! Layout: `DIR/httproutes.yaml`, one YAML stream of `HTTPRoute`s: one per host block (its
//! patterns as `spec.hostnames`) and one for the top-level routes (no hostnames), each split
//! into as many objects as needed (an `HTTPRoute` holds at most 16 rules). Every rule sends
//! its requests to `--backend`; a rule for a policy route carries:
//! - a `CORS` filter with the route's cors policy: the exact origins and `*.` patterns, the
//!   methods, the listed request and exposed headers, credentials and max-age;
//! - a `ResponseHeaderModifier` that sets the route's security headers and CSP, removes the
//!   headers its header set removes, and adds `Vary: Origin` where a cors policy applies.
//!
//! How the runtime's semantics map onto Gateway API (the fidelity report, `fidelity`, says
//! where they do not): path matches that select the runtime's route for every structurally
//! normal path (`rules`); the `CORS` filter answers preflights itself and allows exactly the
//! origins the runtime allows; a preflight whose method or headers the runtime refuses is
//! answered with the configured lists, which the browser then refuses. What core Gateway API
//! cannot do (refuse a request for CSRF or a WebSocket origin, make a nonce, hold more than 64
//! origins, strip the application's own CORS headers, apply the path-form rule) is an error
//! unless accepted through [`crate::emit::Loss`].
//!
//! Its parts, bottom up: `yaml` (quoting, the writer), `rules` (scopes, path matches, what a
//! filter field can hold), `fidelity` (the report); this file writes the objects.

mod yaml;

mod rules;

mod fidelity;

use std::path::{Path, PathBuf};

use self::rules::Scope;
use self::yaml::{q, Doc};
use crate::emit::{File, Loss, Unsupported, GENERATED};
use crate::{Compilation, Lowered};

/// The Gateway (or listener) the routes attach to: `[NAMESPACE/]NAME[:SECTION]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentRef {
    /// The Gateway's namespace (`None`: the route's own).
    pub namespace: Option<String>,
    /// The Gateway's name.
    pub name: String,
    /// The listener's name (`sectionName`).
    pub section: Option<String>,
}

/// Whether `s` is a DNS label (RFC 1123): lowercase letters, digits and `-`, at most 63.
fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Whether `s` is a DNS subdomain (RFC 1123): labels joined by `.`, at most 253.
fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(dns_label)
}

impl std::str::FromStr for ParentRef {
    type Err = String;

    fn from_str(s: &str) -> Result<ParentRef, String> {
        let (namespace, rest) = match s.split_once('/') {
            Some((ns, rest)) => (Some(ns), rest),
            None => (None, s),
        };
        let (name, section) = match rest.split_once(':') {
            Some((n, sec)) => (n, Some(sec)),
            None => (rest, None),
        };
        if let Some(ns) = namespace {
            if !dns_label(ns) {
                return Err(format!("`{ns}` is not a namespace name (a DNS label: lowercase letters, digits and `-`)"));
            }
        }
        if !dns_subdomain(name) {
            return Err(format!(
                "`{name}` is not a Gateway name (lowercase letters, digits, `-` and `.`)"
            ));
        }
        if let Some(sec) = section {
            if !dns_subdomain(sec) {
                return Err(format!(
                    "`{sec}` is not a listener name (lowercase letters, digits, `-` and `.`)"
                ));
            }
        }
        Ok(ParentRef {
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
            section: section.map(str::to_string),
        })
    }
}

/// The Service every rule sends requests to: `SERVICE:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    /// The Service's name.
    pub service: String,
    /// Its port.
    pub port: u16,
}

impl std::str::FromStr for Backend {
    type Err = String;

    fn from_str(s: &str) -> Result<Backend, String> {
        let Some((service, port)) = s.rsplit_once(':') else {
            return Err(format!("`{s}` is not SERVICE:PORT"));
        };
        if !dns_label(service) {
            return Err(format!(
                "`{service}` is not a Service name (a DNS label: lowercase letters, digits and `-`)"
            ));
        }
        match port.parse::<u16>() {
            Ok(p) if p > 0 && !port.starts_with('0') => Ok(Backend {
                service: service.to_string(),
                port: p,
            }),
            _ => Err(format!("`{port}` is not a port (1 to 65535)")),
        }
    }
}

/// Options for [`emit`].
#[derive(Debug, Clone)]
pub struct Options {
    /// The Gateway the routes attach to (`--parent-ref`).
    pub parent_ref: ParentRef,
    /// The Service requests go to (`--backend`).
    pub backend: Backend,
    /// `metadata.namespace` of every object (`--namespace`); none written without it.
    pub namespace: Option<String>,
    /// `--envoy-gateway`: the Envoy Gateway `SecurityPolicy` add-on for CSRF and WebSocket
    /// checks. Not available yet: [`emit`] refuses it.
    pub envoy_gateway: bool,
    /// The exact command or API call that generated the files (for the header comment).
    pub generated_by: String,
    /// What the user accepts losing (`--accept-loss`): listed in the header comment.
    pub accepted: Vec<Loss>,
}

/// The fidelity report: every difference between a conformant implementation and the runtime,
/// at the policy line (errors first: GL1201, GL1202 and GL1301-GL1305 unless accepted, and
/// GL1310-GL1312; then the warnings GL1320-GL1322, where only the wire differs).
pub fn report(
    compilation: &Compilation,
    lowered: &Lowered,
    opts: &Options,
) -> Vec<crate::diag::Diagnostic> {
    fidelity_report(compilation, lowered, &opts.accepted)
}

/// [`report`] given only what it depends on: the losses accepted.
pub fn fidelity_report(
    compilation: &Compilation,
    lowered: &Lowered,
    accepted: &[Loss],
) -> Vec<crate::diag::Diagnostic> {
    fidelity::report(compilation, lowered, accepted)
}

/// The most rules one `HTTPRoute` holds.
const RULES_PER_ROUTE: usize = 16;

/// The most headers one `ResponseHeaderModifier` list holds.
const MODIFIER_LIMIT: usize = 16;

/// The longest header value an `HTTPHeader` holds.
const VALUE_LIMIT: usize = 4096;

/// The files: `httproutes.yaml`, whose first line holds [`GENERATED`] and whose header
/// comment lists the accepted losses. Refused when the report has an error, or with
/// `envoy_gateway` (the add-on is not available).
pub fn emit(
    compilation: &Compilation,
    lowered: &Lowered,
    opts: &Options,
) -> Result<Vec<File>, Unsupported> {
    if opts.envoy_gateway {
        return Err(Unsupported(
            "the Envoy Gateway add-on (--envoy-gateway) is not available; export without it and accept the csrf and websocket losses".to_string(),
        ));
    }
    let errors: Vec<String> = report(compilation, lowered, opts)
        .into_iter()
        .filter(crate::diag::Diagnostic::is_error)
        .map(|d| {
            let (f, line, _) = compilation.sources.location(d.span);
            format!("{} at {f}:{line}: {}", d.code, d.message)
        })
        .collect();
    if !errors.is_empty() {
        return Err(Unsupported(format!(
            "Gateway API cannot carry this policy: {}",
            errors.join("; ")
        )));
    }
    if let Some(ns) = &opts.namespace {
        if !dns_label(ns) {
            return Err(Unsupported(format!(
                "`{ns}` is not a namespace name (a DNS label: lowercase letters, digits and `-`)"
            )));
        }
    }
    let scopes = rules::scopes(lowered)?;
    let base = base_name(compilation, lowered);
    let mut text = String::new();
    text.push_str(&format!("# {GENERATED} {}\n", opts.generated_by));
    text.push_str(&format!(
        "# Gateway API v1 HTTPRoutes for profile `{}` (spec/gateway-api.md). Apply with kubectl apply -f.\n",
        lowered.profile
    ));
    let accepted = crate::emit::accepted_lines(
        compilation,
        lowered,
        crate::emit::Engine::GatewayApi,
        &opts.accepted,
    );
    if !accepted.is_empty() {
        text.push_str("# Accepted losses (--accept-loss):\n");
        for l in accepted {
            text.push_str(&format!("# - {l}\n"));
        }
    }
    for scope in &scopes {
        let scope_name = match scope.block {
            None => "top".to_string(),
            Some(b) => format!("host{}", b + 1),
        };
        for (n, chunk) in scope.rules.chunks(RULES_PER_ROUTE).enumerate() {
            text.push_str("---\n");
            text.push_str(&route_doc(
                lowered,
                opts,
                scope,
                chunk,
                &format!("{base}-{scope_name}-{}", n + 1),
            )?);
        }
    }
    Ok(vec![File {
        path: "httproutes.yaml".to_string(),
        text,
    }])
}

/// Writes `files` under `dir` and removes every other YAML file there that an emitter wrote
/// (its first line holds [`GENERATED`]): `DIR` holds no other generated YAML. Returns the
/// files written.
pub fn write(dir: &Path, files: &[File]) -> std::io::Result<Vec<PathBuf>> {
    let written = crate::emit::write(dir, files, &[])?;
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        let yaml = p.extension().is_some_and(|x| x == "yaml" || x == "yml");
        let generated = std::fs::read_to_string(&p)
            .is_ok_and(|t| t.lines().next().is_some_and(|l| l.contains(GENERATED)));
        if yaml && generated && !written.contains(&p) {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(written)
}

/// The objects' name prefix: the stem of the file holding the policy's first route (or of
/// the first file), as a DNS label of at most 40 characters.
fn base_name(compilation: &Compilation, lowered: &Lowered) -> String {
    let file = lowered
        .provenance
        .routes
        .first()
        .map(|r| compilation.sources.location(r.span).0.to_string())
        .unwrap_or_default();
    let stem = Path::new(&file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("guestlist");
    let mut out = String::new();
    for c in stem.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(40).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        "guestlist".to_string()
    } else {
        out
    }
}

/// One `HTTPRoute` with `rules`.
fn route_doc(
    lowered: &Lowered,
    opts: &Options,
    scope: &Scope,
    rules: &[rules::Rule],
    name: &str,
) -> Result<String, Unsupported> {
    let mut d = Doc::default();
    d.line(0, "apiVersion: gateway.networking.k8s.io/v1");
    d.line(0, "kind: HTTPRoute");
    d.line(0, "metadata:");
    d.line(1, &format!("name: {}", q(name)));
    if let Some(ns) = &opts.namespace {
        d.line(1, &format!("namespace: {}", q(ns)));
    }
    d.line(1, "labels:");
    d.line(2, "app.kubernetes.io/managed-by: \"guestlist\"");
    d.line(0, "spec:");
    d.line(1, "parentRefs:");
    d.line(1, &format!("- name: {}", q(&opts.parent_ref.name)));
    if let Some(ns) = &opts.parent_ref.namespace {
        d.line(2, &format!("namespace: {}", q(ns)));
    }
    if let Some(s) = &opts.parent_ref.section {
        d.line(2, &format!("sectionName: {}", q(s)));
    }
    if !scope.hostnames.is_empty() {
        d.list(1, "hostnames", scope.hostnames.iter().map(String::as_str));
    }
    d.line(1, "rules:");
    for rule in rules {
        d.line(1, "- matches:");
        d.line(2, "- path:");
        d.line(4, &format!("type: {}", q(rule.path.kind())));
        d.line(4, &format!("value: {}", q(rule.path.value())));
        if let Some(r) = rule.route {
            filters(&mut d, lowered, opts, r)?;
        }
        d.line(2, "backendRefs:");
        d.line(2, &format!("- name: {}", q(&opts.backend.service)));
        d.line(3, &format!("port: {}", opts.backend.port));
    }
    Ok(d.finish())
}

/// The filters of a rule that carries policy route `r`.
fn filters(d: &mut Doc, lowered: &Lowered, opts: &Options, r: usize) -> Result<(), Unsupported> {
    let policy = &lowered.policy;
    let Some(route) = policy.routes().get(r) else {
        return Err(Unsupported(format!("no route {r}")));
    };
    let cors = route.cors().and_then(|i| lowered.spec.cors.get(i as usize));
    // The ResponseHeaderModifier's lists.
    let mut set: Vec<(String, String)> = Vec::new();
    let mut remove: Vec<String> = Vec::new();
    let mut failed = None;
    policy.for_each_guard_header(route.guards(), None, |h| {
        let name = h.name.as_str().to_string();
        let value = match h.value {
            guestlist::GuardValue::Fixed(v) => {
                crate::emit::header_text(&name, v.as_bytes()).map(str::to_string)
            }
            guestlist::GuardValue::Csp(c) if c.has_nonce() => return,
            guestlist::GuardValue::Csp(c) => crate::emit::csp_text(c),
        };
        match value {
            Ok(v) => set.push((display_name(&name), v)),
            Err(e) => failed = Some(e),
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    if let Some(hs) = route
        .guards()
        .headers
        .and_then(|i| policy.header_sets().get(i as usize))
    {
        remove.extend(hs.remove().iter().map(|n| display_name(n.as_str())));
    }
    let vary = cors.is_some();
    if set.len() > MODIFIER_LIMIT || remove.len() > MODIFIER_LIMIT {
        return Err(Unsupported(format!(
            "route \"{}\" sets or removes more than {MODIFIER_LIMIT} headers, more than a ResponseHeaderModifier holds",
            route.pattern()
        )));
    }
    if let Some((n, _)) = set.iter().find(|(_, v)| v.len() > VALUE_LIMIT) {
        return Err(Unsupported(format!(
            "route \"{}\": the {n} value is longer than the {VALUE_LIMIT} bytes an HTTPRoute header holds",
            route.pattern()
        )));
    }
    if cors.is_none() && set.is_empty() && remove.is_empty() {
        return Ok(());
    }
    d.line(2, "filters:");
    if let Some(c) = cors {
        d.line(2, "- type: \"CORS\"");
        d.line(3, "cors:");
        let origins: Vec<&str> = if c.any_origin {
            vec!["*"]
        } else {
            let mut all: Vec<&str> = c
                .origins
                .iter()
                .chain(c.patterns.iter())
                .map(String::as_str)
                .collect();
            if opts.accepted.contains(&Loss::OriginLimit) {
                all.truncate(crate::emit::ORIGIN_LIMIT);
            }
            all
        };
        d.list(4, "allowOrigins", origins);
        if c.any_method {
            d.list(4, "allowMethods", ["*"]);
        } else if !c.methods.is_empty() {
            d.list(4, "allowMethods", c.methods.iter().map(String::as_str));
        }
        if !c.headers.is_empty() {
            d.list(4, "allowHeaders", c.headers.iter().map(String::as_str));
        }
        if c.expose_any {
            d.list(4, "exposeHeaders", ["*"]);
        } else if !c.expose.is_empty() {
            d.list(4, "exposeHeaders", c.expose.iter().map(String::as_str));
        }
        if let Some(m) = c.max_age {
            d.line(4, &format!("maxAge: {m}"));
        }
        if c.credentials {
            d.line(4, "allowCredentials: true");
        }
    }
    if !set.is_empty() || !remove.is_empty() || vary {
        d.line(2, "- type: \"ResponseHeaderModifier\"");
        d.line(3, "responseHeaderModifier:");
        if !set.is_empty() {
            d.line(4, "set:");
            for (n, v) in &set {
                d.line(4, &format!("- name: {}", q(n)));
                d.line(5, &format!("value: {}", q(v)));
            }
        }
        if vary {
            d.line(4, "add:");
            d.line(4, "- name: \"Vary\"");
            d.line(5, "value: \"Origin\"");
        }
        if !remove.is_empty() {
            d.list(4, "remove", remove.iter().map(String::as_str));
        }
    }
    Ok(())
}

/// A lowercase header name as conventionally written (`x-frame-options` ->
/// `X-Frame-Options`): header names are case-insensitive, this only reads better.
fn display_name(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_ref_and_backend() {
        let p: ParentRef = "infra/gw:https".parse().unwrap();
        assert_eq!(p.namespace.as_deref(), Some("infra"));
        assert_eq!(p.name, "gw");
        assert_eq!(p.section.as_deref(), Some("https"));
        assert!("Gw".parse::<ParentRef>().is_err());
        let b: Backend = "app:8080".parse().unwrap();
        assert_eq!((b.service.as_str(), b.port), ("app", 8080));
        assert!("app:0".parse::<Backend>().is_err());
        assert!("app".parse::<Backend>().is_err());
        assert_eq!(display_name("x-frame-options"), "X-Frame-Options");
    }
}
