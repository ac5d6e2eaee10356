"""Concepts found by meaning, clause by clause: the bank, its classifiers and their readings.

The bank is data (``rubrics/concepts.yaml``): families of concepts (indicators of a
difficult customer, triggers, complaint-process stages, personal-safety protocol, what a
learner does in a call...), each concept with exemplar clauses written for it, optional
near misses, and optional lexical cues (words that settle it on their own, such as
"ombudsman", also when speech recognition splits them). Per-concept thresholds, fitted
on labelled transcripts by ``benchmarks/judgement_marking.py --fit``, live apart in
``rubrics/concept_thresholds.yaml``.

Every concept has a logistic-regression classifier over sentence embeddings:
its own exemplars against the background clauses, its family's near misses and the
exemplars of every concept it must not be confused with (all but those of families the
bank says may overlap). A clause shows a concept when the classifier's probability
reaches the concept's threshold, or a cue is in it.

The classifiers are trained by ``benchmarks/train_concepts.py`` and ship beside the bank
(``rubrics/concept_model.npz``, stamped with the bank's hash and the embedder's name). A
bank edited since (a trainer's own concepts) is trained once at first use, about a
minute, and kept in the cache folder.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from calmline.errors import CalmlineError
from calmline.evaluate.clauses import Span, split_turn
from calmline.evaluate.logistic import SparseBlock, fit_logistic_many
from calmline.models import Turn
from calmline.paths import cache_dir, rubrics_dir
from calmline.protocols import Embedder
from calmline.text import normalise

BANK_FILE = "concepts.yaml"
THRESHOLDS_FILE = "concept_thresholds.yaml"
MODEL_FILE = "concept_model.npz"  # the classifiers trained on BANK_FILE, shipped beside it
DEFAULT_THRESHOLD = 0.5
L2 = 1.0
NGRAM_WEIGHT = 0.3  # one word n-gram against a unit-length sentence embedding
# Long unpunctuated clauses are also read as overlapping word windows: a cue said in
# six words is lost in the average of thirty.
WINDOW_WORDS = 8
WINDOW_OVER = 12
_QUESTION_START = re.compile(
    r"^(?:(?:and|so|right|okay|ok|um+|uh+|er+|erm|well|sorry|then|but)\b[\s,]*)*"
    r"(?:what|whats|which|when|where|who|whose|why|how|is|are|was|were|did|do|does|have|has|"
    r"had|can|could|would|will|shall|should|may|isnt|arent|didnt|dont|doesnt|havent|wont)\b",
    re.I,
)
_LEADING = re.compile(
    r"^(?:(?:and|then|so|but|because|cos|cause|um+|uh+|er+|erm|like|well)\b[\s,]*)+", re.I
)


class ConceptDef(BaseModel):
    """One concept: what it is, clauses that show it, near misses, settling words."""

    model_config = ConfigDict(extra="forbid")

    description: str
    examples: list[str] = Field(default_factory=list)
    negatives: list[str] = Field(default_factory=list)
    cues: list[str] = Field(default_factory=list)
    # Found by its cues alone (a time of day, a named scheme): no classifier is trained.
    cues_only: bool = False
    # "question": only a clause worded as a question can show it (a "?", or opening
    # with a question word or an auxiliary, as unpunctuated speech does).
    form: Literal["any", "question"] = "any"

    @model_validator(mode="after")
    def _enough_to_learn_from(self) -> ConceptDef:
        if self.cues_only and not self.cues:
            raise ValueError("a cues_only concept needs cues")
        if not self.cues_only and len(self.examples) < 3:
            raise ValueError("a concept needs at least three examples (or cues_only: true)")
        return self


class ConceptFamily(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str
    # Families whose concepts may be said in the same words (an indicator and a risk
    # sign): their exemplars are not used as negatives for this family's classifiers.
    overlaps: list[str] = Field(default_factory=list)
    # How thresholds are fitted: one for the whole family ("family", for concepts that
    # are counted together) or one per concept ("concept", for distinct detectors).
    fit: Literal["family", "concept"] = "family"
    negatives: list[str] = Field(default_factory=list)
    concepts: dict[str, ConceptDef]


class ConceptBank(BaseModel):
    """``rubrics/concepts.yaml``."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    families: dict[str, ConceptFamily]
    background: list[str] = Field(default_factory=list)

    def concept_ids(self) -> list[str]:
        return [cid for fam in self.families.values() for cid in fam.concepts]

    def family_of(self, concept_id: str) -> str:
        for name, fam in self.families.items():
            if concept_id in fam.concepts:
                return name
        raise KeyError(concept_id)

    def concept(self, concept_id: str) -> ConceptDef:
        return self.families[self.family_of(concept_id)].concepts[concept_id]

    def threshold_groups(self, concepts: Collection[str]) -> dict[str, list[str]]:
        """The given concepts grouped as their thresholds are fitted (see ``fit``)."""
        groups: dict[str, list[str]] = {}
        for cid in concepts:
            family = self.family_of(cid)
            key = family if self.families[family].fit == "family" else cid
            groups.setdefault(key, []).append(cid)
        return groups


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CalmlineError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise CalmlineError(f"{path}: not valid YAML ({exc})") from exc


