"""Has the learner finished? How long the silence at a pause must last before the turn ends.

A fixed wait is wrong both ways: 600 ms is a long time after "Can I take your order
number, please?", where a person answers within ~200 ms, and too short after "I rang
the depot and, um", where the learner is still thinking. People judge it from what
was said and how: a finished sentence, a question, "thanks" or "please" at the end,
and a voice that falls and fades end a turn; a trailing "and", "so", "the", "to", a
filler, a level pitch or a stretched last syllable do not.

At each phrase pause the listener gives the policy the turn's text so far (the phrase
transcripts) and the audio of the last phrase, and gets back the silence to wait for:
``SHORT_MS`` when the model is sure the turn is finished, ``LONG_MS`` when it is sure it
is not, the usual ``DEFAULT_MS`` otherwise. The model is a logistic regression over

- a few word-class features of the last words (does the text end on a conjunction, a
  filler, an article, a preposition, a subject or auxiliary, a closing word?),
- the voice at the end of the phrase (``calmline.speech.prosody``),
- the MiniLM embedding of the last ``LAST_WORDS`` words (the bundled sentence model),

trained by ``benchmarks/train_end_of_turn.py`` on ``data/end_of_turn/`` (see its
README for the data, the labels and the measured error rates). Its weights ship as
``end_of_turn.npz`` next to this module and load with numpy alone. Punctuation is
ignored: the training text is written text and the live text is Whisper's, and the two
punctuate differently; the words are what they share.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from calmline.errors import CalmlineError
from calmline.protocols import SAMPLE_RATE, AudioArray, Embedder
from calmline.speech.prosody import FEATURE_NAMES as VOICE_FEATURES
from calmline.speech.prosody import voice_features
from calmline.text import normalise, words

MODEL_FILE = Path(__file__).parent / "end_of_turn.npz"
FEATURE_VERSION = 3
SHORT_MS, DEFAULT_MS, LONG_MS = 250, 600, 1000
LAST_WORDS = 10  # what the embedding reads: the end of the turn is where the cue is


def word_set(text: str) -> frozenset[str]:
    """The space-separated words of ``text``: the word classes below read as prose."""
    return frozenset(text.split())


# Words after which an English clause cannot end (apostrophes removed: "im", "youre").
CONJUNCTIONS = word_set(
    "and but so because cos cause or nor if when while although though unless "
    "until which who whose where whereas than since plus"
)
FILLERS = word_set("um umm uh uhh er erm err ah hmm mm like basically")
DETERMINERS = word_set(
    "the a an my your our their his her its this these those some any no every each "
    "another other such what which whose"
)
PREPOSITIONS = word_set(
    "to of in on at for with from by about into onto over under after before up down "
    "through between against during without within towards toward per via off out"
)
SUBJECTS_AUXILIARIES = word_set(
    "i you we they he she im youre were theyre hes shes its ill youll well theyll "
    "is are was am be been being will would can could should shall may might must "
    "have has had do does did dont cant wont going gonna just very really also not "
    "let lets get got need want wanted"
)
# Words that often end a clause ("...sort it today"), and the courtesies that close a
# turn ("..., please", "thanks"): kept apart, since only the second is near certain.
CLOSERS = word_set("today now okay ok right sorry there it them help")
COURTESIES = word_set("please thanks cheers bye goodbye")
QUESTION_STARTS = word_set(
    "can could would will do does did is are was have has what when where why how who "
    "which shall may should"
)
HAND_FEATURES = (
    "ends_conjunction",
    "ends_filler",
    "ends_determiner",
    "ends_preposition",
    "ends_subject_or_auxiliary",
    "ends_closer",
    "ends_courtesy",
    "question_start",
    "log_words",
)

Vector = npt.NDArray[np.float32]
Matrix = npt.NDArray[np.float32]


def turn_words(text: str) -> list[str]:
    """The words of a transcript, lower case, apostrophes and punctuation dropped."""
    return words(normalise(text))


def text_features(tokens: Sequence[str]) -> Vector:
    """``HAND_FEATURES`` of a turn's words: what its last word is, and its shape."""
    last = tokens[-1] if tokens else ""
    return np.array(
        [
            last in CONJUNCTIONS,
            last in FILLERS,
            last in DETERMINERS,
            last in PREPOSITIONS,
            last in SUBJECTS_AUXILIARIES,
            last in CLOSERS,
            last in COURTESIES or list(tokens[-2:]) == ["thank", "you"],
            bool(tokens) and tokens[0] in QUESTION_STARTS,
            np.log1p(len(tokens)) / 3.0,
        ],
        dtype=np.float32,
    )


def finishing_cue(text: str) -> bool:
    """Does the turn so far end the way a turn is handed over: a question, a courtesy?

    The model's "finished" alone was wrong at a pause after a complete-looking clause
    that went on ("I'm sorry about that, | I'll get it sorted today"): about 2% of the
    unfinished prefixes on dev, and each is a learner cut off. The shortest wait also
    needs one of the cues people hand a turn over with: the last sentence asks (Whisper's
    "?" or a question's first word) or the turn ends on "please", "thanks", "thank you",
    "cheers", "bye".
    """
    stripped = text.strip()
    if stripped.endswith("?"):
        return True
    tokens = turn_words(stripped)
    if not tokens:
        return False
    if tokens[-1] in COURTESIES or tokens[-2:] == ["thank", "you"]:
        return True
    last_sentence = turn_words(re.split(r"[.!?]\s+", stripped)[-1])
    return bool(last_sentence) and last_sentence[0] in QUESTION_STARTS


