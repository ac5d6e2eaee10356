"""Speech to text on a model server: any OpenAI-compatible ``/v1/audio/transcriptions``.

A training centre runs Whisper on a GPU box (faster-whisper-server, vLLM, OpenAI
itself) and points calmline at it with ``--stt openai`` / ``CALMLINE_STT_URL``. The
in-process ``WhisperTranscriber`` stays the default. This is the only module that
talks to such an endpoint; it sends each turn as a 16-bit WAV in a multipart form and
reads the answer back into the same ``Transcription`` the local model gives.

Every failure is a :class:`TranscriptionFailed`: one line naming the endpoint and
what went wrong, carrying the turn's audio so that the call can keep it on disk
(``call.practice`` writes it beside the session) even though no text came back.
"""

from __future__ import annotations

import io
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from calmline.errors import CalmlineError
from calmline.models import Segment, Transcription, WordTiming
from calmline.protocols import SAMPLE_RATE, AudioArray
from calmline.speech.audio import is_silent

DEFAULT_MODEL = "whisper-1"  # OpenAI's name; servers with one model ignore it
FILE_WINDOW_S = 60.0  # transcribe_file: about 2 MB of WAV and a few seconds a request
MAX_ANSWER_BYTES = 4 << 20  # a turn's transcript is a few KB; more is not a transcript
ROUTE = "/audio/transcriptions"


class TranscriptionFailed(CalmlineError):
    """The endpoint gave no transcript for a turn.

    Attributes:
        audio: the audio that was sent (kept by the caller: nothing the learner said is lost).
        retryable: a later attempt may succeed (connection, time-out, 429, 5xx).
    """

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        audio: AudioArray | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message, hint)
        self.audio = audio
        self.retryable = retryable


@dataclass
class RemoteSTTOptions:
    """Where and how to reach the endpoint.

    Attributes:
        base_url: the API root, e.g. ``http://gpu-box:8000/v1`` (``/audio/transcriptions``
            is added).
        model: the model name sent with each request.
        api_key: sent as a bearer token when given.
        timeout_s: seconds to wait for an answer (Whisper on a busy server can queue).
        connect_timeout_s: seconds to wait for the connection itself.
        attempts: tries per turn for failures worth retrying; after a turn used them all,
            the next turn gets one try, so a dead server does not cost every turn the backoff.
        backoff_s: pause before the second try (doubled for each further one).
        language: the language asked for (calmline's packs are English).
    """

    base_url: str
    model: str = DEFAULT_MODEL
    api_key: str | None = None
    timeout_s: float = 30.0
    connect_timeout_s: float = 5.0
    attempts: int = 2
    backoff_s: float = 0.3
    language: str = "en"


