"""Whether a request's Authorization header carries the API key: one answer for the HTTP API and both
websocket transports (the local stack's socket and the API Gateway WebSocket Lambda)."""

from __future__ import annotations

import base64
import binascii
import hmac


def header_carries_key(authorization: str | None, api_key: str | None) -> bool | None:
    """True: `Bearer <key>` (our SDK) or `Basic base64(<key>)` (prefect's PREFECT_API_AUTH_STRING, which its
    client also sends on a websocket upgrade, and its UI). False: bearer or basic credentials, not the key.
    None: no such credentials, or no key to check them against."""
    if not api_key or not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(decoded, api_key.encode())
    if scheme.lower() == "bearer":
        return hmac.compare_digest(token.strip().encode(), api_key.encode())  # bytes: a non-ASCII token is no error
    return None
