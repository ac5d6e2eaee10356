"""Labelled transcripts for measuring the marker: reading labels, preparing sessions once,
and marking them again under other concept thresholds.

A label file is JSONL, one line per transcript and marking point, as the raters write it:
``{"file": "d01.txt", "point": "000_1d3fdee3de4d81c6.txt#1", "label": "met"}`` (the
point is the rubric point's ``source``; extra keys are ignored).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from calmline.errors import CalmlineError
from calmline.evaluate.agreement import LEVELS
from calmline.evaluate.concepts import ConceptReader, ConceptScorer
from calmline.evaluate.hollow import sanitise
from calmline.evaluate.match import CheckContext
from calmline.evaluate.offline import ToneReaderLike, mark_points, read_tones
from calmline.evaluate.point_model import PointModel
from calmline.evaluate.transcript import load_transcript
from calmline.models import Rubric

Key = tuple[str, str]  # (transcript file name, point source "seed#n")


def read_labels(path: Path) -> dict[Key, str]:
    """``(file, point source) -> label`` from a JSONL label file."""
    if not path.is_file():
        raise CalmlineError(f"{path} does not exist", "pass a labels .jsonl file")
    labels: dict[Key, str] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key, label = (str(row["file"]), str(row["point"])), str(row["label"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CalmlineError(
                f"{path}:{lineno}: expected {{'file', 'point', 'label'}} ({exc})"
            ) from exc
        if label not in LEVELS:
            raise CalmlineError(f"{path}:{lineno}: label {label!r} is not one of {LEVELS}")
        labels[key] = label
    if not labels:
        raise CalmlineError(f"{path} holds no labels")
    return labels


@dataclass
class Prepared:
    """One transcript, sanitised and tone-read, with a context that caches its readings."""

    file: str
    ctx: CheckContext


def prepare(
    folder: Path,
    files: Sequence[str],
    scorer: ConceptScorer,
    tone_reader: ToneReaderLike | None,
) -> list[Prepared]:
    out = []
    for name in files:
        path = folder / name
        if not path.is_file():
            raise CalmlineError(f"labelled transcript {path} does not exist")
        clean, _ = sanitise(load_transcript(path))
        tones = read_tones(clean, tone_reader)
        ctx = CheckContext(session=clean, tones=tones, scorer=scorer)
        out.append(Prepared(name, ctx))
    return out


def mark(
    prepared: Sequence[Prepared],
    rubrics: Sequence[Rubric],
    thresholds: Mapping[str, float] | None = None,
    points: Collection[str] | None = None,
    models: Mapping[str, PointModel] | None = None,
) -> dict[Key, str]:
    """``(file, point source) -> machine verdict``, under ``thresholds`` when given, for
    every point or only those whose source is in ``points``, with the learned point
    ``models`` (None: the shipped ones; empty: the rubric rules alone)."""
    out: dict[Key, str] = {}
    chosen = [
        r.model_copy(
            update={"points": [p for p in r.points if points is None or p.source in points]}
        )
        for r in rubrics
    ]
    for item in prepared:
        reader = item.ctx.reader
        if thresholds is not None and isinstance(reader, ConceptReader):
            reader.scorer = reader.scorer.with_thresholds(thresholds)
        for rubric in chosen:
            for verdict in mark_points(item.ctx, rubric, models):
                out[(item.file, verdict.source)] = verdict.verdict
    return out
