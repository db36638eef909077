"""Login flows against the real app and database: SMS codes, passwords, tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
from pydantic import SecretStr
from sqlalchemy import func, select, update

from grid import appointments
from identity.tokens import issue_access_token
from models import AuthFailure, LoginCode, RefreshToken, User
from tests.support import build_village, gid

REQUEST_CODE = """mutation($phone: String!) {
  requestLoginCode(input: {phone: $phone}) { sent errors { code field message } } }"""
LOGIN = """mutation($phone: String!, $code: String!) {
  loginWithCode(input: {phone: $phone, code: $code}) {
    tokens { accessToken refreshToken accessTokenExpiresAt } errors { code field message } } }"""
PASSWORD = """mutation($phone: String!, $password: String!) {
  loginWithPassword(input: {phone: $phone, password: $password}) {
    tokens { accessToken refreshToken } errors { code message } } }"""
REFRESH = """mutation($t: String!) {
  refreshToken(input: {refreshToken: $t}) { tokens { accessToken refreshToken } errors { code } } }"""
LOGOUT = """mutation($t: String!) { logout(input: {refreshToken: $t}) { ok errors { code } } }"""
ME = "query { me { user { displayName phone } resident { name } household { number } } }"


async def _login_by_code(api, sms, phone: str) -> dict:
    sent = await api.data(REQUEST_CODE, {"phone": phone})
    assert sent["requestLoginCode"] == {"sent": True, "errors": []}
    result = await api.data(LOGIN, {"phone": phone, "code": sms.last_code(phone)})
    assert result["loginWithCode"]["errors"] == []
    return result["loginWithCode"]["tokens"]


async def test_resident_logs_in_by_sms_code_and_sees_themself(api, session, settings, sms):
    v = await build_village(session, settings, "码村")
    resident = v.residents[2]  # has a phone, no user yet: one is created on first login
    tokens = await _login_by_code(api, sms, resident.phone)
    me = (await api.data(ME, token=tokens["accessToken"]))["me"]
    assert me["resident"]["name"] == resident.name
    assert me["user"]["phone"] == resident.phone  # one's own phone is never masked
    assert me["household"]["number"] == v.households[1].number
    # the code was stored hashed, and is used up
    row = await session.scalar(select(LoginCode).where(LoginCode.phone == resident.phone))
    assert sms.last_code(resident.phone).encode() not in row.code_hash
    again = await api.data(LOGIN, {"phone": resident.phone, "code": sms.last_code(resident.phone)})
    assert again["loginWithCode"]["errors"][0]["code"] == "INVALID_CODE"


async def test_phone_is_normalised_and_malformed_phone_refused(api, session, settings, sms):
    v = await build_village(session, settings, "号村")
    phone = v.residents[0].phone
    spaced = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    assert (await api.data(REQUEST_CODE, {"phone": spaced}))["requestLoginCode"]["sent"]
    before = await session.scalar(select(func.count()).select_from(LoginCode))
    bad = await api.data(REQUEST_CODE, {"phone": "12345"})
    assert bad["requestLoginCode"] == {
        "sent": False,
        "errors": [{"code": "INVALID_PHONE", "field": "phone", "message": "请输入正确的11位手机号"}],
    }
    assert await session.scalar(select(func.count()).select_from(LoginCode)) == before


async def test_unregistered_phone_gets_the_same_answer_but_no_sms(api, sms):
    result = await api.data(REQUEST_CODE, {"phone": "13312345678"})
    assert result["requestLoginCode"]["sent"] is True
    assert sms.sent == []
    login = await api.data(LOGIN, {"phone": "13312345678", "code": "000000"})
    assert login["loginWithCode"]["errors"][0]["code"] == "INVALID_CODE"


async def test_code_expires_after_its_lifetime(api, session, settings, sms):
    v = await build_village(session, settings, "期村")
    phone = v.residents[0].phone
    await api.data(REQUEST_CODE, {"phone": phone})
    await session.execute(
        update(LoginCode).where(LoginCode.phone == phone)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    result = await api.data(LOGIN, {"phone": phone, "code": sms.last_code(phone)})
    assert result["loginWithCode"]["errors"][0]["code"] == "CODE_EXPIRED"
    assert result["loginWithCode"]["tokens"] is None


async def test_five_wrong_codes_lock_the_phone_even_for_the_right_code(api, session, settings, sms):
    v = await build_village(session, settings, "锁村")
    phone = v.residents[0].phone
    await api.data(REQUEST_CODE, {"phone": phone})
    right = sms.last_code(phone)
    wrong = "000000" if right != "000000" else "111111"
    codes = []
    for _ in range(settings.otp_max_attempts):
        result = await api.data(LOGIN, {"phone": phone, "code": wrong})
        codes.append(result["loginWithCode"]["errors"][0]["code"])
    assert codes == ["INVALID_CODE"] * (settings.otp_max_attempts - 1) + ["LOCKED_OUT"]
    locked = await api.data(LOGIN, {"phone": phone, "code": right})
    assert locked["loginWithCode"]["errors"][0]["code"] == "LOCKED_OUT"
    refused = await api.data(REQUEST_CODE, {"phone": phone})
    assert refused["requestLoginCode"]["errors"][0]["code"] == "LOCKED_OUT"


async def test_requesting_codes_is_rate_limited_per_phone(api, session, settings, sms):
    v = await build_village(session, settings, "频村")
    phone, other = v.residents[0].phone, v.residents[1].phone
    assert (await api.data(REQUEST_CODE, {"phone": phone}))["requestLoginCode"]["sent"]
    too_soon = await api.data(REQUEST_CODE, {"phone": phone})
    assert too_soon["requestLoginCode"]["errors"][0]["code"] == "RATE_LIMITED"
    assert (await api.data(REQUEST_CODE, {"phone": other}))["requestLoginCode"]["sent"]
    # past the resend interval, the hourly cap still holds
    for _ in range(settings.otp_max_per_hour - 1):
        await session.execute(
            update(LoginCode).where(LoginCode.phone == phone)
            .values(created_at=LoginCode.created_at - timedelta(seconds=settings.otp_resend_interval_seconds))
        )
        assert (await api.data(REQUEST_CODE, {"phone": phone}))["requestLoginCode"]["sent"]
    await session.execute(
        update(LoginCode).where(LoginCode.phone == phone)
        .values(created_at=LoginCode.created_at - timedelta(seconds=settings.otp_resend_interval_seconds))
    )
    capped = await api.data(REQUEST_CODE, {"phone": phone})
    assert capped["requestLoginCode"]["errors"][0]["code"] == "RATE_LIMITED"
    assert len([p for p, _ in sms.sent if p == phone]) == settings.otp_max_per_hour


async def test_admin_logs_in_by_password(api, session, settings):
    v = await build_village(session, settings, "密村")
    ok = await api.data(PASSWORD, {"phone": v.admin.phone, "password": "secret-pass"})
    assert ok["loginWithPassword"]["tokens"]["accessToken"]
    stored = await session.scalar(select(User.password_hash).where(User.id == v.admin.id))
    assert stored.startswith("$argon2")
    wrong = await api.data(PASSWORD, {"phone": v.admin.phone, "password": "nope-nope"})
    assert wrong["loginWithPassword"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    unknown = await api.data(PASSWORD, {"phone": "13311112222", "password": "secret-pass"})
    assert unknown["loginWithPassword"]["errors"][0]["code"] == "INVALID_CREDENTIALS"


async def test_refresh_rotates_and_reuse_revokes_the_family(api, session, settings):
    v = await build_village(session, settings, "轮村")
    first = (await api.data(PASSWORD, {"phone": v.admin.phone, "password": "secret-pass"}))
    first = first["loginWithPassword"]["tokens"]
    second = (await api.data(REFRESH, {"t": first["refreshToken"]}))["refreshToken"]["tokens"]
    assert second["refreshToken"] != first["refreshToken"]
    assert (await api.data(ME, token=second["accessToken"]))["me"]["user"]["displayName"]
    # the rotated token is presented again, a minute after its use: someone copied it;
    # every token of the family dies
    await _age_rotations(session, v.admin.id, timedelta(minutes=1))
    reused = await api.data(REFRESH, {"t": first["refreshToken"]})
    assert reused["refreshToken"]["errors"] == [{"code": "TOKEN_REUSED"}]
    after = await api.data(REFRESH, {"t": second["refreshToken"]})
    assert after["refreshToken"]["errors"] == [{"code": "INVALID_TOKEN"}]
    revoked = await session.scalar(
        select(func.count()).select_from(RefreshToken)
        .where(RefreshToken.user_id == v.admin.id, RefreshToken.revoke_reason == "reuse")
    )
    assert revoked == 2
    # a different login (another device) is a different family and keeps working
    other = (await api.data(PASSWORD, {"phone": v.admin.phone, "password": "secret-pass"}))
    assert (await api.data(REFRESH, {"t": other["loginWithPassword"]["tokens"]["refreshToken"]}))[
        "refreshToken"]["errors"] == []


async def _age_rotations(session, user_id: int, by: timedelta) -> None:
    """As if the user's refresh tokens had been used `by` earlier."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.rotated_at.is_not(None))
        .values(rotated_at=RefreshToken.rotated_at - by)
    )


