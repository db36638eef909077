"""The grid: one tree of org units (town → village → the levels a village uses), hamlets,
households on leaf units, residents and their household memberships over time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, one_of, updated_at_column

UNIT_KINDS = ("town", "village", "unit")
LIVING_STATUSES = ("at_home", "working_away")
GENDERS = ("male", "female")
RELATIONS = ("head", "spouse", "child", "child_in_law", "grandchild", "parent", "sibling", "other")


class OrgUnit(Base):
    """A node of the grid. `path` is the chain of ids from the town down ("/1/7/42/"), so a
    subtree is a range scan on its unique index; `level` is the village level (1 = area by default)."""

    __tablename__ = "org_units"
    __table_args__ = (
        CheckConstraint(one_of("kind", UNIT_KINDS), name="kind"),
        CheckConstraint(
            "(kind = 'town' AND village_id IS NULL AND level IS NULL)"
            " OR (kind = 'village' AND village_id = id AND level IS NULL AND parent_id IS NOT NULL)"
            " OR (kind = 'unit' AND village_id IS NOT NULL AND level >= 1 AND parent_id IS NOT NULL)",
            name="kind_shape",
        ),
        CheckConstraint("path ~ '^(/[0-9]+)+/$'", name="path_format"),
        UniqueConstraint("id", "village_id"),
        UniqueConstraint("parent_id", "name"),
        ForeignKeyConstraint(
            ["village_id", "level"], ["village_levels.village_id", "village_levels.level"],
            name="fk_org_units_level_village_levels", use_alter=True,
        ),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    village_id: Mapped[int | None] = mapped_column(
        ForeignKey("org_units.id"), index=True
    )
    level: Mapped[int | None] = mapped_column(SmallInteger)
    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(32))
    path: Mapped[str] = mapped_column(String(400, collation="C"), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class VillageLevel(Base):
    """The levels a village uses under itself, e.g. 1 片 (area), 2 组 (group), 3 邻 (neighbourhood)."""

    __tablename__ = "village_levels"
    __table_args__ = (
        CheckConstraint("level BETWEEN 1 AND 6", name="level_range"),
        UniqueConstraint("village_id", "key"),
    )

    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(20))
    chief_title: Mapped[str] = mapped_column(String(20))


class Hamlet(Base):
    """屋场: neighbouring households, possibly with a party group and a council."""

    __tablename__ = "hamlets"
    __table_args__ = (UniqueConstraint("village_id", "name"),)

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    has_party_group: Mapped[bool] = mapped_column(server_default=text("false"))
    has_council: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = created_at_column()


class Household(Base):
    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint(one_of("living_status", LIVING_STATUSES), name="living_status"),
        UniqueConstraint("village_id", "number"),
        UniqueConstraint("id", "village_id"),  # for records that must stay in the household's village
        # The unit must belong to the same village as the household.
        ForeignKeyConstraint(["unit_id", "village_id"], ["org_units.id", "org_units.village_id"]),
        Index("ix_households_village_id_id", "village_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    unit_id: Mapped[int] = mapped_column(index=True)
    hamlet_id: Mapped[int | None] = mapped_column(ForeignKey("hamlets.id"), index=True)
    number: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    living_status: Mapped[str] = mapped_column(String(16), server_default="at_home")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class Resident(Base):
    """A person of a village. The ID number is stored encrypted, with a keyed digest for
    exact lookups and uniqueness and a masked form for display; it is never stored plain."""

    __tablename__ = "residents"
    __table_args__ = (
        CheckConstraint(one_of("gender", GENDERS), name="gender"),
        CheckConstraint("birth_year BETWEEN 1900 AND 2100", name="birth_year"),
        CheckConstraint("phone ~ '^1[3-9][0-9]{9}$'", name="phone_format"),
        CheckConstraint(
            "(id_number_cipher IS NULL) = (id_number_digest IS NULL)"
            " AND (id_number_cipher IS NULL) = (id_number_masked IS NULL)",
            name="id_number_complete",
        ),
        Index("ix_residents_village_id_name", "village_id", "name"),
        Index("ix_residents_village_id_id", "village_id", "id"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(11), index=True)
    id_number_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    id_number_digest: Mapped[bytes | None] = mapped_column(LargeBinary, unique=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    gender: Mapped[str] = mapped_column(String(8))
    birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class HouseholdMembership(Base):
    """A resident's membership of a household over time: marriage and splits end one row and
    start another; at most one open membership per resident and one open head per household."""

    __tablename__ = "household_memberships"
    __table_args__ = (
        CheckConstraint(one_of("relation", RELATIONS), name="relation"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        Index(
            "uq_household_memberships_open_resident", "resident_id",
            unique=True, postgresql_where=text("valid_to IS NULL"),
        ),
        Index(
            "uq_household_memberships_open_head", "household_id",
            unique=True, postgresql_where=text("valid_to IS NULL AND relation = 'head'"),
        ),
        Index("ix_household_memberships_household_id", "household_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"))
    relation: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(server_default=text("now()"))
    valid_to: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(200))


class HouseholdLivingStatus(Base):
    """Whether a household lived at home or worked away, over time: monthly visit coverage
    asks what was true in that month, not what is true now. Only the end may be set."""

    __tablename__ = "household_living_statuses"
    __table_args__ = (
        CheckConstraint(one_of("living_status", LIVING_STATUSES), name="living_status"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        Index(
            "uq_household_living_statuses_open", "household_id",
            unique=True, postgresql_where=text("valid_to IS NULL"),
        ),
        Index("ix_household_living_statuses_household", "household_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"))
    living_status: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(server_default=text("now()"))
    valid_to: Mapped[datetime | None]


class HouseholdPlacement(Base):
    """Which leaf unit a household belonged to, over time: a chief answers for the
    households of their unit as it was then, not as it is after a move. Only the end may
    be set."""

    __tablename__ = "household_placements"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_period"),
        ForeignKeyConstraint(["household_id", "village_id"], ["households.id", "households.village_id"]),
        ForeignKeyConstraint(["unit_id", "village_id"], ["org_units.id", "org_units.village_id"]),
        Index("uq_household_placements_open", "household_id", unique=True, postgresql_where=text("valid_to IS NULL")),
        Index("ix_household_placements_household", "household_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    village_id: Mapped[int]
    household_id: Mapped[int]
    unit_id: Mapped[int]
    valid_from: Mapped[datetime]
    valid_to: Mapped[datetime | None]
