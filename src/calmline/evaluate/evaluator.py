"""``assess``: every rubric on one session, offline tier always, LLM tier when given."""

from __future__ import annotations

from collections.abc import Sequence

from calmline.evaluate.hollow import sanitise
from calmline.evaluate.merge import merge_assessments
from calmline.evaluate.offline import ToneReaderLike, assess_offline, read_tones
from calmline.models import Assessment, Rubric, SessionRecord
from calmline.protocols import Embedder, Judge


def assess(
    session: SessionRecord,
    rubrics: Sequence[Rubric],
    judge: Judge | None = None,
    *,
    tone_reader: ToneReaderLike | None = None,
    embedder: Embedder | None = None,
) -> list[Assessment]:
    """One ``Assessment`` per rubric. Without ``tone_reader``/``embedder`` the bundled
    MiniLM models are loaded; pass fakes in unit tests."""
    if tone_reader is None:
        from calmline.tone.reader import load_tone_reader

        tone_reader = load_tone_reader()  # read_batch takes ToneInput
    if embedder is None:
        from calmline.embed import load_embedder

        embedder = load_embedder()
    clean, _ = sanitise(session)
    tones = read_tones(clean, tone_reader)  # once, shared by every rubric
    out = []
    for rubric in rubrics:
        offline = assess_offline(session, rubric, tone_reader, embedder, tones=tones)
        if judge is not None:
            offline = merge_assessments(rubric, offline, judge.assess(session, rubric))
        out.append(offline)
    return out
