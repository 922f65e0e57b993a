"""Build the API reference of s2ws with pdoc, and fail on anything that would make it mislead.

    python tools/api_docs.py docs/api      # what ``make docs`` runs

Every public module of ``src/s2ws`` gets a page (the command line's modules aside: the README
documents the commands). The docstrings are reStructuredText; a role with a tilde
(``:class:`~s2ws.app.SimClock```) is shown with its full name, so that pdoc can link it, and the
``::`` that introduces a literal block is shown as one colon.

The build reports, and exits 1 on:

- every warning pdoc emits (a module that does not import, an annotation it cannot read);
- every cross-reference role (``:class:``, ``:func:``, ``:meth:``, ``:mod:``, ``:data:``,
  ``:attr:``, ``:exc:``, ``:obj:``, ``:const:``) naming nothing that exists;
- every link between the generated pages whose page or anchor does not exist.

Annotations that name a type only through a string inside an alias defined in another module
(``Callable[..., "Awaitable[None]"]``) cannot be evaluated where they are used; those are
evaluated again with the public names of s2ws, ``typing``, ``collections.abc`` and ``datetime``
before they count as a warning.
"""

from __future__ import annotations

import argparse
import ast
import collections.abc
import datetime
import functools
import html.parser
import importlib
import inspect
import pkgutil
import re
import sys
import typing
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["build", "check_links", "check_references", "main", "public_modules"]

ROLE = re.compile(r"(?::py)?:(mod|func|data|const|class|meth|attr|exc|obj):`([^`]+)`")
_LITERAL = re.compile(r"(^|\S ?)::[ \t]*\n", re.M)
"""A paragraph ending in ``::`` (the indented block below is code, in Markdown too): one colon."""


def _one_colon(match: re.Match[str]) -> str:
    """reST: "text::" reads "text:", "text ::" reads "text", a lone "::" disappears."""
    before = match.group(1)
    return (before + ":" if before and not before.endswith(" ") else before.rstrip()) + "\n"


_TILDE = re.compile(r"((?::py)?:(?:mod|func|data|const|class|meth|attr|exc|obj):`)~")


