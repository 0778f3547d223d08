#!/usr/bin/env python3
# Usage: scripts/module-dag.py [--order] [--edges] [SRC_DIR ...]  (default: runtime/src compiler/src macros/src)
"""Checks that the modules of each library crate form a DAG at every depth.

For each crate it reads the module tree from `src/lib.rs` (out-of-line `mod x;` as `x.rs` or
`x/mod.rs`, `#[path]`, inline `mod x { ... }`), leaving out everything under `#[cfg(test)]`
(tests may reach anywhere) and `src/bin/`. It collects every path that names something in the
crate: `use` trees (nested groups, `self`, `as`, globs), `crate::`, `super::`, `self::` and
`$crate::` paths anywhere in the code, paths that start with a name in scope (a child module, a
`use` binding), names brought in by a glob import, and invocations of the crate's own
`macro_rules!` macros. Comments, doc comments, string, byte-string, raw-string and char literals
are not code.

Each path resolves to the module that defines what it names: it walks the module tree, follows
`use` bindings (re-exports) to their source, and stops at the first item (fn, struct, enum,
union, trait, type, const, static, macro). A path to a re-export of another crate's item is a
reference to the re-exporting module.

A reference from module A to module B is an edge between the two children of their closest
common ancestor that contain A and B: `crate::check::csp` -> `crate::ir` is `check -> ir` at the
crate root, `check::csp` -> `check::origin` is `csp -> origin` under `check`. A module's
references to its own ancestors, and to its own descendants, are not edges.

Not seen: paths a macro builds from pieces or a proc macro generates, files pulled in with
`include!`, items defined inside a macro invocation, names used through a `use` inside a function
body (the `use` itself counts). Every `cfg` other than `test` is taken as on. A bare name that a
glob brings in is matched by spelling, so a local variable that shares its name can add an edge.

Exit status: 0 when every graph is a DAG, 1 when any has a cycle (each cycle's edges are listed
with a file:line where the reference is made), 2 on a usage or input error.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field

DEFAULT_CRATES = ("runtime/src", "compiler/src", "macros/src")

# Keywords that introduce an item, and those of them that end at `;` rather than at a block.
ITEM_KEYWORDS = {
    "fn", "struct", "enum", "union", "trait", "type", "const", "static", "mod", "use",
    "impl", "extern", "macro_rules", "macro", "unsafe", "async", "auto", "default",
}
CONTEXTUAL = {"union", "auto", "default", "macro"}  # keywords only before a name
SEMI_ITEMS = {"use", "const", "static", "type", "let"}
NAMED_ITEMS = {"fn", "struct", "enum", "union", "trait", "type", "const", "static", "macro"}
KEYWORDS = {
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
    "extern", "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move",
    "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super", "trait", "true",
    "type", "unsafe", "use", "where", "while", "union", "macro_rules", "_",
}
PATH_ROOTS = {"crate", "self", "super"}
EXTERN = "::"  # first segment of a path that starts with `::` (another crate)


# ---------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True)
class Tok:
    kind: str  # "id" (identifier or keyword), "rid" (raw identifier), "lit", "lt", "p"
    text: str
    line: int


PUNCT3 = ("..=", "...", "<<=", ">>=")
PUNCT2 = ("::", "->", "=>", "!=", "==", "<=", ">=", "&&", "||", "..", "+=", "-=", "*=", "/=")


def _ident_char(c: str) -> bool:
    return c.isalnum() or c == "_"


def _ident_start(c: str) -> bool:
    return c.isalpha() or c == "_"


def tokenize(src: str) -> list[Tok]:
    """Rust tokens, without comments; string and char literals become one `lit` token each."""
    toks: list[Tok] = []
    i, n, line = 0, len(src), 1

    def newlines(a: int, b: int) -> int:
        return src.count("\n", a, b)

    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            continue
        if c.isspace():
            i += 1
            continue
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
            continue
        if src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            line += newlines(i, j)
            i = j
            continue
        # Raw strings: r"..", r#".."#, br"..", cr#".."#.
        m = _raw_string_at(src, i)
        if m is not None:
            toks.append(Tok("lit", src[i:m], line))
            line += newlines(i, m)
            i = m
            continue
        # Strings: "..", b"..", c"..".
        if c == '"' or (c in "bc" and src.startswith('"', i + 1)):
            j = i + (1 if c == '"' else 2)
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
            toks.append(Tok("lit", src[i:j], line))
            line += newlines(i, j)
            i = j
            continue
        # Char and byte literals ('x', '\n', '"', b'x'), or a lifetime / label ('a, 'static).
        if c == "'" or (c == "b" and src.startswith("'", i + 1)):
            q = i if c == "'" else i + 1
            if q + 1 < n and src[q + 1] == "\\":
                j = q + 1
                while j < n and src[j] != "'":
                    j += 2 if src[j] == "\\" else 1
                toks.append(Tok("lit", src[i : j + 1], line))
                i = j + 1
                continue
            if q + 2 < n and src[q + 2] == "'":
                toks.append(Tok("lit", src[i : q + 3], line))
                i = q + 3
                continue
            if c == "'":
                j = i + 1
                while j < n and _ident_char(src[j]):
                    j += 1
                toks.append(Tok("lt", src[i:j], line))
                i = j
                continue
        if c == "r" and src.startswith("r#", i) and i + 2 < n and _ident_start(src[i + 2]):
            j = i + 2
            while j < n and _ident_char(src[j]):
                j += 1
            toks.append(Tok("rid", src[i + 2 : j], line))
            i = j
            continue
        if _ident_start(c):
            j = i + 1
            while j < n and _ident_char(src[j]):
                j += 1
            toks.append(Tok("id", src[i:j], line))
            i = j
            continue
        if c == "$" and src.startswith("$crate", i) and not (i + 6 < n and _ident_char(src[i + 6])):
            toks.append(Tok("id", "crate", line))
            i += 6
            continue
        if c.isdigit():
            j = i + 1
            while j < n and (_ident_char(src[j]) or (src[j] == "." and j + 1 < n and src[j + 1].isdigit())):
                j += 1
            toks.append(Tok("lit", src[i:j], line))
            i = j
            continue
        for p in PUNCT3 + PUNCT2:
            if src.startswith(p, i):
                toks.append(Tok("p", p, line))
                i += len(p)
                break
        else:
            toks.append(Tok("p", c, line))
            i += 1
    return toks


def _raw_string_at(src: str, i: int) -> int | None:
    """The end of a raw (byte/C) string literal starting at `i`, or None."""
    j = i
    if src.startswith(("br", "cr"), j):
        j += 2
    elif src.startswith("r", j):
        j += 1
    else:
        return None
    if i > 0 and _ident_char(src[i - 1]):
        return None
    hashes = 0
    while j < len(src) and src[j] == "#":
        hashes += 1
        j += 1
    if j >= len(src) or src[j] != '"':
        return None
    close = '"' + "#" * hashes
    k = src.find(close, j + 1)
    return len(src) if k < 0 else k + len(close)


def strip(src: str) -> str:
    """The code of `src` as text: tokens separated by spaces, literals as `""` (for tests)."""
    return " ".join('""' if t.kind == "lit" else t.text for t in tokenize(src))


# ---------------------------------------------------------------------------------------------
# Module tree


@dataclass(eq=False)
class Module:
    path: tuple[str, ...]
    file: str
    mod_dir: str
    parent: Module | None = None
    inline: bool = False  # `mod x { ... }`
    children: dict[str, Module] = field(default_factory=dict)
    items: dict[str, Module] = field(default_factory=dict)  # name -> defining module
    bindings: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)  # `use` names
    globs: list[tuple[str, ...]] = field(default_factory=list)
    # (segments, file, line); a first segment that is not crate/self/super is looked up in scope
    refs: list[tuple[tuple[str, ...], str, int]] = field(default_factory=list)
    idents: dict[str, tuple[str, int]] = field(default_factory=dict)  # bare names, first use
    macro_calls: dict[str, tuple[str, int]] = field(default_factory=dict)  # `name!`, first use

    def name(self) -> str:
        return "::".join(("crate",) + self.path)


@dataclass
class Crate:
    src: str
    root: Module
    modules: list[Module]
    macros: dict[str, list[Module]]  # macro_rules! name -> defining modules
    warnings: list[str]


def _balanced(toks: list[Tok], i: int) -> int:
    """Index after the group opening at toks[i] ( `(`, `[` or `{` )."""
    depth = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "p" and t.text in "([{":
            depth += 1
        elif t.kind == "p" and t.text in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def _is(t: Tok | None, text: str) -> bool:
    return t is not None and t.kind in ("p", "id") and t.text == text


def _at(toks: list[Tok], i: int) -> Tok | None:
    return toks[i] if 0 <= i < len(toks) else None


def cfg_test_only(attr: list[Tok]) -> bool:
    """Whether an attribute's tokens (inside `#[...]`) are a `cfg` that needs `test`."""
    if not attr or not _is(attr[0], "cfg") or not _is(_at(attr, 1), "("):
        return False

    def expr(i: int) -> tuple[bool, int]:
        t = attr[i]
        if t.kind == "id" and t.text in ("all", "any", "not") and _is(_at(attr, i + 1), "("):
            subs, j = [], i + 2
            while j < len(attr) and not _is(attr[j], ")"):
                v, j = expr(j)
                subs.append(v)
                if _is(_at(attr, j), ","):
                    j += 1
            if t.text == "all":
                return any(subs), j + 1
            if t.text == "any":
                return bool(subs) and all(subs), j + 1
            return False, j + 1
        j = i + 1
        if _is(_at(attr, j), "="):
            j += 2
        return t.kind == "id" and t.text == "test" and j == i + 1, j

    try:
        return expr(2)[0]
    except IndexError:
        return False


