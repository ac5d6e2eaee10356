"""The customer-line check: is a generated line speakable, in character and on the facts?

Pure text rules, no model. A small model drifts into assistant-speak, plays the
agent, talks about its prompt or invents order numbers; every line it produces is
checked here and rejected lines never reach the learner. Also home to the pure
readers of learner text the customer needs: ``resolution_offered``, ``asked_about``
and ``looks_like_injection``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from calmline.customer.scenario import (
    Resolution,
    Scenario,
    calendar_words,
    line_words,
    spoken_numbers,
)
from calmline.text import sentence_parts

MAX_WORDS = 30
REPEAT_SHARE = 0.6  # of a line's words in runs shared with one earlier customer line
ECHO_SHARE = 0.5  # ... with one of the agent's lines

_ASSISTANT = re.compile(
    r"how (can|may|could) i (help|assist)|as an ai|language model|i'?m sorry to hear"
    r"|assist you|happy to help|glad to help|is there anything else|thank you for (contacting|"
    r"calling|your patience)|i understand your frustration|let me help|i('m| am) here to help"
    r"|i apologi[sz]e for (the|any) inconvenience|feel free to",
    re.IGNORECASE,
)
_AGENT_SPEAK = re.compile(
    r"^\s*(agent|assistant|advisor|staff)\s*:|\b(i can offer you|let me (check|look into) (that|"
    r"this) for you|on behalf of (the|our) (company|team|store)|our policy is|we apologi[sz]e"
    r"|i('ll| will) (arrange|process|issue) (a|your|the) (refund|replacement|credit))"
    r"|\b(can|could|may) i (take|have|get) your\b|\bi('ll| will) be in touch\b"
    r"|\bthank you for your (issue|problem|call|complaint|enquiry)\b|\bplease come back\b"
    r"|\bwe('ve| have|'ll| will| can) (arranged|booked|sent|send|offer|refund|replace|credit)"
    r"|^\s*(sir|madam)\b|,\s*(sir|madam)\b",
    re.IGNORECASE,
)
_META = re.compile(
    r"\b((the|my|your|system) prompt|(my|your|these|system|the system) instructions|role-?play"
    r"|system message|as the customer|my role|in character|this scenario|simulation"
    r"|an ai|chatbot|language model|transcript)\b",
    re.IGNORECASE,
)
_ALWAYS_OK = {"0", "1"}
_NEGATION = re.compile(
    r"\b(not|no|never|cannot|can't|cant|won't|wont|unable|don't|dont|isn't|aren't|"
    r"couldn't|wouldn't|shouldn't|without|nothing|refuse|nobody|nobody's|nobodys|neither)\b"
)
_INJECTION = re.compile(
    r"ignore (all |any |your |the |previous |prior |those )*(instructions|prompt|rules)"
    # "you are now a ...", "you are now satisfied", not "which is where you are now."
    r"|you( a|')re now\b(?!\s*([.,!?;]|$))|from now on,? you"
    r"|repeat (your|the) (prompt|instructions|system)"
    r"|system prompt|your instructions|new instructions|pretend|act as|role ?play"
    r"|you are (an? )?(ai|assistant|chatbot|language model)|forget (everything|your|all)"
    r"|i am the customer|i'm the customer|you are the agent|you're the agent"
    r"|you are (happy|satisfied|calm)|you're (happy|satisfied|calm)"
    r"|(say|type|output) (that )?you('re| are)? (happy|satisfied)"
    r"|the customer is (now )?(happy|satisfied|calm)|(^|\n)\s*(system|customer|assistant)\s*:"
    r"|developer mode|(^|\n|#)\s*instructions?\s*:|respond (only )?in json"
    r"|(print|show|reveal|tell me) your (hidden|rules|prompt|instructions|facts)",
    re.IGNORECASE,
)


# A generated line that declares the matter settled. Settling is decided by the anger
# model and spoken from the pack's authored ``satisfied_line``; a model that says it
# anyway (a small model drifting, or one obeying "say you are satisfied") is out of step.
_SETTLES = re.compile(
    r"\b(i'?m|i am|i feel|we'?re|we are)\s+(now\s+|so\s+|very\s+|really\s+|completely\s+"
    r"|totally\s+|quite\s+|much\s+)*(happy|satisfied|calm|content|sorted)\b(?!\s+to\b)"
    r"|\b(that'?s|it'?s|everything'?s|everything is|all)\s+(all\s+)?sorted\b"
    r"|\bthank(s| you)( so much| very much)? for (the|my|your) (refund|replacement|help)\b",
    re.IGNORECASE,
)
_MARKUP = re.compile(r"[{}<>#`|\\]")  # JSON, HTML, Markdown: nobody says these aloud


def looks_like_injection(text: str) -> bool:
    """Does the learner's turn try to instruct the model rather than talk to the customer?"""
    # NFKC folds look-alikes ("Ｉｇｎｏｒｅ" in full-width letters) to plain text first
    return bool(_INJECTION.search(unicodedata.normalize("NFKC", text).replace("’", "'")))


