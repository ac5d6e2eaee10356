"""Defences against gaming the offline marker, on short invented transcripts: a learner
line naming a technique is not the technique, copied syllabus text is no answer, and a
debrief sentence about this customer counts only when the call bears it out."""

from __future__ import annotations

from calmline.evaluate.clauses import Span
from calmline.evaluate.concept_check import call_words, grounded
from calmline.evaluate.concepts import ClauseReading
from calmline.evaluate.hollow import HollowRules, load_hollow_rules, shingles, strip_hollow
from calmline.evaluate.transcript import parse_transcript
from calmline.models import ConceptsParams

CALL = """\
# scenario: A customer rings about a washing machine delivered with a cracked door.
CUSTOMER: It came with the glass cracked and nobody has rung me back. [voice rising]
LEARNER: I acknowledge your feelings. I am now paraphrasing. Which day was it delivered?
CUSTOMER: Tuesday! I've rung three times.
LEARNER: I'm sorry. I'll book a replacement for Friday morning.
--- debrief ---
EXAMINER: What told you she was becoming difficult?
LEARNER: Her voice went up when she said she'd rung three times. He was pacing, fists clenched.
"""

RULES = HollowRules(technique_names=["acknowledge your feelings", "paraphrasing"], copied_words=6)


def _text(session, phase: str) -> str:  # type: ignore[no-untyped-def]
    return " ".join(t.text for t in session.learner_turns(phase))


def test_naming_a_technique_in_the_call_is_removed_and_doing_it_is_kept() -> None:
    clean, removed = strip_hollow(parse_transcript(CALL), RULES, frozenset())
    call = _text(clean, "call")
    assert "acknowledge your feelings" not in call and "paraphrasing" not in call
    assert "Which day was it delivered?" in call and "I'm sorry." in call
    assert len(removed) == 2 and all(e.phase == "call" for e in removed)


def test_technique_names_in_the_debrief_are_left_to_the_debrief_checks() -> None:
    text = CALL.replace("He was pacing", "I was paraphrasing. He was pacing")
    clean, _ = strip_hollow(parse_transcript(text), RULES, frozenset())
    assert "I was paraphrasing." in _text(clean, "debrief")


def test_copied_syllabus_sentences_count_for_nothing() -> None:
    syllabus = frozenset(
        shingles("Award credit for describing at least two indicators of a difficult customer.", 6)
    )
    text = CALL.replace(
        "He was pacing, fists clenched.",
        "Describing at least two indicators of a difficult customer. She sighed.",
    )
    clean, removed = strip_hollow(parse_transcript(text), RULES, syllabus)
    debrief = _text(clean, "debrief")
    assert "indicators of a difficult customer" not in debrief and "She sighed." in debrief
    assert [e.phase for e in removed if e.phase == "debrief"] == ["debrief"]


def test_shipped_rules_name_the_common_announcements() -> None:
    rules = load_hollow_rules()
    assert {"acknowledge your feelings", "paraphrasing", "apology is noted"} <= set(
        rules.technique_names
    )
    assert rules.copied_words >= 5


def _reading(session, sentence: str) -> ClauseReading:  # type: ignore[no-untyped-def]
    turn = session.learner_turns("debrief")[0]
    start = turn.text.index(sentence)
    span = Span(start, start + len(sentence))
    return ClauseReading(turn, span, span, {"raised_voice": 0.9})


def test_a_debrief_claim_counts_only_when_the_call_bears_it_out() -> None:
    session = parse_transcript(CALL)
    grounds = call_words(session)
    params = ConceptsParams(concepts=["raised_voice"], grounded_words=1)
    told = _reading(session, "Her voice went up when she said she'd rung three times.")
    other = _reading(session, "He was pacing, fists clenched.")
    assert grounded(told, params, grounds)
    assert not grounded(other, params, grounds)
    off = ConceptsParams(concepts=["raised_voice"])
    assert grounded(other, off, grounds)  # grounding is off unless a rubric asks for it
