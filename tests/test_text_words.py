"""Characterisation of the word and normalising functions every caller relies on.

Each row records, for one input, what each caller got from the functions that used
to live in four modules (tone reading, evidence quotes, the customer's line checks,
the clause splitter; the fake embedder's tokens too). The expected values were
recorded from those old functions (commit b4a3fde) before they were merged into
``calmline.text``; a row that changes means some caller's behaviour changed.

Beyond these rows, 200,000 random strings and every Unicode character in context gave
each caller the same output from old and new, except one: the clause splitter's count
for "İ" (U+0130) and the Kelvin sign (U+212A), whose lower case is ASCII ("İstanbul"
was one word, is now two); the splitter only compares counts with 3 and 4.
"""

from __future__ import annotations

import pytest

from calmline.customer.scenario import line_words as _line_words
from calmline.embed import FakeEmbedder
from calmline.evaluate.clauses import word_count
from calmline.text import normalise, words


def tone_normalise(text: str) -> str:  # tone reading: cue patterns, negation
    return normalise(text)


def tone_words(text: str) -> list[str]:  # tone reading, always on normalised text
    return words(normalise(text))


def evidence_normalise(text: str) -> str:  # quotes, phrase and concept matching
    return normalise(text, fold=True)


def line_words(text: str) -> list[str]:  # the customer's line checks, numbers, dates
    return _line_words(text)


def clause_words(text: str) -> int:  # the clause splitter's word count
    return word_count(text)


def fake_embedder_tokens(text: str) -> list[str]:  # FakeEmbedder's bag of words
    return FakeEmbedder.tokens(text)


# input, tone normalise, tone words, evidence normalise, line words, clause words, fake tokens
ROWS = [
    (
        "I’m really sorry, that “shouldn’t” have happened.",
        'im really sorry, that "shouldnt" have happened.',
        "im really sorry that shouldnt have happened",
        "im really sorry that shouldnt have happened",
        "i'm really sorry that shouldn't have happened",
        9,
        "i m really sorry that shouldn t have happened",
    ),
    (
        "‘Refund’ isn’t what I said — I said `replace`.",
        "refund isnt what i said — i said replace.",
        "refund isnt what i said i said replace",
        "refund isnt what i said i said replace",
        "refund' isn't what i said i said replace",
        9,
        "refund isn t what i said i said replace",
    ),
    (
        "The café’s crème brûlée cost £12.50, not £1,049.00!",
        "the cafés crème brûlée cost £12.50, not £1,049.00!",
        "the caf s cr me br l e cost 12 50 not 1 049 00",
        "the cafes creme brulee cost 12 50 not 1 049 00",
        "the caf 's cr me br l e cost £12.50 not £1,049.00",
        15,
        "the caf s cr me br l e cost 12 50 not 1 049 00",
    ),
    (
        "A full REFUND of £7.99 by 09:15 on Monday 3rd March.",
        "a full refund of £7.99 by 09:15 on monday 3rd march.",
        "a full refund of 7 99 by 09 15 on monday 3rd march",
        "a full refund of 7 99 by 09 15 on monday 3rd march",
        "a full refund of £7.99 by 09:15 on monday 3rd march",
        13,
        "a full refund of 7 99 by 09 15 on monday 3rd march",
    ),
    (
        "It's a well-known, non-refundable, follow-up fee – sorry.",
        "its a well-known, non-refundable, follow-up fee – sorry.",
        "its a well known non refundable follow up fee sorry",
        "its a well known non refundable follow up fee sorry",
        "it's a well known non refundable follow up fee sorry",
        10,
        "it's a well known non refundable follow up fee sorry",
    ),
    (
        "i dont know what youre on about im not paying twenty quid",
        "i dont know what youre on about im not paying twenty quid",
        "i dont know what youre on about im not paying twenty quid",
        "i dont know what youre on about im not paying twenty quid",
        "i dont know what youre on about im not paying twenty quid",
        12,
        "i dont know what youre on about im not paying twenty quid",
    ),
    (
        "order 4471-B   was   due on 12/03/2026... wasn't it?",
        "order 4471-b was due on 12/03/2026... wasnt it?",
        "order 4471 b was due on 12 03 2026 wasnt it",
        "order 4471 b was due on 12 03 2026 wasnt it",
        "order 4471 b was due on 12 03 2026 wasn't it",
        11,
        "order 4471 b was due on 12 03 2026 wasn't it",
    ),
    (
        "Naïve façade: Zoë's résumé (¼ price) — 2.5 stars?!",
        "naïve façade: zoës résumé (¼ price) — 2.5 stars?!",
        "na ve fa ade zo s r sum price 2 5 stars",
        "naive facade zoes resume 1 4 price 2 5 stars",
        "na ve fa ade zo 's r sum price 2.5 stars",
        12,
        "na ve fa ade zo 's r sum price 2 5 stars",
    ),
    (
        "customer's  customers'  'quoted'  don´t",
        "customers customers quoted don´t",
        "customers customers quoted don t",
        "customers customers quoted dont",
        "customer's customers' 'quoted' don t",
        5,
        "customer's customers' 'quoted' don t",
    ),
    (
        "  ",
        "",
        "",
        "",
        "",
        0,
        "",
    ),
    (
        "",
        "",
        "",
        "",
        "",
        0,
        "",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=[f"row{i}" for i in range(len(ROWS))])
def test_every_caller_gets_what_it_got_before(
    row: tuple[str, str, str, str, str, int, str],
) -> None:
    text, tone_norm, tone_toks, evidence_norm, line_toks, clause_count, fake_toks = row
    assert tone_normalise(text) == tone_norm
    assert tone_words(text) == tone_toks.split()
    assert evidence_normalise(text) == evidence_norm
    assert line_words(text) == line_toks.split()
    assert clause_words(text) == clause_count
    assert fake_embedder_tokens(text) == fake_toks.split()


def test_one_sentence_grammar_names_each_stage_s_differences() -> None:
    """One splitter (calmline.text) with the rules each stage needs: speech keeps "Mr."
    and a closing quote with its sentence, tone reading cuts at spaced dashes and
    semicolons, evidence quotes need no space after a full stop and keep "3.5" whole."""
    from calmline.text import (
        EVIDENCE,
        SPOKEN,
        TONE,
        sentence_parts,
        sentence_spans,
        split_sentences,
    )

    assert split_sentences('Mr. Reid said "no." Then he left.\nOK', SPOKEN) == [
        'Mr. Reid said "no."',
        "Then he left.",
        "OK",
    ]
    assert split_sentences("I'm sorry — I'll send it today; it's on me", TONE) == [
        "I'm sorry",
        "I'll send it today;",
        "it's on me",
    ]
    text = "... It was £3.50.Then nothing"
    assert [text[a:b] for a, b in sentence_spans(text, EVIDENCE)] == [
        "It was £3.50.",
        "Then nothing",
    ]
    # the raw parts keep everything, so a stream can hold back its unfinished rest
    assert sentence_parts("One. Two. Thr") == ["One.", "Two.", "Thr"]
