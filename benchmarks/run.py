"""Run every benchmark of issue 5 and print one Markdown results table.

Why one command: the figures are only comparable as ratios taken in the same run on the same
machine, so build, serve and reload run back to back, each against its anchor, and the output
starts with the machine's description.

    python benchmarks/run.py            # full: build 1k/2k/10k/50k, serve (wrk -d5s), reload 10k
    python benchmarks/run.py --quick    # smoke run, under a minute: 300 events, wrk -d1s
    python benchmarks/run.py --only build --sizes 1000 10000 --out results.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_build, bench_reload, bench_serve  # noqa: E402
from benchmarks.common import emit  # noqa: E402


def machine() -> list[str]:
    """What the numbers were measured on."""
    import yaml

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")))

    def version(cmd: list[str]) -> str:
        try:
            done = subprocess.run(cmd, capture_output=True, text=True)
            return (done.stdout + done.stderr).strip().splitlines()[0]
        except (OSError, IndexError):
            return "not found"

    return [
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores "
        f"(nproc), {cpu}, {mem_kb / 1024 / 1024:.1f} GiB RAM, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}, icalendar {metadata.version('icalendar')}, "
        f"PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__}), Flask {metadata.version('flask')}, "
        f"gunicorn {metadata.version('gunicorn')}",
        f"- {version(['wrk', '-v'])}; {version(['/usr/sbin/nginx', '-v'])}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="icalpub benchmarks (issue 5)")
    parser.add_argument("--quick", action="store_true", help="small smoke run (< 60 s)")
    parser.add_argument("--only", nargs="+", choices=("build", "serve", "reload"),
                        default=["build", "serve", "reload"])
    parser.add_argument("--sizes", nargs="+", type=int, help="build sizes (default 1000 2000 10000 50000)")
    parser.add_argument("--repeats", type=int, default=None, help="build repeats per size (best is kept)")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=20, help="wrk -c")
    parser.add_argument("--duration", default=None, help="wrk -d (default 5s, quick 1s)")
    parser.add_argument("--flat", nargs=2, type=int, help="the two sizes of the flat-304 check (100 10000)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved wrk rounds (3)")
    parser.add_argument("--reload-n", type=int, default=None, help="events in the reload file (10000)")
    parser.add_argument("--edits", type=int, default=None, help="edits in the reload benchmark (3)")
    parser.add_argument("--reload-variants", nargs="+", choices=tuple(bench_reload.VARIANTS),
                        help="servers for the reload benchmark (default: readme workers; quick: readme)")
    parser.add_argument("--work", type=Path, help="keep generated files and logs here")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()

    quick = args.quick
    sizes = args.sizes or ([300] if quick else [1000, 2000, 10000, 50000])
    serve_n = 300 if quick else 1000
    repeats = args.repeats or (1 if quick else 2)
    duration = args.duration or ("1s" if quick else "5s")
    wrk_args = [f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}"]
    reload_n = args.reload_n or (300 if quick else 10000)
    edits = args.edits or (1 if quick else 3)
    flat = tuple(args.flat) if args.flat else (50, serve_n) if quick else (100, 10000)

    work = args.work or Path(tempfile.mkdtemp(prefix="icalpub-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    report = ["# icalpub benchmarks" + (" (--quick)" if quick else ""), "", *machine(),
              f"- work directory: {work}", ""]

    if "build" in args.only:
        results, failures = [], []
        for n in sizes:
            print(f"build N={n:,} …", file=sys.stderr, flush=True)
            try:
                results.append(bench_build.run_one(n, work, 1 if n >= 50000 else repeats))
            except RuntimeError as exc:  # e.g. the loader refuses a file this large
                log = getattr(exc, "log", work / f"build-{n}.log")
                last = log.read_text(errors="replace").strip().splitlines()[-2:] if log.exists() else []
                failures.append(f"- N={n:,}: {exc}: {' / '.join(last)}")
        report += ["## build", "", *bench_build.table(results), "", *failures, ""]
    if "serve" in args.only:
        print("serve …", file=sys.stderr, flush=True)
        out = bench_serve.run(work, wrk_args, flat, serve_n, rounds=args.rounds or (1 if quick else 3))
        report += ["## serve", "", *bench_serve.table(out), ""]
    if "reload" in args.only:
        variants = args.reload_variants or (["readme"] if quick else ["readme", "workers"])
        results = []
        for variant in variants:
            print(f"reload {variant} N={reload_n:,} …", file=sys.stderr, flush=True)
            results.append(bench_reload.run(work, reload_n, edits, variant,
                                            deadline_s=60 if quick else 240))
        report += ["## reload (one event edited, atomic write)", "", *bench_reload.table(results), ""]

    report.append(f"total benchmark time: {time.monotonic() - began:.0f} s")
    emit(report, args.out)


if __name__ == "__main__":
    main()
