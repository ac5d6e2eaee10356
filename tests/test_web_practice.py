"""The browser practice call without a browser: its messages, the socket's refusals and
limits through FastAPI's TestClient, the live room's access rules, and the browser input
and output of the call engine."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from calmline.call.browser_io import (
    BrowserInput,
    BrowserSink,
    BrowserStopped,
    pcm16_to_float,
    wav_bytes,
)
from calmline.testing.fakes import FakeTranscriber
from calmline.web.live_calls import LiveCall, LiveCalls
from calmline.web.practice_messages import (
    AngerShown,
    CallEnded,
    EndCall,
    Problem,
    StartCall,
    TurnShown,
    TypedTurn,
    client_message,
)
from calmline.web.practice_socket import origin_allowed, unreadable
from support.web import login

WS = "ws://127.0.0.1/practice/ws"
SAME_ORIGIN = {"origin": "http://127.0.0.1"}

# --------------------------------------------------------------------------- messages


def test_client_messages_parse_by_type_and_refuse_what_they_do_not_know() -> None:
    assert client_message.validate_json('{"type": "start", "scenario": "kettle-counter"}') == (
        StartCall(scenario="kettle-counter")
    )
    assert client_message.validate_json('{"type": "text", "text": "hello"}') == TypedTurn(
        text="hello"
    )
    assert isinstance(client_message.validate_json('{"type": "end"}'), EndCall)
    for bad in (
        '{"type": "shell", "cmd": "rm"}',
        '{"type": "text", "text": ""}',
        json.dumps({"type": "text", "text": "x" * 2001}),
        '{"type": "start", "scenario": ""}',
        "not json",
    ):
        with pytest.raises(ValidationError):
            client_message.validate_json(bad)


def test_server_messages_carry_their_type() -> None:
    problem = json.loads(Problem(code="frame_too_large", message="too big").model_dump_json())
    assert problem == {"type": "error", "code": "frame_too_large", "message": "too big"}
    turn = TurnShown(index=2, speaker="customer", phase="call", text="It leaks.")
    assert json.loads(turn.model_dump_json())["type"] == "turn"


# --------------------------------------------------------------------------- origin and login


@pytest.mark.parametrize(
    ("origin", "host", "ok"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("https://train.example", "train.example", True),
        ("http://127.0.0.1:9999", "127.0.0.1:8000", False),  # another local site
        ("https://evil.example", "train.example", False),
        ("null", "train.example", False),  # a sandboxed frame or a file: page
        (None, "train.example", False),
        ("ftp://train.example", "train.example", False),
    ],
)
def test_origin_must_be_the_server_itself(origin: str | None, host: str, ok: bool) -> None:
    assert origin_allowed(origin, host) is ok


def test_a_message_the_server_cannot_take_is_explained() -> None:
    assert "at most" not in unreadable('{"type": "shell"}')
    assert "1 to 2000 characters" in unreadable(json.dumps({"type": "text", "text": "x" * 2001}))
    assert "does not know" in unreadable("not json")


def test_an_extra_origin_can_be_allowed() -> None:
    assert origin_allowed("https://proxy.example/", "10.0.0.5:8000", ("https://proxy.example",))


def refusal(client: TestClient, headers: dict[str, str]) -> tuple[dict[str, Any], int]:
    """The problem message and close code of a socket the server refuses."""
    with client.websocket_connect(WS, headers=headers) as ws:
        problem = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
    return problem, closed.value.code


def test_a_socket_from_another_site_is_refused_with_a_reason(app: FastAPI) -> None:
    client = login(app, "alice")
    problem, code = refusal(client, {"origin": "https://evil.example"})
    assert problem["code"] == "origin" and "not opened from this server" in problem["message"]
    assert code == 1008


def test_a_socket_without_a_login_is_refused(app: FastAPI) -> None:
    client = TestClient(app, base_url="http://127.0.0.1")
    problem, code = refusal(client, SAME_ORIGIN)
    assert problem["code"] == "login" and "Log in again" in problem["message"]
    assert code == 1008


def test_connections_per_user_are_limited(app: FastAPI) -> None:
    app.state.calmline.settings.practice_connections = 1
    alice = login(app, "alice")
    with alice.websocket_connect(WS, headers=SAME_ORIGIN) as first:
        problem, _ = refusal(alice, SAME_ORIGIN)
        assert problem["code"] == "too_many_connections"
        assert "Close one of them" in problem["message"]
        # another learner is not affected
        with login(app, "bob").websocket_connect(WS, headers=SAME_ORIGIN) as other:
            other.send_text('{"type": "start", "scenario": "no-such-pack"}')
            assert other.receive_json()["code"] == "unknown_scenario"
        first.send_text('{"type": "text", "text": "hello"}')  # before start: refused politely
        assert first.receive_json()["code"] == "bad_message"
    # the first connection closed: alice may open a new one
    with alice.websocket_connect(WS, headers=SAME_ORIGIN) as again:
        # a pack is named by id only: a path to a file on the server is not a scenario
        again.send_text('{"type": "start", "scenario": "/etc/passwd"}')
        problem = again.receive_json()
        assert (
            problem["code"] == "unknown_scenario"
            and "Choose one from the list" in problem["message"]
        )


# --------------------------------------------------------------------------- the room


def live_call(
    learner: str, group: str, call_id: str = "20261206-120000-kettle-counter-aaaa"
) -> LiveCall:
    return LiveCall(
        id=call_id, learner=learner, group=group, scenario="kettle-counter", title="Kettle"
    )


def test_the_room_shows_trainers_their_groups_and_learners_their_own(app: FastAPI) -> None:
    calls: LiveCalls = app.state.live_calls
    mine, other = (
        live_call("alice", "g1"),
        live_call("bob", "g2", "20261206-120000-late-parcel-bbbb"),
    )
    calls.add(mine)
    calls.add(other)
    tina, alice, bob = login(app, "tina"), login(app, "alice"), login(app, "bob")
    room = tina.get("/room").text
    assert mine.id in room and other.id not in room  # tina trains g1 only
    assert mine.id in login(app, "admin").get("/room").text
    assert other.id not in alice.get("/room").text
    assert tina.get(f"/room/{mine.id}").status_code == 200
    assert alice.get(f"/room/{mine.id}").status_code == 200
    assert bob.get(f"/room/{mine.id}").status_code == 404  # another learner's call
    assert tina.get(f"/room/{other.id}").status_code == 404
    assert bob.get(f"/room/{mine.id}/events").status_code == 404


def test_the_live_stream_replays_the_call_and_ends_with_it(app: FastAPI) -> None:
    call = live_call("alice", "g1")
    app.state.live_calls.add(call)
    call.publish(
        TurnShown(index=0, speaker="customer", phase="call", text="It leaks <b>again</b>.")
    )
    call.publish(CallEnded(outcome="satisfied", session_url=f"/sessions/{call.id}"))
    body = login(app, "tina").get(f"/room/{call.id}/events").text
    events = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events] == ["turn", "ended"]
    assert events[0]["text"] == "It leaks <b>again</b>."  # data, shown as text by the page


def test_an_exam_call_shows_the_learner_no_anger_but_the_trainer_does(app: FastAPI) -> None:
    call = live_call("alice", "g1")
    call.exam = True
    app.state.live_calls.add(call)
    call.publish(AngerShown(turn=1, anger=62.0, band="angry"))
    call.publish(CallEnded(outcome="hung_up", session_url=f"/sessions/{call.id}"))

    def types(name: str) -> list[str]:
        body = login(app, name).get(f"/room/{call.id}/events").text
        return [json.loads(x[6:])["type"] for x in body.splitlines() if x.startswith("data: ")]

    assert types("tina") == ["anger", "ended"]
    assert types("alice") == ["ended"]


def test_live_calls_count_connections_per_user() -> None:
    calls = LiveCalls()
    assert calls.connect("alice", 2) and calls.connect("alice", 2)
    assert not calls.connect("alice", 2)
    calls.disconnect("alice")
    assert calls.connect("alice", 2)


def test_watchers_get_what_is_published_from_another_thread() -> None:
    call = live_call("alice", "g1")

    async def watch() -> list[str]:
        history, queue = call.watch()
        thread = threading.Thread(
            target=call.publish,
            args=(TurnShown(index=1, speaker="learner", phase="call", text="Sorry."),),
        )
        thread.start()
        got = await asyncio.wait_for(queue.get(), 30)
        thread.join()
        call.unwatch(queue)
        return [m.type for m in [*history, got]]

    assert asyncio.run(watch()) == ["turn"]
    assert call.learner_turns == 1


# --------------------------------------------------------------------------- browser input/output


def test_pcm_frames_become_float_samples() -> None:
    frame = np.array([0, 16384, -32768, 32767], dtype="<i2").tobytes() + b"\x01"  # odd byte
    assert pcm16_to_float(frame).tolist() == pytest.approx([0.0, 0.5, -1.0, 32767 / 32768])


def test_typed_turns_and_end_call_reach_the_call() -> None:
    learner = BrowserInput(FakeTranscriber([]))
    learner.submit_text("  ")  # ignored
    learner.submit_text("I can replace it today.")
    learner.end_call()
    utt = learner.next_utterance("call")
    assert utt is not None and (utt.text, utt.source) == ("I can replace it today.", "typed")
    assert learner.next_utterance("call") is None


def test_a_disconnect_stops_the_call_once_what_was_typed_is_taken() -> None:
    learner = BrowserInput(FakeTranscriber([]))
    learner.submit_text("Let me check the order.")
    learner.stop("the browser disconnected")
    assert learner.next_utterance("call") is not None
    with pytest.raises(BrowserStopped, match="disconnected"):
        learner.next_utterance("call")
    with pytest.raises(BrowserStopped):  # and stays stopped
        learner.next_utterance("debrief")


def test_the_sink_sends_wav_chunks_and_stops_the_page_on_barge_in() -> None:
    sent: list[bytes] = []
    stops: list[bool] = []
    sink = BrowserSink(sent.append, lambda: stops.append(True))
    sink.begin()
    sink.play(np.zeros(1600, np.float32), 16_000)
    assert sent and sent[0][:4] == b"RIFF" and sink.first_sample_at is not None
    sink.stop()
    assert stops == [True]
    sink.gone.set()  # the page went away: nothing more is sent or waited for
    sink.begin()
    sink.play(np.zeros(16_000 * 60, np.float32), 16_000)
    assert len(sent) == 1 and sink.wait()


def test_wav_bytes_round_trip() -> None:
    import io
    import wave

    with wave.open(io.BytesIO(wav_bytes(np.full(160, 0.5, np.float32), 22_050))) as w:
        assert (w.getframerate(), w.getnframes(), w.getsampwidth()) == (22_050, 160, 2)


# --------------------------------------------------------------------------- on the real models


@contextmanager
def started_call(app: FastAPI, name: str = "alice") -> Iterator[WebSocketTestSession]:
    with login(app, name).websocket_connect(WS, headers=SAME_ORIGIN) as ws:
        ws.send_text('{"type": "start", "scenario": "kettle-counter"}')
        assert next_message(ws, "ready")["session_id"]
        yield ws


def next_message(ws: WebSocketTestSession, kind: str) -> dict[str, Any]:
    """Reads (skipping audio and other messages) until a message of type ``kind``."""
    while True:
        message = ws.receive()
        if message["type"] == "websocket.close":
            raise AssertionError(f"closed before a {kind!r} message: {message}")
        if message.get("text") is not None:
            data = json.loads(message["text"])
            if data["type"] == kind:
                return data


def wait_until(done: Callable[[], bool], seconds: float = 300) -> bool:
    """Polls ``done`` until it holds (a generous bound on a shared machine, not a timing)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


