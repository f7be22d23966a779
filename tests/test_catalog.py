"""The persistent catalog and the JDBC server, the way users run them: `clout sql`, a job's end and
`clout serve-sql` as processes of their own on one small lakehouse (a few rows written through TableStore),
a real embedded Derby metastore, Spark's real Thrift server and beeline from the pyspark install."""

import datetime as dt
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyspark
import pytest

from clout import catalog
from clout.config import ConfigError, load_settings
from clout.tables import ACCOUNTS, ERASURE_LOG, IDENTITY_LINKS, SCORES, TableStore
from conftest import overrides_for, settings_for

EXTRA = ["storage.database=clout_catalog", "spark.driver_memory=1g"]  # its own database: the shared session keeps its names
DAY = dt.date(2026, 11, 20)
ENV = os.environ | {"PYSPARK_PYTHON": sys.executable, "GX_ANALYTICS_ENABLED": "false"}


def score_row(person: str, score: int) -> dict:
    return dict(
        snapshot_date=DAY, algorithm_version="v1", person_id=person, score=score, raw_score=score / 100, reach=1.0, amplification=1.0, authority=1.0,
        p_reach=0.5, p_amplification=0.5, p_authority=0.5, networks=["twitter"], network_parts=[], bot_probability=0.0, suppressed=False, code_version="test",
    )  # fmt: skip


@pytest.fixture(scope="module")
def lake(spark, test_root):
    """scores in three Delta versions (0: created, 1: one person, 2: two persons) and an empty accounts table."""
    settings = settings_for(test_root, "catalog", EXTRA)
    store = TableStore(spark, settings)
    store.ensure(ACCOUNTS)
    store.append(SCORES, spark.createDataFrame([score_row("person:p0", 50)], SCORES.schema))
    time.sleep(1.1)  # distinct commit timestamps for TIMESTAMP AS OF
    store.append(SCORES, spark.createDataFrame([score_row("person:p1", 60)], SCORES.schema))
    commits = {r.version: r.timestamp for r in store.delta(SCORES).history().select("version", "timestamp").collect()}  # three commits
    return settings, store, commits


