"""A CI-sized run of the bit-flip fuzzer (``benchmarks/fuzz_bitflip.py``; the long run's counts are in
docs/reliability.md): single bits flipped in the Arrow messages of valid Athena events, each case through
``lambda_handler`` in a worker subprocess, so that a segfault in pyarrow's C++ code is seen as the worker's death.
Every case must end in an answer or a typed error; the harness itself is shown to catch a segfault."""

from __future__ import annotations

import os
import random

from benchmarks.fuzz_bitflip import SELFTEST_SEGFAULT, Campaign, Worker, body_flips, flip, seeds, targets

CASES = int(os.environ.get("BITFLIP_CASES", "200"))


def test_flipped_bits_in_arrow_payloads_never_kill_the_process() -> None:
    campaign = Campaign(seed=17, timeout_s=10.0).run(CASES)
    assert campaign.total == CASES
    assert not campaign.failures, campaign.summary()
    assert campaign.workers_started == 1, "no worker process died"
    assert campaign.counts["typed_error"] > CASES // 2, campaign.summary()
    assert {"schema", "records"} <= set(campaign.by_target), campaign.summary()
    assert {"rich_read", "rich_splits", "demo_read"} <= set(campaign.by_seed), campaign.summary()


def test_every_bit_of_value_and_partition_block_bodies() -> None:
    """Exhaustive: each bit of the offsets, validity and values of the blocks whose values the read decodes."""
    campaign = Campaign(timeout_s=10.0).run_cases(body_flips(["demo_read", "rich_splits"]))
    assert campaign.total > 1000, campaign.summary()
    assert not campaign.failures, campaign.summary()
    assert campaign.workers_started == 1


def test_a_decimal_scale_beyond_its_precision_in_the_requested_schema() -> None:
    """Found by the long run: one flip made ``annual_revenue`` decimal128(14, 268435458), which the IPC reader
    accepts and pyarrow's cast then segfaults on."""
    import base64
    import copy

    event = copy.deepcopy(dict(seeds())["rich_read"])
    raw = bytearray(base64.b64decode(event["schema"]))
    raw[3420 // 8] ^= 1 << (3420 % 8)
    event["schema"] = base64.b64encode(bytes(raw)).decode()
    campaign = Campaign(timeout_s=10.0).run_cases([("rich_read", event, "schema bits [3420]")])
    assert campaign.counts["typed_error"] == 1, campaign.summary()
    worker = Worker(timeout_s=10.0)
    try:
        outcome, detail = worker.run("rich_read", event)
    finally:
        worker.close()
    assert outcome == "typed_error" and "decimal precision 14 and scale 268435458 are out of range" in detail, detail


def test_the_harness_sees_a_segfault_as_a_crash() -> None:
    worker = Worker(timeout_s=5.0)
    try:
        outcome, detail = worker.run(SELFTEST_SEGFAULT, {})
    finally:
        worker.close()
    assert outcome == "crash" and "SIGSEGV" in detail and "139" in detail


def test_every_flip_changes_exactly_the_chosen_bits() -> None:
    import base64

    rng = random.Random(3)
    pool = seeds()
    assert len(pool) >= 6
    for name, event in pool:
        mutated, where = flip(event, rng)
        changed = 0
        for path in targets(event):
            before, after = event, mutated
            for part in path:
                before, after = before[part], after[part]
            a, b = base64.b64decode(before), base64.b64decode(after)
            assert len(a) == len(b)
            changed += sum(bin(x ^ y).count("1") for x, y in zip(a, b, strict=True))
        flipped = where.split("bits ")[1].strip("[]").split(", ")
        assert changed <= len(flipped) and changed % 2 == len(flipped) % 2, (name, where)  # a bit flipped twice cancels
