"""Touchstone reader and writer for S parameters (versions 1.x and 2.0).

Plain NumPy (file I/O is not traced). Our reader understands

* the option line ``# <unit> S <fmt> R <Z0>`` with units Hz/kHz/MHz/GHz and formats RI
  (real/imag), MA (magnitude/angle in degrees) and DB (20 log10 |S| / angle in degrees); only
  the first option line counts (later ones are ignored, as the standard says); without one the
  standard's defaults ``# GHz S MA R 50`` apply; comments start with ``!``;
* version 1 (``.s1p``, ``.s2p``, ``.sNp``; ports from the extension): 1- and 2-port files hold
  one frequency per line (3 and 9 numbers; a line with another count is an error naming it),
  2-port rows in the order S11 S21 S12 S22; N-port rows (N >= 3) row-major, wrapped over lines;
  the 2-port noise-parameter block (rows of 5 numbers starting where the frequency restarts) is
  skipped; frequencies may decrease (every point is kept, in file order);
* version 2.0 (``[Version] 2.0``): ``[Number of Ports]``, ``[Two-Port Data Order]``
  (``12_21`` or ``21_12``), ``[Number of Frequencies]``, ``[Reference]`` (per-port impedances),
  ``[Matrix Format]`` (``Full``, ``Lower``, ``Upper``), ``[Network Data]``, ``[Noise Data]``
  (skipped), ``[Begin Information]``/``[End Information]`` (skipped), ``[End]``.

Files are decoded as UTF-8 (a byte-order mark is dropped) with a Latin-1 fallback, so comments
in other encodings do not stop the reader. Errors about the file's content are
`TouchstoneError` (a ``ValueError``) and name the file and, where it applies, the line.

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
_N_NOISE = 5  # numbers per row of the version-1 2-port noise block: f, NFmin, |G|, angle, Rn/Z0


class TouchstoneError(ValueError):
    """A Touchstone file that cannot be read; the message names the file (and line)."""


class _Unsupported(TouchstoneError):
    """A valid Touchstone feature that our reader does not implement (``auto`` -> scikit-rf)."""


def _decode(raw: bytes) -> tuple[str, str]:
    """Text of a file's bytes and the encoding used: UTF-8 (BOM dropped), UTF-16 with a BOM,
    else Latin-1 (never fails, so stray bytes in comments cost nothing)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _where(path: Path, lineno: int | None = None) -> str:
    return f"{str(path)!r}" + ("" if lineno is None else f", line {lineno}")


def _ports_from_name(path: Path) -> int | None:
    m = re.search(r"\.s(\d+)p$", path.name.lower())
    return None if m is None else int(m.group(1))


def _names(n: int, order: str = "21_12") -> list[str]:
    if n == 2 and order == "21_12":
        return ["S11", "S21", "S12", "S22"]
    return [f"S{i + 1}{j + 1}" for i in range(n) for j in range(n)]


def _parse_option_line(line: str, opts: dict, where: str):
    tok = line[1:].upper().split()
    i = 0
    while i < len(tok):
        t = tok[i]
        if t in _UNITS:
            opts["unit"] = t
        elif t in ("RI", "MA", "DB"):
            opts["fmt"] = t
        elif t == "R" and i + 1 < len(tok):
            try:
                opts["z0"] = float(tok[i + 1])
            except ValueError:
                raise TouchstoneError(f"diffsc.read_touchstone: {where}: the reference impedance "
                                      f"after R must be a number, got {tok[i + 1]!r}.") from None
            i += 1
        elif t in ("Y", "Z", "H", "G"):
            raise _Unsupported(
                f"diffsc.read_touchstone: {where}: only S parameters are supported by this reader "
                f"(got {t!r}); install scikit-rf and use backend='skrf'."
            )
        elif t != "S":
            raise TouchstoneError(f"diffsc.read_touchstone: {where}: unknown token {t!r} in the "
                                  "option line (expected e.g. '# GHz S RI R 50').")
        i += 1


