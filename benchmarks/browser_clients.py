"""A training room on loopback: N simulated browsers practising at once over WebSockets.

Run: PYTHONPATH=src .venv/bin/python benchmarks/browser_clients.py [--clients 1,2,4,8]
     [--turns 3] [--scenario kettle-counter] [--json FILE]

It starts a real ``calmline serve`` on a free loopback port with a temporary recordings
folder and SQLite index, adds learner accounts (``auth.add_user``, what ``calmline users
add`` runs, in one process rather than one per account), and makes one warm-up call so
the models are loaded before anything is timed. Then, for each N in ``--clients``, N
clients each sign in over HTTP as the page does (the login form and its CSRF token, then
the practice page), open ``/practice/ws`` with their session cookie and a same-origin
``Origin``, send ``start`` and, once ``ready``, stream a microphone in real time: 20 ms
frames of 16 kHz 16-bit PCM paced by the clock (``SimulatedMic``), faint hiss between
utterances, as the page's AudioWorklet sends. On each "Your turn" the client speaks the
scenario's next good learner line (espeak-ng, 16 kHz) and times **the end of its speech
(the frame holding the last speech sample handed to the socket) to the first binary
(audio) message after it**. The silence that follows lets the server's end-of-turn
detector fire, as after a real learner's sentence. After ``--turns`` replies it sends
``end`` (again for each debrief question) and waits for the ``marking`` message.

Per N it prints: clients, turns measured, median / p95 / max latency, errors (error
messages, disconnects before the marking, time-outs, failed sign-ins), the server's CPU
as the average % of one core over the round (user + system seconds of the server and of
the espeak-ng processes it ran, from /proc/PID/stat, from the moment every client has
signed in to the last marking) and its peak resident memory in the round (VmRSS sampled
every 0.2 s). ``--json`` writes the same with every latency, the date, the machine and
the calmline commit. Exits 1 if any error was counted. Nothing outside the temporary
folder is touched, every loop is bounded, and the server is always stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

import calmline
from calmline.bench.harness import Distribution, machine_info, rss_mb
from calmline.bench.sim_mic import SimulatedMic, SpokenUtterance
from calmline.protocols import SAMPLE_RATE, AudioArray
from calmline.speech.audio import to_int16
from calmline.speech.clock import RealClock
from calmline.web.auth import SESSION_COOKIE
from calmline.web.practice_messages import EndCall, StartCall

PASSWORD = "bench-learner-pass-1"
FRAME_MS = 20  # the page's AudioWorklet sends 20 ms frames (640 bytes)
MAX_CLIENTS = 64
MAX_TURNS = 20
# Bounds on each wait, generous for a loaded 2-core machine; passing one is an error.
SERVER_START_S = 120.0
READY_S = 300.0  # ``start`` -> ``ready`` (the call is built; the first one loads models)
TURN_S = 180.0  # the customer's line played out -> "Your turn"
REPLY_S = 60.0  # end of speech -> first reply audio
MARKING_S = 600.0  # ``end`` -> the marking
RSS_EVERY_S = 0.2

Progress = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- the server


@dataclass
class Server:
    """A running ``calmline serve``: where it listens and its process id."""

    url: str
    port: int
    pid: int
    recordings: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def learner_names(count: int) -> list[str]:
    return [f"learner{i:02d}" for i in range(1, count + 1)]


def add_learners(db_url: str, names: Sequence[str]) -> None:
    """Learner accounts in the index, before the server opens it."""
    from calmline.web import auth
    from calmline.web.db import make_engine, session_factory, transaction

    engine = make_engine(db_url)
    try:
        with transaction(session_factory(engine)) as db:
            for name in names:
                auth.add_user(db, name, PASSWORD, "learner", "bench")
    finally:
        engine.dispose()


@contextmanager
def running_server(root: Path, accounts: Sequence[str]) -> Iterator[Server]:
    """``calmline serve`` on a free loopback port over ``root``, until the block ends."""
    rec = root / "rec"
    rec.mkdir()
    db_url = f"sqlite:///{root / 'index.sqlite3'}"
    add_learners(db_url, accounts)
    port = free_port()
    cmd = [
        sys.executable, "-m", "calmline", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--recordings", str(rec), "--db", db_url, "--practice-minutes", "60",
    ]  # fmt: skip
    log = root / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"calmline serve exited:\n{log.read_text()[-2000:]}")
            try:
                if httpx.get(url + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"calmline serve did not start in {SERVER_START_S:.0f} s")
            time.sleep(0.2)
        yield Server(url, port, proc.pid, rec)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and of the children it has waited for
    (espeak-ng runs once per sentence), from /proc/PID/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


class ServerMeter:
    """The server's CPU (average % of one core) and peak VmRSS over a ``with`` block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu_percent = 0.0
        self.peak_rss_mb = 0.0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ServerMeter:
        self._t0 = time.monotonic()
        self._cpu0 = cpu_seconds(self.pid)
        self._sampler.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._sampler.join()
        self.seconds = time.monotonic() - self._t0
        used = cpu_seconds(self.pid) - self._cpu0
        self.cpu_percent = 100.0 * used / self.seconds if self.seconds > 0 else 0.0

    def _sample(self) -> None:
        while True:
            self.peak_rss_mb = max(self.peak_rss_mb, rss_mb(self.pid)[0])
            if self._stop.wait(RSS_EVERY_S):
                return


