"""Build the end-of-turn data set, then fit the model that ships beside the listener.

    .venv/bin/python benchmarks/train_end_of_turn.py build   # data/end_of_turn/*.jsonl
    .venv/bin/python benchmarks/train_end_of_turn.py fit     # src/calmline/speech/end_of_turn.npz
    .venv/bin/python benchmarks/train_end_of_turn.py live    # the model on Whisper's text

``build`` takes learner turns as written (the packs' learner scripts and the realism
calls), cuts each at word boundaries into prefixes and labels each one: the whole turn,
or a prefix ending a sentence, is *finished*; a prefix ending anywhere else (mid-clause,
at a comma, on a filler inserted there) is *unfinished*. Each prefix is spoken by
espeak-ng *inside its whole turn* with a 900 ms SSML break at the cut, so the voice
before the pause is the voice of a turn that goes on, not of a line read to its end;
the voice features are read from the audio before the break. The split is by source
file (no turn of a test file is in train or dev), and ``test.jsonl`` is written with its
SHA-256 in ``test.sha256`` before anything is fitted. ``fit`` refuses a test file whose
hash has changed.

``fit`` fits a logistic regression (IRLS, L2 chosen on dev) on train, sets the two
probability thresholds on dev (short wait: at most 1 % of dev's unfinished prefixes
both above it and ending on a finishing cue, a question or a courtesy, which the short
wait also needs; long wait: at most 5 % of dev's finished prefixes below it), and reports dev
and test: accuracy at 0.5 and the three-way decisions, with the false cut-in rate
(unfinished prefixes given the short wait). Figures go to ``metrics.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import numpy.typing as npt
import yaml

from calmline.embed import load_embedder
from calmline.protocols import SAMPLE_RATE
from calmline.speech.end_of_turn import (
    HAND_FEATURES,
    LONG_MS,
    MODEL_FILE,
    SHORT_MS,
    EndOfTurnModel,
    feature_matrix,
    finishing_cue,
)
from calmline.speech.prosody import FEATURE_NAMES as VOICE_FEATURES
from calmline.speech.prosody import voice_features
from calmline.testing.speech import spoken_ssml

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "end_of_turn"
SPLITS: dict[str, tuple[str, ...]] = {
    "test": (
        "data/realism/round4/calls.yaml",
        "prompts/scenarios/hotel-room.yaml",
        "prompts/scenarios/cancelled-flight.yaml",
    ),
    "dev": ("data/realism/round3/calls.yaml", "prompts/scenarios/broadband-outages.yaml"),
    "train": (
        "data/realism/calls.yaml",
        "data/realism/round2/calls.yaml",
        "prompts/scenarios/benefits-counter-safety.yaml",
        "prompts/scenarios/boiler-repair-sla.yaml",
        "prompts/scenarios/cra-right-to-reject.yaml",
        "prompts/scenarios/kettle-counter.yaml",
        "prompts/scenarios/late-parcel.yaml",
    ),
}
# (espeak-ng voice, words per minute, pitch): several voices and speeds.
VOICES = (
    ("en-us+m1", 170, 50),
    ("en-gb+f3", 150, 70),
    ("en-gb+m3", 185, 35),
    ("en-us+f2", 160, 60),
    ("en-gb+m1", 140, 45),
)
BREAK_MS = 900
# Mid-clause cuts a turn gives: train takes more (its word-class features need examples
# of every trailing word); dev and test keep a few per turn, so long turns do not weigh
# more than short ones.
MID_CUTS = {"train": 12, "dev": 4, "test": 4}
COMMA_CUTS = 2
FILLERS = ("um", "er", "uh")
SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")
CLAUSE_END = re.compile(r"[,;:\u2014\u2013-][\"')\]]*$")
ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "no.", "e.g.", "i.e.", "etc."}
SHORT_TARGET, LONG_TARGET = 0.01, 0.05  # dev: unfinished given the short wait, finished the long


@dataclass
class Sample:
    """One prefix of one learner turn, its label and the voice it was spoken in."""

    id: str
    source: str
    turn: int
    text: str
    label: str  # "finished" | "unfinished"
    cut: str  # "whole" | "sentence" | "comma" | "mid" | "filler"
    voice: str
    rate: int
    prosody: list[float] | None = None


def source_turns(path: str) -> list[str]:
    """The learner turns of a pack (its learner scripts) or of a realism calls file."""
    doc = yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))
    if "calls" in doc:
        return [str(t) for call in doc["calls"] for t in call.get("turns", [])]
    return [str(t) for key in ("learner_script_good", "learner_script_poor") for t in doc[key]]


def cut_kind(token: str) -> str:
    if SENTENCE_END.search(token) and token.lower() not in ABBREVIATIONS:
        return "sentence"
    if CLAUSE_END.search(token):
        return "comma"
    return "mid"


def turn_samples(source: str, index: int, turn: str, mid_cuts: int) -> Iterator[tuple[Sample, str]]:
    """Labelled prefixes of one turn, each with the SSML that speaks it inside the turn."""
    tokens = turn.split()
    rng = random.Random(f"{source}:{index}")
    cuts: dict[str, list[int]] = {"sentence": [], "comma": [], "mid": []}
    for k in range(1, len(tokens)):
        cuts[cut_kind(tokens[k - 1])].append(k)
    chosen = [(len(tokens), "whole")]
    chosen += [(k, "sentence") for k in cuts["sentence"]]
    chosen += [(k, "comma") for k in rng.sample(cuts["comma"], min(COMMA_CUTS, len(cuts["comma"])))]
    mids = rng.sample(cuts["mid"], min(mid_cuts, len(cuts["mid"])))
    chosen += [(k, "mid") for k in mids]
    if mids and rng.random() < 0.5:  # a filler where the speaker stalls
        k = rng.choice(mids)
        tokens = [*tokens[:k], rng.choice(FILLERS), *tokens[k:]]
        chosen = [(c + (c > k), kind) for c, kind in chosen]  # cuts after it move on
        chosen.append((k + 1, "filler"))
    for k, kind in sorted(chosen):
        voice, rate, _ = VOICES[rng.randrange(len(VOICES))]
        prefix, rest = " ".join(tokens[:k]), " ".join(tokens[k:])
        label = "finished" if kind in ("whole", "sentence") else "unfinished"
        sample = Sample(
            f"{Path(source).stem}-{index}-{k}", source, index, prefix, label, kind, voice, rate
        )
        ssml = f"<speak>{escape(prefix)}"
        if rest:
            ssml += f' <break time="{BREAK_MS}ms"/> {escape(rest)}'
        yield sample, ssml + "</speak>"


def before_break(audio: npt.NDArray[np.float32]) -> npt.NDArray[np.float32] | None:
    """The audio up to the SSML break (the longest silence, at least 600 ms), plus 200 ms."""
    hop = SAMPLE_RATE // 100
    n = audio.size // hop
    rms = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1))
    quiet = np.concatenate([[0], (rms < 1e-3).astype(np.int8), [0]])
    edges = np.diff(quiet)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if not starts.size:
        return None
    longest = int(np.argmax(ends - starts))
    if (ends[longest] - starts[longest]) * 10 < 600 or starts[longest] == 0:
        return None
    return audio[: (starts[longest] + 20) * hop]


def prefix_audio(sample: Sample, ssml: str) -> npt.NDArray[np.float32] | None:
    """The prefix as spoken inside its turn: the audio up to the break (None: no break)."""
    pitch = {v: p for v, _, p in VOICES}[sample.voice]
    audio = spoken_ssml(ssml, sample.voice, sample.rate, pitch)
    return audio if sample.cut == "whole" else before_break(audio)


def with_prosody(sample: Sample, ssml: str) -> Sample | None:
    audio = prefix_audio(sample, ssml)
    if audio is None:
        return None
    sample.prosody = [round(float(v), 4) for v in voice_features(audio)]
    return sample


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(only: Sequence[str]) -> None:
    """Write the splits in ``only``; the others are read to keep their turns out."""
    DATA.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for split in ("test", "dev", "train"):  # test first: its turns are kept out of the rest
        jobs: list[tuple[Sample, str]] = []
        dropped_dupes = 0
        for source in SPLITS[split]:
            for index, turn in enumerate(source_turns(source)):
                key = " ".join(re.findall(r"[a-z0-9']+", turn.lower()))
                if key in seen:
                    dropped_dupes += 1
                    continue
                seen.add(key)
                jobs.extend(turn_samples(source, index, turn, MID_CUTS[split]))
        if split not in only:
            continue
        with ThreadPoolExecutor(2) as pool:
            done = list(pool.map(lambda job: with_prosody(*job), jobs))
        kept = [s for s in done if s is not None]
        path = DATA / f"{split}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for sample in kept:
                out.write(json.dumps(asdict(sample), ensure_ascii=False) + "\n")
        print(
            f"{split}: {len(kept)} prefixes ({len(jobs) - len(kept)} without a clear break "
            f"dropped, {dropped_dupes} duplicate turns skipped) -> {path.name}",
            flush=True,
        )
        if split == "test":
            (DATA / "test.sha256").write_text(f"{sha256(path)}  test.jsonl\n", encoding="utf-8")


def load(split: str) -> list[Sample]:
    path = DATA / f"{split}.jsonl"
    return [Sample(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


Matrix = npt.NDArray[np.float64]


def fit_logistic(x: Matrix, y: Matrix, lam: Matrix, iters: int = 25) -> tuple[Matrix, float]:
    """Logistic regression by Newton steps, classes weighted to balance.

    ``lam``: the L2 penalty of each column, so that the 384 embedding columns can be
    held back harder than the few hand and voice features.
    """
    n, d = x.shape
    weight = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    penalty = np.append(lam, 0.0)  # the bias is not penalised
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (weight * (p - y)) + penalty * w
        hess = (xb * (weight * p * (1 - p))[:, None]).T @ xb + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w[:-1], float(w[-1])


def decisions(
    p: npt.NDArray[np.floating], cues: Sequence[bool], short_above: float, long_below: float
) -> list[str]:
    """The policy's wait for each prefix: short needs the probability and a finishing cue."""
    return [
        "short" if v >= short_above and cue else "long" if v < long_below else "default"
        for v, cue in zip(p, cues, strict=True)
    ]


