"""Fault injection for the crash-consistency tests: ``CLOUT_FAULT=<stage>:<point>[:<table>]`` SIGKILLs the job there.

``stage`` is a name the daily driver's ``StageTimer`` runs (ingest, identity, accounts, aggregate, bots, score,
topics, explain, publish); ``table`` (optional) narrows the fault to writes of that table, otherwise the stage's first
write that reaches the point dies. Points, around every data write (``TableStore`` writes and the direct Delta
MERGEs, which enter ``writing``):

- ``before_write``: nothing of the write is on storage;
- ``after_write``: the write's Delta commit is done, the stage's next step is not;
- ``before_commit``: the write's data files are on storage but its ``_delta_log/<version>.json`` is not. Delta
  writes the files, then the commit, inside one JVM call, so Python cannot stop between them. A watcher thread,
  started before the write, lists the table folder every millisecond and SIGKILLs as soon as the new data files
  there are complete (their parquet footer written). Measured here, the commit follows the last data file by
  150-400 ms (replaceWhere and MERGE, 2 busy cores), so the kill lands in between; the crash test checks it on
  storage each time: new data files, no new commit.

The kill takes the JVM first, then this process: killing only the Python driver would leave the JVM to notice the
closed pipe and shut down gracefully, which may finish a commit in flight. A real crash (OOM killer, lost node)
gives no such grace.

The environment is read once at import: when ``CLOUT_FAULT`` is unset (always, outside the tests) every hook is
one comparison with None.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

ENV = "CLOUT_FAULT"
POINTS = ("before_write", "after_write", "before_commit")
POLL_SECONDS = 0.001  # the watcher's listing interval: the file -> commit gap of a small write is tens of milliseconds


@dataclass(frozen=True)
class Fault:
    stage: str
    point: str
    table: str | None = None

    def matches(self, stage: str | None, point: str, table: str) -> bool:
        return stage == self.stage and point == self.point and self.table in (None, table)


def parse(text: str | None) -> Fault | None:
    """``<stage>:<point>[:<table>]`` -> Fault; empty or unset -> None. A malformed value is an error, not a silent no-op."""
    if not text:
        return None
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[1] not in POINTS or not parts[0]:
        raise ValueError(f"{ENV}={text!r}: expected <stage>:<point>[:<table>] with a point among {', '.join(POINTS)}")
    return Fault(parts[0], parts[1], parts[2] if len(parts) == 3 and parts[2] else None)


FAULT = parse(os.environ.get(ENV))
_stage: contextvars.ContextVar[str | None] = contextvars.ContextVar("clout_stage", default=None)


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """The stage running now (set by ``StageTimer``), which the fault's stage is matched against."""
    token = _stage.set(name)
    try:
        yield
    finally:
        _stage.reset(token)


def point(name: str, table: str) -> None:
    """SIGKILL the job here when ``CLOUT_FAULT`` names the current stage, this point and (if given) this table."""
    if FAULT is not None and FAULT.matches(_stage.get(), name, table):
        kill(f"{FAULT.stage}:{name} on {table}")


@contextlib.contextmanager
def writing(table: str, path: str) -> Iterator[None]:
    """Around one Delta write of ``table`` at ``path``: the before_write, before_commit and after_write points."""
    if FAULT is None:
        yield
        return
    point("before_write", table)
    watcher = CommitWatcher(table, path) if FAULT.matches(_stage.get(), "before_commit", table) else None
    if watcher:
        watcher.start()
    try:
        yield
    finally:
        if watcher:
            watcher.stop()  # a write that added no data file (nothing to append) commits without ever reaching the point
    point("after_write", table)


def kill(where: str) -> None:
    """SIGKILL the JVM this driver launched, then this process: the job dies with no chance to clean up."""
    print(f"clout fault: SIGKILL at {where}", file=sys.stderr, flush=True)
    jvm = _jvm_pid()
    if jvm:
        os.kill(jvm, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _jvm_pid() -> int | None:
    """The pid of the JVM PySpark started (spark-submit execs java); None when attached to one it did not start."""
    from pyspark import SparkContext

    proc = getattr(SparkContext._gateway, "proc", None)
    return proc.pid if proc is not None else None


def data_files(path: str) -> set[str]:
    """Data files under a local Delta table folder (every partition folder), not the log or checksums."""
    found: set[str] = set()
    pending = [path]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "_delta_log":
                    pending.append(entry.path)
            elif entry.name.endswith(".parquet"):
                found.add(entry.path)
    return found


def _complete(parquet_file: str) -> bool:
    """A parquet file is complete once its footer is written: it ends with the magic bytes, as it begins."""
    try:
        with open(parquet_file, "rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < 8:
                return False
            f.seek(-4, os.SEEK_END)
            return f.read(4) == b"PAR1"
    except FileNotFoundError:
        return False


def log_version(path: str) -> int | None:
    """The latest commit in ``_delta_log`` (the highest ``<version>.json``), None when there is none."""
    try:
        names = os.listdir(os.path.join(path, "_delta_log"))
    except FileNotFoundError:
        return None
    versions = [int(n[: -len(".json")]) for n in names if n.endswith(".json") and n[: -len(".json")].isdigit()]
    return max(versions, default=None)


class CommitWatcher:
    """Lists a table folder every millisecond during a write and kills the job once new data files are complete there."""

    def __init__(self, table: str, path: str):
        local = path.removeprefix("file://").removeprefix("file:")
        if "://" in local:
            raise ValueError(f"{ENV}: before_commit needs a local table path, not {path}")
        self.table, self.path = table, local
        self.version = log_version(local)
        self.before = data_files(local)
        self._jvm = _jvm_pid()  # looked up now, on the calling thread: the watcher must not wait on py4j
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"clout-fault-{table}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.is_set():
            new = data_files(self.path) - self.before
            if new and all(_complete(f) for f in new):
                if self._jvm:
                    os.kill(self._jvm, signal.SIGKILL)  # first: the JVM is the one about to commit
                committed = log_version(self.path)
                print(
                    f"clout fault: SIGKILL at {FAULT.stage if FAULT else '?'}:before_commit on {self.table}: {len(new)} new data file(s),"
                    f" _delta_log at version {committed} (before the write: {self.version})",
                    file=sys.stderr,
                    flush=True,
                )
                os.kill(os.getpid(), signal.SIGKILL)
            time.sleep(POLL_SECONDS)
