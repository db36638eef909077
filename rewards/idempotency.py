"""Idempotency keys for mutations that move points or stock: the first answer to a
(user, operation, key) is the answer to every retry; the same key with a different input
is refused. An operation builds its `KeyedRequest` with `keyed` and calls its `replay`
after taking the lock that serialises the operation, so that concurrent retries see each
other, and its `remember` with the result.

A request that passed `replay` and is then refused rolls back, its record with it. So
`replay` leaves the key in the session (`session.info`), and the caller, after the
rollback, takes it with `take_unanswered` to remember the refusal under it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import String, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import DomainError
from models import IdempotencyRecord
from rewards.errors import RewardsError, RewardsErrorCode, invalid

_LOCK_NAMESPACE = 7302  # advisory-lock namespace for idempotency keys
_UNANSWERED = "idempotency.unanswered"  # session.info: the KeyedRequest that passed replay


_LOCK_KEY = select(func.pg_advisory_xact_lock(_LOCK_NAMESPACE, func.hashtext(bindparam("lock_key", type_=String))))
_RECORD = select(IdempotencyRecord).where(
    IdempotencyRecord.user_id == bindparam("user_id"),
    IdempotencyRecord.operation == bindparam("operation"),
    IdempotencyRecord.key == bindparam("key"),
)
_REMEMBER = (
    insert(IdempotencyRecord.__table__)  # Core: bound as one row, not an ORM bulk insert
    .values({
        column: bindparam(column)
        for column in ("user_id", "operation", "key", "request_hash", "result_id", "error_code", "error_message")
    })
    .on_conflict_do_nothing()
)


def request_hash(**inputs) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str) -> str:
    key = (key or "").strip()
    if not 1 <= len(key) <= 100:
        raise invalid("idempotencyKey 为1到100个字符", "idempotencyKey")
    return key


@dataclass(frozen=True)
class KeyedRequest:
    """One request under an idempotency key: who sent it, for which operation, and the hash
    of its inputs. Without a key (where the key is optional) nothing is replayed or kept."""

    user_id: int
    operation: str
    key: str | None
    digest: str

    async def replay(self, session: AsyncSession) -> IdempotencyRecord | None:
        """The earlier answer for this key, or None. A stored refusal is raised again.

        The key itself is locked for the rest of the transaction, so two requests with one
        key but different targets (two households, two items) cannot both pass: the second
        waits, then finds the first's record."""
        if self.key is None:
            return None
        await session.execute(_LOCK_KEY, {"lock_key": f"{self.user_id}:{self.operation}:{self.key}"})
        # a statement of its own, after the lock: it must see what the key's holder committed
        record = await session.scalar(
            _RECORD, {"user_id": self.user_id, "operation": self.operation, "key": self.key}
        )
        if record is None:
            session.info[_UNANSWERED] = self
            return None
        if record.request_hash != self.digest:
            raise RewardsError(
                RewardsErrorCode.IDEMPOTENCY_KEY_REUSED, "该幂等键已用于另一个请求", field="idempotencyKey"
            )
        if record.error_code is not None:
            raise RewardsError(RewardsErrorCode(record.error_code), record.error_message or "")
        return record

    async def remember(
        self, session: AsyncSession, result_id: int | None = None, error: DomainError | None = None
    ) -> None:
        if self.key is None:
            return
        if error is not None:
            # a refusal is remembered after its own transaction rolled back and let the key
            # go: a retry that took the key meanwhile, and succeeded, keeps its answer
            await session.execute(_LOCK_KEY, {"lock_key": f"{self.user_id}:{self.operation}:{self.key}"})
        await session.execute(
            _REMEMBER,
            {
                "user_id": self.user_id, "operation": self.operation, "key": self.key,
                "request_hash": self.digest, "result_id": result_id,
                "error_code": error.code.value if error else None,
                "error_message": error.message[:200] if error else None,
            },
        )


def keyed(user_id: int, operation: str, key: str | None, *, optional: bool = False, **inputs) -> KeyedRequest:
    """The request under `key` (checked), hashed over `inputs`: the values that must match
    on a retry. With `optional`, a missing key gives a request that replays nothing."""
    if key is None and optional:
        return KeyedRequest(user_id, operation, None, "")
    return KeyedRequest(user_id, operation, check_key(key), request_hash(**inputs))


def take_unanswered(session: AsyncSession) -> KeyedRequest | None:
    """The request that passed `replay` in this session, once: what its refusal is to be
    remembered under."""
    return session.info.pop(_UNANSWERED, None)
