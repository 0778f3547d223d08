//! Typed declarations: what the checker made of the syntax tree, and the model both the checker
//! and lowering read (origins, header sets, the nonce marker). Names are not yet resolved into
//! tables and profiles are not yet applied; `lower.rs` does that for one profile.

pub mod headers;

/// A checked origin (`guestlist-origins` parses and validates the text; `lower` stores the
/// canonical form in the runtime's tables).
pub use guestlist_origins::Origin;

use crate::source::Span;

/// The name of the default (production) profile.
pub const DEFAULT_PROFILE: &str = "default";

/// `when NAME`: the profile a setting or block is limited to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct When {
    /// Profile name.
    pub profile: String,
    /// Where it was written.
    pub span: Span,
}

/// A condition: `None` means every profile.
pub type Cond = Option<When>;

/// Whether a condition holds in `profile`.
pub fn active(cond: &Cond, profile: &str) -> bool {
    cond.as_ref().is_none_or(|w| w.profile == profile)
}

/// One entry of a list setting, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<T> {
    /// The value.
    pub value: T,
    /// The value's span.
    pub span: Span,
    /// The whole setting line.
    pub line: Span,
    /// The line's condition.
    pub when: Cond,
}

/// An entry of an origin list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginRef {
    /// `*`.
    Any,
    /// A checked origin literal.
    Literal(Origin),
    /// A set name.
    Set(String),
}

/// A list entry of methods or headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListValue {
    /// `*`.
    Any,
    /// A name (methods normalized, headers as written).
    Name(String),
}

/// Whether `method` is CORS-safelisted (`GET`, `HEAD`, `POST`, byte for byte, as browsers send
/// them): a preflight never asks for it, so no `allow-methods` line needs to list it.
pub fn is_safelisted_method(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "POST")
}

/// `dangerously-allow CODE "reason"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptOut {
    /// The code it lowers.
    pub code: String,
    /// Why (never empty).
    pub reason: String,
    /// Where.
    pub span: Span,
}

/// `origins NAME { ... }`.
#[derive(Debug, Clone)]
pub struct OriginSet {
    /// Name.
    pub name: String,
    /// Name span.
    pub name_span: Span,
    /// Head span.
    pub head_span: Span,
    /// Block condition.
    pub when: Cond,
    /// Entries (invalid literals are left out; they were reported).
    pub items: Vec<Entry<OriginRef>>,
    /// How many entries were invalid (so "allows no origin" is not reported on top).
    pub invalid: usize,
    /// Opt-outs.
    pub optouts: Vec<OptOut>,
    /// For `origins NAME provided ...`: the entries are supplied at run time (`items` is
    /// empty).
    pub provided: Option<Provided>,
}

/// How a set supplied at run time (`origins NAME provided`) may be filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provided {
    /// `tenant-bound`: each entry is `ORIGIN KEY`, and the matched key reaches the
    /// application, which checks that the session belongs to that tenant.
    pub tenant_bound: bool,
    /// `patterns`: entries may be `https://*.example.com` patterns.
    pub patterns: bool,
}

/// `cors NAME { ... }`.
#[derive(Debug, Clone)]
pub struct CorsDecl {
    /// Name.
    pub name: String,
    /// Name span.
    pub name_span: Span,
    /// Head span.
    pub head_span: Span,
    /// Block condition.
    pub when: Cond,
    /// `allow-origins` entries.
    pub origins: Vec<Entry<OriginRef>>,
    /// How many `allow-origins` entries were invalid or named an unknown set.
    pub invalid: usize,
    /// `allow-credentials`.
    pub credentials: Vec<Entry<bool>>,
    /// `allow-methods`.
    pub methods: Vec<Entry<ListValue>>,
    /// `allow-headers`.
    pub headers: Vec<Entry<ListValue>>,
    /// `expose-headers`.
    pub expose: Vec<Entry<ListValue>>,
    /// `max-age` in seconds.
    pub max_age: Vec<Entry<i64>>,
    /// Opt-outs.
    pub optouts: Vec<OptOut>,
}

/// `route "PATTERN" { ... }`.
#[derive(Debug, Clone)]
pub struct RouteDecl {
    /// The pattern (`/x` or `/x/*`).
    pub pattern: String,
    /// The pattern's span.
    pub span: Span,
    /// The head span.
    pub head_span: Span,
    /// Block condition.
    pub when: Cond,
    /// The `host` block holding this route (an index into [`Program::hosts`]); `None` for a
    /// top-level route.
    pub host: Option<usize>,
    /// `cors NAME` lines.
    pub cors: Vec<Entry<String>>,
    /// `csp NAME` lines.
    pub csp: Vec<Entry<String>>,
    /// `headers NAME` lines (`default` is the built-in set).
    pub headers: Vec<Entry<String>>,
    /// `csrf NAME` lines.
    pub csrf: Vec<Entry<String>>,
    /// `websocket NAME` lines.
    pub websocket: Vec<Entry<String>>,
}

