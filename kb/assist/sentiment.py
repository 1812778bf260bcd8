"""Explainable, lexicon-based sentiment and risk cues for customer turns (Chinese and English)."""

from __future__ import annotations

import bisect
import functools
import math
import re
from dataclasses import dataclass

from kb.assist._sentiment_lexicon import (
    CLAUSE_BREAKERS_EN,
    CLAUSE_BREAKERS_ZH,
    CUE_GROUPS,
    ENQUIRY_INTENT_EN,
    ENQUIRY_INTENT_ZH,
    ENQUIRY_NOUNS_EN,
    ENQUIRY_NOUNS_ZH,
    ENQUIRY_QUESTION_EN,
    ENQUIRY_QUESTION_ZH,
    INTENSIFIERS_EN,
    INTENSIFIERS_ZH,
    NEGATORS_EN,
    NEGATORS_ZH_LONG,
    NEGATORS_ZH_SHORT,
    NEUTRAL_TERMS,
    WAITING_PATTERN,
    CueGroup,
)
from kb.errors import N_, Message, parsed
from kb.types import SentimentLabel
from search.normalize import aligned_fold

Label = SentimentLabel

# Thresholds on the squashed score: one strong cue (weight 1.0 → 0.76) is clearly negative, a lone
# "thanks" (0.25 → 0.24) or a lone mild cue stays neutral.
_NEGATIVE_BELOW = -0.3
_POSITIVE_ABOVE = 0.3
_INTENSIFIED = 1.5
# A negated positive ("不太满意", "not happy") is mildly negative; a negated negative counts zero
# rather than positive: "我不是要投诉" is a neutral statement, not praise.
_NEGATED_POSITIVE = -0.6
_ENQUIRY_WEIGHT = -0.2
_WINDOW = 60

_APOSTROPHES = str.maketrans("’‘", "''")
_CLAUSE_END = re.compile(r"[.,;:!?。；、…\n]")
_LATIN_WORD = re.compile(r"[a-z']+")
_PUNCT_RUN = re.compile(r"[!?]{2,}")
_SHOUTED_WORD = re.compile(r"\b[A-Z]{4,}\b")
_LATIN_WORDS = re.compile(r"\b[A-Za-z]{2,}\b")


@dataclass(frozen=True)
class SentimentResult:
    """Label, score in [-1, 1], the cues that explain it and the risk categories that fired."""

    label: Label
    score: float
    cues: tuple[str, ...]
    categories: frozenset[str]


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    term: str
    group: CueGroup


def analyse(text: str) -> SentimentResult:
    """Score one customer utterance; every point of the score is explained by a cue."""
    norm, origin = _normalise(text)
    raw = 0.0
    cues: list[tuple[int, str]] = []
    categories: set[str] = set()

    def found(start: int, end: int) -> str:
        return text[origin[start] : origin[end - 1] + 1]

    def mask(m: re.Match[str]) -> str:
        # Neutral compounds ("律师事务所", "工商银行", "垃圾袋") are blanked so no cue inside fires.
        cues.append((m.start(), f"neutral term: {found(m.start(), m.end())}"))
        return "\x00" * (m.end() - m.start())

    masked = _neutral_regex().sub(mask, norm)
    clause_starts = [0] + [m.end() for m in _CLAUSE_END.finditer(masked)]
    for match in _find_cues(masked):
        s, e, group = match.start, match.end, match.group
        # Negation, intensifiers and question words are local: they never cross a clause boundary,
        # and a bounded window keeps a 100 kB message linear.
        clause_start = clause_starts[bisect.bisect_right(clause_starts, s) - 1]
        prefix = masked[max(clause_start, s - _WINDOW) : s]
        negator = _negator(prefix)
        if negator is not None:
            phrase = found(s - len(negator[1]), e)
            if group.weight > 0:
                raw += _NEGATED_POSITIVE * group.weight
                cues.append((s, f"negated positive: {phrase}"))
            else:
                cues.append((s, f"negated {group.kind} (ignored): {phrase}"))
            continue
        if group.enquirable and _is_enquiry(prefix, masked[e:]):
            raw += _ENQUIRY_WEIGHT
            cues.append((s, f"enquiry, not a threat: {found(s, e)}"))
            continue
        weight = group.weight
        span = _intensifier(prefix)
        if span:
            weight *= _INTENSIFIED
            cues.append((s - span, f"intensifier: {found(s - span, s).strip()}"))
        raw += weight
        cues.append((s, f"{group.kind}: {found(s, e)}"))
        if group.category:
            categories.add(group.category)

    punct_weight = 0.0
    for m in _PUNCT_RUN.finditer(norm):
        run = m.group()
        if "!" not in run and len(run) < 3:
            continue  # a doubled "??" is ordinary confusion, not anger
        punct_weight -= 0.4 if "!" in run else 0.3
        cues.append((m.start(), f"repeated punctuation: {found(m.start(), m.end())}"))
        categories.add("anger")
    # Several "!!!" in one message are one signal, not five.
    raw += max(punct_weight, -0.8)

    if _is_shouting(text):
        raw -= 0.5
        cues.append((len(norm), "all-caps shouting"))
        categories.add("anger")

    score = round(math.tanh(raw), 3)
    label: Label = "neutral"
    if score <= _NEGATIVE_BELOW:
        label = "negative"
    elif score >= _POSITIVE_ABOVE:
        label = "positive"
    ordered = tuple(dict.fromkeys(cue for _, cue in sorted(cues, key=lambda c: c[0])))
    return SentimentResult(label, score, ordered, frozenset(categories))


