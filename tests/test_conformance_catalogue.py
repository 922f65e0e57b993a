"""The conformance catalogue: fixed ids, real rule ids, selection, and docs/conformance.md up to date."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from s2ws.conformance import CATALOGUE, select_cases
from s2ws.conformance.docs import render, update
from s2ws.rules import CATALOGUE as RULES

DOC = Path(__file__).resolve().parent.parent / "docs" / "conformance.md"


def test_ids_are_numbered_and_roles_split_by_range() -> None:
    for ident, case in CATALOGUE.items():
        assert re.fullmatch(r"S2-TEST-\d{3}", ident)
        number = int(ident[-3:])
        assert (case.role == "rm") == (number < 100), ident
        assert case.doc and case.title and case.tags and case.sections, ident


def test_every_named_rule_exists() -> None:
    named = {rule for case in CATALOGUE.values() for rule in case.rules}
    assert named, "no case names a rule"
    assert named <= set(RULES), named - set(RULES)


def test_the_issue_topics_are_covered() -> None:
    tags = {tag for case in CATALOGUE.values() for tag in case.tags}
    for topic in (
        "websocket",
        "handshake",
        "version",
        "details",
        "control-type",
        "errors",
        "timing",
        "session-request",
        "large",
        "revocation",
        "transitions",
        "frbc",
        "ombc",
        "pebc",
        "ppbc",
        "ddbc",
    ):
        assert topic in tags, topic
    assert any("profile-1.0.0" in c.tags for c in CATALOGUE.values())


def test_selection_by_id_number_and_tag() -> None:
    assert [c.id for c in select_cases("rm", only=["21"])] == ["S2-TEST-021"]
    errors = select_cases("rm", only=["errors"])
    assert errors and all("errors" in c.tags for c in errors)
    assert "S2-TEST-021" not in [c.id for c in select_cases("rm", skip=["S2-TEST-021"])]
    assert all(c.role == "cem" for c in select_cases("cem"))
    assert select_cases("rm")[-1].tags.count("ends-session") == 1
    assert "S2-TEST-006" not in [c.id for c in select_cases("rm", profile="0.0.2-beta")]
    with pytest.raises(ValueError, match="nope"):
        select_cases("rm", only=["nope"])


def test_docs_conformance_is_generated_from_the_catalogue() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert update(text) == text, "run: python -m s2ws.conformance.docs docs/conformance.md"
    for ident in CATALOGUE:
        assert f"#### {ident}" in render()


def test_the_plugin_example_in_the_docs_is_the_tested_file() -> None:
    example = (Path(__file__).resolve().parent / "test_conformance_plugin_example.py").read_text(encoding="utf-8")
    assert "```python\n" + example + "```" in DOC.read_text(encoding="utf-8")