class RemoteTranscriber:
    """The ``Transcriber`` protocol over HTTP.

    It asks for ``verbose_json`` with word timings (the tone reader measures speaking
    rate from them); a server that refuses that format (HTTP 400) is asked for plain
    ``json`` from then on, and turns then carry text without word times.
    """

    def __init__(
        self,
        options: RemoteSTTOptions,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self.base_url = options.base_url.rstrip("/")
        self.url = self.base_url + ROUTE
        self.name = f"openai-stt:{options.model}"
        self.response_format = "verbose_json"
        self.down = False
        self.last_seconds = 0.0
        self._sleep = sleep
        headers = {"Authorization": f"Bearer {options.api_key}"} if options.api_key else {}
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(
                options.timeout_s, connect=min(options.connect_timeout_s, options.timeout_s)
            ),
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def warm(self) -> None:
        """Check the endpoint answers before the call starts (a second of a 220 Hz tone)."""
        t = np.arange(SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
        self.transcribe((0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))

    def transcribe(self, audio: AudioArray) -> Transcription:
        """Transcribe one utterance; word times are seconds into ``audio``."""
        audio = np.asarray(audio, dtype=np.float32)
        duration = audio.size / SAMPLE_RATE
        if is_silent(audio):  # Whisper invents words for silence; no request needed
            self.last_seconds = 0.0
            return Transcription(text="", duration=duration, model=self.name)
        started = time.perf_counter()
        body = wav_bytes(audio)
        try:
            data = self._request(body)
            result = parse_answer(data, duration, self.name, self.base_url)
        except TranscriptionFailed as exc:
            exc.audio = audio
            raise
        self.last_seconds = time.perf_counter() - started
        return result

    def transcribe_file(self, path: str | Path, window_s: float = FILE_WINDOW_S) -> Transcription:
        """A whole recording, sent in windows of about ``window_s`` seconds cut at quiet
        moments (as ``WhisperTranscriber.transcribe_file`` does), so that each request
        stays small and quick whatever the file's length; times are into the whole file."""
        from calmline.speech.stt import transcribe_in_windows

        started = time.perf_counter()
        result = transcribe_in_windows(path, window_s, self.transcribe, self.name)
        self.last_seconds = time.perf_counter() - started
        return result

    # ------------------------------------------------------------------ internals

    def _request(self, body: bytes) -> Any:
        attempts = 1 if self.down else max(1, self.options.attempts)
        for attempt in range(1, attempts + 1):
            try:
                answer = self._post(body)
            except TranscriptionFailed as exc:
                if not exc.retryable or attempt == attempts:
                    self.down = self.down or exc.retryable
                    raise
                self._sleep(self.options.backoff_s * 2 ** (attempt - 1))
                continue
            self.down = False
            return answer
        raise AssertionError("unreachable")  # the loop returns or raises

    def _post(self, body: bytes) -> Any:
        try:
            response = self._client.post(
                self.url, files={"file": ("turn.wav", body, "audio/wav")}, data=self._form()
            )
            if response.status_code == 400 and self.response_format != "json":
                # verbose_json is an extension some servers lack: fall back to plain json.
                self.response_format = "json"
                response = self._client.post(
                    self.url, files={"file": ("turn.wav", body, "audio/wav")}, data=self._form()
                )
        except httpx.TimeoutException as exc:
            raise TranscriptionFailed(
                f"the speech-to-text endpoint at {self.base_url} timed out "
                f"after {self.options.timeout_s:g} s",
                "the server may be overloaded; raise CALMLINE_STT_TIMEOUT or use --stt local",
                retryable=True,
            ) from exc
        except httpx.HTTPError as exc:
            raise TranscriptionFailed(
                f"cannot reach the speech-to-text endpoint at {self.base_url}",
                "start the server, check --stt-url / CALMLINE_STT_URL, or use --stt local",
                retryable=True,
            ) from exc
        if response.status_code != 200:
            raise _status_error(response, self.base_url)
        if len(response.content) > MAX_ANSWER_BYTES:
            raise _bad_answer(self.base_url, f"{len(response.content):,} bytes for one turn")
        try:
            return response.json()
        except ValueError as exc:
            raise _bad_answer(self.base_url, "the answer is not JSON") from exc

    def _form(self) -> dict[str, Any]:
        form: dict[str, Any] = {
            "model": self.options.model,
            "language": self.options.language,
            "response_format": self.response_format,
        }
        if self.response_format == "verbose_json":
            form["timestamp_granularities[]"] = ["word", "segment"]
        return form


def wav_bytes(audio: AudioArray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono 16-bit PCM WAV of ``audio`` in memory (what every transcription server reads)."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


def parse_answer(data: Any, duration: float, model: str, base_url: str = "") -> Transcription:
    """An OpenAI transcription answer (``json`` or ``verbose_json``) as a ``Transcription``;
    times are clamped to the audio sent."""

    def clamp(value: Any) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"a time is {value!r}, not a number")
        return min(max(float(value), 0.0), duration)

    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise _bad_answer(base_url, "no 'text' in the answer")
    try:
        segments = [
            Segment(start=clamp(s["start"]), end=clamp(s["end"]), text=str(s["text"]).strip())
            for s in data.get("segments") or []
        ]
        words = []
        for w in data.get("words") or []:
            start = clamp(w["start"])
            words.append(
                WordTiming(
                    word=str(w["word"]).strip(),
                    start=start,
                    end=max(clamp(w["end"]), start),
                    probability=w.get("probability"),
                )
            )
    except (KeyError, TypeError, ValueError) as exc:
        raise _bad_answer(base_url, f"malformed segments or words ({exc})") from exc
    return Transcription(
        text=" ".join(data["text"].split()),
        language=str(data.get("language") or "en")[:16],
        duration=duration,
        segments=segments,
        words=words,
        model=model,
    )


def _bad_answer(base_url: str, what: str) -> TranscriptionFailed:
    where = f" at {base_url}" if base_url else ""
    return TranscriptionFailed(
        f"the speech-to-text endpoint{where} answered badly: {what}",
        "check that the server implements the OpenAI /v1/audio/transcriptions API",
    )


def _status_error(response: httpx.Response, base_url: str) -> TranscriptionFailed:
    status = response.status_code
    detail = _detail(response)
    if status == 429 or status >= 500:
        return TranscriptionFailed(
            f"the speech-to-text endpoint at {base_url} answered HTTP {status}{detail}",
            "the server is busy or failing; try again later or use --stt local",
            retryable=True,
        )
    if status in (401, 403):
        return TranscriptionFailed(
            f"the speech-to-text endpoint at {base_url} refused the API key (HTTP {status})",
            "set CALMLINE_STT_API_KEY",
        )
    if status == 404:
        return TranscriptionFailed(
            f"the speech-to-text endpoint at {base_url} has no {ROUTE} route (HTTP 404)",
            "check that --stt-url / CALMLINE_STT_URL ends in /v1 and serves speech to text",
        )
    return TranscriptionFailed(
        f"the speech-to-text endpoint at {base_url} rejected the request (HTTP {status}){detail}",
        "check CALMLINE_STT_MODEL and the server's log",
    )


def _detail(response: httpx.Response) -> str:
    """The server's own error message, short, for the one line the user sees.

    OpenAI sends ``{"error": {"message": …}}``; FastAPI servers ``{"detail": …}``, which
    faster-whisper-server fills with the OpenAI shape again.
    """
    try:
        body: Any = response.json()
    except ValueError:
        lines = response.text.strip().splitlines()
        return f": {lines[0][:200]}" if lines else ""
    for _ in range(3):  # unwrap {"detail": {"error": {"message": …}}} and the like
        if isinstance(body, dict):
            body = body.get("error") or body.get("detail") or body.get("message")
        if isinstance(body, str):
            return f": {body[:200]}"
    return ""


def load_remote_transcriber(
    base_url: str | None,
    model: str | None = None,
    api_key: str | None = None,
    timeout_s: float | None = None,
) -> RemoteTranscriber:
    """A ``RemoteTranscriber`` from flags, falling back to the ``CALMLINE_STT_*`` variables."""
    from calmline.config import environment

    env = environment()
    url = base_url or env.stt_url
    if not url:
        raise CalmlineError(
            "--stt openai needs the speech-to-text endpoint's address",
            "pass --stt-url http://HOST:PORT/v1 or set CALMLINE_STT_URL",
        )
    if not url.startswith(("http://", "https://")):
        raise CalmlineError(
            f"the speech-to-text URL {url!r} is not an http(s) address",
            "e.g. --stt-url http://127.0.0.1:8001/v1",
        )
    return RemoteTranscriber(
        RemoteSTTOptions(
            base_url=url,
            model=model or env.stt_model or DEFAULT_MODEL,
            api_key=api_key or env.stt_api_key,
            timeout_s=timeout_s or env.stt_timeout or 30.0,
        )
    )