def feature_matrix(
    embedder: Embedder, texts: Sequence[str], voices: Sequence[Vector | None]
) -> Matrix:
    """One row per (text, voice features): hand features, voice features, embedding.

    The training script and the policy build their rows here, so the model sees the
    same features in both. A missing voice (no audio) is NaN, which the model reads
    as the training data's average voice: no evidence either way.
    """
    tokens = [turn_words(t) for t in texts]
    # Fillers are left out of what is embedded: Whisper mostly drops them, so the live
    # text seldom has them, and a trailing one is read by a hand feature anyway.
    tails = [" ".join([w for w in t if w not in FILLERS][-LAST_WORDS:]) or "." for t in tokens]
    embedded = embedder.embed(tails)
    rows = [
        np.concatenate(
            [
                text_features(tok),
                voice if voice is not None else np.full(len(VOICE_FEATURES), np.nan, np.float32),
                vec,
            ]
        )
        for tok, voice, vec in zip(tokens, voices, embedded, strict=True)
    ]
    return np.asarray(rows, dtype=np.float32).reshape(len(texts), -1)


@dataclass(frozen=True)
class EndOfTurnModel:
    """Logistic regression weights over standardised ``feature_matrix`` rows.

    ``short_above``/``long_below`` are the probability thresholds set on the
    development split: above the first the turn is taken as finished, below the
    second as unfinished.
    """

    coef: Vector
    bias: float
    mean: Vector
    std: Vector
    short_above: float
    long_below: float
    embedder: str

    def probabilities(self, x: Matrix) -> Vector:
        """P(finished) for each row of ``x``."""
        x = np.where(np.isnan(x), self.mean, x)  # a feature not read counts as average
        z = ((x - self.mean) / self.std) @ self.coef + self.bias
        return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)

    def save(self, path: Path) -> None:
        np.savez_compressed(
            path,
            coef=self.coef,
            bias=np.float32(self.bias),
            mean=self.mean,
            std=self.std,
            short_above=np.float32(self.short_above),
            long_below=np.float32(self.long_below),
            embedder=np.array(self.embedder),
            feature_version=np.int32(FEATURE_VERSION),
        )

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> EndOfTurnModel:
        try:
            with np.load(path, allow_pickle=False) as z:
                if int(z["feature_version"]) != FEATURE_VERSION:
                    raise CalmlineError(
                        f"{path.name} was trained for other features",
                        "retrain it: python benchmarks/train_end_of_turn.py fit",
                    )
                return cls(
                    coef=z["coef"].astype(np.float32),
                    bias=float(z["bias"]),
                    mean=z["mean"].astype(np.float32),
                    std=z["std"].astype(np.float32),
                    short_above=float(z["short_above"]),
                    long_below=float(z["long_below"]),
                    embedder=str(z["embedder"]),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise CalmlineError(
                f"cannot read the end-of-turn model {path}: {exc}",
                "reinstall calmline: make setup (or pip install -e .)",
            ) from exc


@lru_cache(maxsize=1)
def bundled_model() -> EndOfTurnModel:
    """The shipped model, read once per process."""
    return EndOfTurnModel.load(MODEL_FILE)


@dataclass(frozen=True)
class EndOfTurnDecision:
    """The silence to wait for at one pause, and the probability it was read from."""

    wait_ms: int
    finished: float  # P(the turn is finished), 0..1


class EndOfTurnPolicy:
    """Decides, at a phrase pause, how long the silence must last before the turn ends.

    ``embedder``: the MiniLM embedder (the process's one, loaded on first use, when
    None). ``model``: the shipped weights when None.
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        model: EndOfTurnModel | None = None,
        short_ms: int = SHORT_MS,
        default_ms: int = DEFAULT_MS,
        long_ms: int = LONG_MS,
    ) -> None:
        self._embedder = embedder
        self.model = model or bundled_model()
        self.short_ms, self.default_ms, self.long_ms = short_ms, default_ms, long_ms

    @property
    def longest_ms(self) -> int:
        """The longest wait it decides: a listener holds a turn this long for the text."""
        return max(self.short_ms, self.default_ms, self.long_ms)

    def _embedder_in_use(self) -> Embedder:
        if self._embedder is None:
            from calmline.embed import load_embedder

            self._embedder = load_embedder()
        if self._embedder.name != self.model.embedder:
            # Another embedder's vectors would be read with these weights as if they
            # were MiniLM's: wrong waits, and no error to say so.
            raise CalmlineError(
                f"the end-of-turn model was trained on {self.model.embedder} embeddings, "
                f"not {self._embedder.name}",
                "retrain it: python benchmarks/train_end_of_turn.py fit",
            )
        return self._embedder

    def decide(
        self, text: str, audio: AudioArray | None = None, rate: int = SAMPLE_RATE
    ) -> EndOfTurnDecision:
        """The wait after ``text`` (the turn so far), whose last phrase is ``audio``.

        Nothing heard (an empty transcript) is no evidence either way: the default.
        """
        if not turn_words(text):
            return EndOfTurnDecision(self.default_ms, 0.5)
        voice = voice_features(audio, rate) if audio is not None and audio.size else None
        x = feature_matrix(self._embedder_in_use(), [text], [voice])
        p = float(self.model.probabilities(x)[0])
        if p >= self.model.short_above and finishing_cue(text):
            wait = self.short_ms
        elif p < self.model.long_below:
            wait = self.long_ms
        else:
            wait = self.default_ms
        return EndOfTurnDecision(wait, p)
