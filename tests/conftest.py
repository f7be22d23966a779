"""One SparkSession for the whole test run (real Spark, real Delta), with small shuffles."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

from clout.config import load_settings
from clout.session import build_session
from clout.synth.presets import SMALL_BOT_TRAINING

REPO = Path(__file__).resolve().parents[1]
DATASETS = REPO.parent / "shared" / "datasets"
SAMPLES = Path(__file__).resolve().parent / "samples"


@pytest.fixture(scope="session")
def test_root():
    root = Path(tempfile.mkdtemp(prefix="clout-test-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def overrides_for(root: Path, name: str, extra: list[str] | None = None) -> list[str]:
    """The --set overrides that put tables, landing, checkpoints and the MLflow store under ``root/name``."""
    base = root / name
    return [
        f"storage.root={base}/lakehouse",
        f"storage.landing={base}/landing",
        f"storage.checkpoint_dir={base}/checkpoints",
        f"mlflow.tracking_uri=sqlite:///{base}/mlflow.db",
        f"mlflow.artifact_root={base}/mlartifacts",
        "spark.conf.spark.sql.shuffle.partitions=2",
        # Adaptive execution submits each query stage as a job of its own: on the tests' small tables that fixed cost is
        # the time (test_scores_over_time's snapshots: 241 jobs and 27 s each with it, 126 jobs and 23 s without).
        # conf/base.yaml keeps it on; test_e2e's day runs with it on, and its rerun without it writes identical rows.
        "spark.conf.spark.sql.adaptive.enabled=false",
        "spark.driver_memory=4g",
        *(extra or []),
    ]


def settings_for(root: Path, name: str, extra: list[str] | None = None):
    """Settings whose tables, landing, checkpoints and MLflow store live under ``root/name``."""
    return load_settings("local", overrides_for(root, name, extra))


def v1_edited_into(folder: Path, edits: dict[str, str]) -> Path:
    """Write conf/algorithms/v1.yaml into ``folder`` with each key of ``edits`` replaced by its value; return the folder
    (for ``--set algorithm.dir=<folder>``)."""
    text = Path(load_settings("local").path("conf/algorithms") + "/v1.yaml").read_text()
    for old, new in edits.items():
        assert old in text, f"v1.yaml no longer holds {old!r}"
        text = text.replace(old, new)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "v1.yaml").write_text(text)
    return folder


def edited_v1(tmp_path: Path, old: str, new: str):
    """Load conf/algorithms/v1.yaml with ``old`` replaced by ``new`` (a copy under tmp_path): how conf checks are tested."""
    from clout.config import load_algorithm

    return load_algorithm(load_settings("local", [f"algorithm.dir={v1_edited_into(tmp_path, {old: new})}"]))


@pytest.fixture(scope="session")
def settings(test_root):
    return settings_for(test_root, "shared")


def with_bot_models(root: Path, name: str, extra: list[str] | None = None) -> list[str]:
    """Overrides for a module whose daily runs need the bot champions: its MLflow runs go to its own experiment, in
    the one store (under ``root/bot-models``) whose registry holds the champions. The first daily run of the test
    session finds none and trains them on the SMALL_BOT_TRAINING days (bots.train_if_missing); every later module
    loads those, so the suite trains once instead of once per module."""
    store = root / "bot-models"
    return [
        *SMALL_BOT_TRAINING,
        f"mlflow.tracking_uri=sqlite:///{store}/mlflow.db",
        f"mlflow.artifact_root={store}/mlartifacts",
        f"mlflow.experiment=clout-{name}",
        *(extra or []),
    ]


@pytest.fixture(scope="session")
def spark(settings):
    session = build_session(settings, "tests")
    yield session
    session.stop()


ATTACK_DAYS = [dt.date(2026, 10, 5) + dt.timedelta(days=k) for k in range(2)]
ATTACK_NETWORKS = ("twitter", "mastodon", "instagram")


def attacked_overrides(root: Path) -> list[str]:
    """The --set overrides of the attacked lakehouse (``attacked_lake``): its own catalog database, so its views
    name its tables, and the session's bot champions."""
    return overrides_for(root, "attacked", with_bot_models(root, "attacked", ["storage.database=clout_attacked"]))


@pytest.fixture(scope="session")
def attacked_lake(spark, test_root):
    """Generated days with every attack scenario of clout.synth.attacks planted among honest people (12,000 events a
    day, 600 persons, three networks), each run through the daily job under v1. Returns (settings, planted ids).

    Shared because a daily run is minutes of fixed cost however small the day: test_attacks reads the scores of the
    last day, test_versions backfills v2 over the same days, compares, promotes and reruns them (it runs after
    test_attacks, and what it changes leaves the v1 rows test_attacks reads identical)."""
    from clout.pipeline import run_daily
    from clout.synth.attacks import AttackPlan, attack_rows
    from clout.synth.generator import SynthSpec, generate

    settings = load_settings("local", attacked_overrides(test_root))
    planted = None
    for i, day in enumerate(ATTACK_DAYS):
        spec = SynthSpec(day=day, events=12_000, persons=600, seed=70 + i, networks=ATTACK_NETWORKS)
        rows, planted = attack_rows(spark, spec, AttackPlan())
        generate(spark, settings, spec, planted=rows)
        run_daily(spark, settings, day, now=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(6)))
    return settings, planted


@pytest.fixture()
def lines_df(spark, tmp_path):
    """Write native lines to a file and read them back as an adapter would: (raw DataFrame, file path)."""
    from clout.ingest.adapters.base import read_lines

    def make(lines: list[str], name: str = "sample.jsonl"):
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        return read_lines(spark, [str(path)]), str(path)

    return make
