"""The assist panel (``/assist``): suggestions as the agent types, copy/insert, feedback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel

from kb.accounts.principal import Principal
from kb.assist.schemas import EscalationOut, EscalationReply, ReplyOut, SuggestResponse
from kb.assist.script import SCRIPTS, convert
from kb.assist.suggest import SuggestInput, suggest
from kb.assist.transcript import parse_transcript
from kb.context import KnowledgeBase
from kb.errors import N_, Invalid, KBError
from kb.retrieval.schemas import SearchHit
from kb.retrieval.searching import SearchRequest, search_hits, search_result
from search.types import SearchFilters
from web.auth import PrincipalDep, readable
from web.deps import KBDep
from web.i18n import locale_of
from web.pages.forms import Finish, form_errors
from web.rendering import RendererDep

router = APIRouter(prefix="/assist", include_in_schema=False)

SCRIPT_COOKIE = "assistkb_script"
SUGGESTION_FOR = "X-Suggestion-For"
SCRIPT_CHOICES = (("zh-Hans", N_("简体")), ("zh-Hant", N_("繁體")))
SEARCH_LIMIT = 8
SHOWN_ANSWERS = 3  # the rest fold away: a 360 px side panel has no room for five
# What the panel calls things; unknown values show as they are.
NAMES: dict[str, dict[str, str]] = {
    "handling": {
        "self_service": N_("可直接回答"),
        "agent": N_("坐席处理"),
        "expert": N_("转专家处理"),
    },
    "handling_hint": {
        "self_service": N_("有确定的常见问题答案，可照答案原文回复。"),
        "agent": N_("参考下面的答案和话术回复客户。"),
        "expert": N_("问题复杂、敏感或没有可靠答案：按升级步骤交给专家。"),
    },
    "confidence": {"high": N_("高"), "medium": N_("中"), "low": N_("低")},
    "kind": {"faq": N_("问答"), "manual": N_("手册"), "policy": N_("政策"), "reply": N_("话术")},
    "sentiment": {"negative": N_("负面"), "neutral": N_("中性"), "positive": N_("正面")},
    "rating": {"helpful": N_("有用"), "not_helpful": N_("没帮助")},
}
# A reply's unfilled variable as ``kb.replies.fill`` shows it: 【订单号】 or [order number].
_PLACEHOLDER = re.compile(r"(【[^【】\n]{1,16}】|\[[^\[\]\n]{1,32}\])")


class AssistForm(BaseModel):
    """The panel's form exactly as the browser sent it."""

    conversation: str = ""
    display_script: str = ""
    collection: str = ""
    name: str = ""
    order_id: str = ""
    tier: str = ""
    contact_count: str = ""
    # Set by app.js while the agent is still typing: the suggestion on screen was a draft.
    supersedes: str = ""

    def customer(self) -> dict[str, Any]:
        """The optional customer fields the agent filled in, as ``suggest`` takes them."""
        values: dict[str, Any] = {
            k: v.strip()
            for k, v in (("name", self.name), ("order_id", self.order_id), ("tier", self.tier))
            if v.strip()
        }
        count = self.contact_count.strip()
        if count:
            if not count.isdigit() or int(count) < 1:
                raise Invalid(
                    "contact count must be a whole number from 1, not {count!r}",
                    field="contact_count",
                    count=count,
                )
            values["contact_count"] = int(count)
        return values


@router.get("", name="assist")
def assist_page(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    text: str = "",
    script: str = "",
    collection: str = "",
) -> Response:
    """The panel; a CRM may open it with ``?text=`` (the customer's words) and ``?script=``."""
    form = AssistForm(conversation=text, display_script=script, collection=collection)
    form.collection = _collection(kb, principal, form.collection)
    chosen = chosen_script(request, form.display_script)
    finish = partial(_finish, kb, remember=chosen if script else None)
    # A page a CRM opened: shown with the refusal in it, as a page, not as a failed request.
    found = _suggestion(kb, principal, form, chosen, finish, status_code=200)
    context = _page_context(kb, form, chosen, **found)
    return finish(render.page(request, "assist.html", context, block="suggestions"))


