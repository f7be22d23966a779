"""Training the bot classifiers: a profile model on labelled profile CSVs (cresci-2015 by default, from conf), a
behaviour model on generated days (``clout.bots.generated``).

Two models, not one with the missing half imputed: no training account has both kinds of features
(cresci-2015 holds profiles and no activity; a generated day holds activity and no profiles). A combined
model would see the profile features missing exactly when the behaviour ones are present, so the missing
pattern would tell it the data source, and with it the source's bot share, instead of anything about bots.
The daily job (``clout.bots.stage``) applies the behaviour model to every account of the window, and the
profile model to those whose Twitter v1 profile was loaded into ``account_profiles`` (``clout.bots.profiles``),
combining the two probabilities by conf ``bots.evidence`` (``clout.bots.rules``). Both are loaded and applied by
``clout.bots.model``, which never imports this module.

Each model is a Spark ML pipeline: Imputer (median; e.g. timing features of an account that acted once) ->
VectorAssembler -> RandomForestClassifier. A seeded hash split holds out ``test_fraction`` of the rows; the
rest gets k-fold cross-validation (manual folds, so precision, recall and F1 are reported per fold, not only
AUC), then the model is fitted on all of it and scored once on the held-out rows. Parameters, metrics and the
model go to MLflow; the model is registered, and becomes ``@<alias>`` (the daily job loads
``models:/<name>@<alias>``) only when its held-out AUC reaches ``promote_min_auc``.

Training data: the profile CSVs of ``bots.training.profiles`` (path and label each), and the generated days of
``bots.training.days`` (``clout.bots.generated``, the only module that imports the generator).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import RandomForestClassifier
from pyspark.ml.feature import Imputer, VectorAssembler
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from clout.bots.features import BEHAVIOUR_FEATURES, PROFILE_FEATURES, profile_features, read_profile_csv
from clout.bots.generated import behaviour_training_data
from clout.bots.model import evaluate
from clout.config import BotClassifierConf, Settings
from clout.publish import tracking

log = logging.getLogger(__name__)


@dataclass
class ModelReport:
    kind: str
    name: str
    rows: dict[str, int]
    cv: dict[str, float]
    heldout: dict[str, float]
    importances: dict[str, float]
    version: str | None = None
    promoted: bool = False


@dataclass
class TrainReport:
    run_id: str
    models: dict[str, ModelReport] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _u(key: Column, salt: int) -> Column:
    """A uniform number in [0, 1) from a hash: a seeded split that does not depend on partitioning."""
    return F.pmod(F.xxhash64(key, F.lit(salt)), F.lit(1_000_003)).cast("double") / F.lit(1_000_003.0)


def build_pipeline(features: tuple[str, ...], conf: BotClassifierConf) -> Pipeline:
    imputed = [f"{c}_imputed" for c in features]
    return Pipeline(
        stages=[
            Imputer(inputCols=list(features), outputCols=imputed, strategy="median"),
            VectorAssembler(inputCols=imputed, outputCol="features"),
            RandomForestClassifier(labelCol="label", featuresCol="features", numTrees=conf.num_trees, maxDepth=conf.max_depth, seed=conf.seed),
        ]
    )


def fit_and_evaluate(data: DataFrame, key: Column, features: tuple[str, ...], settings: Settings, kind: str) -> tuple[PipelineModel, ModelReport]:
    """Seeded held-out split, k-fold cross-validation on the rest, final fit, held-out metrics."""
    conf, threshold = settings.bots.classifier, settings.bots.threshold
    split = data.withColumn("_u", _u(key, conf.seed)).withColumn("_fold", F.floor(_u(key, conf.seed + 1) * conf.folds).cast("int")).cache()
    train, test = split.where(F.col("_u") >= conf.test_fraction), split.where(F.col("_u") < conf.test_fraction)
    pipeline = build_pipeline(features, conf)
    folds = []
    for k in range(conf.folds):
        model = pipeline.fit(train.where(F.col("_fold") != k))
        folds.append(evaluate(model.transform(train.where(F.col("_fold") == k)), threshold))
    cv = {}
    for metric in folds[0]:
        values = [f[metric] for f in folds]
        mean = sum(values) / len(values)
        cv[f"{metric}_mean"] = mean
        cv[f"{metric}_std"] = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
    model = pipeline.fit(train)
    heldout = evaluate(model.transform(test), threshold)
    counts = split.groupBy((F.col("_u") < conf.test_fraction).alias("test"), "label").count().collect()
    rows = {f"{'test' if r.test else 'train'}_{'bots' if r.label == 1.0 else 'genuine'}": r["count"] for r in counts}
    importances = dict(zip(features, (float(x) for x in model.stages[-1].featureImportances.toArray()), strict=True))
    split.unpersist()
    name = settings.bots.registry.profile_model if kind == "profile" else settings.bots.registry.behaviour_model
    return model, ModelReport(kind, name, rows, cv, heldout, importances)


def profile_training_data(spark: SparkSession, settings: Settings) -> tuple[DataFrame, dict[str, int]]:
    """The labelled profile files of ``bots.training.profiles``, read in place; rejected rows counted by reason."""
    parts, rejected = [], {}
    for source in settings.bots.training.profiles:
        load = profile_features(read_profile_csv(spark, settings.path(source.path)), source.label)
        parts.append(load.profiles)
        for r in load.rejected.groupBy("reason").count().collect():
            rejected[r.reason] = rejected.get(r.reason, 0) + r["count"]
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out, rejected


def _log_model(model: PipelineModel, report: ModelReport, settings: Settings) -> None:
    import mlflow
    import pyspark

    info = mlflow.spark.log_model(model, report.kind, registered_model_name=report.name, pip_requirements=[f"pyspark=={pyspark.__version__}"])
    report.version = str(info.registered_model_version)
    report.promoted = report.heldout["auc"] >= settings.bots.classifier.promote_min_auc
    if report.promoted:
        mlflow.MlflowClient().set_registered_model_alias(report.name, settings.bots.registry.alias, report.version)
    else:
        log.warning(
            "bots: %s v%s held-out AUC %.3f < %.3f: registered, not promoted",
            report.name,
            report.version,
            report.heldout["auc"],
            settings.bots.classifier.promote_min_auc,
        )


def train(spark: SparkSession, settings: Settings) -> TrainReport:
    """Train, evaluate, log and register the profile and behaviour models (one MLflow run)."""
    import mlflow

    experiment_id = tracking.configure(settings)
    # nested when a daily run trains the models on first use, so the training is recorded under that day's run
    nested = mlflow.active_run() is not None
    run_name = f"bots-train-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags={"job": "bots-train", "env": settings.env}, nested=nested) as run:
        report = TrainReport(run.info.run_id)
        mlflow.log_params(tracking.flatten("bots", settings.bots.model_dump(mode="json"), {}))
        profiles, report.rejected = profile_training_data(spark, settings)
        started = time.monotonic()
        behaviour = behaviour_training_data(spark, settings)
        report.seconds["training_days"] = round(time.monotonic() - started, 1)  # generated and ingested
        for kind, data, key, features in (
            ("profile", profiles, F.col("id"), PROFILE_FEATURES),
            ("behaviour", behaviour, F.concat_ws("|", F.col("day").cast("string"), "network", "account"), BEHAVIOUR_FEATURES),
        ):
            started = time.monotonic()
            model, model_report = fit_and_evaluate(data, key, features, settings, kind)
            report.seconds[f"{kind}_model"] = round(time.monotonic() - started, 1)  # features, folds, final fit
            _log_model(model, model_report, settings)
            report.models[kind] = model_report
            metrics = {f"{kind}_heldout_{k}": v for k, v in model_report.heldout.items()}
            metrics |= {f"{kind}_cv_{k}": v for k, v in model_report.cv.items()}
            metrics |= {f"{kind}_rows_{k}": float(v) for k, v in model_report.rows.items()}
            mlflow.log_metrics(metrics)
            tracking.log_json(f"{kind}/feature_importances.json", model_report.importances)
        mlflow.log_metrics(
            {f"profile_rows_rejected_{k}": float(v) for k, v in report.rejected.items()} | {"profile_rows_rejected": float(sum(report.rejected.values()))}
        )
        mlflow.log_metrics({f"seconds_{k}": v for k, v in report.seconds.items()})
    return report
