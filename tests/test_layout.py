"""The folders keep the architecture: imports flow main -> app -> {services, components, theme}, and a feature
package does not repeat its own name in its module names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FORBIDDEN = {
    "services": {"app", "components", "theme", "nicegui", "fastapi", "starlette", "uvicorn", "main"},
    "components": {"app", "main"},
    "theme": {"services", "app", "components", "main"},
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every absolute import in the file, wherever it sits (functions, TYPE_CHECKING blocks)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_imports_only_what_is_below_it(folder: str) -> None:
    crossings = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[folder])
        for path in modules(folder)
    }
    assert {path: names for path, names in crossings.items() if names} == {}


def test_the_check_sees_a_crossing(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.container import Services\n"
                      "def f():\n    import nicegui.ui\n")
    assert imported_packages(sample) >= {"app", "nicegui"}


@pytest.mark.parametrize("folder", ["services", "components"])
def test_no_module_repeats_its_package_name(folder: str) -> None:
    """`services/metrics/alerts.py`, not `services/metrics/metric_alerts.py`."""
    repeats = []
    for path in modules(folder):
        package = path.parent.name
        if path.parent == ROOT / folder:
            continue
        stem = package.rstrip("s")  # metrics -> metric, events -> event, notifications -> notification
        if path.stem.startswith((f"{package}_", f"{stem}_")):
            repeats.append(str(path.relative_to(ROOT)))
    assert repeats == []
