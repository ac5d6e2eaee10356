"""The layout's rules that a reviewer would otherwise check by eye.

No module reads or writes another module's private names: ``x._name`` is only for
``self``, ``cls`` and ``super()``; a private name is neither imported from another
module, nor passed as a keyword (``Fake(_next=2)``), nor reached by a string
(``getattr(x, "_name")``, ``monkeypatch.setattr``, ``mock.patch("calmline.mod._name")``);
and a class derived from a class of another module neither overrides nor calls that
class's private methods. A private name used across modules is part of its owner's
interface, so it gets a public name there instead.

No exceptions are needed today (``ALLOWED`` is empty): the code reaches no private
name of the standard library or of a third-party package either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ("src", "tests", "benchmarks")
OWN = {"self", "cls"}
STRING_ACCESS = {"getattr", "setattr", "hasattr", "delattr"}
PATCHERS = {"setattr", "delattr", "patch", "object"}  # monkeypatch.setattr, mock.patch(.object)
# Private names of the standard library and third-party packages that calmline has no
# public alternative for. Each with the reason it is needed; keep this list short.
ALLOWED: dict[str, str] = {}


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_own(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in OWN


def is_super(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def base_names(cls: ast.ClassDef) -> list[str]:
    return [
        b.id if isinstance(b, ast.Name) else b.attr
        for b in cls.bases
        if isinstance(b, (ast.Name, ast.Attribute))
    ]


def private_members(cls: ast.ClassDef) -> set[str]:
    """Private methods and fields defined in a class body."""
    names: set[str] = set()
    for item in cls.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(item.name)
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            names.add(item.target.id)
        elif isinstance(item, ast.Assign):
            names.update(t.id for t in item.targets if isinstance(t, ast.Name))
    return {n for n in names if is_private(n)}


def private_in_dotted(text: str) -> str | None:
    """The first private part of a dotted target such as ``calmline.mod._name``."""
    if " " in text or "." not in text:
        return None
    return next((p for p in text.split(".") if is_private(p)), None)


def violations(
    tree: ast.AST, foreign: dict[str, set[str]] | None = None
) -> Iterator[tuple[int, str]]:
    """``(line, what)`` for each private name of another module used in ``tree``.

    ``foreign``: the private members of classes defined elsewhere (by class name); a
    class here that derives from one may neither override nor call them.
    """
    foreign = foreign or {}
    local = {n.name for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        inherited = set().union(*(foreign.get(b, set()) for b in base_names(cls) if b not in local))
        for name in sorted(private_members(cls) & inherited):
            yield cls.lineno, f"class {cls.name} overrides {name} of {'/'.join(base_names(cls))}"
        for node in ast.walk(cls):
            if isinstance(node, ast.Attribute) and is_super(node.value) and node.attr in inherited:
                yield node.lineno, ast.unparse(node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            if not (is_own(node.value) or is_super(node.value)) and node.attr not in ALLOWED:
                yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                if is_private(alias.name) and alias.name not in ALLOWED:
                    yield node.lineno, f"from {node.module} import {alias.name}"
            if node.module and (part := private_in_dotted(node.module + ".x")):
                yield node.lineno, f"from {node.module} import … ({part})"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if part := private_in_dotted(alias.name + ".x"):
                    yield node.lineno, f"import {alias.name} ({part})"
        elif isinstance(node, ast.keyword) and node.arg and is_private(node.arg):
            yield node.value.lineno, f"keyword argument {node.arg}="
        elif isinstance(node, ast.Call):
            yield from string_access(node)


def string_access(node: ast.Call) -> Iterator[tuple[int, str]]:
    """``getattr(x, "_name")`` and the patchers' ``"_name"`` / ``"pkg.mod._name"``."""
    name = call_name(node)
    strings = [
        a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
    ]
    if name in STRING_ACCESS and len(node.args) >= 2 and not is_own(node.args[0]):
        target = node.args[1]
        if (
            isinstance(target, ast.Constant)
            and isinstance(target.value, str)
            and is_private(target.value)
            and target.value not in ALLOWED
        ):
            yield node.lineno, ast.unparse(node)
            return
    if name in PATCHERS:
        for text in strings:
            part = private_in_dotted(text) or (
                text if is_private(text) and name != "patch" else None
            )
            if part and part not in ALLOWED:
                yield node.lineno, ast.unparse(node)[:120]


def class_privates() -> dict[str, set[str]]:
    """Private members of every class in the checked trees, by class name."""
    out: dict[str, set[str]] = {}
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                out.setdefault(node.name, set()).update(private_members(node))
    return out


def python_files() -> Iterator[Path]:
    for tree in TREES:
        yield from sorted((ROOT / tree).rglob("*.py"))


def test_no_module_touches_another_modules_private_names() -> None:
    foreign = class_privates()
    found = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in python_files()
        for line, what in violations(ast.parse(path.read_text(encoding="utf-8")), foreign)
    ]
    assert not found, "private names used from outside their owner:\n" + "\n".join(found)


def test_the_checker_catches_each_form() -> None:
    source = """
import os
from calmline.text import _fold_ascii
from calmline._hidden import thing
customer._cycle += 1
print(customer._request)
getattr(customer, "_next")
monkeypatch.setattr(practice, "_speak", fake)
monkeypatch.setattr("calmline.call.practice._speak", fake)
mock.patch.object(Customer, "_cycle")
FakeChatModel(_next_reply=2)
class Slow(FakeChatModel):
    def _stream(self, index):
        return super()._stream(index)
class Own:
    def _helper(self):
        self._ok = super()._ok = cls._ok = obj.__dict__ = getattr(self, "_ok")
class Mine(Own):
    def _helper(self):
        return super()._helper()
"""
    foreign = {"FakeChatModel": {"_stream", "_next_reply"}, "Own": {"_helper"}}
    lines = sorted({line for line, _ in violations(ast.parse(source), foreign)})
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14]
