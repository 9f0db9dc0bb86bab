"""Serve benchmark: the app under gunicorn vs nginx on the exported files vs the minimal Flask
app, with wrk, every server started and stopped here on 127.0.0.1.

Why: the targets are shares of two references measured in the same run (≥ 90 % of the minimal
Flask app on every route, ≥ 40 % of nginx on the full feed) and a flat 304 (10,000-event feed
within 10 % of the 100-event one). Each route is probed once first, so the table also says
what was actually served (status, bytes, Content-Encoding): a route the app does not implement
yet shows up as such instead of as a fast number.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .common import (HERE, Server, build_export, free_port, generated, get, gunicorn_cmd,
                     load_average)

INVITE_ID = "event-000001"
QUERY = "procurement"
ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    # name: (path, headers); "{etag}" is replaced by the server's own ETag for the path
    "full feed": ("/feeds/all.ics", {}),
    "gzip feed": ("/feeds/all.ics", {"Accept-Encoding": "gzip"}),
    "304 revalidation": ("/feeds/all.ics", {"If-None-Match": "{etag}"}),
    f"?q={QUERY}": (f"/feeds/all.ics?q={QUERY}", {}),
    "single invite": (f"/events/{INVITE_ID}.ics", {}),
}
APP_TARGET, NGINX_TARGET, FLAT_TARGET = 0.90, 0.40, 0.10


@dataclass(frozen=True)
class WrkResult:
    rps: float
    non_2xx_3xx: int
    socket_errors: int
    status: int  # of the probe request
    body_bytes: int
    encoding: str


def wrk(port: int, path: str, headers: dict[str, str], args: list[str]) -> tuple[float, int, int]:
    cmd = ["wrk", *args]
    for key, value in headers.items():
        cmd += ["-H", f"{key}: {value}"]
    text = subprocess.run([*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True,
                          text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return rps, int(bad.group(1)) if bad else 0, sum(map(int, sock.groups())) if sock else 0


def bench_routes(servers: dict[str, Server], routes: dict[str, tuple[str, dict[str, str]]],
                 args: list[str], rounds: int) -> dict[str, dict[str, WrkResult]]:
    """wrk on every (route, server), interleaved: round after round, each route on each server
    in turn, so that a neighbour's load hits every server alike; the median req/s is kept.
    Each route is probed once first with the same headers (what was actually served)."""
    probes: dict[tuple[str, str], tuple[dict[str, str], WrkResult]] = {}
    for sname, server in servers.items():
        for rname, (path, headers) in routes.items():
            if "{etag}" in headers.get("If-None-Match", ""):
                headers = {"If-None-Match": get(server.port, path).headers.get("etag", "")}
            probe = get(server.port, path, headers)
            probes[sname, rname] = headers, WrkResult(0, 0, 0, probe.status, len(probe.body),
                                                      probe.headers.get("content-encoding", "-"))
    runs: dict[tuple[str, str], list[tuple[float, int, int]]] = {key: [] for key in probes}
    for _ in range(rounds):
        for rname, (path, _h) in routes.items():
            for sname, server in servers.items():
                runs[sname, rname].append(wrk(server.port, path, probes[sname, rname][0], args))
    results: dict[str, dict[str, WrkResult]] = {sname: {} for sname in servers}
    for (sname, rname), samples in runs.items():
        p = probes[sname, rname][1]
        results[sname][rname] = WrkResult(
            statistics.median(r for r, _b, _s in samples), sum(b for _r, b, _s in samples),
            sum(s for _r, _b, s in samples), p.status, p.body_bytes, p.encoding)
    return results


def nginx_conf(root: Path, port: int, tmp: Path) -> Path:
    """A throw-away nginx config: daemon off, temp dirs under ``tmp``, gzip_static on (it finds
    ``.ics.gz`` siblings once the export writes them), two workers for two cores."""
    for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    conf = tmp / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(f"""{user}worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/client_body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  types {{ text/calendar ics; application/json json; }}
  charset utf-8;
  charset_types text/calendar;
  sendfile on;
  tcp_nopush on;
  gzip_static on;
  server {{ listen 127.0.0.1:{port}; root {root}; }}
}}
""")
    return conf


def start_app(events: Path, work: Path, tag: str) -> Server:
    port = free_port()
    env = {**os.environ, "ICALPUB_EVENTS": str(events)}
    env.pop("ICALPUB_BASE_URL", None)
    # the README's production command: the master builds, workers are forked with the site
    command = gunicorn_cmd("icalpub.serve.wsgi:app()", port, preload=False, worker_class=None,
                           extra=["-c", "python:icalpub.serve.gunicorn_config"])
    server = Server(f"app-{tag}", command, port, env, log=work / f"gunicorn-{tag}.log")
    return server


def run(work: Path, wrk_args: list[str], flat_n: tuple[int, int], n: int = 1000,
        rounds: int = 2, timeout: float = 900) -> dict:
    """All three servers on the ``n``-event site (1,000 in the issue), then the app's 304 at
    two sizes."""
    if not shutil.which("wrk"):
        raise RuntimeError("wrk not found: apt-get install -y wrk")
    events = generated(n, work)
    built = work / f"build-{n}"  # the build benchmark's output, when it ran for this size
    export = built if (built / "feeds" / "all.ics").exists() else build_export(events, work / f"export-{n}")
    out: dict = {"load_before": load_average(), "wrk": " ".join(wrk_args), "n": n,
                 "rounds": rounds}

    servers: dict[str, Server] = {}
    flat_servers: dict[str, Server] = {}
    try:  # start every server first (their start-ups overlap), then measure
        servers["app"] = start_app(events, work, str(n))
        servers["minimal Flask"] = _start_minimal(export, work)
        servers["nginx"] = _start_nginx(export, work)
        for size in flat_n:
            flat_servers[str(size)] = servers["app"] if size == n else \
                start_app(generated(size, work), work, str(size))
        for server in {*servers.values(), *flat_servers.values()}:
            server.wait_ready("/feeds.json", timeout)
        out.update(bench_routes(servers, ROUTES, wrk_args, rounds))
        flat = bench_routes(flat_servers, {"304": ROUTES["304 revalidation"]}, wrk_args, rounds)
    finally:
        for server in {*servers.values(), *flat_servers.values()}:
            server.stop()
    out["flat"] = {int(size): by_route["304"] for size, by_route in flat.items()}
    out["load_after"] = load_average()
    return out


def _start_minimal(export: Path, work: Path) -> Server:
    port = free_port()
    env = {**os.environ, "BENCH_EXPORT_DIR": str(export)}
    server = Server("minimal", gunicorn_cmd("minimal_app:create_app()", port, extra=["--chdir", str(HERE)]),
                    port, env, log=work / "gunicorn-minimal.log")
    return server


def _start_nginx(export: Path, work: Path) -> Server:
    port = free_port()
    tmp = work / "nginx"
    server = Server("nginx", ["/usr/sbin/nginx", "-c", str(nginx_conf(export, port, tmp)), "-p", str(tmp)],
                    port, log=work / "nginx.log")
    return server


def table(out: dict) -> list[str]:
    app, ref, ngx = out["app"], out["minimal Flask"], out["nginx"]
    rows = [
        f"wrk {out['wrk']}, median of {out['rounds']} interleaved round(s); "
        f"{out['n']:,}-event site; load average before/after: "
        f"{out['load_before']} / {out['load_after']}",
        "",
        "| route | app req/s | minimal Flask req/s | nginx req/s | app / minimal (target ≥ 0.90) | "
        "app / nginx | app answer (status, bytes, encoding) | minimal | nginx |",
        "|---|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for name in ROUTES:
        a, m, g = app[name], ref[name], ngx[name]
        share = a.rps / m.rps
        nshare = a.rps / g.rps
        nmark = (" ✓" if nshare >= NGINX_TARGET else " ✗") if name == "full feed" else ""
        rows.append(
            f"| {name} | {a.rps:,.0f} | {m.rps:,.0f} | {g.rps:,.0f} | **{share:.2f}** "
            f"{'✓' if share >= APP_TARGET else '✗'} | {nshare:.2f}{nmark} | {_answer(a)} | "
            f"{_answer(m)} | {_answer(g)} |")
    flat = out["flat"]
    (small, s), (big, b) = sorted(flat.items())
    change = b.rps / s.rps - 1
    rows += ["", f"Flat 304 (app, /feeds/all.ics with If-None-Match): {small:,} events "
             f"{s.rps:,.0f} req/s ({_answer(s)}), {big:,} events {b.rps:,.0f} req/s ({_answer(b)}): "
             f"**{change:+.1%}** {'✓' if abs(change) <= FLAT_TARGET else '✗'} (target within ±10 %)"]
    return rows


def _answer(r: WrkResult) -> str:
    errors = f", wrk non-2xx/3xx {r.non_2xx_3xx}" if r.non_2xx_3xx else ""
    errors += f", socket errors {r.socket_errors}" if r.socket_errors else ""
    return f"{r.status}, {r.body_bytes:,} B, {r.encoding}{errors}"
