"""Turns that neither help nor hurt: a question, a look-up, a hold, a read-back, an identity check.

Every labeller of the realism calls (data/realism/*/labels) says the same of these turns:
"can I take your postcode for security?", "let me just pull that order up", "so that's
three nights from Friday at £145, room 112, yeah?" leave an upset customer where they
were. The tone encoder and the learned reader of moves, which learned from turns that
mostly *do* something, read many of them as stalling ("taken badly") or, when they repeat
the customer's own words about a policy or a failure, as a policy wall or the failure
repeated. Here a turn is *neutral* when every clause of it is one of those kinds and none
offers, refuses, doubts the customer or insults them; the anger model then holds
(``anger.step``), and a clause that only reads the customer's account back is never read
as a brush-off, a wall or the failure repeated (``meaning.MeaningReader``).

What is *not* neutral stays with the other readers: asking again for what was already
given (``reasks_given``), "have you tried turning it off and on again?" to someone who
has (the failure repeated), "are you sure you booked the double?" (a doubt), "How can I
help?" after the customer has explained (an invitation to start again).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from calmline.customer.identity import identity_details
from calmline.customer.line_check import declines_to_ask, is_question
from calmline.customer.scenario import Scenario, calendar_words, line_words, spoken_numbers

# A doubt about the customer's own account, even put as a question or read off the
# screen ("so as far as the system's concerned it's been delivered"): not neutral.
DOUBTS = re.compile(
    r"\b(are you (sure|certain|positive)|you must have|did you (actually|really|definitely|even)"
    r"|by mistake|maybe you|perhaps you|(could|might|may) you have|is it possible (that )?you"
    r"|sure you (didn't|did|haven't|have|weren't)|someone in your house|your family"
    r"|anyone (in|at) (the|your) (house|home)|no record|nothing on (the )?(system|file|record)"
    r"|as far as (the system|we|i)('s| is| are| am)? concerned|(showing|shows) (the line |it )?as"
    r" (working|fine|delivered|up)|(line|it)('s| is) (currently )?(up|working) (on|from) our)",
    re.I,
)
# Telling the customer to calm down, and closing a call whose problem is still open: moves,
# whatever their grammar.
_PUSHES = re.compile(
    r"\b(keep your voice down|lower your voice|calm down|no need to (shout|raise)|shouting at me"
    r"|(isn't|is not|won't|will not) (going to |gonna )?(get|make) (it|this|the \w+|anything) "
    r"(\w+ )?(fixed|sorted|happen|turn up|any quicker)|any quicker, is it"
    r"|anything else (i|we) can (help|do|assist)|have a (nice|good|lovely|great) (day|evening))\b",
    re.I,
)
_HOLD = re.compile(
    r"\b(bear with|(hold|hang) on|(one|a|just a|give it a|give me a)"
    r" (moment|sec|second|minute|tick)|on hold|one moment|(a )?moment please"
    r"|while (it|that|the system) loads|loading)\b",
    re.I,
)
_LOOKUP = re.compile(
    r"\b(pull(ing)?|bring(ing)?|get(ting)?|call(ing)?|load(ing)?|open(ing)?)\b(\s+[\w-]+){0,4}?\s+up\b"
    r"|\b(let me|i'll|i will|i'm|i am|just)\s+(just\s+)?(check|look|see|find|open|have a look"
    r"|take a look|read|go through|get (it|that|the|your))\b"
    r"|\b(i can see|it says|it shows|(the )?system (shows|says)|i've got (it|that|the|your))\b",
    re.I,
)
# Reading from the record at the start of a clause ("and I can see the router was reset"):
# what the customer told, not a promise or a repeat of it.
READS_RECORD = re.compile(r"^\W*(and |so |right,? )?(i|we) can see\b", re.IGNORECASE)
# Checking back what was heard ("let me make sure I've got it straight"): no promise.
CHECKS_BACK = re.compile(
    r"\b(let me|just to|i (just )?want to) (just )?(make sure|check|be sure)"
    r" (i've|i have|i)( got| understood| understand| heard)\b",
    re.I,
)
_ACK = re.compile(
    r"^\W*((ok(ay)?|right|alright|all right|lovely|great|perfect|thanks|thank you( very much)?"
    r"|cheers|got it|i see|sure|yes|yeah|aye|no problem|of course|fair (point|enough)"
    r"|i follow( you)?|understood|noted|good (morning|afternoon|evening)|hello|hi( there)?"
    r"|thanks for (calling|waiting|holding|your patience)|you're through to [\w ]+"
    r"|(this is|my name is) [a-z]+( [a-z]+)?( speaking| here)?"
    r"|customer (relations|services?|care)|(technical|tech) support|reservations|reception"
    r"|front desk|(the )?[a-z]+ (team|desk|department)|(you are )?welcome to [\w ]+"
    r"|sir|madam|ma'?am|mr \w+|mrs \w+|ms \w+|miss \w+)\W*)+$",
    re.I,
)
# What the customer should do or should have done: a suggestion, never neutral.
_CUSTOMER_SHOULD = re.compile(
    r"\b(have you (tried|checked|looked|asked|had a look|rung|called|contacted)|can you try"
    r"|could you try|try (turning|switching|restarting|resetting)|did you (try|check|fill|use|put"
    r"|drop|read|follow|overfill|descale|keep|get)|was it (put in|installed|fitted|used)"
    r"|if you('d| had)|you('re| are) not \w+ing|they all\b|you('ll| will)? (need|have) to"
    r"|what (you|ye|ya) (can|could|should|need to|have to) do|you can (apply|ring|call|go|try"
    r"|contact|email|write)|did you not|didn't you (think|check|read|see|notice)"
    r"|you should|you must|please (restart|reset|switch|turn|wait))\b",
    re.I,
)
_FIRST_PERSON = re.compile(r"\b(i|i'm|i'll|we|we're|we'll)\b", re.I)
_STOP = frozenset(
    "the a an and or but so that this these those with from into onto your you yours our ours"  # noqa: SIM905
    " have has had was were are is be been being it's its it they them their there here what"
    " when where which who how just also then than very really about for of on in at to by"
    " i i'm i've we we're we've me my mine okay ok right yeah yes no not can could would will"
    " shall should may might must do does did done get got one see seen went out that's there's"
    " here's what's um er erm uh like now said says say showing shows you've you're you'll"
    " you'd all sir madam ma'am maam mate love pet noted came come coming through back gone going"
    " only still".split()
)
_ASKING_WORDS = frozenset(["please", "take", "tell", "give", "confirm", "usually", "again"])
READ_BACK_SHARE = 0.5  # of a clause's content words found in the facts or the customer's words
STRICT_SHARE = 0.6  # ... for a clause that reads like something done
FAILURE_SHARE = 0.8  # ... for the failure itself told back ("we've put you in room 112")
# What the agent has just done ("I've attached them", "we've sent it"): news, not a read-back.
_OWN_DONE = re.compile(
    r"\b(i've|i have|we've|we have)\s+(just\s+|now\s+|already\s+|also\s+|personally\s+)?"
    r"(?!got\b|been\b|had\b|heard\b|seen\b|read\b)\w+(ed|t|en|d)\b",
    re.I,
)
# What the agent does or will do, which no read-back contains.
_OWN_DOING = re.compile(
    r"\b(i've|i have|we've|we have|i'll|i will|we'll|we will|i'm going to|i am going to"
    r"|we're going to|let me|i can|we can|shall i|would you like|i'm|i am|we're|we are)\b",
    re.I,
)


def _checkable(text: str) -> set[str]:
    refs = {re.sub(r"[^0-9a-z]", "", m.lower()) for m in re.findall(r"\b[\w-]*\d[\w-]*\b", text)}
    return spoken_numbers(text) | calendar_words(text) | {r for r in refs if len(r) >= 3}


def _content(text: str) -> set[str]:
    """The clause's own words: not its numbers ("twenty"), nor the little words."""
    words = {re.sub(r"'s$", "", w) for w in line_words(text.lower())}
    return {w for w in words if len(w) >= 3 and w not in _STOP and not spoken_numbers(w)}