def report(
    samples: Sequence[Sample], p: npt.NDArray[np.floating], model: EndOfTurnModel
) -> dict[str, object]:
    y = np.array([s.label == "finished" for s in samples])
    cues = [finishing_cue(s.text) for s in samples]
    d = np.array(decisions(p, cues, model.short_above, model.long_below))
    unfinished, finished = ~y, y
    mid = np.array([s.cut in ("mid", "filler") for s in samples])

    def share(mask: npt.NDArray[np.bool_], what: str) -> float:
        return round(float((d[mask] == what).mean()), 4) if mask.any() else 0.0

    return {
        "prefixes": len(samples),
        "finished": int(finished.sum()),
        "unfinished": int(unfinished.sum()),
        "accuracy_at_0.5": round(float(((p >= 0.5) == y).mean()), 4),
        # The chance that a finished prefix scores above an unfinished one.
        "auc": round(float((p[y][:, None] > p[~y][None, :]).mean()), 4),
        "false_cut_in": share(unfinished, "short"),
        "false_cut_in_mid_clause": share(unfinished & mid, "short"),
        "unfinished_long_wait": share(unfinished, "long"),
        "unfinished_default_wait": share(unfinished, "default"),
        "finished_short_wait": share(finished, "short"),
        "finished_default_wait": share(finished, "default"),
        "finished_long_wait": share(finished, "long"),
    }