@router.post("/suggest", name="assist_suggest")
def assist_suggest(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    form: Annotated[AssistForm, Form()],
) -> Response:
    """Suggestions for what the box holds now (HTMX: the suggestions block only)."""
    form.collection = _collection(kb, principal, form.collection)
    chosen = chosen_script(request, form.display_script)
    remember = chosen if form.display_script in SCRIPTS else None
    finish = partial(_finish, kb, remember=remember, answers=form.conversation)
    found = _suggestion(kb, principal, form, chosen, finish)
    context = _page_context(kb, form, chosen, **found)
    response = finish(render.page(request, "assist.html", context, block="suggestions"))
    if context["result"] is not None:
        # For app.js: known when the response arrives, before the block has settled on screen.
        response.headers["X-Suggestion-Id"] = context["result"].suggestion_id
    return response


@router.get("/search", name="assist_search")
def assist_search(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    q: str = "",
    display_script: str = "",
    collection: str = "",
) -> Response:
    """Plain knowledge-base search from the panel (HTMX: the search block only)."""
    form = AssistForm(display_script=display_script, collection=collection)
    form.collection = _collection(kb, principal, form.collection)
    chosen = chosen_script(request, display_script)
    finish = partial(_finish, kb, remember=None)

    def refused(exc: KBError) -> dict[str, Any]:
        return _page_context(kb, form, chosen, q=q, search_error=exc.message)

    with form_errors("assist.html", "search_results", refused, catch=KBError, finish=finish):
        context = _page_context(kb, form, chosen, q=q, **_search(kb, q, form, chosen))
    return finish(render.page(request, "assist.html", context, block="search_results"))


@dataclass(frozen=True)
class ReplyView:
    """A reply as the panel shows it: its text split around the unfilled placeholders."""

    id: str
    title: str
    text: str
    missing_variables: list[str]
    segments: list[tuple[str, bool]]

    @classmethod
    def of(cls, reply: ReplyOut | EscalationReply) -> ReplyView:
        named = reply if isinstance(reply, ReplyOut) else None
        return cls(
            id=named.id if named else "",
            title=named.title if named else "",
            text=reply.text,
            missing_variables=reply.missing_variables,
            segments=segments(reply.text, reply.missing_variables),
        )


@dataclass(frozen=True)
class EscalationView:
    level: str | None
    team: str | None
    reasons: list[str]
    steps: list[str]
    reply: ReplyView | None

    @classmethod
    def of(cls, esc: EscalationOut) -> EscalationView:
        reply = ReplyView.of(esc.reply) if esc.reply else None
        return cls(esc.level, esc.team, esc.reasons, esc.steps, reply)


def suggestion_context(body: SuggestResponse | None) -> dict[str, Any]:
    """What the suggestions block shows for a suggest body: replies split around placeholders."""
    if body is None:
        return {
            "result": None,
            "answers": [],
            "more_answers": [],
            "replies": [],
            "escalation": None,
        }
    esc = body.escalation
    return {
        "result": body,
        "answers": body.answers[:SHOWN_ANSWERS],
        "more_answers": body.answers[SHOWN_ANSWERS:],
        "replies": [ReplyView.of(r) for r in body.replies],
        "escalation": EscalationView.of(esc) if esc.recommended or esc.reply else None,
    }


def segments(text: str, missing: list[str]) -> list[tuple[str, bool]]:
    """``text`` as (piece, is_placeholder) pairs; only a reply with missing variables has any."""
    if not missing:
        return [(text, False)]
    return [(p, i % 2 == 1) for i, p in enumerate(_PLACEHOLDER.split(text)) if p]


def _collection(kb: KnowledgeBase, principal: Principal, asked: str) -> str:
    """The collection asked for (403 if forbidden), else the default one, else, for a caller
    limited to others (an embed token for the HR team), the first of the caller's."""
    if asked:
        return readable(principal, asked)
    default = kb.settings.default_collection
    if principal.may_read(default) or not principal.collections:
        return readable(principal, default)
    return principal.collections[0]