def _attributes(toks: list[Tok], i: int, end: int) -> tuple[list[list[Tok]], int]:
    """Outer attributes at toks[i]: their inner tokens, and the index after them."""
    attrs = []
    while i < end and _is(toks[i], "#") and _is(_at(toks, i + 1), "["):
        j = _balanced(toks, i + 1)
        attrs.append(toks[i + 2 : j - 1])
        i = j
    return attrs, i


def _skip_visibility(toks: list[Tok], i: int) -> int:
    if _is(_at(toks, i), "pub"):
        i += 1
        if _is(_at(toks, i), "("):
            i = _balanced(toks, i)
    return i


def _item_end(toks: list[Tok], i: int, end: int) -> int:
    """The index after the item, statement or field starting at toks[i] (after attributes)."""
    j = _skip_visibility(toks, i)
    head = toks[j] if j < end else None
    if head is not None and head.kind == "id" and head.text in SEMI_ITEMS and not (
        head.text == "const" and _at(toks, j + 1) is not None
        and toks[j + 1].kind == "id" and toks[j + 1].text in ("fn", "unsafe", "async", "extern")
    ):
        mode = "semi"
    elif head is not None and head.kind == "id" and head.text in ITEM_KEYWORDS and not (
        head.text in CONTEXTUAL and (_at(toks, j + 1) is None or toks[j + 1].kind == "p")
    ):
        mode = "block"
    elif head is not None and head.kind in ("id", "rid") and _is(_at(toks, j + 1), "!"):
        mode = "block"  # a macro invocation
    else:
        mode = "field"
    depth = 0
    k = i
    while k < end:
        t = toks[k]
        if t.kind == "p":
            if t.text in "([{":
                depth += 1
            elif t.text in ")]}":
                if depth == 0:
                    return k
                depth -= 1
                if depth == 0 and t.text == "}" and mode != "semi":
                    return k + 1
            elif depth == 0 and (t.text == ";" or (t.text == "," and mode == "field")):
                return k + 1
        k += 1
    return end


