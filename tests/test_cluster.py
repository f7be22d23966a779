"""The daily job on a real cluster: a Spark standalone master and one worker on 127.0.0.1, started from the pyspark
install, and spark-submit of jobs/daily.py with the clout wheel built from this tree, from a working directory outside
the project, so that the driver imports clout and reads its conf from the wheel and finds no .jars/ (the jars come with
--jars). The snapshot it publishes must equal the local-mode snapshot of the same day.

Cost: the local snapshot is the attacked lakehouse's first day (conftest.attacked_lake, computed once per session and
shared with test_attacks and test_versions), so only the cluster run is new. It reads the same landing files (ingest only
reads them; what it ingested is recorded in its own store's ingest_log) into a fresh store, and uses the MLflow store of
the session's bot champions (train_if_missing is false in conf/cluster.yaml: a missing champion fails, nothing trains).
The first day of a store is the first day of the attacked lakehouse too: nothing before it is in either window. Later
days of the attacked lakehouse do not change the first day's v1 rows (test_versions checks that after its backfills).

README "Running on a cluster" shows the commands this test runs.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyspark
import pytest
from pyspark.sql import functions as F

from checksums import checksum
from clout.config import load_settings
from clout.score.stage import snapshot_rows
from clout.session import spark_jars
from clout.tables import AUTHORITY, SCORE_EXPLANATIONS, SCORES, TableStore
from conftest import ATTACK_DAYS, REPO, attacked_overrides, with_bot_models

pytestmark = pytest.mark.e2e

DAY = ATTACK_DAYS[0]
SPARK_BIN = Path(pyspark.__file__).parent / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cluster_env() -> dict[str, str]:
    """The environment of the master, the worker and spark-submit: this venv's Python for driver and executors, small
    daemons, and no PYTHONPATH, so nothing points at lib/ of this tree."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SPARK_HOME")}
    return env | {"PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_DAEMON_MEMORY": "512m", "GX_ANALYTICS_ENABLED": "false"}


def build_wheel(out: Path) -> Path:
    """``pip wheel`` of this tree, copied to a .zip for --py-files: Spark puts .zip/.egg files on the executors' Python
    path, but only ships a .whl (pyspark SparkContext.PACKAGE_EXTENSIONS)."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)], check=True, timeout=300)
    (wheel,) = out.glob("clout-*.whl")
    return Path(shutil.copyfile(wheel, wheel.with_suffix(".zip")))


def daemon(main_class: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """A master or worker, as sbin/start-master.sh and start-worker.sh would start it (pyspark has bin/ but no sbin/)."""
    with open(log, "w") as out:  # the child keeps its own handle
        return subprocess.Popen([str(SPARK_BIN / "spark-class"), main_class, *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for_worker(webui_port: int, procs: list[subprocess.Popen], timeout: float = 90) -> None:
    """Poll the master's JSON status page until one worker is ALIVE."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            assert p.poll() is None, f"{p.args[1]} exited with {p.returncode}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{webui_port}/json/", timeout=2) as answer:
                if any(w["state"] == "ALIVE" for w in json.load(answer)["workers"]):
                    return
        except OSError:
            pass
        time.sleep(1)
    raise AssertionError(f"no worker registered with the master within {timeout:.0f} s")


def output_checksums(spark, settings) -> dict[str, tuple[int, int]]:
    """(rows, checksum) of the day's v1 rows in scores, authority and score_explanations. code_version is left out of
    scores: it is the git commit of the working directory, which the cluster job (run outside any checkout) records as
    the package version."""
    store = TableStore(spark, settings)
    rows = snapshot_rows(DAY, "v1")
    return {
        "scores": checksum(store.read(SCORES).where(rows).drop("code_version")),
        "authority": checksum(store.read(AUTHORITY).where(rows)),
        "score_explanations": checksum(store.read(SCORE_EXPLANATIONS).where(rows)),
    }


