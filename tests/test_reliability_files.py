"""What calmline reads is bounded and decoded one way: sizes, special files, YAML depth,
encodings (``limits.py``, ``files.py``, ``text_decode.py``, ``yaml_input.py``).

Each case either works or stops with one ``calmline: error: ...`` line (exit 2) that
names the file and says what to do; never a traceback, a hang or gigabytes of memory.
Commands that refuse a file run with a 2 GB address-space limit, so that if a refusal
ever regressed into reading ``/dev/zero`` the child dies instead of the machine.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from calmline.call.inputs import ScriptInput
from calmline.customer.scenario import validate_file
from calmline.errors import CalmlineError
from calmline.evaluate.report import render_html, render_markdown
from calmline.evaluate.rubric import load_rubric_file
from calmline.evaluate.transcript import load_session, load_transcript
from calmline.limits import MB, limits
from calmline.models import Assessment, SessionRecord, Turn
from calmline.web.sample import tone_wav
from support.cli import CALMLINE, assert_one_clear_line, calmline

TRANSCRIPT = "CUSTOMER: My kettle leaks!\nLEARNER: I'm sorry, I can replace it today.\n"


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def _calmline(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return calmline(*args, timeout=timeout, preexec_fn=_cap_memory)


def _peak(*args: str, timeout: float = 600) -> tuple[int, float, str]:
    """Run calmline in a fresh child; (exit code, its peak RSS in MB, stderr)."""
    probe = (
        "import resource, subprocess, sys\n"
        "try:\n"
        f"    p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout={timeout})\n"
        "    code, err = p.returncode, p.stderr\n"
        "except subprocess.TimeoutExpired:\n"
        "    code, err = -1, 'timed out'\n"
        "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(err, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, CALMLINE, *args], capture_output=True, text=True
    )
    code, peak_kb = proc.stdout.split()[:2]
    return int(code), int(peak_kb) / 1024, proc.stderr


def _transcript(path: Path, turns: int) -> Path:
    lines = (
        f"CUSTOMER: This is complaint number {i}, and I want it sorted!\n"
        f"LEARNER: I'm sorry about complaint {i}; I can refund you today.\n"
        for i in range(turns // 2)
    )
    path.write_text("".join(lines), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- 1. budgets


def test_a_5_mb_transcript_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """80 000 turns ran past 24 GB; now a stat() call refuses it, naming the limit."""
    big = _transcript(tmp_path / "big.txt", 80_000)
    assert big.stat().st_size > 5_000_000
    code, peak_mb, err = _peak("assess", str(big), "--out", str(tmp_path / "out"), timeout=120)
    print(f"assess of a {big.stat().st_size / MB:.1f} MB transcript: peak RSS {peak_mb:.0f} MB")
    assert code == 2, err
    assert "big.txt is 4.9 MB; calmline reads transcripts of up to 2.0 MB" in err
    assert "CALMLINE_MAX_FILE_MB=6" in err and "Traceback" not in err
    assert peak_mb < 1024


@pytest.mark.models
@pytest.mark.slow
def test_assess_at_the_turn_budget_stays_under_a_gigabyte(tmp_path: Path) -> None:
    """The most turns assess accepts: the embedder used to take every turn in one batch
    (1.3 GB at 3 200 turns); in batches of 64 memory hardly grows with the turns."""
    at_limit = _transcript(tmp_path / "long.txt", limits().turns)
    code, peak_mb, err = _peak("assess", str(at_limit), "--json", "--out", str(tmp_path / "o"))
    print(f"assess of {limits().turns} turns: peak RSS {peak_mb:.0f} MB")
    assert code == 0, err
    assert peak_mb < 1024


def test_one_turn_over_the_budget_is_refused(tmp_path: Path) -> None:
    over = _transcript(tmp_path / "over.txt", limits().turns + 2)
    with pytest.raises(CalmlineError, match=r"over\.txt: the transcript has more than 5,000 turns"):
        load_transcript(over)


def test_an_oversized_scenario_pack_is_refused_before_parsing(tmp_path: Path, repo: Path) -> None:
    """A 13 MB pack was accepted after 18.7 s and 623 MB."""
    pack = tmp_path / "kettle-counter.yaml"
    good = (repo / "prompts" / "scenarios" / "kettle-counter.yaml").read_text()
    pack.write_text(good + ("# padding " + "x" * 990 + "\n") * 14_000)
    problems = validate_file(pack)
    assert len(problems) == 1 and "13 MB" in problems[0] and "CALMLINE_MAX_FILE_MB" in problems[0]


def test_a_recording_over_the_length_budget_is_refused_before_the_model_loads(
    tmp_path: Path,
) -> None:
    wav = tmp_path / "tone.wav"
    tone_wav(wav, seconds=4.0)
    proc = subprocess.run(
        [CALMLINE, "transcribe", str(wav)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CALMLINE_MAX_AUDIO_HOURS": "0.0005"},  # 1.8 s
    )
    assert_one_clear_line(
        proc, "tone.wav is 4 seconds long; a recording to transcribe is at most 2"
    )
    assert "CALMLINE_MAX_AUDIO_HOURS=1" in proc.stderr


def test_the_budgets_are_raised_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALMLINE_MAX_FILE_MB", "20")
    monkeypatch.setenv("CALMLINE_MAX_TURNS", "9000")
    monkeypatch.setenv("CALMLINE_MAX_SESSION_MB", "nonsense")  # ignored: the default holds
    assert limits().file_bytes == 20 * MB and limits().turns == 9000
    assert limits().session_bytes == 64 * MB


# --------------------------------------------------------------------------- 5. special files


def test_devices_are_refused_by_name_not_read(tmp_path: Path) -> None:
    """``/dev/zero`` was read until memory ran out."""
    assert_one_clear_line(_calmline("assess", "/dev/zero"), "/dev/zero is a character device")
    check = _calmline("scenarios", "check", "/dev/zero")
    assert check.returncode == 1 and "/dev/zero is a character device" in check.stdout
    assert_one_clear_line(_calmline("transcribe", "/dev/zero"), "character device")


def test_a_fifo_is_never_opened(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until someone writes: assess used to hang."""
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    words = f"{fifo} is a named pipe (FIFO)"
    assert_one_clear_line(_calmline("assess", str(fifo), timeout=30), words)
    assert_one_clear_line(_calmline("transcribe", str(fifo), timeout=30), words)  # said "directory"
    check = _calmline("scenarios", "check", str(fifo), timeout=30)
    assert words in check.stdout
    out = str(tmp_path / "rec")
    practice = ("practice", "--no-speak", "--out", out, "--input", "text")
    assert_one_clear_line(_calmline(*practice[:-2], "--script", str(fifo), timeout=30), words)
    audio = _calmline("practice", "--no-speak", "--audio", str(fifo), timeout=30)
    assert_one_clear_line(audio, words)


