"""Load while the file changes: gunicorn (2 workers) on 127.0.0.1, 50 concurrent clients,
events.yaml rewritten 20 times (half valid, half invalid; atomic replaces and in-place
truncating writes in two chunks, the way editors save).

Every 200 body must be one that ``build_site`` gives for one of the valid versions (so it is
complete, it parses, and no invalid or half-written version reached a client), compared after
dropping the values the state file tracks per edit (SEQUENCE, DTSTAMP, LAST-MODIFIED,
CREATED: they depend on when a worker saw an edit, not on the file); every ETag must be the
digest of the exact bytes; no request may fail.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path


from icalpub.load import load_events
from icalpub.site import build_site
from parsers import parse_all
from reliability.servers import free_port, gunicorn_command, running

FIXTURES = Path(__file__).parent.parent / "fixtures"
PATHS = ("/feeds/all.ics", "/feeds/topics/circular.ics", "/feeds/organisers/acme.ics",
         "/events/winter-webinar.ics", "/feeds.json")
CLIENTS = 50
REWRITES = 20
HOLD = 0.5  # seconds each version stays on disk
CHUNK_PAUSE = 0.05  # an editor's pause between two chunks of one save (< settle)
SETTINGS = "{'RELOAD_INTERVAL': 0.1, 'RELOAD_SETTLE': 0.2}"


def valid_versions() -> list[str]:
    base = (FIXTURES / "minimal.yaml").read_text()
    versions = [base]
    for n in range(1, REWRITES // 2 + 1):
        text = base.replace("title: Winter webinar", f"title: Winter webinar, take {n}")
        if n % 3 == 0:  # some versions grow a longer text, so sizes differ more
            text = text.replace("location: Online (Zoom)", f"location: Online (Zoom) {'x' * 40 * n}")
        # (no version removes an event: the state file keeps a removed event in the feeds as
        # CANCELLED for a while, which a stateless build of the version would not show)
        versions.append(text)
    return versions


def invalid_versions(base: str) -> list[str]:
    cut = base.index("title: Winter webinar") + 11
    return [
        base.replace("start: 2021-01-19 14:00", "start: 2021-02-30 14:00"),
        base.replace("organisers: [acme, river]", "organisers: [acme, river"),
        base[:cut],  # truncated in a key
        base.replace("timezone: Europe/Brussels", "timezone: Europe/Brusels"),
        base.replace("title: Winter webinar", "title: !!python/object/apply:os.system [id]"),
        "",
        base.replace("end: 2021-01-19 16:00", "end: 2021-01-19 13:00"),
        base + "events: []\n",  # duplicate top-level key
        base.replace("title: Winter webinar", "title: \"Winter \\0 webinar\""),
        base.replace("    title: Winter webinar\n", "\ttitle: Winter webinar\n"),
    ]


TRACKED = (b"SEQUENCE:", b"DTSTAMP:", b"LAST-MODIFIED:", b"CREATED:")


def content_digest(body: bytes) -> str:
    """sha256 of the body without the lines the state file fills in (unfolded first), and
    for feeds.json without each feed's size in bytes (which those lines change)."""
    if body.startswith(b"{"):
        listing = json.loads(body)
        for feed in listing["feeds"]:
            assert isinstance(feed.pop("bytes"), int)
        return hashlib.sha256(json.dumps(listing, sort_keys=True).encode()).hexdigest()
    lines = body.replace(b"\r\n ", b"").split(b"\r\n")
    return hashlib.sha256(b"\r\n".join(l for l in lines if not l.startswith(TRACKED))).hexdigest()


def expected_bodies(tmp_path: Path, versions: list[str]) -> dict[str, set[str]]:
    """path -> sha256 of every body a valid version gives; each body also parses."""
    allowed: dict[str, set[str]] = {p: set() for p in PATHS}
    for i, text in enumerate(versions):
        source = tmp_path / f"valid-{i}.yaml"
        source.write_text(text)
        site = build_site(load_events(source))
        for path in PATHS:
            body = site.get(path.lstrip("/")).body
            allowed[path].add(content_digest(body))
            if path.endswith(".ics"):
                assert all(parse_all(body).values())
    return allowed


def save(path: Path, text: str, how: str) -> None:
    if how == "replace":  # write a temporary file, then rename it over the old one
        temporary = path.with_name(".events.yaml.tmp")
        temporary.write_text(text)
        os.replace(temporary, path)
        return
    # in place: truncate, write half, pause, write the rest (the half is often valid YAML)
    cut = text.find("  - id: summer-workshop")
    cut = cut if cut > 0 else len(text) // 2
    with path.open("w") as stream:
        stream.write(text[:cut])
        stream.flush()
        time.sleep(CHUNK_PAUSE)
        stream.write(text[cut:])


