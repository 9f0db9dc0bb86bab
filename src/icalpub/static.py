"""``icalpub serve --static DIR``: serve a tree written by ``icalpub build``.

The tree's ``manifest.json`` lists every file with its type, Last-Modified and download name,
so ``web`` answers with the same headers as when it serves events.yaml itself — through the
same conditional-response code. Only paths listed in the manifest are served, so ``..`` or an
encoded slash can never reach a file outside the tree. The manifest is re-read when a new
build is swapped in.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .compress import GZIP_HEADER, gzip_trailer
from .errors import ExportError
from .export import MANIFEST
from .site import Resource

_ETAG = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class StaticSnapshot:
    """One manifest's view of the tree; the same look-up interface as ``live.Snapshot``.

    A file is read on the first request for it and then kept, with the manifest's ETag (the
    build hashed the same bytes), so a request costs a dictionary look-up, as with the live
    site, instead of a read and a SHA-256. A new build is a new manifest, hence a new
    snapshot with an empty cache: files swapped in with it are read afresh.
    """

    root: Path
    files: dict[str, dict[str, Any]]
    max_age: int
    _resources: dict[str, Resource] = field(default_factory=dict, init=False, repr=False,
                                            compare=False)
    _modified: dict[str, datetime] = field(default_factory=dict, init=False, repr=False,
                                           compare=False)

    def get(self, path: str) -> Resource | None:
        resource = self._resources.get(path)
        if resource is None:
            resource = self._read(path)
            if resource is not None:  # a missing file is tried again on the next request
                self._resources[path] = resource
        return resource

    def _read(self, path: str) -> Resource | None:
        entry = self.files.get(path)
        if entry is None:
            return None
        target = (self.root / entry["file"]).resolve()
        if not target.is_relative_to(self.root):  # a tampered manifest must not escape
            return None
        try:
            body = target.read_bytes()
        except OSError:
            return None
        etag = entry.get("etag")
        # The manifest's ETag goes into a header: anything but the digest build writes is
        # recomputed rather than trusted.
        etag = etag if isinstance(etag, str) and _ETAG.fullmatch(etag) else ""
        resource = Resource(path, body, entry["content_type"],
                            download_name=entry.get("download_name"), etag=etag)
        if resource.compressible:
            packed = _gzip_sibling(target, body)
            if packed is not None:  # else compressed on the first request that wants it
                resource.keep_gzipped(packed)
        return resource

    def resource_modified(self, path: str) -> datetime:
        modified = self._modified.get(path)
        if modified is None:
            raw = self.files[path]["last_modified"]
            modified = datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            self._modified[path] = modified
        return modified


def _gzip_sibling(target: Path, body: bytes) -> bytes | None:
    """The build's ``.gz`` file of ``body`` (the one nginx's gzip_static sends), if it is one:
    icalpub's header, and a trailer with the body's CRC-32 and size (a stale or foreign file
    is not served)."""
    try:
        packed = target.with_name(target.name + ".gz").read_bytes()
    except OSError:
        return None
    if packed.startswith(GZIP_HEADER) and packed.endswith(gzip_trailer(body)) \
            and len(packed) > 18:
        return packed
    return None


def read_manifest(root: Path) -> StaticSnapshot:
    path = root / MANIFEST
    try:
        document = json.loads(path.read_bytes())
        files = document["files"]
        max_age = int(document["cache_control"].rsplit("=", 1)[1])
    except FileNotFoundError:
        raise ExportError(f"{path}: not found; build the tree first with "
                          f"`icalpub build --out {root}`") from None
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ExportError(f"{path}: not an icalpub manifest ({exc}); rebuild the tree with "
                          f"`icalpub build --out {root}`") from None
    return StaticSnapshot(root, files, max_age)


class StaticTree:
    """Holds the current :class:`StaticSnapshot`; re-reads the manifest when it is replaced."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root).resolve()
        self._lock = threading.Lock()
        self._signature = self._stat()
        self._snapshot = read_manifest(self.root)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.root / MANIFEST)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    @property
    def snapshot(self) -> StaticSnapshot:
        signature = self._stat()
        if signature is not None and signature != self._signature:
            with self._lock:
                try:
                    self._snapshot = read_manifest(self.root)
                    self._signature = signature
                except ExportError:
                    pass  # mid-swap or broken: keep serving what we had
        return self._snapshot
