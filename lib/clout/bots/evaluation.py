"""How well the registered profile model separates bots on any labelled set of Twitter v1 profile exports.

``clout bots eval --profiles FILE --label 0|1 ...``: each file holds accounts of one label (1: bots). The files
are read by header name (``read_profile_csv``), turned into the profile features the model was trained on,
scored with the champion ``models:/<profile model>@<alias>``, and measured at the configured threshold: AUC,
precision, recall and F1 (bot = positive). Rows that cannot be read are counted per file and reason, never
scored and never raised. The figures, the files and the model version go to one MLflow run.

On the files the model was trained on (cresci-2015 by default) the figures say little: use another family of
accounts to learn whether the model generalises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from clout.bots.features import profile_features, read_profile_csv
from clout.bots.model import bot_probability, evaluate, load_champion
from clout.config import Settings
from clout.publish import tracking


@dataclass(frozen=True)
class LabelledFile:
    path: str
    label: int

    def __post_init__(self) -> None:
        if self.label not in (0, 1):
            raise ValueError(f"{self.path}: label must be 0 (genuine) or 1 (bot), not {self.label!r}")


@dataclass
class EvalReport:
    run_id: str
    model: str
    threshold: float
    metrics: dict[str, float] = field(default_factory=dict)
    rows: dict[str, dict[str, int]] = field(default_factory=dict)  # per file: scored, rejected_<reason>

    def table(self) -> str:
        lines = [f"bots eval: profile model {self.model} at threshold {self.threshold:g}; MLflow run {self.run_id}"]
        lines += [f"  {path}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) for path, counts in self.rows.items()]
        lines.append("  " + "  ".join(f"{k} {v:.4f}" for k, v in self.metrics.items()))
        return "\n".join(lines)


def evaluate_profiles(spark: SparkSession, settings: Settings, files: list[LabelledFile]) -> EvalReport:
    """Score every file with the champion profile model and measure it; one MLflow run (FAILED if this raises)."""
    if not files:
        raise ValueError("bots eval: name at least one --profiles FILE --label 0|1")
    labels = {f.label for f in files}
    params = {f"file_{i}": f"{f.path} (label {f.label})" for i, f in enumerate(files)}
    run_name = f"bots-eval-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    with tracking.job_run(settings, run_name, {"job": "bots-eval", "env": settings.env}, params) as run:
        import mlflow

        champion = load_champion(settings, "profile")
        mlflow.log_params({"model": champion.label, "threshold": str(settings.bots.threshold)})
        report = EvalReport(run.info.run_id, champion.label, settings.bots.threshold)
        scored_parts = []
        for f in files:
            load = profile_features(read_profile_csv(spark, settings.path(f.path)), f.label)
            profiles = load.profiles.cache()
            counts = {"scored": profiles.count()}
            counts |= {f"rejected_{r.reason}": r["count"] for r in load.rejected.groupBy("reason").count().collect()}
            report.rows[f.path] = counts
            # the model output itself (probability as Spark ML vector), as the evaluation at training time reads it
            scored_parts.append(champion.model.transform(profiles).select("label", "probability"))
        scored = scored_parts[0]
        for part in scored_parts[1:]:
            scored = scored.unionByName(part)
        if len(labels) == 2:
            report.metrics = evaluate(scored, settings.bots.threshold)
        else:
            # one label only: AUC is undefined; what is measurable is the share flagged (recall on bots,
            # false-positive rate on genuine accounts)
            report.metrics = _one_label_metrics(scored, settings.bots.threshold, labels.pop())
        mlflow.log_metrics(report.metrics | {f"rows_{i}_{k}": float(v) for i, f in enumerate(files) for k, v in report.rows[f.path].items()})
        tracking.log_json("bots_eval.json", {"model": report.model, "threshold": report.threshold, "metrics": report.metrics, "rows": report.rows})
    return report


def _one_label_metrics(scored, threshold: float, label: int) -> dict[str, float]:
    flagged = bot_probability(scored) >= F.lit(threshold)
    share = scored.agg(F.avg(flagged.cast("double")).alias("flagged")).first().flagged or 0.0
    return {"recall": share} if label == 1 else {"false_positive_rate": share}
