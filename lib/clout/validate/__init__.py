"""Validity of the score on real dumps, measured by the project beside simple baselines (``clout validate``).

- ``higgs``: predictive validity on the Higgs Twitter activity (score of 1-4 July vs reactions of 5-7 July);
- ``stackexchange``: concurrent validity on a Stack Exchange dump (score vs ``Users.Reputation``).

Each runs the project's own stages in a scratch lakehouse and records one MLflow run in experiment
``clout-validation`` (metrics + ``validation_<dataset>.json``).
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from clout.config import Settings
from clout.validate.common import EXPERIMENT, Figure, Validation, ValidationError
from clout.validate.higgs import validate_higgs
from clout.validate.stackexchange import validate_stackexchange

VALIDATIONS = {"higgs": validate_higgs, "stackexchange": validate_stackexchange}

__all__ = ["EXPERIMENT", "VALIDATIONS", "Figure", "Validation", "ValidationError", "run_validation"]


def run_validation(
    spark: SparkSession, settings: Settings, dataset: str, path: str | Path, workdir: str | Path | None = None, algorithm_version: str | None = None
) -> Validation:
    if dataset not in VALIDATIONS:
        raise ValueError(f"unknown validation {dataset!r}; known: {sorted(VALIDATIONS)}")
    return VALIDATIONS[dataset](spark, settings, path, workdir=workdir, algorithm_version=algorithm_version)
