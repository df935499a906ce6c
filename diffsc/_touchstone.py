"""Touchstone reader and writer for S parameters (versions 1.x and 2.0).

Plain NumPy (file I/O is not traced). Our reader understands

* the option line ``# <unit> S <fmt> R <Z0>`` with units Hz/kHz/MHz/GHz and formats RI
  (real/imag), MA (magnitude/angle in degrees) and DB (20 log10 |S| / angle in degrees);
  comments start with ``!``; numbers of one frequency may wrap over several lines;
* version 1 (``.s1p``, ``.s2p``, ``.sNp``; ports from the extension): 2-port rows in the order
  S11 S21 S12 S22, N-port rows row-major; a 2-port noise-parameter block (it starts where the
  frequency stops increasing) is skipped;
* version 2.0 (``[Version] 2.0``): ``[Number of Ports]``, ``[Two-Port Data Order]``
  (``12_21`` or ``21_12``), ``[Number of Frequencies]``, ``[Reference]`` (per-port impedances),
  ``[Matrix Format]`` (``Full``, ``Lower``, ``Upper``), ``[Network Data]``, ``[Noise Data]``
  (skipped), ``[Begin Information]``/``[End Information]`` (skipped), ``[End]``.

Y/Z/H/G parameters and mixed-mode data are not read by this reader; with ``backend="auto"`` such
files go to scikit-rf when it is installed (``pip install diffsc[touchstone]``), which is never
required and only imported when used.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np

_UNITS = {"HZ": 1.0, "KHZ": 1e3, "MHZ": 1e6, "GHZ": 1e9}
_BACKENDS = ("auto", "diffsc", "skrf")


class _Unsupported(ValueError):
    """A valid Touchstone feature that our reader does not implement (``auto`` -> scikit-rf)."""


def _ports_from_name(path: Path) -> int | None:
    m = re.search(r"\.s(\d+)p$", path.name.lower())
    return None if m is None else int(m.group(1))


def _names(n: int, order: str = "21_12") -> list[str]:
    if n == 2 and order == "21_12":
        return ["S11", "S21", "S12", "S22"]
    return [f"S{i + 1}{j + 1}" for i in range(n) for j in range(n)]


def _parse_option_line(line: str, opts: dict):
    tok = line[1:].upper().split()
    i = 0
    while i < len(tok):
        t = tok[i]
        if t in _UNITS:
            opts["unit"] = t
        elif t in ("RI", "MA", "DB"):
            opts["fmt"] = t
        elif t == "R" and i + 1 < len(tok):
            opts["z0"] = float(tok[i + 1])
            i += 1
        elif t in ("Y", "Z", "H", "G"):
            raise _Unsupported(
                f"diffsc.read_touchstone: only S parameters are supported by this reader (got "
                f"{t!r}); install scikit-rf and use backend='skrf'."
            )
        elif t != "S":
            raise ValueError(f"diffsc.read_touchstone: unknown token {t!r} in the option line.")
        i += 1


def _read_diffsc(path: Path, n_ports: int | None):
    opts = {"unit": "GHZ", "fmt": "MA", "z0": 50.0}  # Touchstone defaults
    version, n_kw, order, n_freq, matrix = 1, None, None, None, "FULL"
    reference: list[float] = []
    values: list[float] = []
    section, in_info = None, False
    n1 = int(n_ports) if n_ports is not None else _ports_from_name(path)
    v1_row = 9 if n1 == 2 else None  # numbers per frequency of a version-1 2-port file
    for raw in path.read_text().splitlines():
        line = raw.split("!", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            m = re.match(r"\[([^\]]*)\]\s*(.*)$", line)
            if m is None:
                raise ValueError(f"diffsc.read_touchstone: malformed keyword line {line!r}.")
            key, rest = m.group(1).strip().lower(), m.group(2).strip()
            if in_info and key != "end information":
                continue
            section = None
            if key == "version":
                if not rest.startswith("2"):
                    raise _Unsupported(f"diffsc.read_touchstone: [Version] {rest} is not supported.")
                version = 2
            elif key == "begin information":
                in_info = True
            elif key == "end information":
                in_info = False
            elif key == "number of ports":
                n_kw = int(rest)
            elif key == "two-port data order":
                order = rest.upper()
                if order not in ("12_21", "21_12"):
                    raise ValueError(f"diffsc.read_touchstone: bad [Two-Port Data Order] {rest!r}.")
            elif key == "number of frequencies":
                n_freq = int(rest)
            elif key == "number of noise frequencies":
                pass
            elif key == "reference":
                reference.extend(float(v) for v in rest.split())
                section = "reference"
            elif key == "matrix format":
                matrix = rest.upper()
                if matrix not in ("FULL", "LOWER", "UPPER"):
                    raise ValueError(f"diffsc.read_touchstone: bad [Matrix Format] {rest!r}.")
            elif key == "network data":
                section = "data"
            elif key == "noise data":
                section = "noise"
            elif key == "end":
                break
            else:  # [Mixed-Mode Order] and anything newer
                raise _Unsupported(f"diffsc.read_touchstone: keyword [{m.group(1)}] is not "
                                   "supported by this reader; use backend='skrf'.")
            continue
        if in_info or section == "noise":
            continue
        if line.startswith("#"):
            _parse_option_line(line, opts)
            continue
        numbers = [float(v) for v in line.split()]
        if section == "reference":
            reference.extend(numbers)
        elif version == 2 and section != "data":
            raise ValueError(f"diffsc.read_touchstone: data before [Network Data] in {path.name!r}.")
        elif (version == 1 and v1_row and values and len(values) % v1_row == 0
              and numbers[0] <= values[-v1_row]):
            section = "noise"  # v1 2-port noise parameters start where the frequency restarts
        else:
            values.extend(numbers)

    if version == 2:
        if n_kw is None:
            raise ValueError(f"diffsc.read_touchstone: {path.name!r} lacks [Number of Ports].")
        if n_ports is not None and int(n_ports) != n_kw:
            raise ValueError(f"diffsc.read_touchstone: `n_ports`={n_ports} but the file says "
                             f"[Number of Ports] {n_kw}.")
        n = n_kw
        if n == 2 and order is None:
            raise ValueError(f"diffsc.read_touchstone: 2-port {path.name!r} lacks "
                             "[Two-Port Data Order].")
    else:
        n = int(n_ports) if n_ports is not None else _ports_from_name(path)
        if n is None:
            raise ValueError(f"diffsc.read_touchstone: cannot infer the number of ports from "
                             f"`path` {path.name!r}; pass n_ports=.")
        order = "21_12"
    if n < 1:
        raise ValueError(f"diffsc.read_touchstone: `n_ports` must be >= 1, got {n}.")

    if matrix == "FULL":
        cells = [(i, j) for i in range(n) for j in range(n)]
        if n == 2 and order == "21_12":
            cells = [(0, 0), (1, 0), (0, 1), (1, 1)]
    elif matrix == "LOWER":
        cells = [(i, j) for i in range(n) for j in range(i + 1)]
    else:
        cells = [(i, j) for i in range(n) for j in range(i, n)]
    per_row = 1 + 2 * len(cells)
    data = np.asarray(values, dtype=float)
    if data.size == 0 or data.size % per_row:
        raise ValueError(f"diffsc.read_touchstone: {data.size} numbers in {path.name!r} do not fit "
                         f"{n}-port rows of {per_row} numbers.")
    data = data.reshape(-1, per_row)
    if n_freq is not None and data.shape[0] != n_freq:
        raise ValueError(f"diffsc.read_touchstone: {data.shape[0]} frequencies in {path.name!r}, "
                         f"[Number of Frequencies] says {n_freq}.")
    freq = data[:, 0] * _UNITS[opts["unit"]]
    x, y = data[:, 1::2], data[:, 2::2]
    if opts["fmt"] == "RI":
        vals = x + 1j * y
    elif opts["fmt"] == "MA":
        vals = x * np.exp(1j * np.deg2rad(y))
    else:
        vals = 10.0 ** (x / 20.0) * np.exp(1j * np.deg2rad(y))
    s = np.zeros((data.shape[0], n, n), complex)
    for k, (i, j) in enumerate(cells):
        s[:, i, j] = vals[:, k]
        if matrix != "FULL":
            s[:, j, i] = vals[:, k]
    if reference:
        if len(reference) != n:
            raise ValueError(f"diffsc.read_touchstone: [Reference] has {len(reference)} values "
                             f"for {n} ports.")
        z0 = reference[0] if len(set(reference)) == 1 else np.asarray(reference)
    else:
        z0 = opts["z0"]
    return freq, s, z0


def _read_skrf(path: Path, n_ports: int | None):
    try:
        import skrf
    except ImportError as err:
        raise ImportError("diffsc.read_touchstone: backend='skrf' needs scikit-rf "
                          "(pip install diffsc[touchstone]).") from err
    net = skrf.Network(str(path))
    s = np.asarray(net.s)
    if n_ports is not None and s.shape[1] != int(n_ports):
        raise ValueError(f"diffsc.read_touchstone: `n_ports`={n_ports} but scikit-rf read "
                         f"{s.shape[1]} ports.")
    z = np.asarray(net.z0)[0]
    z0 = float(z[0].real) if np.all(z == z[0]) and z[0].imag == 0 else z
    return np.asarray(net.f, float), s, z0


def read_touchstone(path, *, n_ports: int | None = None, backend: str = "auto"):
    r"""Read S parameters from a Touchstone v1 (``.sNp``) or v2.0 file.

    **Arguments:**

    - `path`: the file. Version 1: the number of ports comes from the extension ``.sNp``
      (or `n_ports`); version 2.0: from ``[Number of Ports]`` (any extension, e.g. ``.ts``).
    - `n_ports`: number of ports (v1 files with another extension; checked against v2 files).
    - `backend`: ``"diffsc"`` (our reader, no dependencies), ``"skrf"`` (scikit-rf, the optional
      extra ``diffsc[touchstone]``) or ``"auto"`` (ours; scikit-rf, when installed, for files with
      features our reader lacks: Y/Z parameters, mixed-mode data).

    **Returns:** ``(freq, s)`` with `freq` in Hz (1-D ``numpy`` array) and `s` a dict
    ``{"S11": array, "S21": array, ...}`` of complex arrays (dimensionless) of the same length;
    ``s["Z0"]`` holds the reference impedance in Ohm (a float, or an array of one value per
    port when they differ). Noise parameters (the version-1 2-port noise block, v2
    ``[Noise Data]``) are skipped: resonator fits need only the network data.
    """
    if backend not in _BACKENDS:
        raise ValueError(f"diffsc.read_touchstone: unknown `backend` {backend!r}; choose from "
                         f"{_BACKENDS}.")
    path = Path(path)
    if backend == "skrf":
        freq, s, z0 = _read_skrf(path, n_ports)
    else:
        try:
            freq, s, z0 = _read_diffsc(path, n_ports)
        except _Unsupported:
            if backend == "diffsc" or importlib.util.find_spec("skrf") is None:
                raise
            freq, s, z0 = _read_skrf(path, n_ports)
    n = s.shape[1]
    out = {f"S{i + 1}{j + 1}": s[:, i, j] for i in range(n) for j in range(n)}
    out["Z0"] = z0
    return freq, out


def write_touchstone(path, freq, s: dict, *, fmt: str = "RI", z0: float = 50.0,
                     version: int = 1, n_ports: int | None = None):
    """Write S parameters to a Touchstone file (frequency in Hz; `fmt` RI, MA or DB).

    `s` maps names ``"S11"``, ``"S21"``, ... to complex arrays (missing entries are written as
    0). `version` 1 takes the number of ports from the extension (``.s1p``, ``.s2p``, ...) and
    writes 2-port rows as S11 S21 S12 S22; `version` 2 writes ``[Version] 2.0`` with
    ``[Number of Ports]`` (from `n_ports`, else the extension), ``[Two-Port Data Order] 12_21``,
    ``[Number of Frequencies]`` and full row-major matrices. `z0` in Ohm.
    """
    path = Path(path)
    fmt = fmt.upper()
    if fmt not in ("RI", "MA", "DB"):
        raise ValueError(f"diffsc.write_touchstone: unknown `fmt` {fmt!r}; use RI, MA or DB.")
    if version not in (1, 2):
        raise ValueError(f"diffsc.write_touchstone: `version` must be 1 or 2, got {version!r}.")
    n = int(n_ports) if (n_ports is not None and version == 2) else _ports_from_name(path)
    if n is None:
        raise ValueError(f"diffsc.write_touchstone: cannot infer the number of ports from `path` "
                         f"{path.name!r}" + ("; pass n_ports=." if version == 2 else
                                              " (use a .sNp extension)."))
    names = _names(n, "21_12" if version == 1 else "12_21")
    freq = np.asarray(freq, float)
    cols = [freq]
    for name in names:
        v = np.asarray(s.get(name, np.zeros(freq.size)), complex)
        if fmt == "RI":
            cols += [v.real, v.imag]
        elif fmt == "MA":
            cols += [np.abs(v), np.rad2deg(np.angle(v))]
        else:
            cols += [20 * np.log10(np.maximum(np.abs(v), 1e-300)), np.rad2deg(np.angle(v))]
    table = np.stack(cols, axis=1)
    lines = [" ".join(f"{v:.12e}" for v in row) for row in table]
    if version == 1:
        header = f"! written by diffsc\n# HZ S {fmt} R {z0:g}\n"
        path.write_text(header + "\n".join(lines) + "\n")
        return
    header = ["! written by diffsc", "[Version] 2.0", f"# HZ S {fmt} R {z0:g}",
              f"[Number of Ports] {n}"]
    if n == 2:
        header.append("[Two-Port Data Order] 12_21")
    header += [f"[Number of Frequencies] {freq.size}", "[Network Data]"]
    path.write_text("\n".join(header + lines + ["[End]"]) + "\n")
