"""Load on the dashboard: many assessors browsing a large index at once, on loopback.

Run: .venv/bin/python benchmarks/load_dashboard.py [--clients 50] [--sessions 500]
     [--requests 20]

It writes ``--sessions`` sample session folders (``calmline.web.sample``) into a
temporary folder, adds one assessor account, starts ``calmline serve`` on a free
loopback port (which indexes every folder before it listens), then runs
``--clients`` threads. Each logs in with its own cookie and makes a bounded loop of
``--requests`` GETs: the session list (pages, filters, sorts), a session page, the
agreement page. It prints a table (median and 95th-percentile page time per page
kind, errors) and exits 1 if any request failed. Nothing outside the temporary
folder is touched and the server is always stopped.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

PASSWORD = "load-test-pass-1"
CALMLINE = str(Path(sys.executable).with_name("calmline"))


@dataclass
class Results:
    """Page times in seconds by page kind, and the failures."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.times[kind].append(seconds)
            if error:
                self.errors.append(error)


def make_sessions(root: Path, count: int) -> list[str]:
    """``count`` sample sessions by 40 learners over a year, most of them marked."""
    from calmline.web.sample import sample_session

    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    verdicts = ("met", "partly", "not_met")
    rng = random.Random(7)
    ids = []
    for n in range(count):
        when = start + timedelta(hours=17 * n)
        sid = f"{when:%Y%m%d-%H%M%S}-kettle-counter-{n:04x}"
        marks = tuple(rng.choice(verdicts) for _ in range(5)) if n % 5 else ()
        sample_session(root, sid, f"learner{n % 40:02d}", created_at=when, verdicts=marks)
        ids.append(sid)
    return ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(rec: Path, db: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    subprocess.run(
        [CALMLINE, "users", "add", "ann", "--role", "assessor", "--password-stdin", "--db", db],
        input=f"{PASSWORD}\n".encode(),
        check=True,
        capture_output=True,
    )
    cmd = [
        CALMLINE, "serve", "--recordings", str(rec), "--db", db, "--port", str(port),
        "--assessors-see-all", "--insecure-cookies",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"calmline serve exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("calmline serve did not start in 300 s")
        time.sleep(0.2)


def login(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "login page has no CSRF token"
    r = client.post(
        "/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if r.status_code not in (200, 303) or "calmline_session" not in client.cookies:
        raise RuntimeError(f"login failed: HTTP {r.status_code}")
    return client


def pages(ids: list[str], rng: random.Random) -> tuple[str, str]:
    """One (kind, path) an assessor might open next."""
    roll = rng.random()
    if roll < 0.35:
        return "session list", f"/sessions?page={rng.randint(1, max(1, len(ids) // 25))}"
    if roll < 0.5:
        sort = rng.choice(["learner", "score", "date", "scenario"])
        learner = f"learner{rng.randint(0, 39):02d}"
        return "filtered list", f"/sessions?result=pass&sort={sort}&learner={learner}"
    if roll < 0.9:
        return "session page", f"/sessions/{rng.choice(ids)}"
    return "agreement", "/agreement"


def client_loop(base: str, ids: list[str], requests: int, seed: int, results: Results) -> None:
    rng = random.Random(seed)
    try:
        client = login(base)
    except Exception as exc:  # a failed login is an error of the run, not of the script
        results.add("login", 0.0, f"login: {exc}")
        return
    try:
        for _ in range(requests):
            kind, path = pages(ids, rng)
            t0 = time.perf_counter()
            try:
                r = client.get(path)
                error = None if r.status_code == 200 else f"{path}: HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                error = f"{path}: {type(exc).__name__}"
            results.add(kind, time.perf_counter() - t0, error)
    finally:
        client.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def run(clients: int, sessions: int, requests: int, keep: Path | None = None) -> Results:
    tmp = Path(tempfile.mkdtemp(prefix="calmline-load-"))
    proc = None
    try:
        rec = tmp / "rec"
        t0 = time.perf_counter()
        ids = make_sessions(rec, sessions)
        print(f"wrote {sessions} sessions in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        port = free_port()
        t0 = time.perf_counter()
        proc = start_server(rec, f"sqlite:///{tmp / 'index.sqlite3'}", port, tmp / "serve.log")
        print(f"indexed and serving in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        results = Results()
        threads = [
            threading.Thread(
                target=client_loop,
                args=(f"http://127.0.0.1:{port}", ids, requests, n, results),
            )
            for n in range(clients)
        ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        results.times["(all)"] = [x for k, v in list(results.times.items()) for x in v]
        wall = time.perf_counter() - t0
        print(f"{clients} clients x {requests} requests in {wall:.1f} s", file=sys.stderr)
        return results
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


def table(results: Results) -> str:
    rows = [
        "| page | requests | median (ms) | p95 (ms) | max (ms) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for kind in sorted(results.times, key=lambda k: (k == "(all)", k)):
        times = results.times[kind]
        if not times:
            continue
        rows.append(
            f"| {kind} | {len(times)} | {statistics.median(times) * 1000:.0f} | "
            f"{percentile(times, 0.95) * 1000:.0f} | {max(times) * 1000:.0f} |"
        )
    rows.append(f"\nerrors: {len(results.errors)}")
    rows += [f"  {e}" for e in results.errors[:10]]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--requests", type=int, default=20, help="GETs per client")
    args = parser.parse_args(argv)
    if not 1 <= args.clients <= 200 or not 1 <= args.requests <= 1000:
        parser.error("keep --clients in 1..200 and --requests in 1..1000 (a bounded loop)")
    print(
        f"calmline dashboard load, {datetime.now(UTC):%Y-%m-%d}, {os.cpu_count()} cores, "
        f"{args.clients} clients, {args.sessions} sessions",
        file=sys.stderr,
    )
    results = run(args.clients, args.sessions, args.requests)
    print(table(results))
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
