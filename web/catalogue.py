"""The message catalogues' upkeep: what the UI can show (extracted by Babel from the templates,
the Python that makes user-facing text, and app.js), and the ``.po`` files brought up to date.

    python -m web.catalogue          # extract, merge into web/locales/*/messages.po, report gaps

The same extraction is what tests/web/test_i18n.py holds every catalogue to. The equivalent
``pybabel extract -F babel.cfg`` call is in the README's "Languages" section.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po

from web.i18n import BABEL_LOCALE, DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parents[1]
# Python that makes text a person reads: pages and web modules, and the kb layers whose errors,
# labels and reasons reach the UI (the CLI-only layers, backup and the database, speak English).
PYTHON_SOURCES = (
    "web",
    "kb/accounts",
    "kb/assist",
    "kb/documents",
    "kb/library",
    "kb/insight",
    "kb/upkeep",
    "kb/learning",
    "kb/retrieval/searching.py",
    "kb/retrieval/vocabulary.py",
    "kb/types.py",
    "kb/errors.py",
)
# Calls whose first argument is a message: gettext's, kb's Message and N_, and every domain error
# (their first argument is the English template, see kb/errors.py).
PYTHON_KEYWORDS: dict[str, None] = dict.fromkeys(
    (
        "_",
        "gettext",
        "N_",
        "Message",
        "KBError",
        "NotFound",
        "Invalid",
        "InvalidReply",
        "Conflict",
        "TooLarge",
        "Unauthenticated",
        "EmbedRefused",
        "Forbidden",
        "TooManyAttempts",
        "Unavailable",
        "StorageFull",
    )
)
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}


def _python_files() -> Iterator[Path]:
    for source in PYTHON_SOURCES:
        path = ROOT / source
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def extract_catalog() -> Catalog:
    """Every msgid the UI can show, with where it comes from."""
    catalog = Catalog(domain=DOMAIN, project="AssistKB", charset="utf-8")
    jobs: list[tuple[str, Path, dict[str, None], dict[str, str]]] = [
        ("python", p, PYTHON_KEYWORDS, {}) for p in _python_files()
    ]
    jobs += [
        ("jinja2.ext:babel_extract", p, {"_": None, "gettext": None}, JINJA_OPTIONS)
        for p in sorted((ROOT / "web" / "templates").glob("*.html"))
    ]
    jobs.append(("javascript", ROOT / "web" / "static" / "app.js", {"t": None}, {}))
    for method, path, keywords, options in jobs:
        with path.open("rb") as source:
            found = extract(method, source, keywords=keywords, options=options)
            for lineno, message, _comments, _context in found:
                if isinstance(message, tuple):
                    message = message[0]
                if message:
                    catalog.add(message, locations=[(str(path.relative_to(ROOT)), lineno)])
    return catalog


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(locale: str) -> Catalog:
    with po_path(locale).open("rb") as po:
        return read_po(po, locale=locale, domain=DOMAIN)


def gaps(template: Catalog, catalog: Catalog) -> list[str]:
    """msgids of ``template`` that ``catalog`` leaves untranslated, empty or fuzzy."""
    missing = []
    for message in template:
        if not message.id:
            continue
        found = catalog.get(message.id)
        if found is None or not found.string or found.fuzzy:
            missing.append(str(message.id))
    return missing


def update() -> int:
    """Merge the extraction into every catalogue; print what still needs a translation."""
    template = extract_catalog()
    status = 0
    for locale in BABEL_LOCALE.values():
        path = po_path(locale)
        if path.exists():
            catalog = read_catalog(locale)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            catalog = Catalog(locale=locale, domain=DOMAIN, project="AssistKB")
            catalog.update(template)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            write_po(po, catalog, width=100, omit_header=False, ignore_obsolete=True)
        missing = gaps(template, catalog)
        status |= bool(missing)
        print(f"{locale}: {len(template)} messages, {len(missing)} untranslated")
    return status


if __name__ == "__main__":
    sys.exit(update())
