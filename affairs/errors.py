import enum

from app.errors import DomainError
from app.errors import clean_text as _clean_text


class AffairsErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_STATE = "INVALID_STATE"
    TOO_EARLY = "TOO_EARLY"
    REOPEN_REQUIRED = "REOPEN_REQUIRED"  # revised, superseded by another read, or too old: open again
    ALREADY_READ = "ALREADY_READ"
    NOTHING_TO_PUBLISH = "NOTHING_TO_PUBLISH"
    ALREADY_ANSWERED = "ALREADY_ANSWERED"
    NO_HOUSEHOLD = "NO_HOUSEHOLD"


class AffairsError(DomainError):
    code: AffairsErrorCode


def not_found(what: str = "记录", field: str | None = "id") -> AffairsError:
    return AffairsError(AffairsErrorCode.NOT_FOUND, f"{what}不存在", field=field)


def invalid(message: str, field: str | None = None) -> AffairsError:
    return AffairsError(AffairsErrorCode.INVALID_INPUT, message, field=field)


def clean_text(value: str | None, field: str, limit: int, *, required: bool = True) -> str | None:
    return _clean_text(value, field, limit, required=required, invalid=invalid)