async def test_a_client_refreshing_twice_at_once_keeps_its_login(api, session, settings):
    v = await build_village(session, settings, "并村")
    first = (await api.data(PASSWORD, {"phone": v.admin.phone, "password": "secret-pass"}))
    first = first["loginWithPassword"]["tokens"]
    winner = (await api.data(REFRESH, {"t": first["refreshToken"]}))["refreshToken"]
    # the same token again, moments later: the other request of a double refresh
    loser = (await api.data(REFRESH, {"t": first["refreshToken"]}))["refreshToken"]
    assert loser == {"tokens": None, "errors": [{"code": "TOKEN_ROTATED"}]}
    revoked = await session.scalar(
        select(func.count()).select_from(RefreshToken)
        .where(RefreshToken.user_id == v.admin.id, RefreshToken.revoked_at.is_not(None))
    )
    assert revoked == 0
    # the pair the winner got goes on working
    after = (await api.data(REFRESH, {"t": winner["tokens"]["refreshToken"]}))["refreshToken"]
    assert after["errors"] == [] and after["tokens"]["refreshToken"]


async def test_logout_revokes_and_expired_tokens_are_refused(api, session, settings):
    v = await build_village(session, settings, "退村")
    tokens = (await api.data(PASSWORD, {"phone": v.admin.phone, "password": "secret-pass"}))
    tokens = tokens["loginWithPassword"]["tokens"]
    assert (await api.data(LOGOUT, {"t": tokens["refreshToken"]}))["logout"]["ok"] is True
    refused = await api.data(REFRESH, {"t": tokens["refreshToken"]})
    assert refused["refreshToken"]["errors"] == [{"code": "INVALID_TOKEN"}]
    assert (await api.data(REFRESH, {"t": "rt_made-up"}))["refreshToken"]["errors"] == [
        {"code": "INVALID_TOKEN"}]
    await session.execute(
        update(RefreshToken).where(RefreshToken.user_id == v.admin.id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1), revoked_at=None)
    )
    expired = await api.data(REFRESH, {"t": tokens["refreshToken"]})
    assert expired["refreshToken"]["errors"] == [{"code": "INVALID_TOKEN"}]


