"""LLL reduction of a lattice basis given by its triangular factor (Lenstra, Lenstra & Lovasz 1982).

The exact quantizer enumerates integer points u with ||R (u - r)|| small. For raw-pixel inputs (the stem
conv) the columns of R are nearly parallel: the triangular factor's diagonal spans two orders of
magnitude and the enumeration tree explodes near its root. A unimodular change of variables u = Z v
(Z and Z^-1 integer) maps integers to integers one to one and leaves the error unchanged, while the
reduced basis R Z has a flat diagonal, so the same points are enumerated with far fewer dead ends.
The reduction only steers the search: any unimodular Z gives the same optimum, so floating-point
rounding inside the reduction can cost speed, never correctness (Z is kept in exact integers and
checked).
"""

from __future__ import annotations

import numpy as np

# Lovasz condition constant: 0.99 reduces nearly as far as 1 and still terminates quickly.
LOVASZ_DELTA = 0.99
# Z and Z^-1 stay exact float64 integers, and so does their product's check (n * MAX_ENTRY^2 < 2^53 for
# n < 8192); a reduction that needs larger entries is abandoned.
MAX_ENTRY = 2.0 ** 20


def lll_reduce(R: np.ndarray, delta: float = LOVASZ_DELTA, max_swaps: int | None = None):
    """(Z, Z_inv) unimodular with R Z LLL-reduced, or None when R is not of full rank, the entries of
    Z grow beyond exact float64 integers, or ``max_swaps`` (default 50 n^2) swaps do not finish.

    R: n x n upper triangular with a positive diagonal. Size reduction and swaps work on R itself
    (Givens rotations restore its triangular form after a swap), the standard QR form of LLL.
    """
    R = np.array(R, dtype=np.float64)
    n = R.shape[1]
    if n == 0 or not np.all(np.isfinite(R)) or np.any(np.abs(np.diag(R)) <= 0):
        return None
    max_swaps = 50 * n * n if max_swaps is None else max_swaps
    Z, Z_inv = np.eye(n), np.eye(n)
    k, swaps = 1, 0
    while k < n:
        for j in range(k - 1, -1, -1):  # size reduction of column k against columns j < k
            step = np.round(R[j, k] / R[j, j])
            if step != 0:
                R[: j + 1, k] -= step * R[: j + 1, j]
                Z[:, k] -= step * Z[:, j]
                Z_inv[j, :] += step * Z_inv[k, :]
        if delta * R[k - 1, k - 1] ** 2 > R[k - 1, k] ** 2 + R[k, k] ** 2:
            swaps += 1
            if swaps > max_swaps:
                return None
            R[:, [k - 1, k]] = R[:, [k, k - 1]]
            Z[:, [k - 1, k]] = Z[:, [k, k - 1]]
            Z_inv[[k - 1, k], :] = Z_inv[[k, k - 1], :]
            a, b = R[k - 1, k - 1], R[k, k - 1]
            h = np.hypot(a, b)
            rotation = np.array([[a / h, b / h], [-b / h, a / h]])
            R[k - 1: k + 1, k - 1:] = rotation @ R[k - 1: k + 1, k - 1:]
            R[k, k - 1] = 0.0
            k = max(k - 1, 1)
        else:
            k += 1
        if np.abs(Z).max() > MAX_ENTRY or np.abs(Z_inv).max() > MAX_ENTRY:
            return None
    if not np.array_equal(Z @ Z_inv, np.eye(n)):  # exact in float64 while the entries stay small
        return None
    return Z, Z_inv
