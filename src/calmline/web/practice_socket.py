"""The practice call's WebSocket, ``/practice/ws``: the transport between a learner's page
and the call engine.

The socket is opened only from this server's own pages (Origin check) by a logged-in
user (the session cookie), and each user may hold only a few at once. The first
message names the scenario; then the same ``PracticeCall`` as ``calmline practice``
runs in a thread with a ``BrowserInput`` and a ``BrowserSink``, while two tasks move
frames in and messages out. Every limit is answered with a ``Problem`` the page shows
in words. If the page goes away the input stops: the turns already spoken are saved,
the call ends ``interrupted`` and is marked and indexed like any other.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from calmline.call.browser_io import BrowserInput, BrowserSink
from calmline.call.practice import PracticeCall, PracticeOptions, PracticeResult
from calmline.errors import CalmlineError
from calmline.web import auth
from calmline.web.db import transaction
from calmline.web.indexer import index_folder
from calmline.web.live_calls import LiveCall, LiveCalls
from calmline.web.practice_messages import (
    MAX_TYPED_CHARS,
    AudioStop,
    CallEnded,
    EndCall,
    Marking,
    PointMark,
    Problem,
    Ready,
    RubricMark,
    ServerMessage,
    StartCall,
    TypedTurn,
    client_message,
)
from calmline.web.practice_view import PageView
from calmline.web.routes.deps import AppState

router = APIRouter()
log = logging.getLogger("calmline.web.practice")
POLICY = 1008  # WebSocket close code: policy violation
TOO_BIG = 1009  # message too big
START_WAIT_S = 120.0  # the page sends its first message at once; a silent socket is dropped

# The messages the learner reads when a practice socket is refused or cut short.
WRONG_ORIGIN = (
    "The practice call was refused because this page was not opened from this server. "
    "Open the practice page from the dashboard's own address."
)
NOT_LOGGED_IN = "You are not logged in, or your login has expired. Log in again, then reload."
TOO_MANY = (
    "You already have {n} practice calls open (in another tab or window). "
    "Close one of them, then reload this page."
)


@dataclass(frozen=True)
class Caller:
    name: str
    group: str


class Closing:
    """Queued after the last message: the sender closes the socket."""


Outgoing = str | bytes | Closing


def origin_allowed(origin: str | None, host: str | None, extra: tuple[str, ...] = ()) -> bool:
    """True when ``origin`` is this server itself (same host and port) or explicitly allowed.

    A browser always sends Origin on a WebSocket; without the check any site a learner
    visits could open a call in their name with their cookie (cross-site WebSocket
    hijacking).
    """
    if not origin or origin == "null":
        return False
    if origin.rstrip("/") in {o.rstrip("/") for o in extra}:
        return True
    parts = urlsplit(origin)
    return parts.scheme in {"http", "https"} and bool(host) and parts.netloc == host


def caller_of(app: AppState, token: str | None) -> Caller | None:
    with app.factory() as db:
        found = auth.resolve_session(db, token)
        return None if found is None else Caller(found[0].name, found[0].group)


async def refuse(ws: WebSocket, problem: Problem, code: int = POLICY) -> None:
    """Accept only to say why, then close: a refusal before accepting reaches the page as
    a bare failed connection, with nothing to tell the learner."""
    await ws.accept()
    await ws.send_text(problem.model_dump_json())
    await ws.close(code=code, reason=problem.code)


@router.websocket("/practice/ws")
async def practice_socket(ws: WebSocket) -> None:
    app: AppState = ws.app.state.calmline
    settings = app.settings
    if not origin_allowed(
        ws.headers.get("origin"), ws.headers.get("host"), settings.practice_origins
    ):
        await refuse(ws, Problem(code="origin", message=WRONG_ORIGIN))
        return
    caller = await run_in_threadpool(caller_of, app, ws.cookies.get(auth.SESSION_COOKIE))
    if caller is None:
        await refuse(ws, Problem(code="login", message=NOT_LOGGED_IN))
        return
    calls: LiveCalls = ws.app.state.live_calls
    if not calls.connect(caller.name, settings.practice_connections):
        message = TOO_MANY.format(n=settings.practice_connections)
        await refuse(ws, Problem(code="too_many_connections", message=message))
        return
    try:
        await ws.accept()
        start = await _first_message(ws)
        if start is not None:
            await PracticeSocket(ws, app, calls, caller).run(start)
    except WebSocketDisconnect:
        pass
    finally:
        calls.disconnect(caller.name)


async def _first_message(ws: WebSocket) -> StartCall | None:
    """The page's ``start`` message (frames sent before it are dropped)."""
    deadline = asyncio.get_running_loop().time() + START_WAIT_S
    while True:
        try:
            left = deadline - asyncio.get_running_loop().time()
            raw = await asyncio.wait_for(ws.receive(), max(left, 0.0))
        except TimeoutError:
            await ws.close(code=POLICY, reason="no start message")
            return None
        if raw["type"] == "websocket.disconnect":
            return None
        text = raw.get("text")
        if text is None:
            continue
        try:
            message = client_message.validate_json(text)
        except ValidationError:
            message = None
        if isinstance(message, StartCall):
            return message
        problem = Problem(code="bad_message", message="Choose a scenario and start the call first.")
        await ws.send_text(problem.model_dump_json())


