"""The persistent catalog: Clout's tables and views registered once in a Hive metastore.

``clout sql``, ``clout serve-sql`` (JDBC/ODBC) and spark-sql then find them from any new process without
registering anything. By default the metastore is the embedded Derby database pyspark ships, in a folder
beside the lakehouse. Derby admits one JVM at a time, and jobs run concurrently (a daily run beside a
backfill), so jobs never open it: they keep an in-memory catalog and write by path, and the catalog is
brought up to date by a short step (``clout catalog``, which a job that changed the set of tables runs as it
ends) that waits, bounded, for the lock. A registered Delta table is read through its location, so new
commits need no registration: only a table appearing, moving, or a view's definition changing do. What was
last registered is recorded beside the metastore, so that step and ``clout sql`` compare and skip.

With ``catalog.metastore_uri`` (a shared metastore service, what a cluster sets) every session opens the
metastore and jobs register their tables themselves.
"""

from __future__ import annotations

import csv
import fcntl
import getpass
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from pyspark.sql import SparkSession

from clout.config import Settings
from clout.jvm import spark_home_jars
from clout.session import build_session, spark_jars
from clout.sqltext import identifier
from clout.tables import ALL_TABLES, TableStore

EX_TEMPFAIL = 75  # sysexits: the metastore was busy, try again later


class MetastoreBusy(RuntimeError):
    """Another process holds the embedded metastore past the configured wait."""


def _lock_file(settings: Settings) -> Path:
    return Path(settings.metastore_path()) / "metastore_db" / "dbex.lck"