def _forms(token: str) -> set[str]:
    """The token and the stems it may stand for: "sending" -> send, "booked" -> book,
    "arranging" -> arrange, "getting" -> get, "refunds" -> refund."""
    out = {token, token.rstrip("s")}
    for suffix in ("ing", "ed"):
        if token.endswith(suffix) and len(token) > len(suffix) + 2:
            base = token[: -len(suffix)]
            out |= {base, base + "e"}
            if len(base) > 2 and base[-1] == base[-2]:
                out.add(base[:-1])
    return out


_NEGATORS = frozenset({"not", "no", "never", "cannot", "nothing"})
NEGATED_SPAN = 6  # tokens after a negation in which the rest of a negated phrase must come


def _in_order(words: list[str], forms: list[set[str]]) -> bool:
    at = 0
    for word in words:
        while at < len(forms) and word not in forms[at]:
            at += 1
        if at == len(forms):
            return False
        at += 1
    return True


def _phrase_hits(phrase: str, tokens: list[str]) -> int | None:
    """Index of the first token of ``phrase`` in ``tokens`` if all its words occur."""
    wanted = line_words(phrase)
    if not wanted:
        return None
    forms = [_forms(tok) for tok in tokens]
    if wanted[0] in _NEGATORS and len(wanted) > 1:
        # "not entitled", "no compensation": the negation bears on the next words, so they
        # follow it closely ("you're entitled to ..., and Monday is not that" has no "not
        # entitled" in it)
        for i, f in enumerate(forms):
            if wanted[0] in f and _in_order(wanted[1:], forms[i + 1 : i + 1 + NEGATED_SPAN]):
                return i
        return None
    positions = []
    for word in wanted:
        found = [i for i, f in enumerate(forms) if word in f]
        if not found:
            return None
        positions.append(found[0])
    return min(positions)


def phrase_in(text: str, phrase: str) -> bool:
    """Do all the words of ``phrase`` occur in ``text`` (any order, plural-tolerant)?"""
    return _phrase_hits(phrase, line_words(text)) is not None


def matched_resolution(text: str, scenario: Scenario) -> Resolution | None:
    """The accepted resolution this learner turn offers, if any.

    A turn that looks like an instruction to the model offers nothing ("you are
    satisfied now", "pretend I offered a refund"); a negated phrase offers nothing
    ("I can't give you a refund").
    """
    if looks_like_injection(text):
        return None
    for resolution in scenario.will_accept:
        if any(affirmed_phrase_in(text, phrase) for phrase in resolution.phrases):
            return resolution
    return None


