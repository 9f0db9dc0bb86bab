"""The console script, run as a user runs it: a real subprocess, exit codes, no tracebacks."""

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from icalpub.cli import main

ROOT = Path(__file__).parent.parent


def test_check_ok(fixture_path):
    result = CliRunner().invoke(main, ["check", str(fixture_path("minimal.yaml"))])
    assert result.exit_code == 0
    assert result.output.splitlines()[0].endswith("OK — 7 events, 2 topics, 3 organisers; "
                                                  "zones: America/New_York, Europe/Brussels, UTC")


def test_check_bundled_events_file():
    result = subprocess.run([sys.executable, "-m", "icalpub.cli", "check", "events.yaml"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "OK — 4 events" in result.stdout


def test_check_reports_every_problem_and_exits_1(fixture_path):
    path = fixture_path("bad/many_errors.yaml")
    result = subprocess.run([sys.executable, "-m", "icalpub.cli", "check", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 17 and lines[-1] == f"16 problems in {path}: nothing was published."
    assert "Traceback" not in result.stderr + result.stdout


def test_check_missing_file_is_a_message_not_a_traceback(tmp_path):
    result = CliRunner().invoke(main, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "file not found" in result.output and "Traceback" not in result.output


def test_serve_refuses_a_bad_file(fixture_path):
    result = CliRunner().invoke(main, ["serve", "--events", str(fixture_path("bad/syntax.yaml"))])
    assert result.exit_code == 1 and "YAML syntax" in result.output