def _layout(path: Path, where: str, version: int, n_v1: int | None, n_kw: int | None,
            n_ports: int | None, order: str | None, matrix: str):
    """``(n, per_row, cells)``: port count, numbers per frequency, matrix cells in file order."""
    if version == 2:
        if n_kw is None:
            raise TouchstoneError(f"diffsc.read_touchstone: {where}: {str(path)!r} lacks "
                                  "[Number of Ports] before its data.")
        if n_ports is not None and int(n_ports) != n_kw:
            raise TouchstoneError(f"diffsc.read_touchstone: `n_ports`={n_ports} but "
                                  f"{str(path)!r} says [Number of Ports] {n_kw}.")
        n = n_kw
        if n == 2 and order is None:
            raise TouchstoneError(f"diffsc.read_touchstone: 2-port {str(path)!r} lacks "
                                  "[Two-Port Data Order].")
    else:
        if n_v1 is None:
            raise TouchstoneError(f"diffsc.read_touchstone: cannot infer the number of ports of "
                                  f"{str(path)!r} from its extension (use .sNp) or pass n_ports=.")
        n, order = n_v1, "21_12"
    if n < 1:
        raise TouchstoneError(f"diffsc.read_touchstone: `n_ports` must be >= 1, got {n}.")
    if matrix == "FULL":
        cells = [(i, j) for i in range(n) for j in range(n)]
        if n == 2 and order == "21_12":
            cells = [(0, 0), (1, 0), (0, 1), (1, 1)]
    elif matrix == "LOWER":
        cells = [(i, j) for i in range(n) for j in range(i + 1)]
    else:
        cells = [(i, j) for i in range(n) for j in range(i, n)]
    return n, 1 + 2 * len(cells), cells


def _keyword(path: Path, where: str, line: str, st: dict):
    """Apply a ``[Keyword] value`` line of a v2 file to the parser state `st`."""
    m = re.match(r"\[([^\]]*)\]\s*(.*)$", line)
    if m is None:
        raise TouchstoneError(f"diffsc.read_touchstone: {where}: malformed keyword line {line!r}.")
    key, rest = m.group(1).strip().lower(), m.group(2).strip()
    if st["in_info"] and key != "end information":
        return
    st["section"] = None
    try:
        if key == "version":
            if not rest.startswith("2"):
                raise _Unsupported(f"diffsc.read_touchstone: {where}: [Version] {rest} is not "
                                   "supported.")
            st["version"], st["version_text"] = 2, rest.split()[0]
        elif key == "begin information":
            st["in_info"] = True
        elif key == "end information":
            st["in_info"] = False
        elif key == "number of ports":
            st["n_kw"] = int(rest)
        elif key == "two-port data order":
            st["order"] = rest.upper()
            if st["order"] not in ("12_21", "21_12"):
                raise TouchstoneError(f"diffsc.read_touchstone: {where}: bad [Two-Port Data "
                                      f"Order] {rest!r} (use 12_21 or 21_12).")
        elif key == "number of frequencies":
            st["n_freq"] = int(rest)
        elif key == "number of noise frequencies":
            pass
        elif key == "reference":
            st["reference"].extend(float(v) for v in rest.split())
            st["section"] = "reference"
        elif key == "matrix format":
            st["matrix"] = rest.upper()
            if st["matrix"] not in ("FULL", "LOWER", "UPPER"):
                raise TouchstoneError(f"diffsc.read_touchstone: {where}: bad [Matrix Format] "
                                      f"{rest!r} (use Full, Lower or Upper).")
        elif key == "network data":
            st["section"] = "data"
        elif key == "noise data":
            st["section"] = "noise"
        elif key == "end":
            st["section"] = "end"
        else:  # [Mixed-Mode Order] and anything newer
            raise _Unsupported(f"diffsc.read_touchstone: {where}: keyword [{m.group(1)}] is not "
                               "supported by this reader; use backend='skrf'.")
    except ValueError as err:
        if isinstance(err, TouchstoneError):
            raise
        raise TouchstoneError(f"diffsc.read_touchstone: {where}: cannot read the number(s) in "
                              f"{line!r}.") from None


