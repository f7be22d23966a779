"""Data-quality gate: Great Expectations suites per table."""
