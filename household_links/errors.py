import enum

from app.errors import DomainError


class LinkErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    NOT_A_PARTY_MEMBER = "NOT_A_PARTY_MEMBER"
    NOT_RESPONSIBLE = "NOT_RESPONSIBLE"
    CORRECTION_WINDOW_CLOSED = "CORRECTION_WINDOW_CLOSED"
    NOT_THE_AUTHOR = "NOT_THE_AUTHOR"
    ALREADY_SCORED = "ALREADY_SCORED"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"


class LinkError(DomainError):
    code: LinkErrorCode


def not_found(what: str = "记录", field: str | None = "id") -> LinkError:
    return LinkError(LinkErrorCode.NOT_FOUND, f"{what}不存在", field=field)


def invalid(message: str, field: str | None = None) -> LinkError:
    return LinkError(LinkErrorCode.INVALID_INPUT, message, field=field)