def load_concept_bank(folder: Path | None = None) -> ConceptBank:
    """The concept bank in ``folder`` (default: the rubrics folder)."""
    path = (folder or rubrics_dir()) / BANK_FILE
    return _bank_at(path, path.stat().st_mtime_ns if path.is_file() else 0)


@lru_cache(maxsize=4)
def _bank_at(path: Path, _mtime: int) -> ConceptBank:
    if not path.is_file():
        raise CalmlineError(f"no concept bank at {path}", "restore rubrics/concepts.yaml")
    try:
        bank = ConceptBank.model_validate(_load_yaml(path))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CalmlineError(f"{path}: {where}: {first['msg']}") from exc
    ids = bank.concept_ids()
    if len(ids) != len(set(ids)):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise CalmlineError(f"{path}: concept ids must be unique across families: {dupes}")
    for name, fam in bank.families.items():
        unknown = [o for o in fam.overlaps if o not in bank.families]
        if unknown:
            raise CalmlineError(f"{path}: families.{name}.overlaps: unknown family {unknown}")
    return bank


def known_concept_ids(folder: Path | None = None) -> set[str] | None:
    """The bank's concept ids, or ``None`` when there is no bank to check against."""
    path = (folder or rubrics_dir()) / BANK_FILE
    if not path.is_file():
        return None
    return set(load_concept_bank(path.parent).concept_ids())


def load_thresholds(folder: Path | None = None) -> dict[str, float]:
    """Fitted per-concept thresholds (``concept_thresholds.yaml``); missing ones use the default."""
    path = (folder or rubrics_dir()) / THRESHOLDS_FILE
    if not path.is_file():
        return {}
    data = _load_yaml(path) or {}
    raw = data.get("thresholds", {}) if isinstance(data, dict) else {}
    if not isinstance(raw, dict):
        raise CalmlineError(f"{path}: `thresholds` must map concept ids to numbers")
    return {str(k): float(v) for k, v in raw.items()}


# --------------------------------------------------------------------------- classifiers


def _cue_pattern(cues: Sequence[str]) -> re.Pattern[str] | None:
    cleaned = sorted(
        {normalise(c, fold=True) for c in cues if normalise(c, fold=True)}, key=len, reverse=True
    )
    if not cleaned:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, cleaned)) + r")(?![a-z0-9])")


def ngrams(text: str) -> list[str]:
    """The word unigrams and bigrams of a clause, normalised, without a leading connective."""
    words = normalise(embed_text(text), fold=True).split()
    return [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]


