"""An adversary against released survey figures (used by the property tests of issue 9).

It knows the rules, every department's members, when each person completed the survey, and the
answers of one member. It sees every view (report figures, chart data, digest, export rows) at
every moment. From each printed mean and count it recovers the exact integer sum (the printed
rounding of a mean of n ≤ 50 answers leaves one integer), maps each figure to the set of people
it covers, and then reasons linearly over all figures of a wave together:

- a person is pinned when their indicator vector lies in the span of the released sets (plus
  the known member's own vector);
- a group sum under the minimum is a 0/1 vector of support below `min_group` in that span.

Linear algebra is exact modulo a 61-bit prime: a combination that is zero over the rationals is
zero modulo the prime, so nothing true is missed (an accidental zero could only raise a false
alarm, with probability about 2⁻⁶¹).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

P = (1 << 61) - 1


def printed(value: float, digits: int = 2) -> str:
    """The report's rounding (half up), as the adversary reads it."""
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def sums_from_print(text: str, count: int, lo: int = 1, hi: int = 5) -> list[int]:
    """Every integer sum of `count` answers in [lo, hi] whose mean prints as `text`."""
    return [s for s in range(lo * count, hi * count + 1) if printed(s / count) == text]


def _kernel_columns(rows: Sequence[frozenset[int]], people: Sequence[int]) -> dict[int, tuple]:
    """Column j of a basis of {z : row·z = 0 for every row}, for each person j (mod P)."""
    index = {p: i for i, p in enumerate(people)}
    n = len(people)
    matrix = []
    for row in rows:
        vec = [0] * n
        for p in row:
            vec[index[p]] = 1
        matrix.append(vec)
    pivots: list[int] = []
    r = 0
    for c in range(n):
        pivot = next((i for i in range(r, len(matrix)) if matrix[i][c]), None)
        if pivot is None:
            continue
        matrix[r], matrix[pivot] = matrix[pivot], matrix[r]
        inv = pow(matrix[r][c], P - 2, P)
        matrix[r] = [v * inv % P for v in matrix[r]]
        for i in range(len(matrix)):
            if i != r and matrix[i][c]:
                f = matrix[i][c]
                matrix[i] = [(a - f * b) % P for a, b in zip(matrix[i], matrix[r], strict=True)]
        pivots.append(c)
        r += 1
        if r == len(matrix):
            break
    free = [c for c in range(n) if c not in set(pivots)]
    columns: dict[int, list[int]] = {p: [0] * len(free) for p in people}
    for k, f in enumerate(free):
        columns[people[f]][k] = 1
        for i, c in enumerate(pivots):
            columns[people[c]][k] = (-matrix[i][f]) % P
    return {p: tuple(v) for p, v in columns.items()}


def _direction(vec: tuple) -> tuple | None:
    first = next((v for v in vec if v), None)
    if first is None:
        return None
    inv = pow(first, P - 2, P)
    return tuple(v * inv % P for v in vec)


def _add(*vecs: tuple) -> tuple:
    return tuple(sum(parts) % P for parts in zip(*vecs, strict=True))


def _neg(vec: tuple) -> tuple:
    return tuple((-v) % P for v in vec)


def findings(
    rows: Iterable[frozenset[int]], people: Sequence[int], min_group: int, known: int | None
) -> list[str]:
    """What the adversary can work out from these released sets (empty: nothing)."""
    rows = [r for r in {frozenset(r) for r in rows} if r]
    if not rows:
        return []
    cols = _kernel_columns(rows, people)
    found: list[str] = []
    zero = tuple(0 for _ in next(iter(cols.values())))
    # Group sums under the minimum from the views alone: Σ_S column = 0 with 1 ≤ |S| < min.
    by_vec: dict[tuple, list[int]] = defaultdict(list)
    for p, v in cols.items():
        by_vec[v].append(p)
        if v == zero:
            found.append(f"person {p} alone is determined")
    if min_group > 2:
        for p, v in cols.items():
            for other in by_vec.get(_neg(v), []):
                if other != p and v != zero:
                    found.append(f"the sum of {{{p}, {other}}} is determined")
    if min_group > 3:
        pairs: dict[tuple, list[tuple[int, int]]] = defaultdict(list)
        for a, b in combinations(people, 2):
            pairs[_add(cols[a], cols[b])].append((a, b))
        for p in people:
            for a, b in pairs.get(_neg(cols[p]), []):
                if p not in (a, b):
                    found.append(f"the sum of {{{a}, {b}, {p}}} is determined")
        if min_group > 4:
            for key, group in pairs.items():
                for a, b in group:
                    for c, d in pairs.get(_neg(key), []):
                        if len({a, b, c, d}) == 4:
                            found.append(f"the sum of {{{a}, {b}, {c}, {d}}} is determined")
    # Knowing one member q's answers adds e_q to the span: x ∈ span iff Σ_S column ∥ column_q.
    # Pinned (|S| = 1), for every possible q at once: two people with parallel columns.
    directions: dict[tuple, list[int]] = defaultdict(list)
    for p, v in cols.items():
        d = _direction(v)
        if d is not None:
            directions[d].append(p)
    for group in directions.values():
        if len(group) > 1:
            found.append(f"knowing one of {sorted(group)}: the other is determined")
    if known is not None and known in cols and min_group > 3:
        # A sum of fewer than min − 1 other people, for the one member the test names.
        target = _direction(cols[known])
        for size in range(2, min_group - 1):
            for group in combinations([p for p in people if p != known], size):
                total = _add(*(cols[p] for p in group))
                if total == zero or (target is not None and _direction(total) == target):
                    found.append(f"knowing {known}: the sum of {sorted(group)} is determined")
    return sorted(set(found))
