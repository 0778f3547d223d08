//! Entries of sets supplied at run time, and the checks of one origin that depend on how it is
//! used (credentials, a public suffix), shared with the compiler.

use crate::analyze::{analyze_in, is_public_suffix};
use crate::finding::Finding;
use crate::origin::Origin;

/// The code of a pattern supplied for a set not declared `patterns`.
pub const PATTERN_NOT_DECLARED: &str = "GL1404";

/// The longest entry checked: a 64-byte scheme, `://`, a 255-byte host (253, or a bracketed
/// IPv6 address) and `:` with five digits, plus a pattern's `*.` and `:*`: the longest origin
/// the runtime's matcher reads (no origin a browser sends is longer).
pub const MAX_ENTRY_BYTES: usize = 64 + 3 + 255 + 6 + 4;

/// Whether a supplied entry's key is as its set needs: present and 1 to 256 visible ASCII
/// characters in a `tenant-bound` set, absent in any other; otherwise why not.
pub fn check_key(key: Option<&str>, tenant_bound: bool) -> Result<(), &'static str> {
    match (key, tenant_bound) {
        (None, true) => Err("a tenant-bound set needs a key after each origin (`ORIGIN KEY`)"),
        (Some(_), false) => Err("a key is only taken in a set declared `tenant-bound`"),
        (Some(k), true)
            if !(1..=256).contains(&k.len()) || !k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Err("a key is 1 to 256 visible ASCII characters")
        }
        _ => Ok(()),
    }
}

/// How a supplied set is used, over every profile: an entry is checked in the strictest context
/// the set is used in. `Context::default()` is a set without `patterns`, without credentials,
/// not named by a csrf policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Context {
    /// A cors policy with `allow-credentials true` names the set: plain-http origins are
    /// refused (GL0214), as in a policy with credentials.
    pub credentials: bool,
    /// The set is declared `patterns`: entries may be `https://*.example.com` or
    /// `https://host:*` (otherwise GL1404).
    pub patterns: bool,
    /// A csrf policy names the set in `trusted-origins`: entries are exact origins (GL0951),
    /// whatever `patterns` says.
    pub csrf: bool,
}

/// Checks one entry of a set supplied at run time: the origin when it is accepted, otherwise
/// every finding (each an error, with a fix when the canonical form is certain).
///
/// The entry is checked with the rules and messages of an origin written in a policy
/// ([`analyze`](crate::analyze)), and more strictly, as a file has no `dangerously-allow`: `*`
/// (GL0201, or GL0951 in a csrf set), `null` (GL0202) and a wildcard over a public suffix
/// (GL0212) are always errors; plain-http origins are errors when the set is used with
/// credentials (GL0214); patterns are errors unless the set allows them (GL1404, GL0951).
/// `text` is the entry alone, without surrounding blanks or a tenant key.
pub fn check_supplied(text: &str, context: Context) -> Result<Origin, Vec<Finding>> {
    let whole = 0..text.len();
    if text.len() > MAX_ENTRY_BYTES {
        return Err(vec![Finding::error(
            "GL0201",
            whole,
            format!("an entry over {MAX_ENTRY_BYTES} bytes"),
        )
        .label("no origin a browser sends is this long")
        .help("write the page's origin, `scheme://host[:port]`")]);
    }
    if text == "*" {
        let d = if context.csrf {
            Finding::error("GL0951", whole, "`*` in trusted-origins")
                .label("csrf origins are exact")
                .help("the csrf check trusts origins one by one: list them")
        } else {
            Finding::error("GL0201", whole, "`*` is not an origin")
                .label("a supplied entry is one origin")
                .help("list the origins; to allow every origin, write `allow-origins *` in the policy")
        };
        return Err(vec![d]);
    }
    let a = analyze_in(text, true);
    let mut findings = a.findings;
    let origin = match a.origin {
        Some(o) if findings.is_empty() => o,
        _ => return Err(findings),
    };
    if origin.is_pattern() {
        if context.csrf {
            findings.push(
                Finding::error(
                    "GL0951",
                    whole.clone(),
                    format!("pattern `{}` in trusted-origins", origin.canonical),
                )
                .label("csrf origins are exact")
                .help("list each origin; a pattern would trust every host anyone can create under it (Go's CrossOriginProtection refuses patterns too)"),
            );
        } else if !context.patterns {
            findings.push(
                Finding::error(
                    PATTERN_NOT_DECLARED,
                    whole.clone(),
                    format!(
                        "pattern `{}` in a set not declared `patterns`",
                        origin.canonical
                    ),
                )
                .label("this set takes exact origins")
                .help("list each origin, or declare the set `provided patterns` in the policy"),
            );
        }
    }
    findings.extend(public_suffix_wildcard(&origin));
    if context.credentials {
        findings.extend(insecure_with_credentials(&origin));
    }
    if findings.is_empty() {
        Ok(origin)
    } else {
        Err(findings)
    }
}

