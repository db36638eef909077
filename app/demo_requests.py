"""The demo village's requests (民情诉求): a few weeks of problems raised by residents and
found by chiefs, in every state of the loop."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from identity.viewer import load_viewer
from models import Appointment, Household, OrgUnit, User
from resident_requests import workflow

PROBLEMS = [
    ("infrastructure", "村口路灯坏了三盏，晚上走路看不清", "村口主干道"),
    ("environment", "河边有人倒建筑垃圾", "东片河堤"),
    ("dispute", "与邻居因宅基地边界发生争执，请帮忙调解", None),
    ("safety_hazard", "老屋墙体开裂，担心雨季倒塌", None),
    ("livelihood", "家中老人行动不便，想申请居家养老服务", None),
    ("policy", "想了解改厕补助的申请条件", None),
    ("infrastructure", "自来水水压太低，二楼没水", None),
    ("environment", "垃圾桶满了三天没人清运", "组部垃圾点"),
]
# how far each request gets: a path of actions from "received"
PATHS = [
    [], ["accept"], ["accept", "start"], ["accept", "start", "resolve"],
    ["accept", "start", "resolve", "rate_closed"], ["accept", "escalate"],
    ["accept", "escalate", "accept", "start", "resolve", "rate_closed"],
    ["accept", "resolve", "rate_reopened"],
]
NOTES = {
    "accept": "已受理，将尽快处理", "start": "已安排人员上门查看", "escalate": "组内无法解决，上报村委会",
    "resolve": "已处理完毕，请确认", "rate_closed": "满意", "rate_reopened": "问题仍未解决",
}


async def seed_village_requests(
    session: AsyncSession, village: OrgUnit, households: list[tuple[Household, list]], admin: User,
    now: datetime, seed: int,
) -> dict[str, int]:
    rng = random.Random(seed)
    admin_viewer = await load_viewer(session, admin.id, now)
    chiefs = {
        unit_id: user_id
        for unit_id, user_id in await session.execute(
            select(Appointment.unit_id, Appointment.user_id).where(
                Appointment.village_id == village.id, Appointment.role == "chief", Appointment.valid_to.is_(None)
            )
        )
    }
    made = 0
    for index, (household, members) in enumerate(rng.sample(households, k=min(16, len(households)))):
        category, text, place = PROBLEMS[index % len(PROBLEMS)]
        unit = await session.get(OrgUnit, household.unit_id)
        at = now - timedelta(days=rng.uniform(2, 40))
        request = await workflow.submit(
            session, household=household, unit=unit, submitted_by=admin.id, resident_id=members[0].id,
            category=category, description=text, photo_urls=[], place=place, now=at,
        )
        made += 1
        chief = chiefs.get(unit.id)
        worker = await load_viewer(session, chief, at) if chief else admin_viewer
        household_viewer = _HouseholdVoice(household.id)
        for action in PATHS[index % len(PATHS)]:
            at += timedelta(hours=rng.uniform(2, 30))
            if at > now:
                break
            if action.startswith("rate_"):
                rating = "not_satisfied" if action == "rate_reopened" else rng.choice(["satisfied", "partly"])
                await workflow.act(session, request, action, actor=household_viewer, now=at,
                                   note=NOTES[action], rating=rating)
            else:
                actor = admin_viewer if request.level != "unit" else worker
                await workflow.act(session, request, action, actor=actor, now=at, note=NOTES[action])
    return {"requests": made}


class _HouseholdVoice:
    """The household rating its request (in the demo, without logging in)."""

    def __init__(self, household_id: int) -> None:
        self.household_id = household_id
        self.user_id = None
