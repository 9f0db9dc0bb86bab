"""``gunicorn -c python:icalpub.serve.gunicorn_config``: the master rebuilds once per edit and
replaces the workers, which never read the file; clients never see an error or a partial feed.

Real gunicorn, 2 workers, clients fetching the full feed throughout, three saves: valid,
invalid, valid.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from pathlib import Path

from parsers import parse_all
from reliability.servers import children, free_port, gunicorn_command, running

FIXTURES = Path(__file__).parent.parent / "fixtures"
SETTINGS = "{'RELOAD_INTERVAL': 0.1, 'RELOAD_SETTLE': 0.2}"
FIRST_TITLE = b"SUMMARY:Winter webinar"


class Client(threading.Thread):
    """Full GETs of the feed; every answer checked whole, its first SUMMARY kept in order.

    ``keep_alive``: one connection for as long as the server keeps it, as calendar apps and
    CDNs poll. A kept connection the server closed while idle (a worker being replaced) is
    opened again and the GET resent, as RFC 9112 §9.3.1 lets a client do for an idempotent
    request that got no answer; an answer cut short is still a failure."""

    def __init__(self, port: int, stop: threading.Event, keep_alive: bool = False):
        super().__init__(daemon=True)
        self.port, self.stop, self.keep_alive = port, stop, keep_alive
        self.failures: list[str] = []
        self.titles: list[bytes] = []
        self.connections = 0

    def _connect(self) -> http.client.HTTPConnection:
        self.connections += 1
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)

    @staticmethod
    def _get(connection: http.client.HTTPConnection) -> http.client.HTTPResponse:
        connection.request("GET", "/feeds/all.ics")
        return connection.getresponse()  # the status line and headers: the body is read after

    def run(self) -> None:
        connection, reused = self._connect(), False
        while not self.stop.is_set():
            try:
                try:
                    response = self._get(connection)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    if not reused:
                        raise  # a new connection refused or cut: a real failure
                    connection.close()  # a kept one closed before answering: resend once
                    connection = self._connect()
                    response = self._get(connection)
                body = response.read()  # cut short: an exception or a short body, a failure
                reused = self.keep_alive and not response.will_close
                if not reused:
                    connection.close()
                    connection = self._connect()
            except Exception as exc:  # noqa: BLE001 — every failure is counted and shown
                self.failures.append(f"{type(exc).__name__}: {exc}")
                connection.close()
                connection, reused = self._connect(), False
                continue
            if response.status != 200 or int(response.getheader("Content-Length", -1)) != len(body) \
                    or not body.endswith(b"END:VCALENDAR\r\n"):
                self.failures.append(f"status {response.status}, {len(body)} bytes")
                continue
            self.titles.append(next(line for line in body.split(b"\r\n")
                                    if line.startswith(b"SUMMARY:")))


def save(path: Path, text: str) -> None:
    temporary = path.with_name(".events.yaml.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def wait_for(clients: list[Client], title: bytes, deadline_s: float = 15) -> None:
    """Until every client's last 5 answers show ``title`` (so both workers serve it)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if all(len(c.titles) >= 5 and set(c.titles[-5:]) == {title} for c in clients):
            return
        time.sleep(0.05)
    raise AssertionError(f"{title!r} not served by every worker within {deadline_s} s")


def replaced(master: int, old: set[int], count: int = 2, deadline_s: float = 10) -> set[int]:
    """The ``count`` workers once none of ``old`` is left (they stop gracefully, after their
    last request, and gunicorn boots new ones a moment apart)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        now = children(master)
        if len(now) == count and not now & old:
            return now
        time.sleep(0.05)
    raise AssertionError(f"workers {old} not replaced: {children(master)}")


def test_the_master_rebuilds_once_and_new_workers_serve_each_new_site(tmp_path):
    path = tmp_path / "events.yaml"
    text = (FIXTURES / "minimal.yaml").read_text()
    assert text.count("title: Winter webinar") == 1
    path.write_text(text)
    port = free_port()
    command = gunicorn_command(f"icalpub.serve.app:create_app({SETTINGS})", port,
                               config="python:icalpub.serve.gunicorn_config")
    log = tmp_path / "gunicorn.log"
    with running(command, port, {"ICALPUB_EVENTS": str(path)}, log) as server:
        stop = threading.Event()
        clients = [Client(port, stop, keep_alive=k % 2 == 1) for k in range(4)]
        for client in clients:
            client.start()
        wait_for(clients, FIRST_TITLE)
        workers_before = replaced(server.pid, set(), count=2)  # both booted

        save(path, text.replace("title: Winter webinar", "title: Winter talk"))
        wait_for(clients, b"SUMMARY:Winter talk")
        workers_after = replaced(server.pid, workers_before)

        save(path, text.replace("timezone: Europe/Brussels", "timezone: Europe/Brusels"))
        time.sleep(1.5)  # several checks of the master's; the workers never look
        assert all(set(c.titles[-5:]) == {b"SUMMARY:Winter talk"} for c in clients)
        assert children(server.pid) == workers_after  # a bad file replaces no worker

        save(path, text.replace("title: Winter webinar", "title: Winter talk again"))
        wait_for(clients, b"SUMMARY:Winter talk again")
        stop.set()
        for client in clients:
            client.join(timeout=20)
    output = log.read_text(errors="replace")
    assert [f for c in clients for f in c.failures] == []
    served = [t for c in clients for t in c.titles]
    assert len(served) > 40
    # the config's gthread workers keep connections open (sync workers close each one)
    for client in clients:
        assert (client.connections < len(client.titles) / 2) == client.keep_alive, \
            (client.keep_alive, client.connections, len(client.titles))
    # the master read each bad version once and said why; no worker read it (they follow)
    assert output.count("was not loaded; still serving the last good version") == 1, output
    assert output.count("Handling signal: hup") == 2, output
    assert "Traceback" not in output, output


def test_the_config_serves_a_parseable_feed_with_wsgi_app(tmp_path):
    """With no app on the command line the config's ``wsgi_app`` (``icalpub.serve.wsgi:app()``)
    serves ``ICALPUB_EVENTS``."""
    path = tmp_path / "events.yaml"
    path.write_text((FIXTURES / "minimal.yaml").read_text())
    port = free_port()
    command = gunicorn_command("", port, config="python:icalpub.serve.gunicorn_config")[:-1]
    with running(command, port, {"ICALPUB_EVENTS": str(path)}, tmp_path / "gunicorn.log"):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        connection.request("GET", "/feeds/all.ics")
        response = connection.getresponse()
        body = response.read()
        connection.close()
    assert response.status == 200
    assert all(parse_all(body).values())
