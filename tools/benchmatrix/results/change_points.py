"""Change points in a cell's history, found by Apache Otava's e-divisive means with a t-test.

A fixed threshold ("10% slower than last time") fires on noise as often as on change:
asv users report 15-30% false positives. A change point instead is where the series
before and the series after differ significantly as wholes, so one noisy run moves
nothing and a lasting step is found at the run where it began. Otava (the algorithm
of Fleming et al., "Hunter: Using Change Point Detection to Hunt for Performance
Regressions", 2023) splits the series in sliding windows with e-divisive, then keeps
only the points whose two sides differ by Student's t-test.

The parameters, and why:
- WINDOW = 30 points: long enough that a step a third of the way into the window still
  has 10 points on a side for the t-test; short enough that two changes months apart
  are judged each against its neighbours, not against the whole history (Otava's
  default is 50 for nightly CI series; cells here are measured less often).
- MAX_PVALUE = 0.001: Otava's default. A history is tested at many candidate points
  and every cell and scenario has one; at 0.001 a hundred noise-only series give about
  0.1 false alarm, which a CI gate can live with.
- MIN_MAGNITUDE = 0.05: a change must move the mean by more than 5%. Measured here, a
  cell's trials spread by about 8% (the load generator ceiling's noise, run/option_specs
  --max-cv) and a record's median by a few percent; a smaller step, however significant
  over many runs, is below what one run here can show, and not worth stopping a merge for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import List, Sequence

from benchmatrix.results.history import HistoryPoint

WINDOW = 30
MAX_PVALUE = 0.001
MIN_MAGNITUDE = 0.05
MIN_POINTS = 4  # fewer points cannot show a step with two on each side


@dataclass(frozen=True)
class ChangePoint:
    when: datetime  # the first point measured after the change
    record_id: str  # that point's record
    before: float  # mean of the series from the previous change point (or its start) up to this one
    after: float  # mean from this one up to the next change point (or its end)
    ratio: float  # after / before: below 1 a req/s drop, above 1 a latency rise when the metric is latency
    pvalue: float  # Student's t-test of the two sides


def _otava_change_points(values: Sequence[float], window: int, max_pvalue: float, min_magnitude: float):
    try:
        from otava.analysis import compute_change_points
    except ImportError as error:  # pragma: no cover - the harness's requirements install it
        raise RuntimeError("change points need Apache Otava (PyPI apache-otava, in configs/requirements/harness.txt):"
                           " rebuild the harness's environment with `nox -s harness` ({})".format(error))
    found, _weak = compute_change_points(list(values), window_len=window, max_pvalue=max_pvalue,
                                         min_magnitude=min_magnitude)
    return found


def find_change_points(points: Sequence[HistoryPoint], window: int = WINDOW, max_pvalue: float = MAX_PVALUE,
                       min_magnitude: float = MIN_MAGNITUDE) -> List[ChangePoint]:
    """The significant steps of one series (points in time order), oldest first."""
    if len(points) < MIN_POINTS:
        return []
    found = _otava_change_points([p.value for p in points], window, max_pvalue, min_magnitude)
    changes = []
    for change in sorted(found, key=lambda c: c.index):
        first_after = points[change.index]
        before, after = float(change.stats.mean_1), float(change.stats.mean_2)
        changes.append(ChangePoint(when=first_after.when, record_id=first_after.record_id, before=before,
                                   after=after, ratio=after / before if before else float("inf"),
                                   pvalue=float(change.stats.pvalue)))
    return changes
