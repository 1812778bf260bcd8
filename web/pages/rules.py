"""Console page for escalation rules: the set in force, its YAML editor, import, export, history.

A rule set is saved whole (all or nothing), as ``kb.library.import_rules`` stores it: an error
names its line, and the rules in force stay as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from kb.context import KnowledgeBase
from kb.errors import N_, Invalid, Message
from kb.library.escalation import Conditions, Rule
from kb.library.rulefile import RuleFileError
from kb.library.store import active_rules, export_rules, import_rules, rule_set_history
from web.auth import EditsInstallationWide, PrincipalDep
from web.deps import KBDep
from web.pages.forms import form_errors, read_text_upload
from web.rendering import RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)

EDITOR_SOURCE = "console"  # the source name of rule sets saved from the editor
_EXCERPT_RADIUS = 2
_SHOWN_ITEMS = 6


@dataclass(frozen=True)
class ExcerptLine:
    number: int
    text: str
    at_fault: bool


@dataclass(frozen=True)
class RuleError:
    """An error as the page shows it: the message, its line, and the lines around it."""

    message: str
    line: int | None
    excerpt: tuple[ExcerptLine, ...]


def rule_error(exc: Invalid, text: str) -> RuleError:
    line = exc.line if isinstance(exc, RuleFileError) else None
    return RuleError(exc.message, line, excerpt(text, line))


def excerpt(text: str, line: int | None, radius: int = _EXCERPT_RADIUS) -> tuple[ExcerptLine, ...]:
    """The lines around ``line`` (1-based), so the problem can be seen where it is."""
    # split, not splitlines: YAML blames the line after a final newline for an unclosed bracket.
    lines = text.replace("\r\n", "\n").split("\n")
    if line is None or not 1 <= line <= len(lines):
        return ()
    first, last = max(1, line - radius), min(len(lines), line + radius)
    return tuple(ExcerptLine(n, lines[n - 1], n == line) for n in range(first, last + 1))


class _Conditions(tuple[str, ...]):
    """A group's conditions as one line (web/i18n.py translates each and joins them too)."""

    def __str__(self) -> str:
        return "；".join(self)


_SENTIMENTS = {"negative": N_("负面"), "neutral": N_("中性"), "positive": N_("正面")}


def summary(when: Conditions) -> list[str]:
    """A rule's conditions in a line each, as a knowledge manager would say them."""
    out: list[str] = []
    if when.keywords:
        out.append(Message("关键词：{items}", items=_items(when.keywords)))
    if when.patterns:
        out.append(Message("模式：{items}", items=_items(when.patterns)))
    if when.examples:
        out.append(Message("例句（按语义）：{items}", items=_items(when.examples)))
    if when.sentiment:
        out.append(Message("情绪为 {label}", label=_SENTIMENTS.get(when.sentiment, when.sentiment)))
    if when.max_sentiment_score is not None:
        out.append(Message("情绪得分 ≤ {score}", score=f"{when.max_sentiment_score:g}"))
    if when.sentiment_categories:
        out.append(Message("风险类别：{items}", items=_items(when.sentiment_categories)))
    if when.customer_tier:
        out.append(Message("客户等级：{items}", items=_items(when.customer_tier)))
    if when.min_contacts is not None:
        out.append(Message("联系次数 ≥ {n}", n=when.min_contacts))
    if when.no_confident_answer is not None:
        out.append(N_("没有可信答案") if when.no_confident_answer else N_("有可信答案"))
    for number, group in enumerate(when.any, start=1):
        out.append(
            Message(
                "或（{number}）{conditions}", number=number, conditions=_Conditions(summary(group))
            )
        )
    return out


def _items(values: tuple[str, ...]) -> str:
    shown = "、".join(values[:_SHOWN_ITEMS])
    more = len(values) - _SHOWN_ITEMS
    return Message("{shown} 等 {n} 项", shown=shown, n=len(values)) if more > 0 else shown


@router.get("/rules", name="kb_rules")
def rules_page(request: Request, kb: KBDep, render: RendererDep, saved: bool = False) -> Response:
    """The rules in force, the editor (their YAML), import, export and the history of sets."""
    context = _context(kb, text=export_rules(kb) if active_rules(kb) else "", saved=saved)
    return render.page(request, "rules.html", context, block="workspace")


@router.post("/rules", name="kb_rules_save", dependencies=[EditsInstallationWide])
def save_rules(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Replace the rule set with the editor's text; on an error nothing changes."""

    def refused(exc: Invalid) -> dict[str, Any]:
        return _context(kb, text=text, editor_error=rule_error(exc, text))

    with form_errors("rules.html", "workspace", refused):
        import_rules(kb, text, EDITOR_SOURCE, actor=principal.actor, action="rules.save")
    context = _context(kb, text=export_rules(kb), saved=True)
    return render.page(request, "rules.html", context, block="workspace")


@router.post("/rules/import", name="kb_rules_import", dependencies=[EditsInstallationWide])
def import_file(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Import a rule file; an error names the file's line and the rules in force stay."""
    with form_errors("rules.html", "workspace", partial(_refused_import, kb, "")):
        name, text = read_text_upload(file, kb.settings.max_upload_bytes)
    with form_errors("rules.html", "workspace", partial(_refused_import, kb, text)):
        import_rules(kb, text, name, actor=principal.actor)
    context = _context(kb, text=export_rules(kb), imported=name)
    return render.page(request, "rules.html", context, block="workspace")


@router.get("/rules/export", name="kb_rules_export")
def export(kb: KBDep) -> Response:
    """The rules in force as one YAML file, in the import format."""
    return Response(
        export_rules(kb),
        media_type="application/yaml; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="escalation-rules.yaml"'},
    )


def _refused_import(kb: KnowledgeBase, text: str, exc: Invalid) -> dict[str, Any]:
    """The rules in force stay in the editor; the error is shown with the file's lines."""
    current = export_rules(kb) if active_rules(kb) else ""
    return _context(kb, text=current, import_error=rule_error(exc, text))


def _context(
    kb: KnowledgeBase,
    *,
    text: str,
    saved: bool = False,
    imported: str = "",
    editor_error: RuleError | None = None,
    import_error: RuleError | None = None,
) -> dict[str, Any]:
    rules: list[Rule] = sorted(active_rules(kb), key=lambda r: -r.priority)
    return {
        "rules": [(rule, summary(rule.when)) for rule in rules],
        "history": rule_set_history(kb),
        "text": text,
        "saved": saved,
        "imported": imported,
        "editor_error": editor_error,
        "import_error": import_error,
    }