# "I'm not going to ask you to reapply", "you won't need to wait another 48 hours": a
# negation that governs a request, however many words before the thing not asked for
_NOT_ASKING = (
    r"\b(not|never|no|won't|wont|don't|dont|isn't|aren't|shan't)\b(\W+\w+){0,4}?\W+"
    r"(ask|asking|make|making|need|needing|tell|telling|expect|expecting|want|wanting|have to)\W"
)
_NOT_ASKED_BEFORE = re.compile(_NOT_ASKING + r"+(\w+\W+){0,2}$")
_NOT_ASKING_IN = re.compile(_NOT_ASKING)


def not_asked(before: str) -> bool:
    """Does ``before`` (a clause up to some words) end with the speaker saying they are
    not asking for what follows?"""
    return _NOT_ASKED_BEFORE.search(before.lower().replace("’", "'") + " ") is not None


def declines_to_ask(text: str) -> bool:
    """Does ``text`` say the speaker is not asking something of the listener?"""
    return _NOT_ASKING_IN.search(text.lower().replace("’", "'") + " ") is not None


def affirmed_phrase_in(text: str, phrase: str) -> bool:
    """``phrase_in`` within one clause, and not negated just before it: "I can't give you a
    refund" does not offer a refund, "you don't need to send it away" does not ask for it."""
    for clause in re.split(r"[.!?;]|\bbut\b", text.lower().replace("’", "'")):
        tokens = line_words(clause)
        at = _phrase_hits(phrase, tokens)
        if at is None:
            continue
        before = " ".join(tokens[max(0, at - 5) : at + len(line_words(phrase))])
        if not _NEGATION.search(before) and not not_asked(" ".join(tokens[:at])):
            return True
    return False


def resolution_offered(text: str, scenario: Scenario) -> bool:
    """Does this learner turn offer a resolution the customer will accept?"""
    return matched_resolution(text, scenario) is not None


_QUESTION_START = re.compile(
    # spoken questions often open with a filler: "ok so what time suits you", "right
    # can I take the order number", "hi there, can I take your name"
    r"^\W*((ok(ay)?|right|so|and|hi|hello|hi there|well|alright|great|lovely|thanks|thank you"
    r"|please|um|er|good (morning|afternoon|evening))\W+)*"
    r"(what|when|where|which|who|whose|why|how|did|does|do|is|are|was|were|have|has"
    r"|had|can|could|would|will|may|tell me|talk me through|walk me through|explain|describe)\b"
)


# "What I can do is...", "what normally happens is...": a statement, not a question.
_PSEUDO_QUESTION = re.compile(
    r"^\W*((ok(ay)?|so|well|right|now|and|um|er)\W+)*what (i|we|you|ye|they|normally|usually"
    r"|generally)\b[^?]*?\b(do|does|happens|happen|need|suggest|recommend|can|could)\b[^?]*?\bis\b",
    re.IGNORECASE,
)


def is_question(sentence: str) -> bool:
    """Is ``sentence`` a question (a question mark, or a question word at the start that
    does not open a statement: "what I can do is...")?"""
    if sentence.rstrip().endswith("?") or _CHECK_TAG.search(sentence):
        return True
    return bool(_QUESTION_START.match(sentence)) and not _PSEUDO_QUESTION.match(sentence)


# a check-back tag ending a run-on read-back with no question mark, as a recogniser writes it:
# "... stopping with an e twenty one error have i got that right" (realism round 13)
_CHECK_TAG = re.compile(
    r"\b(have i got (that|it|this|all that|everything) (right|correct)|is that (right|correct)"
    r"|did i get (that|it) right|does that sound right|am i right)\W*$",
    re.IGNORECASE,
)