class ConceptScorer:
    """Probability of every concept for any clause; classifiers trained once, here.

    Features are the clause's sentence embedding and, lightly weighted, which word
    unigrams and bigrams of the exemplars it contains: the embedding carries the meaning,
    the words carry cues an average of token vectors blurs ("can you not read" is close
    to "can you read me the number" for an embedder).
    """

    def __init__(
        self,
        bank: ConceptBank,
        embedder: Embedder,
        thresholds: Mapping[str, float] | None = None,
        saved: Mapping[str, Any] | None = None,
    ) -> None:
        """Train the classifiers on the bank, or take them from ``saved`` (``save``)."""
        self.bank = bank
        self.embedder = embedder
        self.ids = bank.concept_ids()
        self.index = {cid: i for i, cid in enumerate(self.ids)}
        fitted = dict(thresholds if thresholds is not None else {})
        self.thresholds = np.array(
            [fitted.get(cid, DEFAULT_THRESHOLD) for cid in self.ids], dtype=np.float64
        )
        self._cues = [_cue_pattern(bank.concept(cid).cues) for cid in self.ids]
        self.question_only = np.array([bank.concept(c).form == "question" for c in self.ids])
        self.vocabulary: dict[str, int] = {}
        if saved is None:
            self._dense, self._sparse, self._bias = self.train()
            return
        if [str(c) for c in saved["ids"]] != self.ids:
            raise ValueError("the saved classifiers are for another concept bank")
        grams = str(saved["vocabulary"]).split("\n")
        self.vocabulary = {g: i for i, g in enumerate(grams)}
        self._dense = np.asarray(saved["dense"], dtype=np.float64)
        self._sparse = np.asarray(saved["sparse"], dtype=np.float64)
        self._bias = np.asarray(saved["bias"], dtype=np.float64)

    def save(self, path: Path, key: str) -> None:
        """Write the trained classifiers, stamped with ``key`` (see ``model_key``)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial.npz")
        np.savez_compressed(
            partial,
            key=np.array(key),
            ids=np.array(self.ids),
            vocabulary=np.array("\n".join(self.vocabulary)),
            dense=self._dense.astype(np.float32),
            sparse=self._sparse.astype(np.float32),
            bias=self._bias.astype(np.float32),
        )
        partial.replace(path)

    def _sparse_block(self, texts: Sequence[str]) -> SparseBlock:
        rows: list[int] = []
        cols: list[int] = []
        for row, text in enumerate(texts):
            for col in {self.vocabulary[g] for g in ngrams(text) if g in self.vocabulary}:
                rows.append(row)
                cols.append(col)
        return SparseBlock(
            np.array(rows, dtype=np.int64),
            np.array(cols, dtype=np.int64),
            len(self.vocabulary),
            NGRAM_WEIGHT,
        )

    def train(
        self,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Fit the classifiers on the bank's examples (when no trained file fits it)."""
        bank = self.bank
        texts: dict[str, int] = {}

        def ids_of(items: Sequence[str]) -> list[int]:
            return [texts.setdefault(t, len(texts)) for t in items]

        background = ids_of(bank.background)
        family_neg = {n: ids_of(f.negatives) for n, f in bank.families.items()}
        own_pos = {cid: ids_of(bank.concept(cid).examples) for cid in self.ids}
        own_neg = {cid: ids_of(bank.concept(cid).negatives) for cid in self.ids}
        rows = list(texts)
        for text in rows:
            for gram in ngrams(text):
                self.vocabulary.setdefault(gram, len(self.vocabulary))
        targets = np.zeros((len(rows), len(self.ids)), dtype=bool)
        weights = np.zeros((len(rows), len(self.ids)))
        for k, cid in enumerate(self.ids):
            if bank.concept(cid).cues_only:
                continue
            family = bank.family_of(cid)
            allowed = {family, *bank.families[family].overlaps}
            others = [
                i
                for other in self.ids
                if other != cid
                and (bank.family_of(other) == family or bank.family_of(other) not in allowed)
                for i in own_pos[other]
            ]
            negatives = {*background, *family_neg[family], *own_neg[cid], *others}
            weights[sorted(negatives), k] = 1.0
            targets[own_pos[cid], k] = True
            weights[own_pos[cid], k] = 1.0
        vectors = np.asarray(self.embedder.embed(rows), dtype=np.float64)
        dense, sparse, bias = fit_logistic_many(
            vectors, targets, weights, self._sparse_block(rows), l2=L2
        )
        for k, cid in enumerate(self.ids):
            if bank.concept(cid).cues_only:
                bias[k] = -30.0  # never fires but on a cue
        return dense, sparse, bias

    def probabilities(
        self, texts: Sequence[str], vectors: npt.NDArray[np.floating]
    ) -> npt.NDArray[np.float64]:
        """(texts, concepts) classifier probabilities for texts and their embeddings."""
        z = np.asarray(vectors, dtype=np.float64) @ self._dense + self._bias
        if len(texts):
            block = self._sparse_block(texts)
            extra = np.zeros_like(z)
            np.add.at(extra, block.rows, self._sparse[block.cols] * block.value)
            z += extra
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), dtype=np.float64)

    def cue_hits(self, texts: Sequence[str]) -> npt.NDArray[np.bool_]:
        """(texts, concepts): a cue of the concept is in the text."""
        out = np.zeros((len(texts), len(self.ids)), dtype=bool)
        for row, text in enumerate(texts):
            norm = normalise(text, fold=True)
            for k, pattern in enumerate(self._cues):
                if pattern is not None and pattern.search(norm):
                    out[row, k] = True
        return out

    def scores(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """(texts, concepts): the classifier's probability, or 1.0 where a cue is found."""
        if not texts:
            return np.zeros((0, len(self.ids)))
        vectors = self.embedder.embed(list(texts))
        return np.where(self.cue_hits(texts), 1.0, self.probabilities(texts, vectors))

    def with_thresholds(self, thresholds: Mapping[str, float]) -> ConceptScorer:
        """The same classifiers with other thresholds (calibration tries many)."""
        clone = copy.copy(self)
        clone.thresholds = np.array(
            [thresholds.get(cid, DEFAULT_THRESHOLD) for cid in self.ids], dtype=np.float64
        )
        return clone


# The scorers built in this process, by (embedder, bank): each bank is loaded or trained once.
SCORERS: dict[tuple[str, str], ConceptScorer] = {}


def _digest(folder: Path, names: Sequence[str]) -> str:
    digest = hashlib.sha1()
    for name in names:
        path = folder / name
        digest.update(path.read_bytes() if path.is_file() else b"")
    return digest.hexdigest()


def model_key(embedder: Embedder, folder: Path) -> str:
    """What trained classifiers depend on: the bank's bytes and the embedder."""
    return f"{embedder.name}:{_digest(folder, (BANK_FILE,))}"


def _saved(path: Path, key: str) -> dict[str, Any] | None:
    """The classifiers saved at ``path`` if they were trained for ``key``."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            return {name: data[name] for name in data.files}
    except (OSError, KeyError, ValueError):
        return None


def train_scorer(embedder: Embedder, folder: Path | None = None) -> ConceptScorer:
    """Train the classifiers for the bank in ``folder`` (about a minute on two cores)."""
    where = folder or rubrics_dir()
    return ConceptScorer(load_concept_bank(where), embedder, load_thresholds(where))


def concept_scorer(embedder: Embedder, folder: Path | None = None) -> ConceptScorer:
    """The scorer for ``embedder`` and the bank in ``folder``, once per process.

    The classifiers come from ``MODEL_FILE`` beside the bank when it was trained on this
    bank with this embedder, else from the cache folder, else they are trained now and
    kept there.
    """
    where = folder or rubrics_dir()
    key = model_key(embedder, where)
    memo = (key, f"{where}:{_digest(where, (THRESHOLDS_FILE,))}")
    scorer = SCORERS.get(memo)
    if scorer is not None:
        return scorer
    bank, thresholds = load_concept_bank(where), load_thresholds(where)
    cached = cache_dir() / "concepts" / f"{hashlib.sha1(key.encode()).hexdigest()}.npz"
    for path in (where / MODEL_FILE, cached):
        saved = _saved(path, key)
        if saved is not None:
            try:
                scorer = ConceptScorer(bank, embedder, thresholds, saved)
                break
            except ValueError:
                continue
    if scorer is None:
        scorer = ConceptScorer(bank, embedder, thresholds)
        with contextlib.suppress(OSError):
            scorer.save(cached, key)
    SCORERS[memo] = scorer
    return scorer


# --------------------------------------------------------------------------- readings


@dataclass(frozen=True)
class ClauseReading:
    """One clause of a learner turn and the concepts it shows (with their scores)."""

    turn: Turn
    sentence: Span
    clause: Span
    scores: dict[str, float]  # concept -> probability (1.0 for a cue), shown concepts only

    @property
    def text(self) -> str:
        return self.turn.text[self.clause.start : self.clause.end]

    @property
    def sentence_text(self) -> str:
        return self.turn.text[self.sentence.start : self.sentence.end]


def is_question(clause: str) -> bool:
    """Worded as a question: a question mark, or (unpunctuated speech) a question word or
    an auxiliary first."""
    text = clause.strip()
    return text.endswith("?") or bool(_QUESTION_START.match(normalise(text, fold=True)))


def embed_text(clause: str) -> str:
    """What is embedded for a clause: without a leading connective or filler."""
    return _LEADING.sub("", clause).strip() or clause


def _windows(text: str) -> list[str]:
    tokens = text.split()
    if len(tokens) <= WINDOW_OVER:
        return []
    step = WINDOW_WORDS // 2
    return [" ".join(tokens[i : i + WINDOW_WORDS]) for i in range(0, len(tokens) - step, step)]


@dataclass
class ConceptReader:
    """Reads turns into ``ClauseReading``s with one scorer; embeddings cached per text."""

    scorer: ConceptScorer
    _vectors: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    _raw: dict[int, list[tuple[Span, Span, npt.NDArray[np.float64]]]] = field(default_factory=dict)

    def _embed(self, texts: Sequence[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, row in zip(missing, self.scorer.scores(missing), strict=True):
                self._vectors[text] = row

    def _turn_scores(self, turn: Turn) -> list[tuple[Span, Span, npt.NDArray[np.float64]]]:
        """Per clause: the best score of each concept over the clause, its windows and,
        for a many-clause sentence, the whole sentence (whose hit is kept by the clause
        that scores highest for it)."""
        key = hash((turn.index, turn.text))
        if key in self._raw:
            return self._raw[key]
        units: list[tuple[Span, Span, list[str]]] = []
        wanted: list[str] = []
        for sent in split_turn(turn.text):
            for clause in sent.clauses:
                base = embed_text(turn.text[clause.start : clause.end])
                texts = [base, *_windows(base)]
                units.append((sent.sentence, clause, texts))
                wanted += texts
            if len(sent.clauses) > 1:
                wanted.append(embed_text(turn.text[sent.sentence.start : sent.sentence.end]))
        self._embed(wanted)
        out = []
        for sentence, clause, texts in units:
            out.append((sentence, clause, np.max([self._vectors[t] for t in texts], axis=0)))
        # a sentence-level hit goes to its best clause
        for sent in split_turn(turn.text):
            if len(sent.clauses) <= 1:
                continue
            whole = self._vectors[embed_text(turn.text[sent.sentence.start : sent.sentence.end])]
            mine = [i for i, (s, _, _) in enumerate(out) if s == sent.sentence]
            for k in range(len(whole)):
                best = max(mine, key=lambda i: out[i][2][k])
                if whole[k] > out[best][2][k]:
                    out[best][2][k] = whole[k]
        questions_only = self.scorer.question_only
        if questions_only.any():
            for _, clause, scores in out:
                if not is_question(turn.text[clause.start : clause.end]):
                    scores[questions_only] = 0.0
        self._raw[key] = out
        return out

    def read(self, turn: Turn, concepts: Sequence[str] | None = None) -> list[ClauseReading]:
        """The clauses of ``turn`` with the concepts (of ``concepts``, default all) shown."""
        wanted = [self.scorer.index[c] for c in concepts] if concepts else None
        readings = []
        for sentence, clause, scores in self._turn_scores(turn):
            cols = wanted if wanted is not None else range(len(self.scorer.ids))
            shown = {
                self.scorer.ids[k]: float(scores[k])
                for k in cols
                if scores[k] >= self.scorer.thresholds[k]
            }
            readings.append(ClauseReading(turn, sentence, clause, shown))
        return readings