def _attr_path(attrs: list[list[Tok]]) -> str | None:
    for a in attrs:
        if len(a) >= 3 and _is(a[0], "path") and _is(a[1], "=") and a[2].kind == "lit":
            text = a[2].text
            m = _raw_string_at(text, 0)
            if m is not None:
                text = text[text.index('"') + 1 : text.rindex('"')]
            else:
                text = text[1:-1].encode().decode("unicode_escape")
            return text
    return None


def _has_attr(attrs: list[list[Tok]], name: str) -> bool:
    return any(a and _is(a[0], name) for a in attrs)


def parse_use_tree(
    toks: list[Tok], i: int, prefix: tuple[str, ...] = ()
) -> tuple[list[tuple[tuple[str, ...], str | None, bool, int]], int]:
    """Leaves of the use tree at toks[i]: (segments, bound name or None, is glob, line)."""
    segs = list(prefix)
    if not segs and _is(_at(toks, i), "::"):
        segs.append(EXTERN)
        i += 1
    leaves = []
    while i < len(toks):
        t = toks[i]
        if _is(t, "{"):
            i += 1
            while i < len(toks) and not _is(toks[i], "}"):
                sub, i = parse_use_tree(toks, i, tuple(segs))
                leaves.extend(sub)
                if _is(_at(toks, i), ","):
                    i += 1
            return leaves, i + 1
        if _is(t, "*"):
            return [(tuple(segs), None, True, t.line)], i + 1
        if t.kind in ("id", "rid"):
            if t.kind == "id" and t.text == "self" and segs:
                pass  # `a::{self}` binds `a`
            else:
                segs.append(t.text)
            i += 1
            if _is(_at(toks, i), "::"):
                i += 1
                continue
            name: str | None = segs[-1] if segs else None
            if _is(_at(toks, i), "as"):
                alias = toks[i + 1].text if i + 1 < len(toks) else "_"
                name = None if alias == "_" else alias
                i += 2
            if name in PATH_ROOTS:
                name = None
            return [(tuple(segs), name, False, t.line)], i
        return leaves, i  # malformed: stop here
    return leaves, i


