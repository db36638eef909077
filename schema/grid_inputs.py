"""Inputs and payloads of the grid's mutations."""

from __future__ import annotations

import strawberry
from strawberry import relay

from schema.grid import (
    Appointment,
    Gender,
    GridError,
    Hamlet,
    Household,
    LivingStatus,
    OrgUnit,
    Relation,
    Resident,
    Role,
)


@strawberry.input
class VillageLevelInput:
    key: str = strawberry.field(description="A stable identifier, e.g. area, group, neighbourhood, grid.")
    name: str = strawberry.field(description="e.g. 片")
    chief_title: str = strawberry.field(description="e.g. 片长")


@strawberry.input
class CreateVillageInput:
    town_id: relay.GlobalID
    name: str
    code: str | None = None
    levels: list[VillageLevelInput] | None = strawberry.field(
        default=None, description="Defaults to 片 → 组 → 邻."
    )


@strawberry.input
class SetVillageLevelsInput:
    village_id: relay.GlobalID
    levels: list[VillageLevelInput]


@strawberry.input
class CreateOrgUnitInput:
    parent_id: relay.GlobalID = strawberry.field(description="A village or a unit; the new unit is one level below.")
    name: str
    code: str | None = None


@strawberry.input
class UpdateOrgUnitInput:
    id: relay.GlobalID
    name: str | None = None
    code: str | None = None


@strawberry.input
class CreateHamletInput:
    village_id: relay.GlobalID
    name: str
    has_party_group: bool = False
    has_council: bool = False


@strawberry.input
class CreateHouseholdInput:
    unit_id: relay.GlobalID = strawberry.field(description="A unit of the village's last level.")
    number: str
    address: str
    living_status: LivingStatus = LivingStatus.AT_HOME
    hamlet_id: relay.GlobalID | None = None


@strawberry.input
class UpdateHouseholdInput:
    id: relay.GlobalID
    number: str | None = None
    address: str | None = None
    living_status: LivingStatus | None = None
    hamlet_id: relay.GlobalID | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the household from its hamlet."
    )
    unit_id: relay.GlobalID | None = None


@strawberry.input
class CreateResidentInput:
    household_id: relay.GlobalID
    name: str
    gender: Gender
    relation: Relation
    phone: str | None = None
    id_number: str | None = None
    birth_year: int | None = None


@strawberry.input
class UpdateResidentInput:
    id: relay.GlobalID
    name: str | None = None
    gender: Gender | None = None
    phone: str | None = strawberry.field(default=None, description='"" clears the phone.')
    id_number: str | None = None
    birth_year: int | None = None


@strawberry.input
class MoveResidentInput:
    resident_id: relay.GlobalID
    household_id: relay.GlobalID
    relation: Relation
    reason: str = strawberry.field(description="e.g. 婚入, 分户")


@strawberry.input
class AppointInput:
    unit_id: relay.GlobalID
    role: Role
    resident_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Appoint a resident (most posts) …"
    )
    phone: str | None = strawberry.field(
        default=None, description="… or someone by phone (staff who are not residents here)."
    )
    display_name: str | None = None
    note: str | None = None


@strawberry.input
class EndAppointmentInput:
    id: relay.GlobalID


@strawberry.type
class OrgUnitPayload:
    org_unit: OrgUnit | None
    errors: list[GridError]


@strawberry.type
class HamletPayload:
    hamlet: Hamlet | None
    errors: list[GridError]


@strawberry.type
class HouseholdPayload:
    household: Household | None
    errors: list[GridError]


@strawberry.type
class ResidentPayload:
    resident: Resident | None
    errors: list[GridError]


@strawberry.type
class AppointmentPayload:
    appointment: Appointment | None
    errors: list[GridError]
