"""Fisher's exact test on a 2x2 table, for "is the difference in error rate between two variants real?".

Exact at every sample size (a chi-squared or z-test is not, with the few errors a canary usually sees), and
cheap: the sum runs over at most (total errors + 1) terms. The two-sided p-value sums the probabilities of all
tables with the same margins that are no more likely than the one observed, as ``scipy.stats.fisher_exact`` does.
"""

from __future__ import annotations

import math

#: Relative tolerance when comparing table probabilities (the same as scipy's), so ties are not lost to rounding.
_TIE = 1 + 1e-7


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of the table ``[[a, b], [c, d]]`` (rows: variants; columns: errors, successes)."""
    if min(a, b, c, d) < 0:
        raise ValueError("counts must not be negative")
    row1, row2, col1 = a + b, c + d, a + c
    n = row1 + row2
    if row1 == 0 or row2 == 0 or col1 == 0 or col1 == n:
        return 1.0
    base = _log_choose(n, col1)

    def log_p(x: int) -> float:
        return _log_choose(row1, x) + _log_choose(row2, col1 - x) - base

    observed = log_p(a)
    limit = observed + math.log(_TIE)
    total = sum(math.exp(lp) for x in range(max(0, col1 - row2), min(col1, row1) + 1) if (lp := log_p(x)) <= limit)
    return min(1.0, total)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
