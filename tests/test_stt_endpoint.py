"""Speech to text through an OpenAI-compatible ``/v1/audio/transcriptions`` endpoint.

The real path: faster-whisper-server (PyPI) on loopback serves the bundled tiny.en from
disk, and espeak-ng speech goes through it, alone and in a ``calmline practice`` call.
The failure paths: nothing listening, a server that hangs, errors and answers that are
not transcripts, each one clear line; a turn the server fails on is kept on disk.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from calmline.protocols import Transcriber
from calmline.speech.audio import write_wav
from calmline.speech.remote_stt import RemoteSTTOptions, RemoteTranscriber, TranscriptionFailed
from support.cli import assert_one_clear_line, calmline
from support.net import closed_port_url
from support.openai_server import FakeOpenAIServer, answer, json_error, raw, reply
from support.speech import say
from support.stt_server import whisper_server

TURNS = [
    "Can you tell me your order number please?",
    "I am sorry your kettle leaks. I will send a new one today.",
]


def words(text: str) -> set[str]:
    return set(re.sub(r"[^a-z' ]", " ", text.lower()).split())


@pytest.fixture(scope="module")
def stt_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with whisper_server(tmp_path_factory.mktemp("stt") / "server.log") as url:
        yield url


def remote(url: str, **options: object) -> RemoteTranscriber:
    return RemoteTranscriber(RemoteSTTOptions(base_url=url, **options))  # type: ignore[arg-type]


@pytest.mark.server
@pytest.mark.models
def test_real_server_transcribes_real_speech(stt_url: str, espeak: str) -> None:
    transcriber = remote(stt_url)
    assert isinstance(transcriber, Transcriber)
    audio = say(TURNS[1])
    result = transcriber.transcribe(audio)
    heard = words(result.text)
    assert {"sorry", "kettle", "send", "new", "today"} <= heard, result.text
    assert result.model == "openai-stt:whisper-1"
    assert result.duration == pytest.approx(audio.size / 16_000)
    assert result.segments and all(
        0 <= s.start <= s.end <= result.duration for s in result.segments
    )
    # silence never reaches the server (Whisper invents "Thank you." for it)
    assert transcriber.transcribe(audio[:0]).text == ""


@pytest.mark.server
@pytest.mark.models
def test_practice_call_hears_the_learner_through_the_endpoint(
    stt_url: str, espeak: str, tmp_path: Path
) -> None:
    files = []
    for i, text in enumerate(TURNS):
        files.append(write_wav(tmp_path / f"turn{i}.wav", say(text)))
    out = tmp_path / "rec"
    with FakeOpenAIServer([reply("It leaks every single time.")]) as llm:
        proc = calmline(
            "practice", "--audio", *map(str, files), "--stt", "openai", "--stt-url", stt_url,
            "--no-speak", "--no-debrief", "--no-assess", "--json", "--out", str(out),
            "--llm", "openai", "--base-url", llm.base_url, "--api-key", "x", "--model", "m",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    record = json.loads((Path(json.loads(proc.stdout)["session"]) / "session.json").read_text())
    learner = [t for t in record["turns"] if t["speaker"] == "learner"]
    assert [t["audio"] for t in learner] == ["turn-001-learner.wav", "turn-003-learner.wav"]
    assert {"tell", "order", "please"} <= words(learner[0]["text"]), learner[0]["text"]
    assert {"kettle", "new", "today"} <= words(learner[1]["text"]), learner[1]["text"]
    assert record["models"]["stt"] == f"openai:whisper-1@{stt_url}"


@pytest.mark.server
@pytest.mark.models
def test_transcribe_command_through_the_endpoint(stt_url: str, espeak: str, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "call.wav", np.concatenate([say(TURNS[1]), say(TURNS[0])]))
    proc = calmline("transcribe", str(wav), "--stt-url", stt_url, "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {"sorry", "send", "today", "tell", "order"} <= words(result["text"]), result["text"]
    assert result["model"] == "openai-stt:whisper-1"
    assert result["duration"] == pytest.approx(result["segments"][-1]["end"], abs=1.5)


@pytest.mark.server
def test_server_down_is_one_clear_line_before_the_call(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "t.wav", say(TURNS[0]))
    url = closed_port_url()
    proc = calmline(
        "practice", "--audio", str(wav), "--no-speak", "--no-debrief", "--no-assess",
        "--out", str(tmp_path / "rec"), "--llm", "openai", "--base-url", url,
        env={**os.environ, "CALMLINE_STT_URL": url},
    )  # fmt: skip
    assert_one_clear_line(proc, "cannot reach the speech-to-text endpoint", url)
    assert "--stt local" in proc.stderr
    assert not (tmp_path / "rec").exists()  # failed before a session was started


def test_stt_openai_needs_an_address(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CALMLINE_STT_URL"}
    proc = calmline(
        "practice", "--audio", str(tmp_path / "x.wav"), "--stt", "openai", "--no-speak", env=env
    )
    assert_one_clear_line(proc, "--stt openai needs the speech-to-text endpoint's address")


@pytest.mark.server
@pytest.mark.parametrize(
    ("step", "needle"),
    [
        (json_error(500), "answered HTTP 500: injected 500"),
        (json_error(401), "refused the API key (HTTP 401)"),
        (json_error(404), "has no /audio/transcriptions route (HTTP 404)"),
        (raw(b"<html>proxy error</html>"), "answered badly: the answer is not JSON"),
        (answer({"transcript": "hello"}), "answered badly: no 'text' in the answer"),
        (
            answer({"text": "hi", "segments": [{"start": "soon", "end": 1, "text": "hi"}]}),
            "answered badly: malformed segments or words",
        ),
    ],
)
def test_bad_answers_are_clear_errors_carrying_the_audio(step: object, needle: str) -> None:
    audio = say("Hello there.")
    with FakeOpenAIServer([step]) as server:  # type: ignore[list-item]
        transcriber = remote(server.base_url, backoff_s=0.0)
        with pytest.raises(TranscriptionFailed) as caught:
            transcriber.transcribe(audio)
    assert needle in caught.value.message
    assert server.base_url in caught.value.message
    assert caught.value.audio is not None and caught.value.audio.size == audio.size


@pytest.mark.server
def test_a_server_that_hangs_times_out_and_then_gets_one_try() -> None:
    with FakeOpenAIServer.fault("hang", hang_s=30) as server:
        transcriber = remote(server.base_url, timeout_s=0.5, attempts=2, backoff_s=0.0)
        with pytest.raises(TranscriptionFailed, match=r"timed out after 0\.5 s"):
            transcriber.transcribe(say("Hello."))
        assert len(server.requests) == 2  # retried once
        assert transcriber.down
        with pytest.raises(TranscriptionFailed):
            transcriber.transcribe(say("Hello."))
        assert len(server.requests) == 3  # down: one try, not the backoff again


@pytest.mark.server
def test_a_500_is_retried_and_json_only_servers_still_work() -> None:
    script = [json_error(503), json_error(400), answer({"text": " Hello there. "})]
    with FakeOpenAIServer(script) as server:  # type: ignore[arg-type]
        transcriber = remote(server.base_url, backoff_s=0.0)
        result = transcriber.transcribe(say("Hello there."))
    assert result.text == "Hello there."
    assert transcriber.response_format == "json"  # asked once for verbose_json, then json


@pytest.mark.server
def test_a_turn_the_server_fails_on_is_kept_on_disk(tmp_path: Path) -> None:
    """The check before the call and the first turn are heard; then the server answers
    garbage: the call stops with one line, and the unheard turn's audio is in the folder."""
    files = [write_wav(tmp_path / f"turn{i}.wav", say(t)) for i, t in enumerate(TURNS)]
    ok = answer({"text": "I am sorry."})
    out = tmp_path / "rec"
    with (
        FakeOpenAIServer([ok, ok, raw(b"not json")]) as stt,
        FakeOpenAIServer([reply("It leaks every single time.")]) as llm,
    ):
        proc = calmline(
            "practice", "--audio", *map(str, files), "--stt-url", stt.base_url,
            "--no-speak", "--no-debrief", "--no-assess", "--out", str(out),
            "--llm", "openai", "--base-url", llm.base_url, "--api-key", "x", "--model", "m",
        )  # fmt: skip
    assert_one_clear_line(proc, "answered badly", "turn-003-learner-unheard.wav", after_output=True)
    [folder] = list(out.iterdir())
    record = json.loads((folder / "session.json").read_text())
    assert record["outcome"] == "incomplete"
    assert (folder / "turn-001-learner.wav").is_file()
    assert (folder / "turn-003-learner-unheard.wav").stat().st_size > 10_000
    assert any(e["kind"] == "stt_failed" for e in record["events"])


