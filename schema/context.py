"""The per-request context: one database session, the viewer, the DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.settings import Settings
from grid.id_numbers import IdNumberVault
from identity.sms import SmsSender
from identity.tokens import InvalidAccessToken, decode_access_token
from identity.viewer import Viewer, load_viewer
from identity.wechat import WeChatClient
from schema.errors import unauthenticated

if TYPE_CHECKING:
    from resolvers.loaders import Loaders


@dataclass(frozen=True)
class Services:
    """Process-wide collaborators, built once at start-up."""

    settings: Settings
    sms: SmsSender
    wechat: WeChatClient
    vault: IdNumberVault


@dataclass
class Context:
    services: Services
    session: AsyncSession
    request_id: str
    access_token: str | None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _viewer_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _viewer: Viewer | None = None
    _viewer_loaded: bool = False
    _loaders: Loaders | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    @asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """The session, one user at a time: sibling fields resolve concurrently, and an
        AsyncSession must not run two statements at once. Never await a loader inside."""
        async with self._lock:
            yield self.session

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from resolvers.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

    def forget_loaded(self) -> None:
        """Drop the loaders and what they cached (after a rollback expired those rows)."""
        self._loaders = None

    async def viewer(self) -> Viewer | None:
        """The logged-in viewer; None if no token was sent. A bad or expired token, or a
        disabled user, is UNAUTHENTICATED: the client must refresh or log in again."""
        async with self._viewer_lock:
            if not self._viewer_loaded:
                if self.access_token is not None:
                    try:
                        user_id = decode_access_token(self.access_token, self.settings)
                    except InvalidAccessToken:
                        raise unauthenticated() from None
                    async with self.db() as session:
                        self._viewer = await load_viewer(session, user_id, self.now())
                    if self._viewer is None:
                        raise unauthenticated()
                self._viewer_loaded = True
        return self._viewer

    async def require_viewer(self) -> Viewer:
        viewer = await self.viewer()
        if viewer is None:
            raise unauthenticated()
        return viewer

    @property
    def loaded_viewer(self) -> Viewer:
        """The viewer inside a field of an object that was only reachable after login."""
        assert self._viewer is not None, "viewer not loaded"
        return self._viewer
