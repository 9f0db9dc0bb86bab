"""Slow clients cannot starve the production setup: deploy/nginx-proxy.conf in front of the
README's gunicorn command.

200 connections (bounded, loopback only) that send half a request and wait, trickle a request
a byte at a time, or say nothing, stay open while a normal client fetches the full feed: every
answer is whole and arrives within a second. The same slow connections sent straight to
gunicorn hold every worker thread, and the normal client gets nothing: that is why the proxy
is part of the production setup (and shows this test can fail).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from reliability.servers import free_port, gunicorn_command, running

ROOT = Path(__file__).parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SLOW = 200
#: gthread workers × threads in icalpub.serve.gunicorn_config (2 workers on the command line)
THREADS = 2 * 4

pytestmark = pytest.mark.nginx


def nginx_binary() -> str:
    for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if os.access(path, os.X_OK):
            return path
    message = "nginx is not installed (Debian: apt-get install -y nginx; .ci/run does it)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def proxy_config(prefix: Path, port: int, upstream: int) -> str:
    """deploy/nginx-proxy.conf with its `listen` and upstream port rewritten, inside a minimal
    nginx.conf whose files all live under ``prefix``."""
    server = (ROOT / "deploy" / "nginx-proxy.conf").read_text()
    server, listens = re.subn(r"(?m)^(\s*)listen\s+80;", rf"\1listen 127.0.0.1:{port};", server)
    server, upstreams = re.subn(r"server 127\.0\.0\.1:8001;", f"server 127.0.0.1:{upstream};",
                                server)
    assert (listens, upstreams) == (1, 1), "nginx-proxy.conf keeps `listen 80;` and one upstream"
    temps = "\n".join(f"    {kind}_temp_path {prefix}/{kind};"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    user = "user root;\n" if os.geteuid() == 0 else ""
    return (f"daemon off;\n{user}worker_processes 1;\nworker_rlimit_nofile 4096;\n"
            f"pid {prefix}/nginx.pid;\nerror_log {prefix}/error.log;\n"
            f"events {{ worker_connections 2048; }}\n"
            f"http {{\n    access_log off;\n{temps}\n{server}\n}}\n")


@contextmanager
def nginx(prefix: Path, port: int, upstream: int):
    prefix.mkdir()
    (prefix / "nginx.conf").write_text(proxy_config(prefix, port, upstream))
    process = subprocess.Popen([nginx_binary(), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                "-e", str(prefix / "error.log")], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, \
                    (prefix / "error.log").read_text()
                time.sleep(0.05)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def slow_clients(port: int, count: int = SLOW, seconds: float = 30, mixed: bool = True):
    """``count`` connections: a third send half a request and wait, a third trickle one byte
    of a request every 0.2 s, a third send nothing (``mixed``; else all send half a request).
    Closed when the block ends (or after ``seconds``)."""
    sockets: list[socket.socket] = []
    stop = threading.Event()
    for number in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if number % 3 == 0 or not mixed:
            sock.sendall(b"GET /feeds/al")
        sockets.append(sock)
    tricklers = [s for n, s in enumerate(sockets) if n % 3 == 1]
    request = b"GET /feeds/all.ics HTTP/1.1\r\nHost: x\r\n\r\n"

    def trickle() -> None:
        deadline = time.monotonic() + seconds
        for index in range(len(request) - 2):  # never the final line end
            if stop.wait(0.2) or time.monotonic() > deadline:
                return
            for sock in tricklers:
                try:
                    sock.send(request[index:index + 1])
                except OSError:
                    pass

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)  # let them all reach the server
        yield sockets
    finally:
        stop.set()
        thread.join(5)
        for sock in sockets:
            sock.close()


def fetch_times(port: int, count: int = 20, timeout: float = 3) -> list[float]:
    """``count`` full GETs of the feed of everything, each checked whole; their durations."""
    times = []
    for _ in range(count):
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        connection.request("GET", "/feeds/all.ics")
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 200
        assert int(response.headers["Content-Length"]) == len(body)
        assert body.startswith(b"BEGIN:VCALENDAR") and body.endswith(b"END:VCALENDAR\r\n")
        assert response.headers.get_all("X-Content-Type-Options") == ["nosniff"]
        times.append(time.monotonic() - started)
    return times


@pytest.fixture
def gunicorn_app(tmp_path):
    events = tmp_path / "events.yaml"
    events.write_bytes((FIXTURES / "rich.yaml").read_bytes())
    port = free_port()
    command = gunicorn_command("icalpub.serve.wsgi:app()", port, workers=2,
                               config="python:icalpub.serve.gunicorn_config")
    with running(command, port, {"ICALPUB_EVENTS": str(events)}, tmp_path / "gunicorn.log"):
        yield port


def test_slow_clients_do_not_starve_the_proxied_server(gunicorn_app, tmp_path):
    port = free_port()
    with nginx(tmp_path / "nginx", port, gunicorn_app), slow_clients(port):
        times = fetch_times(port)
    assert max(times) < 1.0, times


def test_nginx_answers_malformed_requests_with_nosniff(gunicorn_app, tmp_path):
    port = free_port()
    with nginx(tmp_path / "nginx", port, gunicorn_app):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = sock.recv(65536).decode("latin-1")
        sock.close()
    assert answer.split()[1] in ("400", "414")
    assert "X-Content-Type-Options: nosniff" in answer


def test_without_the_proxy_a_few_slow_clients_hold_every_thread(gunicorn_app):
    """The control: straight at gunicorn, half-sent requests (enough that each worker gets
    more than its threads whichever accepts them) leave a normal client without an answer.
    Which worker accepts which connection is a race, so up to three rounds are tried: one
    starved client is the point, and a server that never starves fails all three."""
    starved = 0
    for _round in range(3):
        with slow_clients(gunicorn_app, count=8 * THREADS, mixed=False):
            try:
                fetch_times(gunicorn_app, count=1, timeout=2)
            except (TimeoutError, socket.timeout, ConnectionError):
                starved += 1
                break
    assert starved == 1
