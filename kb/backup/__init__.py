"""``kb backup`` / ``kb restore``: one archive holding a consistent snapshot of a data directory.

``archive.py`` writes and verifies the archive and its manifest, ``databases.py`` snapshots and
restores the database (SQLite's online backup API, PostgreSQL's ``pg_dump``/``pg_restore``),
``snapshot.py`` takes a backup of a running knowledge base and ``restore.py`` puts one back.
"""