def test_the_daily_job_on_a_standalone_cluster_publishes_the_local_snapshot(spark, attacked_lake, test_root, tmp_path):
    started = time.monotonic()
    local_settings, _ = attacked_lake
    work = tmp_path  # kept by pytest after a failure: the logs of master, worker and spark-submit are there
    run_dir = work / "run"  # spark-submit's working directory: no conf/, no .jars/, no lib/
    run_dir.mkdir()
    wheel = build_wheel(work / "dist")
    env = cluster_env()
    master_port, master_ui, worker_ui = free_port(), free_port(), free_port()
    master_url = f"spark://127.0.0.1:{master_port}"
    procs: list[subprocess.Popen] = []
    try:
        master = ["--host", "127.0.0.1", "--port", str(master_port), "--webui-port", str(master_ui)]
        procs.append(daemon("org.apache.spark.deploy.master.Master", master, env, work / "master.log"))
        worker = [master_url, "--host", "127.0.0.1", "--webui-port", str(worker_ui), "--cores", "2", "--memory", "3g", "--work-dir", str(work / "worker")]
        procs.append(daemon("org.apache.spark.deploy.worker.Worker", worker, env, work / "worker.log"))
        wait_for_worker(master_ui, procs)
        cluster_store = work / "store"
        overrides = [
            f"storage.root={cluster_store}/lakehouse",
            f"storage.database={local_settings.storage.database}",
            f"storage.landing={local_settings.storage.landing}",  # the attacked lakehouse's landing files, read only
            f"storage.checkpoint_dir={cluster_store}/checkpoints",
            "catalog.metastore_uri=",  # no thrift metastore here: the job writes by path
            *with_bot_models(test_root, "cluster"),  # the session's champions; this run's MLflow runs in its own experiment
            "spark.conf.spark.sql.shuffle.partitions=2",
            "spark.conf.spark.databricks.delta.snapshotPartitions=2",
        ]
        submit = [
            str(SPARK_BIN / "spark-submit"),
            "--master",
            master_url,
            "--driver-memory",
            "2g",
            "--executor-memory",
            "2g",
            "--conf",
            "spark.driver.host=127.0.0.1",
            "--jars",
            ",".join(spark_jars()),
            "--py-files",
            str(wheel),
            str(REPO / "jobs" / "daily.py"),
            "--env",
            "cluster",
            "--date",
            DAY.isoformat(),
            *[x for kv in overrides for x in ("--set", kv)],
        ]
        (work / "submit.sh").write_text(" ".join(map(str, submit)) + "\n")  # the command, for reading after a failure
        done = subprocess.run(submit, cwd=run_dir, env=env, capture_output=True, text=True, timeout=900, check=False)
        (work / "submit.log").write_text(done.stdout + done.stderr)
        assert done.returncode == 0, f"spark-submit failed ({done.returncode}):\n{done.stderr[-4000:]}"
        executor_files = glob.glob(str(work / "worker" / "app-*" / "*" / wheel.name))
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()

    # the driver ran the wheel's code with the wheel's conf, and the jars came from spark-submit, not .jars/
    output = done.stdout + done.stderr  # the job's log lines go where its first logging handler was set up
    assert f"clout 0.1.0 from {wheel}/clout, conf from {wheel}/clout/conf/" in output, done.stdout[-3000:]
    assert "jars: from spark-submit" in output
    assert executor_files, "the executor's working directory holds no copy of the wheel"  # shipped to the worker's executor
    assert f"daily {DAY.isoformat()} (v1) done" in done.stdout

    cluster_settings = load_settings("local", [*attacked_overrides(test_root), f"storage.root={cluster_store}/lakehouse"])
    local = output_checksums(spark, local_settings)
    on_cluster = output_checksums(spark, cluster_settings)
    assert local["scores"][0] > 100
    assert on_cluster == local
    versions = TableStore(spark, cluster_settings).read(SCORES).select("code_version").distinct().collect()
    assert [r.code_version for r in versions] == ["0.1.0"]  # outside a checkout the code version is the package's
    assert TableStore(spark, cluster_settings).read(SCORES).where(F.col("snapshot_date") != F.lit(DAY)).isEmpty()
    print(f"cluster test: {time.monotonic() - started:.0f} s (wheel, master and worker, spark-submit, comparison)")
