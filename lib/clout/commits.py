"""Delta commits that lose a race are retried, a bounded number of times, and logged.

Two Clout jobs may write one table at once (the daily run and a backfill of another version; two backfills).
Delta's optimistic concurrency lets both commit when they touch different partitions; when the conflict checker
cannot tell (a ``replaceWhere`` on a column that is not a partition column, a MERGE over the same partition) the
later commit fails with a concurrent-modification error and writes nothing. Every Clout write is idempotent
(replace a partition, insert rows whose keys are new, append rows checked new against a pinned version), so
running it again against the new table version is correct; giving up after ``attempts`` keeps a real, lasting
conflict visible instead of spinning.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 6
FIRST_BACKOFF_SECONDS = 0.5
retries_logged: list[str] = []  # "<table>: <exception>" per retry in this process (read by tests and the job's metrics)


def conflict_errors() -> tuple[type[BaseException], ...]:
    from delta.exceptions import (
        ConcurrentAppendException,
        ConcurrentDeleteDeleteException,
        ConcurrentDeleteReadException,
        ConcurrentTransactionException,
        ConcurrentWriteException,
        DeltaConcurrentModificationException,
        MetadataChangedException,
        ProtocolChangedException,
    )

    return (
        ConcurrentAppendException, ConcurrentDeleteDeleteException, ConcurrentDeleteReadException, ConcurrentTransactionException,
        ConcurrentWriteException, DeltaConcurrentModificationException, MetadataChangedException, ProtocolChangedException,
    )  # fmt: skip


def with_retry(table: str, write: Callable[[], T], attempts: int = ATTEMPTS, first_backoff: float = FIRST_BACKOFF_SECONDS) -> T:
    """Run ``write``; on a Delta conflict wait (exponential, jittered) and run it again, at most ``attempts`` times."""
    errors = conflict_errors()
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except errors as err:
            if attempt == attempts:
                log.error("%s: Delta conflict persisted after %d attempts: %s", table, attempts, _first_line(err))
                raise
            wait = first_backoff * 2 ** (attempt - 1) * (1 + random.random())  # jittered: two jobs that collided do not retry in step
            retries_logged.append(f"{table}: {type(err).__name__}")
            log.warning("%s: Delta conflict (attempt %d of %d), retrying in %.1fs: %s", table, attempt, attempts, wait, _first_line(err))
            time.sleep(wait)
    raise AssertionError("unreachable")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
