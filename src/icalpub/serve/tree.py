"""``icalpub serve --static DIR``: serve a tree written by ``icalpub build``.

The tree's ``manifest.json`` lists every file with its type, Last-Modified and download name,
so the app answers with the same headers as when it serves events.yaml itself — through the
same conditional-response code. Only paths listed in the manifest are served, so ``..`` or an
encoded slash can never reach a file outside the tree. The manifest is re-read when a new
build is swapped in.
"""

from __future__ import annotations

import json
import os
import re
import struct
import threading
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.errors import ExportError
from ..core.urls import MANIFEST
from ..site import GZIP_HEADER, Resource
from .answers import Served

_ETAG = re.compile(r"[0-9a-f]{32}")


class StaticSnapshot(Served):
    """One manifest's view of the tree; answered like a live site (:class:`Served`).

    A file is read on the first request for it and then kept with the manifest's ETag (the
    build hashed the same bytes), so a request costs a dictionary look-up, as with the live
    site. A new build is a new manifest, hence a new snapshot: files swapped in with it are
    read afresh. Only paths in the manifest are served, and only files inside the tree.
    """

    def __init__(self, root: Path, files: dict[str, dict[str, Any]], max_age: int):
        super().__init__(max_age)
        self.root = root
        self.files = files

    def find(self, path: str) -> tuple[Resource, bytes | None, datetime] | None:
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
        packed = _gzip_sibling(target, body) if resource.compressible else None
        modified = datetime.strptime(entry["last_modified"], "%Y-%m-%dT%H:%M:%SZ")
        return resource, packed, modified.replace(tzinfo=timezone.utc)


def _gzip_sibling(target: Path, body: bytes) -> bytes | None:
    """The build's ``.gz`` file of ``body`` (the one nginx's gzip_static sends), if it is one:
    icalpub's header, and a trailer with the body's CRC-32 and size (a stale or foreign file
    is not served; the body is then sent uncompressed)."""
    try:
        packed = target.with_name(target.name + ".gz").read_bytes()
    except OSError:
        return None
    trailer = struct.pack("<II", zlib.crc32(body), len(body) & 0xFFFFFFFF)
    if packed.startswith(GZIP_HEADER) and packed.endswith(trailer) and len(packed) > 18:
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
