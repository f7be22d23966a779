"""The daily stages label their Spark jobs (the UI's job list, the event log that bench/stage_profile.py sums)."""

from __future__ import annotations

from clout.pipeline import job_description, part_of_stage

STAGE = "clout 1999-01-01 v1 score"  # a date no other test runs, so these labels are this test's jobs


def _job_descriptions(spark) -> set[str]:
    """Descriptions of the jobs Spark still lists in its status store (what the UI and event log show)."""
    jobs = spark.sparkContext._jsc.sc().statusStore().jobsList(None)
    described = (jobs.apply(i).description() for i in range(jobs.size()))
    return {d.get() for d in described if d.isDefined()}


def test_a_stage_and_its_parts_name_their_jobs_and_restore_the_description(spark):
    context = spark.sparkContext
    context.setJobDescription("outer")
    try:
        with job_description(STAGE):
            spark.range(10).count()
            with part_of_stage("authority"):
                assert context.getLocalProperty("spark.job.description") == f"{STAGE}/authority"
                spark.range(20).count()
            assert context.getLocalProperty("spark.job.description") == STAGE
        assert context.getLocalProperty("spark.job.description") == "outer"
        with part_of_stage("authority"):  # outside a stage: no label of its own
            assert context.getLocalProperty("spark.job.description") == "outer"
        assert {STAGE, f"{STAGE}/authority"} <= _job_descriptions(spark)
    finally:
        context.setJobDescription(None)
    assert context.getLocalProperty("spark.job.description") is None
