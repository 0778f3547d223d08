//! The checked origin: what an origin literal of a policy means once `check` has parsed it
//! (`check::origin` parses and validates the text; `lower` stores the canonical form in the
//! runtime's tables).

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
            || self.host.starts_with("127.")
            || self.host == "[::1]"
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
    use crate::check::origin::{analyze, Analysis};
    use crate::source::{FileId, Span};

    fn run(raw: &str) -> Analysis {
        analyze(raw, Span::new(FileId(0), 1, 1 + raw.len()))
    }

    #[test]
    fn coverage() {
        let p = run("https://*.example.com").origin.unwrap();
        let e = run("https://a.example.com").origin.unwrap();
        let apex = run("https://example.com").origin.unwrap();
        assert!(p.covers(&e));
        assert!(!p.covers(&apex));
        let deeper = run("https://*.a.example.com").origin.unwrap();
        let any_port = run("https://*.example.com:*").origin.unwrap();
        assert!(p.covers(&deeper));
        assert!(!deeper.covers(&p));
        assert!(any_port.covers(&p));
        assert!(!p.covers(&any_port));
        assert!(!p.covers(&p));
    }
}