async def test_bad_expired_or_disabled_access_tokens_are_unauthenticated(api, session, settings):
    v = await build_village(session, settings, "凭村")
    stale, _ = issue_access_token(v.admin.id, settings, datetime.now(UTC) - timedelta(hours=2))
    assert await api.error_code(ME, token=stale) == "UNAUTHENTICATED"
    assert await api.error_code(ME, token="not-a-jwt") == "UNAUTHENTICATED"
    forged, _ = issue_access_token(
        v.admin.id, settings.model_copy(update={"jwt_secret": SecretStr("x" * 40)}), datetime.now(UTC)
    )
    assert await api.error_code(ME, token=forged) == "UNAUTHENTICATED"
    for subject in ("²", "٣", "9" * 40):  # digits to str.isdigit, not user ids
        odd = jwt.encode({"sub": subject, "typ": "access", "iat": datetime.now(UTC),
                          "exp": datetime.now(UTC) + timedelta(minutes=5)},
                         settings.jwt_secret.get_secret_value(), algorithm="HS256")
        assert await api.error_code(ME, token=odd) == "UNAUTHENTICATED", subject
    assert (await api.data(ME))["me"] is None  # no token: anonymous, not an error
    token = api.token_for(v.admin)
    await session.execute(update(User).where(User.id == v.admin.id).values(is_active=False))
    assert await api.error_code(ME, token=token) == "UNAUTHENTICATED"
    query = 'query($id: ID!) { orgUnit(id: $id) { name } }'
    assert await api.error_code(query, {"id": "T3JnVW5pdDox"}) == "UNAUTHENTICATED"


