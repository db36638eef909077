"""The demo town loads once, through the domain rules, and its logins work."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from app.demo import describe_logins, seed_demo
from models import Household, OrgUnit, Resident
from rewards import check
from rewards.periods import CHINA


async def test_demo_loads_once_and_its_admin_can_log_in(api, session, database_url):
    first = await seed_demo(database_url)
    assert await seed_demo(database_url) is False  # idempotent
    town = await session.scalar(select(OrgUnit).where(OrgUnit.kind == "town", OrgUnit.code == "DEMO"))
    assert town is not None and first is True
    villages = await session.scalar(select(func.count()).where(OrgUnit.parent_id == town.id))
    assert villages == 3
    households = await session.scalar(
        select(func.count()).select_from(Household).join(OrgUnit, OrgUnit.id == Household.village_id)
        .where(OrgUnit.parent_id == town.id)
    )
    residents = await session.scalar(
        select(func.count()).select_from(Resident).join(OrgUnit, OrgUnit.id == Resident.village_id)
        .where(OrgUnit.parent_id == town.id)
    )
    assert 280 <= households <= 320 and 850 <= residents <= 1000

    login = await api.data(
        'mutation { loginWithPassword(input: {phone: "13900000011", password: "demo1234"}) '
        "{ tokens { accessToken } errors { code } } }"
    )
    token = login["loginWithPassword"]["tokens"]["accessToken"]
    me = await api.data("{ me { appointments { title unit { name } } } }", token=token)
    assert me["me"]["appointments"] == [{"title": "村管理员", "unit": {"name": "青山村"}}]
    assert "13900000011" in describe_logins()

    # the points: the featured resident can see points and a reservation to collect
    resident = await api.data(
        'mutation { requestLoginCode(input: {phone: "13700000003"}) { sent } }'
    )
    assert resident["requestLoginCode"]["sent"]
    home = await api.data(
        "{ me { household { points { balance lifetimeEarned entries(first: 5) { edges { node { reason } } } } } } "
        "myRedemptions(status: RESERVED) { edges { node { pickupCode item { name } } } } }",
        token=api.token_for(await _user(session, "13700000003")),
    )
    assert home["me"]["household"]["points"]["balance"] > 0
    assert home["myRedemptions"]["edges"][0]["node"]["item"]["name"] == "酱油"
    overview = await api.data("{ pointsOverview { issued redeemed outstanding budgetLeft } }", token=token)
    assert overview["pointsOverview"]["issued"] > 1000
    assert await check.violations(session) == {}
    notices = await api.data(
        "{ unreadNoticeCount notices(first: 10) { edges { node { title read revised } } } }",
        token=api.token_for(await _user(session, "13700000003")),
    )
    assert len(notices["notices"]["edges"]) >= 5
    assert any(e["node"]["revised"] for e in notices["notices"]["edges"])
    from affairs.accounts import verify

    assert await verify(session) == []

    # party-member links: the featured member's households, last month's published scores
    mine = await api.data(
        "{ linkedHouseholds(first: 100) { edges { node { dueThisMonth lastContact { mode } members { phone } } } } }",
        token=api.token_for(await _user(session, "13700000002")),
    )
    rows = [e["node"] for e in mine["linkedHouseholds"]["edges"]]
    assert len(rows) >= 10 and any(r["lastContact"] for r in rows)
    scores = await api.data(
        "query($at: DateTime) { partyScores(period: MONTH, at: $at) { published standings { score } } "
        "chiefHonours { citation chief { displayName } } }",
        {"at": (datetime.now(CHINA).replace(day=1) - timedelta(days=2)).isoformat()}, token=token,
    )
    assert scores["partyScores"]["published"]
    assert sum(s["score"] > 30 for s in scores["partyScores"]["standings"]) >= 4  # last month was visited
    assert len(scores["chiefHonours"]) == 1


async def _user(session, phone):
    from models import User

    return await session.scalar(select(User).where(User.phone == phone))
