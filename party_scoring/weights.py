"""A village's weights for the parts of a standing:

    score = contact_weight × contacts done / contacts required
          + problem_weight × problems found
          + points_weight  × points earned by the households answered for

With the defaults, full contact coverage is worth 60, each problem found 2, and each 10
points earned 1."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import ScoringWeights
from party_scoring.errors import invalid

MAX_WEIGHT = Decimal(1000)


@dataclass(frozen=True)
class Weights:
    contact: Decimal = Decimal("60")
    problem: Decimal = Decimal("2")
    points: Decimal = Decimal("0.1")


DEFAULT = Weights()


async def of_village(session: AsyncSession, village_id: int) -> Weights:
    row = await session.get(ScoringWeights, village_id)
    if row is None:
        return DEFAULT
    return Weights(row.contact_weight, row.problem_weight, row.points_weight)


async def set_weights(
    session: AsyncSession, village_id: int, weights: Weights, *, actor_user_id: int, now: datetime
) -> Weights:
    for field, value in (("contactWeight", weights.contact), ("problemWeight", weights.problem),
                         ("pointsWeight", weights.points)):
        if not (0 <= value <= MAX_WEIGHT) or value != value.quantize(Decimal("0.001")):
            raise invalid("权重须在0到1000之间，最多三位小数", field)
    values = dict(contact_weight=weights.contact, problem_weight=weights.problem,
                  points_weight=weights.points, updated_by_id=actor_user_id, updated_at=now)
    await session.execute(
        insert(ScoringWeights).values(village_id=village_id, **values)
        .on_conflict_do_update(index_elements=[ScoringWeights.village_id], set_=values)
    )
    return weights