async def test_wrong_passwords_lock_the_phone_for_a_while(api, session, settings):
    v = await build_village(session, settings, "猜村")
    phone = v.admin.phone
    codes = []
    for _ in range(settings.otp_max_attempts):
        result = await api.data(PASSWORD, {"phone": phone, "password": "guess-guess"})
        codes.append(result["loginWithPassword"]["errors"][0]["code"])
    assert codes == ["INVALID_CREDENTIALS"] * (settings.otp_max_attempts - 1) + ["LOCKED_OUT"]
    right = await api.data(PASSWORD, {"phone": phone, "password": "secret-pass"})
    assert right["loginWithPassword"]["errors"][0]["code"] == "LOCKED_OUT"
    # the window passes: the right password works again
    await session.execute(
        update(AuthFailure).where(AuthFailure.phone == phone)
        .values(failed_at=AuthFailure.failed_at - timedelta(seconds=settings.otp_lockout_seconds))
    )
    again = await api.data(PASSWORD, {"phone": phone, "password": "secret-pass"})
    assert again["loginWithPassword"]["errors"] == []


async def test_new_codes_do_not_reset_the_count_of_wrong_ones(api, session, settings, sms):
    v = await build_village(session, settings, "换码村")
    phone = v.residents[0].phone
    for _ in range(settings.otp_max_attempts):
        await session.execute(update(LoginCode).where(LoginCode.phone == phone)
                              .values(created_at=LoginCode.created_at - timedelta(minutes=2)))
        await api.data(REQUEST_CODE, {"phone": phone})
        result = await api.data(LOGIN, {"phone": phone, "code": "000000" if sms.last_code(phone) != "000000" else "1"})
    assert result["loginWithCode"]["errors"][0]["code"] == "LOCKED_OUT"


async def test_changing_a_residents_phone_moves_their_login(api, session, settings, sms):
    v = await build_village(session, settings, "换号村")
    resident = v.residents[2]
    old = resident.phone
    tokens = await _login_by_code(api, sms, old)
    changed = await api.data(
        """mutation($i: UpdateResidentInput!) { updateResident(input: $i) { resident { phone } errors { code } } }""",
        {"i": {"id": gid("Resident", resident.id), "phone": "13912345678"}}, api.token_for(v.admin),
    )
    assert changed["updateResident"]["resident"]["phone"] == "13912345678"
    await session.execute(update(LoginCode).where(LoginCode.phone == old)
                          .values(created_at=LoginCode.created_at - timedelta(minutes=2)))
    sent_before = len(sms.sent)
    await api.data(REQUEST_CODE, {"phone": old})
    assert sms.sent[sent_before:] == []  # the old number no longer logs anyone in
    new_login = await _login_by_code(api, sms, "13912345678")
    me = await api.data(ME, token=new_login["accessToken"])
    assert me["me"]["resident"]["name"] == resident.name
    refused = await api.data(REFRESH, {"t": tokens["refreshToken"]})
    assert refused["refreshToken"]["errors"] == [{"code": "INVALID_TOKEN"}]


async def test_a_village_admin_cannot_move_the_login_of_someone_serving_above_them(api, session, settings):
    v = await build_village(session, settings, "上任村")
    resident = v.residents[2]
    official = await appointments.user_for_resident(session, resident)  # lives here, serves the town
    await appointments.appoint(session, v.town, official, "town_admin", appointed_by=None, now=datetime.now(UTC))
    update_phone = """mutation($i: UpdateResidentInput!) { updateResident(input: $i) { resident { phone } errors { code } } }"""
    for phone in ("13912345678", ""):  # taking the login over, or locking them out
        assert await api.error_code(update_phone, {"i": {"id": gid("Resident", resident.id), "phone": phone}},
                                    api.token_for(v.admin)) == "FORBIDDEN"
    assert (await session.get(User, official.id, populate_existing=True)).phone == resident.phone
    renamed = await api.data(update_phone, {"i": {"id": gid("Resident", resident.id), "name": resident.name}},
                             api.token_for(v.admin))
    assert renamed["updateResident"]["errors"] == []  # the rest of the record is still the village's
    moved = await api.data(update_phone, {"i": {"id": gid("Resident", resident.id), "phone": "13912345678"}},
                           api.token_for(official))
    assert moved["updateResident"]["resident"]["phone"] == "13912345678"


