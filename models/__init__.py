"""SQLAlchemy models, one module per domain, one metadata (`Base.metadata`)."""

from models.base import Base
from models.grid import Hamlet, Household, HouseholdMembership, OrgUnit, Resident, VillageLevel
from models.identity import Appointment, LoginCode, RefreshToken, User

__all__ = [
    "Appointment",
    "Base",
    "Hamlet",
    "Household",
    "HouseholdMembership",
    "LoginCode",
    "OrgUnit",
    "RefreshToken",
    "Resident",
    "User",
    "VillageLevel",
]
