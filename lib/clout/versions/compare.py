"""Compare two algorithm versions' published snapshots of one day, before promoting one.

Everything is computed in Spark down to tables whose size does not grow with users: the joint table of
(score under a, score under b) has at most 100 x 100 cells, so Spearman's rho and Kendall's tau-b are exact
(ties included) from it, whatever the population; top-k lists and the biggest movers are ``limit``-ed.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field

import numpy as np
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.config import Settings, load_algorithm
from clout.errors import InputError
from clout.publish import tracking
from clout.score.stage import snapshot_rows
from clout.tables import SCORE_EXPLANATIONS, SCORES, TableStore

SCORE_VALUES = np.arange(1, 101)


@dataclass
class Calibration:
    persons: int
    suppressed: int
    mean: float
    p50: int
    p95: int
    p99: int
    target_mean: float
    target_p95: float


@dataclass
class Comparison:
    day: dt.date
    a: str
    b: str
    persons_both: int
    only_a: int
    only_b: int
    spearman: float
    kendall_tau_b: float
    top_k: int
    top_k_overlap: float
    moves: dict[int, int]  # score_b - score_a -> persons
    movers: list[dict] = field(default_factory=list)
    calibration: dict[str, Calibration] = field(default_factory=dict)
    run_id: str | None = None

    @property
    def mean_abs_move(self) -> float:
        total = sum(self.moves.values())
        return sum(abs(m) * n for m, n in self.moves.items()) / total if total else 0.0

    def share_moved_more_than(self, points: int) -> float:
        total = sum(self.moves.values())
        return sum(n for m, n in self.moves.items() if abs(m) > points) / total if total else 0.0

    def metrics(self) -> dict[str, float]:
        out = {
            "persons_both": self.persons_both, "only_a": self.only_a, "only_b": self.only_b, "spearman": self.spearman,
            "kendall_tau_b": self.kendall_tau_b, f"top{self.top_k}_overlap": self.top_k_overlap, "mean_abs_move": self.mean_abs_move,
            "share_moved_gt5": self.share_moved_more_than(5), "share_moved_gt10": self.share_moved_more_than(10),
        }  # fmt: skip
        for version, c in self.calibration.items():
            out |= {f"{version}_mean": c.mean, f"{version}_p95": c.p95, f"{version}_p99": c.p99, f"{version}_suppressed": c.suppressed}
        return {k: float(v) for k, v in out.items()}

    def text(self) -> str:
        lines = [
            f"compare {self.day}: {self.a} vs {self.b}",
            f"  persons scored by both: {self.persons_both:,} (only {self.a}: {self.only_a:,}, only {self.b}: {self.only_b:,})",
            f"  Spearman {self.spearman:.4f}   Kendall tau-b {self.kendall_tau_b:.4f}   top-{self.top_k} overlap {self.top_k_overlap:.2f}",
            f"  moves ({self.b} - {self.a}): mean |move| {self.mean_abs_move:.2f}; moved > 5 points {self.share_moved_more_than(5):.1%}, "
            f"> 10 points {self.share_moved_more_than(10):.1%}",
        ]
        for version, c in self.calibration.items():
            lines.append(
                f"  calibration {version}: {c.persons:,} persons ({c.suppressed:,} suppressed), mean {c.mean:.1f} (target {c.target_mean:g}), "
                f"p50 {c.p50}, p95 {c.p95} (target {c.target_p95:g}), p99 {c.p99}"
            )
        if self.movers:
            lines.append(f"  biggest movers ({self.a} -> {self.b}):")
            for m in self.movers:
                lines.append(f"    {m['person_id']:<28} {m['score_a']:>3} -> {m['score_b']:>3} ({m['move']:+d})")
                lines.append(f"      {self.a}: {m['summary_a'] or '-'}")
                lines.append(f"      {self.b}: {m['summary_b'] or '-'}")
        if self.run_id:
            lines.append(f"  MLflow run {self.run_id}")
        return "\n".join(lines)


def rank_correlations(table: np.ndarray) -> tuple[float, float]:
    """Spearman's rho (Pearson on mid-ranks) and Kendall's tau-b from a joint count table.

    ``table[i, j]``: persons with the i-th smallest value under a and the j-th under b. Exact with ties: every
    person of a cell shares the cell's mid-ranks, and pairs are counted cell by cell.
    """
    n = table.sum()
    if n < 2:
        return float("nan"), float("nan")
    row, col = table.sum(axis=1), table.sum(axis=0)
    rank_a = np.cumsum(row) - row + (row + 1) / 2.0  # mid-rank of each a value
    rank_b = np.cumsum(col) - col + (col + 1) / 2.0
    mean = (n + 1) / 2.0
    da, db = rank_a - mean, rank_b - mean
    cov = (table * np.outer(da, db)).sum()
    var_a, var_b = (row * da**2).sum(), (col * db**2).sum()
    spearman = cov / np.sqrt(var_a * var_b) if var_a > 0 and var_b > 0 else float("nan")

    t = table.astype(np.float64)
    # above_right[i, j] = persons with a strictly greater and b strictly greater than cell (i, j); above_left: b smaller
    suffix = np.cumsum(np.cumsum(t[::-1, ::-1], axis=0), axis=1)[::-1, ::-1]
    above_right = np.zeros_like(t)
    above_right[:-1, :-1] = suffix[1:, 1:]
    prefix_b = np.cumsum(np.cumsum(t[::-1, :], axis=0)[::-1, :], axis=1)  # a >= i, b <= j
    above_left = np.zeros_like(t)
    above_left[:-1, 1:] = prefix_b[1:, :-1]
    concordant, discordant = (t * above_right).sum(), (t * above_left).sum()
    pairs = n * (n - 1) / 2.0
    ties_a, ties_b = (row * (row - 1) / 2.0).sum(), (col * (col - 1) / 2.0).sum()
    denominator = np.sqrt((pairs - ties_a) * (pairs - ties_b))
    kendall = (concordant - discordant) / denominator if denominator > 0 else float("nan")
    return float(spearman), float(kendall)


def calibration(scores: DataFrame, target_mean: float, target_p95: float) -> Calibration:
    """Mean and percentiles of the calibrated (not suppressed) scores, exact from the per-score counts."""
    counts = dict(scores.where(~F.col("suppressed")).groupBy("score").count().collect())  # 100 rows at most
    suppressed = scores.where(F.col("suppressed")).count()
    hist = np.array([counts.get(int(v), 0) for v in SCORE_VALUES])
    total = int(hist.sum())

    def percentile(q: float) -> int:
        return int(SCORE_VALUES[np.searchsorted(np.cumsum(hist), q * total)]) if total else 0

    mean = float((hist * SCORE_VALUES).sum() / total) if total else 0.0
    return Calibration(total, suppressed, mean, percentile(0.5), percentile(0.95), percentile(0.99), target_mean, target_p95)


def compare_versions(spark: SparkSession, settings: Settings, day: dt.date, a: str, b: str, top_k: int = 100, movers: int = 10) -> Comparison:
    """Compare the published snapshots of ``day`` under versions ``a`` and ``b`` and log it all to MLflow."""
    if a == b:
        raise InputError(f"--a and --b are the same version ({a})")
    if top_k < 1 or movers < 0:
        raise InputError("--top must be at least 1 and --movers at least 0")
    algorithms = {v: load_algorithm(settings, v) for v in (a, b)}  # unknown versions are errors naming them
    store = TableStore(spark, settings)
    snapshots = {v: store.read(SCORES).where(snapshot_rows(day, v)) if store.exists(SCORES) else None for v in (a, b)}
    missing = [v for v, s in snapshots.items() if s is None or s.limit(1).count() == 0]
    if missing:
        raise InputError(f"no published snapshot of {day} for {', '.join(missing)}: run `clout backfill --from {day} --to {day} --algorithm <v>` first")

    def side(v: str, suffix: str) -> DataFrame:
        return snapshots[v].select("person_id", F.col("score").alias(f"score_{suffix}"), F.col("raw_score").alias(f"raw_{suffix}"))

    joined = side(a, "a").join(side(b, "b"), on="person_id", how="full").cache()
    in_a, in_b = F.col("score_a").isNotNull(), F.col("score_b").isNotNull()
    counts = joined.agg(
        F.sum((in_a & in_b).cast("long")).alias("both"), F.sum((in_a & ~in_b).cast("long")).alias("only_a"), F.sum((~in_a & in_b).cast("long")).alias("only_b")
    ).first()
    both = joined.where(in_a & in_b)
    cells = both.groupBy("score_a", "score_b").count().collect()  # at most 100 x 100 rows
    table = np.zeros((100, 100), dtype=np.int64)
    for r in cells:
        table[r.score_a - 1, r.score_b - 1] = r["count"]
    keep_a, keep_b = table.sum(axis=1) > 0, table.sum(axis=0) > 0
    spearman, kendall = rank_correlations(table[keep_a][:, keep_b])
    moves = dict(both.groupBy((F.col("score_b") - F.col("score_a")).alias("move")).count().collect())  # at most 199 rows

    def top(v: str) -> set[str]:
        return {r.person_id for r in snapshots[v].orderBy(F.desc("score"), F.desc("raw_score"), "person_id").limit(top_k).select("person_id").collect()}

    top_a, top_b = top(a), top(b)
    result = Comparison(
        day, a, b, int(counts.both or 0), int(counts.only_a or 0), int(counts.only_b or 0), spearman, kendall, top_k,
        len(top_a & top_b) / max(min(len(top_a), len(top_b)), 1), {int(m): int(n) for m, n in moves.items()},
    )  # fmt: skip
    result.movers = biggest_movers(store, both, day, a, b, movers)
    result.calibration = {v: calibration(snapshots[v], algorithms[v].calibration.mean, algorithms[v].calibration.p95) for v in (a, b)}
    joined.unpersist()
    _log(settings, result)
    return result


def biggest_movers(store: TableStore, both: DataFrame, day: dt.date, a: str, b: str, n: int) -> list[dict]:
    """The ``n`` persons whose score moved most, with each version's one-line explanation."""
    if n == 0:
        return []
    moved = both.withColumn("move", F.col("score_b") - F.col("score_a")).orderBy(F.desc(F.abs("move")), "person_id").limit(n)
    if store.exists(SCORE_EXPLANATIONS):
        for v, suffix in ((a, "a"), (b, "b")):
            summaries = store.read(SCORE_EXPLANATIONS).where(snapshot_rows(day, v)).select("person_id", F.col("summary").alias(f"summary_{suffix}"))
            moved = moved.join(summaries, on="person_id", how="left")
    else:
        moved = moved.withColumn("summary_a", F.lit(None).cast("string")).withColumn("summary_b", F.lit(None).cast("string"))
    rows = moved.orderBy(F.desc(F.abs("move")), "person_id").collect()  # n rows
    return [{k: r[k] for k in ("person_id", "score_a", "score_b", "move", "summary_a", "summary_b")} for r in rows]


