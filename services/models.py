"""Persisted tables. Times are stored as UTC; `utcnow()` is the one clock helper."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Index, Text, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Attach UTC to a naive value read back from SQLite."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"
    SYSTEM = "system"


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.USER.value, max_length=16)
    is_active: bool = True
    token_generation: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    """Raised when the account is deactivated: tokens and browser sessions carry the generation they were issued
    at, so reactivating the account does not bring them back."""
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class EventRecord(SQLModel, table=True):
    """One published event; `data` is kept as the JSON text that was published (searchable with LIKE)."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_reactions_pending", "timestamp", sqlite_where=text("reactions_pending"),
              postgresql_where=text("reactions_pending")),
    )

    id: str = Field(primary_key=True, max_length=36)
    type: str = Field(max_length=100, index=True)
    source: str = Field(max_length=100, index=True)
    timestamp: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    data: str = Field(sa_column=Column(Text, nullable=False))
    correlation_id: str | None = Field(default=None, max_length=36, index=True)
    causation_id: str | None = Field(default=None, max_length=36)
    user_id: str | None = Field(default=None, max_length=64)
    reactions_pending: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    """Set when the event is stored and cleared once what its at-least-once handlers wrote is committed (see
    services.events.outbox); still set after a crash, so those handlers run again."""
    reaction_attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
