"""Golden test: ``icalpub build`` of tests/fixtures/golden/ gives tests/expected/, byte for
byte (every feed, invite, jCal, page, ``.gz`` sibling and manifest.json).

A difference is either a regression or a deliberate change of the output. For the latter,
regenerate the tree with ``.venv/bin/python tests/golden.py`` and review the diff (see
tests/golden.py).
"""

from __future__ import annotations

import difflib
import gzip
from pathlib import Path

import pytest

from golden import EXPECTED, FIXTURE, build_golden

REGENERATE = ".venv/bin/python tests/golden.py"
#: How many differing files the failure message shows, and how many diff lines of each.
SHOW_FILES = 5
SHOW_LINES = 40


def tree(root: Path) -> dict[str, Path]:
    """Relative POSIX path -> file, for every file under ``root``."""
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def describe(name: str, expected: bytes, actual: bytes) -> str:
    """A short, readable account of how two versions of one file differ."""
    if name.endswith(".gz"):
        try:
            inner_expected, inner_actual = gzip.decompress(expected), gzip.decompress(actual)
        except (OSError, EOFError) as exc:
            return f"{name}: not a valid gzip file ({exc})"
        if inner_expected == inner_actual:
            return (f"{name}: same content, different gzip bytes ({len(expected)} -> "
                    f"{len(actual)} bytes: header time or compression)")
        return describe(name[:-3], inner_expected, inner_actual).replace(
            name[:-3] + ":", name + " (decompressed):", 1)
    try:
        old, new = expected.decode("utf-8"), actual.decode("utf-8")
    except UnicodeDecodeError:
        return f"{name}: binary, {len(expected)} -> {len(actual)} bytes"
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(),
                                     f"expected/{name}", f"built/{name}", n=2, lineterm=""))
    if not diff:  # only line endings or a final newline differ
        return f"{name}: differs only in line endings ({len(expected)} -> {len(actual)} bytes)"
    more = f"\n  … {len(diff) - SHOW_LINES} more diff lines" if len(diff) > SHOW_LINES else ""
    return f"{name}:\n" + "\n".join("  " + line for line in diff[:SHOW_LINES]) + more


def test_expected_tree_is_not_trivial():
    files = tree(EXPECTED)
    assert (FIXTURE / "events.yaml").is_file()
    for required in ("feeds/all.ics", "feeds/all.json", "feeds.json", "index.html",
                     "manifest.json", "static/style.css", "static/app.js"):
        assert required in files, f"tests/expected/ lacks {required}; run {REGENERATE}"
    invites = [n for n in files if n.startswith("events/") and n.endswith(".ics")]
    assert len(invites) >= 10, invites
    assert any(n.startswith("feeds/topics/") for n in files)
    assert any(n.startswith("feeds/organisers/") for n in files)
    gz = [n for n in files if n.endswith(".gz")]
    assert "feeds/all.ics.gz" in gz and len(gz) >= len(invites), gz
    all_ics = files["feeds/all.ics"].read_bytes()
    assert all_ics.startswith(b"BEGIN:VCALENDAR\r\n") and all_ics.count(b"BEGIN:VEVENT") >= 15
    assert gzip.decompress(files["feeds/all.ics.gz"].read_bytes()) == all_ics


def test_build_matches_expected_tree(tmp_path):
    built_root = build_golden(tmp_path / "public")
    expected, built = tree(EXPECTED), tree(built_root)

    problems = []
    missing, extra = sorted(expected.keys() - built.keys()), sorted(built.keys() - expected.keys())
    if missing:
        problems.append(f"{len(missing)} expected files not built: {', '.join(missing[:20])}")
    if extra:
        problems.append(f"{len(extra)} built files not expected: {', '.join(extra[:20])}")
    differing = [name for name in sorted(expected.keys() & built.keys())
                 if expected[name].read_bytes() != built[name].read_bytes()]
    if differing:
        problems.append(f"{len(differing)} of {len(expected)} files differ: "
                        f"{', '.join(differing[:20])}{' …' if len(differing) > 20 else ''}")
        # Text files first: their diffs say the most; a .gz or manifest change follows them.
        differing.sort(key=lambda n: (n.endswith(".gz"), n == "manifest.json", n))
        problems += [describe(name, expected[name].read_bytes(), built[name].read_bytes())
                     for name in differing[:SHOW_FILES]]
    if problems:
        pytest.fail("the build differs from tests/expected/ (if the change is intended, "
                    f"regenerate it with `{REGENERATE}` and review the diff):\n\n"
                    + "\n\n".join(problems), pytrace=False)
