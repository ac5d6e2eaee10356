"""The rule language that turns a marking point's check results into met / partly / not met.

A rule is clauses separated by ``;``, tried in order, each ``<condition> => <verdict>``.
A condition is check ids joined by ``&`` (and) and ``|`` (or; ``&`` binds tighter), a
check id with ``!`` in front (that check did not pass), ``all``, ``any``, ``N+`` (at
least N checks passed), or ``else`` (always true). When no clause holds the verdict is
``not_met``. Example::

    two_indicators => met; one_indicator => partly; else => not_met
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from calmline.models import Verdict

VERDICTS: tuple[Verdict, ...] = ("met", "partly", "not_met")
SCORES: dict[str, float] = {"met": 1.0, "partly": 0.5, "not_met": 0.0}
_AT_LEAST = re.compile(r"^(\d+)\+$")
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class RuleError(ValueError):
    """A rule that cannot be parsed or names a check the point does not have."""


@dataclass(frozen=True)
class Clause:
    alternatives: tuple[tuple[str, ...], ...]  # OR of AND-groups of terms
    verdict: Verdict


def parse_rule(rule: str, check_ids: Sequence[str]) -> list[Clause]:
    """Parse ``rule``; raise ``RuleError`` naming the bad part."""
    known = set(check_ids)
    clauses: list[Clause] = []
    for raw in rule.split(";"):
        part = raw.strip()
        if not part:
            continue
        if "=>" not in part:
            raise RuleError(f"clause {part!r} has no '=>'")
        cond, _, verdict = (s.strip() for s in part.partition("=>"))
        if verdict not in VERDICTS:
            raise RuleError(f"clause {part!r}: verdict must be one of {', '.join(VERDICTS)}")
        groups: list[tuple[str, ...]] = []
        for alt in cond.split("|"):
            terms = tuple(t.strip() for t in alt.split("&"))
            for term in terms:
                if term in {"all", "any", "else"} or _AT_LEAST.match(term):
                    continue
                term = term.removeprefix("!").strip()
                if not _ID.match(term):
                    raise RuleError(f"clause {part!r}: bad term {term!r}")
                if term not in known:
                    raise RuleError(f"clause {part!r}: no check with id {term!r}")
            groups.append(terms)
        clauses.append(Clause(tuple(groups), cast(Verdict, verdict)))
    if not clauses:
        raise RuleError("rule is empty")
    return clauses


def _term_holds(term: str, passed: Mapping[str, bool]) -> bool:
    if term.startswith("!"):
        return not _term_holds(term[1:].strip(), passed)
    if term == "else":
        return True
    if term == "all":
        return bool(passed) and all(passed.values())
    if term == "any":
        return any(passed.values())
    match = _AT_LEAST.match(term)
    if match:
        return sum(passed.values()) >= int(match.group(1))
    return passed.get(term, False)


def apply_rule(clauses: Sequence[Clause], passed: Mapping[str, bool]) -> Verdict:
    """The verdict of the first clause whose condition holds, else ``not_met``."""
    for clause in clauses:
        if any(all(_term_holds(t, passed) for t in group) for group in clause.alternatives):
            return clause.verdict
    return "not_met"
