//! HAProxy configuration text: double-quoted words (the values and regexes written), the
//! checks that a value can be written at all, and the names of a supplied set's files. The bottom
//! of the emitter's parts, beside `plan`.

use crate::emit::Unsupported;

/// A double-quoted configuration word: `\`, `"` and `$` (environment variables) escaped. In a
/// log-format (a header value written by `set-header`, `set-var-fmt`), `fmt` also doubles `%`.
pub(super) fn dq(s: &str, fmt: bool) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' | '"' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '%' if fmt => out.push_str("%%"),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Refuses a value HAProxy cannot read back as written (a control byte, or too long for one
/// configuration line).
pub(super) fn check(what: &str, s: &str) -> Result<(), Unsupported> {
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) || s.len() > 8000 {
        return Err(Unsupported(format!(
            "{what} {s:?} cannot be written to HAProxy (a control byte, or over 8000 bytes)"
        )));
    }
    Ok(())
}

pub(super) use crate::emit::edge::set_file;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_escape_what_haproxy_reads() {
        assert_eq!(dq("a\"b\\c$d%e", false), "\"a\\\"b\\\\c\\$d%e\"");
        assert_eq!(dq("50%", true), "\"50%%\"");
        assert_ne!(set_file("a.b", "lst"), set_file("a_b", "lst"));
        assert_eq!(set_file("a/b", "re"), "origins/a_2fb.re");
    }
}