class Client(threading.Thread):
    """Fetches the feeds in turn, every other time with the ETag it last saw."""

    def __init__(self, port: int, stop: threading.Event, allowed: dict[str, set[str]], seed: int):
        super().__init__(daemon=True)
        self.port, self.stop, self.allowed = port, stop, allowed
        self.random = random.Random(seed)
        self.etags: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self.failures: list[str] = []
        self.seen: set[str] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            path = self.random.choice(PATHS)
            headers = {}
            if path in self.etags and self.random.random() < 0.5:
                headers["If-None-Match"] = self.etags[path]
            try:
                self.fetch(path, headers)
            except Exception as exc:  # noqa: BLE001 — every failure is counted and shown
                self.failures.append(f"{path}: {type(exc).__name__}: {exc}")

    def fetch(self, path: str, headers: dict[str, str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        self.counts["requests"] += 1
        etag = (response.getheader("ETag") or "").strip('"')
        if response.status == 304:
            self.counts["304"] += 1
            if f'"{etag}"' != headers.get("If-None-Match") or body:
                self.failures.append(f"{path}: 304 with ETag {etag!r}, body {len(body)} bytes")
            return
        if response.status != 200:
            self.failures.append(f"{path}: status {response.status}")
            return
        self.counts["200"] += 1
        digest = hashlib.sha256(body).hexdigest()
        if int(response.getheader("Content-Length", -1)) != len(body):
            self.failures.append(f"{path}: partial body, {len(body)} bytes")
        if content_digest(body) not in self.allowed[path]:
            self.failures.append(f"{path}: a body no valid version gives ({len(body)} bytes)")
        if etag != digest[:32]:
            self.failures.append(f"{path}: ETag {etag!r} does not match the body")
        if response.getheader("X-Content-Type-Options") != "nosniff":
            self.failures.append(f"{path}: no nosniff")
        self.etags[path] = f'"{etag}"'
        self.seen.add(content_digest(body))


def test_feeds_hold_under_load_while_the_file_is_rewritten(tmp_path):
    started = time.monotonic()
    valid = valid_versions()
    invalid = invalid_versions(valid[0])
    allowed = expected_bodies(tmp_path, valid)
    path = tmp_path / "events.yaml"
    path.write_text(valid[0])
    port = free_port()
    command = gunicorn_command(f"icalpub.serve.app:create_app({SETTINGS})", port)
    log = tmp_path / "gunicorn.log"
    with running(command, port, {"ICALPUB_EVENTS": str(path)}, log):
        stop = threading.Event()
        clients = [Client(port, stop, allowed, seed) for seed in range(CLIENTS)]
        for client in clients:
            client.start()
        schedule = [v for pair in zip(valid[1:], invalid) for v in pair]  # valid, invalid, …
        writes = Counter()
        for i, text in enumerate(schedule):
            how = "replace" if i % 4 < 2 else "in place"
            save(path, text, how)
            writes[how] += 1
            time.sleep(HOLD)
        path.write_text(valid[-1])  # end on a valid version and let it be picked up
        time.sleep(HOLD)
        stop.set()
        for client in clients:
            client.join(timeout=20)
        assert not any(c.is_alive() for c in clients), "a client hung"
    counts = sum((c.counts for c in clients), Counter())
    failures = [f for c in clients for f in c.failures]
    seen = set().union(*(c.seen for c in clients))
    figures = {"clients": CLIENTS, "rewrites": len(schedule), "valid": len(valid) - 1,
               "invalid": len(invalid), "writes": dict(writes), "requests": counts["requests"],
               "200": counts["200"], "304": counts["304"], "errors": len(failures),
               "distinct bodies seen": len(seen), "seconds": round(time.monotonic() - started, 1)}
    print("load figures:", json.dumps(figures))
    assert failures == [], failures[:20]
    assert counts["requests"] >= 1000 and counts["304"] > 0
    # the server did move through the valid versions, and said why it refused the others
    all_feed_versions = seen & allowed["/feeds/all.ics"]
    assert len(all_feed_versions) >= 5, figures
    output = log.read_text(errors="replace")
    assert "was not loaded; still serving the last good version" in output
    assert "Traceback" not in output
    assert time.monotonic() - started < 45
