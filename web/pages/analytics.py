"""Analytics page: what agents ask, what goes unanswered, what fails, over a chosen period."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kb.accounts.access import readable
from kb.errors import N_, Invalid
from kb.insight.analytics import Period, Report, report
from kb.insight.interleaving import interleaving
from kb.learning.schemas import InterleavingOut
from web.auth import PrincipalDep
from web.deps import KBDep
from web.pages.forms import Errors, FormError, parse_date
from web.rendering import RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)

RANGES = (
    ("7", N_("最近 7 天")),
    ("30", N_("最近 30 天")),
    ("90", N_("最近 90 天")),
    ("custom", N_("自定义")),
)
HANDLING_LABELS = {"self_service": N_("自助"), "agent": N_("坐席"), "expert": N_("专家")}
FEEDBACK_LABELS = {
    "helpful": N_("有用"),
    "not_helpful": N_("没用"),
    "copied": N_("复制"),
    "inserted": N_("插入"),
    "dismissed": N_("忽略"),
    "shown": N_("展示"),
}
# Chart colours by series (also used by the legend); CSS cannot style an SVG fill per datum.
COLOURS = {
    "self_service": "#1b7a3d",
    "agent": "#1a5fb4",
    "expert": "#c2410c",
    "helpful": "#1b7a3d",
    "not_helpful": "#b42318",
    "copied": "#1a5fb4",
    "inserted": "#5b3cc4",
    "dismissed": "#8a94a3",
    "shown": "#c9d0da",
}


@dataclass(frozen=True)
class PeriodForm:
    span: str = "30"  # "7", "30", "90" or "custom"
    start: str = ""
    end: str = ""

    def parse(self) -> tuple[Period | None, Errors]:
        """The chosen period, or the errors to show next to the fields."""
        errors: Errors = {}
        if self.span != "custom":
            days = int(self.span) if self.span in ("7", "30", "90") else 30
            return Period.last(days), errors
        start = parse_date(self.start, "start", errors)
        end = parse_date(self.end, "end", errors)
        for name, value in (("start", start), ("end", end)):
            if value is None and name not in errors:
                errors[name] = "choose a date (YYYY-MM-DD)"
        if errors or start is None or end is None:
            return None, errors
        try:
            return Period(start, end), errors
        except Invalid as exc:
            errors[exc.field or "start"] = exc.message
            return None, errors


def parts(counts: dict[str, int], labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """A mix (handling, feedback) as chart parts: label, count, share and colour."""
    total = sum(counts.values())
    return [
        {
            "key": key,
            "label": labels[key],
            "count": counts.get(key, 0),
            "share": counts.get(key, 0) / total if total else 0.0,
            "colour": COLOURS[key],
        }
        for key in labels
    ]


@router.get("/analytics", name="kb_analytics")
def analytics_page(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    span: Annotated[str, Query(alias="range")] = "30",
    start: str = "",
    end: str = "",
    collection: str = "",
) -> Response:
    """The period chooser and, for a valid period, the report (HTMX: the report only), from
    the collections the manager may read."""
    if collection:
        readable(principal, collection)
    form = PeriodForm(span, start, end)
    period, errors = form.parse()
    result: Report | None = None
    online: list[InterleavingOut] = []
    if period is not None:
        within = principal.readable_collections
        result = report(kb, period, collection=collection or None, readable=within)
        online = interleaving(kb, period, collection=collection or None, readable=within)
    context: dict[str, Any] = {
        "form": form,
        "ranges": RANGES,
        "collection": collection,
        "errors": errors,
        "report": result,
        "interleaving": online,
        "handling": parts(result.totals.handling, HANDLING_LABELS) if result else [],
        "feedback": parts(result.totals.feedback, FEEDBACK_LABELS) if result else [],
        "today": date.today().isoformat(),
    }
    if errors:
        raise FormError("analytics.html", "report", context)
    return render.page(request, "analytics.html", context, block="report")
