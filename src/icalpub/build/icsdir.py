"""``icalpub build --ics-out DIR``: the site's calendars, and only them, as plain files in a
folder of a repository, so that a git host serves them as subscription URLs
(``feeds/all.ics`` of the repository is the bundled calendar's feed of everything).

The layout is the web tree's without its ``feeds/`` level, with the invites beside the feeds:
``DIR/all.ics``, ``DIR/topics/<slug>.ics``, ``DIR/organisers/<slug>.ics``,
``DIR/events/<id>.ics``. The bytes are the site's (those of ``<out>/feeds/all.ics``, …). A
file whose bytes did not change is left alone (no diff, no new mtime); ``.ics`` files in DIR
that the site no longer has (a cancelled event past ``keep_cancelled``, a removed topic) are
deleted, and nothing else in DIR is touched.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import ExportError
from ..site import Site

FEEDS = "feeds/"


@dataclass
class Copied:
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def calendar_files(site: Site) -> dict[str, bytes]:
    """Relative file name in DIR -> bytes, for every ``.ics`` resource of the site."""
    files: dict[str, bytes] = {}
    for path, resource in sorted(site.resources.items()):
        if not path.endswith(".ics"):
            continue
        name = path.removeprefix(FEEDS)
        if name in files:  # e.g. a feed kind named "events": its feeds and the invites
            raise ExportError(f"{path}: two calendars would be {name} in --ics-out; "
                              "publish them with `icalpub build --out` only")
        files[name] = resource.body
    return files


def write_calendars(site: Site, folder: str | os.PathLike[str]) -> Copied:
    """Make ``folder`` hold exactly the site's calendars (see the module doc)."""
    root = Path(folder)
    files = calendar_files(site)
    copied = Copied()
    try:
        for name, body in files.items():
            target = root / name
            try:
                if target.read_bytes() == body:
                    copied.unchanged.append(name)
                    continue
            except FileNotFoundError:
                pass
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.tmp-{os.getpid()}")
            temporary.write_bytes(body)
            os.replace(temporary, target)
            copied.written.append(name)
        for old in sorted(root.rglob("*.ics")):
            name = old.relative_to(root).as_posix()
            if name not in files and old.is_file():
                old.unlink()
                copied.removed.append(name)
    except OSError as exc:
        raise ExportError(f"{exc.filename or root}: {exc.strerror or exc}; the build itself "
                          f"is complete (its tree and the state file are saved): fix this and "
                          f"build again to update {root}/.") from None
    return copied