# --------------------------------------------------------------------------- one browser


def sign_in(url: str, name: str) -> str:
    """Log in as the page does (the form's CSRF token, its cookie, a 303 to the practice
    page, which is then loaded); returns the session cookie."""
    with httpx.Client(base_url=url, timeout=60) as client:
        page = client.get("/login?next=/practice").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if token is None:
            raise RuntimeError("the login page has no CSRF token")
        r = client.post(
            "/login",
            data={
                "username": name,
                "password": PASSWORD,
                "csrf_token": token.group(1),
                "next": "/practice",
            },
        )
        cookie = client.cookies.get(SESSION_COOKIE)
        if r.status_code != 303 or not cookie:
            raise RuntimeError(f"login refused: HTTP {r.status_code}")
        page_status = client.get("/practice").status_code
        if page_status != 200:
            raise RuntimeError(f"the practice page answered HTTP {page_status}")
        return cookie


@dataclass
class Speech:
    """One learner utterance on its way out, and when its last speech sample was sent."""

    utterance: SpokenUtterance
    ended_at: float | None = None  # clock time the frame holding the last speech sample went


class Microphone:
    """The page's microphone: a ``SimulatedMic``'s frames sent as PCM in real time.

    Runs in its own thread from ``ready`` until ``close``; ``say`` queues an utterance
    (silence, with a faint hiss, is sent in between).
    """

    def __init__(self, ws: ClientConnection, clock: RealClock) -> None:
        self.clock = clock
        self.mic = SimulatedMic(clock, chunk_ms=FRAME_MS)
        self._ws = ws
        self._lock = threading.Lock()
        self._unfinished: list[Speech] = []
        self._thread = threading.Thread(target=self._send_frames, daemon=True)
        self._thread.start()

    def say(self, audio: AudioArray) -> Speech:
        with self._lock:
            speech = Speech(self.mic.say(audio))
            self._unfinished.append(speech)
        return speech

    def close(self) -> None:
        self.mic.close()
        self._thread.join(timeout=5)

    def _send_frames(self) -> None:
        sent = 0  # samples handed to the socket
        try:
            for chunk in self.mic:
                self._ws.send(to_int16(chunk).tobytes())
                sent += chunk.size
                now = self.clock.now()
                with self._lock:
                    for speech in list(self._unfinished):
                        end = speech.utterance.speech_end_sample
                        if end is not None and sent >= end:
                            speech.ended_at = now
                            self._unfinished.remove(speech)
        except ConnectionClosed:
            return  # the receiving side reports the disconnect


@dataclass
class ClientReport:
    """What one simulated browser measured."""

    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, one per reply
    errors: list[str] = field(default_factory=list)
    outcome: str = ""
    session_id: str = ""
    marking_s: float | None = None  # ``end`` sent -> marking received
    ended_by_customer: bool = False


