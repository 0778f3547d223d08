//! The build.rs API: files written (Rust, nginx, docs), only when their bytes change, and
//! errors whose Display and Debug are the rendered diagnostics.

mod support;
use support::tempdir;

use std::path::{Path, PathBuf};

use guestlist_compiler::Build;

fn site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/site.policy")
}

#[test]
fn writes_rust_nginx_and_docs_only_when_changed() {
    let dir = tempdir("build-ok");
    let build = || {
        Build::new()
            .policy(site())
            .out_dir(&dir)
            .nginx(dir.join("nginx"))
            .nginx_include_root("/etc/nginx/guestlist")
            .docs(dir.join("policy.md"))
            .cargo_output(false)
            .compile()
            .unwrap()
    };
    let rust = build();
    assert_eq!(rust, dir.join("guestlist_policy.rs"));
    let files = [
        rust.clone(),
        dir.join("nginx/guestlist-http.conf"),
        dir.join("nginx/guestlist-server.conf"),
        dir.join("nginx/routes/prefix-api.conf"),
        dir.join("policy.md"),
    ];
    assert!(std::fs::read_to_string(&files[2])
        .unwrap()
        .contains("include /etc/nginx/guestlist/routes/prefix-api.conf;"));
    // Dated an hour back (not a sleep and a clock's granularity): a rewrite would date a file
    // now.
    let past = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    for f in &files {
        std::fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(past)
            .unwrap();
    }
    let mtimes: Vec<_> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
        .collect();
    assert!(mtimes.iter().all(|t| *t == past), "{mtimes:?}");
    build();
    let again: Vec<_> = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().modified().unwrap())
        .collect();
    assert_eq!(mtimes, again, "unchanged outputs are not rewritten");
    // A route that disappears loses its snippet.
    let smaller = dir.join("smaller.policy");
    std::fs::write(&smaller, "cors a { allow-origins \"https://a.example.com\"; max-age 2h }\nroute \"/only/*\" { cors a }\n").unwrap();
    Build::new()
        .policy(&smaller)
        .out_dir(&dir)
        .nginx(dir.join("nginx"))
        .cargo_output(false)
        .compile()
        .unwrap();
    assert!(!dir.join("nginx/routes/prefix-api.conf").exists());
    assert!(dir.join("nginx/routes/prefix-only.conf").exists());
}

#[test]
fn errors_render_in_display_and_debug() {
    let dir = tempdir("build-err");
    let bad = dir.join("bad.policy");
    std::fs::write(&bad, "cors a {\n    allow-origins *\n    allow-credentials true\n    max-age 2h\n}\nroute \"/x\" { cors a }\n").unwrap();
    let e = Build::new()
        .policy(&bad)
        .out_dir(&dir)
        .cargo_output(false)
        .generate()
        .unwrap_err();
    let display = e.to_string();
    let debug = format!("{e:?}");
    for text in [&display, &debug] {
        assert!(
            text.contains("error[GL0213]: `*` origin with credentials"),
            "{text}"
        );
        assert!(text.contains(":2:19"), "{text}");
        assert!(text.contains("= help: list the origins"), "{text}");
    }
    assert!(!dir.join("guestlist_policy.rs").exists());
    let missing = Build::new()
        .policy(dir.join("nope.policy"))
        .cargo_output(false)
        .generate()
        .unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");
    let none = Build::new().cargo_output(false).generate().unwrap_err();
    assert!(none.to_string().contains("has no policy"));
}

/// `Build::nginx` refuses a method nginx answers 400 to (GL1010), with the method underlined,
/// and writes nothing: not the Rust, not the nginx files.
#[test]
fn nginx_refuses_a_method_nginx_refuses() {
    let dir = tempdir("build-gl1010");
    let policy = dir.join("m.policy");
    std::fs::write(
        &policy,
        "cors api {\n    allow-origins  \"https://app.example.com\"\n    allow-methods  patch\n    max-age        2h\n}\nroute \"/api/*\" { cors api }\n",
    )
    .unwrap();
    let out = dir.join("out");
    let e = Build::new()
        .policy(&policy)
        .out_dir(&out)
        .nginx(out.join("nginx"))
        .cargo_output(false)
        .compile()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("error[GL1010]: nginx answers 400 to the method `patch`"),
        "{e}"
    );
    assert!(e.contains("m.policy:3:20"), "{e}");
    assert!(!out.join("guestlist_policy.rs").exists());
    assert!(!out.join("nginx").exists());
}

/// `Build::haproxy` and `Build::caddy` write their edges beside nginx's, naming files under
/// the include roots given, and a policy one of them cannot carry (a nonce CSP on HAProxy)
/// is refused whole unless its loss is accepted.
#[test]
fn writes_haproxy_and_caddy_and_refuses_what_an_edge_cannot_carry() {
    let dir = tempdir("build-edges");
    Build::new()
        .policy(site())
        .out_dir(&dir)
        .haproxy(dir.join("haproxy"))
        .haproxy_include_root("/etc/haproxy/guestlist")
        .caddy(dir.join("caddy"))
        .caddy_upstream_include("/etc/caddy/upstream.caddy")
        .cargo_output(false)
        .compile()
        .unwrap();
    let cfg = std::fs::read_to_string(dir.join("haproxy/guestlist.cfg")).unwrap();
    assert!(cfg.contains("/etc/haproxy/guestlist/maps/"), "{cfg}");
    let caddy = std::fs::read_to_string(dir.join("caddy/guestlist.caddy")).unwrap();
    assert!(
        caddy.contains("import /etc/caddy/upstream.caddy"),
        "{caddy}"
    );
    assert!(!dir.join("nginx").exists());

    let guards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policies/guards.policy");
    let out = tempdir("build-edges-nonce");
    let build = |accept: bool| {
        let b = Build::new()
            .policy(&guards)
            .out_dir(&out)
            .haproxy(out.join("haproxy"))
            .caddy(out.join("caddy"))
            .cargo_output(false);
        let b = if accept {
            b.accept_loss(guestlist_compiler::emit::Loss::CspNonce)
                .accept_loss(guestlist_compiler::emit::Loss::CsrfToken)
        } else {
            b
        };
        b.compile()
    };
    let e = build(false).unwrap_err().to_string();
    assert!(e.contains("error[GL1201]"), "{e}");
    assert!(e.contains("HAProxy"), "{e}");
    assert!(!out.join("guestlist_policy.rs").exists());
    build(true).unwrap();
    let cfg = std::fs::read_to_string(out.join("haproxy/guestlist.cfg")).unwrap();
    assert!(cfg.contains("csp-nonce: csp policy"), "{cfg}");
    // Caddy makes the nonce itself: the loss accepted for HAProxy loses nothing there.
    let caddy = std::fs::read_to_string(out.join("caddy/guestlist.caddy")).unwrap();
    assert!(caddy.contains("{http.request.uuid}"), "{caddy}");
    assert!(!caddy.contains("csp-nonce: csp policy"), "{caddy}");
    assert!(caddy.contains("csrf-token: csrf policy"), "{caddy}");
}
