"""The read stage: which training files (``inputs``), one reader per format yielding Arrow
batches (``readers``), the training set as one optionally sampled stream (``training``), and
the auditable rows of a source snapshot (``snapshot``)."""