/// One line of a `csp` block: a directive and its source expressions as written.
#[derive(Debug, Clone)]
pub struct CspLine {
    /// The directive name (lowercase, as checked).
    pub name: String,
    /// The name's span.
    pub name_span: Span,
    /// The values, as written (words or strings).
    pub values: Vec<(String, Span)>,
    /// The whole line.
    pub line: Span,
    /// The line's condition.
    pub when: Cond,
}

/// The source expression that stands for the per-response nonce (`'nonce-...'` in the header).
pub const NONCE: &str = "'nonce'";

/// `csp NAME { ... }`.
#[derive(Debug, Clone)]
pub struct CspDecl {
    /// Name.
    pub name: String,
    /// Name span.
    pub name_span: Span,
    /// Head span.
    pub head_span: Span,
    /// Block condition.
    pub when: Cond,
    /// Directives, in order (`report-to` included; `report-only` is not a directive).
    pub directives: Vec<CspLine>,
    /// `report-only` lines.
    pub report_only: Vec<Entry<()>>,
    /// `report-to NAME "URL"` endpoints: (name, URL).
    pub endpoints: Vec<Entry<(String, String)>>,
    /// Opt-outs.
    pub optouts: Vec<OptOut>,
}

/// One header of a `headers` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLine {
    /// Lowercase header name.
    pub name: String,
    /// The serialized value.
    pub value: String,
}

/// `headers NAME { ... }`.
#[derive(Debug, Clone)]
pub struct HeadersDecl {
    /// Name.
    pub name: String,
    /// Name span.
    pub name_span: Span,
    /// Head span.
    pub head_span: Span,
    /// Block condition.
    pub when: Cond,
    /// `include default` lines: start from the built-in set.
    pub include_default: Vec<Entry<()>>,
    /// Headers set, in order.
    pub set: Vec<Entry<HeaderLine>>,
    /// `remove NAME...` entries (lowercase).
    pub remove: Vec<Entry<String>>,
}

/// `csrf NAME { ... }`.
#[derive(Debug, Clone)]
pub struct CsrfDecl {
    /// Name.
    pub name: String,
    /// Name span.
    pub name_span: Span,
    /// Head span.
    pub head_span: Span,
    /// Block condition.
    pub when: Cond,
    /// `trusted-origins` (exact, canonical).
    pub trusted: Vec<Entry<String>>,
    /// `trusted-origins` naming origins sets ([`OriginRef::Set`]): a static set's exact
    /// entries are trusted; a provided set's are supplied at run time.
    pub trusted_sets: Vec<Entry<OriginRef>>,
    /// `self-origins` (exact, canonical).
    pub self_origins: Vec<Entry<String>>,
    /// `same-site allow|reject`.
    pub same_site: Vec<Entry<bool>>,
    /// `missing-headers allow|reject` (`true` = reject).
    pub missing: Vec<Entry<bool>>,
    /// `exempt METHOD "PATTERN"`.
    pub exempt: Vec<Entry<(String, String)>>,
    /// `token header "H" cookie "__Host-C" bind-to cookie "S" [same-site lax|strict]`.
    pub token: Vec<Entry<guestlist::TokenSpec>>,
    /// Opt-outs.
    pub optouts: Vec<OptOut>,
}

/// `websocket NAME { ... }`.
#[derive(Debug, Clone)]
pub struct WebSocketDecl {
    /// Name.
    pub name: String,
    /// Name span.
    pub name_span: Span,
    /// Head span.
    pub head_span: Span,
    /// Block condition.
    pub when: Cond,
    /// `allow-origins` entries (`same-origin` is kept as the set name `same-origin`).
    pub origins: Vec<Entry<OriginRef>>,
    /// `allow-origins same-origin` entries.
    pub same_origin: Vec<Entry<()>>,
    /// How many entries were invalid.
    pub invalid: usize,
    /// `missing-origin allow|reject` (`true` = allow).
    pub missing: Vec<Entry<bool>>,
    /// Opt-outs.
    pub optouts: Vec<OptOut>,
}

