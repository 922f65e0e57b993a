"""The exported spec files against the upstream ones, file by file and structurally.

Descriptions are ignored (ours are written in our own words); everything else must match,
except the errata in docs/errata.md, each of which has a test here that checks upstream still
has the defect and the export has the fix. Upstream files are read from ../shared at run time.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from s2ws.cli import main
from s2ws.messages.base import ID_PATTERN
from s2ws.spec import build_spec_model, export_spec, render_spec
from s2ws.spec.asyncapi import WS_BINDING, asyncapi_documents, asyncapi_views
from s2ws.spec.descriptions import FIELD_DESCRIPTIONS, FIELD_OVERRIDES, TYPE_DESCRIPTIONS
from s2ws.spec.jsonschema import json_schema_documents
from s2ws.spec.model_walk import MessageSchema, ObjectSchema
from s2ws.spec.openapi import OPENAPI_PATH, openapi_document
from s2ws.spec.yaml_writer import dump_yaml

Doc = dict[str, Any]

UPSTREAM_ID_PATTERN = r"[a-zA-Z0-9\-_:]{2,64}"
ERRATA_DOC = Path(__file__).resolve().parent.parent / "docs" / "errata.md"
ASYNCAPI_FILES = [view.file_name for view in asyncapi_views()]


# --- loading -------------------------------------------------------------------------------


def _parse(path: str, text: str) -> Any:
    return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)


@cache
def _upstream(root: Path) -> dict[str, Any]:
    """Every upstream spec file below ``root``, parsed, keyed by POSIX path relative to it."""
    files = sorted(p for p in root.rglob("*") if p.suffix in {".json", ".yaml", ".yml"})
    return {p.relative_to(root).as_posix(): _parse(p.name, p.read_text(encoding="utf-8")) for p in files}


@cache
def _ours(profile: str = "0.0.2-beta") -> dict[str, Any]:
    """Our export, parsed back from its text so the writers are part of what is compared."""
    return {path: _parse(path, text) for path, text in render_spec(profile).items()}


@pytest.fixture
def upstream(spec_root: Path) -> dict[str, Any]:
    return _upstream(spec_root / "s2-ws-json")


def _copy(doc: Any) -> Any:
    return copy.deepcopy(doc)


# --- structural comparison -----------------------------------------------------------------


def _normalize(node: Any, key: str | None = None) -> Any:
    """Drop descriptions; compare ``required`` and ``oneOf`` as sets (after checking for duplicates)."""
    if isinstance(node, dict):
        return {k: _normalize(v, k) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        items = [_normalize(v) for v in node]
        if key in ("required", "oneOf"):
            keyed = [json.dumps(v, sort_keys=True) for v in items]
            assert len(set(keyed)) == len(keyed), f"duplicate entries in {key}: {keyed}"
            return sorted(keyed)
        return items
    return node


def _differences(ours: Any, theirs: Any, path: str = "") -> Iterator[str]:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in sorted(set(ours) | set(theirs)):
            where = f"{path}/{key}"
            if key not in theirs:
                yield f"{where}: only in ours: {json.dumps(ours[key])[:120]}"
            elif key not in ours:
                yield f"{where}: only upstream: {json.dumps(theirs[key])[:120]}"
            else:
                yield from _differences(ours[key], theirs[key], where)
    elif isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        for index, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            yield from _differences(a, b, f"{path}[{index}]")
    elif ours != theirs:
        yield f"{path or '/'}: ours {json.dumps(ours)[:120]} != upstream {json.dumps(theirs)[:120]}"


def _assert_same(ours: Any, theirs: Any, what: str) -> None:
    diffs = list(_differences(_normalize(ours), _normalize(theirs)))
    assert not diffs, f"{what} differs from upstream:\n" + "\n".join(diffs[:40])


# --- the errata, applied to a copy of upstream: what we expect to emit instead -------------


def _fix_json_schema(doc: Doc) -> Doc:
    doc = _copy(doc)
    if "properties" in doc:  # E1
        doc["type"] = "object"
    if doc.get("title") == "ID":  # E2
        doc["pattern"] = ID_PATTERN
    return doc


def _fix_components(schemas: Doc, *, asyncapi: bool) -> None:
    schemas["ID"]["pattern"] = ID_PATTERN  # E2
    schemas["Currency"]["type"] = "string"  # E3
    if asyncapi:
        del schemas["Duration"]["displayName"]  # E7


def _fix_asyncapi(doc: Doc) -> Doc:
    doc = _copy(doc)
    _fix_components(doc["components"]["schemas"], asyncapi=True)
    doc["channels"]["default"]["bindings"]["ws"] = copy.deepcopy(WS_BINDING)  # E4, E5, E6
    return doc


def _fix_openapi(doc: Doc) -> Doc:
    doc = _copy(doc)
    _fix_components(doc["components"]["schemas"], asyncapi=False)
    doc["info"]["version"] = "0.0.2-beta"  # E8
    return doc


# --- file set and file-by-file comparison --------------------------------------------------


def test_file_set_and_names_match_upstream(upstream: dict[str, Any]) -> None:
    assert set(_ours()) == set(upstream)


def test_message_and_schema_counts() -> None:
    ours = _ours()
    assert sum(p.startswith("s2-json-schema/messages/") for p in ours) == 35
    assert sum(p.startswith("s2-json-schema/schemas/") for p in ours) == 41
    assert sum(p.startswith("s2-asyncapi/") for p in ours) == 7


def test_json_schemas_match_upstream(upstream: dict[str, Any]) -> None:
    paths = sorted(p for p in upstream if p.startswith("s2-json-schema/"))
    assert len(paths) == 76
    for path in paths:
        _assert_same(_ours()[path], _fix_json_schema(upstream[path]), path)


@pytest.mark.parametrize("name", ASYNCAPI_FILES)
def test_asyncapi_matches_upstream(upstream: dict[str, Any], name: str) -> None:
    path = f"s2-asyncapi/{name}"
    _assert_same(_ours()[path], _fix_asyncapi(upstream[path]), path)


def _refs(one_of: list[Doc]) -> list[str]:
    return [entry["$ref"].rsplit("/", 1)[1] for entry in one_of]


@pytest.mark.parametrize("name", ASYNCAPI_FILES)
def test_asyncapi_directions_and_components_match_upstream(upstream: dict[str, Any], name: str) -> None:
    ours, theirs = _ours()[f"s2-asyncapi/{name}"], upstream[f"s2-asyncapi/{name}"]
    for direction in ("publish", "subscribe"):
        mine = _refs(ours["channels"]["default"][direction]["message"]["oneOf"])
        their = _refs(theirs["channels"]["default"][direction]["message"]["oneOf"])
        assert len(mine) == len(set(mine))
        assert set(mine) == set(their), (name, direction)
    for section in ("schemas", "messages"):
        assert set(ours["components"][section]) == set(theirs["components"][section]), (name, section)


def test_asyncapi_direction_convention() -> None:
    """publish = what this application sends: the CEM publishes instructions, the RM publishes descriptions."""
    cem, rm = _ours()["s2-asyncapi/s2-cem.yaml"], _ours()["s2-asyncapi/s2-rm.yaml"]
    cem_sends = _refs(cem["channels"]["default"]["publish"]["message"]["oneOf"])
    rm_sends = _refs(rm["channels"]["default"]["publish"]["message"]["oneOf"])
    assert "FRBC.Instruction" in cem_sends and "FRBC.Instruction" not in rm_sends
    assert "FRBC.SystemDescription" in rm_sends and "FRBC.SystemDescription" not in cem_sends
    assert set(cem_sends) == set(_refs(rm["channels"]["default"]["subscribe"]["message"]["oneOf"]))
    assert (len(cem_sends), len(rm_sends)) == (13, 26)


def test_openapi_matches_upstream(upstream: dict[str, Any]) -> None:
    _assert_same(_ours()[OPENAPI_PATH], _fix_openapi(upstream[OPENAPI_PATH]), OPENAPI_PATH)


# --- one test per erratum ------------------------------------------------------------------


def _registry(docs: dict[str, Any]) -> Registry[Any]:
    resources = [
        (doc["$id"], Resource.from_contents(doc)) for path, doc in docs.items() if path.startswith("s2-json-schema/")
    ]
    return Registry().with_resources(resources)


def _validator(docs: dict[str, Any], path: str) -> Draft202012Validator:
    return Draft202012Validator(
        docs[path], registry=_registry(docs), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def test_erratum_e1_object_type(upstream: dict[str, Any]) -> None:
    objects = [p for p, d in upstream.items() if p.startswith("s2-json-schema/") and "properties" in d]
    assert len(objects) == 61
    assert all("type" not in upstream[p] for p in objects)
    assert all(_ours()[p]["type"] == "object" for p in objects)
    path = "s2-json-schema/messages/PowerMeasurement.schema.json"
    assert _validator(upstream, path).is_valid(5)
    assert not _validator(_ours(), path).is_valid(5)
    ranges = "s2-json-schema/schemas/NumberRange.schema.json"
    assert _validator(upstream, ranges).is_valid("oops")
    assert not _validator(_ours(), ranges).is_valid("oops")


def test_erratum_e2_id_pattern_anchored(upstream: dict[str, Any]) -> None:
    path = "s2-json-schema/schemas/ID.schema.json"
    assert upstream[path]["pattern"] == UPSTREAM_ID_PATTERN
    assert _ours()[path]["pattern"] == ID_PATTERN == r"^[A-Za-z0-9\-_:]{2,64}$"
    for name in ("s2-asyncapi/s2-cem.yaml", OPENAPI_PATH):
        assert upstream[name]["components"]["schemas"]["ID"]["pattern"] == UPSTREAM_ID_PATTERN
        assert _ours()[name]["components"]["schemas"]["ID"]["pattern"] == ID_PATTERN
    theirs, ours = _validator(upstream, path), _validator(_ours(), path)
    for bad in ("hello world", "!!ab!!", "a" * 100):
        assert theirs.is_valid(bad) and not ours.is_valid(bad), bad
    for good in ("om1", "actuator1", "eab48b05-99be-4c34-899d-30edaf5626db", "a:b_c-d"):
        assert theirs.is_valid(good) and ours.is_valid(good), good
    assert not ours.is_valid("a") and not ours.is_valid("a" * 65)


def test_erratum_e3_currency_type(upstream: dict[str, Any]) -> None:
    for name in [*(f"s2-asyncapi/{f}" for f in ASYNCAPI_FILES), OPENAPI_PATH]:
        assert "type" not in upstream[name]["components"]["schemas"]["Currency"], name
        assert _ours()[name]["components"]["schemas"]["Currency"]["type"] == "string", name
    assert upstream["s2-json-schema/schemas/Currency.schema.json"]["type"] == "string"


def _ws(doc: Doc) -> Doc:
    binding: Doc = doc["channels"]["default"]["bindings"]["ws"]
    return binding


@pytest.mark.parametrize("name", ASYNCAPI_FILES)
def test_erratum_e4_ws_binding_method(upstream: dict[str, Any], name: str) -> None:
    assert _ws(upstream[f"s2-asyncapi/{name}"])["method"] == "POST"
    assert _ws(_ours()[f"s2-asyncapi/{name}"])["method"] == "GET"


@pytest.mark.parametrize("name", ASYNCAPI_FILES)
def test_erratum_e5_ws_binding_query_headers(upstream: dict[str, Any], name: str) -> None:
    theirs, ours = _ws(upstream[f"s2-asyncapi/{name}"]), _ws(_ours()[f"s2-asyncapi/{name}"])
    for part in ("query", "headers"):
        assert theirs[part] == {"properties": None}
        assert ours[part] == {"type": "object", "properties": {}}


@pytest.mark.parametrize("name", ASYNCAPI_FILES)
def test_erratum_e6_ws_binding_version(upstream: dict[str, Any], name: str) -> None:
    assert _ws(upstream[f"s2-asyncapi/{name}"])["bindingVersion"] == "LATEST"
    assert _ws(_ours()[f"s2-asyncapi/{name}"])["bindingVersion"] == "0.1.0"


@pytest.mark.parametrize("name", ASYNCAPI_FILES)
def test_erratum_e7_duration_display_name(upstream: dict[str, Any], name: str) -> None:
    assert upstream[f"s2-asyncapi/{name}"]["components"]["schemas"]["Duration"]["displayName"] == "Duration"
    assert "displayName" not in _ours()[f"s2-asyncapi/{name}"]["components"]["schemas"]["Duration"]


def test_erratum_e8_openapi_info_version(upstream: dict[str, Any]) -> None:
    assert upstream[OPENAPI_PATH]["info"]["version"] == "main"
    assert _ours()[OPENAPI_PATH]["info"]["version"] == "0.0.2-beta"
    assert _ours("1.0.0")[OPENAPI_PATH]["info"]["version"] == "1.0.0"


def test_errata_doc_and_tests_agree() -> None:
    """Every erratum in docs/errata.md has its pinning test here, and every pinning test its section."""
    listed = set(re.findall(r"^## (E\d+)\. ", ERRATA_DOC.read_text(encoding="utf-8"), flags=re.MULTILINE))
    pinned = {m.group(1).upper() for name in globals() if (m := re.match(r"test_erratum_(e\d+)_", name))}
    assert listed == pinned
    assert listed == {f"E{n}" for n in range(1, len(listed) + 1)}


# --- descriptions --------------------------------------------------------------------------


def _words(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .")


def test_descriptions_are_our_own(upstream: dict[str, Any]) -> None:
    copied = []
    for path, theirs in upstream.items():
        if not path.startswith("s2-json-schema/"):
            continue
        ours = _ours()[path]
        pairs = [(ours.get("description"), theirs.get("description"))]
        pairs += [
            (ours["properties"][k].get("description"), v.get("description"))
            for k, v in theirs.get("properties", {}).items()
        ]
        copied += [f"{path}: {t}" for o, t in pairs if t and o and _words(o) == _words(t)]
    assert not copied, copied


def _documents(profile: str) -> Iterator[tuple[str, Doc]]:
    """(where, schema) for every top-level schema of every exported file."""
    for path, doc in _ours(profile).items():
        if path.startswith("s2-json-schema/"):
            yield path, doc
        else:
            for name, schema in doc["components"]["schemas"].items():
                yield f"{path}#{name}", schema
            for name, message in doc["components"].get("messages", {}).items():
                yield f"{path}#{name}", message["payload"]


@pytest.mark.parametrize("profile", ["0.0.2-beta", "1.0.0"])
def test_every_type_and_field_is_described(profile: str) -> None:
    for where, schema in _documents(profile):
        assert schema.get("description", "").strip(), where
        for name, prop in schema.get("properties", {}).items():
            assert name == "message_type" or prop.get("description", "").strip(), f"{where}.{name}"


def test_description_tables_have_no_stale_entries() -> None:
    """Every override names a real field, every shared text is used, every type text names a real type."""
    types: set[str] = set()
    fields: set[tuple[str, str]] = set()
    for profile in ("0.0.2-beta", "1.0.0"):
        model = build_spec_model(profile)
        types |= {m.name for m in model.messages} | set(model.schemas)
        owners: list[ObjectSchema | MessageSchema] = [
            *model.messages,
            *(s for s in model.schemas.values() if isinstance(s, ObjectSchema)),
        ]
        fields |= {(owner.name, f.name) for owner in owners for f in owner.fields}
    assert set(FIELD_OVERRIDES) <= fields, set(FIELD_OVERRIDES) - fields
    assert set(TYPE_DESCRIPTIONS) == types
    shared_users = {name for owner, name in fields if (owner, name) not in FIELD_OVERRIDES}
    assert set(FIELD_DESCRIPTIONS) == shared_users


def test_control_type_values_are_described_correctly() -> None:
    """Upstream swaps the FRBC and DDBC texts of ControlType; ours must not."""
    text = _ours()["s2-json-schema/schemas/ControlType.schema.json"]["description"]
    assert "FILL_RATE_BASED_CONTROL: Fill Rate" in text
    assert "DEMAND_DRIVEN_BASED_CONTROL: Demand Driven" in text


# --- the exported JSON Schemas work --------------------------------------------------------


@pytest.mark.parametrize("profile", ["0.0.2-beta", "1.0.0"])
def test_exported_json_schemas_are_valid_2020_12(profile: str) -> None:
    checked = set()
    for path, doc in _ours(profile).items():
        if path.startswith("s2-json-schema/"):
            Draft202012Validator.check_schema(doc)
            checked.add(path)
    # the loop saw the messages and the shared schemas, not nothing
    assert {
        "s2-json-schema/messages/FRBC.Instruction.schema.json",
        "s2-json-schema/messages/Handshake.schema.json",
        "s2-json-schema/schemas/ControlType.schema.json",
    } <= checked
    assert len(checked) >= 40, len(checked)


def _examples(examples_dir: Path) -> list[Path]:
    found = sorted(examples_dir.glob("*.json"))
    assert found, f"no examples in {examples_dir}"
    return found


def test_official_examples_validate(examples_dir: Path) -> None:
    docs = _ours()
    checked = 0
    for path in _examples(examples_dir):
        example = json.loads(path.read_text(encoding="utf-8"))
        if "-fragment-" in path.stem:
            target = f"s2-json-schema/schemas/{path.stem.split('-fragment-', 1)[1]}.schema.json"
        else:
            target = f"s2-json-schema/messages/{example['message_type']}.schema.json"
        errors = [e.message for e in _validator(docs, target).iter_errors(example)]
        assert not errors, (path.name, errors)
        checked += 1
    assert checked >= 40


def test_format_checking_rejects_timestamps_without_offset(examples_dir: Path) -> None:
    example = json.loads((examples_dir / "ev-13-InstructionStatusUpdate.json").read_text(encoding="utf-8"))
    validator = _validator(_ours(), "s2-json-schema/messages/InstructionStatusUpdate.schema.json")
    assert validator.is_valid(example)
    assert not validator.is_valid({**example, "timestamp": "2024-08-24T14:15:22"})


# --- YAML writer ---------------------------------------------------------------------------

TRICKY = [
    "plain",
    "yes",
    "No",
    "null",
    "~",
    "0.0.2-beta",
    "2.4.0",
    "#/components/schemas/ID",
    "- dash",
    ": colon",
    "a: b",
    "x #y",
    "*alias",
    "&anchor",
    "!tag",
    "%dir",
    "@at",
    "`tick",
    "'single'",
    'say "hi" \\ back',
    "",
    " leading space",
    "trailing space ",
    "multi\nline",
    "ends with newline\n",
    "two newlines\n\n",
    "\n",
    "blank\n\nline",
    "  indented\nsecond",
    "trailing \nspace line",
    "tab\tinside",
    "\tleading tab\nx",
    "cr\r\nlf",
    "\x00\x01\x1f\x7f\x85",
    "\u2028\u2029\ufeff",
    "unicode ‘quotes’ é ∑ 😀",
    "1e3",
    ".inf",
    "0x1F",
    "true",
    "On",
]


def test_yaml_writer_round_trips_tricky_values() -> None:
    data: Doc = {
        "strings": TRICKY,
        "keys": {key: index for index, key in enumerate(TRICKY)},
        "numbers": [0, -1, 10**20, 1.5, 1e-05, -2.5e300, 0.1],
        "flags": [True, False, None],
        "empty": {"map": {}, "list": []},
        "nested": [[1, [2, {"a": ["b", {"c": "multi\nline"}]}]], {}, []],
        "404": {"$ref": "#/x"},
    }
    assert yaml.safe_load(dump_yaml(data)) == data


def test_yaml_writer_output_round_trips_for_every_document() -> None:
    model = build_spec_model()
    docs = {**asyncapi_documents(model), OPENAPI_PATH: openapi_document(model)}
    for path, doc in docs.items():
        assert yaml.safe_load(dump_yaml(doc)) == doc, path
    assert dump_yaml({}) == "{}\n"
    with pytest.raises(TypeError):
        dump_yaml({"bad": object()})
    with pytest.raises(TypeError):
        dump_yaml({"bad": {1: "int key"}})


def test_json_schema_documents_match_their_text() -> None:
    model = build_spec_model()
    texts = render_spec()
    for path, doc in json_schema_documents(model).items():
        assert json.loads(texts[path]) == doc
        assert texts[path].endswith("}\n")


# --- command line --------------------------------------------------------------------------


def test_cli_export_writes_the_layout(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["spec", "export", "--out", str(out)]) == 0
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written == set(render_spec())
    for path in written:
        assert _parse(path, (out / path).read_text(encoding="utf-8")) == _ours()[path]


def test_cli_usage_and_io_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "export", "--out", str(tmp_path / "x"), "--profile", "9.9.9"]) == 2
    assert "unknown profile" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    assert main(["spec", "export"]) == 2
    assert main(["spec"]) == 2
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["spec", "export", "--out", str(blocker)]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_cli_accepts_v_prefixed_profile(tmp_path: Path) -> None:
    assert main(["spec", "export", "--out", str(tmp_path), "--profile", "v1.0.0"]) == 0
    assert (tmp_path / "s2-json-schema" / "messages" / "DDBC.PresentDemandStatus.schema.json").is_file()


# --- profile 1.0.0 -------------------------------------------------------------------------


def test_profile_1_0_0_exports_present_demand_status(tmp_path: Path) -> None:
    assert main(["spec", "export", "--out", str(tmp_path), "--profile", "1.0.0"]) == 0
    messages = tmp_path / "s2-json-schema" / "messages"
    status = json.loads((messages / "DDBC.PresentDemandStatus.schema.json").read_text(encoding="utf-8"))
    assert status["title"] == "DDBC_PresentDemandStatus"
    assert status["properties"]["message_type"] == {"type": "string", "const": "DDBC.PresentDemandStatus"}
    assert status["properties"]["present_demand_rate"]["$ref"] == "../schemas/NumberRange.schema.json"
    assert set(status["required"]) == {"message_type", "message_id", "present_demand_rate"}
    description = json.loads((messages / "DDBC.SystemDescription.schema.json").read_text(encoding="utf-8"))
    assert "present_demand_rate" not in description["properties"]
    assert "present_demand_rate" not in description["required"]


def test_profile_1_0_0_layout_differs_only_by_the_new_message() -> None:
    old, new = _ours("0.0.2-beta"), _ours("1.0.0")
    assert set(new) - set(old) == {"s2-json-schema/messages/DDBC.PresentDemandStatus.schema.json"}
    assert set(old) <= set(new)
    for name in ASYNCAPI_FILES:
        doc = new[f"s2-asyncapi/{name}"]
        assert doc["info"]["version"] == "1.0.0"
        sends = _refs(doc["channels"]["default"]["publish"]["message"]["oneOf"])
        receives = _refs(doc["channels"]["default"]["subscribe"]["message"]["oneOf"])
        expected_where = {"s2-cem.yaml": receives, "s2-rm.yaml": sends, "s2-rm-ddbc-only.yaml": sends}
        if name in expected_where:
            assert "DDBC.PresentDemandStatus" in expected_where[name], name
            assert "DDBC.PresentDemandStatus" in doc["components"]["messages"], name
        else:
            assert "DDBC.PresentDemandStatus" not in doc["components"]["messages"], name
    assert "DDBC.PresentDemandStatus" in new[OPENAPI_PATH]["components"]["schemas"]
    payload = new["s2-asyncapi/s2-rm.yaml"]["components"]["messages"]["DDBC.SystemDescription"]["payload"]
    assert "present_demand_rate" not in payload["properties"]


def test_export_spec_returns_written_paths(tmp_path: Path) -> None:
    written = export_spec(tmp_path)
    assert len(written) == len(render_spec()) == 84
    assert all(path.is_file() and tmp_path in path.parents for path in written)
