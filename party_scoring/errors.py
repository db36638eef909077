import enum

from app.errors import DomainError


class ScoringErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    PERIOD_NOT_OVER = "PERIOD_NOT_OVER"
    ALREADY_PUBLISHED = "ALREADY_PUBLISHED"
    NOT_A_NEIGHBOUR_CHIEF = "NOT_A_NEIGHBOUR_CHIEF"
    ALREADY_HONOURED = "ALREADY_HONOURED"


class ScoringError(DomainError):
    code: ScoringErrorCode


def invalid(message: str, field: str | None = None) -> ScoringError:
    return ScoringError(ScoringErrorCode.INVALID_INPUT, message, field=field)
