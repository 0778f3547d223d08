//! Emitters: the same lowered policy exported to other forms. `nginx` writes configuration
//! that makes the runtime's decisions in nginx; `docs` writes Markdown for reviewers (Rust
//! output is [`codegen`](crate::codegen)'s). Every one of them writes a header name or value
//! only when it is one by the runtime's definition ([`guestlist::is_token`],
//! [`guestlist::is_header_value`]), and refuses the policy ([`Unsupported`]) otherwise: an
//! output never drops, empties or weakens a value the runtime would send.

pub mod docs;
pub mod nginx;

/// Why a lowered policy cannot be written to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsupported {}

/// A header value of the lowered tables as text: [`guestlist::is_header_value`], or refused.
/// The tables only hold such values (`Policy::build` refuses others), so a refusal here is a
/// bug, reported as an error rather than written out as an empty or changed value.
pub(crate) fn header_text<'a>(name: &str, value: &'a [u8]) -> Result<&'a str, Unsupported> {
    match std::str::from_utf8(value) {
        Ok(s) if guestlist::is_header_value(value) => Ok(s),
        _ => Err(Unsupported(format!(
            "the {name} value {:?} is not a header value (visible ASCII, spaces and tabs, none at either end)",
            String::from_utf8_lossy(value)
        ))),
    }
}

/// A header name of the lowered tables: a token ([`guestlist::is_token`]), or refused.
pub(crate) fn header_name(name: &str) -> Result<&str, Unsupported> {
    if guestlist::is_token(name.as_bytes()) {
        Ok(name)
    } else {
        Err(Unsupported(format!("{name:?} is not a header name")))
    }
}

/// A CSP's value as sent, `{nonce}` standing for each per-response nonce, after checking
/// that the value with a nonce in each position is a header value.
pub(crate) fn csp_text(c: &guestlist::Csp) -> Result<String, Unsupported> {
    // A nonce is 22 base64url characters: only the parts around it can make a value invalid.
    header_text(
        c.header_name().as_str(),
        c.parts().join("AAAAAAAAAAAAAAAAAAAAAA").as_bytes(),
    )?;
    Ok(c.display_value())
}
