r"""Read measured resonator sweeps (VNA exports) into a checked [`Sweep`][diffsc.Sweep].

Plain NumPy: file I/O is not traced. [`read_sweep`][diffsc.read_sweep] returns one S parameter of one file as
frequencies in Hz (float64, strictly increasing) and complex, linear, dimensionless values;
[`read_sweeps`][diffsc.read_sweeps] reads many (a glob, a path or an iterable of paths). Every problem with a
file raises [`SweepFormatError`][diffsc.SweepFormatError] (a ``ValueError``) whose message names the file, the line
where it applies, and what to change. Nothing is guessed from value ranges.

**Touchstone** (``.s1p``, ``.s2p``, ``.sNp``, ``.ts``, or a text file whose first line is an
option line ``# GHz S RI R 50`` or ``[Version] 2.0``): read by `diffsc._resonator._touchstone`;
`parameter` picks S11/S21/S12/S22/...; the option line is authoritative (a `format` or
`freq_unit` argument that contradicts it is an error). Only when the option line is missing do
the arguments replace the standard's defaults (GHz, MA). Version-1 files without a ``.sNp``
extension are 1-port or 2-port according to the numbers on their first data line (3 or 9).

**NPZ** (``.npz``): arrays ``freq`` (Hz unless `freq_unit` says otherwise) and the complex
``s21`` (the parameter's name in lower case) or ``s21_re`` and ``s21_im``.

**Text** (anything else: ``.csv``, ``.txt``, ``.dat``, ``.tsv``, ...):

* delimiters comma, semicolon, tab or whitespace, detected from the numeric lines (or
  `delimiter`); decimal commas in semicolon-, tab- or whitespace-delimited files
  (``5,123;-3,2;12,5``) are read as such; a file that mixes decimal points and commas is an
  error;
* UTF-8 with or without a byte-order mark, UTF-16 with one, else Latin-1 (so stray bytes in
  comments do not matter); CRLF or CR line ends; quoted fields; trailing delimiters; blank
  lines; comment lines starting with ``#``, ``!``, ``%`` or ``//``; free-text preamble lines
  (``Instrument: ZNB20``) before the data; a Keysight-style ``END`` line after it (numbers
  after it, a second block, are an error);
* a header line (the nearest line before the data whose cells name a frequency column and at
  least one value column; it may be a comment, e.g. ``# freq re im``) gives the columns, the
  frequency unit and the format where it says them, in the vocabulary of
  `_classify_cell` (``Freq(GHz)``, ``frequency [Hz]``, ``freq_hz``, ``Frequency/Hz``,
  ``S21(DB)``, ``S21 real``, ``re:Trc1_S21``, ``Mag(dB)``, ``S21 Log Mag``, ``|S21|``,
  ``S21 Magnitude``, ``Phase(rad)``, ``arg(S21) [rad]``, ``S21 Phase (°)``, ``I``/``Q``...).
  Names with spaces in whitespace-separated files are found by runs of 2+ spaces or rejoined
  (``Freq [GHz]``, ``S21 real``). Columns the vocabulary does not know (a pandas index, a
  power column) are ignored. Several parameters in one file (``S11 re, S11 im, S21 re,
  S21 im``) are told apart by their names; a value column without a name belongs to the named
  one before it (``S21 (dB), Phase (deg)``). When one parameter has both real/imaginary and
  magnitude/phase columns, the real/imaginary pair is read unless `format` picks the other;
* without a header the rows must hold exactly three numbers (frequency and the two values)
  and both `format` and `freq_unit` must be given; unreadable rows right before the first
  numeric one (Excel errors, or a number and one text cell) count as data rows, other lines
  there as preamble;
* complex numbers written as text (``(0.1+0.2j)``, pandas' ``to_csv`` of a complex column)
  are refused with the remedy (two columns, or ``.npz``).

`format` is one of ``re_im``, ``db_rad``, ``db_deg``, ``lin_rad``, ``lin_deg`` (dB is
$20\log_{10}|S|$, lin is $|S|$; the phase in radians or degrees); `freq_unit` one of ``Hz``,
``kHz``, ``MHz``, ``GHz`` (any case). Explicit arguments fill in what the header leaves open;
an argument that contradicts the header is an error that quotes both. The bare word
"magnitude" (``S21 Magnitude``, ``Mag``) means $|S|$ (as in Keysight's ``MAG``) unless
`format` says dB (some exports write dB values under "magnitude"); explicit markers
(``|S21|``, ``lin``, ``abs``) may not be overridden. A negative linear magnitude is an error
that suggests a dB format.

Rows that do not parse (``#VALUE!``, text, ``nan``/``inf``, a missing value, a wrong number of
cells) are errors naming the line, or, with ``skip_bad_rows=True``, are dropped with one
``UserWarning`` counting them. A channel whose column is empty or NaN throughout is an error, as
are files without data rows. Strictly decreasing sweeps are reversed (every point kept); a
frequency column that is not strictly monotonic (a duplicate point, a second sweep appended) or
holds non-positive values is an error naming the first offending line: nothing is cut silently.
"""

from __future__ import annotations

import csv
import dataclasses
import glob as _glob
import math
import os
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from . import _touchstone

FORMATS = ("re_im", "db_rad", "db_deg", "lin_rad", "lin_deg")
FREQ_UNITS = {"hz": ("Hz", 1.0), "khz": ("kHz", 1e3), "mhz": ("MHz", 1e6), "ghz": ("GHz", 1e9)}
_DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", " ": None, "space": None,
               "whitespace": None}
_TOUCHSTONE_FMT = {"RI": "re_im", "MA": "lin_deg", "DB": "db_deg"}
_CHOICES = f"choose from {', '.join(repr(f) for f in FORMATS)}"
_UNIT_CHOICES = "choose from 'Hz', 'kHz', 'MHz', 'GHz'"


class SweepFormatError(ValueError):
    """A sweep file that cannot be read as asked; the message names the file, the line where it
    applies, and what to change (a file, or an argument of [`read_sweep`][diffsc.read_sweep])."""


class _MissingFile(SweepFormatError, FileNotFoundError):
    """The file does not exist (also a ``FileNotFoundError``)."""


# ------------------------------------------------------------------------------------ Sweep