async def test_a_village_admin_cannot_move_a_fellow_admins_login(api, session, settings):
    v = await build_village(session, settings, "同僚村")
    fellow = await appointments.user_for_resident(session, v.residents[2])
    post = await appointments.appoint(session, v.village, fellow, "village_admin", appointed_by=None,
                                      now=datetime.now(UTC))
    update_phone = """mutation($i: UpdateResidentInput!) { updateResident(input: $i) { resident { phone } errors { code } } }"""
    assert await api.error_code(update_phone, {"i": {"id": gid("Resident", v.residents[2].id), "phone": "13912345670"}},
                                api.token_for(v.admin)) == "FORBIDDEN"
    own = await api.data(update_phone, {"i": {"id": gid("Resident", v.residents[2].id), "phone": "13912345670"}},
                         api.token_for(fellow))  # their own phone is theirs to change
    assert own["updateResident"]["resident"]["phone"] == "13912345670"
    # nor once the fellow's post has ended (by their fellow, say): their account is still theirs
    end = """mutation($i: EndAppointmentInput!) { endAppointment(input: $i) { appointment { id } errors { code } } }"""
    ended = await api.data(end, {"i": {"id": gid("Appointment", post.id)}}, api.token_for(v.admin))
    assert ended["endAppointment"]["errors"] == []
    assert await api.error_code(update_phone, {"i": {"id": gid("Resident", v.residents[2].id), "phone": "13912345671"}},
                                api.token_for(v.admin)) == "FORBIDDEN"
    town_admin = await appointments.user_for_resident(session, v.residents[4])
    await appointments.appoint(session, v.town, town_admin, "town_admin", appointed_by=None, now=datetime.now(UTC))
    moved = await api.data(update_phone, {"i": {"id": gid("Resident", v.residents[2].id), "phone": "13912345671"}},
                           api.token_for(town_admin))
    assert moved["updateResident"]["errors"] == []  # the town above may


async def test_an_admin_with_a_password_logs_in_with_it_not_by_text_message(api, session, settings, sms):
    v = await build_village(session, settings, "密村")
    await api.data(REQUEST_CODE, {"phone": v.admin.phone})
    by_code = await api.data(LOGIN, {"phone": v.admin.phone, "code": sms.last_code(v.admin.phone)})
    assert by_code["loginWithCode"]["errors"][0]["code"] == "PASSWORD_REQUIRED"
    by_password = await api.data(PASSWORD, {"phone": v.admin.phone, "password": "secret-pass"})
    assert by_password["loginWithPassword"]["errors"] == []
    assert await _login_by_code(api, sms, v.residents[2].phone)  # residents are as before


async def test_staff_set_and_change_their_own_password(api, session, settings, sms):
    v = await build_village(session, settings, "设密村")
    clerk_phone = "15500000009"
    from tests.rewards_support import store_clerk

    clerk = await store_clerk(session, v, clerk_phone)  # appointed by phone: no password yet
    token = api.token_for(clerk)
    set_password = """mutation($i: SetPasswordInput!) { setPassword(input: $i) { ok errors { code field } } }"""
    short = await api.data(set_password, {"i": {"newPassword": "short"}}, token)
    assert short["setPassword"] == {"ok": False, "errors": [{"code": "INVALID_PASSWORD", "field": "newPassword"}]}
    with_tokens = set_password.replace("ok errors", "ok tokens { refreshToken } errors")
    first = await api.data(with_tokens, {"i": {"newPassword": "counter-2026"}}, token)
    assert first["setPassword"] == {"ok": True, "tokens": None, "errors": []}  # a first password ends nothing
    assert (await api.data(PASSWORD, {"phone": clerk_phone, "password": "counter-2026"}))["loginWithPassword"][
        "errors"] == []
    # changing it needs the current one; a wrong one is refused and counted
    wrong = await api.data(set_password, {"i": {"newPassword": "taken-over-1", "currentPassword": "guess-1234"}}, token)
    assert wrong["setPassword"]["errors"] == [{"code": "INVALID_CREDENTIALS", "field": "currentPassword"}]
    assert await session.scalar(select(func.count()).select_from(AuthFailure)
                                .where(AuthFailure.phone == clerk_phone)) == 1
    other_device = (await api.data(PASSWORD, {"phone": clerk_phone, "password": "counter-2026"}))[
        "loginWithPassword"]["tokens"]["refreshToken"]
    changed = await api.data(with_tokens, {"i": {"newPassword": "counter-2027", "currentPassword": "counter-2026"}}, token)
    assert changed["setPassword"]["ok"]
    assert (await api.data(PASSWORD, {"phone": clerk_phone, "password": "counter-2026"}))["loginWithPassword"][
        "errors"][0]["code"] == "INVALID_CREDENTIALS"
    # every session ends with the old password; the one that changed it goes on with new tokens
    assert (await api.data(REFRESH, {"t": other_device}))["refreshToken"]["errors"][0]["code"] == "INVALID_TOKEN"
    fresh = changed["setPassword"]["tokens"]["refreshToken"]
    assert (await api.data(REFRESH, {"t": fresh}))["refreshToken"]["errors"] == []


