"""MinHash signers: the contract (``contract``), the datasketch reference (``reference``), the
compiled signer (``compiled``, numba kernels in ``_kernels``) and ``make_signer`` (``factory``)."""
