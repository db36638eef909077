"""Queries and mutations of the grid: thin adapters from GraphQL to `grid`."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay
from strawberry.types import Info

from app.errors import Forbidden
from grid import access, appointments, households, queries, residents, units
from grid.errors import GridError, GridErrorCode, invalid, not_found
from grid.store import flush_unique
from household_links import links
from identity.phones import normalize_phone
from identity.viewer import ADMIN_ROLES, GRID_ROLES, Viewer
from models import Appointment as AppointmentRow
from models import OrgUnit as OrgUnitRow
from models import Resident as ResidentRow
from models import User as UserRow
from resolvers.ids import db_id
from resolvers.payload_errors import converter
from resolvers.transaction import in_transaction
from schema.grid import Appointment, Hamlet, Household, OrgUnit, Resident
from schema.grid import GridError as GridErrorType
from schema.grid import GridErrorCode as GridErrorCodeEnum
from schema.grid_inputs import (
    AppointInput,
    AppointmentPayload,
    CreateHamletInput,
    CreateHouseholdInput,
    CreateOrgUnitInput,
    CreateResidentInput,
    CreateVillageInput,
    EndAppointmentInput,
    HamletPayload,
    HouseholdPayload,
    MoveResidentInput,
    OrgUnitPayload,
    ResidentPayload,
    SetVillageLevelsInput,
    UpdateHouseholdInput,
    UpdateOrgUnitInput,
    UpdateResidentInput,
)
from schema.relay import connection

errors = converter(GridErrorType, GridErrorCodeEnum)


# ---- queries -------------------------------------------------------------------------


async def org_unit(info: Info, id: relay.GlobalID) -> OrgUnit:
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        unit = await access.get_unit(session, viewer, db_id(id, "OrgUnit", "id"))
    return OrgUnit.from_row(unit)


async def org_units(
    info: Info, first: int | None = None, after: str | None = None
) -> relay.Connection[OrgUnit]:
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        page = await queries.top_units(session, viewer, first, after)
    return connection([OrgUnit.from_row(r[0]) for r in page.rows], page)


async def household(info: Info, id: relay.GlobalID) -> Household:
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        row, path = await access.get_household(session, viewer, db_id(id, "Household", "id"))
    return Household.from_row(row, path)


async def resident(info: Info, id: relay.GlobalID) -> Resident:
    viewer = await info.context.require_viewer()
    async with info.context.db() as session:
        row, membership, path = await access.get_resident(session, viewer, db_id(id, "Resident", "id"))
    return Resident.from_row(row, path, membership)


async def search_residents(
    info: Info,
    unit_id: relay.GlobalID,
    query: str | None = None,
    first: int | None = None,
    after: str | None = None,
) -> relay.Connection[Resident]:
    ctx = info.context
    viewer = await ctx.require_viewer()
    async with ctx.db() as session:
        unit = await access.get_unit(session, viewer, db_id(unit_id, "OrgUnit", "unitId"))
        if not viewer.may(ADMIN_ROLES, unit.path):
            raise Forbidden("只有管理员可以搜索居民")
        page = await queries.search_residents(
            session, viewer, ctx.services.vault, unit, query, first, after
        )
    return connection([Resident.from_row(r, path, m) for r, m, path, _ in page.rows], page)


# ---- mutations -----------------------------------------------------------------------


def _levels(specs) -> list[units.LevelSpec]:
    return [units.LevelSpec(s.key, s.name, s.chief_title) for s in specs]


async def create_village(info: Info, input: CreateVillageInput) -> OrgUnitPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        town = await access.get_unit(session, viewer, db_id(input.town_id, "OrgUnit", "townId"),
                                     manage=True, field="townId")
        levels = _levels(input.levels) if input.levels is not None else units.DEFAULT_LEVELS
        return await units.create_village(session, town, input.name, input.code, levels)

    village, errs = await in_transaction(info, action)
    return OrgUnitPayload(org_unit=village and OrgUnit.from_row(village), errors=errors(errs))


async def set_village_levels(info: Info, input: SetVillageLevelsInput) -> OrgUnitPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        village = await access.get_unit(
            session, viewer, db_id(input.village_id, "OrgUnit", "villageId"), manage=True,
            field="villageId",
        )
        if village.kind != "village":
            raise invalid("请选择一个村", field="villageId")
        await units.set_village_levels(session, village, _levels(input.levels))
        return village

    village, errs = await in_transaction(info, action)
    return OrgUnitPayload(org_unit=village and OrgUnit.from_row(village), errors=errors(errs))


async def create_org_unit(info: Info, input: CreateOrgUnitInput) -> OrgUnitPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        parent = await access.get_unit(
            session, viewer, db_id(input.parent_id, "OrgUnit", "parentId"), manage=True,
            field="parentId",
        )
        return await units.create_unit(session, parent, input.name, input.code)

    unit, errs = await in_transaction(info, action)
    return OrgUnitPayload(org_unit=unit and OrgUnit.from_row(unit), errors=errors(errs))


async def update_org_unit(info: Info, input: UpdateOrgUnitInput) -> OrgUnitPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        unit = await access.get_unit(session, viewer, db_id(input.id, "OrgUnit", "id"), manage=True)
        return await units.update_unit(session, unit, input.name, input.code)

    unit, errs = await in_transaction(info, action)
    return OrgUnitPayload(org_unit=unit and OrgUnit.from_row(unit), errors=errors(errs))


async def create_hamlet(info: Info, input: CreateHamletInput) -> HamletPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        village = await access.get_unit(
            session, viewer, db_id(input.village_id, "OrgUnit", "villageId"), manage=True,
            field="villageId",
        )
        return await units.create_hamlet(
            session, village, input.name, input.has_party_group, input.has_council
        )

    hamlet, errs = await in_transaction(info, action)
    return HamletPayload(hamlet=hamlet and Hamlet.from_row(hamlet), errors=errors(errs))


async def create_household(info: Info, input: CreateHouseholdInput) -> HouseholdPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        unit = await access.get_unit(
            session, viewer, db_id(input.unit_id, "OrgUnit", "unitId"), manage=True, field="unitId"
        )
        hamlet_id = db_id(input.hamlet_id, "Hamlet", "hamletId") if input.hamlet_id else None
        row = await households.create_household(
            session, unit, input.number, input.address, input.living_status.value, hamlet_id
        )
        return row, unit.path

    result, errs = await in_transaction(info, action)
    return HouseholdPayload(household=result and Household.from_row(*result), errors=errors(errs))


async def update_household(info: Info, input: UpdateHouseholdInput) -> HouseholdPayload:
    viewer = await info.context.require_viewer()

    async def action(session: AsyncSession):
        row, path = await access.get_household(
            session, viewer, db_id(input.id, "Household", "id"), manage=True
        )
        unit = None
        if input.unit_id is not None:
            unit = await access.get_unit(
                session, viewer, db_id(input.unit_id, "OrgUnit", "unitId"), manage=True,
                field="unitId",
            )
            path = unit.path
        clear_hamlet = input.hamlet_id is None
        hamlet_id = db_id(input.hamlet_id, "Hamlet", "hamletId") if input.hamlet_id else None
        row = await households.update_household(
            session, row, number=input.number, address=input.address,
            living_status=input.living_status.value if input.living_status else None,
            hamlet_id=hamlet_id, clear_hamlet=clear_hamlet, unit=unit, now=info.context.now(),
        )
        return row, path

    result, errs = await in_transaction(info, action)
    return HouseholdPayload(household=result and Household.from_row(*result), errors=errors(errs))


async def create_resident(info: Info, input: CreateResidentInput) -> ResidentPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row, path = await access.get_household(
            session, viewer, db_id(input.household_id, "Household", "householdId"), manage=True,
            field="householdId",
        )
        created = await residents.create_resident(
            session, ctx.services.vault, row, name=input.name, gender=input.gender.value,
            relation=input.relation.value, phone=input.phone, id_number=input.id_number,
            birth_year=input.birth_year,
        )
        return await access.get_resident(session, viewer, created.id)

    result, errs = await in_transaction(info, action)
    return _resident_payload(result, errs)


def _resident_payload(result, errs) -> ResidentPayload:
    if result is None:
        return ResidentPayload(resident=None, errors=errors(errs))
    row, membership, path = result
    return ResidentPayload(resident=Resident.from_row(row, path, membership), errors=[])


async def _current_posts(session: AsyncSession, user_id: int, *, admin_ever: bool = False) -> list[tuple[str, str]]:
    """(unit path, role) of the user's posts now; with `admin_ever`, also the admin posts
    they held before."""
    held = AppointmentRow.valid_to.is_(None)
    if admin_ever:
        held = or_(held, AppointmentRow.role.in_(ADMIN_ROLES))
    return (
        await session.execute(
            select(OrgUnitRow.path, AppointmentRow.role)
            .join(AppointmentRow, AppointmentRow.unit_id == OrgUnitRow.id)
            .where(AppointmentRow.user_id == user_id, held)
        )
    ).all()


async def _serves_beyond(session: AsyncSession, viewer: Viewer, user_id: int) -> bool:
    """Whether the user holds a post this admin does not manage: they are not this admin's
    to appoint by phone."""
    return not all(viewer.may(ADMIN_ROLES, path) for path, _ in await _current_posts(session, user_id))


async def _login_beyond(session: AsyncSession, viewer: Viewer, user_id: int) -> bool:
    """Whether the user's login (their phone) is not this admin's to move: they hold a
    post the admin does not manage (a town admin living in the village), or hold or held
    an admin post beside the admin's own (a fellow village admin: even once their post
    ended, moving their login would hand their account, and its history, to the mover)."""
    return not all(
        viewer.may(ADMIN_ROLES, path) and (role not in ADMIN_ROLES or _above(viewer, path))
        for path, role in await _current_posts(session, user_id, admin_ever=True)
    )


def _above(viewer: Viewer, path: str) -> bool:
    """An admin grant of the viewer's strictly above `path`."""
    return any(g.role in ADMIN_ROLES and g.unit_path != path and path.startswith(g.unit_path) for g in viewer.grants)


