"""Races over real parallel connections, on committed data (`live_api` has its own pool)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.database import create_sessionmaker
from grid import appointments
from household_links import links
from household_links.errors import LinkError, LinkErrorCode
from identity.errors import AuthError, AuthErrorCode
from models import Appointment, AuthFailure, OrgUnit
from tests.links_support import party_member
from tests.support import build_village, gid, start_until_blocked

LOGIN = """mutation($p: String!, $c: String!) { loginWithCode(input: {phone: $p, code: $c}) {
  tokens { accessToken } errors { code } } }"""


async def test_parallel_wrong_codes_are_all_counted(live_api, committed, settings):
    v = await build_village(committed, settings, "并码村")
    await committed.commit()
    phone = v.residents[0].phone
    await live_api.data("mutation($p: String!) { requestLoginCode(input: {phone: $p}) { sent } }", {"p": phone})
    wrong = "000000" if live_api.sms.last_code(phone) != "000000" else "111111"
    results = await asyncio.gather(
        *(live_api.data(LOGIN, {"p": phone, "c": wrong}) for _ in range(12))
    )
    codes = sorted(r["loginWithCode"]["errors"][0]["code"] for r in results)
    assert codes.count("INVALID_CODE") == settings.otp_max_attempts - 1
    assert codes.count("LOCKED_OUT") == 12 - (settings.otp_max_attempts - 1)
    failures = await committed.scalar(
        select(func.count()).select_from(AuthFailure).where(AuthFailure.phone == phone)
    )
    assert failures == settings.otp_max_attempts


async def test_parallel_refreshes_of_one_token_give_one_new_pair_and_keep_the_login(
    live_api, committed, settings
):
    v = await build_village(committed, settings, "并刷村")
    await committed.commit()
    login = await live_api.data(
        'mutation($p: String!) { loginWithPassword(input: {phone: $p, password: "secret-pass"}) '
        "{ tokens { refreshToken } } }", {"p": v.admin.phone},
    )
    token = login["loginWithPassword"]["tokens"]["refreshToken"]
    results = await asyncio.gather(*(
        live_api.data(
            "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { tokens { refreshToken } errors { code } } }",
            {"t": token},
        )
        for _ in range(6)
    ))
    winners = [r["refreshToken"]["tokens"] for r in results if r["refreshToken"]["tokens"]]
    assert len(winners) == 1
    # the others lost a race of one client, not met a copied token: refused, nothing revoked
    assert [r["refreshToken"]["errors"] for r in results if not r["refreshToken"]["tokens"]] == [
        [{"code": "TOKEN_ROTATED"}]] * 5
    again = await live_api.data(
        "mutation($t: String!) { refreshToken(input: {refreshToken: $t}) { tokens { refreshToken } errors { code } } }",
        {"t": winners[0]["refreshToken"]},
    )
    assert again["refreshToken"]["errors"] == []


async def test_two_admins_appointing_a_chief_at_once_leave_one_chief_and_full_history(
    live_api, committed, settings
):
    v = await build_village(committed, settings, "并任村")
    await committed.commit()
    hood = v.neighbourhoods[1]
    token = live_api.token_for(v.admin)
    query = """mutation($i: AppointInput!) { appoint(input: $i) { appointment { id } errors { code } } }"""
    results = await asyncio.gather(*(
        live_api.data(query, {"i": {"unitId": gid("OrgUnit", hood.id), "role": "CHIEF",
                                    "residentId": gid("Resident", r.id)}}, token)
        for r in v.residents[2:4]
    ))
    assert all(r["appoint"]["errors"] == [] for r in results)
    terms = (await committed.scalars(
        select(Appointment).where(Appointment.unit_id == hood.id, Appointment.role == "chief")
    )).all()
    assert len(terms) == 2
    assert sum(t.valid_to is None for t in terms) == 1


async def test_one_idempotency_key_cannot_adjust_two_households_at_once(live_api, committed, settings):
    v = await build_village(committed, settings, "并键村")
    await committed.commit()
    token = live_api.token_for(v.admin)
    query = """mutation($h: ID!) { adjustPoints(input: {householdId: $h, points: 10, reason: "补录", idempotencyKey: "same"}) {
      household { id } errors { code } } }"""
    results = await asyncio.gather(*(
        live_api.data(query, {"h": gid("Household", h.id)}, token) for h in v.households[:2] * 3
    ))
    codes = [r["adjustPoints"]["errors"][0]["code"] if r["adjustPoints"]["errors"] else "OK" for r in results]
    applied = {r["adjustPoints"]["household"]["id"] for r in results if not r["adjustPoints"]["errors"]}
    assert len(applied) == 1 and set(codes) <= {"OK", "IDEMPOTENCY_KEY_REUSED"}
    from rewards import check

    async with create_sessionmaker(committed.bind)() as fresh:
        assert await check.violations(fresh) == {}


async def _party_post(committed, settings, name: str, *, posts: int = 1):
    v = await build_village(committed, settings, name)
    member = await party_member(committed, v, 2)
    if posts == 2:  # a second post, in a group of the same village
        await appointments.appoint(committed, v.group, member, "party_member", appointed_by=v.admin.id,
                                   now=datetime.now(UTC) - timedelta(days=30))
    held = (await committed.scalars(select(Appointment).where(
        Appointment.user_id == member.id, Appointment.role == "party_member").order_by(Appointment.id))).all()
    await committed.commit()
    return v, member, [p.id for p in held]


async def _end_post(session, v, post_id: int, now) -> None:
    await links.end_party_member_post(session, await session.get(Appointment, post_id), ended_by=v.admin.id, now=now)


async def _link_two_households(session, v, member, now) -> None:
    checked = await links.party_member(session, v.village, member.id, now)  # holds the post FOR SHARE
    await links.link(session, v.households[:2], checked, linked_by=v.admin.id, now=now)


async def _assert_unlinked(sessions, v) -> None:
    async with sessions() as fresh:
        assert await links.open_links(fresh, [h.id for h in v.households[:2]]) == []


async def test_a_post_ending_while_a_link_is_made_ends_that_link_too(committed, settings):
    v, member, (post,) = await _party_post(committed, settings, "并联村")
    now = datetime.now(UTC)
    sessions = create_sessionmaker(committed.bind)
    async with sessions() as linking:
        await _link_two_households(linking, v, member, now)
        # the post is held by the linking
        ending = await start_until_blocked(committed.bind, lambda session: _end_post(session, v, post, now))
        await linking.commit()
    await ending
    await _assert_unlinked(sessions, v)


async def test_a_link_to_a_member_whose_post_is_ending_is_refused(committed, settings):
    v, member, (post,) = await _party_post(committed, settings, "并退村")
    now = datetime.now(UTC)
    sessions = create_sessionmaker(committed.bind)
    async with sessions() as ending:
        await _end_post(ending, v, post, now)
        linking = await start_until_blocked(committed.bind, lambda session: _link_two_households(session, v, member, now))
        await ending.commit()
    with pytest.raises(LinkError) as refused:
        await linking
    assert refused.value.code == LinkErrorCode.NOT_A_PARTY_MEMBER
    await _assert_unlinked(sessions, v)


async def test_a_members_two_posts_ending_at_once_end_their_links(committed, settings):
    v, member, (first, second) = await _party_post(committed, settings, "并双村", posts=2)
    now = datetime.now(UTC)
    sessions = create_sessionmaker(committed.bind)
    async with sessions() as linking:
        await _link_two_households(linking, v, member, now)
        await linking.commit()
    async with sessions() as ending:
        await _end_post(ending, v, first, now)
        # without the lock on both posts, each ending saw the other still open
        other = await start_until_blocked(committed.bind, lambda session: _end_post(session, v, second, now))
        await ending.commit()
    await other
    await _assert_unlinked(sessions, v)


async def test_a_level_added_while_a_household_is_placed_waits_or_refuses_it(committed, settings):
    from grid import households, units
    from grid.errors import GridError, GridErrorCode

    town = await units.create_town(committed, "并层镇")
    village = await units.create_village(committed, town, "并层村")
    area = await units.create_unit(committed, village, "东片")
    group = await units.create_unit(committed, area, "一组")
    hood = await units.create_unit(committed, group, "第1邻")
    await committed.commit()
    sessions = create_sessionmaker(committed.bind)
    async with sessions() as relevelling:  # a fourth level below 邻, while nobody lives in the village yet
        await units.set_village_levels(relevelling, await relevelling.get(OrgUnit, village.id),
                                       [*units.DEFAULT_LEVELS, units.LevelSpec("grid", "格", "格长")])

        async def place(session) -> None:
            await households.create_household(session, await session.get(OrgUnit, hood.id), "并层-001", "1号")

        placing = await start_until_blocked(committed.bind, place)
        await relevelling.commit()
    with pytest.raises(GridError) as refused:  # 邻 is no longer the last level
        await placing
    assert refused.value.code is GridErrorCode.NOT_A_LEAF_UNIT


async def test_a_return_report_beside_a_points_movement_of_its_household_does_not_deadlock(committed, settings):
    # The report holds the household row while it waits for the points account; the movement
    # holding that account then inserts rows that refer to the household (a foreign key
    # check, FOR KEY SHARE). Held FOR UPDATE, the row made each wait for the other.
    from grid.households import update_household
    from jobs.people import CHINA, report_return
    from models import Household
    from rewards import awards, rules

    v = await build_village(committed, settings, "并归村")
    now = datetime.now(UTC)
    await rules.create_rule(committed, v.village.id, "return", rules.RuleTerms(
        name="返乡报备", points=10, trigger="event", event_type="return_report"), v.admin.id, now)
    household_id = v.households[-1].id
    await update_household(committed, v.households[-1], living_status="working_away", now=now)
    await awards.adjust_points(committed, village_id=v.village.id, household_id=household_id, points=5,
                               reason="开户", actor_user_id=v.admin.id, now=now)  # its account exists
    await committed.commit()

    async def report(session):
        made, _ = await report_return(
            session, resident_id=v.residents[-1].id, household=await session.get(Household, household_id),
            user_id=v.resident_user.id, from_place="长沙", returned_on=now.astimezone(CHINA).date(), plan="stay",
            now=now + timedelta(seconds=1))
        return made.points_awarded

    async with create_sessionmaker(committed.bind)() as moving:
        await awards.lock_household_account(moving, v.village.id, household_id)
        reporting = await start_until_blocked(committed.bind, report)
        await awards.adjust_points(moving, village_id=v.village.id, household_id=household_id, points=5,
                                   reason="补录", actor_user_id=v.admin.id, now=now)
        await moving.commit()
    assert await reporting == 10


async def test_a_logout_beside_a_refresh_of_the_same_family_revokes_the_new_token_too(committed, settings):
    # The refresh marks its token rotated and inserts a successor. A logout of the family
    # waiting only on the rotated token then revoked it, and missed the successor, which
    # went on refreshing after "logged out".
    from identity import tokens

    v = await build_village(committed, settings, "并退登村")
    now = datetime.now(UTC)
    pair = await tokens.issue_token_pair(committed, v.admin.id, settings, now)
    await committed.commit()
    sessions = create_sessionmaker(committed.bind)
    async with sessions() as refreshing:
        successor = await tokens.rotate_refresh_token(refreshing, pair.refresh_token, settings, now)
        logging_out = await start_until_blocked(
            committed.bind, lambda session: tokens.revoke_refresh_token(session, pair.refresh_token, now))
        await refreshing.commit()
    assert await logging_out
    async with sessions() as later:
        with pytest.raises(AuthError) as refused:
            await tokens.rotate_refresh_token(later, successor.refresh_token, settings, now)
    assert refused.value.code is AuthErrorCode.INVALID_TOKEN


async def test_the_unrated_sweep_leaves_a_request_being_acted_on_for_its_next_run(committed, settings):
    from models import ResidentRequest
    from resident_requests import workflow

    v = await build_village(committed, settings, "并扫村")
    staff = await _staff_viewer(committed, v.admin)
    t0 = datetime.now(UTC) - timedelta(days=10)
    request = await workflow.submit(
        committed, household=v.households[0], unit=v.neighbourhoods[0], submitted_by=v.admin.id, resident_id=None,
        category="infrastructure", description="路灯坏了", photo_urls=[], place="村口", now=t0)
    await workflow.act(committed, request, "accept", actor=staff, now=t0)
    await workflow.act(committed, request, "resolve", actor=staff, now=t0, note="已修好")
    await committed.commit()
    sessions = create_sessionmaker(committed.bind)
    now = datetime.now(UTC)
    async with sessions() as acting:  # someone holds the request (rating it, say)
        await acting.execute(select(ResidentRequest.id).where(ResidentRequest.id == request.id).with_for_update())
        async with sessions() as sweeping:
            assert await workflow.close_unrated(sweeping, now, days=7) == 0  # no wait, no failure
            await sweeping.commit()
    async with sessions() as sweeping:
        assert await workflow.close_unrated(sweeping, now, days=7) == 1
        await sweeping.commit()


async def _staff_viewer(session, user):
    from identity.viewer import load_viewer

    return await load_viewer(session, user.id, datetime.now(UTC))


async def test_two_living_status_changes_at_once_both_count(committed, settings):
    # the second compared its change with the status it read before the first committed:
    # "at home" looked like no change and was dropped, and the household stayed away
    from grid import households
    from models import Household, HouseholdLivingStatus

    v = await build_village(committed, settings, "并住村")
    household_id = v.households[0].id
    await committed.commit()
    sessions = create_sessionmaker(committed.bind)

    async def set_status(session, status):
        await households.update_household(session, await session.get(Household, household_id), living_status=status)

    async with sessions() as first:
        await set_status(first, "working_away")
        # the second reads "at home" (the first has not committed) and then changes it
        back = await start_until_blocked(committed.bind, lambda s: set_status(s, "at_home"))
        await first.commit()
    await back
    async with sessions() as later:
        assert (await later.get(Household, household_id)).living_status == "at_home"
        periods = (await later.scalars(select(HouseholdLivingStatus.living_status).where(
            HouseholdLivingStatus.household_id == household_id).order_by(HouseholdLivingStatus.id))).all()
        assert periods == ["at_home", "working_away", "at_home"]


async def test_a_login_checking_the_old_password_while_it_is_reset_gets_no_session(committed, settings):
    # the login verified the old hash, then waited for the user row the reset held: it went
    # on to issue tokens the reset (which ends every session) never saw
    from identity import login
    from identity.errors import AuthError, AuthErrorCode

    v = await build_village(committed, settings, "并改密村")  # the admin's password is "secret-pass"
    await committed.commit()
    now = datetime.now(UTC)
    async with create_sessionmaker(committed.bind)() as resetting:
        await login.reset_password(resetting, v.admin.phone, "a-brand-new-pass", now)
        logging_in = await start_until_blocked(
            committed.bind, lambda session: login.login_with_password(session, v.admin.phone, "secret-pass", settings, now))
        assert not logging_in.done()  # it checked the old password and waits for the user's row
        await resetting.commit()
    with pytest.raises(AuthError) as refused:
        await logging_in
    assert refused.value.code is AuthErrorCode.INVALID_CREDENTIALS and "刚刚已变更" in refused.value.message