def _log(settings: Settings, result: Comparison) -> None:
    import mlflow

    tags = {"job": "compare", "snapshot_date": result.day.isoformat(), "version_a": result.a, "version_b": result.b, "env": settings.env}
    with tracking.job_run(settings, f"compare-{result.day}-{result.a}-{result.b}", tags) as run:
        result.run_id = run.info.run_id
        mlflow.log_metrics(result.metrics())
        tracking.log_json("compare/movers.json", {"movers": result.movers})
        tracking.log_json("compare/calibration.json", {v: c.__dict__ for v, c in result.calibration.items()})
        tracking.log_json("compare/moves.json", {"moves": {str(k): v for k, v in sorted(result.moves.items())}})
        _log_moves_png(result)


def _log_moves_png(result: Comparison) -> None:
    import mlflow
    from matplotlib.figure import Figure  # no pyplot: a notebook calling this keeps its own inline backend

    xs = sorted(result.moves)
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    ax.bar(xs, [result.moves[x] for x in xs], width=1.0, color="#a8553b")
    ax.set_xlabel(f"score move ({result.b} - {result.a})")
    ax.set_ylabel("persons")
    ax.set_yscale("log")
    ax.set_title(f"Score moves {result.day}: {result.a} -> {result.b} (Spearman {result.spearman:.3f})")
    fig.tight_layout()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "moves_histogram.png")
        fig.savefig(path, dpi=100)
        mlflow.log_artifact(path, "compare")
