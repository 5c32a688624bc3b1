"""The overlap auditor: how much of a training set overlaps each commons source."""