async def update_resident(info: Info, input: UpdateResidentInput) -> ResidentPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row, membership, path = await access.get_resident(
            session, viewer, db_id(input.id, "Resident", "id"), manage=True
        )
        if input.phone is not None and normalize_phone(input.phone) != row.phone:  # the login moves with it
            user_id = await session.scalar(select(UserRow.id).where(UserRow.resident_id == row.id))
            if user_id not in (None, viewer.user_id) and await _login_beyond(session, viewer, user_id):
                raise Forbidden("该居民在您的管辖范围之外任职或同为管理员，其手机号须由上级管理员修改")
        await residents.update_resident(
            session, ctx.services.vault, row, name=input.name,
            gender=input.gender.value if input.gender else None, phone=input.phone,
            id_number=input.id_number, birth_year=input.birth_year, now=ctx.now(),
        )
        return row, membership, path

    result, errs = await in_transaction(info, action)
    return _resident_payload(result, errs)


async def move_resident(info: Info, input: MoveResidentInput) -> ResidentPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row, membership, _ = await access.get_resident(
            session, viewer, db_id(input.resident_id, "Resident", "residentId"), manage=True,
            field="residentId",
        )
        target, path = await access.get_household(
            session, viewer, db_id(input.household_id, "Household", "householdId"), manage=True,
            field="householdId",
        )
        new = await residents.move_resident(
            session, row, membership, target, input.relation.value, input.reason, ctx.now()
        )
        return row, new, path

    result, errs = await in_transaction(info, action)
    return _resident_payload(result, errs)