def test_a_directory_is_called_a_directory(tmp_path: Path) -> None:
    assert_one_clear_line(_calmline("transcribe", str(tmp_path)), f"{tmp_path} is a directory")
    with pytest.raises(CalmlineError, match="is a directory, not a transcript"):
        load_transcript(tmp_path)


# --------------------------------------------------------------------------- 6. YAML depth


def test_deeply_nested_yaml_is_one_clear_line(tmp_path: Path, repo: Path) -> None:
    """100 000 levels ended in RecursionError: "this is a bug in calmline"."""
    deep = "a: " + "[" * 100_000 + "]" * 100_000 + "\n"
    pack = tmp_path / "deep.yaml"
    pack.write_text(deep)
    problems = validate_file(pack)
    assert len(problems) == 1 and "nested more than 40 levels" in problems[0]
    check = _calmline("scenarios", "check", str(pack))
    assert "nested more than 40 levels" in check.stdout and "Traceback" not in check.stderr
    rubric = tmp_path / "difficult_customers.yaml"
    rubric.write_text(deep)
    with pytest.raises(CalmlineError, match=r"difficult_customers\.yaml: line 1.*nested"):
        load_rubric_file(rubric)


def test_aliases_that_expand_to_billions_are_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    pack = tmp_path / "laughs.yaml"
    pack.write_text("\n".join(lines) + "\n")
    problems = validate_file(pack)
    assert len(problems) == 1 and "more than 1,000,000 values" in problems[0]


# --------------------------------------------------------------------------- 8. encodings


def test_latin1_is_refused_with_a_hint_everywhere(tmp_path: Path) -> None:
    """assess used to replace the bytes silently ("Ren�e"), while practice refused them."""
    path = tmp_path / "latin1.txt"
    path.write_bytes("CUSTOMER: I'm Renée, it cost £30!\nLEARNER: Sorry.\n".encode("latin-1"))
    with pytest.raises(CalmlineError) as caught:
        load_transcript(path)
    assert "latin1.txt: line 1: not UTF-8 text" in caught.value.message
    assert "iconv" in caught.value.hint
    with pytest.raises(CalmlineError, match="not UTF-8 text"):
        ScriptInput.from_file(path)
    assert_one_clear_line(_calmline("assess", str(path)), "not UTF-8 text")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_bom_and_utf16_transcripts_are_read(tmp_path: Path, encoding: str) -> None:
    """Were "text before the first speaker label" with no hint."""
    path = tmp_path / "call.txt"
    path.write_bytes(TRANSCRIPT.replace("sorry", "sorry, Renée").encode(encoding))
    record = load_transcript(path)
    assert [t.speaker for t in record.turns] == ["customer", "learner"]
    assert record.turns[1].text == "I'm sorry, Renée, I can replace it today."


def test_a_script_with_a_bom_keeps_it_out_of_the_first_turn(tmp_path: Path) -> None:
    script = tmp_path / "turns.txt"
    script.write_bytes("Hello, how can I help?\nI'm sorry.\n".encode("utf-8-sig"))
    first = ScriptInput.from_file(script).next_utterance("call")
    assert first is not None and first.text == "Hello, how can I help?"


def test_control_characters_never_reach_a_report(tmp_path: Path) -> None:
    path = tmp_path / "nul.txt"
    path.write_bytes(b"CUSTOMER: It leaks\x00!\nLEARNER: I'm \x1b[31msorry\x00, really.\n")
    record = load_transcript(path)
    assert record.turns[1].text == "I'm [31msorry, really."
    # a session.json from an older calmline may still hold them: the reports drop them
    old = SessionRecord(
        id="old",
        scenario="kettle-counter",
        turns=[Turn(index=0, speaker="learner", text="sorry\x00\x07 about that")],
    )
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "session.json").write_text(old.model_dump_json())
    loaded = load_session(folder)
    assessment = Assessment(session_id="old", rubric_id="r", verdicts=[], score=0, passed=False)
    for text in (render_markdown(loaded, [assessment]), render_html(loaded, [assessment])):
        assert "\x00" not in text and "\x07" not in text and "sorry about that" in text
    assert json.loads((folder / "session.json").read_text())["turns"][0]["text"].count("\x00") == 1