def fit() -> None:
    recorded = (DATA / "test.sha256").read_text(encoding="utf-8").split()[0]
    if sha256(DATA / "test.jsonl") != recorded:
        sys.exit("test.jsonl has changed since it was frozen: rebuild, do not refit on it")
    splits = {name: load(name) for name in ("train", "dev", "test")}
    embedder = load_embedder()
    x = {
        name: feature_matrix(
            embedder,
            [s.text for s in rows],
            [np.array(s.prosody, dtype=np.float32) for s in rows],
        ).astype(np.float64)
        for name, rows in splits.items()
    }
    y = {
        name: np.array([s.label == "finished" for s in rows], float)
        for name, rows in splits.items()
    }
    n_hand, n_voice = len(HAND_FEATURES), len(VOICE_FEATURES)
    groups = {
        "words only (hand features)": slice(0, n_hand),
        "words + voice": slice(0, n_hand + n_voice),
        "words + embedding (no voice)": np.r_[0:n_hand, n_hand + n_voice : x["train"].shape[1]],
        "words + voice + embedding (shipped)": slice(0, x["train"].shape[1]),
    }
    metrics: dict[str, object] = {}
    shipped: EndOfTurnModel | None = None
    dev_cues = np.array([finishing_cue(s.text) for s in splits["dev"]])
    for name, cols in groups.items():
        model = fit_group(x, y, cols, embedder.name, dev_cues)
        dev_p = model.probabilities(x["dev"][:, cols].astype(np.float32))
        test_p = model.probabilities(x["test"][:, cols].astype(np.float32))
        metrics[name] = {
            "dev": report(splits["dev"], dev_p, model),
            "test": report(splits["test"], test_p, model),
            "short_above": round(model.short_above, 4),
            "long_below": round(model.long_below, 4),
        }
        print(name, json.dumps(metrics[name], indent=1), flush=True)
        shipped = model
    assert shipped is not None
    shipped.save(MODEL_FILE)
    (DATA / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_FILE} and {DATA / 'metrics.json'}")


