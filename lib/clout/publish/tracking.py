"""MLflow tracking for daily snapshots (default store: a SQLite file under var/)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from clout.config import Algorithm, Settings


def configure(settings: Settings) -> str:
    """Point MLflow at the configured store and make sure the experiment exists; return its id."""
    import mlflow

    uri = settings.tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.get_experiment_by_name(settings.mlflow.experiment)
    if experiment is None:
        artifacts = settings.path(settings.mlflow.artifact_root)
        if "://" not in artifacts:
            Path(artifacts).mkdir(parents=True, exist_ok=True)
            artifacts = Path(artifacts).as_uri()
        return mlflow.create_experiment(settings.mlflow.experiment, artifact_location=artifacts)
    return experiment.experiment_id


def flatten(prefix: str, value, out: dict[str, str]) -> dict[str, str]:
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = str(value)
    return out


@contextmanager
def job_run(settings: Settings, run_name: str, tags: dict[str, str], params: dict[str, str] | None = None, nested: bool = False):
    """An MLflow run in the configured experiment that ends FAILED (with the error as a tag) when the body raises.

    ``nested``: a child of the active run (a backfill's days under the backfill's run).
    """
    import mlflow

    experiment_id = configure(settings)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags, nested=nested) as run:
        if params:
            mlflow.log_params(params)
        try:
            yield run
        except BaseException as err:
            mlflow.set_tag("error", f"{type(err).__name__}: {err}"[:5000])
            mlflow.end_run(status="FAILED")
            raise


def snapshot_run(settings: Settings, algorithm: Algorithm, run_name: str, tags: dict[str, str], nested: bool = False):
    """The day's snapshot run, with the algorithm as its params."""
    return job_run(settings, run_name, tags, flatten("", algorithm.model_dump(mode="json"), {}), nested=nested)


def log_histogram(scores: DataFrame, title: str) -> None:
    """A score histogram PNG: counts per score value computed in Spark (100 rows at most), drawn locally."""
    import mlflow
    from matplotlib.figure import Figure  # no pyplot: callers (a notebook) keep their own backend

    counts = {r.score: r["count"] for r in scores.groupBy("score").count().collect()}
    xs = list(range(1, 101))
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    ax.bar(xs, [counts.get(x, 0) for x in xs], width=1.0, color="#3b6ea8")
    ax.set_xlabel("score")
    ax.set_ylabel("persons")
    ax.set_title(title)
    fig.tight_layout()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "score_histogram.png")
        fig.savefig(path, dpi=100)
        mlflow.log_artifact(path)


def log_json(name: str, payload: dict) -> None:
    import mlflow

    mlflow.log_text(json.dumps(payload, indent=2, default=str), name)


def top(scores: DataFrame, n: int = 100) -> list[dict]:
    return [r.asDict() for r in scores.orderBy(F.desc("score"), F.desc("raw_score"), "person_id").limit(n).collect()]


@functools.cache
def _dataset_class():
    from mlflow.data.spark_dataset import SparkDataset

    class DeltaTableDataset(SparkDataset):
        """A Spark dataset whose profile is its Delta version: MLflow's own profile counts the rows (a scan)."""

        def __init__(self, df: DataFrame, source, name: str, digest: str, version: int):
            super().__init__(df=df, source=source, name=name, digest=digest)
            self._version = version

        @property
        def profile(self):
            return {"delta_version": self._version}

    return DeltaTableDataset


def table_dataset(df: DataFrame, name: str, path: str, version: int):
    """An MLflow dataset for one Delta table at one version: its source is the path and version, which is what
    ``source.load()`` reads back and what lineage needs.

    MLflow's ``from_spark`` would scan the table for a row-count profile (through Python workers) and hash the
    plan for a digest; here the digest is the path and version and there is no row count, so logging reads nothing.
    """
    from mlflow.data.delta_dataset_source import DeltaDatasetSource

    digest = hashlib.md5(f"{path}@{version}".encode(), usedforsecurity=False).hexdigest()[:8]
    return _dataset_class()(df, DeltaDatasetSource(path=path, delta_table_version=version), name, digest, version)


def log_tables(datasets: list, context: str) -> None:
    """Log ``table_dataset``s as the active run's inputs, tagged with ``context`` ("input": read by the run;
    "output": written by it)."""
    import mlflow

    if datasets:
        with warnings.catch_warnings():  # the schema MLflow infers warns about integer columns, meant for model inputs
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)
            mlflow.log_inputs(datasets=datasets, contexts=[context] * len(datasets), tags_list=[None] * len(datasets))
