"""One GetSplits page of windows x partitions, each window sized from the API's counts (``shared.split_sizing``).

The page walks the partitions in order (or the one "no partition") and, inside each, the sized windows in
ascending order; it ends when ``max_splits_per_response`` splits are planned or the invocation's deadline
nears, and says where the next page resumes: ``(partition index, edge text or None)``. Every page starts at
exactly the edge the previous one stopped at, so the pages together partition each partition's range.

The target (``max_rows_per_split``, else :func:`shared.split_sizing.default_target` from the entity's page
size, the spec's rate limit and this function's own time) bounds the records a split reads. A partition's
window is counted with what its read pushes: the partition's ``field = value``, the catch-all's ``not_in``
where the API takes one (else no partition filter, since it then reads every row of the window).

An entity without ``count`` is sized from probe pages (``shared.density``) unless ``split_probes`` is off:
estimates are not additive, so the Sizer asks again for each half it cuts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from athena_connector.config import ConnectorConfig
from athena_connector.runtime import Runtime
from shared.counts import count_matching
from shared.deadline import Deadline
from shared.density import DensityEstimator, Probe
from shared.errors import SaaSClientError
from shared.predicates import Predicate
from shared.records import Extractor
from shared.spec.model import EntitySpec
from shared.split_sizing import LAMBDA_MAX_TIMEOUT_S, Sizer, default_target
from shared.splits import WindowPlan, partition_properties, partition_scope, render_edge, split_predicates, window_plan
from shared.values import CoercionError, coerce

NO_PARTITION = object()
REFUSED = (400, 422)
ESTIMATE_SHARE = 0.75  # estimated windows aim under the target: a density read off one place is not exact
PROBE_RESERVE_S = 2.0  # time kept for answering, on top of twice the slowest probe so far


class SizedPage:
    def __init__(
        self,
        runtime: Runtime,
        entity: EntitySpec,
        predicates: list[Predicate],
        config: ConnectorConfig,
        deadline: Deadline,
        planned_at: dt.datetime,
    ) -> None:
        self.runtime = runtime
        self.entity = entity
        self.predicates = predicates
        self.deadline = deadline
        self.window = window_plan(entity, predicates, now=planned_at)
        self.probing = config.split_probes
        self.target = config.max_rows_per_split or target_for(runtime, entity, config, deadline)
        self.slowest = 0.0
        self.probes = 0

    def may_probe(self) -> bool:
        return self.deadline.remaining() > PROBE_RESERVE_S + 2 * self.slowest

    def plan(
        self, parts: list[Any], first: int, edge: str | None, per_page: int
    ) -> tuple[list[dict[str, str]], tuple[int, str | None] | None]:
        """Split properties for this page, and where the next page resumes (None: this is the last page)."""
        out: list[dict[str, str]] = []
        for index in range(first, len(parts)):
            part = parts[index]
            extra = {} if part is NO_PARTITION else partition_properties(self.entity, part)
            if out and not self.may_probe():
                return out, (index, None)
            if self.window is None:
                out.append(extra)
                if len(out) >= per_page and index + 1 < len(parts):
                    return out, (index + 1, None)
                continue
            window = self.window
            start = window.parse_edge(edge) if edge is not None and index == first else None
            counter = self._counter(window, extra)
            exact = self.entity.count is not None
            target = self.target if exact else max(1, int(self.target * ESTIMATE_SHARE))
            sizer = Sizer(window, counter, target, self.may_probe, exact=exact)
            for piece in sizer.pieces(start):
                whole = piece.low is None and piece.high is None  # one window over everything: a plain split
                out.append({**({} if whole else window.properties(piece.low, piece.high)), **extra})
                if len(out) >= per_page:
                    if piece.high is not None:
                        return out, (index, render_edge(piece.high))
                    return out, ((index + 1, None) if index + 1 < len(parts) else None)
            if sizer.stopped_at is not None:
                return out, (index, render_edge(sizer.stopped_at))
        return out, None

    def _counter(self, window: WindowPlan, extra: dict[str, str]) -> Callable[[Any, Any], int | None] | None:
        if self.entity.count is None:
            return self._estimator(window, extra) if self.probing else None
        scope = partition_scope(self.entity, extra)
        base = [*self.predicates, *scope.pushed]
        probe_deadline = Deadline(lambda: self.deadline.remaining() - PROBE_RESERVE_S / 2)

        def count(low: Any, high: Any) -> int:
            nonlocal base
            bounds = split_predicates(self.entity, window.properties(low, high))
            started = self.runtime.client.clock.monotonic()
            try:
                return count_matching(self.runtime.client, self.entity, [*base, *bounds], probe_deadline)
            except SaaSClientError as exc:
                if exc.status not in REFUSED or base == list(scope.pushed):
                    raise
                # The API refuses the query's parameters: the read will fall back to reading without them
                # (and filter locally), so its work is counted without them too.
                base = list(scope.pushed)
                return count_matching(self.runtime.client, self.entity, [*base, *bounds], probe_deadline)
            finally:
                self.probes += 1
                self.slowest = max(self.slowest, self.runtime.client.clock.monotonic() - started)

        return count

    def _estimator(self, window: WindowPlan, extra: dict[str, str]) -> Callable[[Any, Any], int | None]:
        """Estimated counts from probe pages of the window, read as the split would read it."""
        client = self.runtime.client
        scope = partition_scope(self.entity, extra)
        base = [*self.predicates, *scope.pushed]
        field = self.entity.field(window.field)
        extractor = Extractor(self.entity, [field.name])
        probe_deadline = Deadline(lambda: self.deadline.remaining() - PROBE_RESERVE_S / 2)

        def page(predicates: list[Predicate], size: int) -> Probe:
            plan = client.plan(self.entity.name, predicates, (field.name,))
            got = client.fetch_page(plan, None, size, probe_deadline)
            values = []
            for record in got.records:
                try:
                    value = coerce(extractor.raw_row(record)[field.name], field.type)
                except CoercionError:
                    continue  # a value the read would refuse or null: it tells nothing about sizes
                if value is not None:
                    values.append(value)
            # A short page is the last one, whatever token the API adds (some send one until an empty page).
            return Probe(values, got.next_token is not None and len(got.records) >= size)

        def fetch(low: Any, high: Any, size: int) -> Probe:
            nonlocal base
            bounds = split_predicates(self.entity, window.properties(low, high))
            started = client.clock.monotonic()
            try:
                try:
                    return page([*base, *bounds], size)
                except SaaSClientError as exc:
                    if exc.status not in REFUSED or base == list(scope.pushed):
                        raise
                    base = list(scope.pushed)  # the read falls back to this too (see ``_counter``)
                    return page([*base, *bounds], size)
            except SaaSClientError as exc:
                if exc.status not in REFUSED:
                    raise
                # A bound the API refuses (an id below its range, a date before its epoch) holds no records for
                # sizing's purpose; the read of such a window falls back to local filtering if it ever gets one.
                return Probe([], False)
            finally:
                self.probes += 1
                self.slowest = max(self.slowest, client.clock.monotonic() - started)

        return DensityEstimator(fetch, client.page_size(self.entity, None), self.target).count


def target_for(runtime: Runtime, entity: EntitySpec, config: ConnectorConfig, deadline: Deadline) -> int:
    """The default target: what one split reads in half of this function's time at the API's pace."""
    remaining = deadline.remaining() + config.deadline_margin_s
    timeout = LAMBDA_MAX_TIMEOUT_S if remaining == float("inf") else min(LAMBDA_MAX_TIMEOUT_S, remaining)
    limit = runtime.client.spec.api.rate_limit
    return default_target(
        runtime.client.page_size(entity, None),
        limit.requests_per_second if limit is not None else None,
        timeout_s=timeout,
        page_seconds=config.split_page_seconds,
    )