class BrowserClient:
    """One learner's browser: sign in, start the call, speak ``turns`` lines, end, marked."""

    def __init__(
        self,
        server: Server,
        name: str,
        scenario: str,
        lines: Sequence[AudioArray],
        turns: int,
    ) -> None:
        self.server = server
        self.name = name
        self.scenario = scenario
        self.lines = lines
        self.turns = turns
        self.clock = RealClock()
        self.report = ClientReport(name)
        self.cookie: str | None = None

    def sign_in(self) -> bool:
        try:
            self.cookie = sign_in(self.server.url, self.name)
        except (httpx.HTTPError, RuntimeError) as exc:
            self.report.errors.append(f"sign-in: {exc}")
            return False
        return True

    def practise(self) -> ClientReport:
        if self.cookie is None and not self.sign_in():
            return self.report
        ws_url = f"ws://127.0.0.1:{self.server.port}/practice/ws"
        try:
            with connect(
                ws_url,
                origin=Origin(self.server.url),  # the page is served from the same server
                additional_headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}"},
                max_size=2**24,  # one WAV chunk a sentence
                ping_interval=None,  # a page sends no pings
                open_timeout=60,
            ) as ws:
                self._call(ws)
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            self.report.errors.append(f"connection: {type(exc).__name__}: {exc}")
        return self.report

    def _call(self, ws: ClientConnection) -> None:
        report, clock = self.report, self.clock
        ws.send(StartCall(scenario=self.scenario).model_dump_json())
        mic: Microphone | None = None
        speech: Speech | None = None  # the utterance waiting for its reply
        spoken = 0
        ending_at: float | None = None
        phase = "ready"  # ready -> turn <-> reply -> marking
        deadline = clock.now() + READY_S
        told = False  # the server sent an error message (its closing is not counted again)
        try:
            while True:
                left = deadline - clock.now()
                if left <= 0:
                    report.errors.append(f"time-out waiting for {WAITING[phase]}")
                    return
                try:
                    message = ws.recv(timeout=left)
                except TimeoutError:
                    continue
                except ConnectionClosed as exc:
                    if not told:
                        report.errors.append(f"disconnected before the marking ({exc})")
                    return
                now = clock.now()
                if isinstance(message, bytes):
                    if phase == "reply" and speech is not None and speech.ended_at is not None:
                        report.latencies.append(now - speech.ended_at)
                        phase, deadline = "turn", now + TURN_S
                    continue
                data = json.loads(message)
                kind = data.get("type")
                if kind == "ready":
                    report.session_id = str(data.get("session_id", ""))
                    mic = Microphone(ws, clock)
                    phase, deadline = "turn", now + TURN_S
                elif kind == "error":
                    report.errors.append(f"{data.get('code')}: {data.get('message')}")
                    told = True
                elif kind == "marking":
                    report.outcome = str(data.get("outcome", ""))
                    if ending_at is not None:
                        report.marking_s = now - ending_at
                    return
                elif kind == "status" and data.get("whose") == "learner":
                    if phase == "reply" and speech is not None:
                        if speech.ended_at is None:
                            continue  # a pause inside the line ended a turn: still speaking
                        report.errors.append(f"no reply audio to turn {spoken}")
                        phase = "turn"
                    if phase == "turn" and mic is not None and spoken < self.turns:
                        audio = self.lines[spoken % len(self.lines)]
                        speech = mic.say(audio)
                        spoken += 1
                        phase, deadline = "reply", now + audio.size / SAMPLE_RATE + REPLY_S
                    elif phase in ("turn", "marking"):  # done, or a debrief question: end it
                        ws.send(EndCall().model_dump_json())
                        if ending_at is None:
                            ending_at = now
                        phase, deadline = "marking", now + MARKING_S
                elif (
                    kind == "status"
                    and data.get("whose") in ("marking", "ended")
                    and phase in ("turn", "reply")
                ):  # the customer ended the call
                    report.ended_by_customer = True
                    ending_at = now
                    phase, deadline = "marking", now + MARKING_S
        finally:
            if mic is not None:
                mic.close()


WAITING = {
    "ready": "the call to start (ready)",
    "turn": "the learner's turn",
    "reply": "the first reply audio",
    "marking": "the marking",
}


