"""The `prefect` websocket subprotocol of /events/in, independent of any transport.

Used by the FastAPI websocket route (local stack) and by the API Gateway WebSocket
Lambda, so both answer exactly alike:
- the server echoes the `prefect` subprotocol;
- the first client message must be {"type": "auth", "token": <str|null>}; the server
  answers {"type": "auth_success"}, or {"type": "auth_failure", "reason"} and closes
  with 1008 (policy violation) as the reference does;
- then every text frame is one Event JSON, with no application-level acks (the client
  checkpoints with protocol pings).
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass
from typing import Any

SUBPROTOCOL = "prefect"
POLICY_VIOLATION = 1008
AUTH_SUCCESS: dict[str, Any] = {"type": "auth_success"}


@dataclass(frozen=True)
class AuthDecision:
    ok: bool
    reason: str | None = None

    def reply(self) -> dict[str, Any]:
        return AUTH_SUCCESS if self.ok else {"type": "auth_failure", "reason": self.reason}


def offered_subprotocols(header_values: list[str]) -> list[str]:
    """Subprotocols from (possibly several, comma-separated) Sec-WebSocket-Protocol headers."""
    return [p.strip() for value in header_values for p in value.split(",") if p.strip()]


def authenticate(raw: str | bytes | None, api_key: str | None, *, header_authorized: bool = False) -> AuthDecision:
    """Decide the first message of a connection."""
    try:
        message = json.loads(raw) if raw is not None else None
    except (TypeError, ValueError):
        message = None
    if not isinstance(message, dict) or message.get("type") != "auth":
        return AuthDecision(False, "Expected 'auth' message")
    if api_key is None or header_authorized:
        return AuthDecision(True)
    token = message.get("token")
    if not token:
        return AuthDecision(False, "Auth required but no token provided")
    if not isinstance(token, str) or not hmac.compare_digest(token, api_key):
        return AuthDecision(False, "Invalid token")
    return AuthDecision(True)
