"""SQLAlchemy models, one module per domain, one metadata (`Base.metadata`)."""

from models.base import Base
from models.grid import Hamlet, Household, HouseholdMembership, OrgUnit, Resident, VillageLevel
from models.identity import Appointment, AuthFailure, LoginCode, RefreshToken, User
from models.rewards import (
    EarningRule,
    EarningRuleVersion,
    IdempotencyRecord,
    PointsAccount,
    PointsAward,
    PointsClaim,
    PointsEntry,
    PointsLot,
    PointsPolicy,
    PointsTransaction,
    RankingSnapshot,
    Redemption,
    RewardItem,
    StockMovement,
)

__all__ = [
    "Appointment",
    "AuthFailure",
    "Base",
    "EarningRule",
    "EarningRuleVersion",
    "Hamlet",
    "Household",
    "HouseholdMembership",
    "IdempotencyRecord",
    "LoginCode",
    "OrgUnit",
    "PointsAccount",
    "PointsAward",
    "PointsClaim",
    "PointsEntry",
    "PointsLot",
    "PointsPolicy",
    "PointsTransaction",
    "RankingSnapshot",
    "Redemption",
    "RefreshToken",
    "Resident",
    "RewardItem",
    "StockMovement",
    "User",
    "VillageLevel",
]
