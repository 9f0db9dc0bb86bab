"""Stand-in for ``icalpub build --events X --out DIR`` until that command lands on main.

Why: the build benchmark needs "a full build in a fresh process: load, validate, render, write
everything". main has ``load_events`` and ``build_site`` but no command that writes the site,
so this does exactly that: every ``Site.resources[path].body`` written to ``OUT/path``.
``run.py`` uses the real command as soon as ``icalpub build --help`` succeeds.

Usage: python benchmarks/build_site.py EVENTS.yaml OUT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from icalpub.load import load_events
from icalpub.site import build_site


def write_site(events: Path, out: Path) -> int:
    """Build and write every resource; returns the number of bytes written."""
    site = build_site(load_events(events))
    total = 0
    for path, resource in site.resources.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(resource.body)
        total += len(resource.body)
    return total


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    write_site(Path(sys.argv[1]), Path(sys.argv[2]))


if __name__ == "__main__":
    main()
