"""The ``kb`` command: ingest, search, documents, suggest, library, vocabulary, eval, db, serve,
check, users, keys, audit, backup, restore, worker, workers.

A composition root: it wires the domain's services to the terminal, and starts the web app by
its import string (``kb.cli.server``), never by importing ``web``.
"""

from __future__ import annotations

from kb.cli._common import Typer
from kb.cli.accounts import audit_cmd, keys_app, users_app
from kb.cli.assist import suggest_cmd
from kb.cli.backup import backup_cmd, restore_cmd
from kb.cli.database import db_app
from kb.cli.documents import documents_app, index_app, ingest
from kb.cli.library import replies_app, rules_app
from kb.cli.maintenance import check_cmd
from kb.cli.retrieval import eval_cmd, search_cmd, vocabulary_app
from kb.cli.server import serve
from kb.cli.worker import worker_cmd, workers_cmd

app = Typer(
    help="AssistKB: an agent-assist knowledge base.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(ingest)
app.command("search")(search_cmd)
app.command("suggest")(suggest_cmd)
app.command("eval")(eval_cmd)
app.command()(serve)
app.command("worker")(worker_cmd)
app.command("workers")(workers_cmd)
app.command("check")(check_cmd)
app.add_typer(documents_app, name="documents")
app.add_typer(index_app, name="index")
app.add_typer(rules_app, name="rules")
app.add_typer(replies_app, name="replies")
app.add_typer(vocabulary_app, name="vocabulary")
app.add_typer(db_app, name="db")
app.command("backup")(backup_cmd)
app.command("restore")(restore_cmd)
app.command("audit")(audit_cmd)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
