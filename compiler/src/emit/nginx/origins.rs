//! Origin matching in nginx, for the cors and websocket policies and the csrf check: an exact
//! set as a hash `map` confirmed byte for byte, and patterns as anchored regexes in the
//! runtime's strict form. Built on `values`; `cors` and `guards` use it.

use std::fmt::Write as _;

use super::values::{check_value, q, Writer};
pub(super) use crate::emit::edge::pattern_regex;
use crate::emit::Unsupported;

impl Writer {
    /// Maps `$<v>_o` to what `$http_origin` is: `none` (absent or empty), `allowed` (by `*`,
    /// the exact set, a pattern or a set supplied at run time) or `denied`, and
    /// `$<v>_allowed` to 1 when it is allowed; the one origin matcher, in nginx. The exact set
    /// and the absent origin are one hash lookup keyed on the origin; a hit is confirmed byte
    /// for byte (one short regex, run only on a hit), the patterns are tried only on a miss,
    /// and the supplied sets (`supplied`: their variables, `provided`) only when those miss.
    pub(super) fn origin_match(
        &mut self,
        v: &str,
        any: bool,
        exact: &guestlist::KeySet,
        patterns: &guestlist::PatternSet,
        supplied: &[String],
    ) -> Result<(), Unsupported> {
        let origin_hdr = "$http_origin";
        let class = format!("{v}_o");
        if any {
            self.map(
                origin_hdr,
                &class,
                &[(q(""), "none".into()), ("default".into(), "allowed".into())],
            );
        } else {
            let exact: Vec<&str> = exact.keys().iter().map(|k| k.as_ref()).collect();
            let patterns: Vec<&str> = patterns.keys().iter().map(|k| k.as_ref()).collect();
            let denied = self.supplied_or(&format!("{v}_sup"), supplied, "allowed", "denied");
            let miss = if patterns.is_empty() {
                denied
            } else {
                let mut lines = vec![("default".to_string(), denied)];
                for p in &patterns {
                    check_value("origin pattern", p)?;
                    let r = pattern_regex(p).ok_or_else(|| {
                        Unsupported(format!("cannot translate origin pattern {p:?}"))
                    })?;
                    let _ = writeln!(self.http, "# {p}");
                    lines.push((q(&format!("~{r}")), "allowed".into()));
                }
                self.map(origin_hdr, &format!("{v}_pattern"), &lines);
                format!("${v}_pattern")
            };
            let mut lines = vec![
                ("default".to_string(), miss.clone()),
                (q(""), "none".to_string()),
            ];
            if !exact.is_empty() {
                let hit = self.exact_hit(&format!("{v}_hit"), &exact, "allowed", &miss)?;
                lines.extend(exact.iter().map(|o| (q(o), hit.clone())));
            }
            self.map(origin_hdr, &class, &lines);
        }
        self.map(
            &format!("${class}"),
            &format!("{v}_allowed"),
            &[
                ("default".into(), "0".into()),
                ("allowed".into(), "1".into()),
            ],
        );
        Ok(())
    }

    /// `fallback` when `supplied` (provided sets' variables) is empty; otherwise `$<target>`,
    /// mapped to `hit` when any of them is 1 and to `fallback` else.
    pub(super) fn supplied_or(
        &mut self,
        target: &str,
        supplied: &[String],
        hit: &str,
        fallback: &str,
    ) -> String {
        if supplied.is_empty() {
            return fallback.to_string();
        }
        let key: String = supplied.iter().map(|s| format!("${s}")).collect();
        self.map(
            &q(&key),
            target,
            &[
                ("default".into(), fallback.to_string()),
                (q("~1"), hit.to_string()),
            ],
        );
        format!("${target}")
    }

    /// The value of a hit in a hash `map` keyed on `$http_origin` whose keys are `origins`:
    /// `ok` when the request's Origin is byte-exactly the key found, else `miss`. nginx
    /// compares string keys ignoring ASCII case, so a hit is confirmed: when every listed origin
    /// is lowercase (canonical origins are), by checking that the request's Origin has no
    /// uppercase letter (`$<target>`, one short regex); otherwise by comparing the request's
    /// Origin with what a second lookup finds.
    fn exact_hit(
        &mut self,
        target: &str,
        origins: &[&str],
        ok: &str,
        miss: &str,
    ) -> Result<String, Unsupported> {
        for o in origins {
            check_value("origin", o)?;
        }
        if origins
            .iter()
            .all(|o| !o.bytes().any(|b| b.is_ascii_uppercase()))
        {
            let _ = writeln!(
                self.http,
                "# exact origins: one hash lookup (nginx compares string keys ignoring case; every origin\n\
                 # here is lowercase, so a hit is exact when the request's has no uppercase letter)"
            );
            self.map(
                "$http_origin",
                target,
                &[
                    ("default".into(), ok.to_string()),
                    (q("~[A-Z]"), miss.to_string()),
                ],
            );
            return Ok(format!("${target}"));
        }
        let found = format!("{target}_found");
        let mut lines = vec![("default".to_string(), q(""))];
        lines.extend(origins.iter().map(|o| (q(o), q(o))));
        let _ = writeln!(
            self.http,
            "# exact origins: a hash lookup (nginx compares string keys ignoring case), then one\n\
             # byte-exact comparison of the request's Origin with what it found"
        );
        self.map("$http_origin", &found, &lines);
        self.map(
            &q(&format!("$http_origin ${found}")),
            target,
            &[
                ("default".into(), miss.to_string()),
                (q("~^(\\S+) \\1$"), ok.to_string()),
            ],
        );
        Ok(format!("${target}"))
    }

    /// `$<target>` is 1 when `$http_origin` is byte-exactly one of `origins` (the csrf
    /// policies' trusted and own origins), else `miss` (`0`, or a variable).
    pub(super) fn exact_set(
        &mut self,
        target: &str,
        hit: &str,
        origins: &[&str],
        miss: &str,
    ) -> Result<(), Unsupported> {
        let value = self.exact_hit(hit, origins, "1", miss)?;
        let mut lines = vec![("default".to_string(), miss.to_string())];
        lines.extend(origins.iter().map(|o| (q(o), value.clone())));
        self.map("$http_origin", target, &lines);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_regexes() {
        assert_eq!(
            pattern_regex("https://*.example.com").unwrap(),
            "^https://(?=[^:]{1,253}(?::|$))(?:[a-z0-9-]{1,63}\\.)+example\\.com$"
        );
        assert!(pattern_regex("http://localhost:*")
            .unwrap()
            .starts_with("^http://localhost(?::"));
        assert_eq!(
            pattern_regex("https://*.a.com:8443")
                .unwrap()
                .rsplit_once(":8443")
                .map(|x| x.1),
            Some("$")
        );
        assert!(pattern_regex("http://[::1]:*")
            .unwrap()
            .starts_with("^http://\\[::1\\](?::"));
    }
}
