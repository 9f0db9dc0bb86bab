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

Fast: the files are created and written by a few threads (file creation, writes, zlib and
SHA-256 release the GIL), each folder is created once up front, and the ``.gz`` siblings are
compressed in those threads as they are written, never all held in memory at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import hashlib
import json
import os
import posixpath
import shutil
import stat
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Self

from ..changes.state import format_instant
from ..core.errors import ExportError
from ..core.urls import MANIFEST
from ..site import GZIP_HEADER, Resource, Site, gzip_body, max_age

#: Threads that write the tree. Creating a file is mostly kernel time with the GIL released,
#: so threads overlap it with the Python work of the next file; measured on 2 cores (see
#: benchmarks/RESULTS.md), more threads only add contention.
WRITE_THREADS = 4
#: Files per task: a future per file would cost about as much as writing a small file.
CHUNK = 64


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


def file_names(site: Site) -> dict[str, str]:
    """Resource path -> its file (:func:`file_for`), computed once per build."""
    return {path: file_for(path, res.content_type) for path, res in site.resources.items()}


def type_warnings(site: Site, names: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Resources that a static server would send with another Content-Type than the app."""
    names = names if names is not None else file_names(site)
    found = []
    for path, res in sorted(site.resources.items()):
        name = names[path]
        expected = EXTENSION_TYPES.get(posixpath.splitext(name)[1])
        actual = res.content_type.split(";")[0].strip()
        # a structured-syntax subtype (application/calendar+json for jCal) is still that syntax
        if expected is None or (actual != expected and
                                not actual.endswith("+" + expected.split("/")[1])):
            found.append(f"{name}: served by the app as {actual}, but a static server would "
                         f"send {expected or 'a guessed type'}; give the path a matching extension")
    return tuple(found)


def manifest(site: Site, modified: Mapping[str, datetime],
             names: Mapping[str, str] | None = None) -> bytes:
    """``manifest.json``: what a server needs to answer for each file exactly as the app does."""
    names = names if names is not None else file_names(site)
    refresh = int(site.data.calendar.refresh.total_seconds())
    encode = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
    lines = []
    for path, res in sorted(site.resources.items()):
        entry = {
            "file": names[path],
            "sha256": hashlib.sha256(res.body).hexdigest(), "size": len(res.body),
            "etag": res.etag, "content_type": res.content_type,
            "last_modified": format_instant(modified[path]),
            "cache_control": f"public, max-age={max_age(res, refresh)}",
        }
        if res.download_name:
            entry["download_name"] = res.download_name
        lines.append(f"{encode(path)}: {encode(entry)}")
    # Sorted keys (cache_control, files, format) and one file per line. Not json.dumps(indent=):
    # indenting runs the pure-Python encoder, about ten times slower than the C one used here
    # per entry; any JSON reader sees the same document.
    return (f'{{"cache_control": {encode(f"public, max-age={refresh}")},\n"files": {{\n'
            + ",\n".join(lines) + '\n},\n"format": 1}\n').encode()


def write_file(target: str | Path, body: bytes) -> None:
    """Write one new file (never in place: ``target`` is in the temporary tree, whose folders
    :func:`_make_folders` made)."""
    with open(target, "xb") as handle:
        handle.write(body)


def _unchanged(old: str, body: bytes, when: datetime | None) -> bool:
    """Same bytes and same mtime (Last-Modified) as the file of the previous tree."""
    try:
        st = os.stat(old)
        if st.st_size != len(body) or not stat.S_ISREG(st.st_mode):
            return False
        if when is not None and int(st.st_mtime) != int(when.timestamp()):
            return False
        with open(old, "rb") as handle:
            return handle.read() == body
    except OSError:
        return False


def _same_gzip(old: str, body: bytes, when: datetime | None) -> bool:
    """The previous tree's ``.gz`` sibling is a gzip of ``body`` with our header and the same
    mtime. Decompressing costs a fraction of compressing, and zlib gives the same bytes for the
    same input, level and version, so a rebuild after one edit does not compress the whole
    site again (a zlib upgrade may keep an older, equally valid compression of the same bytes)."""
    try:
        st = os.stat(old)
        if not stat.S_ISREG(st.st_mode) or st.st_size > len(body) + 1024:
            return False
        if when is not None and int(st.st_mtime) != int(when.timestamp()):
            return False
        with open(old, "rb") as handle:
            packed = handle.read()
        inflate = zlib.decompressobj(wbits=31)  # gzip framing: the CRC and size are checked
        # at most len(body) + 1 bytes out: a damaged file cannot make it inflate without bound
        return (packed[:10] == GZIP_HEADER and inflate.decompress(packed, len(body) + 1) == body
                and inflate.eof and not inflate.unused_data)
    except (OSError, zlib.error):
        return False


def _reuse(old: str, target: str) -> None:
    """Carry an unchanged file over: a hard link (nothing rewritten), else a copy with its mtime."""
    try:
        os.link(old, target)
    except OSError:
        shutil.copy2(old, target)


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


#: errno -> what to do about it (see :func:`_failure`).
_FIXES = {
    errno.ENOSPC: "the disk is full: free some space (or choose another --out) and build again",
    errno.EDQUOT: "the disk quota is used up: free some space (or choose another --out) and "
                  "build again",
    errno.EROFS: "the file system is read-only: choose another --out, or make it writable",
    errno.EACCES: "no permission: give this user write access to {folder}/ (and the folders "
                  "in it), or choose another --out",
    errno.EPERM: "not permitted: give this user write access to {folder}/ (and the folders "
                 "in it), or choose another --out",
}


def _failure(exc: OSError, out: Path) -> ExportError:
    """The message for an OSError met while building ``out``: the file, what went wrong, what
    to do, and that the previous tree is still the one published."""
    where = exc.filename or out
    fix = _FIXES.get(exc.errno or 0, "fix this and build again").format(folder=out.parent)
    previous = f"the previous tree at {out}/ is unchanged" if out.exists() else \
        f"{out}/ was not created"
    return ExportError(f"{where}: {exc.strerror or exc}; {fix}. Nothing was written: {previous}.")


@contextlib.contextmanager
def _os_errors(out: Path) -> Iterator[None]:
    """OSError -> :class:`ExportError` (see :func:`_failure`)."""
    try:
        yield
    except OSError as exc:
        raise _failure(exc, out) from None


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


#: What one file of the tree holds: a resource's body, its gzip sibling, or given bytes.
Source = Resource | tuple[Resource] | bytes


@dataclass(frozen=True)
class _File:
    name: str  # relative to the output folder
    source: Source
    when: datetime | None  # its mtime (Last-Modified)

    def body(self) -> bytes:
        """Computed where the file is written (a worker thread), so the compressed bodies
        are never all in memory at once."""
        if isinstance(self.source, Resource):
            return self.source.body
        if isinstance(self.source, tuple):
            return gzip_body(self.source[0].body)
        return self.source


def _files(site: Site, modified: Mapping[str, datetime], names: Mapping[str, str]) -> list[_File]:
    """Every file of the tree but the manifest, sorted by name (the Report's order). Two
    resources with the same file (``x`` as a page and ``x/index.html``): the later one wins."""
    files = {names[p]: _File(names[p], r, modified[p]) for p, r in site.resources.items()}
    files.update({names[p] + ".gz": _File(names[p] + ".gz", (r,), modified[p])
                  for p, r in site.resources.items() if r.compressible})
    files.pop(MANIFEST, None)  # written last, by the caller
    return [files[name] for name in sorted(files)]


def _make_folders(root: Path, names: Sequence[str]) -> None:
    """Create every folder the files need, each once, parents first: ``mkdir(parents=True,
    exist_ok=True)`` per file costs system calls (and pathlib work) per file."""
    folders = {posixpath.dirname(name) for name in names} - {""}
    for folder in sorted(folders):  # a parent sorts before its children
        os.makedirs(os.path.join(root, folder), exist_ok=True)


class _Writer:
    """Puts files into the temporary tree: a hard link to the previous tree's file when its
    bytes and mtime are the same, else a new file with its mtime set. Called from several
    threads; after a failure the others stop at their next file."""

    def __init__(self, out: Path, tmp: Path, previous: set[str]):
        self.out, self.tmp, self.previous = out, tmp, previous
        self.failed = threading.Event()

    def put(self, file: _File) -> bool:
        """True if written, False if carried over unchanged."""
        old, target = f"{self.out}/{file.name}", f"{self.tmp}/{file.name}"
        if (isinstance(file.source, tuple) and file.name in self.previous
                and _same_gzip(old, file.source[0].body, file.when)):
            _reuse(old, target)  # not compressed again only to compare
            return False
        body = file.body()
        if file.name in self.previous and _unchanged(old, body, file.when):
            _reuse(old, target)
            return False
        write_file(target, body)
        if file.when is not None:
            stamp = file.when.timestamp()
            os.utime(target, (stamp, stamp))
        return True

    def put_all(self, files: Sequence[_File]) -> list[bool]:
        """One chunk; cut short (its results are never used) once any thread has failed."""
        done = []
        try:
            for file in files:
                if self.failed.is_set():
                    break  # the build failed: its exception is on its way to the caller
                done.append(self.put(file))
        except BaseException:
            self.failed.set()
            raise
        return done


def _write_tree(writer: _Writer, files: Sequence[_File], last: Callable[[], _File],
                threads: int) -> dict[str, bool]:
    """Write ``files`` with ``threads`` threads, computing ``last`` (the manifest) meanwhile in
    this thread, then write it; name -> written."""
    chunks = [files[i:i + CHUNK] for i in range(0, len(files), CHUNK)]
    pool = ThreadPoolExecutor(max(threads, 1), thread_name_prefix="icalpub-export")
    try:
        results = pool.map(writer.put_all, chunks)  # every chunk is submitted now
        final = last()
        done = {f.name: w for chunk, written in zip(chunks, results)
                for f, w in zip(chunk, written)}
    except BaseException:
        writer.failed.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    done[final.name] = writer.put(final)
    return done


class Staging:
    """One build of the tree at ``out`` in two steps, so that a caller can put the tree in
    place at the moment it saves what the tree publishes (``publish``'s ``stage``):

    * :meth:`write` writes the new tree into a temporary sibling (``.<name>.tmp-<pid>``) and
      returns the step that swaps it into place with one rename, keeping the previous tree
      aside;
    * leaving the ``with`` block normally deletes the previous tree; leaving it with an
      exception (the state file could not be saved, say) puts the previous tree back if it
      was swapped out, and deletes the new one.

    The output folder's lock (a sibling ``.<name>.lock``) is held for the whole block, so two
    builds of one folder take turns. Every OSError (a full disk, a read-only folder) becomes
    an :class:`~icalpub.core.errors.ExportError` that names the file and what to do.
    """

    def __init__(self, out: str | os.PathLike[str], threads: int = WRITE_THREADS):
        self.out = Path(os.path.realpath(out))  # a symlinked web root: swap the folder it names
        self.threads = threads
        self.previous: set[str] = set()  # the files of the tree being replaced
        self.report: Report | None = None
        self._tmp: Path | None = None  # where the new tree was written
        self._undo: Callable[[], object] | None = None  # set once swapped: puts the old tree back
        self._aside: Path | None = None  # the previous tree, once swapped out
        self._lock_fd: int | None = None

    def __enter__(self) -> Self:
        out = self.out
        with _os_errors(out):
            out.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(out.with_name(f".{out.name}.lock"),
                                    os.O_RDWR | os.O_CREAT, 0o644)
        try:
            with _os_errors(out):
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                self.previous = _previous_files(out)
                for stale in out.parent.glob(f".{out.name}.tmp-*"):  # an interrupted build's
                    shutil.rmtree(stale, ignore_errors=True)
        except BaseException:
            self._unlock()
            raise
        return self

    def write(self, site: Site, modified: Mapping[str, datetime]) -> Callable[[], None]:
        """Write the tree of ``site`` beside the output folder (again, if called again before
        the swap); returns the swap."""
        assert self._undo is None, "the tree is already in place"
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
        out = self.out
        tmp = self._tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        with _os_errors(out):
            tmp.mkdir()
            names = file_names(site)
            files = _files(site, modified, names)
            _make_folders(tmp, [f.name for f in files])
            newest = max(modified.values(), default=None)
            done = _write_tree(_Writer(out, tmp, self.previous), files,
                               lambda: _File(MANIFEST, manifest(site, modified, names), newest),
                               self.threads)
        order = sorted(done)
        self.report = Report(out, tuple(n for n in order if done[n]),
                             tuple(n for n in order if not done[n]),
                             tuple(sorted(self.previous - set(done))), type_warnings(site, names))
        return self._swap

    def _swap(self) -> None:
        """Make the written tree the one at ``out`` (one rename); keep the previous one aside."""
        tmp, out = self._tmp, self.out
        assert tmp is not None and self._undo is None, "write() once before the swap"
        with _os_errors(out):
            if not out.exists():
                os.rename(tmp, out)
                self._undo = lambda: os.rename(out, tmp)
            elif _exchange(tmp, out):  # tmp now holds the previous tree
                self._aside = tmp
                self._undo = lambda: _exchange(tmp, out)
            else:  # elsewhere: a moment without a tree, never a mixed one
                old = out.with_name(f".{out.name}.old-{os.getpid()}")
                os.rename(out, old)
                try:
                    os.rename(tmp, out)
                except OSError:
                    os.rename(old, out)
                    raise
                self._aside = old

                def undo() -> None:
                    os.rename(out, tmp)
                    os.rename(old, out)

                self._undo = undo

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                if self._aside is not None:
                    shutil.rmtree(self._aside, ignore_errors=True)
                return
            if self._undo is not None:  # swapped, but what it publishes was not recorded
                try:
                    self._undo()  # the new tree is back at tmp, the previous one at out
                except OSError:  # the new tree stays: whole, only not recorded
                    if self._aside is not None:
                        shutil.rmtree(self._aside, ignore_errors=True)
                    return
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
        finally:
            self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None


def export(site: Site, modified: Mapping[str, datetime], out: str | os.PathLike[str],
           threads: int = WRITE_THREADS) -> Report:
    """Write ``site`` to ``out`` (the web root) atomically; see the module docstring.
    ``icalpub build`` uses :class:`Staging` directly, to save the state file in between.

    Raises :class:`~icalpub.errors.ExportError` for an unusable output folder, a full disk or
    no write access; any failure while writing leaves the previous tree untouched and removes
    the partial one.
    """
    with Staging(out, threads) as staging:
        staging.write(site, modified)()
    assert staging.report is not None
    return staging.report
