//! `fmt`: canonical, idempotent, structure-preserving, and every comment kept in place.

use guestlist_compiler::{fmt::format, Compilation};

fn comments(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.find('#').map(|i| l[i..].trim_end().to_string()))
        .collect()
}

fn structure(text: &str) -> Vec<String> {
    let c = Compilation::from_str("x.policy", text);
    assert!(
        c.diagnostics().iter().all(|d| d.code != "GL0001"),
        "{}",
        c.render()
    );
    c.structure()
}

fn check_file(text: &str) {
    let once = format(text);
    assert_eq!(format(&once), once, "not idempotent");
    assert_eq!(comments(&once), comments(text), "comments changed");
    assert_eq!(structure(&once), structure(text), "structure changed");
    // Each comment stays attached to the same code: the code before it on its line (or none).
    let attach = |t: &str| -> Vec<(String, String)> {
        t.lines()
            .filter_map(|l| {
                l.find('#').map(|i| {
                    (
                        l[..i].split_whitespace().collect::<Vec<_>>().join(" "),
                        l[i..].trim_end().to_string(),
                    )
                })
            })
            .collect()
    };
    let norm = |v: Vec<(String, String)>| -> Vec<(String, String)> {
        v.into_iter()
            .map(|(c, t)| (c.replace([' ', ';'], ""), t))
            .collect()
    };
    assert_eq!(
        norm(attach(&once)),
        norm(attach(text)),
        "a comment moved to other code"
    );
}

#[test]
fn comments_in_every_position() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/comments.policy"
    ))
    .unwrap();
    assert_ne!(
        format(&text),
        text,
        "the fixture is meant to be badly laid out"
    );
    check_file(&text);
    let once = format(&text);
    assert!(once.ends_with("# 17 end of file, no newline after it\n"));
    assert!(once.contains("\n    allow-origins  first-party  # 11 trailing a setting\n"));
    assert!(once.contains("\n}  # 8 after a closing brace\n"));
    assert!(!once.contains("\n\n\n"), "runs of blank lines collapse");
}

#[test]
fn every_example_and_case_is_stable() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut n = 0;
    for dir in ["examples/policies", "spec/diagnostics/cases"] {
        for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "policy") {
                let text = std::fs::read_to_string(&p).unwrap();
                if Compilation::from_str("x", &text)
                    .diagnostics()
                    .iter()
                    .any(|d| d.code == "GL0001")
                {
                    continue;
                }
                check_file(&text);
                n += 1;
            }
        }
    }
    assert!(n > 20);
}

#[test]
fn examples_are_already_formatted() {
    for name in ["site.policy", "site-tests.policy"] {
        let p = format!("{}/../examples/policies/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(p).unwrap();
        assert_eq!(format(&text), text, "{name} is not in canonical layout");
    }
}

#[test]
fn crlf_and_tabs() {
    let text = "cors api {\r\n\tallow-origins \"https://a.test\"\r\n\tmax-age\t2h\r\n}\r\nroute \"/x\" { cors api }\r\n";
    let out = format(text);
    assert_eq!(out, "cors api {\n    allow-origins  \"https://a.test\"\n    max-age        2h\n}\nroute \"/x\" { cors api }\n");
    check_file(text);
}
