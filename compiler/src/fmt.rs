//! `guestlist fmt`: the canonical layout, computed from the source text.
//!
//! The formatter never moves a token to another line, so every comment stays where it was and
//! `parse(fmt(x))` equals `parse(x)`. It normalises everything else: indentation (four spaces
//! per block level), one space between values, settings aligned in their block (the value
//! column is the longest setting name plus two), trailing comments two spaces after the code,
//! runs of blank lines collapsed to one, no blank line just inside braces, `\n` line endings
//! and exactly one newline at the end. Only files without syntax errors are formatted.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
    Semi,
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Word(s) => s,
            Tok::Open => "{",
            Tok::Close => "}",
            Tok::Semi => ";",
        }
    }
}

struct PhysLine {
    toks: Vec<Tok>,
    comment: Option<String>,
}

/// Splits at the grammar's line breaks: `\n`, `\r\n` and a lone `\r` (pest's `NEWLINE`).
fn physical_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n')
        .flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'))
}

fn tokenize(text: &str) -> Vec<PhysLine> {
    let mut lines = Vec::new();
    for raw in physical_lines(text) {
        let mut toks = Vec::new();
        let mut comment = None;
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                ' ' | '\t' => {}
                '#' => {
                    comment = Some(raw.get(i..).unwrap_or("").trim_end().to_string());
                    break;
                }
                '{' => toks.push(Tok::Open),
                '}' => toks.push(Tok::Close),
                ';' => toks.push(Tok::Semi),
                '"' => {
                    let mut s = String::from('"');
                    for (_, c) in chars.by_ref() {
                        s.push(c);
                        if c == '"' {
                            break;
                        }
                    }
                    toks.push(Tok::Word(s));
                }
                _ => {
                    let mut s = String::from(c);
                    while let Some(&(_, c)) = chars.peek() {
                        if c.is_whitespace() || "{};\"#".contains(c) {
                            break;
                        }
                        s.push(c);
                        chars.next();
                    }
                    toks.push(Tok::Word(s));
                }
            }
        }
        lines.push(PhysLine { toks, comment });
    }
    lines
}

/// A line that is one setting with a value: `name value...`.
fn setting_key(toks: &[Tok]) -> Option<&str> {
    match toks {
        [Tok::Word(k), rest @ ..]
            if !rest.is_empty()
                && !k.starts_with('"')
                && rest.iter().all(|t| matches!(t, Tok::Word(_))) =>
        {
            Some(k)
        }
        _ => None,
    }
}

fn render(toks: &[Tok], width: Option<usize>) -> String {
    let mut out = String::new();
    for (i, t) in toks.iter().enumerate() {
        if *t == Tok::Semi {
            out.push(';');
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t.text());
        if i == 0 {
            if let (Some(w), Some(_)) = (width, setting_key(toks)) {
                while out.chars().count() < w - 1 {
                    out.push(' ');
                }
            }
        }
    }
    out
}

/// Formats a policy file's text. The caller has checked it parses.
pub fn format(text: &str) -> String {
    let lines = tokenize(text);
    // Alignment width per line: blocks opened at the end of a line align their settings.
    let mut width: Vec<Option<usize>> = vec![None; lines.len()];
    let mut stack: Vec<Vec<usize>> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        for t in &l.toks {
            match t {
                Tok::Open => stack.push(Vec::new()),
                Tok::Close => {
                    if let Some(members) = stack.pop() {
                        let w = members
                            .iter()
                            .filter_map(|&m| lines.get(m).and_then(|l| setting_key(&l.toks)))
                            .map(|k| k.chars().count())
                            .max();
                        if let Some(w) = w {
                            for m in members {
                                if let Some(slot) = width.get_mut(m) {
                                    *slot = Some(w + 2);
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        // A line belongs to the innermost block open at its start and still open at its end.
        if let Some(top) = stack.last_mut() {
            let opens_or_closes = l.toks.iter().any(|t| matches!(t, Tok::Open | Tok::Close));
            if !opens_or_closes {
                top.push(i);
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut pending_blank = false;
    let mut after_open = true;
    for (i, l) in lines.iter().enumerate() {
        if l.toks.is_empty() && l.comment.is_none() {
            pending_blank = !out.is_empty();
            continue;
        }
        let starts_close = l.toks.first() == Some(&Tok::Close);
        if pending_blank && !after_open && !starts_close {
            out.push(String::new());
        }
        pending_blank = false;
        let indent = "    ".repeat(depth.saturating_sub(usize::from(starts_close)));
        let code = render(&l.toks, width.get(i).copied().flatten());
        let line = match (&l.comment, code.is_empty()) {
            (Some(c), true) => format!("{indent}{c}"),
            (Some(c), false) => format!("{indent}{code}  {c}"),
            (None, _) => format!("{indent}{code}"),
        };
        out.push(line);
        for t in &l.toks {
            match t {
                Tok::Open => depth += 1,
                Tok::Close => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        after_open = l.toks.last() == Some(&Tok::Open);
    }
    let mut s = out.join("\n");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn aligns_and_keeps_comments() {
        let src = "# head\ncors api {   # trailing\n\n\n  allow-origins \"https://a.test\"   when dev\n# inside\n      max-age 2h\n\n}\nroute \"/x\" {cors api}   \n\n\n";
        let want = "# head\ncors api {  # trailing\n    allow-origins  \"https://a.test\" when dev\n    # inside\n    max-age        2h\n}\nroute \"/x\" { cors api }\n";
        assert_eq!(format(src), want);
        assert_eq!(format(want), want);
    }

    #[test]
    fn routes_in_a_host_block_are_indented_one_level() {
        let src = "host \"api.example.com\" {\nroute \"/api/*\" {\ncors api\n}\n  route \"/b\" { cors api }   # c\n}\n";
        let want = "host \"api.example.com\" {\n    route \"/api/*\" {\n        cors  api\n    }\n    route \"/b\" { cors api }  # c\n}\n";
        assert_eq!(format(src), want);
        assert_eq!(format(want), want);
        let a = crate::Compilation::from_str("f.policy", src);
        let b = crate::Compilation::from_str("f.policy", want);
        assert_eq!(a.files[0].structure(), b.files[0].structure());
    }

    #[test]
    fn a_lone_carriage_return_is_a_line_break() {
        // Found by the parse_check fuzz target: pest's NEWLINE includes a lone `\r`.
        let once = format("\r\r ");
        assert_eq!(format(&once), once);
        assert_eq!(
            format("cors a {\rmax-age 2h\r}"),
            "cors a {\n    max-age  2h\n}\n"
        );
        // ... and ends a comment, in the parser too.
        let src = ";#c\rb{a}";
        let parsed = crate::Compilation::from_str("f.policy", src);
        let again = crate::Compilation::from_str("f.policy", &format(src));
        assert_eq!(parsed.files[0].structure(), again.files[0].structure());
        assert_eq!(parsed.files[0].structure(), ["b | a"]);
    }
}
