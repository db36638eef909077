"""Appointments: roles held at org units for a period. Ending sets `valid_to` (the database
refuses any other change); a unit has one chief at a time, so appointing a new chief ends
the term of the one before in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import TryAgain
from grid.errors import GridError, GridErrorCode, invalid
from grid.store import flush_unique
from models import Appointment, OrgUnit, Resident, User, in_force
from models.identity import ROLES

# The kinds of unit each role is held at.
ROLE_UNIT_KINDS = {
    "town_admin": {"town"},
    "village_admin": {"village"},
    "store_clerk": {"village"},
    "chief": {"unit"},
    "party_member": {"village", "unit"},
    "grid_worker": {"village", "unit"},
    "information_officer": {"village", "unit"},
}


async def user_for_resident(session: AsyncSession, resident: Resident) -> User:
    """The resident's login; created on first appointment (a chief needs one to log in)."""
    user = await session.scalar(select(User).where(User.resident_id == resident.id))
    if user is not None:
        return user
    if resident.phone and await session.scalar(select(User.id).where(User.phone == resident.phone)):
        # someone else logs in with that number (staff appointed by phone, say): a login
        # without it would be one nobody can use
        raise GridError(GridErrorCode.DUPLICATE, "该居民的手机号已是另一个账号的登录号，请先核对手机号",
                        field="residentId")
    created = await session.execute(
        insert(User)
        .values(display_name=resident.name, resident_id=resident.id, phone=resident.phone)
        .on_conflict_do_nothing()
        .returning(User.id)
    )
    if created.first() is None:  # created by a concurrent request (or the phone was taken)
        raise TryAgain()
    return await session.scalar(select(User).where(User.resident_id == resident.id))


async def appoint(
    session: AsyncSession,
    unit: OrgUnit,
    user: User,
    role: str,
    *,
    appointed_by: int | None,
    now: datetime,
    note: str | None = None,
) -> Appointment:
    if role not in ROLES:
        raise invalid("角色不正确", field="role")
    if unit.kind not in ROLE_UNIT_KINDS[role]:
        raise GridError(GridErrorCode.ROLE_NOT_ALLOWED_HERE, "该角色不能在此级单位任命", field="role")
    if note is not None and len(note) > 200:
        raise invalid("备注不超过200字", field="note")
    if role == "chief":
        # Serialise chief changes per unit: two admins appointing at once both succeed, one
        # after the other, instead of colliding on the one-open-chief index.
        await session.execute(select(OrgUnit.id).where(OrgUnit.id == unit.id).with_for_update(key_share=True))
        current = await session.scalar(
            select(Appointment)
            .where(Appointment.unit_id == unit.id, Appointment.role == "chief", Appointment.valid_to.is_(None))
            .with_for_update(key_share=True)
        )
        if current is not None and current.user_id == user.id:  # not a new term: nothing changes
            raise GridError(GridErrorCode.DUPLICATE, "此人已在该单位担任此角色", field="role")
        if current is not None:
            # A concurrent appointment that started after this request (but won the lock
            # first) ends when it began: a term never ends before it starts.
            now = max(now, current.valid_from)
            current.valid_to = now
            current.ended_by_id = appointed_by
            await session.flush()
    appointment = Appointment(
        user_id=user.id, role=role, unit_id=unit.id, village_id=unit.village_id, valid_from=now,
        appointed_by_id=appointed_by, note=note,
    )
    session.add(appointment)
    await flush_unique(
        session, GridError(GridErrorCode.DUPLICATE, "此人已在该单位担任此角色", field="role")
    )
    return appointment


async def end_appointment(
    session: AsyncSession, appointment: Appointment, *, ended_by: int | None, now: datetime
) -> Appointment:
    ended = await session.execute(
        update(Appointment)
        .where(Appointment.id == appointment.id, Appointment.valid_to.is_(None))
        .values(valid_to=func.greatest(now, Appointment.valid_from), ended_by_id=ended_by)
        .returning(Appointment.id)
    )
    if ended.first() is None:  # ended before, or by a concurrent request just now
        raise GridError(GridErrorCode.ALREADY_ENDED, "该任职已结束", field="id")
    await session.refresh(appointment)
    return appointment


def held_at(at: datetime):
    """Appointments in force at `at`."""
    return in_force(Appointment, at)
