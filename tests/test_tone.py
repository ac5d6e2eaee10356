"""Tone reading logic on the real cue file with a hashing fake embedder: rules, negation,
paraphrase against context, voice cues and direction."""

from __future__ import annotations

import pytest

from calmline.embed import FakeEmbedder, cosine
from calmline.errors import CalmlineError
from calmline.models import TONE_TAGS, VoiceFeatures
from calmline.tone.cues import load_cues, parse_cues
from calmline.tone.reader import ToneInput, ToneReader
from calmline.tone.text import is_negated, normalise, segments


@pytest.fixture(scope="module")
def reader() -> ToneReader:
    return ToneReader(FakeEmbedder(), load_cues())


def tags(reader: ToneReader, text: str, context: str | None = None) -> set[str]:
    return {t for t, c in reader.read(text, context).tags.items() if c >= 0.5}


def test_every_tag_in_the_cue_file_is_a_known_tag() -> None:
    cues = load_cues()
    assert set(cues.tags) <= set(TONE_TAGS)
    assert all(tc.patterns or tc.prototypes for tc in cues.tags.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calm down, it's policy, nothing I can do", {"calm_down", "policy_shield"}),
        ("i do apologise for the mix up", {"apology"}),
        ("could you tell me when it arrived", {"question"}),
        ("ill send a new one out tomorrow", {"solution", "ownership"}),
        ("you should have read the terms", {"blame"}),
        ("im just doing my job", {"defensive"}),
        ("oh brilliant so now its our fault", {"sarcasm"}),
    ],
)
def test_lexical_rules_fire_on_typed_and_asr_text(
    reader: ToneReader, text: str, expected: set[str]
) -> None:
    assert expected <= tags(reader, text)


def test_negation_turns_blame_into_empathy(reader: ToneReader) -> None:
    assert "defensive" in tags(reader, "it's not my fault")
    found = tags(reader, "it's not your fault at all")
    assert "empathy" in found and "blame" not in found
    assert "blame" in tags(reader, "that's your fault")


def test_negated_apology_does_not_count(reader: ToneReader) -> None:
    assert "apology" not in tags(reader, "I'm not sorry, that's the rule")
    assert "apology" in tags(reader, "no no I'm so sorry")  # "no" as an interjection
    assert "apology" in tags(reader, "I can't apologise enough")


def test_sorry_as_pardon_is_a_question_not_an_apology(reader: ToneReader) -> None:
    found = tags(reader, "sorry what was the order number")
    assert "question" in found and "apology" not in found


def test_negation_scope_stops_at_the_clause() -> None:
    negators = frozenset({"not", "cant"})
    breaks = frozenset({"but"})
    text = normalise("I can't change it but I'm sorry")
    assert not is_negated(text, text.index("sorry"), negators, breaks)
    text = normalise("I'm not sorry")
    assert is_negated(text, text.index("sorry"), negators, breaks)


def test_paraphrase_needs_the_customer_line(reader: ToneReader) -> None:
    customer = "I've been charged twice for the same delivery this month"
    learner = "so you've been charged twice for one delivery this month"
    assert "paraphrase" in tags(reader, learner, customer)
    assert "paraphrase" not in tags(reader, learner)
    assert "paraphrase" not in tags(reader, learner, "The hotel room smells of smoke")


def test_parroting_the_customer_is_not_a_paraphrase(reader: ToneReader) -> None:
    customer = "my parcel never arrived and nobody answers the phone"
    reading = reader.read("my parcel never arrived and nobody answers the phone", customer)
    assert reading.tags.get("paraphrase", 0.0) < 0.5


def test_voice_cues_raise_voice_and_interrupting(reader: ToneReader) -> None:
    loud = VoiceFeatures(loudness_db=-10, speech_rate_wps=4, loudness_z=2.6, rate_z=1.5)
    reading = reader.read("I understand", voice=loud, overlap_s=0.9)
    assert reading.has("raised_voice") and reading.has("interrupting")
    assert reading.voice == loud
    assert any("louder" in c for c in reading.cues)
    quiet = VoiceFeatures(loudness_db=-30, speech_rate_wps=2.5, loudness_z=0.2, overlap_s=0.1)
    reading = reader.read("I understand", voice=quiet)
    assert not reading.has("raised_voice") and not reading.has("interrupting")


def test_overlap_in_voice_features_counts_as_interrupting(reader: ToneReader) -> None:
    voice = VoiceFeatures(loudness_db=-20, speech_rate_wps=3, overlap_s=1.2)
    assert reader.read("right", voice=voice).has("interrupting")


