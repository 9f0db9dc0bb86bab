"""``icalpub build``: write the site's resources as a static tree any web server or CDN serves.

The output folder is the *web root*: a resource at URL path ``feeds/all.ics`` is the file
``<out>/feeds/all.ics``, so nginx, S3 or GitHub Pages answer the same URLs as the Flask app,
with the same bytes (they are the same :class:`~icalpub.site.Resource` objects; Frozen-Flask and
MkDocs export the same way). Plus ``manifest.json``: per file its SHA-256, size, ETag, type and
Last-Modified, for ``icalpub serve --static`` and for upload scripts.

Atomic: the new tree is written into a temporary sibling folder, then swapped into place with
one rename (``renameat2(RENAME_EXCHANGE)`` on Linux; elsewhere two renames), so a reader or a
crash never sees a half-written tree, and a failed build leaves the previous tree as it was.
Files whose bytes did not change are hard links to the previous tree's files (same inode, same
mtime), so rsync and CDN uploads skip them; every file's mtime is its Last-Modified, which nginx
then sends unchanged.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from .errors import ExportError
from .site import Site
from .state import format_instant

MANIFEST = "manifest.json"


#: Extensions static servers map to a type; a resource whose file would be served with another
#: type than the app's is reported (Frozen-Flask warns the same way).
EXTENSION_TYPES = {".ics": "text/calendar", ".json": "application/json", ".html": "text/html",
                   ".css": "text/css", ".js": "text/javascript", ".txt": "text/plain"}


def file_for(path: str, content_type: str = "") -> str:
    """The file (relative to the output folder) that holds the resource at URL ``path``.

    Identity for every feed, invite and JSON file. A folder-like path (``""``, ``topics/``)
    and an HTML page without an extension (``events/<id>``) get an ``index.html`` in a folder
    of that name, which nginx (``try_files $uri $uri/index.html``), GitHub Pages and S3
    websites serve at the same URL. Refuses anything that could escape the folder.
    """
    if path == "" or path.endswith("/"):
        path += "index.html"
    elif content_type.startswith("text/html") and not PurePosixPath(path).suffix:
        path += "/index.html"
    parts = PurePosixPath(path).parts
    if path.startswith("/") or not parts or any(p in ("..", ".") for p in parts) or "\\" in path:
        raise ValueError(f"{path!r} is not a relative resource path")
    return path


@dataclass(frozen=True)
class Report:
    out: Path
    written: tuple[str, ...]  # new or changed files
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]  # files of the previous tree that no longer exist
    warnings: tuple[str, ...] = ()  # e.g. an extension a static server maps to another type


def type_warnings(site: Site) -> tuple[str, ...]:
    """Resources that a static server would send with another Content-Type than the app."""
    found = []
    for path, res in sorted(site.resources.items()):
        name = file_for(path, res.content_type)
        expected = EXTENSION_TYPES.get(PurePosixPath(name).suffix)
        actual = res.content_type.split(";")[0].strip()
        # a structured-syntax subtype (application/calendar+json for jCal) is still that syntax
        if expected is None or (actual != expected and
                                not actual.endswith("+" + expected.split("/")[1])):
            found.append(f"{name}: served by the app as {actual}, but a static server would "
                         f"send {expected or 'a guessed type'}; give the path a matching extension")
    return tuple(found)


def manifest(site: Site, modified: Mapping[str, datetime]) -> bytes:
    """``manifest.json``: what a server needs to answer for each file exactly as the app does."""
    max_age = int(site.data.calendar.refresh.total_seconds())
    files = {}
    for path, res in sorted(site.resources.items()):
        entry = {
            "file": file_for(path, res.content_type),
            "sha256": hashlib.sha256(res.body).hexdigest(), "size": len(res.body),
            "etag": res.etag, "content_type": res.content_type,
            "last_modified": format_instant(modified[path]),
        }
        if res.download_name:
            entry["download_name"] = res.download_name
        files[path] = entry
    document = {"format": 1, "cache_control": f"public, max-age={max_age}", "files": files}
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def write_file(target: Path, body: bytes) -> None:
    """Write one new file (never in place: ``target`` is in the temporary tree)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "xb") as handle:
        handle.write(body)


def _unchanged(old: Path, body: bytes, when: datetime | None) -> bool:
    """Same bytes and same mtime (Last-Modified) as the file of the previous tree."""
    try:
        st = old.stat()
        if st.st_size != len(body) or not old.is_file():
            return False
        if when is not None and int(st.st_mtime) != int(when.timestamp()):
            return False
        return old.read_bytes() == body
    except OSError:
        return False


def _reuse(old: Path, target: Path) -> None:
    """Carry an unchanged file over: a hard link (nothing rewritten), else a copy with its mtime."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(old, target)
    except OSError:
        shutil.copy2(old, target)


@contextlib.contextmanager
def _build_lock(out: Path) -> Iterator[None]:
    """One build per output folder at a time (a sibling ``.<name>.lock``)."""
    fd = os.open(out.with_name(f".{out.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two folders (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(tmp: Path, out: Path) -> None:
    """Make ``tmp`` the tree at ``out``; the previous tree is deleted afterwards."""
    if not out.exists():
        os.rename(tmp, out)
        return
    if _exchange(tmp, out):
        shutil.rmtree(tmp)  # now holds the previous tree
        return
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    os.rename(out, old)  # fallback: a moment without a tree, never a mixed one
    os.rename(tmp, out)
    shutil.rmtree(old)


def _previous_files(out: Path) -> set[str]:
    if not out.exists():
        return set()
    if not out.is_dir():
        raise ExportError(f"{out} is a file; --out must name a folder")
    if (out / MANIFEST).is_file():
        return {str(p.relative_to(out).as_posix()) for p in out.rglob("*") if p.is_file()}
    if any(out.iterdir()):
        raise ExportError(f"{out}/ is not empty and holds no {MANIFEST}, so it is not an icalpub "
                          "build; the build replaces the whole folder: choose a new or empty one")
    return set()


def export(site: Site, modified: Mapping[str, datetime], out: str | os.PathLike[str]) -> Report:
    """Write ``site`` to ``out`` (the web root) atomically; see the module docstring.

    Raises :class:`~icalpub.errors.ExportError` for an unusable output folder; any failure
    while writing leaves the previous tree untouched and removes the partial one.
    """
    out = Path(os.path.realpath(out))  # a symlinked web root: swap the folder it points to
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"{out.parent}: cannot create the folder: {exc.strerror}") from None
    with _build_lock(out):
        previous = _previous_files(out)
        for stale in out.parent.glob(f".{out.name}.tmp-*"):  # left by an interrupted build
            shutil.rmtree(stale, ignore_errors=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        tmp.mkdir()
        try:
            written, unchanged = [], []
            bodies = {file_for(p, r.content_type): (r.body, modified[p])
                      for p, r in site.resources.items()}
            bodies.update({file_for(p, r.content_type) + ".gz": (r.gzipped, modified[p])
                           for p, r in site.resources.items() if r.compressible})
            bodies[MANIFEST] = (manifest(site, modified), max(modified.values(), default=None))
            for name, (body, when) in sorted(bodies.items()):
                old, target = out / name, tmp / name
                if name in previous and _unchanged(old, body, when):
                    _reuse(old, target)
                    unchanged.append(name)
                    continue
                write_file(target, body)
                if when is not None:
                    stamp = when.timestamp()
                    os.utime(target, (stamp, stamp))
                written.append(name)
            _swap_in(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return Report(out, tuple(written), tuple(unchanged), tuple(sorted(previous - set(bodies))),
                  type_warnings(site))
