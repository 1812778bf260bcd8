"""One queue for every kind of background work: jobs are ``ingest_job`` rows (kind, payload
reference, actor, attempts, lease), taken by ``kb worker`` processes or by ``kb serve``'s own
threads when no worker is configured (``KB_WORKERS``).

``claims`` takes and holds jobs (a lease column claimed by compare-and-set on SQLite; ``SELECT …
FOR UPDATE SKIP LOCKED`` plus ``LISTEN``/``NOTIFY`` on PostgreSQL), ``payloads`` keeps a job's
input in the data directory, ``leases`` tells a dead process's job on this host at once.
"""