@pytest.mark.models
def test_an_oversized_frame_is_refused_and_the_call_is_still_marked(app: FastAPI) -> None:
    app.state.calmline.settings.practice_frame_bytes = 3200
    with started_call(app) as ws:
        ws.send_bytes(b"\x00" * 3200)  # at the limit: taken
        ws.send_bytes(b"\x00" * 3202)
        problem = next_message(ws, "error")
        assert problem["code"] == "frame_too_large" and "at most 3200" in problem["message"]
        marking = next_message(ws, "marking")
    assert marking["outcome"] == "interrupted" and marking["rubrics"]


@pytest.mark.models
def test_the_call_length_is_limited_with_a_message(app: FastAPI) -> None:
    app.state.calmline.settings.practice_call_s = 1.0
    with started_call(app) as ws:
        problem = next_message(ws, "error")
        assert problem["code"] == "call_too_long" and "time limit" in problem["message"]
        assert next_message(ws, "marking")["outcome"] == "interrupted"


@pytest.mark.models
def test_a_browser_that_disconnects_mid_turn_leaves_a_markable_session(app: FastAPI) -> None:
    from calmline.call.session import load_session
    from calmline.web.indexer import load_assessments
    from support.speech import say, silence
    from support.web import session_ids

    rec = app.state.calmline.settings.recordings
    before = set(session_ids(app).get("alice", []))
    speech = np.concatenate([silence(0.5), say("I will replace the kettle for you today.")])
    pcm = (np.clip(speech, -1, 1) * 32767).astype("<i2").tobytes()
    with started_call(app) as ws:
        for start in range(0, len(pcm), 640):  # 20 ms frames, as the page sends
            ws.send_bytes(pcm[start : start + 640])
        # gone without the silence that would end the turn
    (sid,) = set(session_ids(app)["alice"]) - before
    # the call thread finishes on its own after the page has gone: wait for the marking
    assert wait_until(lambda: (rec / sid / "report.html").is_file())
    record = load_session(rec / sid)
    assert record.outcome == "interrupted"
    assert any("disconnected" in e.detail for e in record.events)
    spoken = [t for t in record.turns if t.speaker == "learner"]
    assert spoken and "replace" in spoken[0].text.lower() and spoken[0].audio
    assert load_assessments(rec / sid)  # marked
    tina = login(app, "tina")
    assert wait_until(lambda: sid in tina.get("/sessions").text)  # indexed for the trainer