class PracticeSocket:
    """One open practice socket: builds the call, runs it in a thread, moves messages."""

    def __init__(self, ws: WebSocket, app: AppState, calls: LiveCalls, caller: Caller) -> None:
        self.ws = ws
        self.app = app
        self.calls = calls
        self.caller = caller
        self.loop = asyncio.get_running_loop()
        self.out: asyncio.Queue[Outgoing] = asyncio.Queue()
        self.sink = BrowserSink(self._post, lambda: self.send(AudioStop()))

    def _on_loop(self, func: Callable[..., object], *args: object) -> None:
        """Run ``func`` on the server's event loop (from the call thread)."""
        try:
            self.loop.call_soon_threadsafe(func, *args)
        except RuntimeError:  # the server is shutting down: the page cannot be told any more
            self.sink.gone.set()

    def _post(self, item: Outgoing) -> None:
        self._on_loop(self.out.put_nowait, item)

    def send(self, message: ServerMessage) -> None:
        """Queue ``message`` for the page (safe from any thread)."""
        self._post(message.model_dump_json())

    async def run(self, start: StartCall) -> None:
        try:
            built = await run_in_threadpool(self._build, start)
        except CalmlineError as exc:
            await self.ws.send_text(
                Problem(code="unknown_scenario", message=exc.message).model_dump_json()
            )
            await self.ws.close(code=POLICY, reason="unknown scenario")
            return
        call, learner_input, live = built
        self.calls.add(live)
        self.send(
            Ready(
                session_id=call.record.id,
                title=call.scenario.title,
                persona=call.scenario.persona.name,
                face_to_face=call.scenario.setting == "face_to_face",
                exam=start.exam,
            )
        )
        done: asyncio.Future[None] = self.loop.create_future()
        threading.Thread(
            target=self._run_call,
            args=(call, live, lambda: self._on_loop(_settle, done)),
            name="calmline-browser-call",
            daemon=True,
        ).start()
        limit = self.app.settings.practice_call_s
        timer = self.loop.call_later(limit, self._time_up, learner_input, limit)
        receiver = asyncio.create_task(self._receive(learner_input))
        sender = asyncio.create_task(self._send_all())
        try:
            await asyncio.wait({receiver, sender}, return_when=asyncio.FIRST_COMPLETED)
            self._page_gone(learner_input)
            await done
        finally:
            # Also when this handler is cancelled (the server stopping): the call thread
            # saves the turn in progress, ends the call and marks it on its own.
            self._page_gone(learner_input)
            timer.cancel()
            for task in (receiver, sender):
                task.cancel()

    def _page_gone(self, learner_input: BrowserInput) -> None:
        """Stop the call if it is still on (the listener flushes the turn in progress)."""
        learner_input.stop("the browser disconnected before the call was over")
        self.sink.gone.set()

    def _build(self, start: StartCall) -> tuple[PracticeCall, BrowserInput, LiveCall]:
        """Load the models (cached after the first call) and put the call together."""
        from calmline.call.factory import (
            BackendChoice,
            build_collaborators,
            load_transcriber,
            warm_models,
        )
        from calmline.customer.scenario import list_scenarios

        # Only the server's own packs by id: load_scenario also takes a file path, which
        # must never come from a page.
        packs = {pack.id: pack for pack in list_scenarios()}
        scenario = packs.get(start.scenario)
        if scenario is None:
            raise CalmlineError(
                f"There is no scenario called {start.scenario!r} on this server. "
                "Choose one from the list."
            )
        choice = BackendChoice()
        parts = build_collaborators(scenario, choice, player=None)
        parts.sink = self.sink
        transcriber = load_transcriber(choice)
        warm_models(transcriber)
        learner_input = BrowserInput(transcriber)
        live = LiveCall(
            id="",
            learner=self.caller.name,
            group=self.caller.group,
            scenario=scenario.id,
            title=scenario.title,
            exam=start.exam,
        )
        view = PageView(self.send, live, exam=start.exam, start_anger=scenario.persona.start_anger)
        options = PracticeOptions(
            out=self.app.settings.recordings, exam=start.exam, learner=self.caller.name
        )
        call = PracticeCall(scenario, parts, learner_input, options, view)
        live.id = call.record.id
        return call, learner_input, live

    def _run_call(self, call: PracticeCall, live: LiveCall, finished: Callable[[], None]) -> None:
        """The call thread: the call, its debrief and marking, then the index."""
        session_url = f"/sessions/{call.record.id}"
        try:
            result = call.run()
            self.send(marking_of(result))
        except BaseException as exc:  # the page must hear of it; the session keeps what was said
            log.error("browser call %s failed", call.record.id, exc_info=exc)
            message = (
                exc.message if isinstance(exc, CalmlineError) else "The call stopped on the server."
            )
            self.send(Problem(code="server_error", message=f"{message} What was said is saved."))
        finally:
            try:
                with transaction(self.app.factory) as db:
                    index_folder(db, call.writer.folder)
            except Exception as exc:  # the next resync picks it up
                log.error("indexing %s failed", call.writer.folder, exc_info=exc)
            live.publish(CallEnded(outcome=call.record.outcome, session_url=session_url))
            self.calls.remove(live.id)
            self._post(Closing())
            finished()

    async def _receive(self, learner_input: BrowserInput) -> None:
        """Frames and typed turns from the page, until it disconnects."""
        limit = self.app.settings.practice_frame_bytes
        refused = False
        while True:
            raw = await self.ws.receive()
            if raw["type"] == "websocket.disconnect":
                return
            frame = raw.get("bytes")
            if frame is not None:
                if refused:
                    continue
                if len(frame) > limit:
                    refused = True
                    self.send(
                        Problem(code="frame_too_large", message=frame_message(len(frame), limit))
                    )
                    learner_input.stop(f"an audio frame of {len(frame)} bytes was over the limit")
                    continue
                learner_input.feed_pcm(frame)
                continue
            self._take_text(raw.get("text") or "", learner_input)

    def _take_text(self, text: str, learner_input: BrowserInput) -> None:
        try:
            message = client_message.validate_json(text)
        except ValidationError:
            message = None
        if isinstance(message, TypedTurn):
            learner_input.submit_text(message.text)
        elif isinstance(message, EndCall):
            learner_input.end_call()
        else:
            self.send(Problem(code="bad_message", message=unreadable(text)))

    async def _send_all(self) -> None:
        """Everything queued for the page, in order; closes the socket after the last."""
        while True:
            item = await self.out.get()
            try:
                if isinstance(item, Closing):
                    await self.ws.close(code=1000)
                    return
                if isinstance(item, bytes):
                    await self.ws.send_bytes(item)
                else:
                    await self.ws.send_text(item)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return  # the page is gone; the call thread notices through the sink

    def _time_up(self, learner_input: BrowserInput, limit: float) -> None:
        minutes = f"{limit / 60:g}"
        self.send(
            Problem(
                code="call_too_long",
                message=f"The call reached its time limit of {minutes} minutes and was ended. "
                "Everything you said is saved and is being marked.",
            )
        )
        learner_input.stop(f"the call reached its time limit of {minutes} minutes")


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


