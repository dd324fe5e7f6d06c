"""Fuzz the origin check with generated URL variants (next links, redirects, templated URLs alike).

Every variant goes through a real transport to a fake API on loopback, with a recording server on a second port
standing in for an attacker's host; the run fails if any request reaches that host. The test suite runs 300
variants (tests/reliability/test_url_origin.py); this runs as many as asked:

    .venv/bin/python benchmarks/fuzz_urls.py --cases 20000
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.url_variants import send_corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=5000, help="how many URL variants (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the variants (default 1)")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)
    started = time.monotonic()
    outcomes, at_other_host, at_api = send_corpus(args.cases, args.seed)
    elapsed = time.monotonic() - started
    print(f"{args.cases} URL variants in {elapsed:.1f} s (seed {args.seed})")
    for outcome, count in outcomes.most_common():
        print(f"  {outcome}: {count}")
    print(f"  requests that reached the API: {len(at_api)}; reached the other host: {len(at_other_host)}")
    if at_other_host:
        print(f"FAIL: the other host got {len(at_other_host)} request(s), e.g. {at_other_host[0]['path']}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