def metastore_holder(settings: Settings) -> int | None:
    """The pid of the process whose JVM has the embedded metastore booted, or None when it is free.

    Derby holds a POSIX lock on ``dbex.lck`` while the database is booted; F_GETLK reads it without taking it,
    so asking never gets in the way of a JVM booting the database at that moment.
    """
    lock = _lock_file(settings)
    if not lock.exists():
        return None
    flock = "@hhqqi4x"  # struct flock on Linux: type, whence, start, len, pid (padded to its C size)
    fd = os.open(lock, os.O_RDWR)
    try:
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(flock, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    finally:
        os.close(fd)
    lock_type, _, _, _, pid = struct.unpack(flock, answer)
    return None if lock_type == fcntl.F_UNLCK else pid


def describe_process(pid: int) -> str:
    """``process N (<the command that started its JVM>)``: pyspark's JVM is a child of the Python command."""
    try:
        parent = Path(f"/proc/{pid}/status").read_text().split("PPid:")[1].split()[0]
        command = Path(f"/proc/{parent}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        return f"process {pid} ({command[:200]})"
    except (OSError, IndexError):
        return f"process {pid}"


def wait_for_metastore(settings: Settings, seconds: float) -> int | None:
    """Wait up to ``seconds`` for the embedded metastore to be free; the holder's pid if it still is not."""
    deadline = time.monotonic() + seconds
    while (holder := metastore_holder(settings)) is not None and time.monotonic() < deadline:
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    return holder


def is_persistent(spark: SparkSession) -> bool:
    """Whether the session's catalog is the metastore. Read from the SparkContext's conf, fixed when it started: a
    builder handing the setting to an already running session copies it into the session conf without effect."""
    return spark.sparkContext.getConf().get("spark.sql.catalogImplementation", "in-memory") == "hive"


def wanted_state(store: TableStore) -> dict:
    """What the catalog must hold for this lakehouse: each existing table's location and the views' queries."""
    tables = {spec.name: store.path(spec) for spec in ALL_TABLES if store.exists(spec)}
    return {"tables": tables, "views": store.view_definitions() if "scores" in tables else {}}


def _record_file(settings: Settings) -> Path | None:
    folder = settings.metastore_path()
    return Path(folder) / f"registered-{identifier(settings.storage.database, 'storage.database')}.json" if folder else None


def recorded_state(settings: Settings) -> dict | None:
    record = _record_file(settings)
    try:
        return json.loads(record.read_text()) if record else None
    except (OSError, ValueError):
        return None


def sync(spark: SparkSession, settings: Settings, force: bool = False) -> list[str] | None:
    """Register what the catalog lacks in a session on the persistent metastore; None when it was up to date.

    ``force``: register (and re-point) every table even when the record says nothing changed, for a metastore
    edited by hand.
    """
    if not is_persistent(spark):
        raise RuntimeError("catalog.sync needs a session on the persistent metastore (build_session(..., catalog=True))")
    store = TableStore(spark, settings)
    wanted = wanted_state(store)
    if not force and recorded_state(settings) == wanted:
        return None
    registered = store.register_all()
    record = _record_file(settings)
    if record:
        tmp = record.with_suffix(".tmp")
        tmp.write_text(json.dumps(wanted, indent=1, sort_keys=True))
        tmp.replace(record)  # atomic: a reader sees the old record or the new one
    return registered


def open_session(settings: Settings, app_suffix: str, wait_seconds: float, extra: dict[str, str] | None = None) -> SparkSession:
    """A session on the persistent catalog, brought up to date; MetastoreBusy when another process holds it."""
    if settings.metastore_path():
        holder = wait_for_metastore(settings, wait_seconds)
        if holder is not None:
            raise MetastoreBusy(f"the catalog's metastore {settings.metastore_path()} is held by {describe_process(holder)}")
    spark = build_session(settings, app_suffix, catalog=True, extra=extra)
    if not is_persistent(spark):  # a session was already running in this process (in-memory catalog): it cannot switch
        TableStore(spark, settings).register_all()
        return spark
    # Hive opens the metastore at the first catalog call: make it now, right after the lock was seen free, so this
    # process holds it from here on (a server would otherwise boot it at its first client and fail if taken meanwhile)
    known = spark.catalog.databaseExists(identifier(settings.storage.database, "storage.database"))
    sync(spark, settings, force=not known)  # a metastore recreated beside an old record: register everything
    return spark


def query_session(settings: Settings) -> SparkSession:
    """For ``clout sql``: the persistent catalog, or when another process holds it (a JDBC server, a registration
    step), a session that registers the tables itself: slower, same answer."""
    try:
        return open_session(settings, "sql", settings.catalog.query_wait_seconds)
    except MetastoreBusy as busy:
        print(f"clout sql: {busy}; registering the tables in this session instead (slower)", file=sys.stderr)
        spark = build_session(settings, "sql")
        TableStore(spark, settings).register_all()
        return spark


def serving_url(settings: Settings) -> str | None:
    """The JDBC URL of a ``clout serve-sql`` running on this lakehouse's catalog, or None.

    Only for the embedded metastore, where it is known who serves it: its holder must be a serve-sql process and
    conf's JDBC address must accept connections. A query sent there is answered by a warm JVM in seconds, where a
    new session spends most of a minute starting Spark, opening the catalog and planning its first Delta scan.
    """
    if not settings.metastore_path():
        return None  # a shared metastore service: a listening port does not say which lakehouse it serves
    holder = metastore_holder(settings)
    if holder is None or "serve-sql" not in describe_process(holder):
        return None
    host, port = settings.catalog.jdbc_host, settings.catalog.jdbc_port
    try:
        with socket.create_connection((host, port), timeout=1.0):
            pass
    except OSError:
        return None
    return f"jdbc:hive2://{host}:{port}/{identifier(settings.storage.database, 'storage.database')}"


def query_server(url: str, query: str, limit: int) -> tuple[list[str], list[list[str]], bool] | str:
    """Run ``query`` on the JDBC server at ``url`` with beeline (pyspark ships it): (header, the first ``limit`` rows,
    whether more followed), or beeline's error text. Rows stream (``--incremental``) and beeline is stopped once
    ``limit`` + 1 have arrived, so a large result is not fetched whole."""
    java = str(Path(os.environ["JAVA_HOME"]) / "bin" / "java") if os.environ.get("JAVA_HOME") else (shutil.which("java") or "java")
    command = [java, "-cp", f"{spark_home_jars()}/*", "org.apache.hive.beeline.BeeLine", "-u", url, "-n", getpass.getuser()]
    command += ["--outputformat=csv2", "--silent=true", "--showHeader=true", "--incremental=true", "-e", query]
    beeline = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        records = csv.reader(_without_prompt(beeline.stdout, url))
        header = next(records, None)
        rows: list[list[str]] = []
        for record in records:
            if len(rows) == limit:
                return header or [], rows, True
            rows.append(record)
        error = beeline.stderr.read()
        if beeline.wait(timeout=60) != 0 or header is None:
            stated = [line for line in error.splitlines() if line.strip() and not line.startswith(("\t", " "))]  # no JVM stack frames
            return "\n".join(stated[:5]) or f"beeline exited with {beeline.returncode}"
        return header, rows, False
    finally:
        if beeline.poll() is None:
            beeline.kill()
        beeline.wait()


def _without_prompt(lines, url: str):
    """beeline's output, less the prompt (``0: jdbc:hive2://...> ``) it writes before the first line even when silent."""
    for number, line in enumerate(lines):
        if number == 0 and "> " in line and url.split("/")[2] in line.split("> ", 1)[0]:
            line = line.split("> ", 1)[1]
        yield line


def print_table(header: list[str], rows: list[list[str]], more: bool, left: tuple[int, ...] = ()) -> None:
    """As ``DataFrame.show(truncate=False)`` prints; the columns numbered in ``left`` aligned left (long text)."""
    widths = [max([len(name)] + [len(row[i]) if i < len(row) else 0 for row in rows]) for i, name in enumerate(header)]
    align = [str.ljust if i in left else str.rjust for i in range(len(header))]
    border = "+" + "+".join("-" * w for w in widths) + "+"
    print(border)
    print("|" + "|".join(justify(name, w) for name, w, justify in zip(header, widths, align, strict=True)) + "|")
    print(border)
    for row in rows:
        print("|" + "|".join(align[i](row[i] if i < len(row) else "", w) for i, w in enumerate(widths)) + "|")
    print(border)
    if more:
        print(f"only showing top {len(rows)} row{'s' if len(rows) != 1 else ''}")
    print()


def refresh_after_job(spark: SparkSession, settings: Settings, env: str, overrides: list[str]) -> None:
    """See ``_refresh_after_job``; whatever goes wrong is reported, never raised: the job's data is written."""
    try:
        _refresh_after_job(spark, settings, env, overrides)
    except Exception as err:
        print(f"catalog: not updated ({type(err).__name__}: {str(err)[:500]}); the data is written, `clout catalog` registers it", file=sys.stderr)


def _refresh_after_job(spark: SparkSession, settings: Settings, env: str, overrides: list[str]) -> None:
    """At the end of a job: bring the catalog up to date if the job changed what it must hold.

    Embedded metastore: only once one exists (the first ``clout catalog``, ``clout sql`` or ``clout serve-sql``
    creates it), and only when the set of tables, their locations or the views changed; then ``clout catalog`` runs
    as a short process of its own, since this job's JVM has an in-memory catalog. Failing to register never fails
    the job: its data is written, and the next ``clout catalog`` or ``clout sql`` registers it.
    """
    if not settings.metastore_path():
        if is_persistent(spark):
            TableStore(spark, settings).register_all()
        return
    if not (Path(settings.metastore_path()) / "metastore_db").exists():
        return
    if recorded_state(settings) == wanted_state(TableStore(spark, settings)):
        return
    started = time.monotonic()
    command = [sys.executable, "-m", "clout.cli", "catalog", "--env", env, *[x for kv in overrides for x in ("--set", kv)], "--set", "spark.driver_memory=1g"]
    # bounded: the wait for the lock, then a registration that takes well under a minute here
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=settings.catalog.register_wait_seconds + 600)
    if done.returncode == 0:
        print(f"catalog: registered in {time.monotonic() - started:.0f} s")
        return
    reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
    print(f"catalog: not updated ({reason}); the data is written, `clout catalog` registers it", file=sys.stderr)


def spark_sql_command(settings: Settings) -> list[str]:
    """spark-sql (from the pyspark install) on the same catalog: the Delta jars and extension, and the metastore."""
    import pyspark

    metastore = settings.metastore_path()
    conf = {
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.sql.warehouse.dir": settings.table_path("_warehouse"),
        **(
            {"spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={metastore}/metastore_db;create=true"}
            if metastore
            else {"spark.hadoop.hive.metastore.uris": settings.catalog.metastore_uri}
        ),
    }
    conf |= settings.spark.conf  # the same time zone, shuffle and Delta settings as clout sql
    command = [str(Path(pyspark.__file__).parent / "bin" / "spark-sql"), "--jars", ",".join(spark_jars())]
    if settings.spark.master:
        command += ["--master", settings.spark.master]
    if metastore:
        command += ["--driver-java-options", f"-Dderby.system.home={metastore}"]
    return command + [x for key, value in conf.items() for x in ("--conf", f"{key}={value}")] + ["--database", settings.storage.database]


def serve(settings: Settings) -> None:
    """Run Spark's Thrift JDBC/ODBC server (HiveThriftServer2) on the catalog until SIGINT or SIGTERM."""
    host, port = settings.catalog.jdbc_host, settings.catalog.jdbc_port
    extra = {
        "spark.hadoop.hive.server2.thrift.bind.host": host,
        "spark.hadoop.hive.server2.thrift.port": str(port),
        # the server's handler threads resolve classes through the JVM's class path, not the session's added jars:
        # without the Delta jars there, every connection fails with ClassNotFoundException: DeltaCatalog
        "spark.driver.extraClassPath": os.pathsep.join(spark_jars()),
    }
    spark = open_session(settings, "serve-sql", settings.catalog.register_wait_seconds, extra=extra)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = spark._jvm.org.apache.spark.sql.hive.thriftserver.HiveThriftServer2.startWithContext(spark._jsparkSession.sqlContext())
    try:
        print(f"clout serve-sql: jdbc:hive2://{host}:{port}/{settings.storage.database} (SIGINT or SIGTERM stops it)", flush=True)
        while not stop.wait(1.0):  # a timed wait: the signal handler runs between waits
            pass
    finally:
        server.stop()
        spark.stop()
    print("clout serve-sql: stopped", flush=True)