class Account:
    """What the customer has told or the pack's facts say: what a read-back repeats."""

    def __init__(self, scenario: Scenario, customer_lines: Iterable[str] = ()) -> None:
        text = " ".join([*scenario.facts.values(), scenario.summary, *customer_lines])
        text += " " + scenario.persona.name
        self.identifiers = _checkable(text)
        self.words = _content(text)
        # the stems of its words: "reset" in the facts, "resetting" in the turn
        self.stems = {w[:5] for w in self.words}

    def read_back(self, clause: str, strict: bool = False) -> bool:
        """Does ``clause`` only repeat the customer's account (at least two of its numbers,
        dates or references, or one and mostly its words), offering and suggesting nothing?

        ``strict``, for a clause that reads like something done ("the part's been ordered",
        "engineer attended Tuesday"): every number, date and reference in it is the
        customer's, and most of its words are; an agent's own "I've booked" never is."""
        if _CUSTOMER_SHOULD.search(clause) or DOUBTS.search(clause) or _OWN_DONE.search(clause):
            return False
        said = _checkable(clause)
        ids = said & self.identifiers
        words = _content(clause)
        if not words and not ids:
            return False
        share = self._known_share(words) if words else 1.0
        if strict:
            own = _OWN_DOING.search(clause.replace("’", "'"))
            # a time in words ("twenty to five") need not match the facts' figures
            if own or len(ids) * 2 < len(said):
                return False
            return (bool(ids) and share >= STRICT_SHARE) or share >= 0.8
        return len(ids) >= 2 or (len(ids) >= 1 and share >= READ_BACK_SHARE) or share >= 0.8

    def reads_back_failure(self, clause: str) -> bool:
        """Does ``clause`` tell back what was done to the customer, the complaint itself ("and
        we've put you in room 112, a twin over the car park")? Something done, whose every
        number and reference is the customer's (one at least) and nearly all of whose words
        are: a restatement, not news of an action."""
        if not _OWN_DONE.search(clause) or _CUSTOMER_SHOULD.search(clause):
            return False
        said = _checkable(clause)
        words = _content(clause)
        if not said or not said <= self.identifiers or not words:
            return False
        return self._known_share(words) >= FAILURE_SHARE

    def _known_share(self, words: set[str]) -> float:
        """The share of ``words`` (not empty) that are the customer's, or a form of them."""
        return sum(1 for w in words if w in self.words or w[:5] in self.stems) / len(words)