def _read_diffsc(path: Path, n_ports: int | None, defaults: dict | None = None):
    """Parse `path`; returns ``(freq [Hz], s [n_freq, n, n], z0, info)``.

    `defaults` (``{"unit": "GHZ", "fmt": "RI"}``-like) replace the standard's defaults when the
    file has no option line. `info` holds what [`read_sweep`][diffsc.read_sweep] records: version, ports,
    the option line, comments and the 1-based line on which each frequency's row starts.
    """
    text, encoding = _decode(path.read_bytes())
    opts = {"unit": "GHZ", "fmt": "MA", "z0": 50.0}  # Touchstone defaults
    opts.update(defaults or {})
    st = {"version": 1, "n_kw": None, "order": None, "n_freq": None, "matrix": "FULL",
          "reference": [], "section": None, "in_info": False, "version_text": "1"}
    n_v1 = int(n_ports) if n_ports is not None else _ports_from_name(path)
    option_line, ignored_options, comments = None, [], []
    values: list[float] = []
    row_lines: list[int] = []
    layout = None
    noise_line, f_max = None, -np.inf  # the version-1 2-port noise block
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")  # as editors count
    for lineno, raw in enumerate(lines, 1):
        line, bang, comment = raw.partition("!")
        line = line.strip()
        if bang and not line:
            comments.append(comment.strip())
        if not line:
            continue
        where = _where(path, lineno)
        if line.startswith("["):
            _keyword(path, where, line, st)
            if st["section"] == "end":
                break
            continue
        if st["in_info"] or st["section"] == "noise":
            continue
        if line.startswith("#"):
            if option_line is None:  # only the first option line counts (the standard)
                opts = {"unit": "GHZ", "fmt": "MA", "z0": 50.0}
                _parse_option_line(line, opts, where)
                option_line = (lineno, line)
            else:
                ignored_options.append(lineno)
            continue
        try:
            numbers = [float(v) for v in line.split()]
        except ValueError:
            raise TouchstoneError(f"diffsc.read_touchstone: {where}: cannot read {line!r} as "
                                  "numbers.") from None
        if st["section"] == "reference":
            st["reference"].extend(numbers)
            continue
        if st["version"] == 2 and st["section"] != "data":
            raise TouchstoneError(f"diffsc.read_touchstone: {where}: data before [Network Data] "
                                  f"in {str(path)!r}.")
        if layout is None:
            layout = _layout(path, where, st["version"], n_v1, st["n_kw"], n_ports, st["order"],
                             st["matrix"])
        n, per_row, _ = layout
        if st["version"] == 2 or n > 2:  # rows may wrap over lines
            if len(values) % per_row == 0:
                row_lines.append(lineno)
            values.extend(numbers)
            continue
        # version 1, one or two ports: one frequency per line
        if noise_line is not None:
            if len(numbers) != _N_NOISE:
                raise TouchstoneError(
                    f"diffsc.read_touchstone: {where}: {len(numbers)} numbers in the noise-"
                    f"parameter block that starts at line {noise_line}, whose rows have "
                    f"{_N_NOISE} (frequency, NFmin, |Gamma_opt|, angle, Rn/Z0).")
            continue
        if n == 2 and len(numbers) == _N_NOISE and row_lines and numbers[0] <= f_max:
            noise_line = lineno  # the frequency restarts with 5-number rows: noise parameters
            continue
        if len(numbers) != per_row:
            raise TouchstoneError(
                f"diffsc.read_touchstone: {where}: {len(numbers)} numbers on one line; a "
                f"version-1 {n}-port file needs {per_row} on each line (the frequency and "
                f"{n * n} pairs), so the numbers do not fit. Check that the line is complete "
                "and that the extension gives the right number of ports.")
        row_lines.append(lineno)
        values.extend(numbers)
        f_max = max(f_max, numbers[0])

    if layout is None:
        layout = _layout(path, _where(path), st["version"], n_v1, st["n_kw"], n_ports,
                         st["order"], st["matrix"])
    n, per_row, cells = layout
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise TouchstoneError(f"diffsc.read_touchstone: {str(path)!r} holds no network data.")
    if data.size % per_row:
        raise TouchstoneError(
            f"diffsc.read_touchstone: {data.size} numbers in {str(path)!r} do not fit {n}-port "
            f"rows of {per_row} numbers: the row that starts at line {row_lines[-1]} has "
            f"{data.size % per_row}.")
    data = data.reshape(-1, per_row)
    if st["n_freq"] is not None and data.shape[0] != st["n_freq"]:
        raise TouchstoneError(f"diffsc.read_touchstone: {data.shape[0]} frequencies in "
                              f"{str(path)!r}, [Number of Frequencies] says {st['n_freq']}.")
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
        if st["matrix"] != "FULL":
            s[:, j, i] = vals[:, k]
    reference = st["reference"]
    if reference:
        if len(reference) != n:
            raise TouchstoneError(f"diffsc.read_touchstone: [Reference] of {str(path)!r} has "
                                  f"{len(reference)} values for {n} ports.")
        z0 = reference[0] if len(set(reference)) == 1 else np.asarray(reference)
    else:
        z0 = opts["z0"]
    info = {
        "version": st["version_text"],
        "n_ports": n,
        "z0": z0,
        "option_line": None if option_line is None else option_line[1],
        "option_line_number": None if option_line is None else option_line[0],
        "ignored_option_lines": ignored_options,
        "unit": opts["unit"],
        "fmt": opts["fmt"],
        "comments": comments,
        "row_lines": row_lines,
        "noise_block_line": noise_line,
        "encoding": encoding,
        "backend": "diffsc",
    }
    return freq, s, z0, info


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
    info = {"version": None, "n_ports": s.shape[1], "z0": z0, "option_line": None,
            "option_line_number": None, "ignored_option_lines": [], "unit": None, "fmt": None,
            "comments": [], "row_lines": None, "noise_block_line": None, "encoding": None,
            "backend": "skrf"}
    return np.asarray(net.f, float), s, z0, info


