"""The state file (``events.state.json``): what icalpub has already published, per event.

Calendars recognise an update of an event they hold by its UID and a higher SEQUENCE
(RFC 5545 §3.8.7.4, RFC 5546 §2.1.4); a file of events has no memory of what it said last
time, so this file is that memory. It is small, diff-friendly JSON meant to be committed next
to events.yaml, and it is shared by every process that publishes the same file:

* one writer at a time: an exclusive ``fcntl.flock`` on a sibling ``.lock`` file is held for
  the whole read–decide–write cycle, so two gunicorn workers (or a build next to a server)
  take turns and the second one sees — and reuses — the values the first one decided;
* written atomically (temporary sibling + ``os.replace``): a crash leaves the old file or the
  new one, never half of one;
* a missing file is a first run; a corrupt one is an error that names the file, never a
  silent reset (which would send SEQUENCE 0 again).

The decisions themselves (new / changed / cancelled / expired) live in ``tracking``; this
module only holds the data types and reads and writes them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..core.errors import StateFileError
from ..core.model import Event

FORMAT = 2
#: Years a recorded time may have: the loader's range (``load.values``). A state file is edited
#: by hand or merged by git; a year 9999 would overflow the next bump's arithmetic.
MIN_YEAR, MAX_YEAR = 1970, 2200
#: The largest SEQUENCE: RFC 5545 integers are signed 32-bit, and calendars store them so.
MAX_SEQUENCE = 2**31 - 1
#: The largest state file read. It holds about what the events file says (at most 40 MB) plus
#: recently removed events; far beyond that it is not a state file, and reading it whole could
#: exhaust the server's memory.
MAX_BYTES = 512 * 1024 * 1024
ABOUT = ("icalpub change tracking for the events file next to it: SEQUENCE, CREATED, "
         "LAST-MODIFIED and DTSTAMP per event. Commit it together with the events file; "
         "do not edit or delete it (see README, 'State file').")


def state_path_for(events_path: str | os.PathLike[str]) -> Path:
    """``events.yaml`` -> ``events.state.json`` in the same folder."""
    path = Path(events_path)
    return path.with_name(f"{path.stem}.state.json")


@dataclass
class EventRecord:
    """What was last published for one event id."""

    hash: str  # content_hash of ``last`` (see tracking): what the event said
    sequence: int
    created: datetime  # UTC, whole seconds
    last_modified: datetime
    stamp: datetime  # DTSTAMP
    cancelled_at: datetime | None = None  # when it was first published as cancelled
    removed: bool = False  # no longer in the events file (published from ``last``)
    gone: bool = False  # retention over: no longer published at all (a tombstone)
    last: dict[str, Any] | None = None  # the event's fields, to re-render it once removed


@dataclass(frozen=True)
class ResourceRecord:
    """The bytes last published at one path, by digest, and since when (HTTP Last-Modified)."""

    etag: str
    last_modified: datetime


@dataclass
class State:
    events: dict[str, EventRecord] = field(default_factory=dict)
    resources: dict[str, ResourceRecord] = field(default_factory=dict)


# --- JSON codec ------------------------------------------------------------------------------
#
# One record per line: a change of one event is a one-line diff. Records are never changed in
# place (``tracking`` replaces them), so a record's line is encoded once and reused by every
# later encoding that holds the same record object.

def format_instant(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _event_item(rec: EventRecord) -> dict[str, Any]:
    item: dict[str, Any] = {
        "hash": rec.hash, "sequence": rec.sequence, "created": format_instant(rec.created),
        "last_modified": format_instant(rec.last_modified), "dtstamp": format_instant(rec.stamp),
    }
    if rec.cancelled_at is not None:
        item["cancelled_at"] = format_instant(rec.cancelled_at)
    if rec.removed:
        item["removed"] = True
    if rec.gone:
        item["gone"] = True
    if rec.last is not None:
        item["last"] = rec.last
    return item


#: id(record) -> (record, its line): the lines of the last encoding (the record is held, so
#: its id is not reused while cached).
_lines: dict[int, tuple[Any, str]] = {}


def _section(records: Mapping[str, Any], item: Callable[[Any], Any]) -> str:
    global _lines
    lines, known = [], {}
    for key in sorted(records):
        rec = records[key]
        hit = _lines.get(id(rec))
        if hit is None or hit[0] is not rec:
            hit = (rec, f"  {_compact(key)}: {_compact(item(rec))}")
        known[id(rec)] = hit
        lines.append(hit[1])
    _lines.update(known)
    if len(_lines) > 4 * len(known) + 1000:
        _lines = known
    return ",\n".join(lines) + ("\n" if lines else "")


def _resource_item(rec: ResourceRecord) -> dict[str, Any]:
    return {"etag": rec.etag, "last_modified": format_instant(rec.last_modified)}


def encode(state: State) -> bytes:
    """Stable bytes: sorted keys, one record per line, defaults left out (small git diffs)."""
    return (f'{{\n "about": {_compact(ABOUT)},\n "format": {FORMAT},\n "events": {{\n'
            f'{_section(state.events, _event_item)} }},\n "resources": {{\n'
            f'{_section(state.resources, _resource_item)} }}\n}}\n').encode("utf-8")


class _Bad(Exception):
    pass


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
         required: bool = True) -> Any:
    if key not in obj:
        if required:
            raise _Bad(f"{where}: missing `{key}`")
        return None
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Bad(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, "
                   f"got {type(value).__name__} {value!r}")
    return value


def _instant(obj: dict[str, Any], key: str, where: str, required: bool = True) -> datetime | None:
    raw = _get(obj, key, str, where, required)
    if raw is None:
        return None
    try:  # exactly YYYY-MM-DDTHH:MM:SSZ; fromisoformat is strict at this length, and fast
        if len(raw) != 20 or raw[10] != "T" or raw[19] != "Z" or not raw[:19].isascii():
            raise ValueError(raw)
        value = datetime.fromisoformat(raw[:19])
    except ValueError:
        raise _Bad(f"{where}.{key}: {raw!r} is not a UTC time like 2021-01-19T13:00:00Z") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise _Bad(f"{where}.{key}: {raw!r} is not between {MIN_YEAR} and {MAX_YEAR}")
    return value.replace(tzinfo=timezone.utc)


def _event_record(event_id: str, item: Any) -> EventRecord:
    where = f"events.{event_id}"
    if not isinstance(item, dict):
        raise _Bad(f"{where}: expected an object")
    sequence = _get(item, "sequence", int, where)
    if sequence < 0:
        raise _Bad(f"{where}.sequence: {sequence} is negative")
    if sequence > MAX_SEQUENCE:
        raise _Bad(f"{where}.sequence: {sequence} is more than {MAX_SEQUENCE} (RFC 5545 "
                   "integers are 32-bit)")
    return EventRecord(
        hash=_get(item, "hash", str, where), sequence=sequence,
        created=_instant(item, "created", where),  # type: ignore[arg-type]
        last_modified=_instant(item, "last_modified", where),  # type: ignore[arg-type]
        stamp=_instant(item, "dtstamp", where),  # type: ignore[arg-type]
        cancelled_at=_instant(item, "cancelled_at", where, required=False),
        removed=bool(_get(item, "removed", bool, where, required=False)),
        gone=bool(_get(item, "gone", bool, where, required=False)),
        last=_get(item, "last", dict, where, required=False),
    )


def _resource_record(path: str, item: Any) -> ResourceRecord:
    where = f"resources.{path}"
    if not isinstance(item, dict):
        raise _Bad(f"{where}: expected an object")
    return ResourceRecord(_get(item, "etag", str, where),
                          _instant(item, "last_modified", where))  # type: ignore[arg-type]


def _check_format(document: Any) -> None:
    if not isinstance(document, dict):
        raise _Bad("the file is not a JSON object")
    if document.get("format") not in (1, FORMAT):
        raise _Bad(f"unknown format {document.get('format')!r} (this icalpub reads "
                   f"formats 1 and {FORMAT}; upgrade icalpub)")


def _from_format_1(event_id: str, rec: EventRecord) -> EventRecord:
    """Format 1 kept every field of an event's snapshot, defaults included, and its
    organisers and topics as lists: the same content in today's shape (``tracking.snapshot``)
    and its hash, so an upgrade bumps no SEQUENCE."""
    last = rec.last
    if last is None:
        return rec
    old = dict(last)
    organisers = old.pop("organiser_details", [])
    topics = old.pop("topic_names", [])
    where = f"events.{event_id}.last"
    if not isinstance(organisers, list) or not all(
            isinstance(item, list) and 1 <= len(item) <= 4 for item in organisers):
        raise _Bad(f"{where}.organiser_details: expected lists of [slug, name, email, url]")
    if not isinstance(topics, list) or not all(
            isinstance(item, list) and len(item) == 2 for item in topics):
        raise _Bad(f"{where}.topic_names: expected lists of [slug, name]")
    defaults = {f.name: _json_default(f) for f in dataclasses.fields(Event)}
    event = {"id": event_id, **{key: value for key, value in old.items()
                                if key not in defaults or value != defaults[key]}}
    shape = {"event": event,
             "organisers": [{k: v for k, v in zip(("slug", "name", "email", "url"), item)
                             if v is not None} for item in organisers],
             "topics": [{"slug": slug, "name": name} for slug, name in topics]}
    unchanged = rec.hash == hashlib.sha256(_compact(last).encode()).hexdigest()
    return dataclasses.replace(rec, last=shape, hash=hashlib.sha256(
        _compact(shape).encode()).hexdigest() if unchanged else rec.hash)


def _json_default(f: dataclasses.Field) -> Any:
    if f.default is dataclasses.MISSING:
        return dataclasses.MISSING
    return list(f.default) if isinstance(f.default, tuple) else f.default


def decode(raw: bytes, name: str) -> State:
    """Parse the file's bytes; any problem is a :class:`StateFileError` naming ``name``."""
    try:
        document = json.loads(raw.decode("utf-8"))
        _check_format(document)
        events = {event_id: _event_record(event_id, item)
                  for event_id, item in _get(document, "events", dict, "").items()}
        if document["format"] == 1:
            events = {event_id: _from_format_1(event_id, rec) for event_id, rec in events.items()}
        return State(events=events, resources={
            path: _resource_record(path, item)
            for path, item in _get(document, "resources", dict, "").items()})
    except (UnicodeDecodeError, json.JSONDecodeError, _Bad) as exc:
        detail = str(exc).lstrip(": ") if isinstance(exc, _Bad) else f"not valid JSON ({exc})"
        raise StateFileError(
            f"{name}: {detail}. This file records the SEQUENCE calendars have already seen; "
            "restore it from version control (git checkout -- FILE) or fix it by hand. "
            "Deleting it starts every event again at SEQUENCE 0, which calendars that "
            "already hold an event may ignore.") from None


