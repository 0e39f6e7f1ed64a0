"""The dev orchestrator's Jwt service (§7.3): ``validate``, ``generate`` and ``close``.

Keys come from the orchestrator's secret source (``JWT_SECRET`` by default: an HMAC secret, a
PEM, a JWK or a JWKS) and are read again on every operation, so a rotation applies at once.
Verification and signing are pywatt-auth's; the service is offered when it is installed.
A refusal's error text starts with pywatt-auth's stable reason (``expired: ...``).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pywatt.core.errors import ServiceError

if TYPE_CHECKING:
    from pywatt.cli.orchestrator.secret_source import SecretSource

__all__ = ["JwtService"]


class JwtService:
    """Jwt connections: each keeps the policy its ``service_request`` config asked for."""

    def __init__(self, secrets: SecretSource, secret_name: str = "JWT_SECRET") -> None:
        self.secrets = secrets
        self.secret_name = secret_name
        self._connections: dict[str, dict[str, Any]] = {}

    def connect(self, config: Any) -> str:
        try:
            import pywatt.auth  # noqa: F401
        except ImportError:
            raise ServiceError("the dev orchestrator's Jwt service needs pywatt-auth") from None
        inner = config.get("config") if isinstance(config, dict) else None
        policy = dict(inner) if isinstance(inner, dict) else {}
        policy.setdefault("algorithms", ["HS256"])
        connection_id = f"conn-jwt-{uuid.uuid4()}"
        self._connections[connection_id] = policy
        return connection_id

    def _material(self) -> str:
        value = self.secrets.get(self.secret_name)
        if value is None:
            raise ServiceError(f"no secret {self.secret_name!r} holds the Jwt keys")
        return value

    async def operation(self, connection_id: str, op: str, params: dict[str, Any]) -> Any:
        policy = self._connections.get(connection_id)
        if policy is None:
            raise ServiceError(f"no Jwt connection {connection_id!r}")
        if op == "validate":
            return self._validate(policy, params.get("token"))
        if op == "generate":
            return self._generate(policy, params.get("claims"))
        if op == "close":
            self._connections.pop(connection_id, None)
            return None
        raise ServiceError(f"unknown Jwt operation {op!r}")

    def _validate(self, policy: dict[str, Any], token: Any) -> dict[str, Any]:
        from pywatt.auth import JwtSettings, JwtVerifier, TokenRejected

        if not isinstance(token, str):
            raise ServiceError("malformed: parameter 'token' must be a string")
        settings = JwtSettings(**_policy_fields(policy), key=self._material())
        try:
            return JwtVerifier(settings).verify(token)
        except TokenRejected as exc:
            raise ServiceError(f"{exc.reason}: token refused") from None

    def _generate(self, policy: dict[str, Any], claims: Any) -> str:
        import warnings

        from joserfc import jws

        from pywatt.auth import load_keys
        from pywatt.core._wire import dumps

        if not isinstance(claims, dict):
            raise ServiceError("parameter 'claims' must be an object")
        for key in load_keys(self._material()):
            for alg in policy["algorithms"]:
                header = {"alg": alg, "typ": "JWT", **({"kid": key.kid} if key.kid else {})}
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        return jws.serialize_compact(header, dumps(claims), key, algorithms=[alg])
                    except Exception:  # this key cannot sign this alg (a public key)
                        continue
        raise ServiceError("no key in the Jwt secret can sign with the allowed algorithms")


def _policy_fields(policy: dict[str, Any]) -> dict[str, Any]:
    names = ("algorithms", "issuer", "audience", "required_claims", "leeway")
    return {name: policy[name] for name in names if name in policy}
