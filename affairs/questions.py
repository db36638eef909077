"""Residents' questions on a notice or a statement, answered once by an admin; both are
visible to the audience, with the asker's name masked."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from affairs.errors import AffairsError, AffairsErrorCode, clean_text
from models import Question


def mask_name(name: str) -> str:
    """李建国 → 李**: the audience sees that a neighbour asked, not who."""
    return name[:1] + "*" * max(1, len(name) - 1)


async def ask(
    session: AsyncSession, *, village_id: int, resident_id: int, text: str, now: datetime,
    notice_id: int | None = None, statement_id: int | None = None,
) -> Question:
    question = Question(
        village_id=village_id, notice_id=notice_id, statement_id=statement_id,
        resident_id=resident_id, text=clean_text(text, "text", 1000), asked_at=now,
    )
    session.add(question)
    await session.flush()
    return question


async def answer(
    session: AsyncSession, question: Question, text: str, admin_id: int, now: datetime
) -> Question:
    text = clean_text(text, "answer", 2000)
    done = await session.execute(
        update(Question).where(Question.id == question.id, Question.answer.is_(None))
        .values(answer=text, answered_by_id=admin_id, answered_at=now).returning(Question.id)
    )
    if done.first() is None:
        raise AffairsError(AffairsErrorCode.ALREADY_ANSWERED, "该问题已答复")
    await session.refresh(question)
    return question
