"""Minimal Touchstone (v1, ``.sNp``) reader and writer for S parameters.

Plain NumPy (file I/O is not traced). Supports the option line ``# <unit> S <fmt> R <Z0>`` with
units Hz/kHz/MHz/GHz and formats RI (real/imag), MA (magnitude/angle in degrees) and DB
(20 log10 |S| / angle in degrees); comments start with ``!``. Data for N > 2 ports may wrap over
several lines (the v1 rule); 2-port files use the order S11 S21 S12 S22, N-port files row-major
order. scikit-rf (``pip install diffsc[touchstone]``) reads many more variants; this reader has no
dependencies.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

_UNITS = {"HZ": 1.0, "KHZ": 1e3, "MHZ": 1e6, "GHZ": 1e9}


def _n_ports(path: Path, n_ports: int | None) -> int:
    if n_ports is not None:
        return int(n_ports)
    m = re.search(r"\.s(\d+)p$", path.name.lower())
    if m is None:
        raise ValueError(
            f"diffsc.read_touchstone: cannot infer the number of ports from `path` {path.name!r}; "
            "pass n_ports=."
        )
    return int(m.group(1))


def read_touchstone(path, *, n_ports: int | None = None):
    r"""Read a Touchstone v1 file.

    **Arguments:**

    - `path`: ``.s1p``/``.s2p``/``.sNp`` file.
    - `n_ports`: number of ports (default: from the file extension).

    **Returns:** ``(freq, s)`` with `freq` in Hz (1-D ``numpy`` array) and `s` a dict
    ``{"S11": array, "S21": array, ...}`` of complex arrays (dimensionless) of the same length;
    ``s["Z0"]`` holds the reference impedance in Ohm.
    """
    path = Path(path)
    n = _n_ports(path, n_ports)
    unit, fmt, z0 = "GHZ", "MA", 50.0  # Touchstone defaults
    values: list[float] = []
    for raw in path.read_text().splitlines():
        line = raw.split("!", 1)[0].strip()
        if not line:
            continue
        if line.startswith("#"):
            tok = line[1:].upper().split()
            i = 0
            while i < len(tok):
                t = tok[i]
                if t in _UNITS:
                    unit = t
                elif t in ("RI", "MA", "DB"):
                    fmt = t
                elif t == "R" and i + 1 < len(tok):
                    z0 = float(tok[i + 1])
                    i += 1
                elif t != "S":
                    raise ValueError(
                        f"diffsc.read_touchstone: only S parameters are supported (got {t!r})."
                    )
                i += 1
            continue
        if line.startswith("["):
            raise ValueError("diffsc.read_touchstone: Touchstone v2 keywords are not supported.")
        values.extend(float(v) for v in line.split())
    per_row = 1 + 2 * n * n
    data = np.asarray(values, dtype=float)
    if data.size == 0 or data.size % per_row:
        raise ValueError(
            f"diffsc.read_touchstone: {data.size} numbers in {path.name!r} do not fit "
            f"{n}-port rows of {per_row} numbers."
        )
    data = data.reshape(-1, per_row)
    freq = data[:, 0] * _UNITS[unit]
    x, y = data[:, 1::2], data[:, 2::2]
    if fmt == "RI":
        s = x + 1j * y
    elif fmt == "MA":
        s = x * np.exp(1j * np.deg2rad(y))
    else:
        s = 10.0 ** (x / 20.0) * np.exp(1j * np.deg2rad(y))
    if n == 2:
        names = ["S11", "S21", "S12", "S22"]
    else:
        names = [f"S{i + 1}{j + 1}" for i in range(n) for j in range(n)]
    out = {name: s[:, k] for k, name in enumerate(names)}
    out["Z0"] = z0
    return freq, out


def write_touchstone(path, freq, s: dict, *, fmt: str = "RI", z0: float = 50.0):
    """Write S parameters to a Touchstone v1 file (frequency in Hz; `fmt` RI, MA or DB).

    `s` maps names ``"S11"``, ``"S21"``, ... to complex arrays; the number of ports is taken
    from the file extension (``.s1p``, ``.s2p``).
    """
    path = Path(path)
    n = _n_ports(path, None)
    names = ["S11", "S21", "S12", "S22"] if n == 2 else [
        f"S{i + 1}{j + 1}" for i in range(n) for j in range(n)
    ]
    fmt = fmt.upper()
    cols = [np.asarray(freq, float)]
    for name in names:
        v = np.asarray(s.get(name, np.zeros(len(cols[0]))), complex)
        if fmt == "RI":
            cols += [v.real, v.imag]
        elif fmt == "MA":
            cols += [np.abs(v), np.rad2deg(np.angle(v))]
        elif fmt == "DB":
            cols += [20 * np.log10(np.maximum(np.abs(v), 1e-300)), np.rad2deg(np.angle(v))]
        else:
            raise ValueError(f"diffsc.write_touchstone: unknown `fmt` {fmt!r}.")
    table = np.stack(cols, axis=1)
    header = f"! written by diffsc\n# HZ S {fmt} R {z0:g}\n"
    lines = [" ".join(f"{v:.12e}" for v in row) for row in table]
    path.write_text(header + "\n".join(lines) + "\n")
