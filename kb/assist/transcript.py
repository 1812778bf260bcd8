"""A pasted chat as conversation turns: ``客户：…`` / ``Agent: …`` lines, or plain text."""

from __future__ import annotations

import re

from kb.assist.conversation import Role, Turn

# Speaker labels as CRMs and chat tools export them (Simplified, Traditional, English), lower-case.
CUSTOMER_LABELS = (
    "客户", "客戶", "顾客", "顧客", "用户", "用戶", "买家", "買家", "访客", "訪客", "会员", "會員",
    "customer", "client", "user", "buyer", "visitor", "guest",
)  # fmt: skip
AGENT_LABELS = (
    "客服", "坐席", "座席", "人工客服", "在线客服", "線上客服", "客服专员", "客服專員", "卖家",
    "賣家",
    "agent", "support", "staff", "operator", "rep", "representative",
)  # fmt: skip
_ROLES: dict[str, Role] = {
    **{label: "customer" for label in CUSTOMER_LABELS},
    **{label: "agent" for label in AGENT_LABELS},
}
_LABEL = "|".join(re.escape(k) for k in sorted(_ROLES, key=len, reverse=True))
# Optional time stamp before the label ("[10:02]", "10:02:33"), an optional bracketed name after
# it ("客服（小王）", "Agent [Tom]"), then a colon. A bare word such as "Customer service hours:"
# is not a label: only the brackets may hold a name, so prose with a colon stays text.
_SPEAKER = re.compile(
    rf"""^\s*
    (?:[\[(（【]?\d{{1,2}}:\d{{2}}(?::\d{{2}})?[\])）】]?\s*)?
    (?P<label>{_LABEL})
    \s*(?:[\[(（【][^\]\)）】\n]{{0,20}}[\])）】])?
    \s*[:：﹕]\s*""",
    re.IGNORECASE | re.VERBOSE,
)


def parse_transcript(text: str) -> list[Turn]:
    """Turns in order; unlabelled lines continue the turn above; no labels: one customer turn."""
    turns: list[tuple[Role, list[str]]] = []
    for line in text.splitlines():
        match = _SPEAKER.match(line)
        if match:
            role = _ROLES[match.group("label").lower()]
            turns.append((role, [line[match.end() :]]))
        elif turns:
            turns[-1][1].append(line)
        else:
            # Words pasted above the first label are what the customer wrote.
            turns.append(("customer", [line]))
    out = []
    for role, lines in turns:
        body = "\n".join(lines).strip()
        if body:
            out.append(Turn(role=role, text=body))
    return out
