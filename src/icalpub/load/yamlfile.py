"""Read events.yaml into PyYAML *nodes*, which keep a line and column for every value.

Why nodes rather than ``yaml.safe_load``: a plain dict forgets where each value came from, so
errors could not name their line; it silently keeps the last of two duplicate keys; and it
would construct YAML timestamps and booleans we want to read as the user's own text. Composing
with the SafeLoader (libyaml's ``CSafeLoader`` when PyYAML was built with it) never constructs
Python objects, so ``!!python/...`` tags are inert nodes that ``Reader`` rejects.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar, Union

import yaml

from ..core.errors import EventsFileError, Problem

T = TypeVar("T")

#: The composer libyaml provides, else PyYAML's pure-Python one (same nodes, same marks).
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Tags a safe_load would accept; anything else (``!!python/object``, ``!custom``) is refused.
SAFE_TAGS = frozenset(
    "tag:yaml.org,2002:" + name
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq", "binary", "merge")
)
NULL_TAG = "tag:yaml.org,2002:null"

#: Bounds the work of walking the tree, so that an alias "billion laughs" file is an error
#: instead of an exponential walk.
MAX_NODES = 20_000_000

#: Largest events file read. A hand-edited calendar of a few hundred events is well under
#: 1 MB; refusing larger files keeps a mistaken (or hostile) 50 MB file from holding a server
#: worker for minutes and hundreds of MB while it is parsed and rendered.
MAX_FILE_BYTES = 40 * 1024 * 1024

#: Text that YAML aliases repeat, in characters, counted at each use (``description: *d`` in
#: 1,000 events repeats ``d`` 1,000 times). Without a bound of its own a 100 kB file could
#: stand for 20 MB of descriptions — and every later stage (pages, feeds, invites) works per
#: character used, not per byte read. With it, the work of a file stays proportional to its
#: size, which the 40 MB limit bounds.
MAX_ALIAS_TEXT = 1 << 20

#: Problems of one kind listed per file; the rest are counted in one line ("… and 1,980 more
#: unknown organiser references"): 2,000 copies of a mistake help nobody, and building them
#: (a close-match search each) cost seconds and megabytes.
MAX_SHOWN = 20

#: What a problem's message or key path may hold before it is cut (a 1 MB key or value is
#: not echoed back whole).
MAX_MESSAGE = 2_000
MAX_WHERE = 200

Message = Union[str, Callable[[], str]]


class Invalid(Exception):
    """Raised by a value parser: ``message`` says what is wrong and how to fix it.

    ``message`` may be a function returning the text, for messages that cost something to
    build (a close-match search): it is only called if the problem is listed (see
    ``MAX_SHOWN``); such a problem names its ``kind`` (a plural noun phrase, "unknown time
    zones"), which the count of unlisted ones uses."""

    def __init__(self, message: Message, node: yaml.Node | None = None, *,
                 kind: str | None = None):
        super().__init__(message)
        self._message = message
        self.node = node
        self.kind = kind

    @property
    def message(self) -> str:
        if callable(self._message):
            self._message = self._message()
        return self._message

    @property
    def lazy_message(self) -> Message:
        return self._message


def read_text(path: Path, display_name: str) -> str:
    """The file's text. Raises EventsFileError for a file that cannot be read, is not a
    regular file, is too large, or is not UTF-8.

    The file is opened without blocking and checked with ``fstat`` before anything is read:
    opening a named pipe (FIFO) for reading waits for a writer, and reading a device such
    as ``/dev/zero`` never ends, which would hang ``check``, ``build`` and a server's watcher
    forever."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _file_error(display_name, f"file not found (looked at {path.resolve()})") from None
    except IsADirectoryError:
        raise _file_error(display_name, "is a directory, not a YAML file") from None
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a socket (or a FIFO on some systems)
            try:
                raise _not_regular(display_name, os.stat(path).st_mode) from None
            except OSError:
                pass
        raise _file_error(display_name, f"cannot be read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise _not_regular(display_name, info.st_mode)
        with os.fdopen(fd, "rb") as stream:
            fd = -1
            raw = _read_at_most(stream, info.st_size)
    except OSError as exc:
        raise _file_error(display_name, f"cannot be read: {exc.strerror or exc}") from None
    finally:
        if fd != -1:
            os.close(fd)
    if len(raw) > MAX_FILE_BYTES:
        size = _size(path, len(raw))
        raise _file_error(display_name, f"is {size / 2**20:.1f} MB; events files are limited to "
                          f"{MAX_FILE_BYTES / 2**20:g} MB (split old events out, or check that "
                          "this is the right file)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise EventsFileError([Problem(display_name, 1, 1, "file", "is UTF-16 (it starts with a "
                                       "UTF-16 byte order mark); save the file as UTF-8")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise EventsFileError([Problem(
            display_name, line, column, "file",
            f"byte 0x{raw[exc.start]:02x} is not UTF-8; save the file as UTF-8",
        )]) from None
    return text


def _read_at_most(stream, size: int) -> bytes:
    """The file's bytes, at most one past ``MAX_FILE_BYTES`` (never the whole of a larger
    file). Sized from ``fstat`` (``read(n)`` allocates n bytes at once: 40 MB for every file),
    then in 1 MB steps if the file grew meanwhile or tells no size (``/proc``)."""
    want = min(size, MAX_FILE_BYTES) + 1
    raw = stream.read(want)
    if len(raw) < want or want > MAX_FILE_BYTES:
        return raw
    chunks, total = [raw], len(raw)
    while total <= MAX_FILE_BYTES:
        chunk = stream.read(min(1 << 20, MAX_FILE_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _not_regular(name: str, mode: int) -> EventsFileError:
    if stat.S_ISDIR(mode):
        return _file_error(name, "is a directory, not a YAML file")
    what = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
            "a character device" if stat.S_ISCHR(mode) else
            "a block device" if stat.S_ISBLK(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "not a file")
    return _file_error(name, f"is {what}, not a regular file; give the path of the events "
                       "file itself (it is read only when it is a regular file)")


def compose(text: str, display_name: str) -> yaml.Node | None:
    """The root node of ``text`` (None for an empty document); EventsFileError if it is not
    YAML, with the line and column of the problem."""
    try:
        return yaml.compose(text, Loader=Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(filter(None, [exc.context, exc.problem]))
        if mark and "\t" in _line(text, mark.line)[: mark.column + 1]:
            what += " (YAML does not allow tabs for indentation; use spaces)"
        raise EventsFileError([Problem(
            display_name, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0,
            "YAML syntax", f"{what}; fix the YAML syntax here",
        )]) from None
    except yaml.reader.ReaderError as exc:  # a raw control character in the stream
        # libyaml counts UTF-8 bytes, PyYAML's own reader characters
        before = (text.encode()[: exc.position].decode("utf-8", "ignore")
                  if Loader is not yaml.SafeLoader else text[: exc.position])
        line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        raise EventsFileError([Problem(
            display_name, line, column, "file",
            f"contains the control character U+{exc.character:04X}, which YAML does not allow; "
            "remove it",
        )]) from None
    except yaml.YAMLError as exc:
        raise _file_error(display_name, f"is not valid YAML: {exc}") from None


def _size(path: Path, read: int) -> int:
    try:
        return max(path.stat().st_size, read)
    except OSError:
        return read


def _line(text: str, index: int) -> str:
    lines = text.splitlines()
    return lines[index] if 0 <= index < len(lines) else ""


def _file_error(name: str, message: str) -> EventsFileError:
    return EventsFileError([Problem(name, 0, 0, "file", message)])


#: For telling problems of one kind apart from others: quoted values and numbers blanked.
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_NUMBER = re.compile(r"[0-9][0-9,.:]*")


def _kind_of(where: str, message: str) -> str:
    """Problems of one kind: the same last key (``e1.organisers`` and ``e2.organisers[3]``
    both ``organisers``) and the same message but for the values it quotes."""
    leaf = where[where.rfind(".") + 1:]
    leaf = leaf[:leaf.find("[")] if "[" in leaf else leaf
    return leaf + "\0" + _NUMBER.sub("#", _QUOTED.sub("'…'", message[:300]))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


@dataclass
class Reader:
    """Walks nodes, collecting every problem instead of stopping at the first.

    It also bounds the walk: at most ``MAX_NODES`` values, at most ``MAX_ALIAS_TEXT``
    characters repeated by YAML aliases (``aliases=False`` when the text has no anchor, so
    none can occur), and at most ``MAX_SHOWN`` problems of one kind (see ``error``)."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    aliases: bool = True
    _visited: int = 0
    #: Every problem reported, listed or not: a caller compares it before and after a step.
    reported: int = 0
    _seen: set[int] = field(default_factory=set)
    _repeated: int = 0
    _stopped: bool = False
    _kinds: dict[str, list] = field(default_factory=dict)

    def error(self, node: yaml.Node | None, where: str, message: Message, *,
              kind: str | None = None) -> None:
        """Record a problem at ``node``. The first ``MAX_SHOWN`` problems of a kind are
        listed; after that one line counts the others. The kind is ``kind`` (a plural noun
        phrase such as "unknown organiser references") or, by default, the key and the
        message with its quoted values blanked. A message that is a function is called only
        when the problem is listed (it must then come with a ``kind``)."""
        self.reported += 1
        mark = node.start_mark if node is not None else None
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        where = _cut(where, MAX_WHERE)
        if kind is None:
            message = message() if callable(message) else message
            key = _kind_of(where, message)
        else:
            key = kind
        entry = self._kinds.setdefault(key, [0, None])
        entry[0] += 1
        if entry[0] <= MAX_SHOWN:
            text = message() if callable(message) else message
            self.problems.append(Problem(self.file, line, column, where, _cut(text, MAX_MESSAGE)))
            return
        if entry[1] is None:  # the first one not listed: the count goes there
            if kind is not None:
                what = kind
            else:
                head = _QUOTED.sub("'…'", message[:300]).partition(";")[0]
                what = f"problems of this kind ({_cut(head, 120)})"
            entry[1] = (len(self.problems), line, column, where, what)
            self.problems.append(None)  # type: ignore[arg-type]  # set just below
        index, line, column, where, what = entry[1]
        self.problems[index] = Problem(
            self.file, line, column, where,
            f"… and {entry[0] - MAX_SHOWN:,} more {what}; only the first {MAX_SHOWN} of a "
            "kind are listed: fix them and check again")

    def visit(self, node: yaml.Node, where: str) -> bool:
        """Count a node; False (and one error) once the walk is suspiciously large."""
        if self._stopped:
            return False
        self._visited += 1
        if self._visited == MAX_NODES:
            self.error(node, where, f"the document expands to more than {MAX_NODES:,} values "
                       "(are YAML aliases repeating a large block?); remove the aliases")
        if self.aliases:  # a node met again is a use of an alias
            key = id(node)
            if key in self._seen:
                self._repeated += len(node.value) + 1 if isinstance(node, yaml.ScalarNode) else 1
                if self._repeated > MAX_ALIAS_TEXT:
                    self._stopped = True
                    self.error(node, where, f"YAML aliases (`*name`) repeat more than "
                               f"{MAX_ALIAS_TEXT:,} characters of text in this file (each use "
                               "counts, and this value is one); write the shared text in fewer "
                               "places, or shorten it")
                    return False
            else:
                self._seen.add(key)
        if node.tag not in SAFE_TAGS:
            self.error(node, where, f"the tag {shown(node.tag, 100)} is not allowed; "
                       "remove it (events.yaml is read with YAML safe-load rules)")
            return False
        return self._visited < MAX_NODES

    def mapping(self, node: yaml.Node, where: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """The items of a mapping node by key, reporting duplicate and non-text keys."""
        if not self.visit(node, where):
            return None
        if not isinstance(node, yaml.MappingNode):
            self.error(node, where, f"expected a mapping of `key: value` lines, got {describe(node)}")
            return None
        items: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.error(key_node, where, "YAML merge keys (`<<`) are not supported; write the keys out")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.error(key_node, where, "a key must be plain text")
                continue
            key = key_node.value
            if key in items:
                first = items[key][0].start_mark.line + 1
                self.error(key_node, f"{where}.{key}" if where else key,
                           f"duplicate key (already given on line {first}); keep only one")
                continue
            items[key] = (key_node, value_node)
        return items

    def sequence(self, node: yaml.Node, where: str) -> list[yaml.Node] | None:
        if not self.visit(node, where):
            return None
        if not isinstance(node, yaml.SequenceNode):
            self.error(node, where, f"expected a list (lines starting with `- `), got {describe(node)}")
            return None
        return list(node.value)

    def parse(self, node: yaml.Node, where: str, parser: Callable[[yaml.Node], T]) -> T | None:
        """Run a value parser; record its complaint at the offending node."""
        if not self.visit(node, where):
            return None
        try:
            return parser(node)
        except Invalid as exc:
            self.error(exc.node or node, where, exc.lazy_message, kind=exc.kind)
            return None


def is_null(node: yaml.Node) -> bool:
    """`key:` with no value, `~` or `null`."""
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if is_null(node):
        return "nothing"
    return shown(node.value)


def shown(value: str, limit: int = 120) -> str:
    """``repr`` of a value the user wrote, cut after ``limit`` characters: a message echoes
    what was received, not a pasted megabyte."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value):,} characters)"
