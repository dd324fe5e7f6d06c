"""What a Lambda handler module does once its imports are done."""

from __future__ import annotations

import gc


def imports_done() -> None:
    """Move every object the imports made into the garbage collector's permanent generation.

    A handler imports hundreds of thousands of long-lived objects (pyarrow, botocore, powertools); the first
    request then allocates enough (botocore's service models, the spec) to trigger full collections, and each
    would walk all of them again. Freezing them cut the Athena handler's first request from about 250 ms to
    140 ms (``benchmarks/cold.py``, docs/benchmarks.md). Objects made later are collected as usual."""
    gc.freeze()