/// `test "NAME" { ... }`.
#[derive(Debug, Clone)]
pub struct TestDecl {
    /// The test's name.
    pub name: String,
    /// Head span.
    pub head_span: Span,
    /// `request METHOD "PATH"`.
    pub method: String,
    /// The path.
    pub path: String,
    /// `header NAME VALUE`, in order.
    pub headers: Vec<(String, String)>,
    /// `profile NAME`.
    pub profile: Option<String>,
    /// `expect KIND`.
    pub expect: guestlist::Kind,
    /// The `expect` line.
    pub expect_span: Span,
    /// `expect-header NAME VALUE`.
    pub expect_headers: Vec<(String, String, Span)>,
    /// `expect-no-header NAME`.
    pub expect_absent: Vec<(String, Span)>,
    /// `csrf-token KIND`: attach a token made with the test secret (`valid`, `other-session`,
    /// `tampered`, `malformed`, `cookie-only`, `header-only`).
    pub csrf_token: Option<String>,
    /// `origins NAME "ORIGIN"...`: entries supplied to a set declared `origins NAME provided`
    /// for this test (in a tenant-bound set, each with the key `test`), and the line.
    pub origins: Vec<(String, Vec<String>, Span)>,
}

/// An origin entry of a CORS policy as it applies in one profile, with sets expanded.
#[derive(Debug, Clone, Copy)]
pub struct EffectiveOrigin<'a> {
    /// The entry (never [`OriginRef::Set`]).
    pub value: &'a OriginRef,
    /// Where the entry was written.
    pub span: Span,
    /// The `allow-origins` entry that named the set it came from.
    pub via: Option<Span>,
}

/// An `allow-origins` entry that names a set limited to another profile.
#[derive(Debug, Clone, Copy)]
pub struct InactiveSet<'a> {
    /// The set's name.
    pub name: &'a str,
    /// The `allow-origins` entry.
    pub entry: Span,
    /// The set.
    pub set: &'a OriginSet,
}

/// Everything declared in a policy (all files).
#[derive(Debug, Clone, Default)]
pub struct Program {
    /// Origin sets.
    pub sets: Vec<OriginSet>,
    /// CORS policies.
    pub cors: Vec<CorsDecl>,
    /// CSP policies.
    pub csp: Vec<CspDecl>,
    /// Security header sets.
    pub headers: Vec<HeadersDecl>,
    /// CSRF policies.
    pub csrf: Vec<CsrfDecl>,
    /// WebSocket origin policies.
    pub websocket: Vec<WebSocketDecl>,
    /// Routes, in declaration order.
    pub routes: Vec<RouteDecl>,
    /// Tests.
    pub tests: Vec<TestDecl>,
    /// Profile names used in `when` (sorted), not including the default.
    pub profiles: Vec<String>,
    /// The `paths` block, if any.
    pub paths: Option<PathsDecl>,
    /// `host "PATTERN"... { route ... }` blocks, in declaration order.
    pub hosts: Vec<HostDecl>,
    /// Where `hosts dispatched-by-application` is declared, if it is.
    pub hosts_dispatched: Option<Span>,
}

/// `host "PATTERN"... { route ... }`.
#[derive(Debug, Clone)]
pub struct HostDecl {
    /// The patterns (at least one when the block is well-formed).
    pub patterns: Vec<HostPattern>,
    /// The block's head.
    pub head_span: Span,
}

/// One host pattern: `api.example.com`, `api.example.net:8443`, `*.example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// The host, lowercase, without the `*.` of a wildcard.
    pub host: String,
    /// `*.` before the host: one or more labels under it, never the host itself.
    pub wildcard: bool,
    /// The port, when one is written.
    pub port: Option<u16>,
    /// The pattern's span (inside the quotes).
    pub span: Span,
}

impl HostPattern {
    /// The pattern as written canonically: lowercase, `*.` and `:PORT` where they apply.
    pub fn text(&self) -> String {
        let mut s = String::new();
        if self.wildcard {
            s.push_str("*.");
        }
        s.push_str(&self.host);
        if let Some(p) = self.port {
            s.push(':');
            s.push_str(&p.to_string());
        }
        s
    }

    /// Whether a request authority (lowercase, one trailing dot of its host dropped) matches.
    pub fn matches(&self, authority: &str) -> bool {
        let (host, port) = split_port(authority);
        if port != self.port {
            return false;
        }
        if self.wildcard {
            host.strip_suffix(self.host.as_str())
                .and_then(|labels| labels.strip_suffix('.'))
                .is_some_and(|labels| !labels.is_empty())
        } else {
            host == self.host
        }
    }
}

/// An authority's host and port (`None` without one, or when what follows `:` is no port).
fn split_port(authority: &str) -> (&str, Option<u16>) {
    match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()),
        _ => (authority, None),
    }
}

/// `paths { non-normal ... }`.
#[derive(Debug, Clone)]
pub struct PathsDecl {
    /// What a path with dot segments gets.
    pub non_normal: guestlist::NonNormalPaths,
    /// The block's head.
    pub span: Span,
    /// The `non-normal` line.
    pub line: Option<Span>,
}

impl Program {
    /// Every profile: the default first, then the named ones.
    pub fn all_profiles(&self) -> Vec<String> {
        let mut v = vec![DEFAULT_PROFILE.to_string()];
        v.extend(self.profiles.iter().cloned());
        v
    }

