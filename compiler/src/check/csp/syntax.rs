//! The syntax lints (the Evaluator's SYNTAX findings and the spec's grammar checks): each
//! directive's name (unknown, deprecated, set twice), values that would end a directive, and
//! each value against its directive's grammar (keywords, nonces, hashes, sources, sandbox
//! tokens). Built on `grammar`; what passes is what the other families read.

use super::grammar::{
    all_directives, d, is_base64, is_directive, is_host_source, is_nonce_or_hash, is_scheme_source,
    Dir, Directives, DEPRECATED, FETCH, KEYWORDS, OTHER_SL, SANDBOX,
};
use crate::check::checker::did_you_mean;
use crate::diag::Diagnostic;
use crate::ir::{CspLine, NONCE};

/// The directives of `lines` that a browser reads, each with the values that can be read as
/// sources (the first of two lines with one name; none with an unknown name).
pub(super) fn directives<'a>(lines: &[&'a CspLine], out: &mut Vec<Diagnostic>) -> Directives<'a> {
    let mut dirs = Directives::default();
    for &l in lines {
        let name = l.name.as_str();
        if !is_directive(name) {
            let mut x = d(
                "GL0801",
                l.name_span,
                format!("unknown CSP directive `{name}`"),
            )
            .label("browsers ignore it");
            x = match did_you_mean(name.trim_end_matches(':'), all_directives()) {
                Some(s) => x.help(format!("did you mean `{s}`?")),
                None if name.ends_with(':') => x.help("directive names have no `:`"),
                None => x.help("see spec/language.md, \"csp\", for the directives guestlist knows"),
            };
            out.push(x);
            continue;
        }
        if let Some(first) = dirs.get(name) {
            let first_span = first.line.name_span;
            out.push(
                d("GL0828", l.name_span, format!("`{name}` is set twice"))
                    .label("browsers ignore this one: the first wins")
                    .secondary(first_span, "first set here")
                    .help("merge the two lines"),
            );
            continue;
        }
        if DEPRECATED.contains(&name) {
            out.push(
                d("GL0820", l.name_span, format!("`{name}` is deprecated"))
                    .label("removed from CSP, or never implemented")
                    .help(match name {
                        "block-all-mixed-content" => "use `upgrade-insecure-requests`",
                        "prefetch-src" => {
                            "prefetches are covered by `default-src` in current browsers"
                        }
                        "referrer" => {
                            "use the Referrer-Policy header (`referrer-policy` in a headers block)"
                        }
                        "reflected-xss" => "remove it; use a strict script-src",
                        _ => "remove it",
                    }),
            );
        }
        let mut values = Vec::new();
        for (v, span) in &l.values {
            if !guestlist::is_header_value(v.as_bytes()) {
                // GL0839, reported where the block was read.
                continue;
            }
            if v.contains([',', ';']) {
                out.push(
                    d("GL0831", *span, format!("`{v}` contains `,` or `;`"))
                        .label("this would end the directive or the policy")
                        .help("write one source per value, separated by spaces; each directive goes on its own line"),
                );
                continue;
            }
            values.push((v.as_str(), *span));
        }
        dirs.push(Dir { line: l, values });
    }
    dirs
}