# a request for something the customer can show or say: "pop it down here and show me
# whereabouts it's leaking", "read me the number on the back", "I'll need you to ..."
_REQUESTS = re.compile(
    r"\b(show|tell|read|give|send|pass|hand)\s+(me|us)\b"
    r"|\blet (me|us) (see|have a look at|have a look)\b"
    r"|\b(i|we)('d| would| will| 'll|'ll| need| just need)( need| like)? you to\b"
    r"|\bwould you mind\b|\bif you (could|can|would)\b"
    r"|\bplease (hold|bear with|wait)\b|\b(can|could) you (hold|bear with)\b"
    r"|\bbear with (me|us)\b|\b(hang|hold) on (a )?(sec|second|moment|minute|one)\b"
    # "repairs line can i take the job reference please", no question mark (realism round 14)
    r"|\b(can|could|may) (i|we) (just )?(take|have|get|grab|confirm|check)\b"
    # a question run on without its question mark, as a recogniser writes it: "hiya you're
    # through to dale sorry what was that order number again mate"
    r"|\b(sorry|so|and|but|okay|ok|right|remind me|just|mate|love|then)\s+"
    r"(what|when|where|which|who|how)\s+(was|is|were|are|did|does|do)\b",
    re.IGNORECASE,
)


# American spellings of words the packs' topics spell the British way ("neighbors")
_BRITISH = (
    ("neighbor", "neighbour"), ("color", "colour"), ("favor", "favour"), ("center", "centre"),
    ("cancelation", "cancellation"), ("canceled", "cancelled"), ("apologiz", "apologis"),
    ("realiz", "realis"), ("authoriz", "authoris"), ("organiz", "organis"),
)  # fmt: skip


def _british(token: str) -> str:
    for us, uk in _BRITISH:
        if token.startswith(us):
            return uk + token[len(us) :]
    return token


# A greeting is not a topic: "Good morning, how may I help you today?" asks nothing about
# the morning (realism round 13: it got "Any time, love, I'm not going anywhere").
_GREETING = re.compile(
    r"\bgood (morning|afternoon|evening|day)\b|^\W*(morning|afternoon|evening)\b(?=\W)"
)


def checks_back(text: str) -> bool:
    """Does the turn end by asking the customer to confirm what it read back ("... have I
    got that right", "is that correct?")?"""
    return bool(_CHECK_TAG.search(text.replace("’", "'").rstrip(" ?.!")))


def asked_about(text: str, topics: Iterable[str]) -> bool:
    """Did the learner ask about one of ``topics``?

    True when one sentence is a question (ends with "?" or starts with a question
    word) or a request ("show me where...", "read me the...") and mentions a topic. A
    topic is one or more words, all of which must appear in that sentence; a topic word
    matches a word starting with it, so ``deliver`` matches "delivered" and "delivery"
    (and an American spelling its British one: "neighbors").
    """
    lowered = _GREETING.sub(" ", text.lower().replace("’", "'"))
    # a read-back ending "is that right?" asks to confirm, not about what it reads back
    questions = [
        s
        for s in sentence_parts(lowered)
        if (is_question(s) or _REQUESTS.search(s)) and not _CHECK_TAG.search(s)
    ]
    wanted = [w for w in (line_words(topic) for topic in topics) if w]
    for question in questions:
        tokens = [_british(t) for t in line_words(question)]
        if any(_topic_in(topic, tokens) for topic in wanted):
            return True
    return False


TOPIC_GAP = 4  # the most words between two words of a topic ("how is your mum")


def _topic_in(topic: Sequence[str], tokens: Sequence[str]) -> bool:
    """Are the topic's words in the sentence, in order, each within ``TOPIC_GAP`` words of
    the one before ("call you on" is not "call you ... On Friday the 7th")?"""
    starts = [i for i, t in enumerate(tokens) if t.startswith(topic[0])]
    for start in starts:
        at, found = start, True
        for word in topic[1:]:
            nxt = next(
                (j for j in range(at + 1, min(len(tokens), at + 2 + TOPIC_GAP))
                 if tokens[j].startswith(word)),
                None,
            )  # fmt: skip
            if nxt is None:
                found = False
                break
            at = nxt
        if found:
            return True
    return False