class Loader:
    def __init__(self, src: str):
        self.src = os.path.normpath(src)
        self.modules: list[Module] = []
        self.macros: dict[str, list[Module]] = {}
        self.warnings: list[str] = []
        self.root: Module | None = None
        self.bin_dir = os.path.join(self.src, "bin")

    def load(self) -> Crate:
        lib = os.path.join(self.src, "lib.rs")
        if not os.path.isfile(lib):
            raise FileNotFoundError(f"{lib}: no such file (is {self.src} a library crate's src?)")
        self.root = Module((), lib, self.src)
        self.modules.append(self.root)
        self._load_file(self.root, lib)
        return Crate(self.src, self.root, self.modules, self.macros, self.warnings)

    def _load_file(self, module: Module, path: str) -> None:
        with open(path, encoding="utf-8") as f:
            toks = tokenize(f.read())
        self._items(module, path, toks, 0, len(toks))

    def _items(self, module: Module, path: str, toks: list[Tok], i: int, end: int) -> None:
        while i < end:
            if _is(toks[i], "#") and _is(_at(toks, i + 1), "!"):
                j = _balanced(toks, i + 2)
                if cfg_test_only(toks[i + 3 : j - 1]) and module.parent is not None:
                    # `#![cfg(test)]`: the whole module is test-only.
                    del module.parent.children[module.path[-1]]
                    self._drop(module)
                    return
                i = j
                continue
            attrs, i = _attributes(toks, i, end)
            if i >= end:
                break
            start = i
            stop = _item_end(toks, i, end)
            if stop <= i:
                stop = i + 1
            if any(cfg_test_only(a) for a in attrs):
                i = stop
                continue
            j = _skip_visibility(toks, i)
            head = _at(toks, j)
            if _is(head, "mod") and _at(toks, j + 1) is not None:
                name = toks[j + 1].text
                if _is(_at(toks, j + 2), "{"):
                    child = self._child(module, name, path, os.path.join(module.mod_dir, name))
                    child.inline = True
                    body_end = _balanced(toks, j + 2) - 1
                    self._items(child, path, toks, j + 3, body_end)
                else:
                    self._out_of_line(module, name, path, attrs, toks[j + 1].line)
            elif _is(head, "use"):
                self._use(module, path, toks, j + 1, bind=True)
            elif _is(head, "extern") and _is(_at(toks, j + 1), "crate"):
                pass
            else:
                self._define(module, attrs, toks, j, stop)
                self._scan(module, path, toks, start, stop)
            i = stop

    def _drop(self, module: Module) -> None:
        for child in list(module.children.values()):
            self._drop(child)
        self.modules.remove(module)

    def _child(self, parent: Module, name: str, path: str, mod_dir: str) -> Module:
        child = Module(parent.path + (name,), path, mod_dir, parent)
        parent.children[name] = child
        self.modules.append(child)
        return child

    def _out_of_line(self, module: Module, name: str, path: str, attrs, line: int) -> None:
        explicit = _attr_path(attrs)
        if explicit is not None:
            # Outside inline modules, relative to the declaring file's directory; inside
            # them, to the inline module's directory. The file owns its directory.
            base = module.mod_dir if module.inline else os.path.dirname(path)
            candidates = [os.path.normpath(os.path.join(base, explicit))]
        else:
            candidates = [
                os.path.join(module.mod_dir, name + ".rs"),
                os.path.join(module.mod_dir, name, "mod.rs"),
            ]
        for c in candidates:
            if os.path.isfile(c):
                if os.path.commonpath([c, self.bin_dir]) == self.bin_dir:
                    return
                if explicit is not None:
                    mod_dir = os.path.dirname(c)
                else:
                    mod_dir = os.path.join(module.mod_dir, name)
                child = self._child(module, name, c, mod_dir)
                self._load_file(child, c)
                return
        self.warnings.append(
            f"{path}:{line}: `mod {name};` has no file ({' or '.join(candidates)}); skipped"
        )

    def _define(self, module: Module, attrs, toks: list[Tok], j: int, stop: int) -> None:
        """Registers the name an item defines (fn, struct, ..., macro_rules!)."""
        k = j
        while k < stop:
            t = toks[k]
            if t.kind == "id" and t.text == "macro_rules" and _is(_at(toks, k + 1), "!"):
                name_tok = _at(toks, k + 2)
                if name_tok is not None and name_tok.kind in ("id", "rid"):
                    self.macros.setdefault(name_tok.text, []).append(module)
                    module.items.setdefault(name_tok.text, module)
                    if _has_attr(attrs, "macro_export") and self.root is not None:
                        self.root.items.setdefault(name_tok.text, module)
                return
            if t.kind == "id" and t.text in NAMED_ITEMS:
                nxt = _at(toks, k + 1)
                if nxt is not None and nxt.kind == "id" and nxt.text == "mut":
                    nxt = _at(toks, k + 2)
                if nxt is not None and nxt.kind == "rid":
                    module.items.setdefault(nxt.text, module)
                    return
                if nxt is not None and nxt.kind == "id" and nxt.text not in KEYWORDS:
                    module.items.setdefault(nxt.text, module)
                    return
                k += 1
                continue
            if t.kind != "id" or t.text not in ITEM_KEYWORDS:
                if not (t.kind == "lit" and k > j and _is(toks[k - 1], "extern")):
                    return
            k += 1

    def _use(self, module: Module, path: str, toks: list[Tok], i: int, bind: bool) -> int:
        leaves, end = parse_use_tree(toks, i)
        for segs, name, glob, line in leaves:
            if not segs:
                continue
            module.refs.append((segs, path, line))
            if not bind:
                continue
            if glob:
                module.globs.append(segs)
            elif name is not None:
                module.bindings.setdefault(name, []).append(segs)
        return end

    def _scan(self, module: Module, path: str, toks: list[Tok], i: int, end: int) -> None:
        """Collects the paths in code: toks[i:end] belong to `module` and are not test-only."""
        while i < end:
            t = toks[i]
            if _is(t, "#") and (_is(_at(toks, i + 1), "[") or _is(_at(toks, i + 1), "!")):
                open_at = i + 1 if _is(toks[i + 1], "[") else i + 2
                j = _balanced(toks, open_at)
                if cfg_test_only(toks[open_at + 1 : j - 1]):
                    _, k = _attributes(toks, j, end)
                    i = _item_end(toks, k, end) if open_at == i + 1 else end
                    continue
                i = j
                continue
            if _is(t, "pub") and _is(_at(toks, i + 1), "("):
                i = _balanced(toks, i + 1)  # `pub(in crate::a)` is a visibility, not a use
                continue
            if _is(t, "use"):
                i = self._use(module, path, toks, i + 1, bind=False)
                continue
            prev = _at(toks, i - 1)
            after_dot_or_path = prev is not None and prev.kind == "p" and prev.text in ("::", ".")
            if t.kind in ("id", "rid") and not after_dot_or_path:
                if _is(_at(toks, i + 1), "::") and (t.kind == "rid" or t.text not in KEYWORDS - PATH_ROOTS):
                    segs, line, j = [t.text], t.line, i + 1
                    while _is(_at(toks, j), "::") and _at(toks, j + 1) is not None and toks[j + 1].kind in ("id", "rid"):
                        segs.append(toks[j + 1].text)
                        line = toks[j + 1].line
                        j += 2
                    module.refs.append((tuple(segs), path, line))
                    i = j
                    continue
                if t.kind == "rid" or t.text not in KEYWORDS:
                    if _is(_at(toks, i + 1), "!") and not _is(_at(toks, i + 2), "="):
                        module.macro_calls.setdefault(t.text, (path, t.line))
                    else:
                        module.idents.setdefault(t.text, (path, t.line))
            i += 1


