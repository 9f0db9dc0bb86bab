"""The golden tree: ``icalpub build`` of ``tests/fixtures/golden/`` pinned byte for byte in
``tests/expected/`` (Pelican-style), checked by ``tests/test_golden.py``.

Regenerate ``tests/expected/`` after a deliberate change of the output, then review the diff
(``git diff --stat tests/expected``) before committing it::

    .venv/bin/python tests/golden.py

The build runs ``python -m icalpub.cli build`` in a subprocess with this interpreter and
inherits ``PYTHONPATH``, so another copy of the code can produce the tree, e.g. a worktree of
an older commit (``--src DIR`` does the same as putting DIR first on ``PYTHONPATH``)::

    PYTHONPATH=/tmp/orig/src .venv/bin/python tests/golden.py

The fixture folder is copied to a temporary folder first, since a build writes the state file
next to the events file. ``SOURCE_DATE_EPOCH`` fixes "now" (every DTSTAMP, CREATED,
LAST-MODIFIED, HTTP Last-Modified and gzip header time that the build stamps), and
``ICALPUB_BASE_URL`` / ``ICALPUB_EVENTS`` / ``ICALPUB_STATE`` are removed from the
environment, so the tree is the same bytes on every run.

The state file ``tests/fixtures/golden/events.state.json`` is an input, not an output: it is
what a build of an *earlier* version of ``events.yaml`` left (that version had one more
event, ``dropped-webinar``, and another title for ``tokyo-seminar``), built at
``PREVIOUS_EPOCH``. The golden build then publishes ``dropped-webinar`` as removed
(``STATUS:CANCELLED``, ``SEQUENCE:1``, re-rendered from the state file) and ``tokyo-seminar``
as changed (``SEQUENCE:1``), while the other events keep the timestamps of the earlier build.
It is only rewritten on request (then regenerate the tree as well)::

    .venv/bin/python tests/golden.py --state
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TESTS = Path(__file__).resolve().parent
FIXTURE = TESTS / "fixtures" / "golden"
EXPECTED = TESTS / "expected"

#: "Now" of the golden build: 2021-01-01T00:00:00Z.
EPOCH = 1609459200
#: "Now" of the earlier build that wrote the fixture's state file: 2020-12-25T00:00:00Z.
PREVIOUS_EPOCH = 1608854400
#: Environment variables that would make the build read something other than the fixture.
CLEARED = ("ICALPUB_BASE_URL", "ICALPUB_EVENTS", "ICALPUB_STATE")

#: The earlier version of events.yaml is this file with these edits: (old, new) replacements,
#: each of which must occur exactly once, and one more event at the end.
PREVIOUS_EDITS = [
    ("    title: Seminar on urban heat\n", "    title: Seminar on heat in cities\n"),
]
PREVIOUS_EXTRA_EVENT = """
  # Removed since: published as STATUS:CANCELLED until calendar.keep_cancelled has passed.
  - id: dropped-webinar
    title: Webinar that was dropped
    start: 2021-02-17 11:00
    end: 2021-02-17 12:00
    location: Online (Zoom)
    description: |
      Dropped from the programme.

      - it stays in the feeds as cancelled
    organisers: [acme]
    topics: [digital]
"""


def cli_env(epoch: int = EPOCH, src: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The build's environment: ours, without the ICALPUB_* overrides, with a fixed clock and
    ``src`` (if given) first on an absolute ``PYTHONPATH``."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["SOURCE_DATE_EPOCH"] = str(epoch)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if src is not None:
        paths.insert(0, os.fspath(src))
    # The build runs in another folder: relative entries are made absolute from here.
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in paths)
    return env


def run_build(events: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m icalpub.cli build --events EVENTS --out OUT --jobs 1``; fails loudly."""
    command = [sys.executable, "-m", "icalpub.cli", "build", "--events", str(events),
               "--out", str(out), "--jobs", "1"]
    done = subprocess.run(command, env=env, cwd=events.parent, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {done.returncode}:\n"
                           f"{done.stdout}{done.stderr}")
    return done


def build_golden(out: Path, *, src: str | os.PathLike[str] | None = None) -> Path:
    """Build the golden fixture into ``out`` (absent, or a previous build) and return it."""
    out = Path(out).resolve()
    with tempfile.TemporaryDirectory(prefix="icalpub-golden-") as tmp:
        copy = Path(tmp) / "golden"
        shutil.copytree(FIXTURE, copy)
        run_build(copy / "events.yaml", out, cli_env(EPOCH, src))
    return out


def previous_events_text() -> str:
    """The earlier version of the fixture's events.yaml (see the module docstring)."""
    text = (FIXTURE / "events.yaml").read_text(encoding="utf-8")
    for old, new in PREVIOUS_EDITS:
        if text.count(old) != 1:
            raise ValueError(f"{old!r} must occur exactly once in {FIXTURE / 'events.yaml'}")
        text = text.replace(old, new)
    return text + PREVIOUS_EXTRA_EVENT


def write_state(*, src: str | os.PathLike[str] | None = None) -> Path:
    """Rewrite the fixture's events.state.json: build the earlier version at
    ``PREVIOUS_EPOCH`` with no state file and keep the state file it writes."""
    with tempfile.TemporaryDirectory(prefix="icalpub-golden-state-") as tmp:
        events = Path(tmp) / "events.yaml"
        events.write_text(previous_events_text(), encoding="utf-8")
        run_build(events, Path(tmp) / "public", cli_env(PREVIOUS_EPOCH, src))
        target = FIXTURE / "events.state.json"
        shutil.copyfile(Path(tmp) / "events.state.json", target)
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Regenerate tests/expected/ (the golden tree).")
    parser.add_argument("--src", help="a folder to put first on PYTHONPATH (another icalpub)")
    parser.add_argument("--state", action="store_true",
                        help="first rewrite tests/fixtures/golden/events.state.json")
    args = parser.parse_args(argv)
    which = subprocess.run([sys.executable, "-c", "import icalpub; print(icalpub.__file__)"],
                           env=cli_env(EPOCH, args.src), capture_output=True, text=True,
                           check=True, cwd=tempfile.gettempdir()).stdout.strip()
    print(f"icalpub from {which}")
    if args.state:
        print(f"wrote {write_state(src=args.src).relative_to(TESTS.parent)}")
    # built beside it and swapped in only once the build succeeded: a failed build leaves
    # the expected tree as it was
    fresh = EXPECTED.with_name(f".{EXPECTED.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    build_golden(fresh, src=args.src)
    fresh.with_name(f".{fresh.name}.lock").unlink(missing_ok=True)  # the build's lock
    shutil.rmtree(EXPECTED, ignore_errors=True)
    fresh.rename(EXPECTED)
    files = [p for p in EXPECTED.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"wrote {EXPECTED.relative_to(TESTS.parent)}/: {len(files)} files, {size:,} bytes")


if __name__ == "__main__":
    main()
