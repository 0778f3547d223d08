//! The checked origin: what an origin text means once [`analyze`](crate::analyze) has parsed
//! it. The canonical text is what guestlist's tables store and compare byte-exactly.

/// A valid origin entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Canonical text, as stored in the runtime tables.
    pub canonical: String,
    /// `scheme`.
    pub scheme: String,
    /// The host; for `*.` patterns, the part after `*.`.
    pub host: String,
    /// `https://*.example.com`: one or more labels under `host`.
    pub wildcard_host: bool,
    /// `:*`: any port, including none.
    pub any_port: bool,
    /// An explicit port.
    pub port: Option<u16>,
    /// `null` (only reachable through an opt-out).
    pub null: bool,
}

impl Origin {
    /// Whether this is a pattern (wildcard host or port) rather than an exact origin.
    pub fn is_pattern(&self) -> bool {
        self.wildcard_host || self.any_port
    }

    /// Loopback hosts count as secure (RFC 6761 `localhost`, 127.0.0.0/8, `[::1]`).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host.ends_with(".localhost")
            || (self.host.starts_with("127.")
                && self.host.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
            || self.host == "[::1]"
    }

    /// Whether pages of this origin travel in plain text (`http`) from a host that is not
    /// loopback: anyone on the network can rewrite them.
    pub fn is_insecure(&self) -> bool {
        self.scheme == "http" && !self.is_loopback()
    }

    /// Whether everything `other` allows is also allowed by this pattern (and they differ).
    pub fn covers(&self, other: &Origin) -> bool {
        if !self.is_pattern() || self.scheme != other.scheme || self.canonical == other.canonical {
            return false;
        }
        let under = |h: &str| {
            h.strip_suffix(self.host.as_str())
                .is_some_and(|p| p.len() > 1 && p.ends_with('.'))
        };
        let host_ok = match (self.wildcard_host, other.wildcard_host) {
            // `*.a.example.com` (and `x.example.com`) are under `*.example.com`.
            (true, true) => other.host == self.host || under(&other.host),
            (true, false) => under(&other.host),
            (false, true) => false,
            (false, false) => other.host == self.host,
        };
        let port_ok = self.any_port || (!other.any_port && self.port == other.port);
        host_ok && port_ok
    }
}

#[cfg(test)]
mod tests {
    use crate::analyze;

    fn origin(raw: &str) -> crate::Origin {
        let a = analyze(raw);
        assert!(a.findings.is_empty(), "{raw}: {:?}", a.findings);
        a.origin.unwrap()
    }

    #[test]
    fn coverage() {
        let p = origin("https://*.example.com");
        let e = origin("https://a.example.com");
        let apex = origin("https://example.com");
        assert!(p.covers(&e));
        assert!(!p.covers(&apex));
        let deeper = origin("https://*.a.example.com");
        let any_port = origin("https://*.example.com:*");
        assert!(p.covers(&deeper));
        assert!(!deeper.covers(&p));
        assert!(any_port.covers(&p));
        assert!(!p.covers(&any_port));
        assert!(!p.covers(&p));
    }

    #[test]
    fn label_boundaries() {
        let p = origin("https://*.foo.com");
        // A suffix match that is not at a label boundary is another registrable domain.
        assert!(!p.covers(&origin("https://evilfoo.com")));
        assert!(!p.covers(&origin("https://evil-foo.com")));
        assert!(!p.covers(&origin("https://foo.com.evil.com")));
        assert!(p.covers(&origin("https://a.foo.com")));
        assert!(p.covers(&origin("https://a.b.foo.com")));
        // Exact entries cover nothing: `https://bar.com` does not allow `https://barfoo.com`.
        let bar = origin("https://bar.com");
        assert!(!bar.covers(&origin("https://barfoo.com")));
        assert!(!bar.covers(&origin("https://a.bar.com")));
        // Scheme and port are part of the origin.
        assert!(!p.covers(&origin("http://a.foo.com")));
        assert!(!p.covers(&origin("https://a.foo.com:8443")));
        let port = origin("https://foo.com:*");
        assert!(port.covers(&origin("https://foo.com:8443")));
        assert!(port.covers(&origin("https://foo.com")));
        assert!(!port.covers(&origin("https://a.foo.com:8443")));
    }

    #[test]
    fn insecure_origins() {
        assert!(origin("http://app.example.com").is_insecure());
        assert!(!origin("https://app.example.com").is_insecure());
        assert!(!origin("http://localhost:3000").is_insecure());
        assert!(!origin("http://a.localhost").is_insecure());
        assert!(!origin("http://127.0.0.1:8080").is_insecure());
        assert!(!origin("http://[::1]:3000").is_insecure());
        // A name that starts like a loopback address is not one.
        assert!(origin("http://127.example.com").is_insecure());
        assert!(origin("http://localhost.example.com").is_insecure());
    }
}