def _frozen_array(x, dtype, field: str) -> np.ndarray:
    a = np.asarray(x)
    if dtype is np.float64 and np.iscomplexobj(a):
        raise ValueError(f"diffsc.Sweep: `{field}` must be real (Hz), got a complex array.")
    try:
        a = np.array(a, dtype=dtype)  # a copy, made read-only below
    except (TypeError, ValueError) as err:
        raise ValueError(f"diffsc.Sweep: `{field}` must be numeric, got {a.dtype}.") from err
    if a.ndim != 1:
        raise ValueError(f"diffsc.Sweep: `{field}` must be 1-D, got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        k = int(np.flatnonzero(~np.isfinite(a))[0])
        raise ValueError(f"diffsc.Sweep: `{field}` holds a non-finite value at index {k}.")
    a.flags.writeable = False
    return a


@dataclasses.dataclass(frozen=True, eq=False)
class Sweep:
    """One measured S parameter over frequency (what [`read_sweep`][diffsc.read_sweep] returns).

    **Fields:**

    - `freq`: frequencies, Hz (float64, 1-D, strictly increasing, > 0; stored read-only).
    - `s`: the S parameter at `freq` (complex128, same length; dimensionless, linear).
    - `parameter`: its name, e.g. ``"S21"``.
    - `path`: the file read (``None`` for a sweep built in memory).
    - `metadata`: what the reader learned (see [`read_sweep`][diffsc.read_sweep]).

    ``len(sweep)`` is the number of points, `name` the file's stem (``"sweep"`` without a file),
    `crop` restricts the frequency range.
    """

    freq: np.ndarray
    s: np.ndarray
    parameter: str = "S21"
    path: str | None = None
    metadata: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        freq = _frozen_array(self.freq, np.float64, "freq")
        s = _frozen_array(self.s, np.complex128, "s")
        if freq.size == 0:
            raise ValueError("diffsc.Sweep: `freq` holds no points.")
        if s.shape != freq.shape:
            raise ValueError(f"diffsc.Sweep: `s` has {s.size} points but `freq` has {freq.size}.")
        if freq[0] <= 0:
            raise ValueError(f"diffsc.Sweep: `freq` must be > 0 Hz, got {freq[0]!r} at index 0.")
        steps = np.flatnonzero(np.diff(freq) <= 0)
        if steps.size:
            k = int(steps[0]) + 1
            raise ValueError(f"diffsc.Sweep: `freq` must increase strictly; index {k} "
                             f"({freq[k]!r} Hz) follows {freq[k - 1]!r} Hz.")
        if not isinstance(self.parameter, str) or not self.parameter:
            raise ValueError(f"diffsc.Sweep: `parameter` must be a non-empty string, got "
                             f"{self.parameter!r}.")
        if self.path is not None and not isinstance(self.path, (str, os.PathLike)):
            raise ValueError(f"diffsc.Sweep: `path` must be a string or None, got {self.path!r}.")
        if not isinstance(self.metadata, dict):
            raise ValueError(f"diffsc.Sweep: `metadata` must be a dict, got "
                             f"{type(self.metadata).__name__}.")
        object.__setattr__(self, "freq", freq)
        object.__setattr__(self, "s", s)
        object.__setattr__(self, "path", None if self.path is None else os.fspath(self.path))
        object.__setattr__(self, "metadata", dict(self.metadata))

    def __len__(self) -> int:
        return int(self.freq.size)

    @property
    def name(self) -> str:
        """The file's stem (``"res_3"`` for ``data/res_3.csv``), or ``"sweep"`` without a file."""
        return "sweep" if self.path is None else Path(self.path).stem

    def crop(self, f_min: float | None = None, f_max: float | None = None) -> Sweep:
        """A new [`Sweep`][diffsc.Sweep] holding the points with ``f_min <= freq <= f_max``.

        **Arguments:** `f_min`, `f_max`: the range, Hz (``None``: unbounded on that side).

        **Returns:** the cropped [`Sweep`][diffsc.Sweep]; its metadata records ``"crop": (f_min, f_max)``.
        A range that is reversed or holds no point raises ``ValueError``.
        """
        lo = -np.inf if f_min is None else float(f_min)
        hi = np.inf if f_max is None else float(f_max)
        if lo > hi:
            raise ValueError(f"diffsc.Sweep.crop: `f_min`={f_min!r} Hz exceeds `f_max`={f_max!r} "
                             "Hz.")
        keep = (self.freq >= lo) & (self.freq <= hi)
        if not keep.any():
            raise ValueError(f"diffsc.Sweep.crop: no point of {self!r} lies in [{f_min!r}, "
                             f"{f_max!r}] Hz.")
        meta = dict(self.metadata, crop=(f_min, f_max))
        return dataclasses.replace(self, freq=self.freq[keep], s=self.s[keep], metadata=meta)

    def __repr__(self) -> str:
        where = "in memory" if self.path is None else f"file {Path(self.path).name!r}"
        return (f"Sweep({self.parameter}, {len(self)} points, {self.freq[0] / 1e9:.6f}-"
                f"{self.freq[-1] / 1e9:.6f} GHz, {where})")


# ------------------------------------------------------------------------- argument checks


def _check_format(format) -> str | None:
    if format is None:
        return None
    f = str(format).lower()
    if f not in FORMATS:
        raise SweepFormatError(f"diffsc.read_sweep: unknown `format` {format!r}; {_CHOICES}.")
    return f


def _check_unit(freq_unit) -> str | None:
    if freq_unit is None:
        return None
    u = str(freq_unit).lower()
    if u not in FREQ_UNITS:
        raise SweepFormatError(f"diffsc.read_sweep: unknown `freq_unit` {freq_unit!r}; "
                               f"{_UNIT_CHOICES}.")
    return FREQ_UNITS[u][0]


def _check_parameter(parameter) -> str:
    if not isinstance(parameter, str) or re.fullmatch(r"[Ss]\d+", parameter.strip()) is None:
        raise SweepFormatError(f"diffsc.read_sweep: `parameter` must name an S parameter such "
                               f"as 'S21' or 'S11', got {parameter!r}.")
    return parameter.strip().upper()


def _check_delimiter(delimiter):
    if delimiter is None:
        return None, False
    if not isinstance(delimiter, str) or delimiter.lower() not in _DELIMITERS:
        raise SweepFormatError(f"diffsc.read_sweep: unknown `delimiter` {delimiter!r}; use ',', "
                               "';', '\\t' (or 'tab'), 'whitespace', or None to detect it.")
    return _DELIMITERS[delimiter.lower()], True


def _where(path: Path, lineno: int | None = None) -> str:
    return f"{str(path)!r}" + ("" if lineno is None else f", line {lineno}")


def _fail(path: Path, message: str, lineno: int | None = None):
    raise SweepFormatError(f"diffsc.read_sweep: {_where(path, lineno)}: {message}")


# ------------------------------------------------------------------ shared final checks


def _hz(x) -> str:
    return f"{float(x):.12g} Hz"


def _orient(path: Path, freq: np.ndarray, lines) -> bool:
    """Check positive, strictly monotonic frequencies; True when they decrease (to reverse)."""
    at = (lambda k: f"line {lines[k]}") if lines is not None else (lambda k: f"point {k}")
    at_line = (lambda k: int(lines[k])) if lines is not None else (lambda k: None)
    nonpos = np.flatnonzero(freq <= 0)
    if nonpos.size:
        k = int(nonpos[0])
        _fail(path, f"the frequency {_hz(freq[k])} is not positive; frequencies must be > 0 "
                    "(check the frequency column and `freq_unit`).", at_line(k))
    if freq.size < 2:
        return False
    step = np.diff(freq)
    rising = step[0] > 0
    wrong = np.flatnonzero(step <= 0 if rising else step >= 0)
    if wrong.size:
        k = int(wrong[0]) + 1
        if freq[k] == freq[k - 1]:
            what = f"repeats the frequency {_hz(freq[k])} of {at(k - 1)} (a duplicate point)"
        else:
            what = (f"({_hz(freq[k])}) breaks the {'increasing' if rising else 'decreasing'} "
                    f"sweep after {at(k - 1)} ({_hz(freq[k - 1])}): a second sweep appended, or "
                    "unsorted data")
        _fail(path, f"this point {what}. A sweep's frequencies must be strictly monotonic; "
                    "split the file into one sweep per file, or remove the repeated points.",
              at_line(k))
    return not rising


def _assemble(path: Path, freq, s, lines, bad, skip_bad_rows: bool, parameter: str,
              meta: dict) -> tuple[Sweep, str | None]:
    """Drop or report `bad` rows ``[(line, text, reason)]``, orient, and build the Sweep.

    Returns the sweep and the warning to emit (``None`` when no row was skipped).
    """
    note = None
    if bad:
        first_line, text, reason = bad[0]
        if not skip_bad_rows:
            more = f" ({len(bad)} such rows in all)" if len(bad) > 1 else ""
            _fail(path, f"cannot read {text!r}: {reason}{more}. Fix or delete the row, or pass "
                        "skip_bad_rows=True to drop unreadable rows.", first_line)
        plural = "s" if len(bad) > 1 else ""
        where = ""
        if first_line is not None:
            where = f"line{plural} " + ", ".join(str(b[0]) for b in bad[:10])
            where += ", ...; " if len(bad) > 10 else "; "
        note = (f"diffsc.read_sweep: {_where(path)}: skipped {len(bad)} unreadable row{plural} "
                f"({where}first: {text!r}, {reason}).")
    meta["n_skipped_rows"] = len(bad)
    meta["skipped_lines"] = [b[0] for b in bad]
    freq = np.asarray(freq, float)
    s = np.asarray(s, complex)
    if freq.size == 0:
        _fail(path, "no readable data rows remain" + (" after skipping the unreadable ones."
                                                       if bad else "."))
    reverse = _orient(path, freq, lines)
    if reverse:
        freq, s = freq[::-1], s[::-1]
    meta["reversed"] = bool(reverse)
    meta["all_zero"] = bool(np.all(s == 0))
    return Sweep(freq, s, parameter, str(path), meta), note


# --------------------------------------------------------------------------- Touchstone


_OPTION_WORDS = {"HZ", "KHZ", "MHZ", "GHZ", "S", "Y", "Z", "H", "G", "RI", "MA", "DB", "R"}


def _looks_like_touchstone(text: str) -> bool:
    """True when the first line that is no ``!`` comment is an option line or ``[Version]``."""
    for raw in _split_lines(text):
        line = raw.split("!", 1)[0].strip()
        if not line:
            continue
        if re.match(r"\[version\]", line, re.I):
            return True
        words = line[1:].upper().split() if line.startswith("#") else []
        return (any(w in ("S", "Y", "Z", "H", "G") for w in words)
                and all(w in _OPTION_WORDS or _is_number(w) for w in words))
    return False


def _v1_ports_from_data(path: Path, text: str) -> int | None:
    """Ports of a version-1 file without ``.sNp`` extension: 3 numbers a line -> 1, 9 -> 2."""
    for lineno, raw in enumerate(_split_lines(text), 1):
        line = raw.split("!", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            return None  # version 2: the file says [Number of Ports]
        k = len(line.split())
        if k in (3, 9):
            return 1 if k == 3 else 2
        _fail(path, f"this Touchstone file has no .sNp extension and its first data line holds "
                    f"{k} numbers, not 3 (1-port) or 9 (2-port); rename it to .sNp with its "
                    "number of ports.", lineno)
    return None


def _read_touchstone(path: Path, text: str, fmt, unit, parameter, delimiter_given,
                     skip_bad_rows):
    if delimiter_given:
        _fail(path, "`delimiter` does not apply to Touchstone files (whitespace-separated); "
                    "drop it.")
    defaults = {}
    if fmt is not None:
        if fmt.endswith("_rad"):
            _fail(path, f"format={fmt!r}: Touchstone files give angles in degrees; use 're_im', "
                        "'lin_deg' or 'db_deg', or drop `format` to use the option line.")
        defaults["fmt"] = {v: k for k, v in _TOUCHSTONE_FMT.items()}[fmt]
    if unit is not None:
        defaults["unit"] = unit.upper()
    n_ports = None
    if _touchstone._ports_from_name(path) is None:
        n_ports = _v1_ports_from_data(path, text)
    try:
        freq, sd, info = _touchstone._read_with_info(path, n_ports=n_ports, defaults=defaults)
    except (ValueError, ImportError) as err:
        msg = str(err)
        if str(path) not in msg:
            msg = f"{_where(path)}: {msg}"
        raise SweepFormatError(msg if msg.startswith("diffsc.") else f"diffsc.read_sweep: {msg}"
                               ) from err
    option = info["option_line"]
    if option is not None:
        file_fmt = _TOUCHSTONE_FMT[info["fmt"]]
        file_unit = FREQ_UNITS[info["unit"].lower()][0]
        if fmt is not None and fmt != file_fmt:
            _fail(path, f"format={fmt!r} contradicts the option line {option!r}, which says "
                        f"{info['fmt']} (= {file_fmt!r}); the option line is authoritative: "
                        "drop `format` (or correct the file).", info["option_line_number"])
        if unit is not None and unit != file_unit:
            _fail(path, f"freq_unit={unit!r} contradicts the option line {option!r}, which says "
                        f"{file_unit}; the option line is authoritative: drop `freq_unit` (or "
                        "correct the file).", info["option_line_number"])
    names = [k for k in sd if k != "Z0"]
    if parameter not in sd:
        if len(names) == 1:
            _fail(path, f"parameter={parameter!r}, but this 1-port file holds only {names[0]}; "
                        f"pass parameter={names[0]!r}.")
        _fail(path, f"parameter={parameter!r} is not in this {info['n_ports']}-port file; it "
                    f"holds {', '.join(names)}.")
    s = np.asarray(sd[parameter], complex)
    freq = np.asarray(freq, float)
    lines = None if info["row_lines"] is None else np.asarray(info["row_lines"])
    finite = np.isfinite(freq) & np.isfinite(s)
    if s.size and not np.any(np.isfinite(s)):
        _fail(path, f"the {parameter} channel holds no data (every value is NaN or infinite).")
    bad = [(None if lines is None else int(lines[k]), f"{_hz(freq[k])}, {parameter} = {s[k]}",
            "not a finite number") for k in np.flatnonzero(~finite)]
    meta = {
        "comments": list(info["comments"]),
        "format": None if info["fmt"] is None else _TOUCHSTONE_FMT[info["fmt"]],
        "freq_unit": None if info["unit"] is None else FREQ_UNITS[info["unit"].lower()][0],
        "source": "touchstone",
        "columns": None,
        "delimiter": "whitespace",
        "encoding": info["encoding"],
        "touchstone": {
            "version": info["version"],
            "n_ports": info["n_ports"],
            "z0": info["z0"],
            "option_line": option,
            "ignored_option_lines": list(info["ignored_option_lines"]),
            "noise_block_line": info["noise_block_line"],
            "parameters": names,
            "backend": info["backend"],
        },
    }
    return _assemble(path, freq[finite], s[finite], None if lines is None else lines[finite], bad,
                     skip_bad_rows, parameter, meta)


# --------------------------------------------------------------------------------- NPZ


def _read_npz(path: Path, fmt, unit, parameter, delimiter_given, skip_bad_rows):
    if delimiter_given:
        _fail(path, "`delimiter` does not apply to .npz files; drop it.")
    if fmt not in (None, "re_im"):
        _fail(path, f"format={fmt!r} does not apply to .npz files, which hold complex values or "
                    "real and imaginary parts; drop `format`.")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: np.asarray(z[k]) for k in z.files}
    except Exception as err:  # a broken archive: zipfile, pickle and format errors alike
        _fail(path, f"cannot open it as a NumPy .npz archive ({type(err).__name__}: {err}).")
    present = ", ".join(sorted(arrays)) or "nothing"
    name = parameter.lower()
    if "freq" not in arrays:
        _fail(path, f"the archive lacks the array 'freq' (frequencies); it holds {present}.")
    freq = arrays["freq"]
    if name in arrays:
        s = arrays[name]
        if not np.iscomplexobj(s):
            _fail(path, f"the array {name!r} is real; store the complex values, or "
                        f"'{name}_re' and '{name}_im'.")
        keys = [name]
    elif f"{name}_re" in arrays and f"{name}_im" in arrays:
        re_, im_ = arrays[f"{name}_re"], arrays[f"{name}_im"]
        if re_.shape != im_.shape:
            _fail(path, f"'{name}_re' has shape {re_.shape} but '{name}_im' has {im_.shape}.")
        s = re_ + 1j * im_
        keys = [f"{name}_re", f"{name}_im"]
    else:
        _fail(path, f"the archive lacks {name!r} (complex) or '{name}_re' and '{name}_im' for "
                    f"parameter={parameter!r}; it holds {present}.")
    if freq.ndim != 1 or s.shape != freq.shape:
        _fail(path, f"'freq' (shape {freq.shape}) and {parameter} (shape {s.shape}) must be 1-D "
                    "arrays of the same length.")
    if not np.issubdtype(freq.dtype, np.number) or np.iscomplexobj(freq):
        _fail(path, f"'freq' must hold real numbers, got dtype {freq.dtype}.")
    unit = unit or "Hz"
    freq = freq.astype(float) * FREQ_UNITS[unit.lower()][1]
    s = s.astype(complex)
    if s.size and not np.any(np.isfinite(s)):
        _fail(path, f"the {parameter} channel holds no data (every value is NaN or infinite).")
    finite = np.isfinite(freq) & np.isfinite(s)
    bad = [(None, f"point {k}: freq {_hz(freq[k])}, {parameter} = {s[k]}",
            "not a finite number") for k in np.flatnonzero(~finite)]
    meta = {"comments": [], "format": "re_im", "freq_unit": unit, "source": "npz",
            "columns": keys, "delimiter": None, "encoding": None}
    return _assemble(path, freq[finite], s[finite], None, bad, skip_bad_rows, parameter, meta)


# -------------------------------------------------------------------------------- text

_COMMENT = re.compile(r"(#|!|%|//)")
_EXCEL_ERROR = re.compile(r"#(VALUE!|N/A|DIV/0!|REF!|NAME\?|NUM!|NULL!)", re.I)
_LOOSE_SPLIT = re.compile(r"[\s,;\"']+")
_COMPLEX_TEXT = re.compile(r"\(?[-+]?[\d.]+(e[-+]?\d+)?[-+][\d.]+(e[-+]?\d+)?[jJ]\)?")
_WS_CELL = re.compile(r'"[^"]*"|\S+')
_TOKEN = re.compile(r"s\d+|[a-z]+|\d+|°")

_FREQ_WORDS = {"f", "freq", "freqs", "frequency", "frequencies", "frequenz", "stimulus"}
_FUSED_FREQ = re.compile(r"(f|freq|frequency)(hz|khz|mhz|ghz)")
_RE_WORDS = {"re", "real", "i"}
_IM_WORDS = {"im", "imag", "imaginary", "q"}
_DB_WORDS = {"db", "logmag", "dbmag", "magdb", "log"}
_LIN_STRONG = {"lin", "linear", "linmag", "abs"}
_LIN_WEAK = {"mag", "magnitude", "amplitude", "ampl", "amp"}
_PHASE_WORDS = {"phase", "ph", "pha", "ang", "angle", "arg", "phi", "uphase", "unwrapped"}
_DEG_WORDS = {"deg", "degree", "degrees", "°"}
_RAD_WORDS = {"rad", "radian", "radians"}
_COMPONENTS = ("re", "im", "db", "lin", "phase")


@dataclasses.dataclass
class _Column:
    """What a header cell says: `kind` is "freq", a component in ``_COMPONENTS`` or None."""

    name: str
    kind: str | None = None
    param: str | None = None  # "S21", ... (an S-name in the cell)
    unit: str | None = None  # freq: "Hz"...; phase: "deg" or "rad"
    strong: bool = True  # lin: an explicit linear marker, not just the word "magnitude"


def _classify_cell(name: str) -> _Column:
    """Read one header cell. Vocabulary (case-insensitive, words split at any non-letter):

    - frequency: ``f``, ``freq``, ``frequency``, ``stimulus`` or any cell whose only unit is
      Hz/kHz/MHz/GHz (``Freq(GHz)``, ``frequency [Hz]``, ``freq_hz``, ``fGHz``);
    - real/imaginary part: ``re``, ``real``, ``I`` / ``im``, ``imag``, ``imaginary``, ``Q``;
    - dB magnitude: ``db``, ``log`` (``Log Mag``), ``logmag``;
    - linear magnitude: ``|S21|``, ``lin``, ``linear``, ``linmag``, ``abs`` (explicit), or
      ``mag``, ``magnitude``, ``amplitude`` (overridable by a dB `format`);
    - phase: ``phase``, ``ang``, ``angle``, ``arg``, ``phi``, ``ph``, or a bare unit
      ``deg``/``degrees``/``°`` or ``rad``/``radians`` (Keysight's ``S21(DEG)``), its unit from
      the same words;
    - the parameter: ``S11``, ``S21``, ... anywhere in the cell (``re:Trc1_S21``).
    """
    low = name.lower()
    tokens = _TOKEN.findall(low)
    words = set(tokens)
    snames = {t.upper() for t in tokens if re.fullmatch(r"s\d+", t)}
    col = _Column(name, param=next(iter(snames)) if len(snames) == 1 else None)
    if len(snames) > 1:
        return col
    units = {FREQ_UNITS[t][0] for t in tokens if t in FREQ_UNITS}
    fused = [m.group(2) for t in tokens if (m := _FUSED_FREQ.fullmatch(t))]
    units |= {FREQ_UNITS[u][0] for u in fused}
    freq_word = bool(words & _FREQ_WORDS) or bool(fused)
    deg, rad = bool(words & _DEG_WORDS), bool(words & _RAD_WORDS)
    kinds = set()
    if words & _RE_WORDS:
        kinds.add("re")
    if words & _IM_WORDS:
        kinds.add("im")
    db = bool(words & _DB_WORDS)
    lin_strong = bool(words & _LIN_STRONG) or re.search(r"\|[^|]+\|", low) is not None
    lin_weak = bool(words & _LIN_WEAK)
    if db:
        kinds.add("db")
    elif lin_strong or lin_weak:
        kinds.add("lin")
    if words & _PHASE_WORDS or ((deg or rad) and not kinds):
        kinds.add("phase")
    if kinds:
        if len(kinds) > 1 or freq_word:
            return col  # e.g. "re im" in one cell, or a frequency and a value: not understood
        col.kind = kinds.pop()
        col.strong = col.kind != "lin" or lin_strong
        if col.kind == "phase" and deg != rad:
            col.unit = "deg" if deg else "rad"
        return col
    if (freq_word or units) and col.param is None:
        col.kind = "freq"
        col.unit = units.pop() if len(units) == 1 else None
    return col


def _number(cell: str, decimal_comma: bool = False) -> float | None:
    """The value of a cell holding one plain number (``nan``/``inf`` included), else None."""
    if decimal_comma:
        cell = cell.replace(",", ".")
    try:
        v = float(cell)
    except ValueError:
        return None
    if "_" in cell or not cell.isascii() or cell != cell.strip():  # "1_000" is no export
        return None
    return v


def _is_number(cell: str, decimal_comma: bool = False) -> bool:
    return _number(cell, decimal_comma) is not None


def _split(line: str, delim) -> list[str]:
    if '"' not in line:
        return line.split() if delim is None else [c.strip() for c in line.split(delim)]
    if delim is None:
        cells = _WS_CELL.findall(line)
    else:
        cells = next(csv.reader([line], delimiter=delim, quotechar='"', skipinitialspace=True))
    return [c.strip().strip('"').strip() for c in cells]


def _strip_trailing(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells


def _is_comment(line: str) -> bool:
    return _COMMENT.match(line) is not None and _EXCEL_ERROR.match(line) is None


def _uncomment(line: str) -> str:
    return re.sub(r"^(#|!|%|//)+", "", line).strip()


def _detect_delimiter(sample: list[str]):
    """The delimiter of the numeric lines `sample` (None: whitespace)."""
    multi = [ln for ln in sample if len([t for t in _LOOSE_SPLIT.split(ln) if t]) > 1] or sample
    for d in ("\t", ";"):
        if all(d in ln for ln in multi):
            return d
    if all("," in ln for ln in multi):
        # "5,1 -3,2 12,5": commas inside whitespace-separated numbers are decimal commas
        if any(len(c.split()) > 1 for ln in multi for c in ln.split(",")):
            return None
        return ","
    return None


def _merge_whitespace_header(pieces: list[str]) -> list[str]:
    """Rejoin header names split at spaces: ``Freq [GHz]``, ``S21 real``, ``arg(S21) [rad]``."""
    out: list[str] = []
    for p in pieces:
        unit_only = re.fullmatch(r"[(\[{].*[)\]}]|/\S+", p) is not None
        if out and (unit_only or (_classify_cell(p).kind in _COMPONENTS
                                  and _classify_cell(p).param is None
                                  and _classify_cell(out[-1]).kind is None
                                  and _classify_cell(out[-1]).param is not None)):
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return out


def _header_cells(line: str, delim, decimal_comma: bool, n_min: int, n_max: int):
    """Cells of a candidate header line: None when it holds numbers or names no frequency and
    value column; else the cells and whether their number lies in ``[n_min, n_max]``. Splits
    tried in turn: at `delim`; at runs of 2+ spaces (aligned columns); at spaces with names
    rejoined by `_merge_whitespace_header`."""
    text = _uncomment(line) if _is_comment(line) else line
    found = None
    splits = [_split(text, delim)]
    if re.search(r"\S\s{2,}\S", text):  # names with spaces, columns aligned by runs of spaces
        splits.append([c.strip().strip('"') for c in re.split(r"\s{2,}", text)])
    splits.append(_merge_whitespace_header(_split(text, None)))
    for cells in splits:
        cells = _strip_trailing(cells)
        if not cells or any(_is_number(c, decimal_comma) for c in cells if c):
            return None
        cols = [_classify_cell(c) for c in cells]
        if (any(c.kind == "freq" for c in cols)
                and any(c.kind in _COMPONENTS or c.param for c in cols)):
            if n_min <= len(cells) <= n_max:
                return cells, True
            found = found or (cells, False)
    return found


def _pick_columns(path: Path, names: list[str], header_line: int, parameter: str, fmt, unit):
    """Columns ``(i_freq, i_a, i_b)``, the format and the frequency unit from a header."""
    cols = [_classify_cell(n) for n in names]
    freq_cols = [i for i, c in enumerate(cols) if c.kind == "freq"]
    if len(freq_cols) != 1:
        what = (f"several frequency columns ({', '.join(repr(names[i]) for i in freq_cols)})"
                if freq_cols else "no frequency column")
        _fail(path, f"the header names {what} among {names}; name exactly one column, e.g. "
                    "'freq (Hz)'.", header_line)
    fi = freq_cols[0]
    current = None
    for c in cols:  # "S21 (dB), Phase (deg)": a nameless value column joins the name before it
        if c.param is not None and c.kind != "freq":
            current = c.param
        elif c.kind in _COMPONENTS and current is not None:
            c.param = current
    groups: dict = {}
    for i, c in enumerate(cols):
        if c.kind in _COMPONENTS:
            groups.setdefault(c.param, []).append(i)
    named = sorted(p for p in groups if p is not None)
    if parameter in groups:
        group = groups[parameter]
    elif not named and None in groups:
        group = groups[None]
    else:
        listed = ", ".join(named + (["unnamed columns"] if None in groups else [])) or "none"
        hint = f"; pass parameter={named[0]!r}" if len(named) == 1 else ""
        _fail(path, f"parameter={parameter!r} is not among the header's columns {names}; the "
                    f"parameters there: {listed}{hint}.", header_line)
    by_kind: dict = {}
    for i in group:
        by_kind.setdefault(cols[i].kind, []).append(i)
    for kind, idx in by_kind.items():
        if len(idx) > 1:
            _fail(path, f"the header has several {kind!r} columns for {parameter} "
                        f"({', '.join(repr(names[i]) for i in idx)}); name each column's "
                        "parameter, e.g. 'S11 re', 'S21 re'.", header_line)
    reps = []
    if "re" in by_kind and "im" in by_kind:
        reps.append("re_im")
    if "phase" in by_kind:
        reps += [k for k in ("db", "lin") if k in by_kind]
    if not reps:
        listed = ", ".join(repr(names[i]) for i in group)
        _fail(path, f"the header's columns for {parameter} ({listed}) do not make a pair; need "
                    "real and imaginary part, or magnitude (dB or linear) and phase.", header_line)
    missing = []
    what = dict(re="the real part", im="the imaginary part", db="20 log10|S| (dB)",
                lin="the linear magnitude |S|")

    def contradict(arg, col_idx, says):
        _fail(path, f"{arg} contradicts the header: column {names[col_idx]!r} holds {says}. "
                    "Drop the argument to use the header, or correct the header.", header_line)

    if fmt is not None:
        if fmt == "re_im":
            if "re_im" not in reps:
                contradict(f"format={fmt!r}", by_kind[reps[0]][0], what[reps[0]])
            chosen = "re_im"
        else:
            mag, ph = fmt.split("_")
            if mag in reps:
                chosen = mag
            elif mag == "db" and "lin" in reps and not cols[by_kind["lin"][0]].strong:
                chosen = "lin"  # the bare word "magnitude" in dB, as the argument says
            else:
                other = [r for r in reps if r != "re_im"]
                contradict(f"format={fmt!r}", by_kind[other[0] if other else "re"][0],
                           what[other[0] if other else "re"])
            p_unit = cols[by_kind["phase"][0]].unit
            if p_unit is not None and p_unit != ph:
                contradict(f"format={fmt!r}", by_kind["phase"][0], f"the phase in {p_unit}")
        result_fmt = fmt
    else:
        chosen = reps[0]  # real/imaginary when present, else the one polar pair
        if chosen == "re_im":
            result_fmt = "re_im"
        else:
            if len(reps) > 1:
                missing.append("format")
            p_unit = cols[by_kind["phase"][0]].unit
            if p_unit is None:
                missing.append("format")
            result_fmt = f"{chosen}_{p_unit}" if p_unit else None
    if chosen == "re_im":
        ia, ib = by_kind["re"][0], by_kind["im"][0]
    else:
        ia, ib = by_kind[chosen][0], by_kind["phase"][0]
    f_unit = cols[fi].unit
    if unit is not None and f_unit is not None and unit != f_unit:
        contradict(f"freq_unit={unit!r}", fi, f"frequencies in {f_unit}")
    if unit is None and f_unit is None:
        missing.append("freq_unit")
    if missing:
        _ambiguous(path, sorted(set(missing)), f"the header {names} does not say it", header_line)
    return (fi, ia, ib), result_fmt, unit or f_unit


def _ambiguous(path: Path, missing: list[str], why: str, lineno=None):
    """Raise: the `missing` settings ("format", "freq_unit") must come from arguments."""
    what, parts = [], []
    if "format" in missing:
        what.append("the format of the values")
        parts.append(f"`format` ({_CHOICES})")
    if "freq_unit" in missing:
        what.append("the frequency unit")
        parts.append(f"`freq_unit` ({_UNIT_CHOICES})")
    _fail(path, f"cannot tell {' or '.join(what)} unambiguously: {why}. Pass "
                f"{' and '.join(parts)}.", lineno)


def _split_lines(text: str) -> list[str]:
    """Lines (stripped) as an editor numbers them: LF, CRLF or CR ends."""
    return [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


@dataclasses.dataclass
class _Layout:
    """How the numbers of a text file are laid out (see `_layout`)."""

    delim: str | None  # None: whitespace
    decimal_comma: bool
    cells: dict  # line index -> cells, for every non-comment line
    numeric: list  # indices of lines whose cells are all numbers or empty
    width: int  # cells of a data row (the most common count)
    first: int  # index of the first numeric row of that width
    n_empty_tail: int  # trailing columns empty in every row (trailing delimiters)


def _layout(path: Path, lines: list[str], delim, delimiter_given: bool) -> _Layout:
    content = [i for i, ln in enumerate(lines) if ln and not _is_comment(ln)]
    sample = []  # lines holding numbers only, whatever separates them (the first 500)
    for i in content:
        tokens = [t for t in _LOOSE_SPLIT.split(lines[i]) if t]
        if tokens and all(_is_number(t) for t in tokens):
            sample.append(lines[i])
            if len(sample) == 500:
                break
    if not sample:
        for i in content:
            m = _COMPLEX_TEXT.search(lines[i])
            if m:
                _fail(path, f"complex numbers written as text ({m.group(0)!r}) are not read: "
                            "write the real and imaginary parts in two columns (e.g. 'S21 re', "
                            "'S21 im'), or save an .npz file.", i + 1)
        _fail(path, f"no data rows: none of its {len(lines)} lines holds only numbers (header, "
                    "comments or text only?).")
    if not delimiter_given:
        delim = _detect_delimiter(sample)
    decimal_comma = delim != "," and any("," in ln for ln in sample)
    cells = {i: _split(lines[i], delim) for i in content}
    numeric = [i for i in content
               if any(cells[i]) and all(not c or _is_number(c, decimal_comma) for c in cells[i])]
    if decimal_comma:
        both = [i for i in numeric if "." in lines[i]]
        if both:
            _fail(path, f"the numbers use decimal commas (',') and decimal points ('.') alike "
                        f"({lines[both[0]]!r}); a thousands separator is not supported: "
                        "export plain numbers with one decimal mark.", both[0] + 1)
    if not numeric:
        _fail(path, f"no data rows with the delimiter {_delim_name(delim)!r} (pass `delimiter`?).")
    width = Counter(len(cells[i]) for i in numeric).most_common(1)[0][0]
    full = [i for i in numeric if len(cells[i]) == width]
    n_tail = 0
    while n_tail < width and all(not cells[i][width - 1 - n_tail] for i in full):
        n_tail += 1
    return _Layout(delim, decimal_comma, cells, numeric, width, full[0], n_tail)


def _find_header(lines: list[str], lay: _Layout):
    """``(index, names, near_miss)``: the nearest line before the data that names a frequency
    and a value column in as many cells as the rows have (``None`` if there is none), and the
    nearest header-like line with another count ``(index, count)`` for error messages."""
    n_min, near_miss = lay.width - lay.n_empty_tail, None
    for i in range(lay.first - 1, -1, -1):
        if not lines[i]:
            continue
        found = _header_cells(lines[i], lay.delim, lay.decimal_comma, n_min, lay.width)
        if found is None:
            continue
        if found[1]:
            return i, found[0], near_miss
        near_miss = near_miss or (i, len(found[0]))
    return None, None, near_miss


def _headerless_start(lines: list[str], lay: _Layout) -> int:
    """Index of the first data row of a file without header: unreadable rows right before the
    first numeric one (Excel errors only, or a number first and one text cell) belong to the
    data, not the preamble, so that they are reported or counted rather than dropped."""
    start = lay.first
    for i in range(lay.first - 1, -1, -1):
        if not lines[i] or _is_comment(lines[i]):
            continue
        cells = [c for c in lay.cells[i] if c]
        values = [_is_number(c, lay.decimal_comma) or bool(_EXCEL_ERROR.fullmatch(c))
                  for c in cells]
        if len(cells) < 2 or not (all(values) or (values[0] and values.count(False) == 1)):
            break  # "IFBW, 1000, Hz" or "Points, 41" is no row; "6.1e9, #VALUE!, 0.3" is
        start = i
    return start


def _collect_rows(path: Path, lines: list[str], lay: _Layout, start: int, n_cols: int,
                  idx: tuple, comments: list):
    """``(rows, bad)``: ``(line, text, f_cell, a_cell, b_cell)`` of the data rows from `start`
    and ``(line, text, reason)`` of rows with a wrong number of cells; text after an ``END``
    line goes to `comments` (numbers there are an error: a second data block)."""
    numeric = set(lay.numeric)
    rows, bad, end_line = [], [], None
    for i in sorted(k for k in lay.cells if k >= start):  # non-blank, non-comment lines
        ln, cells = lines[i], lay.cells[i]
        if end_line is not None:
            if i in numeric:
                _fail(path, f"data after the END line {end_line}: the file holds more than one "
                            "block (several channels or traces?); export one sweep per file.",
                      i + 1)
            comments.append(ln)
            continue
        if cells[0].upper() == "END" and not any(cells[1:]):
            end_line = i + 1
            continue
        if len(cells) > n_cols and not any(cells[n_cols:]):
            cells = cells[:n_cols]  # trailing delimiters
        if len(cells) != n_cols:
            bad.append((i + 1, ln, f"{len(cells)} cells where the rows have {n_cols}"))
            continue
        rows.append((i + 1, ln, *(cells[k] for k in idx)))
    return rows, bad


def _parse_rows(rows, decimal_comma: bool, bad: list):
    """Numbers of `rows` as arrays ``(x0, x1, x2, line)``; unreadable rows go to `bad`."""
    out = []
    for lineno, ln, *cells in rows:
        vals = [_number(c, decimal_comma) for c in cells]
        if None in vals or not all(map(math.isfinite, vals)):
            k = next(k for k, v in enumerate(vals) if v is None or not math.isfinite(v))
            reason = ("a value is missing" if not cells[k] else f"{cells[k]!r} is not a number"
                      if vals[k] is None else f"{cells[k]!r} is not a finite number")
            bad.append((lineno, ln, reason))
        else:
            out.append((*vals, lineno))
    bad.sort()
    table = np.asarray(out, dtype=float).reshape(-1, 4)
    return table[:, 0], table[:, 1], table[:, 2], table[:, 3].astype(int)


def _to_complex(path: Path, fmt: str, a, b, line_no):
    """Complex S from the two value columns in `fmt` (dB: 10**(a/20); degrees converted)."""
    if fmt == "re_im":
        return a + 1j * b
    mag_kind, ph_unit = fmt.split("_")
    if mag_kind == "lin" and np.any(a < 0):
        k = int(np.flatnonzero(a < 0)[0])
        _fail(path, f"negative magnitude {float(a[k])!r} in a linear-magnitude column; if the "
                    f"column is in dB, pass format='db_{ph_unit}'.", int(line_no[k]))
    mag = 10.0 ** (a / 20.0) if mag_kind == "db" else a
    return mag * np.exp(1j * (np.deg2rad(b) if ph_unit == "deg" else b))


def _read_text(path: Path, text: str, encoding: str, fmt, unit, parameter, delim,
               delimiter_given, skip_bad_rows):
    lines = _split_lines(text)
    if not any(lines):
        _fail(path, "the file is empty (no data rows).")
    lay = _layout(path, lines, delim, delimiter_given)
    header_idx, names, near_miss = _find_header(lines, lay)
    n_cols = lay.width - lay.n_empty_tail
    if names is not None:
        n_cols = max(len(names), n_cols)
        names = names + [""] * (n_cols - len(names))
        idx, fmt, unit = _pick_columns(path, names, header_idx + 1, parameter, fmt, unit)
        start = header_idx + 1
    else:
        miss = (f" (line {near_miss[0] + 1} looks like a header but names {near_miss[1]} "
                f"columns for rows of {n_cols} numbers)" if near_miss else "")
        if n_cols != 3:
            _fail(path, f"no header line names the columns{miss}, and the data rows hold {n_cols}"
                        f" number{'s' if n_cols != 1 else ''}; without a header exactly 3 are "
                        f"read (frequency, then two values of {parameter}). Add a header such as "
                        "'freq (Hz), S21 re, S21 im', or keep three columns.", lay.first + 1)
        missing = [m for m, v in (("format", fmt), ("freq_unit", unit)) if v is None]
        if missing:
            _ambiguous(path, missing, f"the file has no header line naming its columns{miss}",
                       lay.first + 1)
        idx, start = (0, 1, 2), _headerless_start(lines, lay)
    comments = [ln for i, ln in enumerate(lines)
                if ln and i != header_idx and (i < start or _is_comment(ln))]
    rows, bad = _collect_rows(path, lines, lay, start, n_cols, idx, comments)
    if not rows and not bad:
        _fail(path, "no data rows after the header.", start + 1)
    for k, col in ((3, 1), (4, 2)):
        if rows and all(not r[k] or r[k].lower().lstrip("+-") in ("nan", "inf", "infinity")
                        for r in rows):
            label = repr(names[idx[col]]) if names else f"{col + 1} (of 3)"
            _fail(path, f"the {parameter} channel holds no data: column {label} is empty or "
                        "NaN in every row.")
    freq, a, b, line_no = _parse_rows(rows, lay.decimal_comma, bad)
    s = _to_complex(path, fmt, a, b, line_no)
    meta = {
        "comments": comments,
        "format": fmt,
        "freq_unit": unit,
        "source": "text",
        "columns": None if names is None else list(names),
        "columns_used": None if names is None else [names[k] for k in idx],
        "header_line": None if header_idx is None else header_idx + 1,
        "delimiter": _delim_name(lay.delim),
        "decimal_comma": bool(lay.decimal_comma),
        "encoding": encoding,
    }
    return _assemble(path, freq * FREQ_UNITS[unit.lower()][1], s, line_no, bad, skip_bad_rows,
                     parameter, meta)


def _delim_name(delim) -> str:
    return "whitespace" if delim is None else delim


# ------------------------------------------------------------------------------ public


def _source(path: Path) -> str:
    suffix = path.suffix.lower()
    if re.fullmatch(r"\.s\d+p", suffix) or suffix == ".ts":
        return "touchstone"
    return "npz" if suffix == ".npz" else "text"


def read_sweep(path, *, format: str | None = None, freq_unit: str | None = None,
               parameter: str = "S21", delimiter: str | None = None,
               skip_bad_rows: bool = False) -> Sweep:
    r"""Read one measured sweep (a VNA export) of one S parameter.

    **Arguments:**

    - `path`: the file: Touchstone (``.sNp``, ``.ts``), NumPy ``.npz``, or text (any other
      extension: CSV, TSV, whitespace-separated); see the module docstring for what is read.
    - `format`: text files: how the two value columns hold the complex number, one of
      ``"re_im"``, ``"db_rad"``, ``"db_deg"``, ``"lin_rad"``, ``"lin_deg"`` (dB: $20\log_{10}|S|$,
      lin: $|S|$; phase in radians or degrees). Needed where the header does not say it; must
      agree with the header or the Touchstone option line where they do.
    - `freq_unit`: ``"Hz"``, ``"kHz"``, ``"MHz"`` or ``"GHz"`` (any case), likewise.
    - `parameter`: the S parameter to read, e.g. ``"S21"`` (default) or ``"S11"``; it picks the
      columns of multi-parameter text files and Touchstone files and the arrays of ``.npz``.
    - `delimiter`: text files: ``","``, ``";"``, ``"\t"``, ``"whitespace"``, or ``None`` to
      detect it.
    - `skip_bad_rows`: drop rows that do not parse (one ``UserWarning`` counts them) instead of
      raising.

    **Returns:** a [`Sweep`][diffsc.Sweep]: `freq` in Hz (float64, strictly increasing; a decreasing
    sweep is reversed), `s` complex (linear, dimensionless), and `metadata` with the keys
    ``"comments"`` (header, preamble and comment lines, as text), ``"format"``,
    ``"freq_unit"`` (the unit of the file's frequency numbers), ``"source"`` (``"text"``,
    ``"touchstone"`` or ``"npz"``), ``"columns"`` (header names, or ``None``), ``"delimiter"``,
    ``"n_skipped_rows"`` and ``"skipped_lines"``, ``"reversed"``, ``"all_zero"`` (every value
    0, e.g. an unmeasured S21 written as zeros: not an error here), ``"encoding"``; text files
    also ``"columns_used"``, ``"header_line"``, ``"decimal_comma"``; Touchstone files
    ``"touchstone"``: ``{"version", "n_ports", "z0"`` (Ohm), ``"option_line", ...}``.

    Raises [`SweepFormatError`][diffsc.SweepFormatError] (a ``ValueError``; for a missing file also a
    ``FileNotFoundError``) naming the file, the line and what to change.
    """
    fmt = _check_format(format)
    unit = _check_unit(freq_unit)
    parameter = _check_parameter(parameter)
    delim, delimiter_given = _check_delimiter(delimiter)
    if not isinstance(skip_bad_rows, bool):
        raise SweepFormatError(f"diffsc.read_sweep: `skip_bad_rows` must be True or False, got "
                               f"{skip_bad_rows!r}.")
    path = Path(path)
    if not path.is_file():
        raise _MissingFile(f"diffsc.read_sweep: {str(path)!r}: "
                           + ("is a directory, not a file." if path.is_dir() else "no such file."))
    source = _source(path)
    if source == "npz":
        sweep, note = _read_npz(path, fmt, unit, parameter, delimiter_given, skip_bad_rows)
    else:
        text, encoding = _touchstone._decode(path.read_bytes())
        if "\x00" in text:
            _fail(path, "it holds NUL bytes: a binary file, not text (a .npz archive needs the "
                        ".npz extension).")
        if source == "touchstone" or _looks_like_touchstone(text):
            sweep, note = _read_touchstone(path, text, fmt, unit, parameter, delimiter_given,
                                           skip_bad_rows)
        else:
            sweep, note = _read_text(path, text, encoding, fmt, unit, parameter, delim,
                                     delimiter_given, skip_bad_rows)
    if note is not None:
        warnings.warn(note, UserWarning, stacklevel=2)
    return sweep


def read_sweeps(paths_or_glob, **kwargs) -> list[Sweep]:
    """Read several sweeps with [`read_sweep`][diffsc.read_sweep].

    **Arguments:**

    - `paths_or_glob`: a glob pattern (``"data/res_*.csv"``; ``**`` recurses), a single path, or
      an iterable of paths. A string naming an existing file is read as that file even if it
      holds glob characters.
    - `kwargs`: passed to [`read_sweep`][diffsc.read_sweep] for every file.

    **Returns:** a list of [`Sweep`][diffsc.Sweep], in sorted order of the file names for a glob and in
    the given order otherwise; each keeps its file in ``Sweep.path`` (``Sweep.name`` is the
    stem). A glob that matches no file raises [`SweepFormatError`][diffsc.SweepFormatError] naming the pattern.
    """
    if isinstance(paths_or_glob, (str, os.PathLike)):
        text = os.fspath(paths_or_glob)
        if os.path.isfile(text) or not _glob.has_magic(text):
            paths = [text]
        else:
            paths = sorted(p for p in _glob.glob(text, recursive=True) if os.path.isfile(p))
            if not paths:
                raise SweepFormatError(f"diffsc.read_sweeps: the pattern {text!r} matches no "
                                       "file.")
    else:
        try:
            paths = [os.fspath(p) for p in paths_or_glob]
        except TypeError as err:
            raise SweepFormatError(f"diffsc.read_sweeps: expected a glob pattern, a path or an "
                                   f"iterable of paths, got {paths_or_glob!r}.") from err
        if not paths:
            raise SweepFormatError("diffsc.read_sweeps: no paths given.")
    return [read_sweep(p, **kwargs) for p in paths]