/// GL0212, when `origin` is a wildcard over a public suffix (`https://*.github.io`): anyone can
/// register a name under it. An error, located at the whole canonical text; a policy without
/// credentials lowers it to a warning.
pub fn public_suffix_wildcard(origin: &Origin) -> Option<Finding> {
    if !(origin.wildcard_host && is_public_suffix(&origin.host)) {
        return None;
    }
    Some(
        Finding::error(
            "GL0212",
            0..origin.canonical.len(),
            format!("wildcard over the public suffix `{}`", origin.host),
        )
        .label("anyone can register a name under it")
        .help("name your own hosts instead (public suffix list, ICANN and private sections)"),
    )
}

/// GL0214, when `origin` is plain http and not loopback: in a policy with credentials
/// (or a supplied set used with them), pages anyone on the network can rewrite would act with
/// the user's session. An error, located at the whole canonical text.
pub fn insecure_with_credentials(origin: &Origin) -> Option<Finding> {
    if !origin.is_insecure() {
        return None;
    }
    let d = Finding::error(
        "GL0214",
        0..origin.canonical.len(),
        "insecure origin with credentials",
    )
    .label("plain-http pages can be rewritten by anyone on the network")
    .help(format!(
        "use \"https://{}\" (loopback hosts such as localhost are fine)",
        origin.canonical.split_once("://").map_or("", |x| x.1)
    ));
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity;

    const PLAIN: Context = Context {
        credentials: false,
        patterns: false,
        csrf: false,
    };
    const PATTERNS: Context = Context {
        patterns: true,
        ..PLAIN
    };
    const CREDENTIALS: Context = Context {
        credentials: true,
        patterns: true,
        csrf: false,
    };
    const CSRF: Context = Context {
        credentials: false,
        patterns: true,
        csrf: true,
    };

    fn codes(text: &str, context: Context) -> Vec<&'static str> {
        match check_supplied(text, context) {
            Ok(o) => panic!("{text}: accepted as {}", o.canonical),
            Err(f) => {
                assert!(!f.is_empty(), "{text}: refused without a finding");
                assert!(f.iter().all(|d| d.severity == Severity::Error), "{f:?}");
                assert!(
                    f.iter().all(|d| text.get(d.range.clone()).is_some()),
                    "{text}: a range outside the text: {f:?}"
                );
                f.iter().map(|d| d.code).collect()
            }
        }
    }

    fn accepted(text: &str, context: Context) -> String {
        match check_supplied(text, context) {
            Ok(o) => o.canonical,
            Err(f) => panic!("{text}: refused: {f:?}"),
        }
    }

    fn fix(text: &str) -> Option<String> {
        let f = check_supplied(text, PATTERNS).unwrap_err();
        let fixes: Vec<_> = f.iter().map(|d| d.fix.clone()).collect();
        assert!(fixes.windows(2).all(|w| w[0] == w[1]), "{fixes:?}");
        fixes.into_iter().next().flatten()
    }

    #[test]
    fn each_code() {
        assert_eq!(codes("example.com", PLAIN), ["GL0201"]);
        assert_eq!(codes("*", PLAIN), ["GL0201"]);
        assert_eq!(codes("", PLAIN), ["GL0201"]);
        assert_eq!(codes("null", PLAIN), ["GL0202"]);
        assert_eq!(codes("null", CSRF), ["GL0202"]);
        assert_eq!(codes("file:///etc/passwd", PLAIN), ["GL0203"]);
        assert_eq!(codes("https://a.example.com/", PLAIN), ["GL0204"]);
        assert_eq!(codes("https://a.example.com?x", PLAIN), ["GL0204"]);
        assert_eq!(codes("https://u:p@a.example.com", PLAIN), ["GL0205"]);
        assert_eq!(codes("https://A.example.com", PLAIN), ["GL0206"]);
        assert_eq!(codes("https://bücher.example", PLAIN), ["GL0207"]);
        assert_eq!(codes("https://a.example.com:443", PLAIN), ["GL0208"]);
        assert_eq!(codes("http://a.example.com:80", PLAIN), ["GL0208"]);
        assert_eq!(codes("https://a.example.com:", PLAIN), ["GL0209"]);
        assert_eq!(codes("https://a.example.com:70000", PLAIN), ["GL0209"]);
        assert_eq!(codes("https://*foo.com", PATTERNS), ["GL0210"]);
        assert_eq!(codes("https://evil*.foo.com", PATTERNS), ["GL0210"]);
        assert_eq!(codes("http://[::0001]", PLAIN), ["GL0211"]);
        assert_eq!(codes("http://2130706433", PLAIN), ["GL0211"]);
        assert_eq!(codes("https://*.github.io", PATTERNS), ["GL0212"]);
        assert_eq!(codes("https://*.co.uk", PATTERNS), ["GL0212"]);
        assert_eq!(codes("http://a.example.com", CREDENTIALS), ["GL0214"]);
        assert_eq!(codes("ws://a.example.com", CREDENTIALS), ["GL0201"]);
        assert_eq!(codes("wss://a.example.com", PLAIN), ["GL0201"]);
        assert_eq!(codes("FTP://a.example.com", PLAIN), ["GL0201"]);
        assert_eq!(codes("https://a..example.com", PLAIN), ["GL0217"]);
        assert_eq!(codes("https://[::1", PLAIN), ["GL0217"]);
        assert_eq!(codes("https://a.example.com\u{0}", PLAIN), ["GL0217"]);
        assert_eq!(
            codes("https://*.example.com", PLAIN),
            [PATTERN_NOT_DECLARED]
        );
        assert_eq!(
            codes("https://a.example.com:*", PLAIN),
            [PATTERN_NOT_DECLARED]
        );
        assert_eq!(codes("https://*.example.com", CSRF), ["GL0951"]);
        assert_eq!(codes("*", CSRF), ["GL0951"]);
    }

    #[test]
    fn stricter_than_a_policy() {
        // A policy without credentials only warns about a wildcard over a public suffix, and a
        // policy may opt out of `null`; a supplied file never.
        assert_eq!(codes("https://*.com", PATTERNS), ["GL0212"]);
        assert_eq!(
            codes("https://*.github.io", PLAIN),
            [PATTERN_NOT_DECLARED, "GL0212"]
        );
        // Plain http is refused only where credentials are used; loopback is fine.
        assert_eq!(
            accepted("http://a.example.com", PATTERNS),
            "http://a.example.com"
        );
        assert_eq!(
            accepted("http://localhost:3000", CREDENTIALS),
            "http://localhost:3000"
        );
        assert_eq!(
            accepted("http://127.0.0.1:8080", CREDENTIALS),
            "http://127.0.0.1:8080"
        );
        assert_eq!(codes("http://127.example.com", CREDENTIALS), ["GL0214"]);
        // Help texts do not point at opt-outs or `*`, which a file does not have.
        for text in ["null", "example", "https://a*.example.com"] {
            let f = check_supplied(text, PATTERNS).unwrap_err();
            let help = f[0].help.clone().unwrap_or_default();
            assert!(!help.contains("dangerously-allow"), "{help}");
            assert!(!help.contains("`*`"), "{help}");
        }
    }

    #[test]
    fn fixes() {
        assert_eq!(
            fix("HTTPS://App.Example.COM"),
            Some("https://app.example.com".into())
        );
        assert_eq!(
            fix("https://app.example.com:443/"),
            Some("https://app.example.com".into())
        );
        assert_eq!(
            fix("https://app.example.com."),
            Some("https://app.example.com".into())
        );
        assert_eq!(
            fix("https://*.Example.com."),
            Some("https://*.example.com".into())
        );
        assert_eq!(
            fix("https://bücher.example"),
            Some("https://xn--bcher-kva.example".into())
        );
        assert_eq!(fix("http://[0::1]:8080"), Some("http://[::1]:8080".into()));
        assert_eq!(
            fix("https://a.example.com:0443"),
            Some("https://a.example.com".into())
        );
        assert_eq!(
            fix("https://a.example.com:08443"),
            Some("https://a.example.com:8443".into())
        );
        assert_eq!(fix("https://a.example.com:99999"), None);
        // The finding names the canonical form in its help.
        let f = check_supplied("https://App.example.com", PLAIN).unwrap_err();
        assert_eq!(
            f[0].help.as_deref(),
            Some("write \"https://app.example.com\"")
        );
    }

    #[test]
    fn label_boundaries() {
        // `*` stands for whole leading labels only: the jub0bs confusion (`barfoo.com` under
        // `foo.com`) cannot be written as a pattern.
        for text in [
            "https://*foo.com",
            "https://*-foo.com",
            "https://evil*.foo.com",
            "https://*.*.foo.com",
            "https://a.*.foo.com",
            "https://*.",
            "https://*",
        ] {
            assert_eq!(codes(text, PATTERNS), ["GL0210"], "{text}");
        }
        assert_eq!(accepted("https://*.foo.com", PATTERNS), "https://*.foo.com");
        assert_eq!(
            accepted("https://evilfoo.com", PLAIN),
            "https://evilfoo.com"
        );
        // Trailing dots and empty labels.
        assert_eq!(codes("https://foo.com.", PLAIN), ["GL0217"]);
        assert_eq!(codes("https://foo.com..", PLAIN), ["GL0217", "GL0217"]);
        assert_eq!(fix("https://foo.com.."), None);
        assert_eq!(codes("https://.foo.com", PLAIN), ["GL0217"]);
        assert_eq!(codes("https://*..foo.com", PATTERNS), ["GL0217"]);
        // Ports.
        assert_eq!(
            accepted("https://foo.com:8443", PLAIN),
            "https://foo.com:8443"
        );
        assert_eq!(accepted("https://foo.com:*", PATTERNS), "https://foo.com:*");
        assert_eq!(codes("https://foo.com:+443", PLAIN), ["GL0209"]);
        assert_eq!(codes("https://foo.com:8443:1", PLAIN), ["GL0209"]);
        assert_eq!(codes("https://foo.com:0x50", PLAIN), ["GL0209"]);
        // Case.
        assert_eq!(codes("https://FOO.com", PLAIN), ["GL0206"]);
        assert_eq!(codes("Https://foo.com", PLAIN), ["GL0206"]);
        assert_eq!(codes("https://*.FOO.com", PATTERNS), ["GL0206"]);
    }

    #[test]
    fn fixes_are_accepted_as_they_are() {
        for text in [
            "HTTPS://App.Example.COM",
            "https://app.example.com:443/",
            "https://user@app.example.com/x?y#z",
            "https://*.Example.com.",
            "https://bücher.example:8443",
            "http://[0:0::1]:080",
            "HTTP://LOCALHOST:*",
            "HTTP://a.example.com:0080",
        ] {
            let f = check_supplied(text, PATTERNS).unwrap_err();
            let fixed = f[0]
                .fix
                .clone()
                .unwrap_or_else(|| panic!("{text}: no fix: {f:?}"));
            assert_eq!(accepted(&fixed, PATTERNS), fixed, "{text}");
        }
    }

    #[test]
    fn policy_checks_by_origin() {
        let gh = crate::analyze("https://*.github.io").origin.unwrap();
        let d = public_suffix_wildcard(&gh).unwrap();
        assert_eq!(d.message, "wildcard over the public suffix `github.io`");
        assert_eq!(d.range, 0.."https://*.github.io".len());
        let own = crate::analyze("https://*.example.com").origin.unwrap();
        assert!(public_suffix_wildcard(&own).is_none());
        let http = crate::analyze("http://a.example.com").origin.unwrap();
        let d = insecure_with_credentials(&http).unwrap();
        assert_eq!(
            d.help.as_deref(),
            Some("use \"https://a.example.com\" (loopback hosts such as localhost are fine)")
        );
        assert!(insecure_with_credentials(&own).is_none());
    }

    #[test]
    fn keys_fit_their_set_and_long_entries_are_refused() {
        assert_eq!(check_key(Some("tenant-a"), true), Ok(()));
        assert_eq!(check_key(None, false), Ok(()));
        assert!(check_key(None, true).is_err());
        assert!(check_key(Some("k"), false).is_err());
        assert!(check_key(Some(""), true).is_err());
        assert!(check_key(Some("ключ"), true).is_err());
        assert!(check_key(Some(&"k".repeat(257)), true).is_err());
        assert_eq!(check_key(Some(&"k".repeat(256)), true), Ok(()));
        let long = format!("https://{}.example.com", "a".repeat(MAX_ENTRY_BYTES));
        let err = check_supplied(&long, PLAIN).unwrap_err();
        assert_eq!(err.first().map(|f| f.code), Some("GL0201"));
        assert!(check_supplied("https://a.example.com", PLAIN).is_ok());
    }
}
