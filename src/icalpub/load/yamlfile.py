"""Read events.yaml into PyYAML *nodes*, which keep a line and column for every value.

Why nodes rather than ``yaml.safe_load``: a plain dict forgets where each value came from, so
errors could not name their line; it silently keeps the last of two duplicate keys; and it
would construct YAML timestamps and booleans we want to read as the user's own text. Composing
with the SafeLoader (libyaml's ``CSafeLoader`` when PyYAML was built with it) never constructs
Python objects, so ``!!python/...`` tags are inert nodes that ``Reader`` rejects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

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


class Invalid(Exception):
    """Raised by a value parser: ``message`` says what is wrong and how to fix it."""

    def __init__(self, message: str, node: yaml.Node | None = None):
        super().__init__(message)
        self.message = message
        self.node = node


def read_text(path: Path, display_name: str) -> str:
    """The file's text. Raises EventsFileError for a file that cannot be read, is too large,
    or is not UTF-8."""
    try:
        with open(path, "rb") as stream:  # read one byte past the limit, never the whole file
            raw = stream.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise _file_error(display_name, f"file not found (looked at {path.resolve()})") from None
    except IsADirectoryError:
        raise _file_error(display_name, "is a directory, not a YAML file") from None
    except OSError as exc:
        raise _file_error(display_name, f"cannot be read: {exc.strerror or exc}") from None
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


@dataclass
class Reader:
    """Walks nodes, collecting every problem instead of stopping at the first."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    _visited: int = 0

    def error(self, node: yaml.Node | None, where: str, message: str) -> None:
        mark = node.start_mark if node is not None else None
        self.problems.append(Problem(
            self.file, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0, where, message,
        ))

    def visit(self, node: yaml.Node, where: str) -> bool:
        """Count a node; False (and one error) once the walk is suspiciously large."""
        self._visited += 1
        if self._visited == MAX_NODES:
            self.error(node, where, f"the document expands to more than {MAX_NODES:,} values "
                       "(are YAML aliases repeating a large block?); remove the aliases")
        if node.tag not in SAFE_TAGS:
            self.error(node, where, f"the tag {node.tag!r} is not allowed; remove it "
                       "(events.yaml is read with YAML safe-load rules)")
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
            self.error(exc.node or node, where, exc.message)
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
    return f"{node.value!r}"
