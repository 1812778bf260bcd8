"""Display script conversion (OpenCC): answers come back in the script the agent reads."""

from __future__ import annotations

from kb.assist.schemas import SuggestResponse
from search.normalize import converter

# Phrase-level Taiwan conversions, so 软件 is shown as 軟體 and back, not only per character.
_CONFIGS = {"zh-Hant": "s2twp", "zh-Hans": "tw2sp"}
SCRIPTS = tuple(_CONFIGS)


def convert(text: str, script: str) -> str:
    """``text`` in ``script`` (zh-Hans or zh-Hant); Latin text passes through unchanged."""
    if script not in _CONFIGS:
        raise ValueError(f"display_script must be one of {', '.join(SCRIPTS)}, not {script!r}")
    return converter(_CONFIGS[script]).convert(text) if text else text


def convert_body(body: SuggestResponse, script: str) -> None:
    """Every text of a suggestion an agent reads, in ``script``."""
    for answer in body.answers:
        answer.title = convert(answer.title, script)
        answer.text = convert(answer.text, script)
        answer.highlight = convert(answer.highlight, script)
        answer.source.title = convert(answer.source.title, script)
        answer.source.section = [convert(s, script) for s in answer.source.section]
    for reply in body.replies:
        reply.title = convert(reply.title, script)
        reply.text = convert(reply.text, script)
    esc = body.escalation
    esc.steps = [convert(s, script) for s in esc.steps]
    if esc.reply:
        esc.reply.text = convert(esc.reply.text, script)
