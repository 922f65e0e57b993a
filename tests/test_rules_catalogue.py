"""The catalogue as a whole: every rule tested, well formed, documented; the official examples pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import test_replay
import test_rules_context
import test_rules_single
from conftest import REPO
from s2ws.cli import main
from s2ws.cli.validate_cmd import check_frame
from s2ws.messages.states import PHASE_RULES
from s2ws.rules import CATALOGUE, RuleFinding
from s2ws.rules.catalogue import OM_RULE_IDS
from s2ws.rules.docs import AREAS, EXAMPLE_WARNINGS, render
from s2ws.rules.frames import judge_frame

FIRED = test_rules_single.FIRES | test_rules_context.FIRES | test_replay.FIRES


def test_every_rule_has_a_firing_test() -> None:
    """Each table pairs a firing message with a near miss; a rule missing here has neither."""
    untested = sorted(set(CATALOGUE) - FIRED)
    assert untested == [], f"rules without a firing test: {untested}"


def test_no_test_names_an_unknown_rule() -> None:
    assert sorted(FIRED - set(CATALOGUE)) == []


def test_the_catalogue_is_large_and_well_formed() -> None:
    assert len(CATALOGUE) >= 70
    for rule_id, rule in CATALOGUE.items():
        assert rule.id == rule_id
        assert re.fullmatch(r"S2-[A-Z]+-\d{3}", rule_id), rule_id
        assert rule.area in AREAS, rule_id
        assert rule.severity in ("error", "warning")
        assert rule.statement.endswith(".") and rule.fields, rule_id
        assert not (rule.rejectable and rule.severity == "warning"), rule_id


def test_numbers_have_no_gaps_within_an_area() -> None:
    for area in AREAS:
        numbers = sorted(int(r.id.rsplit("-", 1)[1]) for r in CATALOGUE.values() if r.area == area)
        assert numbers == list(range(1, len(numbers) + 1)), area


def test_the_phase_table_rules_are_catalogued_as_they_are() -> None:
    for rule_id, text in PHASE_RULES.items():
        assert CATALOGUE[rule_id].statement == text
        assert CATALOGUE[rule_id].needs_context


def test_the_families_of_the_protocol_digest_are_covered() -> None:
    areas = {rule.area for rule in CATALOGUE.values()}
    assert {"PEBC", "PPBC", "OMBC", "FRBC", "DDBC", "REVOKE", "INSTR", "RS", "SESSION", "HANDSHAKE"} <= areas


def test_diagnostic_of_a_finding_without_pointer() -> None:
    assert RuleFinding("S2-X-001", "", "why", "error").diagnostic == "S2-X-001 at /: why"


def test_docs_rules_md_is_generated_from_the_catalogue() -> None:
    committed = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/rules.md is stale: run python -m s2ws.rules.docs > docs/rules.md"


def test_docs_list_every_rule() -> None:
    text = render()
    assert all(f"| {rule_id} |" in text for rule_id in CATALOGUE)


# --- the official examples -------------------------------------------------------------------


def _examples(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.json") if "-fragment-" not in p.name)


def test_official_examples_raise_no_error(examples_dir: Path) -> None:
    for path in _examples(examples_dir):
        verdict = judge_frame(path.read_bytes())
        errors = [f.diagnostic for f in verdict.findings if f.severity == "error"]
        assert errors == [], path.name


def test_official_examples_raise_exactly_the_documented_warnings(examples_dir: Path) -> None:
    raised = {
        (path.name, f.rule)
        for path in _examples(examples_dir)
        for f in judge_frame(path.read_bytes()).findings
        if f.severity == "warning"
    }
    assert raised == {(name, rule) for name, rule, _why in EXAMPLE_WARNINGS}


# --- s2ws validate ---------------------------------------------------------------------------


def test_validate_prints_rule_ids_and_passes_warnings(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(examples_dir / "pv-08-PowerForecast.json")
    assert main(["validate", path]) == 0
    assert "WARNING S2-COMMON-001 at /elements/0/power_values/0/value_lower_95PPR" in capsys.readouterr().out
    assert main(["validate", "--strict", path]) == 1


def test_validate_fails_on_a_rule_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "instruction.json"
    path.write_text(
        '{"message_type": "FRBC.Instruction", "message_id": "m1", "id": "i1", "actuator_id": "a1", '
        '"operation_mode": "om1", "operation_mode_factor": 1.3, "execution_time": "2024-01-01T00:00:00Z", '
        '"abnormal_condition": false}'
    )
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FRBC.Instruction m1: INVALID_CONTENT S2-FRBC-018 at /operation_mode_factor: 1.3 is outside [0, 1]" in out


def test_validate_reports_a_decoding_failure_by_its_status() -> None:
    # both missing fields are reported (validate lists every problem of a message)
    found = check_frame("f", "1", b'{"message_type": "PowerMeasurement", "message_id": "m1"}', "0.0.2-beta")
    assert [(f.rule, f.status, f.severity) for f in found] == [(None, "INVALID_MESSAGE", "error")] * 2
    assert [f.pointer for f in found] == ["/measurement_timestamp", "/values"]
    (garbage,) = check_frame("f", "1", b"not json", "0.0.2-beta")
    assert (garbage.rule, garbage.status) == (None, "INVALID_DATA")


def test_schema_rules_name_decoding_failures() -> None:
    assert [f.rule for f in judge_frame(b'{"message_type": "PowerMeasurement", "message_id": "m1"}').findings] == [
        "S2-SCHEMA-002"
    ]
    assert [f.rule for f in judge_frame(b"not json").findings] == ["S2-SCHEMA-001"]


def test_operation_mode_rule_ids_are_fixed_not_counted() -> None:
    """Each OMBC/FRBC/DDBC rule has its number written down: adding or moving a statement never
    renumbers a published id."""
    from s2ws.rules import catalogue, catalogue_om

    for area, numbers in catalogue_om._OM_NUMBERS.items():
        assert len(set(numbers.values())) == len(numbers), area
        for key, number in numbers.items():
            assert OM_RULE_IDS[area][key] == f"S2-{area}-{number:03d}"
    for module in (catalogue, catalogue_om):
        source = Path(str(module.__file__)).read_text(encoding="utf-8")
        assert "n += 1" not in source and "nonlocal" not in source