def clout(test_root, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    sets = [x for kv in overrides_for(test_root, "catalog", EXTRA) for x in ("--set", kv)]
    return subprocess.run([sys.executable, "-m", "clout.cli", *args, *sets], env=ENV, capture_output=True, text=True, timeout=timeout)


def record_mtime(settings) -> float:
    return (Path(settings.metastore_path()) / f"registered-{settings.storage.database}.json").stat().st_mtime_ns


def test_sql_registers_once_and_time_travels(lake, test_root):
    """The first `clout sql` on a lakehouse creates the metastore and registers the tables; time travel by version
    and by timestamp answers from the versions written."""
    settings, _, commits = lake
    query = (
        f"SELECT (SELECT count(*) FROM scores VERSION AS OF 1) AS at_v1, (SELECT count(*) FROM clout_catalog.scores TIMESTAMP AS OF '{commits[1]}') AS at_t1, "
        "(SELECT count(*) FROM scores) AS now, (SELECT max(score) FROM scores_current) AS top"
    )
    started = time.monotonic()
    done = clout(test_root, "sql", query)
    print(f"clout sql (registering first): {time.monotonic() - started:.1f} s")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "|1    |1    |2  |60 |" in done.stdout, done.stdout
    assert (Path(settings.metastore_path()) / "metastore_db").is_dir()
    assert set(catalog.recorded_state(settings)["tables"]) == {"accounts", "scores"}


def test_a_job_that_adds_a_table_registers_it_as_it_ends(lake, test_root, capsys):
    settings, store, _ = lake
    store.ensure(ERASURE_LOG)
    catalog.refresh_after_job(store.spark, settings, "local", overrides_for(test_root, "catalog", EXTRA))
    assert "catalog: registered in" in capsys.readouterr().out
    assert "erasure_log" in catalog.recorded_state(settings)["tables"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def beeline(port: int, database: str, sql: str) -> subprocess.CompletedProcess:
    """Hive's own JDBC client, from the jars pyspark ships."""
    jars = Path(pyspark.__file__).parent / "jars"
    url = f"jdbc:hive2://localhost:{port}/{database}"
    command = ["java", "-cp", f"{jars}/*", "org.apache.hive.beeline.BeeLine", "-u", url, "-n", "clout-test", "--outputformat=csv2", "--silent=true", "-e", sql]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


def test_serve_sql_answers_a_jdbc_client_and_holds_the_metastore(lake, test_root, capsys):
    """serve-sql starts without registering again (the catalog is up to date), beeline reads scores_current, time
    travels and sees the table the job registered; while it runs the embedded metastore is held, so a job's
    registration step gives up after its bounded wait and says so; SIGTERM stops the server and frees it."""
    settings, store, _ = lake
    registered_at = record_mtime(settings)
    port = free_port()
    sets = [x for kv in overrides_for(test_root, "catalog", [*EXTRA, f"catalog.jdbc_port={port}"]) for x in ("--set", kv)]
    server = subprocess.Popen([sys.executable, "-m", "clout.cli", "serve-sql", *sets], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started, lines = time.monotonic(), []
        while not any("jdbc:hive2://" in line for line in lines):
            line = server.stdout.readline()
            assert line or server.poll() is None, "serve-sql exited:\n" + "".join(lines[-60:])
            lines.append(line)
            assert time.monotonic() - started < 240, "serve-sql did not start"
        print(f"serve-sql ready in {time.monotonic() - started:.1f} s")
        assert f"jdbc:hive2://localhost:{port}/clout_catalog" in lines[-1]

        queries = (
            "SELECT person_id, score FROM scores_current ORDER BY person_id",
            "SELECT count(*) AS n FROM scores VERSION AS OF 1",
            "SELECT count(*) AS erasures FROM erasure_log",
        )
        answer = beeline(port, "clout_catalog", "; ".join(queries))
        assert answer.returncode == 0, answer.stdout[-2000:] + answer.stderr[-3000:]
        assert answer.stdout.split("> ", 1)[1].split() == ["person_id,score", "person:p0,50", "person:p1,60", "n", "1", "erasures", "0"], answer.stdout
        assert record_mtime(settings) == registered_at  # nothing was registered again

        # clout sql from a new process goes to the running server instead of starting a session of its own
        sql_started = time.monotonic()
        command = [sys.executable, "-m", "clout.cli", "sql", "SELECT person_id, score FROM scores_current ORDER BY person_id", "--limit", "1", *sets]
        sql = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=180)
        print(f"clout sql through serve-sql: {time.monotonic() - sql_started:.1f} s")
        assert sql.returncode == 0 and "answered by clout serve-sql at jdbc:hive2://" in sql.stderr, sql.stderr[-3000:]
        assert [line for line in sql.stdout.splitlines() if line.startswith("|")] == ["|person_id|score|", "|person:p0|   50|"], sql.stdout
        assert "only showing top 1 row" in sql.stdout

        holder = catalog.metastore_holder(settings)
        assert holder is not None and "serve-sql" in catalog.describe_process(holder)
        store.ensure(IDENTITY_LINKS)  # a job adds a table while the server holds the metastore
        catalog.refresh_after_job(store.spark, settings, "local", overrides_for(test_root, "catalog", [*EXTRA, "catalog.register_wait_seconds=2"]))
        assert "not updated (clout catalog: the catalog's metastore" in capsys.readouterr().err
    finally:
        server.send_signal(signal.SIGTERM)
        out = server.communicate(timeout=120)[0]
    assert server.returncode == 0 and "clout serve-sql: stopped" in out, out[-3000:]
    assert catalog.metastore_holder(settings) is None


def test_registration_repoints_a_table_that_moved(spark, test_root):
    """Two lakehouses, one database name: registering the second re-points the entry (the first's files stay)."""
    first, second = (settings_for(test_root, name, ["storage.database=clout_moves"]) for name in ("moves-a", "moves-b"))
    for settings in (first, second):
        store = TableStore(spark, settings)
        store.ensure(ACCOUNTS)
        store.register_all()
        assert store.catalog_entry("clout_moves.accounts") == ("EXTERNAL", f"file:{store.path(ACCOUNTS)}")
    assert TableStore(spark, first).exists(ACCOUNTS)


def test_metastore_location_comes_from_conf():
    local = load_settings("local")
    assert local.metastore_path() == local.path(local.storage.root) + "/_metastore"
    assert load_settings("local", ["catalog.metastore_dir=/srv/clout-metastore"]).metastore_path() == "/srv/clout-metastore"
    assert load_settings("cluster").metastore_path() is None  # a shared metastore service: no Derby
    with pytest.raises(ConfigError, match=r"catalog\.metastore_uri"):
        load_settings("cluster", ["catalog.metastore_uri="]).metastore_path()  # object storage cannot hold Derby
    for bad in ("catalog.metastore_uri=http://metastore:9083", "catalog.jdbc_port=0", "catalog.metastore_dir=/x;create=false"):
        with pytest.raises(ConfigError, match=re.escape(bad.split("=")[0])):
            load_settings("local", [bad])
