"""Org units: towns, villages and the levels a village uses below it; hamlets."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from grid.errors import GridError, GridErrorCode, invalid
from grid.store import flush_unique
from models import Hamlet, Household, OrgUnit, VillageLevel


@dataclass(frozen=True)
class LevelSpec:
    key: str
    name: str
    chief_title: str


DEFAULT_LEVELS = (
    LevelSpec("area", "片", "片长"),
    LevelSpec("group", "组", "组长"),
    LevelSpec("neighbourhood", "邻", "邻长"),
)
MAX_LEVELS = 6


def _clean_name(name: str, field: str = "name", limit: int = 100) -> str:
    name = (name or "").strip()
    if not name or len(name) > limit:
        raise invalid(f"名称不能为空且不超过{limit}个字", field=field)
    return name


def _clean_code(code: str | None) -> str | None:
    code = (code or "").strip() or None
    if code is not None and len(code) > 32:
        raise invalid("编码不超过32个字符", field="code")
    return code


async def _next_unit_id(session: AsyncSession) -> int:
    return await session.scalar(select(func.nextval(text("pg_get_serial_sequence('org_units', 'id')"))))


async def _add_unit(session: AsyncSession, **values) -> OrgUnit:
    unit = OrgUnit(**values)
    session.add(unit)
    await flush_unique(
        session, GridError(GridErrorCode.DUPLICATE, "同一上级下已有同名单位", field="name")
    )
    return unit


async def create_town(session: AsyncSession, name: str, code: str | None = None) -> OrgUnit:
    unit_id = await _next_unit_id(session)
    return await _add_unit(
        session, id=unit_id, kind="town", name=_clean_name(name), code=_clean_code(code),
        path=f"/{unit_id}/",
    )


async def create_village(
    session: AsyncSession,
    town: OrgUnit,
    name: str,
    code: str | None = None,
    levels: tuple[LevelSpec, ...] | list[LevelSpec] = DEFAULT_LEVELS,
) -> OrgUnit:
    if town.kind != "town":
        raise invalid("村只能建在镇（乡、街道）下", field="townId")
    _check_levels(levels)
    unit_id = await _next_unit_id(session)
    village = await _add_unit(
        session, id=unit_id, kind="village", parent_id=town.id, village_id=unit_id,
        name=_clean_name(name), code=_clean_code(code), path=f"{town.path}{unit_id}/",
    )
    session.add_all(
        VillageLevel(village_id=village.id, level=i, key=s.key, name=s.name, chief_title=s.chief_title)
        for i, s in enumerate(_trimmed(levels), start=1)
    )
    await session.flush()
    return village


def _check_levels(levels) -> None:
    if not 1 <= len(levels) <= MAX_LEVELS:
        raise invalid(f"村下层级为1到{MAX_LEVELS}级", field="levels")
    keys = [s.key.strip() for s in levels]
    if len(set(keys)) != len(keys) or not all(keys) or any(len(k) > 32 for k in keys):
        raise invalid("层级标识不能为空、不能重复且不超过32个字符", field="levels")
    for s in levels:
        _clean_name(s.name, "levels", 20)
        _clean_name(s.chief_title, "levels", 20)


def _trimmed(levels) -> list[LevelSpec]:
    return [LevelSpec(s.key.strip(), s.name.strip(), s.chief_title.strip()) for s in levels]


async def set_village_levels(
    session: AsyncSession, village: OrgUnit, levels: list[LevelSpec]
) -> list[VillageLevel]:
    """Rename, add or drop levels. A level that units use cannot be dropped, and no level
    can be added below the one households hang on while any do."""
    _check_levels(levels)
    levels = _trimmed(levels)
    await session.execute(select(OrgUnit.id).where(OrgUnit.id == village.id).with_for_update(key_share=True))
    deepest_used = await session.scalar(
        select(func.max(OrgUnit.level)).where(OrgUnit.village_id == village.id)
    )
    if deepest_used and deepest_used > len(levels):
        raise GridError(
            GridErrorCode.LEVEL_IN_USE, f"已有第{deepest_used}级单位，不能删除该层级", field="levels"
        )
    current_leaf = await leaf_level(session, village.id)
    if len(levels) > current_leaf and await session.scalar(
        select(Household.id).where(Household.village_id == village.id).limit(1)
    ):
        raise GridError(
            GridErrorCode.LEVEL_IN_USE, "已有农户挂在最末一级，不能在其下再加层级", field="levels"
        )
    existing = {lv.level: lv for lv in await village_levels(session, village.id)}
    for lv in existing.values():  # two steps, so keys can be swapped between levels
        lv.key = f"~{lv.level}"
    await session.flush()
    for i, spec in enumerate(levels, start=1):
        level = existing.pop(i, None) or VillageLevel(village_id=village.id, level=i)
        level.key, level.name, level.chief_title = spec.key, spec.name, spec.chief_title
        session.add(level)
    for unused in existing.values():
        await session.delete(unused)
    await flush_unique(session, invalid("层级标识不能重复", field="levels"))
    return await village_levels(session, village.id)


async def village_levels(session: AsyncSession, village_id: int) -> list[VillageLevel]:
    return list(
        await session.scalars(
            select(VillageLevel).where(VillageLevel.village_id == village_id).order_by(VillageLevel.level)
        )
    )


async def leaf_level(session: AsyncSession, village_id: int) -> int:
    return await session.scalar(
        select(func.max(VillageLevel.level)).where(VillageLevel.village_id == village_id)
    )


async def create_unit(
    session: AsyncSession, parent: OrgUnit, name: str, code: str | None = None
) -> OrgUnit:
    """A unit one level below `parent` (a village or a unit) — e.g. a group under an area."""
    if parent.kind == "town":
        raise invalid("镇下请创建村", field="parentId")
    level = 1 if parent.kind == "village" else parent.level + 1
    if level > (await leaf_level(session, parent.village_id) or 0):
        raise GridError(
            GridErrorCode.NO_DEEPER_LEVEL, "本村没有更下一级的层级，请先配置层级", field="parentId"
        )
    unit_id = await _next_unit_id(session)
    return await _add_unit(
        session, id=unit_id, kind="unit", parent_id=parent.id, village_id=parent.village_id,
        level=level, name=_clean_name(name), code=_clean_code(code), path=f"{parent.path}{unit_id}/",
    )


async def update_unit(
    session: AsyncSession, unit: OrgUnit, name: str | None = None, code: str | None = None
) -> OrgUnit:
    if name is not None:
        unit.name = _clean_name(name)
    if code is not None:
        unit.code = _clean_code(code)
    await flush_unique(
        session, GridError(GridErrorCode.DUPLICATE, "同一上级下已有同名单位", field="name")
    )
    return unit


async def create_hamlet(
    session: AsyncSession,
    village: OrgUnit,
    name: str,
    has_party_group: bool = False,
    has_council: bool = False,
) -> Hamlet:
    if village.kind != "village":
        raise invalid("屋场属于村", field="villageId")
    hamlet = Hamlet(
        village_id=village.id, name=_clean_name(name), has_party_group=has_party_group,
        has_council=has_council,
    )
    session.add(hamlet)
    await flush_unique(session, GridError(GridErrorCode.DUPLICATE, "本村已有同名屋场", field="name"))
    return hamlet