def fit_group(
    x: dict[str, Matrix],
    y: dict[str, Matrix],
    cols: slice | npt.NDArray[np.intp],
    embedder: str,
    dev_cues: npt.NDArray[np.bool_],
) -> EndOfTurnModel:
    """The model over columns ``cols``: L2 strength and thresholds chosen on dev."""
    train = x["train"][:, cols]
    mean, std = train.mean(axis=0), np.maximum(train.std(axis=0), 1e-3)
    best: tuple[float, EndOfTurnModel] | None = None
    n_named = len(HAND_FEATURES) + len(VOICE_FEATURES)
    named = np.arange(train.shape[1]) < n_named if isinstance(cols, slice) else cols < n_named
    for lam in (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0):
        penalty = np.where(named, 1.0, lam)
        coef, bias = fit_logistic((train - mean) / std, y["train"], penalty)
        model = EndOfTurnModel(
            coef.astype(np.float32), bias, mean.astype(np.float32), std.astype(np.float32),
            0.5, 0.5, embedder,
        )  # fmt: skip
        p = model.probabilities(x["dev"][:, cols].astype(np.float32)).astype(np.float64)
        yd = y["dev"]
        loss = float(-np.mean(yd * np.log(p + 1e-9) + (1 - yd) * np.log(1 - p + 1e-9)))
        if best is None or loss < best[0]:
            best = (loss, model)
    assert best is not None
    model = best[1]
    dev_p = model.probabilities(x["dev"][:, cols].astype(np.float32))
    unfinished, finished = dev_p[y["dev"] == 0], dev_p[y["dev"] == 1]
    # Short wait only where (almost) no unfinished prefix with a finishing cue is as
    # likely; long only below (almost) every finished one. A long threshold above the
    # short one would make "long" win where both hold; clamp so the band never inverts.
    cued = np.sort(dev_p[(y["dev"] == 0) & dev_cues])[::-1]
    allowed = int(SHORT_TARGET * len(unfinished))
    short_above = float(cued[allowed]) + 1e-6 if allowed < len(cued) else 0.5
    long_below = min(float(np.quantile(finished, LONG_TARGET)), short_above)
    return EndOfTurnModel(
        model.coef, model.bias, model.mean, model.std, short_above, long_below, embedder
    )


def live(count: int) -> None:
    """The shipped policy on Whisper's text of test prefixes, against the written text.

    A seeded sample of ``count`` test prefixes is spoken again (the same audio as the
    build), transcribed by Whisper tiny.en as a phrase would be, and decided twice: from
    the written prefix and from what Whisper heard, both with the same voice features.
    """
    from calmline.speech.end_of_turn import EndOfTurnPolicy
    from calmline.speech.stt import WhisperTranscriber

    frozen = {s.id for s in load("test")}
    jobs = [
        job
        for source in SPLITS["test"]
        for index, turn in enumerate(source_turns(source))
        for job in turn_samples(source, index, turn, MID_CUTS["test"])
        if job[0].id in frozen
    ]
    chosen = random.Random(0).sample(jobs, min(count, len(jobs)))
    whisper, policy = WhisperTranscriber("tiny.en"), EndOfTurnPolicy()
    rows: list[dict[str, object]] = []
    for sample, ssml in chosen:
        audio = prefix_audio(sample, ssml)
        if audio is None:
            continue
        heard = whisper.transcribe(audio).text.strip()
        written, spoken = policy.decide(sample.text, audio), policy.decide(heard, audio)
        rows.append(
            {"id": sample.id, "label": sample.label, "text": sample.text, "whisper": heard,
             "written_ms": written.wait_ms, "whisper_ms": spoken.wait_ms}
        )  # fmt: skip
    summary: dict[str, object] = {"prefixes": len(rows)}
    for kind in ("written", "whisper"):
        for label, wait, name in (
            ("unfinished", SHORT_MS, "false_cut_in"),
            ("unfinished", LONG_MS, "unfinished_long_wait"),
            ("finished", SHORT_MS, "finished_short_wait"),
        ):
            of = [r for r in rows if r["label"] == label]
            hits = sum(r[f"{kind}_ms"] == wait for r in of)
            summary[f"{kind}_{name}"] = f"{hits}/{len(of)}"
    out = DATA / "live_test.json"
    out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n", "utf-8")
    print(json.dumps(summary, indent=1))
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "step",
        choices=("build", "fit", "live"),
        help="build the data, fit on it, or check the shipped model on Whisper's text",
    )
    parser.add_argument(
        "--count", type=int, default=200, help="live: how many test prefixes to transcribe"
    )
    parser.add_argument(
        "--split",
        action="append",
        choices=("train", "dev", "test"),
        help="build only this split (repeatable); the frozen test split is kept otherwise",
    )
    args = parser.parse_args()
    if args.step == "build":
        build(args.split or ("train", "dev", "test"))
    elif args.step == "fit":
        fit()
    else:
        live(args.count)


if __name__ == "__main__":
    main()
