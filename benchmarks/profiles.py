"""Profile a full build and a one-edit reload with py-spy (sampling), and say where time goes.

Why: the optimisation work of issue 5 should start where the time is. py-spy samples a normal
process (no cProfile overhead, which inflates code that makes many small calls, such as
icalendar's line folding). The raw collapsed stacks are summed three ways: by pipeline stage
(inclusive), by function (self time) and by function (inclusive). For the reload, only samples
inside ``LiveSite._reload`` count. Falls back to cProfile when py-spy is not installed.

    python benchmarks/profiles.py [--n 10000] [--work DIR] [--out PROFILE.md]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.build_site import write_site  # noqa: E402
from benchmarks.common import BIN, HERE, PYTHON, emit, generated  # noqa: E402

#: Pipeline stages, each matched as a frame anywhere in a stack (inclusive time).
STAGES: list[tuple[str, str]] = [
    ("YAML compose (libyaml, nodes)", r"(^|\.)compose \(icalpub/load/yamlfile"),
    ("load + validate (all of load_events, incl. compose)", r"(^|\.)load_events \(icalpub/load/"),
    ("select (feeds, sort)", r"(^|\.)all_feeds \(icalpub/select"),
    ("render: build VTIMEZONEs", r"(^|\.)build_vtimezone \(icalpub/render/vtimezone"),
    ("render: build VEVENTs (icalendar Event.new/add)", r"(^|\.)vevent \(icalpub/render/event"),
    ("render: to_ical() serialisation", r"^Component\.to_ical \(icalendar/"),
    ("render: line folding (icalendar _foldline, part of to_ical)", r"(^|\.)_foldline \(icalendar"),
    ("ETag: sha256 of every body", r"\.__post_init__ \(icalpub/site"),
    ("feeds.json", r"(^|\.)feeds_index \(icalpub/site"),
    ("reload: Last-Modified comparison", r"(^|\.)_last_modified \(icalpub/live"),
    ("write files", r"\.write_bytes \(pathlib"),
]
FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^:()]+)(?::\d+)?\)$")


def inner_reload(path: Path, n: int) -> None:
    """Child process for the reload profile: serve-ready LiveSite, one edit, one reload."""
    from benchmarks.bench_reload import edit_event
    from icalpub.serve.live import LiveSite

    import inspect

    settle = {"settle": 0} if "settle" in inspect.signature(LiveSite).parameters else {}
    live = LiveSite(path, check_interval=0, **settle)  # settle: main waits for a quiet file
    edit_event(path, n, 1)
    live.snapshot  # noqa: B018 - the property reloads


def request_costs(events: Path, export: Path, requests: int, top: int) -> list[str]:
    """Per-request cost in-process (no network): the app (with its WSGI fast path, and with
    every request left to the Flask routes) vs the minimal app, on every route of the serve
    benchmark, and the app's top functions (cProfile; its overhead is similar for both apps).

    Each request is a direct WSGI call with a prebuilt environ: the Flask test client costs
    more per request than either app (it builds the environ and parses the response), which
    hid the differences."""
    import time

    from werkzeug.test import EnvironBuilder

    from benchmarks.minimal_app import create_app as minimal
    from icalpub.serve.app import create_app

    apps = {"app": create_app({"EVENTS_PATH": str(events)}),
            "app, routes only": create_app({"EVENTS_PATH": str(events), "FAST_PATH": False}),
            "minimal": minimal(str(export))}
    etags = {label: app.test_client().get("/feeds/all.ics").headers["ETag"]
             for label, app in apps.items()}
    routes = {"full feed": ("/feeds/all.ics", {}),
              "gzip feed": ("/feeds/all.ics", {"Accept-Encoding": "gzip"}),
              "304": ("/feeds/all.ics", {"If-None-Match": "{etag}"}),
              "?q=procurement": ("/feeds/all.ics?q=procurement", {}),
              "single invite": ("/events/event-000001.ics", {})}

    def environ(label: str, path: str, headers: dict[str, str]) -> dict:
        filled = {k: v.replace("{etag}", etags[label]) for k, v in headers.items()}
        return EnvironBuilder(path=path, headers=filled).get_environ()

    def call(app, env: dict) -> None:  # type: ignore[no-untyped-def]
        for _chunk in app(dict(env), lambda status, headers, exc_info=None: None):
            pass

    rows = ["| route | " + " | ".join(f"{label} µs/request" for label in apps) +
            " | app / minimal (time) |", "|---|" + "---:|" * (len(apps) + 1)]
    for name, (path, headers) in routes.items():
        cost = {}
        for label, app in apps.items():
            env = environ(label, path, headers)
            call(app, env)  # warm: the answer is computed on the first request
            best = float("inf")
            for _ in range(3):  # best of three: a shared machine only ever adds time
                start = time.perf_counter()
                for _ in range(requests):
                    call(app, env)
                best = min(best, (time.perf_counter() - start) / requests * 1e6)
            cost[label] = best
        rows.append(f"| {name} | " + " | ".join(f"{cost[label]:.1f}" for label in apps) +
                    f" | {cost['app'] / cost['minimal']:.2f} |")
    prof = cProfile.Profile()
    env = environ("app", "/events/event-000001.ics", {})
    prof.runcall(lambda: [call(apps["app"], env) for _ in range(requests)])
    stream = __import__("io").StringIO()
    pstats.Stats(prof, stream=stream).sort_stats("tottime").print_stats(top)
    body = [line for line in stream.getvalue().splitlines() if line.strip()][-top - 1:]
    return rows + ["", f"app, {requests} invite requests, cProfile by own time:", "", "```",
                   *body, "```"]


def frames(stack: str) -> list[str]:
    """``func (file:line)`` -> ``func (file)``: one key per function, not per line."""
    out = []
    for frame in stack.split(";"):
        m = FRAME.match(frame)
        out.append(f"{m['func']} ({m['file']})" if m else frame)
    return out


def summarise(raw: Path, within: str | None, top: int) -> list[str]:
    stacks: list[tuple[list[str], int]] = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        fs = frames(stack)
        if within and not any(within in f for f in fs):
            continue
        stacks.append((fs, int(count)))
    total = sum(c for _s, c in stacks) or 1
    self_time: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    stages: collections.Counter[str] = collections.Counter()
    for fs, count in stacks:
        self_time[fs[-1]] += count
        for f in set(fs):
            incl[f] += count
        for label, pattern in STAGES:
            if any(re.search(pattern, f) for f in fs):
                stages[label] += count
    rows = [f"{total} samples" + (f" inside `{within}`" if within else ""), "",
            "| stage (inclusive) | share |", "|---|---:|"]
    rows += [f"| {label} | {stages[label] / total:.1%} |" for label, _p in STAGES if stages[label]]
    rows += ["", "| function (self time) | share |", "|---|---:|"]
    rows += [f"| `{f}` | {c / total:.1%} |" for f, c in self_time.most_common(top)]
    rows += ["", "| function (inclusive) | share |", "|---|---:|"]
    rows += [f"| `{f}` | {c / total:.1%} |" for f, c in incl.most_common(top + 10)
             if not f.startswith(("<module>", "main ", "_run_module", "_run_code"))][:top]
    return rows


def record(cmd: list[str], raw: Path, rate: int) -> None:
    subprocess.run([str(BIN / "py-spy"), "record", "-r", str(rate), "-f", "raw", "-o", str(raw),
                    "--", *cmd], check=True, capture_output=True)


def cprofile_fallback(label: str, func, top: int) -> list[str]:  # type: ignore[no-untyped-def]
    prof = cProfile.Profile()
    prof.runcall(func)
    stream = __import__("io").StringIO()
    pstats.Stats(prof, stream=stream).sort_stats("tottime").print_stats(top)
    return [f"cProfile ({label}; py-spy not installed):", "", "```", stream.getvalue(), "```"]


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "_reload":
        inner_reload(Path(sys.argv[2]), int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description="profile build and reload")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--requests", type=int, default=3000, help="requests per route in-process")
    parser.add_argument("--work", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="icalpub-profile-"))
    work.mkdir(parents=True, exist_ok=True)
    events = generated(args.n, work)
    reload_file = work / f"profile-reload-{args.n}.yaml"
    reload_file.write_bytes(events.read_bytes())
    out_dir = work / f"profile-build-{args.n}"
    if out_dir.exists():
        shutil.rmtree(out_dir)
    report = [f"# Profiles, N = {args.n:,}", ""]
    build_cmd = [PYTHON, str(HERE / "build_site.py"), str(events), str(out_dir)]
    reload_cmd = [PYTHON, str(Path(__file__).resolve()), "_reload", str(reload_file), str(args.n)]
    if (BIN / "py-spy").exists():
        for name, cmd, within in (("build (build_site.py: load, render, write)", build_cmd, None),
                                  ("reload after one edit", reload_cmd, "._reload (icalpub/live.py")):
            raw = work / f"profile-{name.split()[0]}.raw"
            record(cmd, raw, args.rate)
            report += [f"## {name}", "", *summarise(raw, within, args.top), ""]
    else:
        report += cprofile_fallback("build", lambda: write_site(events, out_dir), args.top)
    small = generated(1000, work)
    export = work / "profile-export-1000"
    if not (export / "feeds" / "all.ics").exists():
        write_site(small, export)
    report += ["## serve: one request in-process (1,000 events, direct WSGI calls)", "",
               *request_costs(small, export, args.requests, args.top), ""]
    emit(report, args.out)


if __name__ == "__main__":
    main()
