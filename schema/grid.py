"""GraphQL types of the grid: org units, levels, hamlets, households, residents, appointments."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Private, relay
from strawberry.types import Info

from app.errors import Forbidden
from app.pagination import Page, page_size
from grid import queries
from grid.access import can_see_household
from grid.errors import GridErrorCode as DomainGridErrorCode
from identity.phones import mask_phone
from identity.viewer import GRID_ROLES, ID_NUMBER_ROLES, PHONE_ROLES
from models import Appointment as AppointmentRow
from models import Hamlet as HamletRow
from models import Household as HouseholdRow
from models import HouseholdMembership as MembershipRow
from models import OrgUnit as OrgUnitRow
from models import Resident as ResidentRow
from models import User as UserRow
from models import VillageLevel as VillageLevelRow
from schema.relay import connection

if TYPE_CHECKING:
    from schema.rewards import HouseholdPoints


@strawberry.enum(description="What kind of node of the grid a unit is.")
class UnitKind(enum.Enum):
    TOWN = "town"
    VILLAGE = "village"
    UNIT = "unit"


@strawberry.enum(description="Whether a household lives at home or works away (外出务工).")
class LivingStatus(enum.Enum):
    AT_HOME = "at_home"
    WORKING_AWAY = "working_away"


@strawberry.enum
class Gender(enum.Enum):
    MALE = "male"
    FEMALE = "female"


@strawberry.enum(description="Relation to the head of household (与户主关系).")
class Relation(enum.Enum):
    HEAD = "head"
    SPOUSE = "spouse"
    CHILD = "child"
    CHILD_IN_LAW = "child_in_law"
    GRANDCHILD = "grandchild"
    PARENT = "parent"
    SIBLING = "sibling"
    OTHER = "other"


@strawberry.enum(description="A role held at an org unit. A chief's title comes from the unit's level.")
class Role(enum.Enum):
    PARTY_MEMBER = "party_member"
    CHIEF = "chief"
    GRID_WORKER = "grid_worker"
    INFORMATION_OFFICER = "information_officer"
    STORE_CLERK = "store_clerk"
    VILLAGE_ADMIN = "village_admin"
    TOWN_ADMIN = "town_admin"


ROLE_TITLES = {
    "party_member": "党员",
    "chief": "长",
    "grid_worker": "网格员",
    "information_officer": "信息员",
    "store_clerk": "积分超市店员",
    "village_admin": "村管理员",
    "town_admin": "镇管理员",
}

GridErrorCode = strawberry.enum(DomainGridErrorCode, name="GridErrorCode")


@strawberry.type
class GridError:
    code: GridErrorCode
    field: str | None
    message: str


@strawberry.type
class VillageLevel:
    level: int = strawberry.field(description="1 is the level right below the village.")
    key: str
    name: str = strawberry.field(description="e.g. 片, 组, 邻, 网格")
    chief_title: str = strawberry.field(description="e.g. 片长, 组长, 邻长, 网格长")

    @classmethod
    def from_row(cls, row: VillageLevelRow) -> VillageLevel:
        return cls(level=row.level, key=row.key, name=row.name, chief_title=row.chief_title)


@strawberry.type
class Hamlet(relay.Node):
    """屋场: neighbouring households, possibly with a party group and a council."""

    id: relay.NodeID[int]
    name: str
    has_party_group: bool
    has_council: bool

    @classmethod
    def from_row(cls, row: HamletRow) -> Hamlet:
        return cls(
            id=row.id, name=row.name, has_party_group=row.has_party_group, has_council=row.has_council
        )


@strawberry.type
class OrgUnit(relay.Node):
    """A node of the grid: a town, a village, or a unit of one of the village's levels."""

    id: relay.NodeID[int]
    kind: UnitKind
    name: str
    code: str | None
    parent_id: Private[int | None]
    village_id: Private[int | None]
    level_number: Private[int | None]
    row: Private[OrgUnitRow]

    @classmethod
    def from_row(cls, row: OrgUnitRow) -> OrgUnit:
        return cls(
            id=row.id, kind=UnitKind(row.kind), name=row.name, code=row.code,
            parent_id=row.parent_id, village_id=row.village_id, level_number=row.level, row=row,
        )

    @strawberry.field(description="The village level of this unit; null for towns and villages.")
    async def level(self, info: Info) -> VillageLevel | None:
        if self.level_number is None:
            return None
        levels = await info.context.loaders.levels.load(self.village_id)
        return next((VillageLevel.from_row(lv) for lv in levels if lv.level == self.level_number), None)

    @strawberry.field(description="The levels this unit's village uses below itself.")
    async def levels(self, info: Info) -> list[VillageLevel]:
        if self.village_id is None:
            return []
        return [VillageLevel.from_row(lv) for lv in await info.context.loaders.levels.load(self.village_id)]

    @strawberry.field
    async def parent(self, info: Info) -> OrgUnit | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.unit.load(self.parent_id)
        return OrgUnit.from_row(row) if row else None

    @strawberry.field(description="From the town down to this unit's parent, for breadcrumbs.")
    async def ancestors(self, info: Info) -> list[OrgUnit]:
        ids = [int(part) for part in self.row.path.strip("/").split("/")[:-1]]
        rows = await info.context.loaders.unit.load_many(ids)
        return [OrgUnit.from_row(r) for r in rows if r is not None]

    @strawberry.field(description="The units one level below, that the viewer may see.")
    async def children(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[OrgUnit]:
        ctx = info.context
        if after is None:  # the usual nested case: batched across sibling units
            page = await ctx.loaders.child_page.load((self.id, page_size(first)))
        else:
            async with ctx.db() as session:
                page = await queries.child_units(session, ctx.loaded_viewer, self.row, first, after)
        return connection([OrgUnit.from_row(r[0]) for r in page.rows], page)

    @strawberry.field(description="Households anywhere below this unit, that the viewer may see.")
    async def households(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        living_status: LivingStatus | None = None,
    ) -> relay.Connection[Household]:
        ctx = info.context
        async with ctx.db() as session:
            page = await queries.households_under(
                session, ctx.loaded_viewer, self.row, first, after,
                living_status.value if living_status else None,
            )
        return connection([Household.from_row(h, path) for h, path, _ in page.rows], page)

    @strawberry.field(description="The chief of this unit now (片长/组长/邻长…), if any.")
    async def chief(self, info: Info) -> Appointment | None:
        if self.kind is not UnitKind.UNIT:
            return None
        row = await info.context.loaders.chief.load(self.id)
        return Appointment.from_row(row, self.row.path) if row else None

    @strawberry.field(
        description="Who holds posts here: now by default, at a past moment with `at`, "
        "or every term ever with `includeEnded`. Latest first. Staff over the unit only "
        "(residents see the `chief`)."
    )
    async def appointments(
        self,
        info: Info,
        role: Role | None = None,
        at: datetime | None = None,
        include_ended: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> relay.Connection[Appointment]:
        ctx = info.context
        if not ctx.loaded_viewer.may(GRID_ROLES, self.row.path):
            raise Forbidden("只有本单位的工作人员可以查看任职名单")
        async with ctx.db() as session:
            page = await queries.appointments_at_unit(
                session, self.row, first, after, role=role.value if role else None, at=at,
                include_ended=include_ended, now=ctx.now(),
            )
        return connection([Appointment.from_row(r[0], self.row.path) for r in page.rows], page)

    @strawberry.field(description="The village's hamlets (屋场); empty below a village.")
    async def hamlets(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> relay.Connection[Hamlet]:
        if self.kind is not UnitKind.VILLAGE:
            return connection([], Page([], [], False))
        async with info.context.db() as session:
            page = await queries.hamlets_of(session, self.row, first, after)
        return connection([Hamlet.from_row(r[0]) for r in page.rows], page)


@strawberry.type
class Household(relay.Node):
    id: relay.NodeID[int]
    number: str = strawberry.field(description="户号, unique in the village")
    address: str
    living_status: LivingStatus
    unit_id: Private[int]
    hamlet_id: Private[int | None]
    unit_path: Private[str]

    @classmethod
    def from_row(cls, row: HouseholdRow, unit_path: str) -> Household:
        return cls(
            id=row.id, number=row.number, address=row.address,
            living_status=LivingStatus(row.living_status), unit_id=row.unit_id,
            hamlet_id=row.hamlet_id, unit_path=unit_path,
        )

    @classmethod
    async def load(cls, info: Info, household_id: int) -> Household:
        """A household another record points to, through the request's loader."""
        return cls.from_row(*await info.context.loaders.household.load(household_id))

    @strawberry.field
    async def unit(self, info: Info) -> OrgUnit:
        return OrgUnit.from_row(await info.context.loaders.unit.load(self.unit_id))

    @strawberry.field
    async def hamlet(self, info: Info) -> Hamlet | None:
        if self.hamlet_id is None:
            return None
        return Hamlet.from_row(await info.context.loaders.hamlet.load(self.hamlet_id))

    @strawberry.field(
        description="The household's points (积分); points accrue to the household. Null where the "
        "household is reached through another record by someone who may not see it (a store clerk)."
    )
    async def points(
        self, info: Info
    ) -> Annotated[HouseholdPoints, strawberry.lazy("schema.rewards")] | None:
        from schema.rewards import HouseholdPoints

        if not self._visible(info):
            return None
        return await HouseholdPoints.of_household(info, self.id)

    def _visible(self, info: Info) -> bool:
        """A household reached through another record (a store clerk's redemption, a past
        month's missed contact that has since moved) shows its number and address; its
        points and members need the right to see it. Null, not an error: an error here
        would empty the whole list the household came in."""
        return can_see_household(info.context.loaded_viewer, self.id, self.unit_path)

    @strawberry.field(
        description="Current members, head of household first. Null where the household is reached "
        "through another record by someone who may not see it."
    )
    async def members(self, info: Info) -> list[HouseholdMember] | None:
        if not self._visible(info):
            return None
        rows = await info.context.loaders.members.load(self.id)
        return [
            HouseholdMember.from_row(m, Resident.from_row(r, self.unit_path, m)) for m, r in rows
        ]


@strawberry.type
class HouseholdMember:
    """A resident's membership of a household for a period (marriage, splits, moves)."""

    relation: Relation
    valid_from: datetime
    valid_to: datetime | None
    end_reason: str | None
    household_id: Private[int]
    member: Private[Resident]

    @classmethod
    def from_row(cls, row: MembershipRow, resident: Resident) -> HouseholdMember:
        return cls(
            relation=Relation(row.relation), valid_from=row.valid_from, valid_to=row.valid_to,
            end_reason=row.end_reason, household_id=row.household_id, member=resident,
        )

    @strawberry.field
    def resident(self) -> Resident:
        return self.member

    @strawberry.field(description="Null when the viewer may no longer see that household.")
    async def household(self, info: Info) -> Household | None:
        found = await info.context.loaders.household.load(self.household_id)
        if found is None:
            return None
        row, path = found
        if not can_see_household(info.context.loaded_viewer, row.id, path):
            return None
        return Household.from_row(row, path)


@strawberry.type
class Resident(relay.Node):
    """A person of a village. Phone and ID number are masked unless the viewer's role needs them."""

    id: relay.NodeID[int]
    name: str
    gender: Gender
    birth_year: int | None
    access_path: Private[str]
    membership: Private[MembershipRow | None]
    raw_phone: Private[str | None]
    id_number_masked: Private[str | None]
    id_number_cipher: Private[bytes | None]

    @classmethod
    def from_row(
        cls, row: ResidentRow, access_path: str, membership: MembershipRow | None
    ) -> Resident:
        return cls(
            id=row.id, name=row.name, gender=Gender(row.gender), birth_year=row.birth_year,
            access_path=access_path, membership=membership, raw_phone=row.phone,
            id_number_masked=row.id_number_masked, id_number_cipher=row.id_number_cipher,
        )

    @strawberry.field(description="Masked (138****8000) unless the viewer's role needs it.")
    def phone(self, info: Info) -> str | None:
        viewer = info.context.loaded_viewer
        if self.raw_phone is None or self.id == viewer.resident_id:
            return self.raw_phone
        return self.raw_phone if viewer.may(PHONE_ROLES, self.access_path) else mask_phone(self.raw_phone)

    @strawberry.field(description="Masked (430***********1234) unless the viewer is an admin over it.")
    def id_number(self, info: Info) -> str | None:
        if self.id_number_cipher is None:
            return None
        if info.context.loaded_viewer.may(ID_NUMBER_ROLES, self.access_path):
            return info.context.services.vault.open(self.id_number_cipher)
        return self.id_number_masked

    @strawberry.field(description="Relation to the head of the current household.")
    def relation(self) -> Relation | None:
        return Relation(self.membership.relation) if self.membership else None

    @strawberry.field
    async def household(self, info: Info) -> Household | None:
        if self.membership is None:
            return None
        found = await info.context.loaders.household.load(self.membership.household_id)
        return Household.from_row(*found) if found else None

    @strawberry.field(description="Every household membership, current first.")
    async def memberships(self, info: Info) -> list[HouseholdMember]:
        rows = await info.context.loaders.memberships.load(self.id)
        return [HouseholdMember.from_row(m, self) for m in rows]


@strawberry.type
class User(relay.Node):
    """Someone who can log in. The phone is masked unless it is the viewer's own or the
    viewer administers where this user serves."""

    id: relay.NodeID[int]
    display_name: str
    raw_phone: Private[str | None]
    access_path: Private[str | None]

    @classmethod
    def from_row(cls, row: UserRow, access_path: str | None) -> User:
        return cls(id=row.id, display_name=row.display_name, raw_phone=row.phone, access_path=access_path)

    @classmethod
    async def load(cls, info: Info, user_id: int, access_path: str | None) -> User:
        """A user another record points to, through the request's loader."""
        return cls.from_row(await info.context.loaders.user.load(user_id), access_path)

    @strawberry.field
    def phone(self, info: Info) -> str | None:
        viewer = info.context.loaded_viewer
        if self.raw_phone is None or self.id == viewer.user_id:
            return self.raw_phone
        if self.access_path is not None and viewer.may(PHONE_ROLES, self.access_path):
            return self.raw_phone
        return mask_phone(self.raw_phone)


@strawberry.type
class Appointment(relay.Node):
    """A role held at a unit for a period: who held which post when."""

    id: relay.NodeID[int]
    role: Role
    valid_from: datetime
    valid_to: datetime | None
    raw_note: Private[str | None]
    unit_id: Private[int]
    user_id: Private[int]
    unit_path: Private[str]

    @classmethod
    def from_row(cls, row: AppointmentRow, unit_path: str) -> Appointment:
        return cls(
            id=row.id, role=Role(row.role), valid_from=row.valid_from, valid_to=row.valid_to,
            raw_note=row.note, unit_id=row.unit_id, user_id=row.user_id, unit_path=unit_path,
        )

    @strawberry.field(description="The appointing admin's note: for staff over the unit, and the appointee.")
    def note(self, info: Info) -> str | None:
        viewer = info.context.loaded_viewer
        return self.raw_note if viewer.user_id == self.user_id or viewer.may(GRID_ROLES, self.unit_path) else None

    @strawberry.field(description="In force now.")
    def active(self, info: Info) -> bool:
        now = info.context.now()
        return self.valid_from <= now and (self.valid_to is None or self.valid_to > now)

    @strawberry.field(description="The post's name: 邻长 for a chief of a 邻, 村管理员, …")
    async def title(self, info: Info) -> str:
        if self.role is not Role.CHIEF:
            return ROLE_TITLES[self.role.value]
        unit = await info.context.loaders.unit.load(self.unit_id)
        levels = await info.context.loaders.levels.load(unit.village_id)
        return next((lv.chief_title for lv in levels if lv.level == unit.level), "长")

    @strawberry.field
    async def unit(self, info: Info) -> OrgUnit:
        return OrgUnit.from_row(await info.context.loaders.unit.load(self.unit_id))

    @strawberry.field
    async def user(self, info: Info) -> User:
        return await User.load(info, self.user_id, self.unit_path)

