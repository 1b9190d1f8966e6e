"""Keys and teams in the database: the only code that writes them (used by the CLI and the admin API).

Every write also bumps ``key_store_version`` in the same transaction, which is what the gateways' key caches
poll. Synchronous (SQLAlchemy); async callers go through ``asyncio.to_thread``. Never on the request path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from gateway.db import Database
from gateway.db.keys import Team, VirtualKey
from gateway.keys.material import display_prefix, generate_key, hash_key, new_id
from gateway.keys.models import KeySpec, TeamSpec, TeamUpdate, parse_expiry, utcnow


class KeyStoreError(Exception):
    """A request the store cannot carry out; the message is meant for the person who asked."""


class NotFoundError(KeyStoreError):
    pass


class ConflictError(KeyStoreError):
    pass


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    keys: Sequence[VirtualKey]
    teams: Sequence[Team]


def version(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(connection.execute(text("SELECT version FROM key_store_version WHERE id = 1")).scalar_one())


def snapshot(db: Database) -> Snapshot:
    """Every key and team. The version is read first, so a change racing with the read is seen on the next poll."""
    with db.session() as session:
        current = int(session.execute(text("SELECT version FROM key_store_version WHERE id = 1")).scalar_one())
        keys = list(session.exec(select(VirtualKey)).all())
        teams = list(session.exec(select(Team)).all())
    return Snapshot(current, keys, teams)


def create_team(db: Database, spec: TeamSpec) -> Team:
    now = utcnow()
    team = Team(id=new_id("team"), created_at=now, updated_at=now, **spec.model_dump())
    with db.session() as session:
        session.add(team)
        _commit(session, f"a team named {spec.name!r} already exists")
    return team


def update_team(db: Database, ref: str, update: TeamUpdate) -> Team:
    changes = update.changes()
    with db.session() as session:
        team = _team(session, ref)
        for name, value in changes.items():
            setattr(team, name, value)
        team.updated_at = utcnow()
        session.add(team)
        _commit(session, f"a team named {changes.get('name')!r} already exists")
        return team


def list_teams(db: Database) -> list[Team]:
    with db.session() as session:
        return list(session.exec(select(Team).order_by(col(Team.name))).all())


def create_key(db: Database, spec: KeySpec) -> tuple[VirtualKey, str]:
    """The new key's row and its secret; the secret is not kept anywhere, so the caller shows it once."""
    secret = generate_key()
    now = utcnow()
    with db.session() as session:
        if _active_keys_named(session, spec.name):
            raise ConflictError(f"an active key named {spec.name!r} already exists; revoke or rotate it")
        key = VirtualKey(
            id=new_id("key"),
            name=spec.name,
            key_hash=hash_key(secret),
            key_prefix=display_prefix(secret),
            team_id=_team(session, spec.team).id if spec.team else None,
            models=spec.models,
            budget_usd=spec.budget_usd,
            budget_period=spec.budget_period,
            rpm=spec.rpm,
            tpm=spec.tpm,
            store_content=spec.store_content,
            guardrails=spec.guardrails,
            expires_at=parse_expiry(spec.expires, now) if spec.expires else None,
            created_at=now,
            updated_at=now,
        )
        session.add(key)
        _commit(session, "could not store the key")
    return key, secret


def list_keys(db: Database) -> list[tuple[VirtualKey, str | None]]:
    """Every key with its team's name, newest first."""
    with db.session() as session:
        names = {team.id: team.name for team in session.exec(select(Team)).all()}
        keys = session.exec(select(VirtualKey).order_by(col(VirtualKey.created_at).desc())).all()
        return [(key, names.get(key.team_id or "")) for key in keys]


def get_key(db: Database, ref: str) -> tuple[VirtualKey, str | None]:
    with db.session() as session:
        key = _key(session, ref)
        team = session.get(Team, key.team_id) if key.team_id else None
        return key, team.name if team else None


def revoke_key(db: Database, ref: str) -> VirtualKey:
    with db.session() as session:
        key = _key(session, ref)
        if key.revoked_at is None:
            key.revoked_at = key.updated_at = utcnow()
            session.add(key)
            _commit(session, "could not revoke the key")
        return key


def rotate_key(db: Database, ref: str) -> tuple[VirtualKey, str]:
    """A new secret for the same key (same id, limits and spend); the old secret stops working."""
    secret = generate_key()
    with db.session() as session:
        key = _key(session, ref)
        if key.revoked_at is not None:
            raise ConflictError(f"key {key.id} is revoked; create a new one instead")
        key.key_hash = hash_key(secret)
        key.key_prefix = display_prefix(secret)
        key.rotated_at = key.updated_at = utcnow()
        session.add(key)
        _commit(session, "could not rotate the key")
        return key, secret


def _commit(session: Session, conflict: str) -> None:
    try:
        session.flush()
        session.execute(text("UPDATE key_store_version SET version = version + 1 WHERE id = 1"))
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise ConflictError(conflict) from exc


def _active_keys_named(session: Session, name: str) -> list[VirtualKey]:
    query = select(VirtualKey).where(VirtualKey.name == name, col(VirtualKey.revoked_at).is_(None))
    return list(session.exec(query).all())


def _key(session: Session, ref: str) -> VirtualKey:
    """By id, else by the name of an active key (a revoked key can still be named by its id)."""
    key = session.get(VirtualKey, ref)
    if key is not None:
        return key
    named = _active_keys_named(session, ref)
    if not named:
        raise NotFoundError(f"no key with id or active name {ref!r}")
    return named[0]


def _team(session: Session, ref: str) -> Team:
    team = session.get(Team, ref) or session.exec(select(Team).where(Team.name == ref)).first()
    if team is None:
        raise NotFoundError(f"no team with id or name {ref!r}")
    return team
