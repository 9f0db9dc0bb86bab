"""The bad-input catalogue: every file in ``tests/bad_inputs/`` is a mistake an editor of
events.yaml can make (or an attack on whoever loads it), and ends with the exact problems
``icalpub check`` must report for it, one ``# expect:`` comment per problem:

    # expect: 15:12 x.start: '2021-02-30 10:00' is not a date (February has 28 days in 2021)
    # expect: file: is empty; ...                      (no position: the whole file)

The expectations sit at the end so that they do not move the line numbers they name. A few
inputs cannot be files in the repository (a 0-byte file, UTF-16, 50 MB): they are made here.
"""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

from icalpub.cli import main
from icalpub.core.errors import EventsFileError
from icalpub.load import load_events
from icalpub.load import MAX_EVENTS
from icalpub.load.yamlfile import MAX_FILE_BYTES

CATALOGUE = Path(__file__).parent.parent / "bad_inputs"
FILES = sorted(CATALOGUE.glob("*.yaml"))
EXPECT = b"# expect: "


def expected(path: Path) -> list[str]:
    """The problems a catalogue file must produce, as ``icalpub check`` prints them."""
    lines = [line[len(EXPECT):].decode("utf-8") for line in path.read_bytes().splitlines()
             if line.startswith(EXPECT)]
    result = []
    for line in lines:
        position, _, rest = line.partition(" ")
        if position[:1].isdigit():
            result.append(f"{path}:{position}: {rest}")
        else:
            result.append(f"{path}: {line}")
    return result


def test_catalogue_is_large_and_every_file_has_expectations():
    assert len(FILES) >= 110
    for path in FILES:
        assert expected(path), f"{path.name} has no # expect: lines"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_loader_reports_exactly_the_expected_problems(path):
    started = time.perf_counter()
    with pytest.raises(EventsFileError) as info:
        load_events(path)
    assert [str(p) for p in info.value.problems] == expected(path)
    assert time.perf_counter() - started < 2, "a bad input must be rejected quickly"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_check_command_prints_them_all_and_exits_1(path):
    result = CliRunner().invoke(main, ["check", str(path)])
    want = expected(path)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        *want, f"{len(want)} problem{'s' if len(want) != 1 else ''} in {path}: nothing was published."]
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


REAL_PROCESS = ["python_tag", "alias_bomb", "not_utf8", "raw_control_character",
                "rrule_never_occurs", "syntax_deep_nesting", "control_characters",
                "alias_description_repeated", "markdown_unclosed_brackets",
                "duration_spaces_backtracking", "rrule_count_superscript", "url_unclosed_ipv6"]


@pytest.mark.parametrize("name", REAL_PROCESS)
def test_check_as_a_real_process(name):
    path = CATALOGUE / f"{name}.yaml"
    result = subprocess.run([sys.executable, "-m", "icalpub.cli", "check", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines()[:-1] == expected(path)
    assert "Traceback" not in result.stderr + result.stdout and result.stdout == ""


def problems_of(path: Path) -> list[str]:
    with pytest.raises(EventsFileError) as info:
        load_events(path)
    return [str(p) for p in info.value.problems]


def test_zero_byte_file(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes(b"")
    assert problems_of(path) == [f"{path}: file: is empty; start from the example in the README "
                                 "(it needs `calendar:` and `events:`)"]


def test_utf16_file(tmp_path):
    path = tmp_path / "events.yaml"
    path.write_bytes((CATALOGUE / "date_february_30.yaml").read_text().encode("utf-16"))
    assert problems_of(path) == [f"{path}:1:1: file: is UTF-16 (it starts with a UTF-16 byte "
                                 "order mark); save the file as UTF-8"]


def test_50_mb_file_is_refused_in_bounded_time_and_memory(tmp_path):
    """A 50 MB file (a log pasted by mistake, or an attack) is refused after reading 40 MB."""
    path = tmp_path / "events.yaml"
    block = (CATALOGUE / "date_february_30.yaml").read_bytes()
    with path.open("wb") as out:
        out.write(b"calendar:\n  name: Big\n  base_url: https://e.org\nevents:\n")
        while out.tell() < 50 * 2**20:
            out.write(block)
        out.truncate(50 * 2**20)
    assert path.stat().st_size == 50 * 2**20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        found = problems_of(path)
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 2 * MAX_FILE_BYTES, f"peak {peak / 2**20:.1f} MB"
    assert found == [f"{path}: file: is 50.0 MB; events files are limited to 40 MB (split old "
                     "events out, or check that this is the right file)"]


def test_too_many_events(tmp_path):
    path = tmp_path / "events.yaml"
    event = "  - id: e{i}\n    title: E\n    start: 2021-01-19 14:00\n    duration: PT1H\n"
    path.write_text("calendar:\n  name: T\n  base_url: https://e.org\n  timezone: UTC\nevents:\n"
                    + "".join(event.format(i=i) for i in range(MAX_EVENTS + 1)))
    assert problems_of(path) == [f"{path}:6:3: events: 100,001 events; a file holds at most 100,000 "
                                 "(move past events to an archive file)"]


def test_endless_weekly_rule_is_allowed(tmp_path):
    """Feeds publish the RRULE and never expand it, so a series without COUNT or UNTIL is fine
    at daily or coarser frequency (``rrule_endless_minutely`` shows the finer ones refused)."""
    path = tmp_path / "events.yaml"
    path.write_text("calendar:\n  name: T\n  base_url: https://e.org\n  timezone: Europe/Brussels\n"
                    "events:\n  - id: weekly\n    title: Weekly call\n    start: 2021-01-19 14:00\n"
                    "    duration: PT1H\n    recurrence: FREQ=WEEKLY;BYDAY=TU\n")
    (event,) = load_events(path).events
    assert event.recurrence == "FREQ=WEEKLY;BYDAY=TU" and event.span_end is None


def test_escaped_terminal_sequences_in_keys_do_not_reach_the_terminal(tmp_path):
    """A key is echoed in its message: control characters in it are shown escaped, so a file
    cannot clear the terminal of whoever runs ``check`` or forge lines in the server log."""
    path = tmp_path / "events.yaml"
    path.write_text('calendar:\n  name: T\n  base_url: https://e.org\n  "\\e[2J\\nERROR": x\n'
                    "events: []\n")
    (message,) = problems_of(path)
    assert message.startswith(f"{path}:4:3: calendar.\\x1b[2J\\nERROR: unknown key")
    assert message.isprintable()
