"""The database handle: one engine per process, migrations on start, and a readiness probe."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

DEFAULT_DATABASE_URL = "sqlite:///./gateway.db"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
logger = logging.getLogger("gateway.db")


def normalize_url(url: str) -> str:
    """Accept the URLs people paste (``postgres://``, ``postgresql://``) and use the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


class Database:
    def __init__(self, url: str | None = None, *, connect_timeout: float = 3.0) -> None:
        self.url = normalize_url(url or DEFAULT_DATABASE_URL)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        connect_args: dict[str, object] = {}
        if self.dialect == "sqlite":
            connect_args = {"check_same_thread": False, "timeout": 30}
        elif self.dialect == "postgresql":
            connect_args = {"connect_timeout": max(1, int(connect_timeout))}
        self.engine: Engine = create_engine(
            self.url,
            connect_args=connect_args,
            pool_pre_ping=True,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
        )
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)

    @property
    def safe_url(self) -> str:
        """The URL with its password hidden, for logs and messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def upgrade(self) -> None:
        """Bring the schema to the newest revision of every migration branch."""
        if self.at_head():
            return  # the usual restart: nothing to run, and Alembic (about 10 MB) is never imported
        # Alembic narrates every plugin (on import) and revision at INFO; the gateway's own start-up line says
        # enough. So quiet its loggers before the import.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        from alembic import command  # noqa: PLC0415 - alembic

        command.upgrade(self.alembic_config(), "heads")

    def at_head(self) -> bool:
        """Whether the database records exactly the newest migration (an unreachable server raises, as Alembic
        would). Anything else, a new database, an older one, or the old branched history, is Alembic's to handle."""
        head = head_revision()
        with self.engine.connect() as connection:
            if head is None or not inspect(connection).has_table("alembic_version"):
                return False
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        return list(rows) == [head]

    def alembic_config(self) -> AlembicConfig:
        from alembic.config import Config  # noqa: PLC0415 - alembic

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        config.attributes["engine"] = self.engine
        return config

    def dispose(self) -> None:
        self.engine.dispose()


_REVISION = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*"([^"]+)"', re.M)


def head_revision() -> str | None:
    """The one revision of ``migrations/versions`` that no other revision follows, read from the files' text
    without Alembic; None when there is not exactly one (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for kind, name in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if kind == "revision" else parents).add(name)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _json_dumps(value: object) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets the background writer and readers (reports, the CLI) work at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