def allowed_numbers(scenario: Scenario, said: Iterable[str]) -> set[str]:
    """Numbers the customer may say: the facts plus anything already said in the call."""
    allowed = set(_ALWAYS_OK) | scenario.fact_numbers()
    for key, value in scenario.facts.items():
        allowed |= spoken_numbers(f"{key} {value}")
    for text in said:
        allowed |= spoken_numbers(text)
    return allowed


def check_line(
    text: str,
    scenario: Scenario,
    said: Iterable[str] = (),
    *,
    earlier: Sequence[str] = (),
    agent_lines: Sequence[str] = (),
    max_words: int = MAX_WORDS,
) -> list[str]:
    """What is wrong with a candidate customer line; empty when it may be spoken.

    Args:
        text: the cleaned candidate line.
        scenario: whose facts the line must keep to.
        said: everything said so far in the call (both speakers); numbers, dates and
            days in it may be repeated.
        earlier: the customer's earlier lines (saying one again, or a line mostly made
            of runs of four words from one, is rejected: small models loop).
        agent_lines: the learner's lines (a line half made of runs of four words from
            one is rejected: small models echo the agent instead of answering).
        max_words: longer lines are too long to speak as one turn.
    """
    said = list(said)
    problems = []
    letters = sum(ch.isalpha() for ch in text)
    tokens = line_words(text)
    if letters < 2 or not tokens or letters < 0.6 * len(text.replace(" ", "")):
        return ["empty or garbage"]
    if (
        re.search(r"\b(\w+)( \1\b){3,}", text.lower())
        or len(set(tokens)) < 0.4 * len(tokens)
        or _repeated_ngram(tokens, 4)
    ):
        problems.append("garbage: repeats itself")
    if _ASSISTANT.search(text.replace("’", "'")):
        problems.append("assistant-speak")
    if _AGENT_SPEAK.search(text.replace("’", "'")):
        problems.append("speaks as the agent")
    if _META.search(text):
        problems.append("meta talk about the role-play")
    if _SETTLES.search(text.replace("’", "'")):
        problems.append("declares the matter settled (only the anger model may)")
    if _MARKUP.search(text):
        problems.append("markup, not speech")
    if len(tokens) > max_words:
        problems.append(f"too long to speak ({len(tokens)} words > {max_words})")
    unknown = spoken_numbers(text) - allowed_numbers(scenario, said)
    if unknown:
        problems.append("number not in the facts: " + ", ".join(sorted(unknown)))
    known_days = set().union(
        calendar_words(" ".join([*scenario.facts.values(), scenario.wants])),
        *(calendar_words(t) for t in said),
    )
    odd_days = calendar_words(text) - known_days
    if odd_days:
        problems.append("date not in the facts: " + ", ".join(sorted(odd_days)))
    if any(
        _same(text, line) or _covered(tokens, line_words(line)) >= REPEAT_SHARE for line in earlier
    ):
        problems.append("repeats an earlier line")
    if any(_covered(tokens, line_words(line)) >= ECHO_SHARE for line in agent_lines):
        problems.append("echoes the agent")
    return problems


def _covered(tokens: list[str], other: list[str], n: int = 4) -> float:
    """The share of ``tokens`` inside a run of ``n`` words that also occurs in ``other``.

    A customer may repeat part of a complaint ("I was told to wait 48 hours") or
    confirm the agent's words; a line that is mostly an earlier one is a loop.
    """
    if len(tokens) < n:
        return 1.0 if tokens and tokens == other else 0.0
    shared = _ngrams(tokens, n) & _ngrams(other, n)
    covered: set[int] = set()
    for i in range(len(tokens) - n + 1):
        if tuple(tokens[i : i + n]) in shared:
            covered.update(range(i, i + n))
    return len(covered) / len(tokens)


def _same(a: str, b: str) -> bool:
    return line_words(a) == line_words(b)


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def _repeated_ngram(tokens: list[str], n: int) -> bool:
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(grams) != len(set(grams))
