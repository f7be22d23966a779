"""Clout: daily influence scores from many social networks, on Spark and Delta."""

__version__ = "0.1.0"
