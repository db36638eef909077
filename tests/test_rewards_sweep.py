"""Expiry: the sweeper moves expired points and unclaimed redemptions, once; and the
`village rewards` commands run against the database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from app.database import create_sessionmaker
from models import PointsAccount, PointsTransaction, Redemption, RewardItem
from rewards import awards, catalog, check, redemptions, rules
from rewards.sweep import sweep
from tests.support import build_village


async def test_sweep_expires_lots_and_redemptions_once(committed, engine, settings):
    now = datetime.now(UTC)
    v = await build_village(committed, settings, "扫村")
    h = v.households[0]
    version = await rules.create_rule(
        committed, v.village.id, "short", rules.RuleTerms(name="短期", points=30, trigger="event",
                                                          event_type="notice_read", validity_days=1),
        v.admin.id, now,
    )
    await awards.award(committed, version, household_id=h.id, resident_id=None, source="s1",
                       actor_user_id=None, now=now)
    await awards.adjust_points(committed, village_id=v.village.id, household_id=h.id, points=10,
                               reason="长期", actor_user_id=v.admin.id, now=now)
    item = await catalog.create_item(committed, v.village.id, catalog.ItemTerms(name="酱油", points_price=10),
                                     3, v.admin.id, now)
    redemption = await redemptions.redeem(
        committed, user_id=v.resident_user.id, village_id=v.village.id, household_id=h.id,
        resident_id=None, item_id=item.id, quantity=1, idempotency_key="sweep", now=now,
    )
    await committed.commit()

    later = now + timedelta(days=30)
    report = await sweep(create_sessionmaker(engine), later)
    assert report.redemptions_expired >= 1 and report.points_expired >= 30
    again = await sweep(create_sessionmaker(engine), later)
    assert (again.lots_expired, again.redemptions_expired) == (0, 0)

    async with create_sessionmaker(engine)() as session:
        assert (await session.get(Redemption, redemption.id)).status == "expired"
        stock = await session.get(RewardItem, item.id)
        assert (stock.stock_available, stock.stock_reserved) == (3, 0)
        balance = await session.scalar(select(PointsAccount.balance).where(PointsAccount.household_id == h.id))
        assert balance == 10  # the 30 short-lived points expired, refund included
        refunds = await session.scalar(
            select(func.count()).select_from(PointsTransaction)
            .where(PointsTransaction.redemption_id == redemption.id, PointsTransaction.kind == "refund")
        )
        assert refunds == 1
        assert await check.violations(session) == {}


async def test_a_lot_whose_household_is_busy_is_left_for_the_next_run(committed, engine, settings):
    from app.database import create_engine

    now = datetime.now(UTC)
    v = await build_village(committed, settings, "忙村")
    busy, free = v.households[0], v.households[1]
    version = await rules.create_rule(
        committed, v.village.id, "brief", rules.RuleTerms(name="短期", points=5, trigger="event",
                                                          event_type="notice_read", validity_days=1),
        v.admin.id, now,
    )
    for h in (busy, free):
        await awards.award(committed, version, household_id=h.id, resident_id=None, source="b1",
                           actor_user_id=None, now=now)
    await committed.commit()
    impatient = create_engine(settings.database_url, settings.model_copy(update={"db_lock_timeout_ms": 100}))
    try:
        async with create_sessionmaker(engine)() as holder:  # a request redeeming for that household just then
            await holder.execute(select(PointsAccount.id).where(PointsAccount.household_id == busy.id).with_for_update())
            report = await sweep(create_sessionmaker(impatient), now + timedelta(days=30))
            await holder.rollback()
        assert report.left_busy == 1 and report.lots_expired >= 1  # the other household's lot went
        later = await sweep(create_sessionmaker(impatient), now + timedelta(days=30))
        assert later.left_busy == 0 and later.points_expired == 5  # and the busy one's, next time
    finally:
        await impatient.dispose()


def test_affairs_verify_command(database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    verified = subprocess.run([sys.executable, "-m", "app.cli", "affairs", "verify"], env=env,
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stderr
    assert "every statement matches" in verified.stdout


def test_rewards_commands_check_and_sweep(database_url):
    env = {**os.environ, "DATABASE_URL": database_url}
    village = [sys.executable, "-m", "app.cli"]
    checked = subprocess.run([*village, "rewards", "check"], env=env, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "all invariants hold" in checked.stdout
    swept = subprocess.run([*village, "rewards", "sweep"], env=env, capture_output=True, text=True)
    assert swept.returncode == 0 and "expired" in swept.stdout