async def appoint(info: Info, input: AppointInput) -> AppointmentPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        unit = await access.get_unit(
            session, viewer, db_id(input.unit_id, "OrgUnit", "unitId"), manage=True, field="unitId"
        )
        if input.resident_id is not None and (input.phone or input.display_name):
            raise invalid("按居民（residentId）或按手机号任命，二者选一", field="phone")
        if input.resident_id is not None:
            person, _, _ = await access.get_resident(
                session, viewer, db_id(input.resident_id, "Resident", "residentId"),
                field="residentId",
            )
            if person.village_id != unit.village_id and unit.kind != "town":
                raise not_found("居民", "residentId")
            user = await appointments.user_for_resident(session, person)
        else:
            user = await _staff_user(session, viewer, unit, input.phone, input.display_name)
        return await appointments.appoint(
            session, unit, user, input.role.value, appointed_by=viewer.user_id, now=ctx.now(),
            note=input.note,
        ), unit.path

    result, errs = await in_transaction(info, action)
    return AppointmentPayload(
        appointment=result and Appointment.from_row(*result), errors=errors(errs)
    )


async def _staff_user(
    session: AsyncSession, viewer, unit, raw_phone: str | None, display_name: str | None
):
    """Someone appointed by phone: staff who are not residents here (a store clerk from
    the town, say). A phone that belongs to a resident is appointed through the resident,
    and a user who serves elsewhere, beyond what this admin manages, reads as not found:
    an admin must not reach into another village through a phone number."""
    phone = normalize_phone(raw_phone or "")
    if phone is None:
        raise GridError(GridErrorCode.INVALID_PHONE, "请填写居民或正确的11位手机号", field="phone")
    user = await session.scalar(select(UserRow).where(UserRow.phone == phone))
    if user is not None:
        if user.resident_id is not None:
            raise not_found("用户", "phone")
        if await _serves_beyond(session, viewer, user.id):
            raise not_found("用户", "phone")
        return user
    if await session.scalar(select(ResidentRow.id).where(ResidentRow.phone == phone).limit(1)):
        raise invalid("该手机号属于居民，请按居民任命（residentId）", field="phone")
    name = (display_name or "").strip()
    if not name or len(name) > 50:
        raise invalid("新用户需要填写姓名（不超过50字）", field="displayName")
    user = UserRow(phone=phone, display_name=name)
    session.add(user)
    await flush_unique(session, GridError(GridErrorCode.DUPLICATE, "该手机号已有账号", field="phone"))
    return user


async def end_appointment(info: Info, input: EndAppointmentInput) -> AppointmentPayload:
    ctx = info.context
    viewer = await ctx.require_viewer()

    async def action(session: AsyncSession):
        row = await session.get(AppointmentRow, db_id(input.id, "Appointment", "id"))
        unit = row and await session.get(OrgUnitRow, row.unit_id)
        if unit is None or not (viewer.may(GRID_ROLES, unit.path) or row.user_id == viewer.user_id):
            raise not_found("任职")  # a post at a unit seen only by name reads as node(id:) reads it
        access.require_manage(viewer, unit.path)
        if row.role == "party_member" and row.village_id is not None:  # their household links go with it
            ended = await links.end_party_member_post(session, row, ended_by=viewer.user_id, now=ctx.now())
        else:
            ended = await appointments.end_appointment(session, row, ended_by=viewer.user_id, now=ctx.now())
        return ended, unit.path

    result, errs = await in_transaction(info, action)
    return AppointmentPayload(
        appointment=result and Appointment.from_row(*result), errors=errors(errs)
    )
