"""A restart on a current database skips Alembic: the head is read from the migration files, and the database's
``alembic_version`` compared with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from gateway.db.engine import Database, head_revision


def test_the_head_read_from_the_files_is_alembics_head(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'g.db'}")
    assert [head_revision()] == ScriptDirectory.from_config(database.alembic_config()).get_heads()


def test_a_new_database_is_not_at_head_and_a_migrated_one_is(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'g.db'}")
    assert not database.at_head()
    database.upgrade()
    assert database.at_head()


def test_an_older_database_is_not_at_head(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'g.db'}")
    database.upgrade()
    with database.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0004_prompts'")
    assert not database.at_head()


def test_restarting_on_a_current_database_never_imports_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'g.db'}"
    Database(url).upgrade()
    script = ("import sys; from gateway.db.engine import Database; "
              f"Database({url!r}).upgrade(); print('alembic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"
