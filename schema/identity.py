"""GraphQL types of identity: the viewer (`me`), tokens, login inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from grid import access
from grid.appointments import held_at
from identity.errors import AuthErrorCode as DomainAuthErrorCode
from identity.tokens import TokenPair
from identity.viewer import Viewer
from models import Appointment as AppointmentRow
from models import OrgUnit as OrgUnitRow
from models import User as UserRow
from schema.grid import Appointment, Household, Resident, User

AuthErrorCode = strawberry.enum(DomainAuthErrorCode, name="AuthErrorCode")


@strawberry.type
class AuthError:
    code: AuthErrorCode
    field: str | None
    message: str


@strawberry.type
class AuthTokens:
    """Send `accessToken` as `Authorization: Bearer …`; when it expires, trade
    `refreshToken` for a new pair with `refreshToken` (each refresh token works once)."""

    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime

    @classmethod
    def from_pair(cls, pair: TokenPair) -> AuthTokens:
        return cls(
            access_token=pair.access_token,
            access_token_expires_at=pair.access_token_expires_at,
            refresh_token=pair.refresh_token,
            refresh_token_expires_at=pair.refresh_token_expires_at,
        )


@strawberry.type
class Me:
    """The viewer. Each part is loaded only when asked for (the home screen asks for the
    household alone)."""

    viewer: strawberry.Private[Viewer]

    @strawberry.field
    async def user(self, info: Info) -> User:
        async with info.context.db() as session:
            return User.from_row(await session.get(UserRow, self.viewer.user_id), None)

    @strawberry.field
    async def resident(self, info: Info) -> Resident | None:
        if self.viewer.resident_id is None:
            return None
        async with info.context.db() as session:
            row, membership, path = await access.get_resident(session, self.viewer, self.viewer.resident_id)
        return Resident.from_row(row, path, membership)

    @strawberry.field
    def household(self) -> Household | None:
        row = self.viewer.household  # loaded with the viewer
        return None if row is None else Household.from_row(row, self.viewer.household_unit_path)

    @strawberry.field(description="The roles held now.")
    async def appointments(self, info: Info) -> list[Appointment]:
        async with info.context.db() as session:
            posts = (
                await session.execute(
                    select(AppointmentRow, OrgUnitRow.path)
                    .join(OrgUnitRow, OrgUnitRow.id == AppointmentRow.unit_id)
                    .where(AppointmentRow.user_id == self.viewer.user_id, held_at(info.context.now()))
                    .order_by(AppointmentRow.id)
                )
            ).all()
        return [Appointment.from_row(a, path) for a, path in posts]


@strawberry.input
class RequestLoginCodeInput:
    phone: str


@strawberry.type
class RequestLoginCodePayload:
    sent: bool = strawberry.field(
        description="True when the request was accepted; registered phones receive an SMS."
    )
    errors: list[AuthError]


@strawberry.input
class LoginWithCodeInput:
    phone: str
    code: str


@strawberry.input
class LoginWithPasswordInput:
    phone: str
    password: str


@strawberry.input
class LoginWithWechatInput:
    code: str = strawberry.field(description="The code from wx.login() in the mini-program.")
    phone: str | None = strawberry.field(
        default=None, description="First login only: the phone to bind, with `smsCode`."
    )
    sms_code: str | None = None


@strawberry.input
class RefreshTokenInput:
    refresh_token: str


@strawberry.type
class LoginPayload:
    tokens: AuthTokens | None
    errors: list[AuthError]


@strawberry.type
class LogoutPayload:
    ok: bool
    errors: list[AuthError]


@strawberry.input
class SetPasswordInput:
    new_password: str = strawberry.field(description="8 to 128 characters.")
    current_password: str | None = strawberry.field(default=None, description="Needed to change one already set.")


@strawberry.type
class SetPasswordPayload:
    ok: bool
    tokens: AuthTokens | None = strawberry.field(
        description="Changing a password ends every session, this one too: continue with these. "
        "Null for a first password, which ends none."
    )
    errors: list[AuthError]