def typed_call(ws: WebSocketTestSession, words: str) -> dict[str, Any]:
    """Drives a started call by typing: ``words`` and goodbye, then ends the debrief."""
    said = False
    while True:
        message = ws.receive()
        if message["type"] == "websocket.close":
            raise AssertionError(f"closed before the marking: {message}")
        if message.get("text") is None:
            continue
        data = json.loads(message["text"])
        if data["type"] == "marking":
            return data
        if data["type"] == "status" and data["whose"] == "learner":
            if not said:
                ws.send_text(json.dumps({"type": "text", "text": f"{words} Goodbye."}))
                said = True
            else:
                ws.send_text('{"type": "end"}')


@pytest.mark.models
def test_two_learners_practise_at_once_without_mixing_their_sessions(app: FastAPI) -> None:
    from calmline.call.session import load_session

    rec = app.state.calmline.settings.recordings
    words = {
        "alice": "I will replace the kettle at the counter now.",
        "bob": "Let me refund the kettle to your card today.",
    }
    results: dict[str, dict[str, Any]] = {}
    failures: list[BaseException] = []

    def practise(name: str) -> None:
        try:
            with started_call(app, name) as ws:
                results[name] = typed_call(ws, words[name])
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=practise, args=(n,)) for n in words]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert not failures, failures
    assert results["alice"]["session_id"] != results["bob"]["session_id"]
    for name, marking in results.items():
        record = load_session(rec / marking["session_id"])
        assert record.learner == name
        said = " ".join(t.text for t in record.turns if t.speaker == "learner")
        other = next(w for n, w in words.items() if n != name)
        assert words[name] in said and other not in said
        assert marking["rubrics"]
