"""Build benchmark: a full icalpub build vs the plain-icalendar anchor, both fresh processes.

Why: the issue's target is a ratio (≤ 1.2 at 10,000 events) taken in the same run, plus peak
RSS ≤ 3× the bytes written. Anchor and build alternate per repeat so that a busy neighbour on
the machine hits both; the best wall time of the repeats is compared.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .common import HERE, PYTHON, generated, icalpub_build_cmd, load_average, measure, tree_bytes

RATIO_TARGET = 1.2
RSS_TARGET = 3.0


@dataclass(frozen=True)
class BuildResult:
    n: int
    yaml_bytes: int
    tool: str
    build_s: float
    build_cpu: float
    build_rss: int
    written: int
    files: int
    anchor_s: float
    anchor_cpu: float
    anchor_rss: int
    anchor_written: int
    load: str

    @property
    def ratio(self) -> float:
        return self.build_s / self.anchor_s

    @property
    def cpu_ratio(self) -> float:
        return self.build_cpu / self.anchor_cpu

    @property
    def rss_per_byte(self) -> float:
        return self.build_rss / self.written


def run_one(n: int, work: Path, repeats: int) -> BuildResult:
    events = generated(n, work)
    out, anchor_out = work / f"build-{n}", work / f"anchor-{n}.ics"
    builds, anchors = [], []
    tool = ""
    load = load_average()
    for _ in range(repeats):
        a = measure([PYTHON, str(HERE / "anchor.py"), str(events), str(anchor_out)])
        if a.returncode:
            raise RuntimeError(f"anchor failed for N={n}")
        anchors.append(a)
        if out.exists():
            shutil.rmtree(out)
        cmd, tool = icalpub_build_cmd(events, out)
        b = measure(cmd, log=work / f"build-{n}.log")
        if b.returncode:
            raise RuntimeError(f"{tool} failed for N={n}: see {work / f'build-{n}.log'}")
        builds.append(b)
    best_b = min(builds, key=lambda m: m.seconds)
    best_a = min(anchors, key=lambda m: m.seconds)
    return BuildResult(
        n=n, yaml_bytes=events.stat().st_size, tool=tool,
        build_s=best_b.seconds, build_cpu=min(m.cpu_seconds for m in builds), build_rss=max(m.max_rss_bytes for m in builds),
        written=tree_bytes(out), files=sum(1 for p in out.rglob("*") if p.is_file()),
        anchor_s=best_a.seconds, anchor_cpu=min(m.cpu_seconds for m in anchors), anchor_rss=max(m.max_rss_bytes for m in anchors),
        anchor_written=anchor_out.stat().st_size, load=load,
    )


def table(results: list[BuildResult]) -> list[str]:
    mb = 1e6
    rows = [
        "| N | YAML MB | build wall s | anchor wall s | wall ratio (target ≤ 1.2 at 10k) | "
        "build CPU s | anchor CPU s | CPU ratio | build peak RSS MB | written MB (files) | "
        "RSS / written (target ≤ 3) | anchor RSS MB | anchor .ics MB | load avg |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.n:,} | {r.yaml_bytes / mb:.2f} | {r.build_s:.2f} | {r.anchor_s:.2f} | "
            f"**{r.ratio:.2f}** {'✓' if r.ratio <= RATIO_TARGET else '✗'} | {r.build_cpu:.2f} | "
            f"{r.anchor_cpu:.2f} | {r.cpu_ratio:.2f} | {r.build_rss / mb:.0f} | "
            f"{r.written / mb:.1f} ({r.files:,}) | **{r.rss_per_byte:.2f}** "
            f"{'✓' if r.rss_per_byte <= RSS_TARGET else '✗'} | {r.anchor_rss / mb:.0f} | "
            f"{r.anchor_written / mb:.2f} | {r.load} |")
    if results:
        rows.append(f"\nbuild command: {results[0].tool}; anchor and build alternate, best of "
                    "the repeats for time, highest peak RSS (each process's own, wait4); load avg "
                    "is /proc/loadavg before the size's first run.")
    return rows
