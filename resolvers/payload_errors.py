"""Domain refusals as the coded error objects of a mutation payload."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import TypeVar

from app.errors import DomainError

E = TypeVar("E")


def converter(error_type: Callable[..., E], codes: type[enum.Enum]) -> Callable[[Iterable[DomainError]], list[E]]:
    """A function turning domain errors into `error_type`s. A code the payload's enum does
    not have (a refusal from another domain's rules) is reported as INVALID_INPUT, except
    NOT_FOUND, which every payload enum has."""
    known = {c.value for c in codes}

    def convert(domain_errors: Iterable[DomainError]) -> list[E]:
        return [
            error_type(
                code=codes(e.code.value if e.code.value in known else "INVALID_INPUT"),
                field=e.field, message=e.message,
            )
            for e in domain_errors
        ]

    return convert
