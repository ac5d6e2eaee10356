"""The practice page (a learner's call in the browser) and the training room: the calls in
progress, and one call followed live through server-sent events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from calmline.web import auth
from calmline.web.live_calls import LiveCall, LiveCalls, may_watch, shows_anger
from calmline.web.practice_messages import AngerShown, CallEnded, WatchMessage
from calmline.web.routes.deps import DB, LoggedIn, Viewer, render

router = APIRouter()
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream


def live_calls(request: Request) -> LiveCalls:
    calls: LiveCalls = request.app.state.live_calls
    return calls


@router.get("/practice")
def practice_page(request: Request, who: LoggedIn, scenario: str = "") -> Response:
    """Pick a scenario (a trainer may send a link with ``?scenario=`` set) and talk."""
    from calmline.customer.scenario import list_scenarios

    packs = list_scenarios()
    chosen = scenario if any(p.id == scenario for p in packs) else ""
    return render(request, "practice.html", who, packs=packs, chosen=chosen)


def _groups(db: DB, who: Viewer) -> list[str]:
    return auth.trainer_groups(db, who.user) if who.role == "trainer" else []


@router.get("/room")
def room_page(request: Request, who: LoggedIn, db: DB) -> Response:
    calls = live_calls(request).visible(who.role, who.name, _groups(db, who))
    return render(request, "room.html", who, calls=calls, shows_anger=shows_anger)


def _watchable(request: Request, who: Viewer, db: DB, call_id: str) -> LiveCall:
    call = live_calls(request).get(call_id)
    if call is None or not may_watch(call, who.role, who.name, _groups(db, who)):
        # the same answer either way: a guessed id says nothing about other learners' calls
        raise HTTPException(
            status_code=404, detail="No call in progress with that id that you can watch."
        )
    return call


@router.get("/room/{call_id}")
def live_page(request: Request, call_id: str, who: LoggedIn, db: DB) -> Response:
    call = _watchable(request, who, db, call_id)
    return render(request, "live.html", who, call=call, anger=shows_anger(call, who.role))


@router.get("/room/{call_id}/events")
async def live_events(request: Request, call_id: str, who: LoggedIn, db: DB) -> Response:
    call = _watchable(request, who, db, call_id)
    history, queue = call.watch()
    if not shows_anger(call, who.role):
        history = [m for m in history if not isinstance(m, AngerShown)]
    return StreamingResponse(
        _stream(request, call, history, queue, shows_anger(call, who.role)),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request,
    call: LiveCall,
    history: list[WatchMessage],
    queue: asyncio.Queue[WatchMessage],
    anger: bool,
) -> AsyncIterator[str]:
    """What happened so far, then each new message, until the call ends or the viewer leaves."""
    try:
        for message in history:
            yield f"data: {message.model_dump_json()}\n\n"
            if isinstance(message, CallEnded):
                return
        while not await request.is_disconnected():
            try:
                message = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if isinstance(message, AngerShown) and not anger:
                continue
            yield f"data: {message.model_dump_json()}\n\n"
            if isinstance(message, CallEnded):
                return
    finally:
        call.unwatch(queue)