def test_a_failed_phrase_keeps_the_whole_turn_for_the_session() -> None:
    """Live input transcribes a turn phrase by phrase: the failure carries the whole turn."""
    from concurrent.futures import Future

    from calmline.speech.listener import HeardTurn, Phrase

    turn_audio = say(TURNS[0])
    failed: Future[object] = Future()
    failed.set_exception(TranscriptionFailed("the endpoint answered badly", audio=turn_audio[:10]))
    heard = HeardTurn(turn_audio, 0.0, turn_audio.size / 16_000, 0.0, [Phrase(0.0, 1.0, failed)])  # type: ignore[arg-type]
    with pytest.raises(TranscriptionFailed) as caught:
        heard.result()
    assert caught.value.audio is turn_audio


@pytest.mark.server
def test_a_debrief_answer_the_server_fails_on_is_kept_and_the_call_stands(
    tmp_path: Path,
) -> None:
    call = write_wav(tmp_path / "call.wav", say(TURNS[0]))
    answer_wav = write_wav(tmp_path / "debrief.wav", say("I would stay calm and listen."))
    ok = answer({"text": "Can you tell me your order number please?"})
    out = tmp_path / "rec"
    with (
        FakeOpenAIServer([ok, ok, json_error(500)]) as stt,
        FakeOpenAIServer([reply("It leaks every single time.")]) as llm,
    ):
        proc = calmline(
            "practice", "--audio", str(call), "--debrief-audio", str(answer_wav),
            "--stt-url", stt.base_url, "--no-speak", "--no-assess", "--out", str(out),
            "--llm", "openai", "--base-url", llm.base_url, "--api-key", "x", "--model", "m",
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Speech to text failed in the debrief" in proc.stdout + proc.stderr
    [folder] = list(out.iterdir())
    [kept] = list(folder.glob("turn-*-learner-unheard.wav"))
    record = json.loads((folder / "session.json").read_text())
    assert record["outcome"] != "incomplete"
    assert any(e["kind"] == "stt_failed" and kept.name in e["detail"] for e in record["events"])
