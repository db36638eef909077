"""Who the viewer is: users, their appointments (roles at org units, with history),
one-time login codes and refresh tokens (both stored hashed)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, one_of

ROLES = (
    "party_member",
    "chief",
    "grid_worker",
    "information_officer",
    "store_clerk",
    "village_admin",
    "town_admin",
)


class User(Base):
    """Someone who can log in: a resident (by phone or WeChat) or staff (admins by password)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("phone ~ '^1[3-9][0-9]{9}$'", name="phone_format"),
        CheckConstraint("phone IS NOT NULL OR resident_id IS NOT NULL", name="identifiable"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(11), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), unique=True)
    wechat_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()
    last_login_at: Mapped[datetime | None]


class Appointment(Base):
    """A role held at an org unit for a period. Ending one sets `valid_to`; nothing is
    overwritten, so who held a post when stays answerable. A unit has one chief at a time."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        Index(
            "uq_appointments_open_chief", "unit_id",
            unique=True, postgresql_where=text("valid_to IS NULL AND role = 'chief'"),
        ),
        Index(
            "uq_appointments_open_user_role_unit", "user_id", "role", "unit_id",
            unique=True, postgresql_where=text("valid_to IS NULL"),
        ),
        Index("ix_appointments_unit_id_valid_from", "unit_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    valid_from: Mapped[datetime] = mapped_column(server_default=text("now()"))
    valid_to: Mapped[datetime | None]
    appointed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(String(200))


class LoginCode(Base):
    """A one-time SMS code, stored as a keyed hash."""

    __tablename__ = "login_codes"
    __table_args__ = (Index("ix_login_codes_phone_created_at", "phone", "created_at"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    code_hash: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    consumed_at: Mapped[datetime | None]


class AuthFailure(Base):
    """A wrong SMS code or password for a phone. Too many in a window lock that phone out
    of that way of logging in; kept in PostgreSQL so every worker sees the same count."""

    __tablename__ = "auth_failures"
    __table_args__ = (
        CheckConstraint("method IN ('code', 'password')", name="method"),
        Index("ix_auth_failures_phone_method_at", "phone", "method", "failed_at"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    phone: Mapped[str] = mapped_column(String(11))
    method: Mapped[str] = mapped_column(String(10))
    failed_at: Mapped[datetime]


class RefreshToken(Base):
    """A refresh token (hash only). Each use rotates it within its family; presenting a
    rotated token again means it leaked, and the whole family is revoked."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(32))