# --- the file, its lock and atomic writes --------------------------------------------------------

def _signature(st: os.stat_result) -> tuple:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


#: path -> (the file's signature, its state): what this process last read or wrote there.
#: Records are shared with the states handed out, which nobody changes in place.
_known: dict[Path, tuple[tuple, State]] = {}


class StateStore:
    """Reads and writes one state file under an advisory lock shared by all processes."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.lock_path = self.path.with_name(f".{self.path.name}.lock")

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Transaction]:
        """Hold the exclusive lock for a read–decide–write cycle (``write=True``).

        A read-only transaction (``icalpub check``) takes no lock and creates no file: writes
        are atomic replaces, so a reader always sees one whole version. Where the lock file
        cannot be created (a read-only deployment with a committed, up-to-date state), reading
        still works and saving an unchanged state is a no-op; a state that needs changing is
        then an error naming the folder.
        """
        if not write:
            yield Transaction(self, *self.read_versioned(), writable=False)
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EROFS, errno.EPERM):
                raise StateFileError(f"{self.path}: cannot open its lock file {self.lock_path}: "
                                     f"{exc.strerror}; check that {self.path.parent}/ exists "
                                     "and this user may write there (option --state)") from None
            fd = None
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield Transaction(self, *self.read_versioned(), writable=fd is not None)
        finally:
            if fd is not None:
                # Unlocked explicitly, not only by closing: a process forked meanwhile (a
                # gunicorn worker spawned while the master saves) holds a copy of the
                # descriptor, which would keep the lock held for as long as it lives.
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def read(self) -> State:
        """The state on disk; an empty one if the file does not exist yet (first run)."""
        return self.read_versioned()[0]

    def read_versioned(self) -> tuple[State, tuple | None]:
        """The state on disk and the signature (inode, size, mtime) of the file it was read
        from: None for no file. An unchanged signature later means nobody wrote meanwhile.

        A file this process read or wrote last, and that has not been replaced since (same
        inode, size and mtime), is not decoded again: a server's reload reads the state twice
        (see ``publish``), and the file of 10,000 events is ~18 MB.
        """
        try:
            with open(self.path, "rb") as handle:
                signature = _signature(os.fstat(handle.fileno()))
                known = _known.get(self.path)
                if known is not None and known[0] == signature:
                    return State(events=dict(known[1].events),
                                 resources=dict(known[1].resources)), signature
                if signature[1] > MAX_BYTES:
                    raise StateFileError(
                        f"{self.path}: {signature[1]:,} bytes is more than a state file holds "
                        f"({MAX_BYTES:,} at most); restore it from version control "
                        "(git checkout -- FILE)")
                raw = handle.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return State(), None
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot be read: {exc.strerror}") from None
        state = decode(raw, str(self.path))
        self._remember(signature, state)
        return state, signature

    def _remember(self, signature: tuple, state: State) -> None:
        _known[self.path] = (signature, State(events=dict(state.events),
                                              resources=dict(state.resources)))

    def write_bytes(self, data: bytes) -> tuple:
        """Temporary sibling, fsync, ``os.replace``: readers see the old or the new file.
        Returns the new file's signature (inode, size, mtime)."""
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                signature = _signature(os.fstat(handle.fileno()))
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
            return signature
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


@dataclass
class Transaction:
    store: StateStore
    state: State
    signature: tuple | None  # of the file ``state`` was read from (None: no file yet)
    writable: bool

    def save(self, state: State) -> bool:
        """Write ``state`` if its bytes differ from the file's; True if it wrote."""
        data = encode(state)
        try:
            with open(self.store.path, "rb") as handle:
                if handle.read() == data:
                    # the same content, maybe in other (equal) records: remember these, so
                    # the next read hands them out (and their identities hold)
                    self.store._remember(_signature(os.fstat(handle.fileno())), state)
                    return False
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StateFileError(f"{self.store.path}: cannot be read: {exc.strerror}") from None
        if not self.writable:
            raise StateFileError(
                f"{self.store.path}: the events changed but the state file cannot be updated "
                f"(no write access to {self.store.path.parent}/); give the process write access, "
                "or run `icalpub build` where it can and deploy the updated state file")
        try:
            self.store._remember(self.store.write_bytes(data), state)
        except OSError as exc:
            raise StateFileError(f"{self.store.path}: cannot be written: {exc.strerror}; "
                                 "check permissions and free space") from None
        return True