def test_typed_capitals_read_as_raised_voice(reader: ToneReader) -> None:
    assert "raised_voice" in tags(reader, "I SAID I CANNOT DO THAT")


def test_direction_follows_the_weighted_balance(reader: ToneReader) -> None:
    good = "I'm really sorry, I understand, I'll refund you today"
    assert reader.read(good).direction == "de-escalating"
    assert reader.read("calm down, you should have read the terms").direction == "escalating"
    assert reader.read("one moment").direction == "neutral"
    # a sorry does not outweigh telling someone to calm down
    assert reader.read("sorry but you need to calm down").direction == "escalating"


def test_direction_crosses_over_at_the_configured_balance(reader: ToneReader) -> None:
    """The thresholds and weights in tone_cues.yaml decide, tag confidence by confidence."""
    opts, weight = reader.cues.direction, {t: c.weight for t, c in reader.cues.tags.items()}
    empathy = opts.de_escalating_at / weight["empathy"]  # the confidence that tips it
    assert opts.floor <= empathy <= 1
    assert reader.direction({"empathy": empathy + 0.01}) == "de-escalating"
    assert reader.direction({"empathy": empathy - 0.01}) == "neutral"
    blame = opts.escalating_at / weight["blame"]
    assert reader.direction({"blame": max(blame, opts.floor) + 0.01}) == "escalating"
    # Below the floor a tag counts for nothing, however heavy.
    assert reader.direction({"calm_down": opts.floor - 0.01}) == "neutral"
    # Opposite tags balance: empathy (+1.0) is outweighed by calm down (-1.5) ...
    assert reader.direction({"empathy": 1.0, "calm_down": 1.0}) == "escalating"
    # ... and evens out against a defensive turn (-1.0) as neutral.
    assert reader.direction({"empathy": 1.0, "defensive": 1.0}) == "neutral"


def test_policy_with_a_real_remedy_is_not_a_shield(reader: ToneReader) -> None:
    shield = "I'm afraid it's our policy, we don't give refunds after 30 days"
    assert "policy_shield" in tags(reader, shield)
    helped = "our policy is a full refund for faulty items, so I'll refund you today"
    assert "policy_shield" not in tags(reader, helped)


def test_cues_explain_each_tag(reader: ToneReader) -> None:
    reading = reader.read("calm down please")
    assert reading.tags
    assert len(reading.cues) == len(reading.tags)
    assert any("calm down" in c for c in reading.cues)


def test_batch_equals_one_by_one_and_is_deterministic(reader: ToneReader) -> None:
    items = [
        ToneInput("I'm sorry to hear that", "My order is late"),
        ToneInput("whatever"),
        ToneInput("so your order is late", "My order is late"),
    ]
    batch = reader.read_batch(items)
    single = [reader.read(i.text, i.context) for i in items]
    assert batch == single
    assert reader.read_batch(items) == batch
    assert reader.read_batch(["plain string works"]) == [reader.read("plain string works")]
    assert reader.read("plain string works").direction == "neutral"


def test_empty_text_gives_an_empty_reading(reader: ToneReader) -> None:
    reading = reader.read("")
    assert reading.direction == "neutral"


def test_long_unpunctuated_speech_is_windowed() -> None:
    text = " ".join(["word"] * 30)
    assert len(segments(text)) > 1
    assert segments("short sentence. another one") == ["short sentence.", "another one"]


def test_fake_embedder_is_normalised_and_deterministic() -> None:
    fake = FakeEmbedder()
    a, b = fake.embed(["the parcel is late", "the parcel is late"])
    assert cosine(a, b) == pytest.approx(1.0)
    assert cosine(fake.embed(["late parcel"])[0], fake.embed(["hotel room"])[0]) < 0.5
    assert cosine([0, 0], [1, 0]) == 0.0


def test_bad_cue_data_is_one_clear_error() -> None:
    with pytest.raises(CalmlineError, match="unknown tag 'rudeness'"):
        parse_cues({"tags": {"rudeness": {"weight": -1}}})
    with pytest.raises(CalmlineError, match="bad regex"):
        parse_cues({"tags": {"blame": {"weight": -1, "patterns": ["(unclosed"]}}})


def test_references_in_capitals_are_not_shouting() -> None:
    from calmline.tone.text import caps_words

    assert caps_words("Thanks, that's K7PQ2N... sorry, K7PQ2M, got it.") == 0
    assert caps_words("Right, I've got EL-230947 here, the Hallam WM8, and the NHS letter.") == 0
    assert caps_words("I am NOT going to SIT here and listen to this") == 2
