"""Links between party members and households, as history: linking a household to another
member ends the link before in the same transaction; a link is never edited otherwise.
Households are locked in id order first, so two admins moving the same household queue."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from grid import appointments
from grid.access import household_and_path
from grid.appointments import held_at
from household_links.errors import LinkError, LinkErrorCode, invalid
from household_links.visibility import serving_villages
from identity.viewer import Viewer, subtree
from models import Appointment, Household, HouseholdLink, OrgUnit, User, in_force

MAX_BULK = 2000


async def party_member(session: AsyncSession, village: OrgUnit, user_id: int, now: datetime) -> User:
    """The user, if they serve as a party member in the village now.

    The post is locked (FOR SHARE) until the caller commits, so that it cannot end in
    between: an ending that comes first makes this refuse (the post re-read under the lock
    is no longer open); one that comes later waits, then ends the links made here."""
    user = await session.scalar(
        select(User)
        .join(Appointment, Appointment.user_id == User.id)
        .join(OrgUnit, OrgUnit.id == Appointment.unit_id)
        .where(
            User.id == user_id, Appointment.role == "party_member", Appointment.valid_from <= now,
            Appointment.valid_to.is_(None), OrgUnit.village_id == village.id,
        )
        .limit(1)
        .with_for_update(read=True, of=Appointment)
    )
    if user is None:
        raise LinkError(LinkErrorCode.NOT_A_PARTY_MEMBER, "该用户不是本村在册党员", field="memberId")
    return user


async def households_under(session: AsyncSession, unit: OrgUnit) -> list[Household]:
    """Every household of a unit's subtree (a neighbourhood, a group, the whole village)."""
    rows = (
        await session.scalars(
            select(Household)
            .join(OrgUnit, OrgUnit.id == Household.unit_id)
            .where(Household.village_id == unit.village_id, subtree(OrgUnit.path, unit.path))
            .order_by(Household.id)
            .limit(MAX_BULK + 1)
        )
    ).all()
    if len(rows) > MAX_BULK:
        raise invalid(f"一次最多联系{MAX_BULK}户，请按组或邻分批", "unitId")
    return list(rows)


async def _lock(session: AsyncSession, household_ids: Sequence[int]) -> None:
    await session.execute(
        select(Household.id).where(Household.id.in_(household_ids)).order_by(Household.id).with_for_update(key_share=True)
    )


async def _effective_now(session: AsyncSession, household_ids: Sequence[int], now: datetime) -> datetime:
    """`now`, or the latest moment a link of these households began or ended if that is
    later: the request's clock was read before the households were locked, and another
    admin's link or unlink may have committed in between (or come from a server whose
    clock runs a little ahead). No period may start before the last one ends."""
    latest = await session.scalar(
        select(func.max(func.greatest(HouseholdLink.valid_from, HouseholdLink.valid_to)))
        .where(HouseholdLink.household_id.in_(household_ids))
    )
    return max(now, latest) if latest is not None else now


async def _end_open_links(
    session: AsyncSession, household_ids: Sequence[int], *, keep_member: int | None, ended_by: int,
    reason: str, now: datetime,
) -> None:
    stmt = (
        update(HouseholdLink)
        .where(HouseholdLink.household_id.in_(household_ids), HouseholdLink.valid_to.is_(None))
        .values(valid_to=now, ended_by_id=ended_by, end_reason=reason)
    )
    if keep_member is not None:
        stmt = stmt.where(HouseholdLink.member_user_id != keep_member)
    await session.execute(stmt)


async def link(
    session: AsyncSession, households: Sequence[Household], member: User, *, linked_by: int,
    now: datetime, reason: str | None = None,
) -> list[HouseholdLink]:
    """Make `member` responsible for `households` from `now`. Households already theirs keep
    their link; households of another member move (that link ends). Returns the open links."""
    if not households:
        raise invalid("请选择要联系的农户", "householdIds")
    if len(households) > MAX_BULK:
        raise invalid(f"一次最多联系{MAX_BULK}户", "householdIds")
    if len({h.village_id for h in households}) != 1:
        raise invalid("一次只能在一个村内联户", "householdIds")
    ids = sorted({h.id for h in households})
    await _lock(session, ids)
    now = await _effective_now(session, ids, now)
    await _end_open_links(
        session, ids, keep_member=member.id, ended_by=linked_by,
        reason=reason or f"改由{member.display_name}联系", now=now,
    )
    already = set(
        (
            await session.scalars(
                select(HouseholdLink.household_id).where(
                    HouseholdLink.household_id.in_(ids), HouseholdLink.valid_to.is_(None)
                )
            )
        ).all()
    )
    village_id = households[0].village_id
    session.add_all(
        HouseholdLink(
            village_id=village_id, household_id=household_id, member_user_id=member.id,
            valid_from=now, linked_by_id=linked_by,
        )
        for household_id in ids
        if household_id not in already
    )
    await session.flush()
    return await open_links(session, ids)


