"""The UI's languages: Babel message catalogues (web/locales/*/LC_MESSAGES/messages.po), which
one a request is shown in, and the gettext that templates, pages and error answers share.

The catalogues are read from the committed ``.po`` files at first use (Babel compiles them in
memory): no build step, nothing generated to forget. msgids are the source text where it was
written: Simplified Chinese for the pages (the UI's original language), English for the messages
``kb`` produces (``kb.errors.Message``), which the API also answers with.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request

from kb.errors import N_ as N_  # pages mark their labels with it, as kb does
from kb.errors import Message
from kb.types import LANGUAGES, Language

LOCALE_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
# Where the catalogue of each language lives: Babel's locale identifiers.
BABEL_LOCALE: dict[Language, str] = {"zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant", "en": "en"}
DEFAULT: Language = "zh-Hans"
# An API caller that names no language keeps the API's own: English.
API_DEFAULT: Language = "en"
COOKIE = "assistkb_lang"
# app.js sends the page's language on every HTMX request, so a fragment matches its page (the
# embedded panel has no cookie it can count on).
HEADER = "X-UI-Language"
QUERY = "lang"
# What the language switch offers, each in its own language.
CHOICES: tuple[tuple[Language, str], ...] = (
    ("zh-Hans", "简体中文"),
    ("zh-Hant", "繁體中文"),
    ("en", "English"),
)
assert tuple(c for c, _ in CHOICES) == get_args(Language)

_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")
_TRADITIONAL_REGIONS = {"tw", "hk", "mo"}


def language(tag: str | None) -> Language | None:
    """The UI language for one language tag: zh-TW/zh-HK/zh-Hant → zh-Hant, zh/zh-CN → zh-Hans,
    en-* → en; None for any other (or a malformed tag)."""
    if not tag or not _TAG.match(tag.strip()):
        return None
    parts = tag.strip().lower().replace("_", "-").split("-")
    if parts[0] == "en":
        return "en"
    if parts[0] != "zh":
        return None
    rest = set(parts[1:])
    if "hant" in rest or (rest & _TRADITIONAL_REGIONS and "hans" not in rest):
        return "zh-Hant"
    return "zh-Hans"


def negotiate(accept_language: str | None) -> Language | None:
    """The best UI language an ``Accept-Language`` header asks for (by q, then order)."""
    ranked: list[tuple[float, int, Language]] = []
    for i, item in enumerate((accept_language or "").split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        found = language(tag)
        if found is not None and q > 0:
            ranked.append((-q, i, found))
    return min(ranked)[2] if ranked else None


def locale_of(request: Request) -> Language:
    """The language a request is shown in: a ``?lang=`` asked for on this page, the page's own
    (``X-UI-Language``, from app.js), the person's saved choice, the cookie, ``Accept-Language``,
    and else zh-Hans (English for the API)."""
    session = getattr(request.state, "session", None)
    cached: tuple[object, Language] | None = getattr(request.state, "locale", None)
    # Decided once per caller: before authentication, a saved choice is not known yet.
    if cached is not None and cached[0] is session:
        return cached[1]
    saved = session.user.locale if session is not None else None
    chosen = (
        _known(request.query_params.get(QUERY))
        or _known(request.headers.get(HEADER))
        or _known(saved)
        or _known(request.cookies.get(COOKIE))
        or negotiate(request.headers.get("accept-language"))
        or (API_DEFAULT if request.url.path.startswith("/api/") else DEFAULT)
    )
    request.state.locale = (session, chosen)
    return chosen


def _known(value: str | None) -> Language | None:
    return value if value in LANGUAGES else None  # type: ignore[return-value,unused-ignore]


@cache
def translations(locale: Language) -> Translations:
    """The catalogue of ``locale``, compiled in memory from its committed ``.po`` file."""
    path = LOCALE_DIR / BABEL_LOCALE[locale] / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalog = read_po(po, locale=BABEL_LOCALE[locale], domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy entry is no translation yet
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(locale: Language, text: str, /, **params: Any) -> str:
    """``text`` in ``locale``; a ``Message`` is translated by its template and formatted."""
    if isinstance(text, Message):
        template, params = text.template, {**text.params, **params}
    else:
        template = text
    translated = translations(locale).gettext(template)
    if not params:
        return translated
    # A value that is itself a Message (a cue's kind) is translated too; content is not.
    return translated.format(**{k: _shown(locale, v) for k, v in params.items()})


def _shown(locale: Language, value: Any) -> Any:
    if isinstance(value, Message):
        return gettext(locale, value)
    if isinstance(value, tuple):  # a list of conditions, each a Message
        return gettext(locale, "；").join(str(_shown(locale, v)) for v in value)
    return value


def localize(request: Request, text: str, /, **params: Any) -> str:
    """``text`` in the language of ``request``."""
    return gettext(locale_of(request), text, **params)


def ngettext(locale: Language, singular: str, plural: str, n: int) -> str:
    return translations(locale).ngettext(singular, plural, n)


@lru_cache(maxsize=1)
def script_msgids() -> tuple[str, ...]:
    """The strings web/static/app.js shows, as it marks them: ``t("…")``."""
    from babel.messages.extract import extract

    with (Path(__file__).parent / "static" / "app.js").open("rb") as js:
        found = list(extract("javascript", js, keywords={"t": None}, comment_tags=()))
    return tuple(dict.fromkeys(str(m[1]) for m in found))


def script_messages(locale: Language) -> dict[str, str]:
    """app.js's strings in ``locale`` (the page hands them over as JSON)."""
    return {msgid: gettext(locale, msgid) for msgid in script_msgids()}
