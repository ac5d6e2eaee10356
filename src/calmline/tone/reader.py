"""Tone reading of a learner turn: tags with confidences, a direction, and the cues behind them.

Signals:

1. the learned read-outs (``tone/model.py``): for every tag they cover (empathy,
   apology, paraphrase, question, solution, ownership, …) they are the only signal, read
   from MiniLM embeddings of the turn, its sentences and the customer line it answers;
2. for the tags they do not cover (sarcasm, "calm down"), narrow lexical rules from
   ``prompts/tone_cues.yaml`` (negation-aware) and embedding similarity to the cue
   prototypes;
3. voice cues: loudness / rate / pitch z-scores against the learner's own baseline,
   and seconds spent talking over the customer (raised voice, interrupting).

A learned tag is in the reading when its confidence is at least ``REPORTED_AT`` (0.5: its
probability reached the threshold set on the development split); a tag read by the rules
(every tag without a model, as in unit tests on a fake embedder) from
``RULES_REPORTED_AT``. A tag is learned only where its read-out beat the rules on dev.

The reader is pure: the same inputs give the same reading, with no clock or I/O
(beyond loading the cue file and model once in ``load_tone_reader``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from calmline.models import TONE_TAGS, Direction, ToneReading, VoiceFeatures
from calmline.protocols import Embedder
from calmline.text import normalise, words
from calmline.tone.cues import TagCues, ToneCues, load_cues
from calmline.tone.encoder import UPTAKE, ToneEncoder, load_tone_encoder
from calmline.tone.model import ToneModel, TurnText, features, load_tone_model
from calmline.tone.text import (
    SECOND_PERSON,
    caps_words,
    content_words,
    is_negated,
    segments,
    sentences,
    share,
)

POLICY_SOFTENED_BY_SOLUTION = 0.6  # "policy as a wall, no help offered": help lowers it
SOLUTION_SOFTENS_AT = 0.7


@dataclass(frozen=True)
class _Learned:
    """What the learned model says of one turn: tag confidences, primary-move shares and
    the uptake (fall/hold/rise probabilities; empty without an encoder that reads it)."""

    tags: dict[str, float]
    moves: dict[str, float]
    uptake: dict[str, float] = field(default_factory=dict)


# Learned tags whose narrow rules still count beside the read-out (a short plain offer such
# as "I can refund you the full 89 pounds now" is rare in the training data). Chosen on dev:
# solution F1 0.819 learned alone, 0.828 learned or rules (2026-12-06, round-2 model).
RULES_ALSO = frozenset({"solution"})
REPORTED_AT = 0.5  # a tag is in the reading from this confidence on
RULES_REPORTED_AT = 0.05  # ... or, rules alone (no model), from this one


@dataclass(frozen=True)
class ToneInput:
    """One learner turn to read, with what the reader may know around it."""

    text: str
    context: str | None = None  # the previous customer line
    voice: VoiceFeatures | None = None
    overlap_s: float = 0.0  # seconds of talking over the customer, if not in ``voice``


@dataclass
class _Evidence:
    """The best confidence found so far per tag, and why."""

    conf: dict[str, float] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)

    def offer(self, tag: str, conf: float, why: str) -> None:
        if conf > self.conf.get(tag, 0.0):
            self.conf[tag] = conf
            self.why[tag] = why


@dataclass(frozen=True)
class _Plan:
    """How one turn is cut up: rule sentences and embedded segments (with their sentence)."""

    sentences: list[str]  # normalised
    segments: list[str]  # as said, for the embedder
    segment_sentence: list[int]


def ramp(value: float, low: float, high: float, top: float = 1.0) -> float:
    """0 at ``low`` or below, ``top`` at ``high`` or above, linear between."""
    if high <= low:
        return top if value >= high else 0.0
    return float(np.clip((value - low) / (high - low), 0.0, 1.0)) * top


def _plan(text: str) -> _Plan:
    raw_sentences = sentences(text) or [text]
    segs: list[str] = []
    owner: list[int] = []
    for i, sentence in enumerate(raw_sentences):
        for seg in segments(sentence):
            segs.append(seg)
            owner.append(i)
    return _Plan([normalise(s) for s in raw_sentences], segs, owner)


class ToneReader:
    """Reads learner turns into ``ToneReading``s; cue prototypes are embedded once, here."""

    def __init__(
        self,
        embedder: Embedder,
        cues: ToneCues,
        model: ToneModel | None = None,
        encoder: ToneEncoder | None = None,
    ) -> None:
        self.embedder = embedder
        self.cues = cues
        self.model = model
        self.encoder = encoder
        self.learned = (frozenset(model.tags) if model is not None else frozenset()) | (
            frozenset(encoder.use) if encoder is not None else frozenset()
        )
        self._proto_tags: list[str] = []
        self._proto_text: list[str] = []
        for tag, tag_cues in cues.tags.items():
            if tag in self.learned:
                continue
            for proto in tag_cues.prototypes:
                self._proto_tags.append(tag)
                self._proto_text.append(proto)
        self._protos = (
            embedder.embed(self._proto_text)
            if self._proto_text
            else np.zeros((0, 1), dtype=np.float32)
        )
        self._tag_index = {
            tag: np.array([i for i, t in enumerate(self._proto_tags) if t == tag], dtype=int)
            for tag in cues.tags
            if tag not in self.learned
        }

    # ------------------------------------------------------------------ public

    def read(
        self,
        text: str,
        context: str | None = None,
        voice: VoiceFeatures | None = None,
        overlap_s: float = 0.0,
    ) -> ToneReading:
        """Read one learner turn; ``context`` is the customer line it answers."""
        return self.read_batch([ToneInput(text, context, voice, overlap_s)])[0]

    def read_batch(self, items: Sequence[ToneInput | str]) -> list[ToneReading]:
        """Read many turns with one embedding call for all their sentences and contexts."""
        inputs = [ToneInput(i) if isinstance(i, str) else i for i in items]
        plans = [_plan(i.text) for i in inputs]
        learned = self._learned_confidences(inputs)
        texts: dict[str, int] = {}
        for inp, plan in zip(inputs, plans, strict=True):
            for seg in plan.segments:
                texts.setdefault(seg, len(texts))
            if inp.context and inp.context.strip():
                texts.setdefault(inp.context.strip(), len(texts))
        vectors = self.embedder.embed(list(texts)) if texts else None
        readings = []
        for n, (inp, plan) in enumerate(zip(inputs, plans, strict=True)):
            seg_vecs = (
                vectors[[texts[s] for s in plan.segments]]
                if vectors is not None and plan.segments
                else None
            )
            ctx = inp.context.strip() if inp.context else ""
            ctx_vec = vectors[texts[ctx]] if ctx and vectors is not None else None
            readings.append(self._read_one(inp, plan, seg_vecs, ctx_vec, learned[n]))
        return readings

    def _learned_confidences(self, inputs: Sequence[ToneInput]) -> list[_Learned]:
        """Per turn, the learned read-outs' confidence for each tag they cover, and the
        primary-move shares (empty without a model): the fine-tuned encoder's for the tags
        it reads better, the linear read-outs' for the rest."""
        if not inputs or (self.model is None and self.encoder is None):
            return [_Learned({}, {}) for _ in inputs]
        out = [_Learned({}, {}) for _ in inputs]
        if self.model is not None:
            from calmline.tone.model import embed_turns

            turns = [TurnText(i.text, (i.context or "").strip()) for i in inputs]
            rows = [
                features(turn, *vecs)
                for turn, vecs in zip(turns, embed_turns(self.embedder, turns), strict=True)
            ]
            x = np.stack(rows)
            conf = self.model.confidences(x)
            head = self.model.primary
            moves = head.probabilities(x) if head is not None else None
            for i, learned in enumerate(out):
                learned.tags.update({t: float(conf[i, j]) for j, t in enumerate(self.model.tags)})
                if head is not None and moves is not None:
                    learned.moves.update({m: float(moves[i, k]) for k, m in enumerate(head.labels)})
        if self.encoder is not None:
            enc = self.encoder
            conf, moves, uptake = enc.confidences(
                [((i.context or "").strip(), i.text) for i in inputs]
            )
            for i, learned in enumerate(out):
                learned.uptake.update(
                    {
                        d: round(float(uptake[i, k]), 3)
                        for k, d in enumerate(UPTAKE[: uptake.shape[1]])
                    }
                )
                learned.tags.update(
                    {t: float(conf[i, j]) for j, t in enumerate(enc.tags) if t in enc.use}
                )
                if not (inputs[i].context or "").strip() and "paraphrase" in enc.tags:
                    # With no line to compare against, the linear read-out of paraphrase
                    # loses most of what it reads (dev F1 0.77 -> 0.64 with the lines
                    # left out); the encoder, trained half the time without them, keeps
                    # more (0.77 -> 0.72). So a turn read alone takes it from the encoder.
                    learned.tags["paraphrase"] = float(conf[i, enc.tags.index("paraphrase")])
                learned.moves.clear()
                learned.moves.update({m: float(moves[i, k]) for k, m in enumerate(enc.moves)})
        return out

    # ------------------------------------------------------------------ scoring

    def _read_one(
        self,
        inp: ToneInput,
        plan: _Plan,
        seg_vecs: npt.NDArray[np.float32] | None,
        ctx_vec: npt.NDArray[np.float32] | None,
        learned: _Learned,
    ) -> ToneReading:
        ev = _Evidence()
        negated = self._apply_rules(plan, ev)
        if seg_vecs is not None and len(self._proto_tags):
            self._apply_embeddings(plan, seg_vecs, negated, ev)
        if (
            "paraphrase" not in self.learned
            and inp.context
            and inp.context.strip()
            and seg_vecs is not None
            and ctx_vec is not None
        ):
            self._apply_paraphrase(plan, seg_vecs, inp.context, ctx_vec, ev)
        if "paraphrase" in self.learned and not (inp.context and inp.context.strip()):
            self._apply_paraphrase_markers(plan, ev)
        for tag, conf in learned.tags.items():
            ev.offer(tag, conf, f"learned read-out {conf:.2f}")
        self._apply_voice(inp, ev)
        self._apply_interactions(ev)
        tags: dict[str, float] = {
            tag: round(ev.conf[tag], 3)
            for tag in TONE_TAGS
            if ev.conf.get(tag, 0.0) >= (REPORTED_AT if tag in self.learned else RULES_REPORTED_AT)
        }
        primary = max(learned.moves, key=learned.moves.__getitem__) if learned.moves else None
        for tag in self._gated(tags, learned.moves, primary):
            ev.why[tag] += f"; dropped: the turn is mainly {primary}"
            del tags[tag]
        cues = [f"{tag} {tags[tag]:.2f}: {ev.why[tag]}" for tag in tags]
        return ToneReading(
            tags=tags,
            direction=self.direction(tags),
            voice=inp.voice,
            cues=cues,
            primary=primary,
            uptake=learned.uptake,
        )

    def _gated(
        self, tags: dict[str, float], moves: dict[str, float], primary: str | None
    ) -> list[str]:
        """Secondary moves the model's gate drops: a tag that is also a primary move, in a
        turn mainly doing something else, when the head gives it less than the gate's
        share (``meta["gate"]``, set on dev by ``benchmarks/train_tone.py``)."""
        gate = self.model.meta.get("gate") if self.model is not None else None
        if not isinstance(gate, dict) or primary is None:
            return []
        share = float(gate.get("share", 0.0))
        gated = set(gate.get("tags", ()))
        return [t for t in tags if t in gated and t != primary and moves.get(t, 0.0) < share]

    def _apply_rules(self, plan: _Plan, ev: _Evidence) -> dict[str, set[int]]:
        """Lexical hits; returns, per tag, the sentences where its cue was negated."""
        negated: dict[str, set[int]] = {}
        for idx, sentence in enumerate(plan.sentences):
            for tag, tc in self.cues.tags.items():
                if tag in self.learned and tag not in RULES_ALSO:
                    continue
                if any(u.search(sentence) for u in tc.unless):
                    continue
                hit_plain, hit_negated = self._rule_hits(sentence, tc)
                if hit_plain is not None:
                    conf, matched = hit_plain
                    ev.offer(tag, conf, f"rule {matched!r}")
                elif hit_negated:
                    negated.setdefault(tag, set()).add(idx)
        return negated

    def _rule_hits(self, sentence: str, tc: TagCues) -> tuple[tuple[float, str] | None, bool]:
        best: tuple[float, str] | None = None
        any_negated = False
        for pattern in tc.patterns:
            for match in pattern.regex.finditer(sentence):
                if pattern.negatable and is_negated(
                    sentence, match.start(), self.cues.negators, self.cues.clause_breaks
                ):
                    any_negated = True
                    continue
                if best is None or pattern.conf > best[0]:
                    best = (pattern.conf, match.group(0).strip() or match.group(0))
                break
        return best, any_negated

    def _apply_embeddings(
        self,
        plan: _Plan,
        seg_vecs: npt.NDArray[np.float32],
        negated: dict[str, set[int]],
        ev: _Evidence,
    ) -> None:
        sims = seg_vecs @ self._protos.T  # (segments, prototypes)
        for tag, tc in self.cues.tags.items():
            if tag in self.learned:
                continue
            cols = self._tag_index[tag]
            if not len(cols):
                continue
            tag_sims = sims[:, cols]
            for seg_i, sentence_i in enumerate(plan.segment_sentence):
                if sentence_i in negated.get(tag, ()):
                    continue  # "im not sorry" is close to "im sorry" for an embedder
                j = int(np.argmax(tag_sims[seg_i]))
                sim = float(tag_sims[seg_i, j])
                conf = ramp(sim, tc.sim_low, tc.sim_high, tc.emb_max)
                if conf > 0:
                    proto = self._proto_text[cols[j]]
                    ev.offer(tag, conf, f"like {proto!r} (cos {sim:.2f})")

    def _apply_paraphrase(
        self,
        plan: _Plan,
        seg_vecs: npt.NDArray[np.float32],
        context: str,
        ctx_vec: npt.NDArray[np.float32],
        ev: _Evidence,
    ) -> None:
        opts = self.cues.paraphrase
        ctx_norm = normalise(context)
        ctx_words = set(words(ctx_norm))
        ctx_content = content_words(context)
        sims = seg_vecs @ ctx_vec
        for idx, sentence in enumerate(plan.sentences):
            seg_ids = [i for i, s in enumerate(plan.segment_sentence) if s == idx]
            sim = float(max(sims[i] for i in seg_ids))
            base = ramp(sim, opts.sim_low, opts.sim_high)
            marker = any(m.search(sentence) for m in opts.markers)
            if base <= 0 and not marker:
                continue
            tokens = words(sentence)
            shared = content_words(sentence) & ctx_content
            if len(shared) < opts.min_shared_content and sim < opts.sim_high:
                continue
            second = any(t in SECOND_PERSON for t in tokens)
            conf = opts.sim_weight * base + (opts.marker_bonus if marker else 0.0)
            conf += opts.second_person_bonus if second else 0.0
            offering = not marker and any(p.search(sentence) for p in opts.not_restating)
            if offering:
                conf *= 0.5
            copied = share(tokens, ctx_words)
            parrot = copied >= opts.parrot_overlap and len(tokens) >= 0.6 * len(ctx_words)
            if parrot:
                conf *= 0.3
            why = f"restates the customer (cos {sim:.2f}, shared {sorted(shared)[:4]}"
            why += ", marker" if marker else ""
            why += ", parroted" if parrot else ""
            why += ", speaks for the learner" if offering else ""
            ev.offer("paraphrase", min(conf, 1.0), why + ")")

    def _apply_paraphrase_markers(self, plan: _Plan, ev: _Evidence) -> None:
        """With no customer line to compare against, a restating opener ("so you've been
        out of work since spring?", "it sounds like you...") is the evidence left."""
        opts = self.cues.paraphrase
        for sentence in plan.sentences:
            if any(m.search(sentence) for m in opts.markers):
                ev.offer("paraphrase", opts.marker_alone, "restating opener, no line to compare")
                return

    def _apply_voice(self, inp: ToneInput, ev: _Evidence) -> None:
        opts = self.cues.voice
        voice = inp.voice
        # Only a louder voice is a raised voice: speed and pitch add to it but never make
        # it on their own (a learner who speaks quickly while offering a refund is not
        # shouting; the demo's espeak learner showed rate_z 2.5 at normal loudness).
        if (
            voice is not None
            and voice.loudness_z is not None
            and voice.loudness_z >= opts.raised_min_loudness_z
        ):
            z = voice.loudness_z
            z += 0.5 * max(voice.rate_z or 0.0, 0.0) + 0.25 * max(voice.pitch_z or 0.0, 0.0)
            conf = ramp(z, opts.raised_low_z, opts.raised_high_z)
            if conf > 0:
                ev.offer(
                    "raised_voice",
                    max(conf, 0.5),
                    f"voice {voice.loudness_z:+.1f} sd louder than usual"
                    + (f", rate {voice.rate_z:+.1f} sd" if voice.rate_z else ""),
                )
        caps = caps_words(inp.text)
        if caps >= 2:
            ev.offer("raised_voice", min(0.5 + 0.1 * caps, 0.9), f"{caps} words in capitals")
        overlap = max(inp.overlap_s, voice.overlap_s if voice else 0.0)
        if overlap > opts.overlap_min_s:
            conf = 0.6 + 0.4 * ramp(overlap, opts.overlap_min_s, opts.overlap_full_s)
            ev.offer("interrupting", conf, f"talked over the customer for {overlap:.1f} s")

    def _apply_interactions(self, ev: _Evidence) -> None:
        solution = ev.conf.get("solution", 0.0)
        policy = ev.conf.get("policy_shield", 0.0)
        if policy and solution >= SOLUTION_SOFTENS_AT:
            softened = policy * (1.0 - POLICY_SOFTENED_BY_SOLUTION * solution)
            ev.conf["policy_shield"] = softened
            ev.why["policy_shield"] += " (softened: a solution is offered)"

    def direction(self, tags: dict[str, float]) -> Direction:
        """Escalating / neutral / de-escalating from the weighted balance of the tags."""
        opts = self.cues.direction
        score = sum(
            self.cues.tags[tag].weight * conf if tag in self.cues.tags else 0.0
            for tag, conf in tags.items()
            if conf >= opts.floor
        )
        if "paraphrase" in tags and tags["paraphrase"] >= opts.floor:
            score += self.cues.paraphrase.weight * tags["paraphrase"]
        if score >= opts.de_escalating_at:
            return "de-escalating"
        if score <= opts.escalating_at:
            return "escalating"
        return "neutral"


@lru_cache(maxsize=1)
def load_tone_reader() -> ToneReader:
    """The reader on the bundled MiniLM, the shipped read-outs and ``prompts/tone_cues.yaml``,
    built once per process."""
    from calmline.embed import load_embedder

    return ToneReader(load_embedder(), load_cues(), load_tone_model(), load_tone_encoder())
