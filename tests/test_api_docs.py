"""The API reference (``make docs``) builds from the docstrings without a warning, a reference
naming nothing, or a broken link; and the checks that say so can fail."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "api_docs.py"


@pytest.fixture(scope="module")
def api_docs() -> ModuleType:
    pytest.importorskip("pdoc", reason="pdoc builds the API reference (pip install -e '.[dev]')")
    spec = importlib.util.spec_from_file_location("api_docs", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("api_docs", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(api_docs: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    output = tmp_path_factory.mktemp("api")
    return output, api_docs.build(output)


def test_the_reference_builds_clean(built: tuple[Path, list[str]]) -> None:
    tmp_path, problems = built
    assert problems == []
    pages = {path.relative_to(tmp_path).as_posix() for path in tmp_path.rglob("*.html")}
    assert {"index.html", "s2ws.html", "s2ws/rm.html", "s2ws/cem.html", "s2ws/errors.html"} <= pages
    assert not any(page.startswith("s2ws/cli") for page in pages)


def test_what_a_device_maker_looks_for_is_on_the_pages(built: tuple[Path, list[str]]) -> None:
    tmp_path, problems = built
    assert problems == []
    rm = (tmp_path / "s2ws" / "rm.html").read_text(encoding="utf-8")
    for anchor in (
        "FRBCDevice.accept",
        "FRBCDevice.on_change",
        "FRBCDevice.set_mode",
        "ModeChange",
        "DeviceRM.publish",
    ):
        assert f'id="{anchor}"' in rm, anchor
    assert "InstructionRefused" in rm
    cem = (tmp_path / "s2ws" / "cem.html").read_text(encoding="utf-8")
    for anchor in ("FRBCView.instruct", "FRBCView.target_at", "FRBCView.reachable_modes", "PEBCView", "RMHandle.view"):
        assert f'id="{anchor}"' in cem, anchor
    errors = (tmp_path / "s2ws" / "errors.html").read_text(encoding="utf-8")
    assert "+-- InvalidData" in errors


def test_a_reference_to_nothing_is_reported(api_docs: ModuleType) -> None:
    import s2ws.app.rm as rm
    from s2ws.app import ResourceManager

    assert api_docs.resolves("ResourceManager.run", rm, None)
    assert api_docs.resolves("run", rm, ResourceManager)
    assert api_docs.resolves("~s2ws.errors.InstructionRefused", rm, None)
    assert api_docs.resolves("s2ws.control", rm, None)
    assert not api_docs.resolves("run", rm, None)
    assert not api_docs.resolves("s2ws.errors.NoSuchError", rm, None)
    assert not api_docs.resolves("ResourceManager.no_such_method", rm, None)


def test_a_broken_link_is_reported(api_docs: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<a href="b.html#there">b</a> <a href="#here">me</a> <p id="here"></p>')
    (tmp_path / "b.html").write_text(
        '<a href="a.html#here">a</a> <a href="c.html">c</a> <a href="https://x.org/">x</a>'
    )
    assert api_docs.check_links(tmp_path) == [
        "a.html: link to a missing anchor b.html#there",
        "b.html: link to a missing page c.html",
    ]


def test_a_literal_block_marker_reads_as_one_colon(api_docs: ModuleType) -> None:
    one = api_docs._one_colon
    assert api_docs._LITERAL.sub(one, "over a\nWebSocket::\n\n    code\n") == "over a\nWebSocket:\n\n    code\n"
    assert api_docs._LITERAL.sub(one, "Example ::\n\n    code\n") == "Example\n\n    code\n"
    assert api_docs._LITERAL.sub(one, "[::1]:8080 and a::b\n") == "[::1]:8080 and a::b\n"