def _normalise(text: str) -> tuple[str, list[int]]:
    """The one folding (search.normalize), with a map back to original offsets."""
    return aligned_fold(text.translate(_APOSTROPHES))


def _term_pattern(term: str) -> str:
    body = r"\s+".join(re.escape(part) for part in term.split(" "))
    if term.isdigit():
        return rf"(?<!\d){body}(?!\d)"
    if re.fullmatch(r"[a-z0-9 '\-]+", term):
        return rf"(?<![a-z0-9]){body}(?![a-z0-9])"
    return body


def _alternation(terms: list[str]) -> re.Pattern[str]:
    # Longest first so "不满意" wins over "满意" and "太过分了" over "过分" at the same position.
    ordered = sorted(set(terms), key=len, reverse=True)
    # The look-ahead on first characters lets the engine skip most positions without trying
    # hundreds of alternatives at each.
    firsts = "".join(sorted({re.escape(t[0]) for t in ordered}))
    return re.compile(f"(?=[{firsts}])(?:" + "|".join(_term_pattern(t) for t in ordered) + ")")


@functools.cache
def _neutral_regex() -> re.Pattern[str]:
    return _alternation(list(NEUTRAL_TERMS))


@functools.cache
def _cue_table() -> tuple[re.Pattern[str], dict[str, CueGroup]]:
    by_term = {term: group for group in CUE_GROUPS for term in group.terms}
    return _alternation(list(by_term)), by_term


def _find_cues(masked: str) -> list[_Match]:
    regex, by_term = _cue_table()
    matches = [
        _Match(m.start(), m.end(), key, by_term[key])
        for m in regex.finditer(masked)
        if (key := re.sub(r"\s+", " ", m.group())) in by_term
    ]
    # Lexicon matches do not overlap and come in order, so one bisect finds a neighbour.
    starts = [m.start for m in matches]
    delay = next(g for g in CUE_GROUPS if g.kind == "waiting time")
    for m in WAITING_PATTERN.finditer(masked):
        i = bisect.bisect_left(starts, m.end())
        if i == 0 or matches[i - 1].end <= m.start():
            matches.append(_Match(m.start(), m.end(), m.group(), delay))
    return sorted(matches, key=lambda m: m.start)