def run_clients(clients: Sequence[BrowserClient], progress: Progress) -> list[ClientReport]:
    """Every client's call in its own thread, at the same time; their reports."""
    done = 0
    lock = threading.Lock()

    def run(client: BrowserClient) -> None:
        nonlocal done
        report = client.practise()
        with lock:
            done += 1
            progress(f"  client {done}/{len(clients)} done: {describe(report)}")

    threads = [threading.Thread(target=run, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    turns = max((c.turns for c in clients), default=0)
    bound = READY_S + (turns + 1) * (TURN_S + REPLY_S) + MARKING_S + 60
    deadline = time.monotonic() + bound
    for t in threads:
        t.join(timeout=max(deadline - time.monotonic(), 0.0))
    for client, t in zip(clients, threads, strict=True):
        if t.is_alive():
            client.report.errors.append(f"still running after {bound:.0f} s")
    return [c.report for c in clients]


def describe(report: ClientReport) -> str:
    times = " ".join(f"{x:.2f}" for x in report.latencies) or "none"
    marked = f"marked in {report.marking_s:.1f} s" if report.marking_s is not None else "no marking"
    ended = ", the customer ended the call" if report.ended_by_customer else ""
    return (
        f"{report.name}: replies after {times} s, {len(report.errors)} errors, {marked}"
        f" ({report.outcome or 'no outcome'}{ended})"
    )


# --------------------------------------------------------------------------- a round of N


@dataclass
class Row:
    """One N: what the table shows, and every latency and error behind it."""

    clients: int
    turns_measured: int
    median_s: float | None
    p95_s: float | None
    max_s: float | None
    errors: int
    server_cpu_percent: float
    server_peak_rss_mb: float
    round_s: float
    marking_median_s: float | None
    clients_cpu_percent: float  # this script's own CPU: the browsers share the cores
    latencies_s: list[float]
    error_messages: list[str]
    outcomes: list[str]
    server_turns: list[dict[str, object]]  # the server's own timings of each turn


def run_round(
    server: Server,
    n: int,
    scenario: str,
    lines: Sequence[AudioArray],
    turns: int,
    progress: Progress,
) -> Row:
    clients = [BrowserClient(server, name, scenario, lines, turns) for name in learner_names(n)]
    progress(f"N={n}: signing in {n} learner(s)…")
    for client in clients:
        client.sign_in()
    progress(f"N={n}: {n} call(s) of {turns} turn(s), streaming in real time…")
    own0 = time.process_time()
    with ServerMeter(server.pid) as meter:
        reports = run_clients([c for c in clients if c.cookie is not None], progress)
    own_cpu = time.process_time() - own0
    reports += [c.report for c in clients if c.cookie is None]
    latencies = [x for r in reports for x in r.latencies]
    dist = Distribution.of(latencies) if latencies else None
    marking = [r.marking_s for r in reports if r.marking_s is not None]
    errors = [f"{r.name}: {e}" for r in reports for e in r.errors]
    return Row(
        clients=n,
        turns_measured=len(latencies),
        median_s=round(dist.median, 3) if dist else None,
        p95_s=round(dist.p95, 3) if dist else None,
        max_s=round(dist.max, 3) if dist else None,
        errors=len(errors),
        server_cpu_percent=round(meter.cpu_percent, 1),
        server_peak_rss_mb=round(meter.peak_rss_mb, 1),
        round_s=round(meter.seconds, 1),
        marking_median_s=round(Distribution.of(marking).median, 1) if marking else None,
        clients_cpu_percent=round(100 * own_cpu / meter.seconds, 1) if meter.seconds else 0.0,
        latencies_s=[round(x, 3) for x in latencies],
        error_messages=errors,
        outcomes=[r.outcome for r in reports],
        server_turns=server_turns(server.recordings, reports),
    )


def server_turns(recordings: Path, reports: Sequence[ClientReport]) -> list[dict[str, object]]:
    """Each learner turn and reply as the server saved them, with its own timings (end of
    turn decision, transcription, first sentence, first audio): where the time went."""
    from calmline.bench.harness import turn_details
    from calmline.call.session import load_session
    from calmline.errors import CalmlineError

    out: list[dict[str, object]] = []
    for report in reports:
        try:
            record = load_session(recordings / report.session_id) if report.session_id else None
        except CalmlineError:
            record = None
        if record is not None:
            out += [{"learner": report.name, **row} for row in turn_details(record)]
    return out


def learner_lines(scenario: str) -> list[AudioArray]:
    """The pack's good learner lines, spoken by espeak-ng's learner voice at 16 kHz."""
    from calmline.call.inputs import is_goodbye
    from calmline.customer.scenario import load_scenario
    from calmline.testing.speech import spoken

    texts = [t for t in load_scenario(scenario).learner_script_good if not is_goodbye(t)]
    return [spoken(text) for text in texts]


def calmline_commit() -> str:
    """The commit of the calmline being measured (``+dirty`` with uncommitted changes)."""
    where = Path(calmline.__file__).resolve().parent
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        head = subprocess.run(
            [git, "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [git, "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


@dataclass
class Report:
    """The whole run: ``--json`` writes ``asdict`` of it."""

    date: str
    machine: dict[str, object]
    calmline_commit: str
    scenario: str
    turns_per_client: int
    warm_up_s: float
    warm_up_errors: list[str]
    rows: list[Row]


def run(counts: Sequence[int], turns: int, scenario: str, progress: Progress = _stderr) -> Report:
    """Start the server, warm it up with one call, then one round per N in ``counts``."""
    machine = machine_info()
    progress(f"synthesising the learner's lines of {scenario}…")
    lines = learner_lines(scenario)
    root = Path(tempfile.mkdtemp(prefix="calmline-browsers-"))
    try:
        accounts = [*learner_names(max(counts)), "warmup"]
        progress("starting calmline serve…")
        with running_server(root, accounts) as server:
            progress(f"serving on {server.url} (pid {server.pid}); warm-up call…")
            t0 = time.monotonic()
            warm = BrowserClient(server, "warmup", scenario, lines, 0).practise()
            warm_up_s = time.monotonic() - t0
            progress(f"warm-up call done in {warm_up_s:.1f} s: {describe(warm)}")
            rows = []
            for n in counts:
                row = run_round(server, n, scenario, lines, turns, progress)
                progress(f"N={n}: {row_text(row)}")
                rows.append(row)
        machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        return Report(
            date=machine["date"],
            machine=machine,
            calmline_commit=calmline_commit(),
            scenario=scenario,
            turns_per_client=turns,
            warm_up_s=round(warm_up_s, 1),
            warm_up_errors=warm.errors,
            rows=rows,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- output


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def row_text(row: Row) -> str:
    return (
        f"{row.turns_measured} turns, median {_s(row.median_s)} s, p95 {_s(row.p95_s)} s, "
        f"{row.errors} errors, server CPU {row.server_cpu_percent:.0f} %, "
        f"peak RSS {row.server_peak_rss_mb:.0f} MB (the clients' own CPU "
        f"{row.clients_cpu_percent:.0f} %)"
    )


def table(report: Report) -> str:
    out = [
        "| clients | turns measured | median (s) | p95 (s) | max (s) | errors "
        "| server CPU (% of one core) | server peak RSS (MB) | marked in, median (s) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report.rows:
        out.append(
            f"| {r.clients} | {r.turns_measured} | {_s(r.median_s)} | {_s(r.p95_s)} "
            f"| {_s(r.max_s)} | {r.errors} | {r.server_cpu_percent:.0f} "
            f"| {r.server_peak_rss_mb:.0f} | {_s(r.marking_median_s)} |"
        )
    m = report.machine
    out.append(
        f"\nend of speech → first reply audio at the client; {report.scenario}, "
        f"{report.turns_per_client} turns a client; {m.get('date')}, {m.get('cpu')}, "
        f"{m.get('cores')} cores, load average {m.get('load_avg_start')} at the start, "
        f"{m.get('load_avg_end')} at the end; calmline {report.calmline_commit[:12]}"
    )
    for r in report.rows:
        out += [f"  N={r.clients}: {e}" for e in r.error_messages[:10]]
    return "\n".join(out)


def client_counts(text: str) -> list[int]:
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "a comma-separated list of numbers, e.g. 1,2,4,8"
        ) from None
    if not counts or not all(1 <= n <= MAX_CLIENTS for n in counts):
        raise argparse.ArgumentTypeError(f"each count must be 1 to {MAX_CLIENTS}")
    return counts


def main(argv: list[str] | None = None) -> int:
    from calmline.customer.scenario import list_scenarios

    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="Run it on an otherwise idle machine: the clients share its cores with the server.",
    )
    parser.add_argument(
        "--clients",
        type=client_counts,
        default=[1, 2, 4, 8],
        help="how many browsers at once, one round each (default 1,2,4,8)",
    )
    parser.add_argument(
        "--turns", type=int, default=3, help="learner utterances per client (default 3)"
    )
    parser.add_argument(
        "--scenario", default="kettle-counter", help="the pack to practise (default kettle-counter)"
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.turns <= MAX_TURNS:
        parser.error(f"keep --turns in 1..{MAX_TURNS}")
    packs = [s.id for s in list_scenarios()]
    if args.scenario not in packs:
        parser.error(f"no scenario {args.scenario!r}; choose one of {', '.join(packs)}")
    report = run(args.clients, args.turns, args.scenario)
    print(table(report))
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    errors = sum(r.errors for r in report.rows) + len(report.warm_up_errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
