"""Console page for the BM25 vocabulary: user dictionary, synonym sets, a cut preview, history.

Saved through ``kb.retrieval.vocabulary.save_vocabulary``: checked line by line (nothing changes
on an error), then every collection is re-indexed so the new words count at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from kb.context import KnowledgeBase
from kb.retrieval.schemas import VocabularySaved
from kb.retrieval.vocabulary import (
    Vocabulary,
    VocabularyError,
    cut,
    edited_vocabulary,
    save_vocabulary,
    vocabulary_history,
)
from web.auth import EditsInstallationWide, PrincipalDep
from web.deps import KBDep
from web.pages.forms import form_errors
from web.pages.rules import excerpt
from web.rendering import RendererDep

router = APIRouter(prefix="/kb", include_in_schema=False)

SHOWN_PROBLEMS = 10
MAX_PREVIEW_CHARS = 500
# Sent once a saved vocabulary's page has settled: the trial sentence is cut again with it.
VOCABULARY_SAVED = "kb:vocabulary-saved"


@router.get("/vocabulary", name="kb_vocabulary")
def vocabulary_page(request: Request, kb: KBDep, render: RendererDep) -> Response:
    edited = edited_vocabulary(kb)
    context = _context(kb, user_dict=edited.user_dict, synonyms=edited.synonyms)
    return render.page(request, "vocabulary.html", context, block="workspace")


@router.post("/vocabulary", name="kb_vocabulary_save", dependencies=[EditsInstallationWide])
def save(
    request: Request,
    kb: KBDep,
    principal: PrincipalDep,
    render: RendererDep,
    user_dict: Annotated[str, Form()] = "",
    synonyms: Annotated[str, Form()] = "",
) -> Response:
    """Save both texts; on a bad line nothing changes and the line is shown."""

    def refused(exc: VocabularyError) -> dict[str, Any]:
        text = user_dict if exc.field == "user_dict" else synonyms
        error = {
            "field": exc.field,
            "problems": exc.problems[:SHOWN_PROBLEMS],
            "more": max(0, len(exc.problems) - SHOWN_PROBLEMS),
            "excerpt": excerpt(text, exc.problems[0].line or None),
        }
        return _context(kb, user_dict=user_dict, synonyms=synonyms, error=error)

    with form_errors("vocabulary.html", "workspace", refused, catch=VocabularyError):
        wanted = Vocabulary(user_dict=user_dict, synonyms=synonyms)
        done = save_vocabulary(kb, wanted, actor=principal.actor)
    edited = edited_vocabulary(kb)
    context = _context(kb, user_dict=edited.user_dict, synonyms=edited.synonyms, saved=done)
    headers = {"HX-Trigger-After-Settle": VOCABULARY_SAVED}
    return render.page(request, "vocabulary.html", context, block="workspace", headers=headers)


@router.get("/vocabulary/cut", name="kb_vocabulary_cut")
def cut_preview(request: Request, kb: KBDep, render: RendererDep, text: str = "") -> Response:
    """How a sentence is cut into BM25 tokens with the vocabulary in force."""
    text = text[:MAX_PREVIEW_CHARS]
    context = {"text": text, "tokens": cut(kb, text) if text.strip() else []}
    return render.page(request, "vocabulary.html", {**_context(kb), **context}, block="preview")


def _context(
    kb: KnowledgeBase,
    *,
    user_dict: str = "",
    synonyms: str = "",
    saved: VocabularySaved | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    s = kb.settings
    return {
        "user_dict": user_dict,
        "synonyms": synonyms,
        "saved": saved,
        "error": error,
        "history": vocabulary_history(kb),
        "files": {"user_dict": s.user_dict, "synonyms": s.synonyms},
        "text": "",
        "tokens": [],
    }
