"""Each rule of the catalogue is raised from one source module: the one that implements it.

A rule id written as a string inside a function is where a finding for it is made; module-level
tables (docs, the engine's list of the ids it reports) only name rules. The catalogue itself
declares them all and is left aside.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from builders import T0, ombc_description, revoke
from conftest import REPO
from s2ws.control.operation_modes import DescriptionBook
from s2ws.messages import OMBCSystemDescription
from s2ws.messages.enums import ControlType, RevokableObjects
from s2ws.rules import CATALOGUE
from s2ws.rules.catalogue import OM_RULE_IDS
from test_rules_context import ready

SRC = REPO / "src" / "s2ws"
CATALOGUE_MODULE = SRC / "rules" / "catalogue.py"
CONFORMANCE = SRC / "conformance"
"""The conformance cases name the rules they check and pick replay's findings by rule id; they judge
nothing themselves (test_the_conformance_suite_makes_no_finding), so the scan leaves them out."""
FINDING_MAKERS = {"finding", "Finding", "InvalidContent", "RuleViolation", "InstructionRefused"}


def _docstrings(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            out.add(id(body[0].value))
    return out


def raised_in(root: Path = SRC) -> dict[str, set[str]]:
    """Rule id -> the source modules under ``root`` that write it inside a function (docstrings
    and the catalogue module aside)."""
    ids = set(CATALOGUE)
    where: dict[str, set[str]] = defaultdict(set)
    for path in sorted(root.rglob("*.py")):
        if path == CATALOGUE_MODULE or CONFORMANCE in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                continue
            # the body only: a decorator names what a function checks (the conformance cases'
            # ``rules=(...)``), it raises nothing
            body = function.body if isinstance(function.body, list) else [function.body]
            for node in (inner for statement in body for inner in ast.walk(statement)):
                if isinstance(node, ast.Constant) and node.value in ids and id(node) not in docs:
                    where[node.value].add(str(path.relative_to(root)))
    return where


def om_keys_used_in(root: Path = SRC) -> dict[str, set[str]]:
    """Operation-mode rule key -> the modules that name it inside a function as a rule: a key
    subscripting a table (``ids["abnormal"]``, ``OM_RULE_IDS[area]["..."]``) or the argument of
    ``machine.rule("...")``. The catalogue's own declarations aside."""
    keys = {key for area in OM_RULE_IDS.values() for key in area}
    where: dict[str, set[str]] = defaultdict(set)
    for path in sorted(root.rglob("*.py")):
        if path.name == "catalogue_om.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        named: list[ast.AST] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Subscript):
                named.append(node.slice)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "rule":
                named.extend(node.args)
        for expression in named:
            for node in ast.walk(expression):
                if isinstance(node, ast.Constant) and node.value in keys:
                    where[node.value].add(str(path.relative_to(root)))
    return where


def test_no_operation_mode_rule_is_named_in_two_modules() -> None:
    twice = {key: sorted(modules) for key, modules in om_keys_used_in().items() if len(modules) > 1}
    assert twice == {}
    assert om_keys_used_in()["transition_blocked"] == {"rules/om_rules.py"}


def test_no_rule_is_raised_in_two_modules() -> None:
    twice = {rule: sorted(modules) for rule, modules in raised_in().items() if len(modules) > 1}
    assert twice == {}


def test_the_scan_sees_rules_where_they_are_made() -> None:
    where = raised_in()
    assert where["S2-PEBC-011"] == {"rules/pebc_rules.py"}
    assert where["S2-INSTR-003"] == {"rules/lifecycle.py"}
    assert where["S2-REVOKE-002"] == {"rules/session_rules.py"}
    assert where["S2-SESSION-001"] == {"messages/states.py"}
    assert where["S2-PPBC-015"] == {"rules/ppbc_rules.py"}


def test_the_scan_would_catch_a_copy(tmp_path: Path) -> None:
    """A rule written again in a second module shows up as raised twice; a docstring or a
    module-level table naming it does not."""
    (tmp_path / "one.py").write_text('def judge():\n    return ("S2-PEBC-011", "/x", "why")\n')
    (tmp_path / "two.py").write_text('def again():\n    """S2-PEBC-012"""\n    return "S2-PEBC-011"\n')
    (tmp_path / "table.py").write_text('RULES = ("S2-PEBC-012",)\n')
    assert raised_in(tmp_path) == {"S2-PEBC-011": {"one.py", "two.py"}}


def test_one_operation_mode_machine_for_the_context_and_the_control_types() -> None:
    from s2ws.control import operation_modes
    from s2ws.rules import memory, om_machine

    assert operation_modes.Machine is om_machine.Machine
    assert not hasattr(memory, "_Machine") and not hasattr(memory, "_machines")


def test_one_answer_to_which_description_is_in_force() -> None:
    """The rule context and the views' DescriptionBook pick the same description at every moment:
    the latest valid_from not after it, the later-received on a tie, none once it is revoked."""
    minute = timedelta(minutes=1)
    first = ombc_description(valid_from=T0)
    second = ombc_description(valid_from=T0 + 10 * minute)
    tie = ombc_description(valid_from=T0 + 10 * minute)
    session = ready(ControlType.OPERATION_MODE_BASED_CONTROL)
    book: DescriptionBook[OMBCSystemDescription] = DescriptionBook()
    for description in (first, second, tie):
        session.rm(description)
        book.add(description, T0)
    context = session.context
    for at in (T0 + 5 * minute, T0 + 10 * minute, T0 + 30 * minute):
        entry = context._description_at(at, "OMBC")
        assert entry is not None and book.at(at) is entry.message
    assert book.at(T0 + 10 * minute) is tie
    assert book.revoke(tie.message_id)
    session.rm(revoke(RevokableObjects.OMBC_SystemDescription, tie.message_id))
    assert book.at(T0 + 30 * minute) is None and context._description_at(T0 + 30 * minute, "OMBC") is None


def test_the_conformance_suite_makes_no_finding() -> None:
    """It reads rule findings (from replay); it never makes one, so it cannot be a second home."""
    made: list[str] = []
    for path in sorted(CONFORMANCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in FINDING_MAKERS:
                    made.append(f"{path.relative_to(SRC)}:{node.lineno} {name}")
    assert made == []
