"""The sign stage: one sign-and-write step for both sides (``writer``), the training side
into a run's ``work/`` (``training``) and each source into its signature cache (``source``)."""
