"""What of a long customer message to search with: the question asked and the problem described.

A message is cut into units (sentences; a run-on sentence into its clauses) and chosen by what
they do, not by where they stand: the question the customer asks first, then the sentences that
describe the problem ("放到充电座上指示灯也不亮", "it won't turn on"), then the ones nearest the
question, up to a budget counted in words (a Chinese character or a Latin word each), so Chinese
and English messages get the same room. Politeness, "please reply soon" and repeats are left
out. The units keep their order in the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search.framing import META as _META
from search.sentences import CLAUSES, SENTENCES, join_units, last_words

_WORDS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+(?:['’][A-Za-z]+)?")
_LATIN_WORD = re.compile(r"[a-z']+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORDLIKE = re.compile(r"[^\W_]")

# A sentence longer than this many words is chosen clause by clause (Chinese customers often
# run a whole story into one sentence with commas).
CLAUSE_SPLIT_WORDS = 40
# A question with less content than this names no topic by itself ("还能怎么办？", "How do I
# fix this?"): counted as Chinese characters outside _FUNCTION_ZH plus two per Latin word
# outside _FUNCTION_EN.
GENERIC_QUESTION_CONTENT = 5
_FUNCTION_ZH = frozenset(
    "我你您他她它们們的地得了吗嗎呢吧啊呀么麼怎办辦什哪谁誰几幾多少是不没沒有要能会會可以这這那"
    "个個些样樣还還该該就都也请請问問想再又才吧嘛呗唄"
)
_FUNCTION_EN = frozenset(
    {"how", "what", "why", "when", "where", "who", "which", "can", "could", "is", "are", "do",
     "does", "did", "will", "would", "should", "may", "i", "you", "we", "it", "this", "that",
     "my", "me", "a", "an", "the", "to", "of", "please", "there", "any", "anything", "one",
     "so", "now", "then", "about", "with", "for", "in", "on", "or", "and"}
)  # fmt: skip

QUESTION_WORDS_ZH = (
    "吗", "嗎", "呢", "怎么", "怎麼", "如何", "什么", "什麼", "为什么", "為什麼", "为啥", "為啥",
    "哪", "多少", "多久", "多长", "多長", "几", "幾", "能否", "是否", "可否", "谁", "誰", "咋",
    "能不能", "可不可以", "会不会", "會不會", "是不是", "有没有", "有沒有", "要不要",
)  # fmt: skip
QUESTION_STARTS_EN = frozenset(
    {"how", "what", "why", "when", "where", "who", "which", "can", "could", "is", "are", "do"}
    | {"does", "did", "will", "would", "should", "may", "am", "have", "has", "whats", "what's"}
)
# Words of a problem being described: a negation, a fault, a failure, an unwanted state.
_PROBLEM_ZH = re.compile(
    "[不没沒无無未别別]|坏|壞|故障|报错|報錯|错误|錯誤|失败|失敗|异常|異常|异响|異響|噪音|怪|"
    "卡住|卡死|缠|纏|漏|丢|丟|掉|弱|慢|断|斷|离线|離線|闪|閃|红灯|紅燈|划痕|劃痕|刮|压|壓|"
    "破|裂|进水|進水|受潮|停|烧|燒|焦|烫|燙|臭|味|错|錯|忘|扣了|少了|缺|退|换|換|退款|麻烦事"
)
_PROBLEM_EN = frozenset(
    {"not", "no", "never", "won't", "wont", "doesn't", "doesnt", "didn't", "didnt", "can't",
     "cant", "cannot", "isn't", "isnt", "wasn't", "aren't", "haven't", "hasn't", "stopped",
     "stops", "stop", "broken", "broke", "break", "fault", "faulty", "error", "errors", "fail",
     "fails", "failed", "failing", "damaged", "damage", "scratched", "scratch", "missing",
     "lost", "stuck", "leak", "leaking", "noise", "noisy", "weak", "slow", "dead", "died",
     "offline", "flashing", "flashes", "blinking", "spilled", "wet", "wrong", "smell", "smells",
     "burnt", "late", "charged", "refund", "return", "replace", "replacement", "cancel"}
)  # fmt: skip


def words(text: str) -> int:
    """Budget units: one per Chinese character, one per Latin word or number."""
    return len(_WORDS.findall(text))


def is_question(unit: str, *, marked: bool = True) -> bool:
    """A question mark, a final 吗/呢, or an English question word first.

    When the message uses question marks (``marked``), a question word inside a statement
    ("怎么按都开不了机") does not make it a question; in a message without any, it does.
    """
    stripped = unit.rstrip(" 。.!！~～…")
    if stripped.endswith(("?", "？")):
        return True
    if stripped.endswith(("吗", "嗎", "呢", "么", "麼")):
        return True
    latin = _LATIN_WORD.findall(unit.lower())
    if latin and latin[0] in QUESTION_STARTS_EN and not _CJK.search(unit):
        return True
    return not marked and any(w in unit for w in QUESTION_WORDS_ZH)


def _describes_problem(unit: str) -> bool:
    if _PROBLEM_ZH.search(unit):
        return True
    return any(w.replace("’", "'") in _PROBLEM_EN for w in _LATIN_WORD.findall(unit.lower()))


def units(text: str) -> list[str]:
    """Sentences without their "please reply soon" clauses; a long run-on one cut at commas."""
    out: list[str] = []
    for sentence in (s.strip() for s in SENTENCES.split(text)):
        if not _WORDLIKE.search(sentence):
            continue  # "！！" or "~" after a sentence: nothing to search with
        clauses = [c.strip() for c in CLAUSES.split(sentence) if c.strip()]
        kept = [c for c in clauses if _WORDLIKE.search(c) and not _only_meta(c)]
        if not kept:
            continue
        if words(sentence) > CLAUSE_SPLIT_WORDS:
            out.extend(kept)
        else:
            out.append(join_units(kept) if len(kept) < len(clauses) else sentence)
    return out


@dataclass(frozen=True)
class Selection:
    text: str  # the chosen units in message order, within the budget
    question: str  # the question unit(s) alone ("" when the message asks nothing)


def select(text: str, budget: int) -> Selection:
    """The question and the problem of ``text`` in at most ``budget`` words (see module doc)."""
    parts = units(text)
    if not parts:
        # Every sentence read as politeness: search with the message itself rather than with
        # nothing, so a customer turn with any words never becomes an empty query.
        whole = last_words(" ".join(text.split()), budget, _WORDS)
        return Selection(whole, whole)
    marked = "?" in text or "？" in text
    questions = [
        i for i, u in enumerate(parts) if is_question(u, marked=marked) and not _only_meta(u)
    ]
    # The customer's question is usually the last one asked; with none, the last sentence.
    anchor = questions[-1] if questions else len(parts) - 1
    rest = [i for i in range(len(parts)) if i != anchor]

    # The problem is usually stated before the story of what was tried: the first sentence
    # that describes one comes right after the questions, the others by nearness.
    problems = [i for i in rest if i not in questions and _describes_problem(parts[i])]
    opening = problems[0] if problems else None

    def rank(i: int) -> tuple[int, int, int]:
        if i in questions:
            tier = 0
        elif i == opening:
            tier = 1
        elif _only_meta(parts[i]):
            tier = 4
        elif i in problems:
            tier = 2
        else:
            tier = 3
        return (tier, abs(i - anchor), -i)

    chosen = [anchor]
    used = words(parts[anchor])
    if used > budget:
        cut = last_words(parts[anchor], budget, _WORDS)
        return Selection(cut, cut)
    for i in sorted(rest, key=rank):
        cost = words(parts[i])
        if rank(i)[0] == 4 or parts[i] in (parts[j] for j in chosen):
            continue  # "please reply soon" and repeats say nothing more
        if used + cost <= budget:
            chosen.append(i)
            used += cost
    asked = [i for i in sorted(chosen) if i in questions] or [anchor]
    return Selection(
        join_units([parts[i] for i in sorted(chosen)]),
        _question(parts, asked, chosen, marked=marked),
    )


def _question(parts: list[str], asked: list[int], chosen: list[int], *, marked: bool) -> str:
    """The clauses that ask, with the clause before them when they name no topic.

    "我的扫地机器人买了五天，不想要了，退货运费谁出？" asks "退货运费谁出？";
    "…开不了机。还能怎么办？" asks about what comes just before "还能怎么办？".
    """
    clauses: list[str] = []
    before = ""
    for i in asked:
        own = [c.strip() for c in CLAUSES.split(parts[i]) if c.strip()]
        asking = [n for n, c in enumerate(own) if is_question(c, marked=marked)]
        start = asking[0] if asking else 0
        if not clauses:
            before = own[start - 1] if start > 0 else (parts[i - 1] if i - 1 in chosen else "")
        clauses.extend(own[start:])
    question = join_units(clauses)
    if before and _content(question) < GENERIC_QUESTION_CONTENT:
        question = join_units([before, question])
    return question


def _content(text: str) -> int:
    cjk = sum(1 for ch in _CJK.findall(text) if ch not in _FUNCTION_ZH)
    latin = sum(1 for w in _LATIN_WORD.findall(text.lower()) if w not in _FUNCTION_EN)
    return cjk + 2 * latin


def _only_meta(unit: str) -> bool:
    """Politeness or "please reply soon" only: nothing left to search with once those go.

    A question that names a topic besides the meta words is a question ("回复率是指什么？",
    "Could you please tell me how to reset the password?"), not a plea for speed.
    """
    if not _META.search(unit):
        return False
    rest = _META.sub("", unit)
    if _describes_problem(rest):
        return False
    return not (is_question(unit) and _content(rest) >= GENERIC_QUESTION_CONTENT)
