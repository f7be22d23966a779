"""The registered bot models as the daily job uses them: load the champion, score features. Nothing here trains.

Training (``clout.bots.training``) registers a profile model and a behaviour model in MLflow; the model named
``models:/<name>@<alias>`` is the champion. The daily risk path imports only this module and the features, never
the training code or the generated data it learns from.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.ml import PipelineModel
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from clout.config import Settings
from clout.publish import tracking

KINDS = ("profile", "behaviour")


@dataclass(frozen=True)
class Champion:
    model: PipelineModel
    name: str
    version: str

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


def bot_probability(scored: DataFrame) -> Column:
    return vector_to_array(scored["probability"])[1]


def evaluate(scored: DataFrame, threshold: float) -> dict[str, float]:
    """AUC, precision, recall and F1 (bot = positive) of a scored DataFrame with ``label``."""
    auc = BinaryClassificationEvaluator(rawPredictionCol="probability", labelCol="label", metricName="areaUnderROC").evaluate(scored)
    flagged, bot = bot_probability(scored) >= F.lit(threshold), F.col("label") == 1.0
    c = scored.agg(
        F.sum((flagged & bot).cast("long")).alias("tp"),
        F.sum((flagged & ~bot).cast("long")).alias("fp"),
        F.sum((~flagged & bot).cast("long")).alias("fn"),
    ).first()
    tp, fp, fn = c.tp or 0, c.fp or 0, c.fn or 0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"auc": auc, "precision": precision, "recall": recall, "f1": f1}


def load_champion(settings: Settings, kind: str = "behaviour") -> Champion:
    """The registered model ``models:/<name>@<alias>`` of ``kind`` (profile or behaviour)."""
    import mlflow

    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}: one of {KINDS}")
    tracking.configure(settings)
    registry = settings.bots.registry
    name = registry.profile_model if kind == "profile" else registry.behaviour_model
    version = str(mlflow.MlflowClient().get_model_version_by_alias(name, registry.alias).version)
    # loaded by the version the alias resolved to, so the model and the version recorded with it agree
    return Champion(mlflow.spark.load_model(f"models:/{name}/{version}"), name, version)


def score(champion: Champion, features: DataFrame) -> DataFrame:
    """``features`` with the champion's bot ``probability`` (a double) added."""
    scored = champion.model.transform(features)
    return scored.select(*features.columns, bot_probability(scored).alias("probability"))