def _suggestion(
    kb: KnowledgeBase,
    principal: Principal,
    form: AssistForm,
    script: str,
    finish: Finish,
    *,
    status_code: int = 422,
) -> dict[str, Any]:
    """The suggestion for the form's conversation; a refusal comes back in the same block."""
    turns = parse_transcript(form.conversation)
    found: dict[str, Any] = {"turns": turns, "error": None, **suggestion_context(None)}
    if not any(t.role == "customer" for t in turns):
        return found

    def refused(exc: KBError) -> dict[str, Any]:
        return _page_context(kb, form, script, **{**found, "error": exc.message})

    with form_errors(
        "assist.html", "suggestions", refused, catch=KBError, status_code=status_code, finish=finish
    ):
        body = suggest(
            kb,
            SuggestInput(
                conversation=turns,
                customer=form.customer(),
                collection=form.collection or kb.settings.default_collection,
                display_script=script,  # type: ignore[arg-type]  # one of SCRIPTS
                supersedes=form.supersedes.strip() or None,
                actor=principal.actor,
            ),
        )
    return {**found, **suggestion_context(body)}


def _search(kb: KnowledgeBase, q: str, form: AssistForm, script: str) -> dict[str, Any]:
    if not q.strip():
        return {"hits": [], "search_error": None, "search_degraded": None}
    request = SearchRequest(
        q,
        form.collection or kb.settings.default_collection,
        limit=SEARCH_LIMIT,
        # As in suggestions: an expired or not-yet-valid policy is never offered to an agent.
        filters=SearchFilters(valid_on=date.today()),
    )
    result = search_result(kb, request)  # degraded: the embedder is down, keyword hits only
    hits = [_displayed(h, script) for h in search_hits(kb, result.hits)]
    return {"hits": hits, "search_error": None, "search_degraded": result.degraded}


def _displayed(hit: SearchHit, script: str) -> SearchHit:
    """The hit's text in the agent's script (zh-Hans or zh-Hant)."""
    source = hit.source.model_copy(
        update={
            "title": convert(hit.source.title, script),
            "section": [convert(s, script) for s in hit.source.section],
        }
    )
    return hit.model_copy(
        update={
            "question": convert(hit.question, script) if hit.question else None,
            "text": convert(hit.text, script),
            "highlight": convert(hit.highlight, script),
            "source": source,
        }
    )


def _page_context(kb: KnowledgeBase, form: AssistForm, script: str, **parts: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "form": form,
        "script": script,
        "scripts": SCRIPT_CHOICES,
        "collection": form.collection or kb.settings.default_collection,
        "names": NAMES,
        "q": "",
        "hits": [],
        "search_error": None,
        "search_degraded": None,
        "turns": [],
        "error": None,
        **suggestion_context(None),
    }
    context.update(parts)
    return context


def chosen_script(request: Request, asked: str) -> str:
    """The script asked for, else the one this browser chose last time, else the UI's own:
    Traditional for a 繁體 UI, Simplified otherwise."""
    if asked in SCRIPTS:
        return asked
    remembered = request.cookies.get(SCRIPT_COOKIE, "")
    if remembered in SCRIPTS:
        return remembered
    return "zh-Hant" if locale_of(request) == "zh-Hant" else "zh-Hans"


def text_tag(text: str) -> str:
    """A short fingerprint of the box's text, as app.js computes it from the box (``textTag``):
    FNV-1a over its UTF-16 code units, then their count; line ends as the box has them (LF)."""
    units = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-16-le")
    tag = 0x811C9DC5
    for i in range(0, len(units), 2):
        tag = ((tag ^ (units[i] | units[i + 1] << 8)) * 0x01000193) & 0xFFFFFFFF
    return f"{tag:08x}-{len(units) // 2}"


def _finish(
    kb: KnowledgeBase, response: Response, *, remember: str | None, answers: str | None = None
) -> Response:
    # The panel's CSP (framing by KB_FRAME_ANCESTORS only) is set with every other page's, in
    # web/headers.py.
    if answers is not None:
        # Which text this answer is for, refused or not: app.js shows it only while the box
        # still holds that text, so a late answer never covers the agent's newer words.
        response.headers[SUGGESTION_FOR] = text_tag(answers)
    if remember:
        # No accounts yet: the browser remembers the agent's script for a year.
        response.set_cookie(
            SCRIPT_COOKIE, remember, max_age=365 * 86400, path="/assist", samesite="lax"
        )
    return response
