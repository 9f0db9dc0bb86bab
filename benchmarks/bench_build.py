"""Build benchmark: a full ``icalpub build`` vs two plain-icalendar anchors, all fresh processes.

Why: the issue's targets are ratios taken in the same run, so they do not depend on the machine:

- build ≤ 0.25× ``anchor_full.py`` (at 1,000 and 10,000 events): the like-for-like anchor, which
  writes the same ``.ics`` files as the build (all, per topic, per organiser, one invite per
  event) with PyYAML and plain ``icalendar``, as a user would without icalpub;
- build / ``anchor.py`` (the "all" feed only), the old ratio (target ≤ 1.2 at 10,000), reported
  beside it so that runs before and after the new anchor compare;
- peak RSS ≤ 3× the bytes written.

The three commands alternate within each repeat (all-feed anchor, full anchor, build) so that a
busy neighbour on the machine hits all of them; the best wall time of the repeats is compared.
Every repeat starts from nothing: a fresh output folder for each command and, for the build, a
fresh state file (``--state``, deleted first), so every build is a first build.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .common import (HERE, PYTHON, Measured, generated, icalpub_build_cmd, load_average, measure,
                     tree_bytes)

RATIO_TARGET = 0.25  # build / full anchor
OLD_RATIO_TARGET = 1.2  # build / all-feed anchor at 10,000 events: reported, not checked
RSS_TARGET = 3.0


@dataclass(frozen=True)
class Best:
    """One command over the repeats: best wall, least CPU, highest peak RSS."""
    seconds: float
    cpu: float
    rss: int

    @classmethod
    def of(cls, runs: list[Measured]) -> Best:
        return cls(min(m.seconds for m in runs), min(m.cpu_seconds for m in runs),
                   max(m.max_rss_bytes for m in runs))


@dataclass(frozen=True)
class BuildResult:
    n: int
    yaml_bytes: int
    tool: str
    build: Best
    full: Best  # anchor_full.py
    anchor: Best  # anchor.py
    written: int  # every file of the build
    files: int
    ics_written: int  # the build's .ics files only: what the full anchor writes too
    ics_files: int
    full_written: int
    full_files: int
    same_paths: bool  # the build's .ics paths are exactly the full anchor's
    anchor_written: int
    load: str

    @property
    def ratio(self) -> float:
        return self.build.seconds / self.full.seconds

    @property
    def old_ratio(self) -> float:
        return self.build.seconds / self.anchor.seconds

    @property
    def rss_per_byte(self) -> float:
        return self.build.rss / self.written


def _fresh(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    return path


class Failed(RuntimeError):
    def __init__(self, message: str, log: Path):
        super().__init__(message)
        self.log = log


def _run(cmd: list[str], what: str, log: Path) -> Measured:
    m = measure(cmd, log=log)
    if m.returncode:
        raise Failed(f"{what} failed (exit {m.returncode}): see {log}", log)
    return m


def _files(root: Path, suffix: str = "") -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size
            for p in root.rglob(f"*{suffix}") if p.is_file()}


def run_one(n: int, work: Path, repeats: int) -> BuildResult:
    events = generated(n, work)
    out, full_out = work / f"build-{n}", work / f"anchor-full-{n}"
    anchor_out, state = work / f"anchor-{n}.ics", work / f"build-{n}.state.json"
    builds: list[Measured] = []
    fulls: list[Measured] = []
    anchors: list[Measured] = []
    tool = ""
    load = load_average()
    for _ in range(repeats):
        anchors.append(_run([PYTHON, str(HERE / "anchor.py"), str(events), str(anchor_out)],
                            f"anchor.py N={n}", work / f"anchor-{n}.log"))
        fulls.append(_run([PYTHON, str(HERE / "anchor_full.py"), str(events),
                           str(_fresh(full_out))],
                          f"anchor_full.py N={n}", work / f"anchor-full-{n}.log"))
        state.unlink(missing_ok=True)
        cmd, tool = icalpub_build_cmd(events, _fresh(out), state)
        builds.append(_run(cmd, f"{tool} N={n}", work / f"build-{n}.log"))
    ics, full = _files(out, ".ics"), _files(full_out)
    return BuildResult(
        n=n, yaml_bytes=events.stat().st_size, tool=tool,
        build=Best.of(builds), full=Best.of(fulls), anchor=Best.of(anchors),
        written=tree_bytes(out), files=sum(1 for p in out.rglob("*") if p.is_file()),
        ics_written=sum(ics.values()), ics_files=len(ics),
        full_written=sum(full.values()), full_files=len(full), same_paths=ics.keys() == full.keys(),
        anchor_written=anchor_out.stat().st_size, load=load,
    )


def table(results: list[BuildResult]) -> list[str]:
    mb = 1e6
    rows = [
        "| N | YAML MB | build wall s | full anchor wall s | **build / full anchor** "
        "(target ≤ 0.25) | all-feed anchor wall s | build / all-feed anchor (old ratio) | "
        "build CPU s | full anchor CPU s | all-feed anchor CPU s | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.n:,} | {r.yaml_bytes / mb:.2f} | {r.build.seconds:.2f} | {r.full.seconds:.2f} | "
            f"**{r.ratio:.3f}** {'✓' if r.ratio <= RATIO_TARGET else '✗'} | "
            f"{r.anchor.seconds:.2f} | {r.old_ratio:.2f} | {r.build.cpu:.2f} | {r.full.cpu:.2f} | "
            f"{r.anchor.cpu:.2f} | {r.load} |")
    rows += [
        "",
        "| N | build wrote MB (files) | of which .ics MB (files) | full anchor wrote MB (files) | "
        "same .ics paths | all-feed anchor .ics MB | build peak RSS MB | RSS / written "
        "(target ≤ 3) | full anchor RSS MB | all-feed anchor RSS MB |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows.append(
            f"| {r.n:,} | {r.written / mb:.1f} ({r.files:,}) | {r.ics_written / mb:.1f} "
            f"({r.ics_files:,}) | {r.full_written / mb:.1f} ({r.full_files:,}) | "
            f"{'yes' if r.same_paths else '**no**'} | {r.anchor_written / mb:.2f} | "
            f"{r.build.rss / mb:.0f} | **{r.rss_per_byte:.2f}** "
            f"{'✓' if r.rss_per_byte <= RSS_TARGET else '✗'} | {r.full.rss / mb:.0f} | "
            f"{r.anchor.rss / mb:.0f} |")
    if results:
        rows.append(
            f"\nbuild command: {results[0].tool} (fresh output folder and state file each "
            "repeat); full anchor: anchor_full.py (the same .ics files, PyYAML + plain "
            f"icalendar); all-feed anchor: anchor.py (old ratio, was target ≤ "
            f"{OLD_RATIO_TARGET} at 10k). The three "
            "alternate per repeat; best wall time of the repeats, least CPU (user + system), "
            "highest peak RSS (each process's own, wait4); load avg is /proc/loadavg before the "
            "size's first run.")
    return rows
