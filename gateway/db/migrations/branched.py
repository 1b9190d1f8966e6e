"""How a database migrated with the old, branched history joins the one chain of migrations.

Until commit c5d969b the migrations were four branches off ``0001_base`` (``0002_request_log`` ->
``0002b_request_log_costs``, ``0003_keys``, ``0004_prompts``, ``0005_evals``), applied with ``upgrade heads``. A
database migrated then holds one ``alembic_version`` row per branch it has: four rows when it is up to date, or
``0002_request_log``, ``0003_keys``, ``0004_prompts``, ``0005_evals`` if it was last migrated before
``0002b_request_log_costs`` existed.

The same revisions, same ids and same ``upgrade()`` bodies, now form one line (``CHAIN``), and new migrations append
to it. Alembic cannot follow a re-parented history by itself: four rows are four heads of a graph that now has
one. So ``join_chain`` runs in ``env.py`` before Alembic, on the same connection and in the same transaction:

1. fewer than two rows: nothing to do. A new database, and every database the new chain migrated, has at most one;
   so had every database the old history left with one row (``0001_base``, ``0002_request_log`` or
   ``0002b_request_log_costs``), and those mean the same on the line.
2. several rows: the revisions applied are the rows and their ancestors in the *old* graph (``OLD_PARENTS``,
   frozen here). The table is rewritten to the one row of the last applied revision on the line, and the revisions
   the line passes but the database never ran (``0002b_request_log_costs`` in the second case above) are run right
   there. Running them out of the line's order is safe because the old branches were independent by construction:
   that is the order ``upgrade heads`` would have used. Alembic then carries on to the head as usual.

Everything happens in the transaction ``env.py`` opens, so a failure leaves the rows as they were, and the next
start tries again. (On SQLite the rewrite comes first on purpose: the driver opens its transaction at the first
data change, and the DDL that follows stays inside it.)

Why not a merge revision with the four heads as parents: it would work too, but every new install would then run
the diamond forever and ``alembic history`` would show it; the line is what the code is meant to be, and this
module is the only trace of the old shape. Offline mode (``alembic upgrade --sql``) has no database to read, so it
assumes the one chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from alembic.util import CommandError
from sqlalchemy import Connection, inspect, text

#: The old graph, revision -> parent. Frozen: it describes databases that already exist.
OLD_PARENTS: dict[str, str | None] = {
    "0001_base": None,
    "0002_request_log": "0001_base",
    "0002b_request_log_costs": "0002_request_log",
    "0003_keys": "0001_base",
    "0004_prompts": "0001_base",
    "0005_evals": "0001_base",
}
#: The same revisions on the one chain, oldest first (``tests/db`` checks it against the scripts).
CHAIN: tuple[str, ...] = (
    "0001_base",
    "0002_request_log",
    "0002b_request_log_costs",
    "0003_keys",
    "0004_prompts",
    "0005_evals",
)
VERSION_TABLE = "alembic_version"


def join_chain(connection: Connection, run_revision: Callable[[str], None]) -> None:
    """Turn a branched ``alembic_version`` into its one row on ``CHAIN``, running the revisions the line skipped."""
    rows = version_rows(connection)
    if len(rows) < 2:
        return
    applied = applied_revisions(rows)
    last = max(CHAIN.index(revision) for revision in applied)
    connection.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    connection.execute(text(f"INSERT INTO {VERSION_TABLE} (version_num) VALUES (:v)"), {"v": CHAIN[last]})
    for revision in CHAIN[:last]:
        if revision not in applied:
            run_revision(revision)


def version_rows(connection: Connection) -> list[str]:
    if not inspect(connection).has_table(VERSION_TABLE):
        return []
    return [str(row[0]) for row in connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]


def applied_revisions(heads: Iterable[str]) -> set[str]:
    """Every revision the old graph had applied, given its heads in ``alembic_version``."""
    applied: set[str] = set()
    for head in heads:
        if head not in OLD_PARENTS:
            raise CommandError(
                f"{VERSION_TABLE} holds several rows, and {head!r} is not a revision of the old branched history: "
                "this database was not migrated by the gateway; fix the table by hand"
            )
        revision: str | None = head
        while revision is not None:
            applied.add(revision)
            revision = OLD_PARENTS[revision]
    return applied
