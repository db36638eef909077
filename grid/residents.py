"""Residents and their household memberships over time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from grid.errors import GridError, GridErrorCode, invalid
from grid.id_numbers import IdNumberVault, normalize_id_number
from grid.store import flush_unique
from identity.phones import normalize_phone
from identity.tokens import sign_out_everywhere
from models import Household, HouseholdMembership, LabourProfile, Resident, User
from models.grid import GENDERS, RELATIONS
from rewards.periods import CHINA


def _duplicate_id() -> GridError:  # a new error each time: a raised one collects its traceback
    return GridError(GridErrorCode.DUPLICATE, "该身份证号已登记", field="idNumber")


def _has_head() -> GridError:
    return GridError(GridErrorCode.HOUSEHOLD_HAS_HEAD, "该户已有户主", field="relation")


def clean_phone(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    phone = normalize_phone(raw)
    if phone is None:
        raise GridError(GridErrorCode.INVALID_PHONE, "请输入正确的11位手机号", field="phone")
    return phone


def clean_id_number(raw: str) -> str:
    number = normalize_id_number(raw)
    if number is None:
        raise GridError(GridErrorCode.INVALID_ID_NUMBER, "身份证号格式或校验位不正确", field="idNumber")
    return number


def _check_fields(name, gender, birth_year, relation) -> None:
    if name is not None and not (0 < len(name.strip()) <= 50):
        raise invalid("姓名不能为空且不超过50个字", field="name")
    if gender is not None and gender not in GENDERS:
        raise invalid("性别不正确", field="gender")
    if birth_year is not None and not 1900 <= birth_year <= datetime.now(CHINA).year:
        raise invalid("出生年份不正确", field="birthYear")
    if relation is not None and relation not in RELATIONS:
        raise invalid("与户主关系不正确", field="relation")


async def create_resident(
    session: AsyncSession,
    vault: IdNumberVault,
    household: Household,
    *,
    name: str,
    gender: str,
    relation: str,
    phone: str | None = None,
    id_number: str | None = None,
    birth_year: int | None = None,
) -> Resident:
    _check_fields(name, gender, birth_year, relation)
    resident = Resident(
        village_id=household.village_id, name=name.strip(), gender=gender,
        phone=clean_phone(phone), birth_year=birth_year,
    )
    if id_number:
        _seal(resident, vault, clean_id_number(id_number))
    session.add(resident)
    await flush_unique(session, _duplicate_id())
    session.add(
        HouseholdMembership(
            village_id=household.village_id, household_id=household.id,
            resident_id=resident.id, relation=relation,
        )
    )
    await flush_unique(session, _has_head())
    return resident


def _seal(resident: Resident, vault: IdNumberVault, number: str) -> None:
    sealed = vault.seal(number)
    resident.id_number_cipher = sealed.cipher
    resident.id_number_digest = sealed.digest
    resident.id_number_masked = sealed.masked


async def update_resident(
    session: AsyncSession,
    vault: IdNumberVault,
    resident: Resident,
    *,
    name: str | None = None,
    gender: str | None = None,
    phone: str | None = None,
    id_number: str | None = None,
    birth_year: int | None = None,
    now: datetime,
) -> Resident:
    """Change what is given; an empty phone clears it."""
    _check_fields(name, gender, birth_year, None)
    if name is not None:
        resident.name = name.strip()
    if gender is not None:
        resident.gender = gender
    if phone is not None:
        resident.phone = clean_phone(phone)
        await _move_login_phone(session, resident, now)
    if birth_year is not None:
        resident.birth_year = birth_year
    if id_number is not None:
        _seal(resident, vault, clean_id_number(id_number))
    await flush_unique(session, _duplicate_id())
    return resident


async def move_resident(
    session: AsyncSession,
    resident: Resident,
    current: HouseholdMembership | None,
    household: Household,
    relation: str,
    reason: str,
    now: datetime,
) -> HouseholdMembership:
    """Marriage, a household split, moving in with children: end the current membership
    and start one in `household` (possibly in another village)."""
    _check_fields(None, None, None, relation)
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise invalid("请填写变动原因（不超过200字）", field="reason")
    if current is not None:
        if current.household_id == household.id and current.relation == relation:
            raise invalid("该居民已在此户", field="householdId")
        # Guarded: of two moves of one resident at once, the second finds nothing to end.
        ended = await session.execute(
            update(HouseholdMembership)
            .where(HouseholdMembership.id == current.id, HouseholdMembership.valid_to.is_(None))
            .values(valid_to=now, end_reason=reason)
            .returning(HouseholdMembership.id)
        )
        if ended.first() is None:
            raise GridError(GridErrorCode.ALREADY_ENDED, "该居民的户籍刚被修改，请刷新后重试")
    resident.village_id = household.village_id
    # their labour profile is the new village's to see and count, as they are
    await session.execute(
        update(LabourProfile).where(LabourProfile.resident_id == resident.id).values(village_id=household.village_id)
    )
    membership = HouseholdMembership(
        village_id=household.village_id, household_id=household.id, resident_id=resident.id,
        relation=relation, valid_from=now,
    )
    session.add(membership)
    await flush_unique(session, _has_head())
    return membership


async def find_by_id_number(
    session: AsyncSession, vault: IdNumberVault, raw: str
) -> Resident | None:
    number = normalize_id_number(raw)
    if number is None:
        return None
    return await session.scalar(select(Resident).where(Resident.id_number_digest == vault.digest(number)))


def _phone_taken() -> GridError:
    return GridError(GridErrorCode.DUPLICATE, "该手机号已被其他账号使用", field="phone")


async def _move_login_phone(session: AsyncSession, resident: Resident, now: datetime) -> None:
    """The resident's login follows their phone (see `_move_phone`)."""
    user = await session.scalar(select(User).where(User.resident_id == resident.id))
    if user is not None and user.phone != resident.phone:
        await _move_phone(session, user, resident.phone, now)


async def _move_phone(session: AsyncSession, user: User, phone: str | None, now: datetime) -> None:
    """Log `user` in with `phone` from now on: the old number stops logging them in (numbers
    are given up and reassigned), their sessions end, and a WeChat bound while the old
    number was theirs is unbound (it may be whoever holds that number now)."""
    if phone is not None and await session.scalar(select(User.id).where(User.phone == phone, User.id != user.id)):
        raise _phone_taken()
    await sign_out_everywhere(session, user, now, "phone_changed", unbind_wechat=True)
    user.phone = phone  # flushed below, where a number taken meanwhile is DUPLICATE
    await flush_unique(session, _phone_taken())


async def move_login(session: AsyncSession, raw_old: str, raw_new: str, now: datetime) -> User:
    """An operator moves a login to a new number (and the resident record with it): for
    someone whose old number was given up, when no admin above them is there to do it
    (a former town admin's, say)."""
    old, new = clean_phone(raw_old), clean_phone(raw_new)
    if old is None or new is None:
        raise GridError(GridErrorCode.INVALID_PHONE, "请输入正确的11位手机号", field="phone")
    user = await session.scalar(select(User).where(User.phone == old))
    if user is None:
        raise GridError(GridErrorCode.NOT_FOUND, "该手机号没有账号", field="phone")
    if user.resident_id is not None:
        (await session.get(Resident, user.resident_id)).phone = new
    await _move_phone(session, user, new, now)
    return user