async def unlink(
    session: AsyncSession, households: Sequence[Household], *, ended_by: int, reason: str, now: datetime
) -> int:
    """End the open links of `households`; returns how many ended."""
    ids = sorted({h.id for h in households})
    if not ids:
        raise invalid("请选择农户", "householdIds")
    await _lock(session, ids)
    now = await _effective_now(session, ids, now)
    before = len(await open_links(session, ids))
    await _end_open_links(session, ids, keep_member=None, ended_by=ended_by, reason=reason, now=now)
    return before


async def end_party_member_post(
    session: AsyncSession, post: Appointment, *, ended_by: int, now: datetime
) -> Appointment:
    """End a party member's post in a village; if it was their last there, their links
    there end too. All their posts in the village are locked first, in id order: two of
    them ending at once would otherwise each see the other still open and end no link."""
    await session.execute(
        select(Appointment.id).where(
            Appointment.user_id == post.user_id, Appointment.role == "party_member",
            Appointment.village_id == post.village_id,
        ).order_by(Appointment.id).with_for_update(key_share=True)
    )
    ended = await appointments.end_appointment(session, post, ended_by=ended_by, now=now)
    await end_links_of_departed_member(session, ended.user_id, ended.village_id, ended_by=ended_by, now=ended.valid_to)
    return ended


async def end_links_of_departed_member(
    session: AsyncSession, member_user_id: int, village_id: int, *, ended_by: int, now: datetime
) -> int:
    """A party member whose post in a village ended answers for none of its households any
    more: their open links there end too, so that every view (the links, the lists, the
    coverage) shows those households as unlinked until someone else takes them on. Nothing
    ends while another party-member post of theirs in the village still holds. Returns how
    many links ended."""
    still_serving = await session.scalar(
        select(Appointment.id).where(
            Appointment.user_id == member_user_id, Appointment.role == "party_member",
            Appointment.village_id == village_id, held_at(now),
        ).limit(1)
    )
    if still_serving is not None:
        return 0
    theirs = (
        HouseholdLink.member_user_id == member_user_id, HouseholdLink.village_id == village_id,
        HouseholdLink.valid_to.is_(None),
    )
    ids = sorted((await session.scalars(select(HouseholdLink.household_id).where(*theirs))).all())
    if not ids:
        return 0
    await _lock(session, ids)
    now = await _effective_now(session, ids, now)
    ended = await session.execute(
        update(HouseholdLink).where(*theirs).values(valid_to=now, ended_by_id=ended_by, end_reason="党员任职结束")
    )
    return ended.rowcount


async def open_links(session: AsyncSession, household_ids: Sequence[int]) -> list[HouseholdLink]:
    return list(
        (
            await session.scalars(
                select(HouseholdLink)
                .where(HouseholdLink.household_id.in_(household_ids), HouseholdLink.valid_to.is_(None))
                .order_by(HouseholdLink.household_id)
            )
        ).all()
    )


async def history(session: AsyncSession, household_id: int, at: datetime | None = None) -> list[HouseholdLink]:
    """A household's links, newest first; with `at`, only the one in force then
    ("who was responsible for this household in March?")."""
    stmt = select(HouseholdLink).where(HouseholdLink.household_id == household_id)
    if at is not None:
        stmt = stmt.where(in_force(HouseholdLink, at))
    return list((await session.scalars(stmt.order_by(HouseholdLink.valid_from.desc(), HouseholdLink.id.desc()))).all())


async def is_linked_member(session: AsyncSession, household_id: int, viewer: Viewer) -> bool:
    """Is the viewer the household's linked member now, serving in its village?"""
    return bool(
        await session.scalar(
            select(HouseholdLink.id).where(
                HouseholdLink.household_id == household_id, HouseholdLink.member_user_id == viewer.user_id,
                HouseholdLink.valid_to.is_(None), HouseholdLink.village_id.in_(serving_villages(viewer)),
            )
        )
    )


async def linked_household(session: AsyncSession, viewer: Viewer, household_id: int) -> tuple[Household, str] | None:
    """The household and its unit path, if the viewer is its linked member: a member may
    be linked to households outside the unit where they hold their post."""
    if not await is_linked_member(session, household_id, viewer):
        return None
    return await household_and_path(session, household_id)
