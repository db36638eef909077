import enum

from app.errors import DomainError


class GridErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    DUPLICATE = "DUPLICATE"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_ID_NUMBER = "INVALID_ID_NUMBER"
    NO_DEEPER_LEVEL = "NO_DEEPER_LEVEL"
    NOT_A_LEAF_UNIT = "NOT_A_LEAF_UNIT"
    LEVEL_IN_USE = "LEVEL_IN_USE"
    HOUSEHOLD_HAS_HEAD = "HOUSEHOLD_HAS_HEAD"
    ROLE_NOT_ALLOWED_HERE = "ROLE_NOT_ALLOWED_HERE"
    ALREADY_ENDED = "ALREADY_ENDED"


class GridError(DomainError):
    code: GridErrorCode


def not_found(what: str = "记录", field: str | None = "id") -> GridError:
    return GridError(GridErrorCode.NOT_FOUND, f"{what}不存在", field=field)


def invalid(message: str, field: str | None = None) -> GridError:
    return GridError(GridErrorCode.INVALID_INPUT, message, field=field)
