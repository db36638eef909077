import enum

from app.errors import DomainError, clean_text


class JobsErrorCode(enum.Enum):
    NOT_FOUND = "NOT_FOUND"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    POSTING_NOT_OPEN = "POSTING_NOT_OPEN"
    ALREADY_APPLIED = "ALREADY_APPLIED"
    NO_HOUSEHOLD = "NO_HOUSEHOLD"


class JobsError(DomainError):
    code: JobsErrorCode


def not_found(what: str = "记录", field: str | None = "id") -> JobsError:
    return JobsError(JobsErrorCode.NOT_FOUND, f"{what}不存在", field=field)


def invalid(message: str, field: str | None = None) -> JobsError:
    return JobsError(JobsErrorCode.INVALID_INPUT, message, field=field)


def text(value: str | None, field: str, limit: int, required: bool = True) -> str | None:
    return clean_text(value, field, limit, required=required, invalid=invalid)


def tags(values: list[str], field: str, limit: int = 20) -> list[str]:
    cleaned = sorted({v.strip() for v in values if v and v.strip()})
    if len(cleaned) > limit or any(len(v) > 50 for v in cleaned):
        raise invalid(f"最多{limit}项，每项不超过50字", field)
    return cleaned
