"""The ``proxy`` authenticator: the orchestrator's Jwt service checks tokens (§7.3).

Chosen by ``build_authenticator("jwt", settings)`` when ``settings.source == "orchestrator"``.
Lines on the wire: ``service_request`` with a ``jwt_request_`` id and
``service_type:"Jwt"``, then ``service_operation`` ``validate {token}`` → claims,
``generate {claims}`` → token, and ``close {}``. The registered-claim policy (``exp``,
``iss``, ``aud``, required claims) is applied to the returned claims here as well, so a
refusal has the same typed reason whichever side finds it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio

from pywatt.auth.authenticators import (
    Claims,
    Credentials,
    _running_loop,
    _settings,
    bearer_token,
    run_coroutine,
)
from pywatt.auth.errors import AuthConfigError, AuthUnavailableError, TokenRejected

if TYPE_CHECKING:
    from pywatt.auth.keys import Clock
    from pywatt.auth.settings import JwtSettings
    from pywatt.core.service_client import ServiceClient

__all__ = ["ProxyAuthenticator", "rejection_from_message"]

SERVICE_TYPE = "Jwt"


def _rejection_classes() -> dict[str, type[TokenRejected]]:
    from pywatt.auth import errors

    found: dict[str, type[TokenRejected]] = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        if isinstance(cls, type) and issubclass(cls, TokenRejected):
            found.setdefault(cls.reason, cls)
    return found


def rejection_from_message(message: str) -> TokenRejected:
    """The typed rejection an orchestrator's error names (``"<reason>: ..."``), if it does."""
    reason = message.split(":", 1)[0].strip()
    cls = _rejection_classes().get(reason, TokenRejected)
    return cls("refused by the orchestrator")


class ProxyAuthenticator:
    """Validates (and mints) tokens through the module's service client.

    :param settings: ``source="orchestrator"`` settings; the claim policy is still applied.
    :param client: a service client; by default the running module's.
    """

    scheme = "jwt"

    def __init__(
        self,
        settings: JwtSettings | Mapping[str, Any],
        *,
        client: ServiceClient | None = None,
        clock: Clock = time.time,
    ) -> None:
        from pywatt.auth.verifier import ClaimsPolicy

        self.settings = _settings(settings)
        if self.settings.source != "orchestrator":
            raise AuthConfigError("the proxy authenticator needs source='orchestrator'")
        self._client = client
        self._connection: str | None = None
        self._lock = anyio.Lock()
        self._loop = _running_loop()
        self._policy = ClaimsPolicy(self.settings, clock=clock)

    def _service_client(self) -> ServiceClient:
        if self._client is None:
            from pywatt.core.service_client import current_service_client

            try:
                self._client = current_service_client()
            except Exception as exc:
                raise AuthUnavailableError(f"no module service client: {exc}") from None
        return self._client

    def _config(self) -> dict[str, Any]:
        s = self.settings
        inner: dict[str, Any] = {"algorithms": list(s.algorithms)}
        if s.issuer is not None:
            inner["issuer"] = s.issuer
        if s.audience is not None:
            inner["audience"] = s.audience
        return {"config": inner}

    async def _connected(self) -> str:
        if self._connection is not None:
            return self._connection
        async with self._lock:
            if self._connection is None:
                from pywatt.core.errors import PyWattError

                try:
                    self._connection = await self._service_client().connect(
                        SERVICE_TYPE, self._config()
                    )
                except PyWattError as exc:
                    raise AuthUnavailableError(f"Jwt service: {exc}") from None
        return self._connection

    async def _operation(self, name: str, params: dict[str, Any]) -> Any:
        from pywatt.core.errors import ServiceError, ServiceTimeoutError

        connection = await self._connected()
        try:
            return await self._service_client().operation(connection, SERVICE_TYPE, name, params)
        except ServiceTimeoutError as exc:
            raise AuthUnavailableError(f"Jwt {name}: {exc}") from None
        except ServiceError as exc:
            if name == "validate":
                raise rejection_from_message(str(exc)) from None
            raise AuthUnavailableError(f"Jwt {name}: {exc}") from None

    async def validate(self, token: str) -> Claims:
        claims = await self._operation("validate", {"token": token})
        if not isinstance(claims, dict):
            raise AuthUnavailableError("the Jwt service returned no claims object")
        self._policy.check(claims)
        return claims

    async def generate(self, claims: Mapping[str, Any]) -> str:
        token = await self._operation("generate", {"claims": dict(claims)})
        if not isinstance(token, str):
            raise AuthUnavailableError("the Jwt service returned no token string")
        return token

    async def close(self) -> None:
        if self._connection is not None:
            await self._operation("close", {})
            self._connection = None

    async def authenticate(self, credentials: Credentials) -> Claims:
        return await self.validate(bearer_token(credentials, self.settings))

    def authenticate_sync(self, credentials: Credentials) -> Claims:
        token = bearer_token(credentials, self.settings)
        return run_coroutine(self.validate(token), self._loop)
