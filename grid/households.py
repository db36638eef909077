"""Households: on a leaf unit of their village, with an address and whether they live at
home or work away."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from grid.errors import GridError, GridErrorCode, invalid, not_found
from grid.store import flush_unique
from grid.units import leaf_level
from models import Hamlet, Household, HouseholdLivingStatus, HouseholdPlacement, OrgUnit, in_force
from models.grid import LIVING_STATUSES


def _duplicate_number() -> GridError:  # a new error each time: a raised one collects its traceback
    return GridError(GridErrorCode.DUPLICATE, "本村已有该户号", field="number")


async def _require_leaf(session: AsyncSession, unit: OrgUnit, field: str = "unitId") -> None:
    # the village's levels hold still until the household is placed (a level added below
    # the leaf meanwhile would leave it above the last level); `set_village_levels` waits too
    await session.execute(select(OrgUnit.id).where(OrgUnit.id == unit.village_id).with_for_update(read=True))
    if unit.kind != "unit" or unit.level != await leaf_level(session, unit.village_id):
        raise GridError(
            GridErrorCode.NOT_A_LEAF_UNIT, "户只能挂在本村最末一级（如邻）下", field=field
        )


async def _require_hamlet(session: AsyncSession, village_id: int, hamlet_id: int | None) -> None:
    if hamlet_id is None:
        return
    hamlet = await session.get(Hamlet, hamlet_id)
    if hamlet is None or hamlet.village_id != village_id:
        raise not_found("屋场", "hamletId")


def _clean(number: str | None = None, address: str | None = None, living_status: str | None = None):
    if number is not None:
        number = number.strip()
        if not number or len(number) > 32:
            raise invalid("户号不能为空且不超过32个字符", field="number")
    if address is not None:
        address = address.strip()
        if not address or len(address) > 200:
            raise invalid("地址不能为空且不超过200个字", field="address")
    if living_status is not None and living_status not in LIVING_STATUSES:
        raise invalid("居住状态不正确", field="livingStatus")
    return number, address, living_status


async def create_household(
    session: AsyncSession,
    unit: OrgUnit,
    number: str,
    address: str,
    living_status: str = "at_home",
    hamlet_id: int | None = None,
    registered_at: datetime | None = None,
) -> Household:
    """`registered_at` backdates a household entered from an older register (the database
    clock otherwise): monthly coverage only asks contacts of households that existed."""
    number, address, living_status = _clean(number, address, living_status)
    await _require_leaf(session, unit)
    await _require_hamlet(session, unit.village_id, hamlet_id)
    since = registered_at or func.now()
    household = Household(
        village_id=unit.village_id, unit_id=unit.id, hamlet_id=hamlet_id, number=number,
        address=address, living_status=living_status, created_at=since,
    )
    session.add(household)
    await flush_unique(session, _duplicate_number())
    session.add(HouseholdLivingStatus(
        village_id=household.village_id, household_id=household.id, living_status=living_status,
        valid_from=since,
    ))
    session.add(HouseholdPlacement(
        village_id=household.village_id, household_id=household.id, unit_id=unit.id, valid_from=since,
    ))
    await session.flush()
    return household


async def update_household(
    session: AsyncSession,
    household: Household,
    *,
    number: str | None = None,
    address: str | None = None,
    living_status: str | None = None,
    hamlet_id: int | None = None,
    clear_hamlet: bool = False,
    unit: OrgUnit | None = None,
    now: datetime | None = None,
) -> Household:
    """`now` dates a change of living status (the database clock if not given)."""
    number, address, living_status = _clean(number, address, living_status)
    # held and re-read: a change committed meanwhile is compared against, not overwritten
    household = await session.scalar(
        select(Household).where(Household.id == household.id).with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if unit is not None:
        if unit.village_id != household.village_id:
            raise not_found("单位", "unitId")
        await _require_leaf(session, unit)
        if unit.id != household.unit_id:
            await _next_period(session, HouseholdPlacement, household, now, unit_id=unit.id)
        household.unit_id = unit.id
    if hamlet_id is not None:
        await _require_hamlet(session, household.village_id, hamlet_id)
        household.hamlet_id = hamlet_id
    elif clear_hamlet:
        household.hamlet_id = None
    if living_status is not None and living_status != household.living_status:
        await _next_period(session, HouseholdLivingStatus, household, now, living_status=living_status)
        household.living_status = living_status
    # last, so that the one flush that can meet a taken number is the guarded one
    if number is not None:
        household.number = number
    if address is not None:
        household.address = address
    await flush_unique(session, _duplicate_number())
    return household


async def _next_period(session: AsyncSession, model, household: Household, now: datetime | None, **values) -> None:
    """End the household's current period of `model` (living status, placement) and start
    another with `values`. The household row keeps the current value for quick reads; the
    periods are the history."""
    at = now or func.now()
    await session.execute(
        update(model).where(model.household_id == household.id, model.valid_to.is_(None)).values(valid_to=at)
    )
    session.add(model(village_id=household.village_id, household_id=household.id, valid_from=at, **values))
    await session.flush()


async def living_status_at(session: AsyncSession, household_id: int, at) -> str | None:
    """What the household was at `at` (at home or working away)."""
    return await session.scalar(
        select(HouseholdLivingStatus.living_status).where(
            HouseholdLivingStatus.household_id == household_id, in_force(HouseholdLivingStatus, at),
        )
    )