def unreadable(text: str) -> str:
    """Why a message from the page was not taken, in words for the learner."""
    try:
        sent = json.loads(text)
    except ValueError:
        sent = None
    if isinstance(sent, dict) and sent.get("type") == "text":
        return (
            f"A typed turn must have 1 to {MAX_TYPED_CHARS} characters; "
            "that one was not sent to the customer."
        )
    return "The page sent a message the server does not know."


def frame_message(size: int, limit: int) -> str:
    return (
        f"The page sent an audio frame of {size} bytes; the server takes at most {limit}. "
        "The call was stopped and what you said so far is saved. Reload the page to start again."
    )


def marking_of(result: PracticeResult) -> Marking:
    """The page's summary of a finished call: outcome, marks, summary and where to read more."""
    folder: Path = result.folder
    summary_file = folder / "feedback-summary.txt"
    sid = result.record.id
    return Marking(
        session_id=sid,
        outcome=result.record.outcome,
        rubrics=[
            RubricMark(
                title=a.rubric_title or a.rubric_id,
                score=a.score,
                passed=a.passed,
                points=[PointMark(point=v.point_id, verdict=v.verdict) for v in a.verdicts],
            )
            for a in result.assessments
        ],
        summary=summary_file.read_text(encoding="utf-8").strip() if summary_file.is_file() else "",
        session_url=f"/sessions/{sid}",
        report_url=f"/sessions/{sid}/report/report.html"
        if (folder / "report.html").is_file()
        else None,
    )
