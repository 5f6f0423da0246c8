"""Every provenance event an app records is built by its events.py with a declared kind."""

from __future__ import annotations

import ast
from pathlib import Path

from stylevault.provenance.models import EventKind

PACKAGE = Path(__file__).resolve().parents[2] / "stylevault"


def _calls(name: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                if called == name:
                    found.append((path.relative_to(PACKAGE), node))
    return found


def test_apps_record_only_events_built_by_their_events_module():
    outside_the_log = [
        f"{path}:{call.lineno}"
        for path, call in _calls("record_event")
        if path.parts[0] != "provenance"
    ]
    assert outside_the_log == []
    builders = {path for path, _call in _calls("NewEvent")}
    assert builders == {
        Path("accounts/events.py"),
        Path("campaigns/events.py"),
        Path("generation/events.py"),
        Path("photos/events.py"),
        Path("styles/events.py"),
    }


def test_every_kind_built_anywhere_is_declared():
    kinds = []
    for path, call in _calls("NewEvent"):
        kind = next(k.value for k in call.keywords if k.arg == "kind")
        assert isinstance(kind, ast.Attribute), f"{path}:{call.lineno}: a bare kind"
        assert isinstance(kind.value, ast.Name) and kind.value.id == "EventKind", path
        assert kind.attr in EventKind.__members__, f"{path}:{call.lineno}: {kind.attr}"
        kinds.append(EventKind[kind.attr])
    # One builder per kind, and every declared kind has its builder.
    assert sorted(kinds) == sorted(EventKind)
