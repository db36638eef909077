"""GraphQL types of identity: the viewer (`me`), tokens, login inputs and payloads."""

from __future__ import annotations

from datetime import datetime

import strawberry

from identity.errors import AuthErrorCode as DomainAuthErrorCode
from identity.tokens import TokenPair
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
    user: User
    resident: Resident | None
    household: Household | None
    appointments: list[Appointment] = strawberry.field(description="The roles held now.")


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
