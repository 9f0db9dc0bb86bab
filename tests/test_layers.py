"""The folders are the pipeline: each stage imports only the stages below it.

    core -> load -> changes -> feeds -> ical | html -> site -> serve | build -> cli

Stages on one level (``ical`` and ``html``; ``serve`` and ``build``) do not import each other.
Only ``serve/`` imports flask, only ``ical/`` imports icalendar. The check reads every
module's imports with ``ast`` (relative imports resolved), so it fails as soon as someone adds
an upward import, wherever it is in a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "icalpub"
#: Each stage's rank; a module may import a stage of a lower rank, or its own stage.
RANK = {"core": 0, "load": 1, "changes": 2, "feeds": 3, "ical": 4, "html": 4, "site": 5,
        "serve": 6, "build": 6, "cli": 7}


def stage(module: str) -> str:
    """``icalpub.serve.app`` -> ``serve``; the package itself (``icalpub``) is ``core``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else "core"


def imports(path: Path, src: Path = SRC) -> list[tuple[str, int]]:
    """The icalpub modules (and third-party tops) ``path`` imports, with their line."""
    module = ".".join(path.relative_to(src.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
                found += [(name, node.lineno) for name in names]
            else:
                found.append((node.module or "", node.lineno))
    return found


MODULES = sorted(p for p in SRC.rglob("*.py"))


def upward_imports(path: Path, src: Path = SRC) -> list[str]:
    here = stage(".".join(path.relative_to(src.parent).with_suffix("").parts))
    upward = []
    for name, line in imports(path, src):
        if not name.startswith("icalpub"):
            continue
        there = stage(name)
        if there != here and RANK[there] >= RANK[here]:
            upward.append(f"{path.relative_to(src)}:{line}: {here} imports {name} ({there})")
    return upward


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_only_lower_stages(path):
    upward = upward_imports(path)
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("library, folder", [("flask", "serve/"), ("icalendar", "ical/")])
def test_libraries_stay_in_their_layer(library, folder):
    users = {str(p.relative_to(SRC)) for p in MODULES
             if any(name.split(".")[0] == library for name, _ in imports(p))}
    assert users and all(user.startswith(folder) for user in users), users


def test_every_stage_is_a_package_or_module_that_exists():
    present = {p.name.removesuffix(".py") for p in SRC.iterdir()
               if p.suffix == ".py" or (p / "__init__.py").exists()} - {"__init__"}
    assert present == set(RANK)


def test_the_check_catches_an_upward_import(tmp_path):
    """The rule can fail: a ``core`` module that imports ``site`` is reported."""
    src = tmp_path / "icalpub"
    probe = src / "core" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("def later():\n    from ..site import Site\n")
    assert upward_imports(probe, src) == [
        "core/probe.py:2: core imports icalpub.site (site)"]