# ---------------------------------------------------------------------------------------------
# Resolution


class Resolver:
    """Resolves paths to the module that defines what they name."""

    def __init__(self, crate: Crate):
        self.crate = crate

    def resolve(self, module: Module, segs: tuple[str, ...], seen=None) -> tuple[str, Module] | None:
        """("mod", m) when the path names module m, ("item", m) when it names an item defined
        in m; None when it names nothing in this crate."""
        seen = set() if seen is None else seen
        if not segs or segs[0] == EXTERN:
            return None
        first, rest = segs[0], segs[1:]
        if first == "crate":
            cur = self.crate.root
        elif first in ("self", "super"):
            cur, k = module, 0
            while k < len(segs) and segs[k] in ("self", "super"):
                if segs[k] == "super":
                    if cur.parent is None:
                        return None
                    cur = cur.parent
                k += 1
            rest = segs[k:]
        else:
            found = self.lookup(module, first, seen)
            if found is None:
                return None
            kind, cur = found
            if kind == "item":
                return found
        for seg in rest:
            found = self.lookup(cur, seg, seen)
            if found is None:
                return ("item", cur)  # a name the tree does not know: attributed to `cur`
            kind, target = found
            if kind == "item":
                return found
            cur = target
        return ("mod", cur)

    def lookup(self, module: Module, name: str, seen) -> tuple[str, Module] | None:
        key = (id(module), name)
        if key in seen:
            return None
        seen = seen | {key}
        if name in module.children:
            return ("mod", module.children[name])
        if name in module.items:
            return ("item", module.items[name])
        if name in module.bindings:
            for segs in module.bindings[name]:
                found = self.resolve(module, segs, seen)
                if found is not None:
                    return found
            return ("item", module)  # another crate's item, re-exported here
        for g in module.globs:
            target = self.resolve(module, g, seen)
            if target is not None and target[0] == "mod":
                found = self.lookup(target[1], name, seen)
                if found is not None:
                    return found
        return None

    def references(self, module: Module):
        """(target module, file, line) for every reference made by code in `module`."""
        out = []
        for segs, path, line in module.refs:
            found = self.resolve(module, segs)
            if found is not None:
                out.append((found[1], path, line))
        local = set(module.items) | set(module.children) | set(module.bindings)
        if module.globs:
            for name, (path, line) in sorted(module.idents.items()):
                if name in local:
                    continue
                found = self.lookup_globs(module, name)
                if found is not None:
                    out.append((found[1], path, line))
        for name, (path, line) in sorted(module.macro_calls.items()):
            if name in local:
                continue
            found = self.lookup_globs(module, name) if module.globs else None
            if found is not None:
                out.append((found[1], path, line))
                continue
            defs = self.crate.macros.get(name, [])
            if len(defs) == 1:
                out.append((defs[0], path, line))
        return out

    def lookup_globs(self, module: Module, name: str):
        for g in module.globs:
            target = self.resolve(module, g)
            if target is not None and target[0] == "mod":
                found = self.lookup(target[1], name, set())
                if found is not None:
                    return found
        return None


