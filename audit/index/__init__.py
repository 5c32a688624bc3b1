"""The index stage: LSH band tables (``bands``), winnowing anchors (``anchors``) and the
out-of-core candidate join of both (``join``)."""