async def test_the_auth_sweep_forgets_codes_failures_and_tokens_nobody_can_use(api, session, settings):
    from identity import tokens
    from identity.sweep import forget_stale

    v = await build_village(session, settings, "清村")
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=3)
    session.add_all([
        LoginCode(phone="13900000001", code_hash=b"x", created_at=long_ago, expires_at=long_ago),
        AuthFailure(phone="13900000001", method="password", failed_at=long_ago),
    ])
    old = await tokens.issue_token_pair(session, v.admin.id, settings, long_ago - timedelta(days=settings.refresh_token_ttl_days))
    await api.data(REQUEST_CODE, {"phone": v.admin.phone})  # what counts now stays
    await api.data(PASSWORD, {"phone": v.admin.phone, "password": "wrong-password"})
    current = (await api.data(PASSWORD, {"phone": v.admin.phone, "password": "secret-pass"}))["loginWithPassword"]

    def counts():
        return [select(func.count()).select_from(model) for model in (LoginCode, AuthFailure, RefreshToken)]

    before = [await session.scalar(c) for c in counts()]
    swept = await forget_stale(session, now, settings)
    assert (swept.login_codes, swept.failures, swept.refresh_tokens) == (1, 1, 1)
    assert [await session.scalar(c) for c in counts()] == [n - 1 for n in before]
    assert (await api.data(REFRESH, {"t": current["tokens"]["refreshToken"]}))["refreshToken"]["errors"] == []
    assert (await api.data(REFRESH, {"t": old.refresh_token}))["refreshToken"]["errors"][0]["code"] == "INVALID_TOKEN"


async def test_an_operator_moves_the_login_of_someone_no_admin_above_can_reach(api, session, settings):
    # a former town admin living in the village gave up their number: no admin is above a
    # town post, so only an operator can move their login (and resident record) to the new one
    from grid.residents import move_login
    from identity import tokens
    from tests.rewards_support import store_clerk

    v = await build_village(session, settings, "迁号村")
    official = await appointments.user_for_resident(session, v.residents[2])
    post = await appointments.appoint(session, v.town, official, "town_admin", appointed_by=None, now=datetime.now(UTC))
    await appointments.end_appointment(session, post, ended_by=None, now=datetime.now(UTC))
    old_session = await tokens.issue_token_pair(session, official.id, settings, datetime.now(UTC))
    update_phone = """mutation($i: UpdateResidentInput!) { updateResident(input: $i) { errors { code } } }"""
    assert await api.error_code(update_phone, {"i": {"id": gid("Resident", v.residents[2].id), "phone": "13912340001"}},
                                api.token_for(v.admin)) == "FORBIDDEN"
    moved = await move_login(session, official.phone, "13912340001", datetime.now(UTC))
    assert (moved.id, moved.phone, v.residents[2].phone) == (official.id, "13912340001", "13912340001")
    assert (await api.data(REFRESH, {"t": old_session.refresh_token}))["refreshToken"]["errors"][0]["code"] == "INVALID_TOKEN"
    clerk = await store_clerk(session, v, "15500000077")  # staff without a resident record move the same way
    assert (await move_login(session, "15500000077", "15500000078", datetime.now(UTC))).id == clerk.id