# ---------------------------------------------------------------------------------------------
# Graphs


@dataclass
class Graph:
    parent: tuple[str, ...]
    nodes: list[str]
    # (from, to) -> sorted list of (file, line)
    edges: dict[tuple[str, str], list[tuple[str, int]]]

    def title(self) -> str:
        return "::".join(("crate",) + self.parent)

    def successors(self, a: str) -> list[str]:
        return sorted(b for (x, b) in self.edges if x == a)

    def sccs(self) -> list[list[str]]:
        """Strongly connected components (Tarjan), each sorted, in reverse topological order."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on: set[str] = set()
        out: list[list[str]] = []
        counter = [0]

        def visit(v: str) -> None:
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in self.successors(v):
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(sorted(comp))

        for v in self.nodes:
            if v not in index:
                visit(v)
        return out

    def cycles(self) -> list[list[str]]:
        return [c for c in self.sccs() if len(c) > 1]

    def levels(self) -> list[list[list[str]]]:
        """Bottom-up layering: level 0 uses no sibling; level k uses some module of level k-1.
        A cycle is one group of several modules."""
        comps = self.sccs()  # dependencies come before their users
        of = {v: i for i, c in enumerate(comps) for v in c}
        level: dict[int, int] = {}
        for i, comp in enumerate(comps):
            deps = {of[b] for (a, b) in self.edges if a in comp and of[b] != i}
            level[i] = 1 + max((level[d] for d in deps), default=-1)
        out: list[list[list[str]]] = [[] for _ in range(1 + max(level.values(), default=-1))]
        for i, comp in enumerate(comps):
            out[level[i]].append(comp)
        for row in out:
            row.sort()
        return out


def graphs(crate: Crate) -> list[Graph]:
    """One graph per module with at least two children, at every depth."""
    resolver = Resolver(crate)
    by_parent: dict[tuple[str, ...], Graph] = {}
    for m in crate.modules:
        if len(m.children) >= 2:
            by_parent[m.path] = Graph(m.path, sorted(m.children), {})
    for m in crate.modules:
        for target, path, line in resolver.references(m):
            a, b = m.path, target.path
            k = 0
            while k < len(a) and k < len(b) and a[k] == b[k]:
                k += 1
            if k == len(a) or k == len(b):
                continue  # itself, an ancestor or a descendant
            g = by_parent.get(a[:k])
            if g is None:
                continue
            g.edges.setdefault((a[k], b[k]), []).append((path, line))
    for g in by_parent.values():
        for locs in g.edges.values():
            locs.sort()
            locs[:] = list(dict.fromkeys(locs))
    return [by_parent[p] for p in sorted(by_parent)]


def analyze(src: str) -> tuple[Crate, list[Graph]]:
    crate = Loader(src).load()
    return crate, graphs(crate)


# ---------------------------------------------------------------------------------------------
# Command line


def _loc(loc: tuple[str, int]) -> str:
    rel = os.path.relpath(loc[0])
    return f"{loc[0] if rel.startswith('..') else rel}:{loc[1]}"


def _n(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _group(comp: list[str]) -> str:
    return comp[0] if len(comp) == 1 else "{" + " ".join(comp) + "}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Checks that each crate's modules form a DAG at every depth."
    )
    ap.add_argument("src", nargs="*", help="a library crate's src directory (default: the three crates)")
    ap.add_argument("--order", action="store_true", help="print each graph's layering, bottom up")
    ap.add_argument("--edges", action="store_true", help="print every edge with where it is made")
    args = ap.parse_args(argv)
    if args.src:
        srcs = args.src
    else:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        srcs = [os.path.relpath(os.path.join(root, s)) for s in DEFAULT_CRATES]

    failed = False
    summary = []
    for src in srcs:
        try:
            crate, gs = analyze(src)
        except (OSError, UnicodeDecodeError) as e:
            print(f"module-dag: error: {e}", file=sys.stderr)
            return 2
        for w in crate.warnings:
            print(f"module-dag: warning: {w}", file=sys.stderr)
        n_cycles = 0
        for g in gs:
            cycles = g.cycles()
            for comp in cycles:
                n_cycles += 1
                members = set(comp)
                print(f"{src}: cycle in {g.title()}: {' '.join(comp)}")
                for (a, b), locs in sorted(g.edges.items()):
                    if a in members and b in members:
                        more = f" (+{len(locs) - 1} more)" if len(locs) > 1 else ""
                        print(f"  {a} -> {b}: {_loc(locs[0])}{more}")
            if args.order:
                print(f"{src}: {g.title()}, bottom up:")
                for k, row in enumerate(g.levels()):
                    print(f"  {k}: {', '.join(_group(c) for c in row)}")
            if args.edges:
                print(f"{src}: {g.title()}, edges:")
                for (a, b), locs in sorted(g.edges.items()):
                    print(f"  {a} -> {b}: {', '.join(_loc(l) for l in locs)}")
        failed |= n_cycles > 0
        state = f"{_n(n_cycles, 'cycle')}" if n_cycles else "a DAG at every depth"
        summary.append(f"{src}: {_n(len(crate.modules), 'module')}, {_n(len(gs), 'graph')}, {state}")
    for line in summary:
        print(f"module-dag: {line}")
    if failed:
        print("module-dag: error: module cycles (a module below may not use one above it)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