/// Checks each value against its directive's grammar.
pub(super) fn value_checks(x: &Dir<'_>, out: &mut Vec<Diagnostic>) {
    let name = x.line.name.as_str();
    let sl = FETCH.contains(&name) || OTHER_SL.contains(&name);
    let no_value = matches!(
        name,
        "upgrade-insecure-requests" | "block-all-mixed-content"
    );
    if no_value && !x.values.is_empty() {
        if let Some((_, s)) = x.values.first() {
            out.push(
                d("GL0840", *s, format!("`{name}` takes no value"))
                    .label("unexpected")
                    .help(format!("write `{name}` alone")),
            );
        }
        return;
    }
    if sl && x.values.is_empty() {
        out.push(
            d(
                "GL0840",
                x.line.name_span,
                format!("`{name}` needs a source list"),
            )
            .label("an empty list means 'none'")
            .help(format!("write `{name} 'none'` if that is what you mean")),
        );
        return;
    }
    let has_none = x.has("'none'");
    if has_none && x.values.len() > 1 {
        out.push(
            d(
                "GL0829",
                x.span_of("'none'"),
                "'none' next to other sources",
            )
            .label("'none' is ignored when other sources are listed")
            .help("remove 'none', or the other sources"),
        );
    }
    for (v, span) in &x.values {
        let l = v.to_ascii_lowercase();
        if is_directive(&l) && !matches!(name, "sandbox" | "trusted-types" | "report-to") {
            out.push(
                d("GL0802", *span, format!("`{v}` is a directive name"))
                    .label("a missing line break or `;`?")
                    .help("put each directive on its own line"),
            );
            continue;
        }
        let unquoted_kw = KEYWORDS.iter().any(|k| k.trim_matches('\'') == l)
            || l == "nonce"
            || l.starts_with("nonce-")
            || l.starts_with("sha256-")
            || l.starts_with("sha384-")
            || l.starts_with("sha512-");
        match name {
            "sandbox" => {
                if !SANDBOX.contains(&l.as_str()) {
                    out.push(
                        d("GL0840", *span, format!("`{v}` is not a sandbox token"))
                            .label("ignored")
                            .help(format!("sandbox takes: {}", SANDBOX.join(", "))),
                    );
                }
                continue;
            }
            "report-uri" => {
                if !(l.starts_with("https://") || l.starts_with("http://") || l.starts_with('/')) {
                    out.push(
                        d("GL0840", *span, format!("`{v}` is not a report URL"))
                            .label("expected a URL")
                            .help("write `report-uri \"https://reports.example.com/csp\"`"),
                    );
                }
                continue;
            }
            "report-to" => continue,
            "webrtc" => {
                if l != "'allow'" && l != "'block'" {
                    out.push(
                        d("GL0803", *span, format!("`{v}` is not a webrtc value"))
                            .label("expected 'allow' or 'block'")
                            .help("write `webrtc 'block'`"),
                    );
                }
                continue;
            }
            "require-trusted-types-for" => {
                if l != "'script'" {
                    out.push(
                        d("GL0803", *span, format!("`{v}` is not valid here"))
                            .label("expected 'script'")
                            .help("write `require-trusted-types-for 'script'`"),
                    );
                }
                continue;
            }
            "trusted-types" => {
                if v.starts_with('\'') && !matches!(l.as_str(), "'none'" | "'allow-duplicates'") {
                    out.push(
                        d(
                            "GL0803",
                            *span,
                            format!("`{v}` is not a trusted-types keyword"),
                        )
                        .label("expected a policy name, 'none' or 'allow-duplicates'")
                        .help("write policy names unquoted"),
                    );
                }
                continue;
            }
            _ => {}
        }
        if unquoted_kw {
            let fixed = format!("'{v}'");
            out.push(
                d("GL0803", *span, format!("`{v}` must be quoted"))
                    .label("unquoted, it is read as a host name")
                    .help(format!("write `{fixed}`"))
                    .fix(*span, fixed),
            );
            continue;
        }
        if v.starts_with('\'') {
            if l == NONCE {
                if name == "frame-ancestors" {
                    out.push(
                        d("GL0832", *span, "nonce in frame-ancestors")
                            .label("frame-ancestors takes origins, 'self' and 'none' only")
                            .help("remove it"),
                    );
                }
                continue;
            }
            if let Some(n) = l.strip_prefix("'nonce-").and_then(|n| n.strip_suffix('\'')) {
                let raw = v.get(7..v.len().saturating_sub(1)).unwrap_or(n);
                out.push(
                    d("GL0830", *span, "a literal nonce")
                        .label("the same nonce on every response is no nonce at all")
                        .help("write `'nonce'`: guestlist puts a fresh 128-bit nonce in each response and hands it to the application"),
                );
                if raw.len() < 8 {
                    out.push(
                        d("GL0817", *span, "nonce shorter than 8 characters")
                            .label("guessable")
                            .help("write `'nonce'`"),
                    );
                }
                if !is_base64(raw) {
                    out.push(
                        d("GL0818", *span, "nonce outside the base64 alphabet")
                            .label("browsers may not match it")
                            .help("write `'nonce'`"),
                    );
                }
                continue;
            }
            if is_nonce_or_hash(v) {
                let raw = v.get(8..v.len().saturating_sub(1)).unwrap_or("");
                if !is_base64(raw) {
                    out.push(
                        d("GL0840", *span, format!("`{v}` is not a valid hash"))
                            .label("expected base64 after sha256-/sha384-/sha512-")
                            .help("write `'sha256-BASE64'`"),
                    );
                } else if name == "frame-ancestors" {
                    out.push(
                        d("GL0832", *span, "hash in frame-ancestors")
                            .label("frame-ancestors takes origins, 'self' and 'none' only")
                            .help("remove it"),
                    );
                }
                continue;
            }
            if !KEYWORDS.contains(&l.as_str()) {
                let mut x = d("GL0803", *span, format!("`{v}` is not a CSP keyword"))
                    .label("unknown keyword");
                x = match did_you_mean(&l, KEYWORDS.iter().copied()) {
                    Some(s) => x.help(format!("did you mean `{s}`?")),
                    None => x.help(
                        "keywords are 'self', 'none', 'strict-dynamic', 'nonce', 'sha256-...', ...",
                    ),
                };
                out.push(x);
                continue;
            }
            if name == "frame-ancestors" && !matches!(l.as_str(), "'self'" | "'none'") {
                out.push(
                    d("GL0832", *span, format!("`{v}` in frame-ancestors"))
                        .label("frame-ancestors takes origins, 'self' and 'none' only")
                        .help("remove it"),
                );
            }
            if l == "'unsafe-inline'" && name.starts_with("style-src") {
                out.push(
                    d("GL0836", *span, "'unsafe-inline' in style-src")
                        .label("injected styles can exfiltrate data")
                        .help("use a nonce or hashes for styles"),
                );
            }
            if l == "'wasm-unsafe-eval'" {
                out.push(
                    d(
                        "GL0837",
                        *span,
                        "'wasm-unsafe-eval' allows compiling WebAssembly",
                    )
                    .label("needed only by pages that run WebAssembly")
                    .help("keep it only where WebAssembly runs"),
                );
            }
            continue;
        }
        if *v == "*" || is_scheme_source(v) || is_host_source(v) {
            continue;
        }
        out.push(
            d("GL0840", *span, format!("`{v}` is not a source expression"))
                .label("expected a host, a scheme such as `https:`, or a quoted keyword")
                .help("write hosts as `cdn.example.com` or `https://cdn.example.com/path/`"),
        );
    }
}