def _negator(prefix: str) -> tuple[int, str] | None:
    """The negator governing a cue that follows ``prefix``, as (position, negator-to-cue text)."""
    best: tuple[int, str] | None = None
    for neg in NEGATORS_ZH_LONG + NEGATORS_ZH_SHORT:
        pos = prefix.rfind(neg)
        if pos < 0:
            continue
        gap = prefix[pos + len(neg) :]
        limit = 4 if neg in NEGATORS_ZH_LONG else 1
        if len(gap) > limit or any(b in gap for b in CLAUSE_BREAKERS_ZH):
            continue
        # "是不是骗子" and "有没有人管" ask a question (A-not-A); they negate nothing.
        if pos > 0 and prefix[pos - 1] == prefix[pos + 1 : pos + 2]:
            continue
        if best is None or pos > best[0]:
            best = (pos, prefix[pos:])
    if best is not None:
        return best
    words = _LATIN_WORD.findall(prefix)
    tail: list[str] = []
    for word in reversed(words[-4:]):
        if word in CLAUSE_BREAKERS_EN:
            break
        tail.append(word)
    for word in tail:
        if word in NEGATORS_EN or word.endswith("n't"):
            pos = prefix.rfind(word)
            return pos, prefix[pos:]
    return None


def _is_enquiry(prefix: str, after: str) -> bool:
    """Asking about a channel ("投诉渠道在哪里", "how do I file a complaint"), not threatening."""
    question = max((prefix.rfind(w) for w in ENQUIRY_QUESTION_ZH), default=-1)
    intent = max((prefix.rfind(w) for w in ENQUIRY_INTENT_ZH), default=-1)
    for m in list(_LATIN_WORD.finditer(prefix))[-8:]:
        word = m.group()
        if word in ENQUIRY_QUESTION_EN:
            question = max(question, m.start())
        if word in ENQUIRY_INTENT_EN or word.endswith(("'ll", "'ve", "'d")):
            intent = max(intent, m.start())
    # The nearer marker wins: "I want to know how to complain" asks, "I will complain" threatens.
    if question > intent:
        return True
    next_word = _LATIN_WORD.match(after.lstrip())
    names_channel = after.startswith(ENQUIRY_NOUNS_ZH) or (
        next_word is not None and next_word.group() in ENQUIRY_NOUNS_EN
    )
    return names_channel and intent < 0


def _intensifier(prefix: str) -> int:
    """Length of an intensifier right before a cue ("太", "非常", "really "), or 0."""
    for word in INTENSIFIERS_ZH:
        if prefix.endswith(word):
            return len(word)
    words = list(_LATIN_WORD.finditer(prefix))
    if words and words[-1].group() in INTENSIFIERS_EN and not prefix[words[-1].end() :].strip():
        return len(prefix) - words[-1].start()
    return 0


def _is_shouting(text: str) -> bool:
    """Mostly upper-case Latin words, two of them long: acronyms (BBB, USB) alone don't count."""
    words = _LATIN_WORDS.findall(text)
    shouted = _SHOUTED_WORD.findall(text)
    if len(shouted) < 2:
        return False
    upper = sum(1 for w in words if w.isupper())
    return upper / len(words) >= 0.6


# The kinds of cue the lexicon groups (``CueGroup.kind``), marked for the catalogues.
CUE_KINDS: tuple[Message, ...] = (
    N_("anger"),
    N_("churn"),
    N_("complaint keyword"),
    N_("dissatisfaction"),
    N_("fraud accusation"),
    N_("insult"),
    N_("media exposure threat"),
    N_("mild praise"),
    N_("payment dispute"),
    N_("praise"),
    N_("regulator"),
    N_("safety"),
    N_("thanks"),
    N_("threat of legal action"),
    N_("unresolved problem"),
    N_("upset emoji"),
    N_("urgency"),
    N_("waiting time"),
)
# Every way ``analyse`` words a cue; the last, "{kind}: {value}", catches the lexicon's groups.
CUE_FORMS: tuple[Message, ...] = (
    N_("all-caps shouting"),
    N_("neutral term: {value}"),
    N_("negated positive: {value}"),
    N_("negated {kind} (ignored): {value}"),
    N_("enquiry, not a threat: {value}"),
    N_("intensifier: {value}"),
    N_("repeated punctuation: {value}"),
    N_("{kind}: {value}"),
)


def cue_message(cue: str) -> Message:
    """A cue as a translatable Message; its kind is one too (content stays as written)."""
    found = parsed(cue, CUE_FORMS)
    kind = found.params.get("kind")
    if kind is None:
        return found
    return Message(found.template, **{**found.params, "kind": Message(kind)})
