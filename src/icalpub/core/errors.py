"""Domain errors: what a user's mistake in events.yaml looks like.

Every problem carries the file, line, column and the key it concerns, so the editor of
events.yaml can jump straight to it; a file's problems travel together in one
:class:`EventsFileError` so the user fixes them all in one round (MkDocs' config validation
does the same). Only ``cli`` turns these into exit codes; ``web`` logs them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a file, e.g. ``events.yaml:14:12: webinar.start: ...``."""

    file: str
    line: int  # 1-based; 0 when the problem concerns the whole file
    column: int  # 1-based
    where: str  # the key path, e.g. ``calendar.timezone`` or ``circular-labour.start``
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return printable(f"{place}: {self.where}: {self.message}")


def printable(text: str) -> str:
    """Escape what a terminal or a log would interpret: a key written ``"\\e[2J"`` or
    ``"a\\nERROR forged"`` in events.yaml must not clear the screen of whoever runs
    ``icalpub check`` or add a line to the server's log."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


class EventsFileError(Exception):
    """events.yaml (or a setting that overrides it) is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def summary(self) -> str:
        n = len(self.problems)
        return f"{n} problem{'s' if n != 1 else ''} in {self.problems[0].file}" if n else "no problems"


class StateFileError(Exception):
    """The state file (``events.state.json``) cannot be read, parsed or written.

    Never answered by silently starting afresh: resetting the file would send every event
    with SEQUENCE 0 again, which calendars that already hold a higher one ignore. The message
    names the file and what to do.
    """


class ExportError(Exception):
    """``icalpub build`` cannot write its output folder; the message names it and the fix."""
