"""Algorithm versions side by side: backfills under one version, comparing two, promoting one, a person's history."""
