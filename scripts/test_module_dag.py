#!/usr/bin/env python3
# Usage: python3 scripts/test_module_dag.py  (tests for scripts/module-dag.py, on small fake crates)
"""Tests for module-dag.py: each builds a fake crate in a temporary directory."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("module_dag", os.path.join(HERE, "module-dag.py"))
md = importlib.util.module_from_spec(_spec)
sys.modules["module_dag"] = md
_spec.loader.exec_module(md)


class FakeCrate:
    """A crate's src/ directory made from {relative path: text}."""

    def __init__(self, files: dict[str, str]):
        self.tmp = tempfile.TemporaryDirectory()
        self.src = os.path.join(self.tmp.name, "src")
        for rel, text in files.items():
            path = os.path.join(self.src, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text).lstrip("\n"))

    def edges(self) -> dict[str, set[tuple[str, str]]]:
        """{graph title: {(from, to)}} for every graph of the crate."""
        _, graphs = md.analyze(self.src)
        return {g.title(): set(g.edges) for g in graphs}

    def locations(self, title: str, edge: tuple[str, str]) -> list[str]:
        _, graphs = md.analyze(self.src)
        g = next(g for g in graphs if g.title() == title)
        return [f"{os.path.relpath(p, self.src)}:{line}" for p, line in g.edges[edge]]

    def run(self, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = md.main([*args, self.src])
        return code, out.getvalue()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.tmp.cleanup()


class ModuleDagTest(unittest.TestCase):
    def test_nested_use_groups(self):
        with FakeCrate({
            "lib.rs": "mod a; mod b; mod c; mod d; mod e;",
            "a.rs": """
                use crate::{
                    b::{self as bee, Thing as Other},
                    c::{inner::{Deep}, *},
                };
                use std::{collections::HashMap, fmt};
                """,
            "b.rs": "pub struct Thing;",
            "c/mod.rs": "pub mod inner; pub mod other;",
            "c/inner.rs": "pub struct Deep; use super::other::{self};",
            "c/other.rs": "",
            "d.rs": "use super::{e::{E}};",
            "e.rs": "pub struct E;",
        }) as c:
            edges = c.edges()
            self.assertEqual(edges["crate"], {("a", "b"), ("a", "c"), ("d", "e")})
            self.assertEqual(edges["crate::c"], {("inner", "other")})
            self.assertEqual(c.locations("crate", ("a", "b")), ["a.rs:2"])

    def test_super_and_self(self):
        with FakeCrate({
            "lib.rs": "mod p; mod q;",
            "p/mod.rs": "mod x; mod y; pub struct Local;",
            "p/x.rs": """
                use super::y::Thing;
                use super::Local;
                fn f() { super::super::q::g(); }
                """,
            "p/y.rs": "pub struct Thing; use self::z::Z; mod z { pub struct Z; }",
            "q.rs": "pub fn g() {}",
        }) as c:
            edges = c.edges()
            # x -> y under p; p -> q at the root; x's use of its parent's item is no edge.
            self.assertEqual(edges["crate::p"], {("x", "y")})
            self.assertEqual(edges["crate"], {("p", "q")})
            self.assertEqual(c.locations("crate", ("p", "q")), ["p/x.rs:3"])

    def test_reexports_resolve_to_the_defining_module(self):
        with FakeCrate({
            "lib.rs": """
                mod a; mod b; mod c; mod d; mod e;
                pub use a::X;
                pub(crate) use c::Z;
                pub use e::*;
                """,
            "a.rs": "pub struct X; pub struct W;",
            "b.rs": """
                use crate::X;
                fn f() -> crate::Z { crate::d::W }
                fn g(_: crate::G) {}
                """,
            "c/mod.rs": "mod inner; pub use self::inner::*;",
            "c/inner.rs": "pub struct Z;",
            "d.rs": "pub use crate::a::W;",
            "e.rs": "pub struct G;",
        }) as c:
            edges = c.edges()["crate"]
            # crate::X is a's, crate::Z is c's, crate::d::W is a's (not d's), crate::G is e's
            # (through the root's glob).
            self.assertEqual(edges, {("b", "a"), ("b", "c"), ("b", "e"), ("d", "a")})
            self.assertEqual(c.locations("crate", ("b", "a")), ["b.rs:1", "b.rs:2"])

    def test_inline_paths(self):
        with FakeCrate({
            "lib.rs": "mod a; mod b; mod c; mod d; mod e; mod f;",
            "a.rs": """
                pub fn g(p: &str) -> bool {
                    crate::b::strict_pattern(p)
                        && <crate::c::T as crate::d::Tr>::ok()
                        && crate::e::Kind::Yes == crate::e::Kind::Yes
                }
                impl crate::f::Tr for u8 {}
                """,
            "b.rs": "pub fn strict_pattern(_: &str) -> bool { true }",
            "c.rs": "pub struct T;",
            "d.rs": "pub trait Tr { fn ok() -> bool; }",
            "e.rs": "pub enum Kind { Yes }",
            "f.rs": "pub trait Tr {}",
        }) as c:
            self.assertEqual(
                c.edges()["crate"], {("a", "b"), ("a", "c"), ("a", "d"), ("a", "e"), ("a", "f")}
            )
            self.assertEqual(c.locations("crate", ("a", "b")), ["a.rs:2"])

    def test_test_only_code_is_excluded(self):
        with FakeCrate({
            "lib.rs": "mod a; mod b; mod c; mod d; mod e;",
            "a.rs": """
                #[cfg(test)]
                mod tests {
                    use crate::b::*;
                    fn t() { crate::c::f(); }
                }
                #[cfg(test)]
                mod more;
                #[cfg(all(test, feature = "x"))]
                use crate::c::Z;
                pub struct S;
                impl S {
                    #[cfg(test)]
                    fn helper() { crate::b::f() }
                }
                #[cfg(not(test))]
                use crate::d::Q;
                #[cfg(any(test, feature = "x"))]
                use crate::e::E;
                """,
            "a/more.rs": "use crate::b::f;",
            "b.rs": "pub fn f() {}",
            "c.rs": "pub fn f() {} pub struct Z;",
            "d.rs": "pub struct Q;",
            "e.rs": "pub struct E;",
        }) as c:
            self.assertEqual(c.edges()["crate"], {("a", "d"), ("a", "e")})

    def test_comments_and_strings_are_not_code(self):
        with FakeCrate({
            "lib.rs": "mod a; mod b; mod c;",
            "a.rs": r'''
                //! crate::b::docs
                /// crate::b::Doc
                // crate::b::x
                /* crate::b::y /* nested */ crate::b::z */
                #[doc = "crate::b::attr"]
                pub fn f() {
                    let _ = "crate::b::s \" crate::b::t";
                    let _ = r#"crate::b::raw "quoted" "#;
                    let _ = r#"a" crate::b::raw "b"#;
                    let _ = b"crate::b::bytes";
                    let _ = br##"crate::b::"#raw"##;
                    let _ = '"'; crate::c::after_char();
                    let _ = '\''; let _: &'static str = "x";
                }
                ''',
            "b.rs": "",
            "c.rs": "pub fn after_char() {}",
        }) as c:
            self.assertEqual(c.edges()["crate"], {("a", "c")})
            self.assertEqual(c.locations("crate", ("a", "c")), ["a.rs:12"])

    def test_globs_macros_and_path_attributes(self):
        with FakeCrate({
            "lib.rs": """
                #[macro_use]
                mod macros;
                mod a; mod b; mod c; mod e; mod f;
                #[path = "other/d_impl.rs"]
                mod d;
                """,
            "macros.rs": "macro_rules! bump { ($x:expr) => { $crate::c::inc($x) } }",
            "a.rs": """
                pub use crate::b::Thing;
                mod inner {
                    use super::*;
                    fn f() -> Thing { bump!(1); todo!() }
                }
                """,
            "b.rs": "pub struct Thing;\npub(in crate::f) fn g() {}",
            "c.rs": "pub fn inc(x: u8) -> u8 { x }",
            "other/d_impl.rs": "mod sub;",
            "other/sub.rs": "pub fn x() { crate::e::y() }",
            "e.rs": r'pub fn y() {} const S: &str = r"\"; fn z() { crate::f::q() }',
            "f.rs": "pub fn q() {}",
        }) as c:
            self.assertEqual(
                c.edges()["crate"],
                {("a", "b"), ("a", "macros"), ("macros", "c"), ("d", "e"), ("e", "f")},
            )
            # The glob-imported name `Thing` (line 4) is b's, through a's re-export.
            self.assertEqual(c.locations("crate", ("a", "b")), ["a.rs:1", "a.rs:4"])
            self.assertEqual(c.locations("crate", ("d", "e")), ["other/sub.rs:1"])

    def test_cycle_at_depth_one(self):
        with FakeCrate({
            "lib.rs": "mod a; mod b; mod c;",
            "a.rs": "use crate::b::B;\npub struct A;",
            "b.rs": "pub struct B;\nfn f() -> crate::c::C { todo!() }",
            "c.rs": "pub struct C;\nfn g(_: crate::a::A) {}",
        }) as c:
            code, out = c.run()
            self.assertEqual(code, 1)
            self.assertIn(": cycle in crate: a b c", out)
            self.assertRegex(out, r"a -> b: \S*a\.rs:1\n")
            self.assertRegex(out, r"b -> c: \S*b\.rs:2\n")
            self.assertRegex(out, r"c -> a: \S*c\.rs:2\n")

    def test_cycle_at_depth_two(self):
        with FakeCrate({
            "lib.rs": "mod check; mod ir;",
            "check/mod.rs": "pub mod origin; pub mod csp;",
            "check/origin.rs": "pub struct Origin;\nuse super::csp::NONCE;",
            "check/csp.rs": "pub const NONCE: u8 = 0;\nfn f(_: &crate::check::origin::Origin) {}",
            "ir.rs": "",
        }) as c:
            code, out = c.run()
            self.assertEqual(code, 1)
            self.assertIn(": cycle in crate::check: csp origin", out)
            self.assertRegex(out, r"csp -> origin: \S*check/csp\.rs:2\n")
            self.assertRegex(out, r"origin -> csp: \S*check/origin\.rs:2\n")
            self.assertNotIn("cycle in crate: ", out)

    def test_dag_passes(self):
        with FakeCrate({
            "lib.rs": "mod util; mod model; mod eval; pub use eval::decide;",
            "util.rs": "pub fn split() {}",
            "model/mod.rs": "mod origin; mod set; pub use origin::Origin;",
            "model/origin.rs": "pub struct Origin; fn f() { crate::util::split() }",
            "model/set.rs": "use super::Origin; pub struct Set(Vec<Origin>);",
            "eval.rs": "use crate::model::Origin;\npub fn decide() {}",
        }) as c:
            code, out = c.run("--order")
            self.assertEqual(code, 0, out)
            self.assertIn("a DAG at every depth", out)
            self.assertNotIn("cycle", out)
            self.assertIn("crate, bottom up:\n  0: util\n  1: model\n  2: eval\n", out)
            self.assertIn("crate::model, bottom up:\n  0: origin\n  1: set\n", out)


if __name__ == "__main__":
    unittest.main()