SYMPATHY = "sympathy"
# Sorry, understanding, that it is not right: feelings, which the anger model weighs.
_SYMPATHY = re.compile(
    r"^\W*((ok(ay)?|oh|right|well|and|look|honestly"
    r"|(mr|mrs|ms|miss|dr) \w+|sir|madam|love|pet|[a-z]+(?=,))\W+)*"  # "Dean, I can see..."
    r"((i'm|i am) (so |really |very |truly )?sorry|sorry|i (do )?apologi[sz]e"
    r"|i (completely |totally |really )?understand|i can (see|hear|imagine)"
    r"|that('s| is| must be) (awful|terrible|horrible|rubbish|dreadful|frustrating|upsetting"
    r"|worrying|urgent|not (right|good enough|fair|ok(ay)?|acceptable|on))|that must (be|have)"
    r"|i appreciate|i hear you|what a (nightmare|pain)"
    r"|i (just )?want(ed)? to (be sure|make sure|check) (you|you're|you are|you've|everyone)"
    r"|i'd hate to think"
    r"|(i )?hope (you're|you are|you've been|everyone's) (ok(ay)?|alright|safe))\b",
    re.I,
)
# A question or request for information: what a re-ask is made of ("can I take the account
# number", "when did you send the tenancy agreement"); not a check ("..., is that right?").
_ASKS_FOR = re.compile(
    r"^\W*((ok(ay)?|um|er|erm|so|right|and|well|hi|hello|hi there|thanks|thank you)\W+)*"
    r"((can|could|may) (i|you|we) (just )?(take|have|get|grab|tell|give|confirm|upload|send|read)"
    r"|what('?s| is| was| are| were)|when (did|was|were|is)|which|have you got|do you have"
    r"|how much|where (did|was|is))\b",
    re.I,
)
REASK_SHARE = 0.6  # of a request's own words already in the customer's lines


def asks_again(clause: str, customer_lines: Sequence[str]) -> bool:
    """Does ``clause`` ask for what the customer has already said ("can I take the account
    number?" after "account 40027711")? Its own words, mostly, are theirs."""
    text = clause.replace("’", "'")
    if not _ASKS_FOR.match(text) or re.search(r"\b(is that right|correct)\b", text, re.I):
        return False
    words = _content(_ASKS_FOR.sub(" ", text, count=1)) - _ASKING_WORDS
    if len(words) < 2:
        return False
    said = {w[:4] for w in _content(" ".join(customer_lines))}
    return sum(w[:4] in said for w in words) >= REASK_SHARE * len(words)


def neutral_kind(clause: str, account: Account) -> str | None:
    """What neutral thing the clause does ("question", "look-up", "hold", "read-back",
    "identity check", "acknowledgement"), or None when it does something else."""
    text = clause.replace("’", "'").strip()
    if not text or DOUBTS.search(text) or _CUSTOMER_SHOULD.search(text) or _PUSHES.search(text):
        return None
    if identity_details(text):
        return "identity check"
    if _SYMPATHY.match(text):
        return SYMPATHY
    if _ACK.match(text):
        return "acknowledgement"
    if account.read_back(text):
        return "read-back"
    if declines_to_ask(text) and _FIRST_PERSON.search(text):
        return "not asking again"  # "I won't ask you to reset it again"
    if _HOLD.search(text):
        return "hold"
    if _LOOKUP.search(text) or CHECKS_BACK.search(text):
        return "look-up"
    if is_question(text.lower()):
        return "question"
    return None


def neutral_turn(clause_kinds: Sequence[str | None]) -> str | None:
    """The turn is neutral when every clause is (sympathy aside, which the anger model
    weighs itself): the kinds it is made of, else None."""
    if not clause_kinds or any(k is None or k == SYMPATHY for k in clause_kinds):
        return None
    return ", ".join(dict.fromkeys(k for k in clause_kinds if k is not None))


def gentle_turn(clause_kinds: Sequence[str | None]) -> bool:
    """Is every clause neutral or sympathy ("You checked the porch and numbers 12 and 16.
    I understand, that's urgent.")? Such a turn pushes nobody: the learned reader's
    brush-off or blame on it is the words of the account it repeats."""
    return bool(clause_kinds) and all(k is not None for k in clause_kinds)