    /// Whether `name` is a known profile.
    pub fn has_profile(&self, name: &str) -> bool {
        name == DEFAULT_PROFILE || self.profiles.iter().any(|p| p == name)
    }

    /// A set by name.
    pub fn set(&self, name: &str) -> Option<&OriginSet> {
        self.sets.iter().find(|s| s.name == name)
    }

    /// The origins `c` allows in `profile`, sets expanded, and the entries naming a set that
    /// does not exist in `profile` (the checker reports those; lowering skips them).
    pub fn effective_origins<'a>(
        &'a self,
        c: &'a CorsDecl,
        profile: &str,
    ) -> (Vec<EffectiveOrigin<'a>>, Vec<InactiveSet<'a>>) {
        self.expand_origins(&c.origins, profile)
    }

    /// [`Program::effective_origins`] for any origin list (cors and websocket blocks).
    pub fn expand_origins<'a>(
        &'a self,
        list: &'a [Entry<OriginRef>],
        profile: &str,
    ) -> (Vec<EffectiveOrigin<'a>>, Vec<InactiveSet<'a>>) {
        let mut origins = Vec::new();
        let mut inactive = Vec::new();
        for e in list.iter().filter(|e| active(&e.when, profile)) {
            match &e.value {
                OriginRef::Set(name) => {
                    let Some(set) = self.set(name) else { continue };
                    if !active(&set.when, profile) {
                        inactive.push(InactiveSet {
                            name,
                            entry: e.span,
                            set,
                        });
                        continue;
                    }
                    for item in set.items.iter().filter(|i| active(&i.when, profile)) {
                        origins.push(EffectiveOrigin {
                            value: &item.value,
                            span: item.span,
                            via: Some(e.span),
                        });
                    }
                }
                other => origins.push(EffectiveOrigin {
                    value: other,
                    span: e.span,
                    via: None,
                }),
            }
        }
        (origins, inactive)
    }

    /// The sets supplied at run time (`origins NAME provided`) that `list` names in `profile`,
    /// each with the span of the entry naming it, in the list's order, each once.
    pub fn provided_in<'a>(
        &'a self,
        list: &'a [Entry<OriginRef>],
        profile: &str,
    ) -> Vec<(&'a OriginSet, Span)> {
        let mut out: Vec<(&OriginSet, Span)> = Vec::new();
        for e in list.iter().filter(|e| active(&e.when, profile)) {
            let OriginRef::Set(name) = &e.value else {
                continue;
            };
            let Some(set) = self.set(name) else { continue };
            if set.provided.is_some()
                && active(&set.when, profile)
                && !out.iter().any(|(s, _)| s.name == set.name)
            {
                out.push((set, e.span));
            }
        }
        out
    }

    /// How the policy uses the set `name`, over every profile, for checking its supplied
    /// entries in the strictest context: credentials when a cors policy with
    /// `allow-credentials true` (in any profile) names it, csrf when a csrf policy trusts it.
    pub fn supplied_context(&self, name: &str, patterns: bool) -> guestlist_origins::Context {
        let names = |list: &[Entry<OriginRef>]| {
            list.iter()
                .any(|e| matches!(&e.value, OriginRef::Set(n) if n == name))
        };
        guestlist_origins::Context {
            credentials: self
                .cors
                .iter()
                .any(|c| names(&c.origins) && c.credentials.iter().any(|e| e.value)),
            patterns,
            csrf: self.csrf.iter().any(|c| names(&c.trusted_sets)),
        }
    }

    /// The static origins of every cors policy that names the set `name` in some profile, in
    /// that profile (sets expanded), and whether one of those policies allows `*`: what a
    /// supplied entry of the set may not overlap.
    pub fn static_origins_beside(&self, name: &str) -> (bool, Vec<&guestlist_origins::Origin>) {
        let mut any = false;
        let mut out: Vec<&guestlist_origins::Origin> = Vec::new();
        for profile in self.all_profiles() {
            for c in self.cors.iter().filter(|c| active(&c.when, &profile)) {
                if !self
                    .provided_in(&c.origins, &profile)
                    .iter()
                    .any(|(s, _)| s.name == name)
                {
                    continue;
                }
                for e in self.effective_origins(c, &profile).0 {
                    match e.value {
                        OriginRef::Any => any = true,
                        OriginRef::Literal(o) if !out.contains(&o) => out.push(o),
                        OriginRef::Literal(_) | OriginRef::Set(_) => {}
                    }
                }
            }
        }
        (any, out)
    }

    /// A CORS policy by name.
    pub fn cors_decl(&self, name: &str) -> Option<(usize, &CorsDecl)> {
        self.cors.iter().enumerate().find(|(_, c)| c.name == name)
    }
}
