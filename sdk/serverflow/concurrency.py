"""Global concurrency limits (``/v2/concurrency_limits``) held through leases, as prefect 3.9.1 does.

    from serverflow.concurrency import concurrency
    with concurrency("database", occupy=1):
        ...  # at most `limit` holders of "database" run this at once, across processes

A slot is taken with ``increment-with-lease`` (a full limit answers 423 and we wait as told by Retry-After),
kept alive by a thread renewing the lease every 0.75 x ``lease_duration``, and given back with
``decrement-with-lease`` on exit, exceptions included. A holder that dies stops renewing: the server reclaims
its slots when the lease expires. Task tags use the same mechanism with limits named ``tag:<tag>``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._api import api_client
from .exceptions import APIError, ServerflowError

if TYPE_CHECKING:
    from .client import SyncClient

logger = logging.getLogger("serverflow.concurrency")

RENEWAL_FRACTION = 0.75  # renew well before expiry, as prefect's client does
MIN_LEASE_SECONDS = 60  # the API refuses shorter leases
DEFAULT_WAIT_SECONDS = 1.0  # when a 423 carries no Retry-After


class ConcurrencySlotAcquisitionError(ServerflowError):
    """The limits do not exist (with ``strict=True``) or the API refused the request."""


class Lease:
    """Slots held on one or more limits until ``release``; renewed in the background meanwhile."""

    def __init__(self, client: SyncClient, lease_id: str, limits: list[dict[str, Any]], duration: float) -> None:
        self.client = client
        self.id = lease_id
        self.limits = limits
        self.duration = duration
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_loop, name=f"lease-{lease_id[:8]}", daemon=True)
        self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.duration * RENEWAL_FRACTION):
            try:
                self.client.request(
                    "POST", f"/v2/concurrency_limits/leases/{self.id}/renew", {"lease_duration": self.duration}
                )
            except APIError as exc:
                if exc.status_code == 410:
                    logger.warning(
                        "Concurrency lease %s expired before it was renewed; its slots were reclaimed", self.id
                    )
                    return
                logger.warning("Renewing concurrency lease %s failed (%s); retrying", self.id, exc)
            except ServerflowError as exc:
                logger.warning("Renewing concurrency lease %s failed (%s); retrying", self.id, exc)

    def release(self) -> None:
        self._stop.set()
        self._renewer.join(timeout=5)
        try:
            self.client.request("POST", "/v2/concurrency_limits/decrement-with-lease", {"lease_id": self.id})
        except APIError as exc:
            if exc.status_code not in (404, 410):  # already expired and reclaimed: nothing left to give back
                raise


def acquire(
    client: SyncClient,
    names: list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    lease_duration: float = 300,
    strict: bool = False,
    holder: dict[str, Any] | None = None,
) -> Lease | None:
    """Wait for ``occupy`` slots on every limit in ``names``; None when none of the limits exists."""
    duration = max(float(lease_duration), MIN_LEASE_SECONDS)
    body: dict[str, Any] = {"names": names, "slots": occupy, "mode": "concurrency", "lease_duration": duration}
    if holder is not None:
        body["holder"] = holder
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    response: dict[str, Any] = {}
    while True:
        try:
            response = client.request("POST", "/v2/concurrency_limits/increment-with-lease", body)
            break
        except APIError as exc:
            if exc.status_code != 423:
                raise ConcurrencySlotAcquisitionError(
                    f"Unable to acquire concurrency slots on {names!r}: {exc}"
                ) from exc
            wait = exc.retry_after if exc.retry_after is not None else DEFAULT_WAIT_SECONDS
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"Attempt to acquire concurrency slots timed out after {timeout_seconds} second(s)"
                    ) from None
                wait = min(wait, left)
            time.sleep(max(0.05, wait))
    limits = list(response.get("limits") or [])
    if not limits:
        if strict:
            raise ConcurrencySlotAcquisitionError(
                f"Concurrency limits {names!r} must be created before acquiring slots"
            )
        logger.debug("Concurrency limits %r do not exist - skipping acquisition.", names)
        return None
    return Lease(client, str(response["lease_id"]), limits, duration)


@contextmanager
def concurrency(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    lease_duration: float = 300,
    strict: bool = False,
) -> Iterator[None]:
    """Hold ``occupy`` slots of each named limit for the duration of the block (prefect's ``concurrency``)."""
    name_list = [names] if isinstance(names, str) else list(names)
    if not name_list:
        yield
        return
    with api_client() as client:
        lease = acquire(client, name_list, occupy, timeout_seconds, lease_duration, strict)
        try:
            yield
        finally:
            if lease is not None:
                lease.release()


# Task runs hold one slot of each ``tag:<tag>`` limit while they run, as prefect 3.9.1's task engine does.
TASK_LEASE_SECONDS = 60


def acquire_task_slots(client: SyncClient, tags: list[str], task_run_id: str) -> Lease | None:
    if not tags:
        return None
    return acquire(
        client,
        [f"tag:{tag}" for tag in tags],
        1,
        lease_duration=TASK_LEASE_SECONDS,
        holder={"type": "task_run", "id": task_run_id},
    )
