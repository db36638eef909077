import enum

from app.errors import DomainError


class RewardsErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INSUFFICIENT_POINTS = "INSUFFICIENT_POINTS"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    LIMIT_REACHED = "LIMIT_REACHED"
    ITEM_INACTIVE = "ITEM_INACTIVE"
    RULE_INACTIVE = "RULE_INACTIVE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    CAP_REACHED = "CAP_REACHED"
    BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"
    INVALID_STATE = "INVALID_STATE"
    POINTS_ALREADY_SPENT = "POINTS_ALREADY_SPENT"
    DUPLICATE = "DUPLICATE"
    NO_HOUSEHOLD = "NO_HOUSEHOLD"


class RewardsError(DomainError):
    code: RewardsErrorCode


def not_found(what: str = "记录", field: str | None = "id") -> RewardsError:
    return RewardsError(RewardsErrorCode.NOT_FOUND, f"{what}不存在", field=field)


def invalid(message: str, field: str | None = None) -> RewardsError:
    return RewardsError(RewardsErrorCode.INVALID_INPUT, message, field=field)
