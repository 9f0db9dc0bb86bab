"""Helpers shared by the benchmarks: fresh-process measurement, ports, servers, HTTP probes.

Why a module: every benchmark starts processes it must measure or stop, and all of them must
do it the same way (``os.wait4`` for the child's own peak RSS, one free port per server, every
server stopped by its own process id even when a benchmark fails).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent


@dataclass(frozen=True)
class Measured:
    seconds: float  # wall
    cpu_seconds: float  # user + system of the process: less sensitive to a busy machine
    max_rss_bytes: int
    returncode: int


def measure(cmd: list[str], env: dict[str, str] | None = None, log: Path | None = None) -> Measured:
    """Run ``cmd`` as a fresh process; wall time and *its own* peak RSS (``wait4``'s rusage,
    not RUSAGE_CHILDREN, which is the maximum over every child so far)."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    return Measured(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024,
                    proc.returncode)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def icalpub_build_cmd(events: Path, out: Path, state: Path | None = None) -> tuple[list[str], str]:
    """The real ``icalpub build`` once it exists, else the ``build_site.py`` stand-in.
    ``state``: the state file (``--state``; default: next to the events file)."""
    icalpub = str(BIN / "icalpub")
    probe = subprocess.run([icalpub, "build", "--help"], capture_output=True)
    if probe.returncode == 0:
        return [icalpub, "build", "--events", str(events), "--out", str(out),
                *(["--state", str(state)] if state else [])], "icalpub build"
    return [PYTHON, str(HERE / "build_site.py"), str(events), str(out)], "build_site.py (stand-in)"


def build_export(events: Path, out: Path) -> Path:
    """The exported site for ``events`` (built once, reused by the serve benchmark)."""
    if not (out / "feeds" / "all.ics").exists():
        if out.exists():
            shutil.rmtree(out)
        cmd, _ = icalpub_build_cmd(events, out)
        subprocess.run(cmd, check=True)
    return out


def generated(n: int, work: Path) -> Path:
    """``work/events-N.yaml``, generated once per work directory."""
    path = work / f"events-{n}.yaml"
    if not path.exists():
        subprocess.run([PYTHON, str(HERE / "generate.py"), str(n), str(path)], check=True)
    return path


class Server:
    """A server process in its own process group, stopped by its id (never by name)."""

    def __init__(self, name: str, cmd: list[str], port: int, env: dict[str, str] | None = None,
                 log: Path | None = None, cwd: Path | None = None):
        self.name, self.port = name, port
        self.log = open(log, "wb") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self.log, stderr=self.log,
                                     start_new_session=True)

    def wait_ready(self, path: str, timeout: float) -> float:
        """Seconds until ``path`` answers (anything but a connection error)."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                get(self.port, path, timeout=timeout)
                return time.monotonic() - start
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()  # type: ignore[union-attr]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


def get(port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 60) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        start = time.perf_counter()
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body,
                     time.perf_counter() - start)
    finally:
        conn.close()


def gunicorn_cmd(app: str, port: int, workers: int = 2, extra: list[str] | None = None,
                 preload: bool = True, worker_class: str | None = "sync") -> list[str]:
    """Sync workers (gunicorn's default, and the issue's minimal app) unless ``worker_class``
    is None: then the config given in ``extra`` chooses (``icalpub.serve.gunicorn_config``: gthread),
    as the README's command does. ``preload``: the app is built once in the master and
    forked, which halves the start-up CPU of a large file."""
    kind = ["-k", worker_class] if worker_class else []
    return [str(BIN / "gunicorn"), "-w", str(workers), *kind, "-b", f"127.0.0.1:{port}",
            *(["--preload"] if preload else []), "--log-level", "warning", *(extra or []), app]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def emit(lines: list[str], out: Path | None) -> None:
    """Print a report and, when asked, save it (``--out``)."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        out.write_text(text, encoding="utf-8")