def public_modules(package: str = "s2ws") -> list[str]:
    """Every module of ``package`` a library user may import, the package first."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        parts = info.name.split(".")
        if parts[1] == "cli" or any(part.startswith("_") for part in parts[1:]):
            continue
        names.append(info.name)
    return names


# --- references in docstrings ---------------------------------------------------------------------


def _lookup(base: object, dotted: str) -> bool:
    obj = base
    for part in dotted.split("."):
        if isinstance(obj, ModuleType) and not hasattr(obj, part):
            try:
                obj = importlib.import_module(f"{obj.__name__}.{part}")
                continue
            except ImportError:
                return False
        if part in getattr(obj, "__annotations__", {}) or part in getattr(obj, "__slots__", ()):
            return True  # an attribute declared on a class and set in __init__
        try:
            obj = inspect.getattr_static(obj, part)
        except AttributeError:
            return False
    return True


def _absolute(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        return cut == len(parts) or _lookup(module, ".".join(parts[cut:]))
    return False


def resolves(target: str, module: ModuleType, owner: type | None) -> bool:
    """Whether ``target`` names something from ``module`` (and class ``owner``) as Python would."""
    target = target.strip().lstrip("~").removesuffix("()")
    if "<" in target and target.endswith(">"):  # :class:`title <target>`
        target = target[target.index("<") + 1 : -1].strip()
    if target.startswith("."):
        package = module.__name__ if hasattr(module, "__path__") else module.__name__.rpartition(".")[0]
        while target.startswith(".."):
            target, package = target[1:], package.rpartition(".")[0]
        target = package + target
    if owner is not None:
        for cls in owner.__mro__:
            if _lookup(cls, target):
                return True
    return _lookup(module, target) or _absolute(target)


def _docstrings(module: ModuleType) -> Iterator[tuple[str, str, type | None]]:
    """(where, text, enclosing class) of every docstring in the module's source: the module's,
    each class's and function's, and the attribute docstrings under assignments."""
    tree = ast.parse(inspect.getsource(module))

    def strings(body: list[ast.stmt], where: str, owner: type | None) -> Iterator[tuple[str, str, type | None]]:
        previous: ast.stmt | None = None
        for node in body:
            if isinstance(node, ast.ClassDef):
                cls = getattr(owner or module, node.name, None)
                cls = cls if isinstance(cls, type) else None
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    yield f"{where}.{node.name}", doc, cls
                yield from strings(node.body, f"{where}.{node.name}", cls)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    yield f"{where}.{node.name}", doc, owner
            elif (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and isinstance(previous, ast.Assign | ast.AnnAssign)
            ):
                yield f"{where} (line {node.lineno})", node.value.value, owner
            previous = node

    doc = ast.get_docstring(tree, clean=False)
    if doc:
        yield module.__name__, doc, None
    yield from strings(tree.body, module.__name__, None)


def check_references(modules: list[str]) -> list[str]:
    problems: list[str] = []
    for name in modules:
        module = importlib.import_module(name)
        for where, doc, owner in _docstrings(module):
            for match in ROLE.finditer(doc):
                target = match.group(2)
                if not resolves(target, module, owner):
                    problems.append(f"{where}: {match.group(0)} names nothing that exists")
    return sorted(set(problems))


# --- links between the pages ----------------------------------------------------------------------


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if key in ("id", "name") and value:
                self.ids.add(value)
            elif key == "href" and tag == "a" and value:
                self.links.append(value)


def check_links(output: Path) -> list[str]:
    pages: dict[Path, _Page] = {}
    for path in sorted(output.rglob("*.html")):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path.resolve()] = page
    problems: list[str] = []
    for path, page in pages.items():
        for link in page.links:
            if re.match(r"^[a-z][a-z0-9+.-]*:", link) or link.startswith("//"):
                continue  # another site
            file_part, _, anchor = link.partition("#")
            target = (path.parent / file_part).resolve() if file_part else path
            found = pages.get(target)
            if found is None:
                problems.append(f"{path.relative_to(output.resolve())}: link to a missing page {link}")
            elif anchor and anchor not in found.ids:
                problems.append(f"{path.relative_to(output.resolve())}: link to a missing anchor {link}")
    return sorted(set(problems))


# --- the build ------------------------------------------------------------------------------------


def _fallback_namespace() -> dict[str, Any]:
    space: dict[str, Any] = {}
    for module in (typing, collections.abc, datetime):
        space.update({name: getattr(module, name) for name in dir(module) if not name.startswith("_")})
    for name in public_modules():
        module = importlib.import_module(name)
        space.update({key: getattr(module, key) for key in getattr(module, "__all__", ()) if hasattr(module, key)})
    return space


def _patch_pdoc(pdoc: Any) -> None:
    """Tilde roles shown in full; annotations retried with the fallback namespace."""
    if getattr(pdoc, "_s2ws_patched", False):
        return
    pdoc._s2ws_patched = True
    rst: Callable[[str, Path | None], str] = pdoc.docstrings.rst

    def rst_without_tilde(contents: str, source_file: Path | None) -> str:
        contents = _LITERAL.sub(_one_colon, contents)
        return rst(_TILDE.sub(r"\1", contents), source_file)

    pdoc.docstrings.rst = rst_without_tilde

    safe_eval_type: Callable[..., Any] = pdoc.doc_types.safe_eval_type
    fallback: dict[str, Any] = {}

    def safe_eval_type_with_fallback(t: Any, globalns: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = safe_eval_type(t, globalns, *args, **kwargs)
        if not caught:
            return result
        if not fallback:
            fallback.update(_fallback_namespace())
        try:
            return typing._eval_type(t, {**fallback, **globalns}, None)  # type: ignore[attr-defined]
        except Exception:
            for warning in caught:
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
            return result

    pdoc.doc_types.safe_eval_type = safe_eval_type_with_fallback
    pdoc.doc.safe_eval_type = safe_eval_type_with_fallback

    # A public class's members that come from a private base class of s2ws (a mixin such as the
    # state FRBCView and FRBCDevice share) are documented as the class's own: pdoc renders no page
    # section for private classes, so it would list them as inherited from a class nobody can see.
    cls = pdoc.doc.Class
    own_members = cls.own_members.func
    inherited_members = cls.inherited_members.func

    def private_origin(origin: tuple[str, str]) -> bool:
        module, qualname = origin
        return module.split(".")[0] == "s2ws" and qualname.rpartition(".")[2].startswith("_")

    def own_members_with_mixins(self: Any) -> list[Any]:
        members = list(own_members(self))
        for origin, docs in inherited_members(self).items():
            if private_origin(origin):
                members += [doc for doc in docs if doc not in members]
        return members

    def inherited_members_without_mixins(self: Any) -> dict[tuple[str, str], list[Any]]:
        return {origin: docs for origin, docs in inherited_members(self).items() if not private_origin(origin)}

    bases = cls.bases.func

    def bases_without_mixins(self: Any) -> list[tuple[str, str, str]]:
        return [base for base in bases(self) if not private_origin((base[0], base[1]))]

    for name, func in (
        ("own_members", own_members_with_mixins),
        ("inherited_members", inherited_members_without_mixins),
        ("bases", bases_without_mixins),
    ):
        prop = functools.cached_property(func)
        prop.__set_name__(cls, name)
        setattr(cls, name, prop)


def _render(pdoc: Any, modules: list[str], output: Path) -> None:
    """``pdoc.pdoc`` for exactly these modules (it would add the submodules of some twice)."""
    documented = {name: pdoc.doc.Module.from_name(name) for name in modules}
    for name, module in documented.items():
        page = output / f"{name.replace('.', '/')}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(pdoc.render.html_module(module, documented), encoding="utf-8")
    (output / "index.html").write_text(pdoc.render.html_index(documented), encoding="utf-8")
    search = pdoc.render.search_index(documented)
    if search:
        (output / "search.js").write_text(search, encoding="utf-8")


def build(output: Path) -> list[str]:
    """Write the reference to ``output``; return every problem found (empty: all is well)."""
    import pdoc
    import pdoc.doc
    import pdoc.doc_types
    import pdoc.docstrings
    import pdoc.render

    modules = public_modules()
    _patch_pdoc(pdoc)
    pdoc.render.configure(docformat="restructuredtext", show_source=False, search=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _render(pdoc, modules, output)
    problems = [f"pdoc: {warning.message}" for warning in caught]
    problems += check_references(modules)
    problems += check_links(output)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the API reference with pdoc and check it.")
    parser.add_argument("output", nargs="?", default="docs/api", help="where to write it (default docs/api)")
    output = Path(parser.parse_args(argv).output)
    problems = build(output)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s); the reference in {output} is not to be trusted", file=sys.stderr)
        return 1
    print(f"API reference written to {output}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