def _read_with_info(path, *, n_ports: int | None = None, backend: str = "auto",
                    defaults: dict | None = None):
    """[`read_touchstone`][diffsc.read_touchstone] plus the parser's `info` dict (see `_read_diffsc`)."""
    if backend not in _BACKENDS:
        raise ValueError(f"diffsc.read_touchstone: unknown `backend` {backend!r}; choose from "
                         f"{_BACKENDS}.")
    path = Path(path)
    if backend == "skrf":
        freq, s, z0, info = _read_skrf(path, n_ports)
    else:
        try:
            freq, s, z0, info = _read_diffsc(path, n_ports, defaults)
        except _Unsupported:
            if backend == "diffsc" or importlib.util.find_spec("skrf") is None:
                raise
            freq, s, z0, info = _read_skrf(path, n_ports)
    n = s.shape[1]
    out = {f"S{i + 1}{j + 1}": s[:, i, j] for i in range(n) for j in range(n)}
    out["Z0"] = z0
    return freq, out, info


def read_touchstone(path, *, n_ports: int | None = None, backend: str = "auto"):
    r"""Read S parameters from a Touchstone v1 (``.sNp``) or v2.0 file.

    **Arguments:**

    - `path`: the file. Version 1: the number of ports comes from the extension ``.sNp``
      (or `n_ports`); version 2.0: from ``[Number of Ports]`` (any extension, e.g. ``.ts``).
    - `n_ports`: number of ports (v1 files with another extension; checked against v2 files).
    - `backend`: ``"diffsc"`` (our reader, no dependencies), ``"skrf"`` (scikit-rf, the optional
      extra ``diffsc[touchstone]``) or ``"auto"`` (ours; scikit-rf, when installed, for files with
      features our reader lacks: Y/Z parameters, mixed-mode data).

    **Returns:** ``(freq, s)`` with `freq` in Hz (1-D ``numpy`` array, in the file's order, which
    may be decreasing) and `s` a dict ``{"S11": array, "S21": array, ...}`` of complex arrays
    (dimensionless) of the same length; ``s["Z0"]`` holds the reference impedance in Ohm (a
    float, or an array of one value per port when they differ). Noise parameters (the version-1
    2-port noise block, v2 ``[Noise Data]``) are skipped: resonator fits need only the network
    data. A file that cannot be read raises `TouchstoneError` (a ``ValueError``) naming
    the file and line. [`read_sweep`][diffsc.read_sweep] reads one parameter of such a file as a
    sorted, checked [`Sweep`][diffsc.Sweep].
    """
    freq, out, _ = _read_with_info(path, n_ports=n_ports, backend=backend)
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
