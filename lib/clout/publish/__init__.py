"""Publishing: one MLflow run per snapshot with params, metrics, artifacts and Delta table versions."""
