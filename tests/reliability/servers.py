"""Start and stop real servers (gunicorn, ``icalpub serve``) on 127.0.0.1 for tests.

Each server is a subprocess in its own session, started on a free port and stopped by its
own process id when the test ends, whatever happens in between.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import gunicorn

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_command(app: str, port: int, workers: int = 2, preload: bool = False,
                     config: str | None = None) -> list[str]:
    command = [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--graceful-timeout", "2", *(["--preload"] if preload else []),
               *(["-c", config] if config else []), app]
    if int(gunicorn.__version__.split(".")[0]) >= 27:  # its control socket is shared per user
        command.insert(1, "--no-control-socket")
    return command


def answers(port: int) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        connection.request("GET", "/feeds.json")
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


@contextmanager
def running(command: list[str], port: int, env: dict[str, str], log: Path,
            ready_within: float = 20) -> Iterator[subprocess.Popen]:
    """Run ``command`` until the block ends; its output goes to ``log``."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + ready_within
            while not answers(port):
                if process.poll() is not None:
                    raise AssertionError(f"server exited with {process.returncode}:\n"
                                         + log.read_text(errors="replace"))
                if time.monotonic() > deadline:
                    raise AssertionError("server did not answer:\n" + log.read_text(errors="replace"))
                time.sleep(0.1)
            yield process
        finally:
            stop(process)


def children(pid: int) -> set[int]:
    """The live process ids whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's own process group (its workers), then SIGKILL if need be."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
