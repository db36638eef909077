import enum

from app.errors import DomainError


class RequestErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CANNOT_ESCALATE = "CANNOT_ESCALATE"
    NO_HOUSEHOLD = "NO_HOUSEHOLD"


class RequestError(DomainError):
    code: RequestErrorCode


def not_found(field: str | None = "requestId", what: str = "诉求") -> RequestError:
    return RequestError(RequestErrorCode.NOT_FOUND, f"{what}不存在", field=field)


def invalid(message: str, field: str | None = None) -> RequestError:
    return RequestError(RequestErrorCode.INVALID_INPUT, message, field=field)
