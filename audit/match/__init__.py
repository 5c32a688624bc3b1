"""The match stage: every candidate pair decided and tallied (``matcher``) on MinHash estimates
and exact shingle-set overlaps (``overlap``)."""
