"""read_sweep / read_sweeps: messy VNA exports written from a known notch resonance (with cable
delay) are read back to 1e-9; every documented error names the file, the line and the fix."""

import functools
import os
import re

import numpy as np
import pytest

from diffsc import (
    Sweep,
    SweepFormatError,
    read_sweep,
    read_sweeps,
    read_touchstone,
    s21_notch,
    write_touchstone,
)

F0 = 6.1234567e9
UNITS = {"Hz": 1.0, "kHz": 1e3, "MHz": 1e6, "GHz": 1e9}
FORMATS = ("re_im", "db_rad", "db_deg", "lin_rad", "lin_deg")


@functools.lru_cache
def _truth():
    """Frequencies (Hz) and complex S21 of a notch resonator with cable delay (phase winds)."""
    f = np.linspace(F0 - 2e6, F0 + 2e6, 41)
    s = np.asarray(s21_notch(f, F0, 2e5, 5e4, phi=0.3, a=0.8, alpha=0.5, delay=45e-9))
    return f, s


def _columns(fmt="re_im", unit="Hz", s=None):
    """The three numeric columns of `fmt` and `unit` (shortest exact reprs when written)."""
    f, s0 = _truth()
    s = s0 if s is None else s
    if fmt == "re_im":
        a, b = s.real, s.imag
    else:
        mag, ph = fmt.split("_")
        a = 20 * np.log10(np.abs(s)) if mag == "db" else np.abs(s)
        b = np.angle(s) if ph == "rad" else np.rad2deg(np.angle(s))
    return f / UNITS[unit], a, b


def _r(x):
    """The shortest exact text of a number."""
    return repr(float(x))


def _rows(cols, sep=",", end="", decimal_comma=False):
    lines = [sep.join(_r(v) for v in row) + end for row in zip(*cols, strict=True)]
    if decimal_comma:
        lines = [ln.replace(".", ",") for ln in lines]
    return lines


def _write(path, lines, *, newline="\n", encoding="utf-8", bom=b""):
    path.write_bytes(bom + (newline.join(lines) + newline).encode(encoding))
    return path


def _check(sweep, s=None, n=None):
    f, s0 = _truth()
    s = s0 if s is None else s
    assert isinstance(sweep, Sweep)
    assert sweep.freq.dtype == np.float64 and sweep.s.dtype == np.complex128
    assert len(sweep) == (f.size if n is None else n)
    if n is None:
        np.testing.assert_allclose(sweep.freq, f, rtol=1e-12)
        np.testing.assert_allclose(sweep.s, s, rtol=1e-9)


# ---------------------------------------------------------------- formats, units, delimiters


_HEADER_WORDS = {  # how a header spells each format (several vendors' habits)
    "re_im": ("S21 real", "S21 imag"),
    "db_rad": ("Mag(dB)", "Phase(rad)"),
    "db_deg": ("S21(DB)", "S21(DEG)"),
    "lin_rad": ("|S21|", "arg(S21) [rad]"),
    "lin_deg": ("S21 Magnitude", "S21 Phase (deg)"),
}


@pytest.mark.parametrize("unit", list(UNITS))
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_and_unit(tmp_path, fmt, unit):
    cols = _columns(fmt, unit)
    bare = _write(tmp_path / "bare.csv", _rows(cols))
    sweep = read_sweep(bare, format=fmt, freq_unit=unit.upper())  # case-insensitive
    _check(sweep)
    assert sweep.metadata["format"] == fmt and sweep.metadata["freq_unit"] == unit
    assert sweep.metadata["source"] == "text" and sweep.metadata["columns"] is None
    head = f"Freq({unit}),{','.join(_HEADER_WORDS[fmt])}"
    sweep = read_sweep(_write(tmp_path / "head.csv", [head] + _rows(cols)))
    _check(sweep)
    assert sweep.metadata["format"] == fmt and sweep.metadata["freq_unit"] == unit
    assert sweep.metadata["columns"] == head.split(",")


@pytest.mark.parametrize("sep", [",", ";", "\t", " ", "   ", ", "])
def test_delimiters_detected_and_explicit(tmp_path, sep):
    p = _write(tmp_path / "d.txt", [sep.join(["freq_hz", "re", "im"])] + _rows(_columns(), sep))
    sweep = read_sweep(p)
    _check(sweep)
    name = {" ": "whitespace", "   ": "whitespace", ", ": ","}.get(sep, sep)
    assert sweep.metadata["delimiter"] == name
    given = {"whitespace": "whitespace", "\t": "tab"}.get(name, name)
    _check(read_sweep(p, delimiter=given))


def test_decimal_commas(tmp_path):
    cols = _columns("db_deg", "GHz")
    p = _write(tmp_path / "eu.csv", ["Frequenz (GHz);S21 (dB);S21 Phase (°)"]
               + _rows(cols, ";", decimal_comma=True))
    sweep = read_sweep(p)
    _check(sweep)
    assert sweep.metadata["decimal_comma"] and sweep.metadata["delimiter"] == ";"
    p = _write(tmp_path / "labview.txt", _rows(cols, "\t", decimal_comma=True))  # no header
    _check(read_sweep(p, format="db_deg", freq_unit="GHz"))
    p = _write(tmp_path / "ws.txt", _rows(cols, " ", decimal_comma=True))
    assert read_sweep(p, format="db_deg", freq_unit="GHz").metadata["delimiter"] == "whitespace"
    # a decimal comma next to decimal points (thousands separators?) is refused, not misread
    rows = _rows(cols, ";", decimal_comma=True)
    rows[4] = rows[4].replace(",", ".", 1)
    _write(p, rows)
    with pytest.raises(SweepFormatError, match=r"line 5: the numbers use decimal commas"):
        read_sweep(p, format="db_deg", freq_unit="GHz")


# ----------------------------------------------------------------------- vendor headers

_VENDORS = {
    "keysight_pna": (["!CSV A.01.01", "!Date: Thursday, May 02, 2024 10:00:00",
                      "!Source: Standard", "", "BEGIN CH1_DATA", "Freq(Hz),S21(REAL),S21(IMAG)"],
                     "re_im", "Hz", ",", "", ["END"]),
    "keysight_db": (["Freq(Hz),S21(DB),S21(DEG)"], "db_deg", "Hz", ",", "", []),
    "rs_znb": (["freq[Hz];re:Trc1_S21;im:Trc1_S21;"], "re_im", "Hz", ";", ";", []),
    "copper_mountain": (["# Channel 1", "Frequency (GHz),S21 Log Mag (dB),S21 Phase (°)"],
                        "db_deg", "GHz", ",", "", []),
    "labview_tab": (["f (MHz)\tS21 real\tS21 imag"], "re_im", "MHz", "\t", "", []),
    "semicolon_words": (["frequency [Hz]; re; im"], "re_im", "Hz", "; ", "", []),
    "slash_unit": (["Frequency/Hz, Mag(dB), Phase(rad)"], "db_rad", "Hz", ", ", "", []),
    "snake_case": (["freq_hz,mag_db,phase_deg"], "db_deg", "Hz", ",", "", []),
    "quoted": (['"Frequency (Hz)","S21 Magnitude","S21 Phase (deg)"'], "lin_deg", "Hz", ",",
               "", []),
    "abs_arg": (["Freq [GHz], |S21|, arg(S21) [rad]"], "lin_rad", "GHz", ", ", "", []),
    "spaced_names": (["Freq [GHz]   |S21|   arg(S21) [rad]"], "lin_rad", "GHz", "   ", "", []),
    "qcodes_comment": (["# vna_frequency\tvna_s21_real\tvna_s21_imag",
                        '# "Frequency (Hz)"\t"S21 real"\t"S21 imag"', "# 41"],
                       "re_im", "Hz", "\t", "", []),
    "matlab_comment": (["% Frequency(kHz) Re(S21) Im(S21)"], "re_im", "kHz", " ", "", []),
    "iq": (["fGHz,I,Q"], "re_im", "GHz", ",", "", []),
    "log_mag_unit_phase": (["Stimulus [MHz]\tS21 LogMag\tS21 Phase [rad]"], "db_rad", "MHz",
                           "\t", "", []),
}


@pytest.mark.parametrize("vendor", list(_VENDORS))
def test_vendor_headers(tmp_path, vendor):
    head, fmt, unit, sep, end, foot = _VENDORS[vendor]
    rows = _rows(_columns(fmt, unit), sep, end)
    if vendor == "quoted":
        rows = [",".join(f'"{c}"' for c in r.split(",")) for r in rows]
    sweep = read_sweep(_write(tmp_path / f"{vendor}.csv", head + rows + foot))
    _check(sweep)
    assert (sweep.metadata["format"], sweep.metadata["freq_unit"]) == (fmt, unit)


def test_pandas_to_csv_index_column_is_ignored(tmp_path):
    f, a, b = _columns()
    rows = [f"{k},{_r(x)},{_r(y)},{_r(z)}" for k, (x, y, z) in enumerate(zip(f, a, b, strict=True))]
    sweep = read_sweep(_write(tmp_path / "pd.csv", [",freq_hz,s21_re,s21_im"] + rows))
    _check(sweep)
    assert sweep.metadata["columns_used"] == ["freq_hz", "s21_re", "s21_im"]


def test_preamble_bom_crlf_latin1_blank_and_trailing_lines(tmp_path):
    lines = ["Instrument: ZNB20", "Date: 2024-05-02, 10:00", "// operator: J. Müller",
             "# T = 20 mK, P = -90 dBm, 20 µs settle, rotated 5° ", "", "Freq(GHz),S21(dB),S21(deg)"]
    lines += _rows(_columns("db_deg", "GHz"))
    lines[10:10] = ["", "! a comment between data rows"]
    p = _write(tmp_path / "znb.csv", lines + ["", "", ""], newline="\r\n", encoding="latin-1",
               bom=b"")
    sweep = read_sweep(p)
    _check(sweep)
    assert sweep.metadata["encoding"] == "latin-1"
    assert "// operator: J. Müller" in sweep.metadata["comments"]
    assert "Instrument: ZNB20" in sweep.metadata["comments"]
    assert "! a comment between data rows" in sweep.metadata["comments"]
    assert sweep.metadata["header_line"] == 6
    # UTF-8 with a byte-order mark and no header: the first row must survive
    p = _write(tmp_path / "bom.csv", _rows(_columns()), bom=b"\xef\xbb\xbf", newline="\r\n")
    _check(read_sweep(p, format="re_im", freq_unit="Hz"))
    p.write_bytes(b"\xef\xbb\xbf" + b"freq (Hz),re,im\n" + p.read_bytes()[3:])
    _check(read_sweep(p))


def test_more_layouts(tmp_path):
    rows = _rows(_columns("db_deg"), " ")
    # names with spaces in a whitespace file, aligned by runs of spaces
    p = _write(tmp_path / "aligned.dat", ["Freq(Hz)   S21 Log Mag (dB)   S21 Phase (deg)"] + rows)
    _check(read_sweep(p))
    # UTF-16 with a byte-order mark (Excel's "Unicode text"), tab-separated, decimal commas
    p = _write(tmp_path / "excel.txt", ["Frequency (Hz)\tS21 dB\tS21 deg"]
               + _rows(_columns("db_deg"), "\t", decimal_comma=True), encoding="utf-16",
               newline="\r\n")
    _check(read_sweep(p))
    # old Mac line ends (CR only) keep the line numbers an editor shows
    p = _write(tmp_path / "cr.csv", ["freq_hz,re,im"] + _rows(_columns())[:5] + ["1e10,x,0"],
               newline="\r")
    with pytest.raises(SweepFormatError, match=r"line 7: cannot read '1e10,x,0'"):
        read_sweep(p)
    # key-value preamble lines that hold a number are no data rows...
    p = _write(tmp_path / "pre.csv", ["IFBW,1000,Hz", "Points,41,"] + _rows(_columns()))
    sweep = read_sweep(p, format="re_im", freq_unit="Hz")
    _check(sweep)
    assert sweep.metadata["comments"] == ["IFBW,1000,Hz", "Points,41,"]
    # ...but an unreadable first row of a header-less file is one
    p = _write(tmp_path / "first.csv", ["#VALUE!,#VALUE!,#VALUE!"] + _rows(_columns()))
    with pytest.raises(SweepFormatError, match=r"first.csv', line 1: cannot read '#VALUE!"):
        read_sweep(p, format="re_im", freq_unit="Hz")
    with pytest.warns(UserWarning, match="skipped 1 unreadable row"):
        _check(read_sweep(p, format="re_im", freq_unit="Hz", skip_bad_rows=True))
    # complex numbers as text (pandas' to_csv of a complex column) are refused with the remedy
    p = _write(tmp_path / "complex.csv", [",freq,s21", "0,6e9,(0.1+0.2j)", "1,6.1e9,(0.1-0.2j)"])
    with pytest.raises(SweepFormatError, match=r"line 2: complex numbers written as text"):
        read_sweep(p)
    p = tmp_path / "archive.csv"  # binary content under a text name
    p.write_bytes(b"PK\x03\x04\x00\x00binary")
    with pytest.raises(SweepFormatError, match="NUL bytes"):
        read_sweep(p)


def test_trailing_delimiters(tmp_path):
    rows = _rows(_columns(), ",", ",")
    _check(read_sweep(_write(tmp_path / "a.csv", rows), format="re_im", freq_unit="Hz"))
    _check(read_sweep(_write(tmp_path / "b.csv", ["freq (Hz),re,im"] + rows)))
    _check(read_sweep(_write(tmp_path / "c.csv", ["freq (Hz),re,im,"] + rows)))


def test_descending_sweep_keeps_every_point(tmp_path):
    rows = _rows(_columns("lin_deg", "GHz"))[::-1]
    sweep = read_sweep(_write(tmp_path / "down.csv", ["Freq(GHz),S21(MAG),S21(DEG)"] + rows))
    _check(sweep)
    assert sweep.metadata["reversed"]


def test_multi_parameter_headers(tmp_path):
    f, s21 = _truth()
    s11 = 0.3 - 0.2j * s21
    f_, a11, b11 = _columns("re_im", "Hz", s11)
    _, a21, b21 = _columns("re_im", "Hz", s21)
    p = _write(tmp_path / "four.csv", ["freq (Hz), S11 re, S11 im, S21 re, S21 im"]
               + _rows((f_, a11, b11, a21, b21), ", "))
    _check(read_sweep(p), s21)
    sweep = read_sweep(p, parameter="s11")
    _check(sweep, s11)
    assert sweep.parameter == "S11"
    with pytest.raises(SweepFormatError, match=r"'S12'.*S11, S21"):
        read_sweep(p, parameter="S12")
    _, d11, p11 = _columns("db_deg", "Hz", s11)
    _, d21, p21 = _columns("db_deg", "Hz", s21)
    p = _write(tmp_path / "keysight.txt", ["Freq(Hz) S11(DB) S11(DEG) S21(DB) S21(DEG)"]
               + _rows((f_, d11, p11, d21, p21), " "))
    _check(read_sweep(p, parameter="S21"), s21)
    _check(read_sweep(p, parameter="S11"), s11)
    # only S11 in the file: asking for S21 names what is there
    p = _write(tmp_path / "s11.csv", ["Freq(Hz),S11(DB),S11(DEG)"] + _rows((f_, d11, p11)))
    with pytest.raises(SweepFormatError, match=r"S11; pass parameter='S11'"):
        read_sweep(p)
    # a value column without a name joins the named one before it
    p = _write(tmp_path / "inherit.csv", ["Freq(Hz),S21 (dB),Phase (deg)"] + _rows((f_, d21, p21)))
    _check(read_sweep(p), s21)
    # real/imaginary and polar columns of one parameter: real/imaginary are read unless the
    # format argument picks the other pair
    p = _write(tmp_path / "both.csv", ["Freq(Hz),S21 re,S21 im,S21 dB,S21 deg"]
               + _rows((f_, a21, b21, d21, p21)))
    assert read_sweep(p).metadata["columns_used"] == ["Freq(Hz)", "S21 re", "S21 im"]
    sweep = read_sweep(p, format="db_deg")
    _check(sweep, s21)
    assert sweep.metadata["columns_used"] == ["Freq(Hz)", "S21 dB", "S21 deg"]


# ---------------------------------------------------------------------------- text errors


def test_ambiguous_header_names_the_arguments(tmp_path):
    p = _write(tmp_path / "amb.csv", ["Freq,Mag,Phase"] + _rows(_columns("lin_rad", "MHz")))
    with pytest.raises(SweepFormatError) as err:
        read_sweep(p)
    msg = str(err.value)
    assert "amb.csv" in msg and "line 1" in msg
    assert "`format`" in msg and "'db_deg'" in msg and "`freq_unit`" in msg and "'GHz'" in msg
    _check(read_sweep(p, format="lin_rad", freq_unit="MHz"))
    # "Mag" alone means |S| unless the format argument says dB; the phase unit may not clash
    p = _write(tmp_path / "mag_db.csv", ["Freq (MHz),Mag,Phase"] + _rows(_columns("db_rad", "MHz")))
    _check(read_sweep(p, format="db_rad"))
    with pytest.raises(SweepFormatError, match=r"negative magnitude .*format='db_rad'"):
        read_sweep(p, format="lin_rad")
    # the frequency unit alone missing: only freq_unit is asked for
    p = _write(tmp_path / "nounit.csv", ["freq,re,im"] + _rows(_columns()))
    with pytest.raises(SweepFormatError, match="frequency unit") as err:
        read_sweep(p)
    assert "`format`" not in str(err.value) and "`freq_unit` (choose from" in str(err.value)


def test_arguments_may_not_contradict_the_header(tmp_path):
    p = _write(tmp_path / "h.csv", ["Freq(GHz),S21(DB),S21(DEG)"] + _rows(_columns("db_deg", "GHz")))
    _check(read_sweep(p, format="db_deg", freq_unit="GHz"))  # agreeing arguments are fine
    with pytest.raises(SweepFormatError, match=r"freq_unit='Hz' contradicts .*'Freq\(GHz\)'"):
        read_sweep(p, freq_unit="Hz")
    with pytest.raises(SweepFormatError, match=r"format='re_im' contradicts .*'S21\(DB\)'"):
        read_sweep(p, format="re_im")
    with pytest.raises(SweepFormatError, match=r"format='db_rad' contradicts .*phase in deg"):
        read_sweep(p, format="db_rad")
    p = _write(tmp_path / "lin.csv", ["f (Hz),|S21|,phase (rad)"] + _rows(_columns("lin_rad")))
    with pytest.raises(SweepFormatError, match=r"format='db_rad' contradicts .*'\|S21\|'"):
        read_sweep(p, format="db_rad")  # an explicit linear marker cannot be overridden


def test_headerless_file_needs_three_columns_format_and_unit(tmp_path):
    p = _write(tmp_path / "bare.txt", _rows(_columns(), " "))
    with pytest.raises(SweepFormatError, match=r"bare.txt', line 1: .*`format` .*`freq_unit`"):
        read_sweep(p)
    with pytest.raises(SweepFormatError, match=r"`freq_unit`"):
        read_sweep(p, format="re_im")
    f, a, _ = _columns()
    p = _write(tmp_path / "two.csv", _rows((f, a)))
    with pytest.raises(SweepFormatError, match=r"rows hold 2 numbers; without a header exactly 3"):
        read_sweep(p, format="re_im", freq_unit="Hz")
    p = _write(tmp_path / "four.csv", _rows((f, a, a, a)))
    with pytest.raises(SweepFormatError, match=r"rows hold 4 numbers"):
        read_sweep(p, format="re_im", freq_unit="Hz")


@pytest.mark.parametrize("bad, reason", [
    ("{f},#VALUE!,0.1", "'#VALUE!' is not a number"),
    ("#VALUE!,#VALUE!,#VALUE!", "is not a number"),
    ("{f},nan,0.1", "'nan' is not a finite number"),
    ("{f},0.1,inf", "'inf' is not a finite number"),
    ("{f},,0.1", "a value is missing"),
    ("{f},0.1", "2 cells where the rows have 3"),
    ("{f},0.1,0.2,0.3", "4 cells where the rows have 3"),
    ("{f},0.1,open", "'open' is not a number"),
])
def test_bad_rows_are_errors_or_skipped_with_one_warning(tmp_path, bad, reason):
    rows = _rows(_columns())
    f_bad = _r((_truth()[0][6] + _truth()[0][7]) / 2)  # between two rows: order kept
    rows.insert(7, bad.format(f=f_bad))
    rows.insert(20, bad.format(f=_r((_truth()[0][18] + _truth()[0][19]) / 2)))
    p = _write(tmp_path / "bad.csv", ["freq (Hz),re,im"] + rows)
    with pytest.raises(SweepFormatError, match=rf"bad.csv', line 9: cannot read .*{reason}"
                                               r".*2 such rows.*skip_bad_rows=True"):
        read_sweep(p)
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable rows \(lines 9, 22") as rec:
        sweep = read_sweep(p, skip_bad_rows=True)
    assert len(rec) == 1
    _check(sweep)
    assert sweep.metadata["n_skipped_rows"] == 2 and sweep.metadata["skipped_lines"] == [9, 22]


def test_non_monotonic_frequencies_name_the_line(tmp_path):
    rows = _rows(_columns())
    p = _write(tmp_path / "twice.csv", ["freq (Hz),re,im"] + rows + rows)
    with pytest.raises(SweepFormatError, match=r"twice.csv', line 43: .*breaks the increasing "
                                               r"sweep after line 42.*second sweep"):
        read_sweep(p)
    dup = rows[:10] + rows[9:]
    p = _write(tmp_path / "dup.csv", ["freq (Hz),re,im"] + dup)
    with pytest.raises(SweepFormatError, match=r"line 12: .*repeats the frequency .* of line 11"):
        read_sweep(p)
    down = rows[::-1]
    down[30], down[31] = down[31], down[30]
    p = _write(tmp_path / "down.csv", ["freq (Hz),re,im"] + down)
    with pytest.raises(SweepFormatError, match=r"line 33: .*decreasing sweep after line 32"):
        read_sweep(p)
    rows[0] = "0.0,1.0,0.0"
    p = _write(tmp_path / "zero.csv", ["freq (Hz),re,im"] + rows)
    with pytest.raises(SweepFormatError, match=r"line 2: the frequency 0 Hz is not positive"):
        read_sweep(p)


def test_empty_channel_and_empty_files(tmp_path):
    f = _truth()[0]
    p = _write(tmp_path / "empty_ch.csv", ["Freq(Hz),S21(DB),S21(DEG)"]
               + [f"{_r(x)},," for x in f])
    with pytest.raises(SweepFormatError, match=r"S21 channel holds no data: column 'S21\(DB\)'"):
        read_sweep(p)
    p = _write(tmp_path / "nan_ch.csv", ["Freq(Hz),S21(DB),S21(DEG)"]
               + [f"{_r(x)},-3.0,NaN" for x in f])
    with pytest.raises(SweepFormatError, match=r"no data: column 'S21\(DEG\)'"):
        read_sweep(p, skip_bad_rows=True)
    p = tmp_path / "empty.csv"
    p.write_bytes(b"")
    with pytest.raises(SweepFormatError, match=r"empty.csv': the file is empty"):
        read_sweep(p)
    p.write_bytes(b"\r\n\n  \n")
    with pytest.raises(SweepFormatError, match="empty"):
        read_sweep(p)
    _write(p, ["! exported by nothing", "Freq(Hz),S21(DB),S21(DEG)"])
    with pytest.raises(SweepFormatError, match="no data rows"):
        read_sweep(p)


def test_second_block_after_end_is_an_error(tmp_path):
    rows = _rows(_columns())
    p = _write(tmp_path / "two_ch.csv", ["BEGIN CH1_DATA", "Freq(Hz),S21(REAL),S21(IMAG)"] + rows
               + ["END", "BEGIN CH2_DATA", "Freq(Hz),S21(REAL),S21(IMAG)"] + rows + ["END"])
    with pytest.raises(SweepFormatError, match=r"line 47: data after the END line 44"):
        read_sweep(p)


def test_argument_errors(tmp_path):
    p = _write(tmp_path / "a.csv", ["freq (Hz),re,im"] + _rows(_columns()))
    with pytest.raises(SweepFormatError, match=r"unknown `format` 'ri'; choose from 're_im'"):
        read_sweep(p, format="ri")
    with pytest.raises(SweepFormatError, match=r"unknown `freq_unit` 'THz'.*'GHz'"):
        read_sweep(p, freq_unit="THz")
    with pytest.raises(SweepFormatError, match=r"`parameter` must name an S parameter"):
        read_sweep(p, parameter="transmission")
    with pytest.raises(SweepFormatError, match=r"unknown `delimiter` '\|'"):
        read_sweep(p, delimiter="|")
    with pytest.raises(SweepFormatError, match="no such file") as err:
        read_sweep(tmp_path / "missing.csv")
    assert isinstance(err.value, FileNotFoundError)


# ----------------------------------------------------------------------------- Touchstone


def _two_port():
    f, s21 = _truth()
    return f, {"S11": 0.1 + 0.05j * s21, "S21": s21, "S12": 0.5 * s21, "S22": 0.2 - 0.1j * s21}


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("fmt", ["RI", "MA", "DB"])
def test_touchstone_parameters_and_metadata(tmp_path, version, fmt):
    f, s = _two_port()
    p = tmp_path / "dut.s2p"
    write_touchstone(p, f, s, fmt=fmt, z0=50.0, version=version)
    for name, values in s.items():
        sweep = read_sweep(p, parameter=name)
        _check(sweep, values)
        assert sweep.parameter == name
    meta = sweep.metadata
    assert meta["source"] == "touchstone" and meta["freq_unit"] == "Hz"
    assert meta["format"] == {"RI": "re_im", "MA": "lin_deg", "DB": "db_deg"}[fmt]
    ts = meta["touchstone"]
    assert ts["n_ports"] == 2 and ts["z0"] == 50.0 and ts["option_line"] == f"# HZ S {fmt} R 50"
    assert ts["version"] == ("2.0" if version == 2 else "1")
    assert meta["comments"] == ["written by diffsc"] and not meta["all_zero"]
    # the option line is authoritative: agreeing arguments pass, others are errors
    read_sweep(p, format=meta["format"], freq_unit="hz")
    with pytest.raises(SweepFormatError, match=r"freq_unit='GHz' contradicts the option line"):
        read_sweep(p, freq_unit="GHz")
    other = "db_deg" if fmt != "DB" else "re_im"
    with pytest.raises(SweepFormatError, match=rf"format='{other}' contradicts the option line"):
        read_sweep(p, format=other)


def test_touchstone_s21_from_a_one_port_file(tmp_path):
    f, s = _truth()
    p = tmp_path / "refl.s1p"
    write_touchstone(p, f, {"S11": s})
    with pytest.raises(SweepFormatError, match=r"'.*refl.s1p'.*holds only S11; pass "
                                               r"parameter='S11'"):
        read_sweep(p)
    _check(read_sweep(p, parameter="S11"))


def test_touchstone_line_with_wrong_count(tmp_path):
    f, s = _two_port()
    p = tmp_path / "short.s2p"
    write_touchstone(p, f, s)
    lines = p.read_text().splitlines()
    lines[7] = " ".join(lines[7].split()[:3])
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(SweepFormatError, match=r"'.*short.s2p', line 8: 3 numbers on one line; "
                                               r"a version-1 2-port file needs 9"):
        read_sweep(p)
    with pytest.raises(ValueError, match=r"line 8: 3 numbers"):
        read_touchstone(p)


def test_touchstone_descending_frequencies_keep_every_point(tmp_path):
    f, s = _two_port()
    p = tmp_path / "down.s2p"
    write_touchstone(p, f[::-1], {k: v[::-1] for k, v in s.items()}, fmt="DB")
    ff, out = read_touchstone(p)  # file order, nothing mistaken for the noise block
    np.testing.assert_allclose(ff, f[::-1], rtol=1e-12)
    sweep = read_sweep(p)
    _check(sweep, s["S21"])
    assert sweep.metadata["reversed"]
    # a real noise block (5 numbers a row, the frequency restarting) is still skipped
    p.write_text(p.read_text() + "! noise\n6.0e9 0.5 0.3 20 0.2\n6.2e9 0.6 0.3 25 0.2\n")
    sweep = read_sweep(p)
    _check(sweep, s["S21"])
    assert sweep.metadata["touchstone"]["noise_block_line"] == 3 + f.size + 1
    p.write_text(p.read_text() + "6.3e9 0 0 0 0 0 0 0 0\n")
    with pytest.raises(SweepFormatError, match=r"9 numbers in the noise-parameter block"):
        read_sweep(p)


def test_touchstone_second_option_line_is_ignored(tmp_path):
    f, s = _two_port()
    p = tmp_path / "opt.s2p"
    write_touchstone(p, f, s, fmt="RI", z0=50.0)
    lines = p.read_text().splitlines()
    lines.insert(10, "# GHz S DB R 75")
    p.write_text("\n".join(lines) + "\n")
    sweep = read_sweep(p)
    _check(sweep, s["S21"])
    ts = sweep.metadata["touchstone"]
    assert ts["z0"] == 50.0 and ts["option_line"] == "# HZ S RI R 50"
    assert ts["ignored_option_lines"] == [11]


def test_touchstone_all_zero_parameter_is_flagged_not_refused(tmp_path):
    f, s = _truth()
    p = tmp_path / "s11_only.s2p"
    write_touchstone(p, f, {"S11": s})  # S21, S12, S22 written as 0
    sweep = read_sweep(p)
    assert sweep.metadata["all_zero"] and np.all(sweep.s == 0) and len(sweep) == f.size
    assert not read_sweep(p, parameter="S11").metadata["all_zero"]


def test_touchstone_variants(tmp_path):
    f, s = _two_port()
    # Touchstone content under a .txt name: recognized by its option line, ports from the row
    p = tmp_path / "export.txt"
    write_touchstone(tmp_path / "x.s2p", f, s, fmt="MA")
    p.write_text((tmp_path / "x.s2p").read_text())
    _check(read_sweep(p), s["S21"])
    # a 3-port file with rows wrapped as the standard writes them (4 pairs a line at most)
    rng = np.random.default_rng(3)
    m = rng.normal(size=(f.size, 3, 3)) + 1j * rng.normal(size=(f.size, 3, 3))
    lines = ["# MHz S RI R 50"]
    for k in range(f.size):
        for i in range(3):
            pairs = " ".join(f"{_r(v.real)} {_r(v.imag)}" for v in m[k, i])
            lines.append((f"{_r(f[k] / 1e6)} " if i == 0 else "  ") + pairs)
    p3 = tmp_path / "tri.s3p"
    p3.write_text("\n".join(lines) + "\n")
    _check(read_sweep(p3, parameter="S32"), m[:, 2, 1])
    # no option line: the arguments stand in for the standard's defaults (GHz, MA)
    p = tmp_path / "noopt.s1p"
    p.write_text("\n".join(f"{_r(x / 1e9)} {_r(v.real)} {_r(v.imag)}" for x, v in zip(f, s["S11"], strict=True)))
    _check(read_sweep(p, parameter="S11", format="re_im"), s["S11"])
    assert read_sweep(p, parameter="S11").metadata["format"] == "lin_deg"
    # errors of the Touchstone reader reach read_sweep as SweepFormatError naming the file
    p.write_text("# GHz S RI R 50\n1.0 0.5 x\n")
    with pytest.raises(SweepFormatError, match=r"noopt.s1p', line 2: cannot read"):
        read_sweep(p, parameter="S11")
    p.write_text("# GHz S RI R 50\n1.0 0.5 0.1\n1.1 nan 0.2\n1.2 0.4 0.3\n")
    with pytest.raises(SweepFormatError, match=r"line 3: cannot read .*not a finite number"):
        read_sweep(p, parameter="S11")
    with pytest.warns(UserWarning, match="skipped 1 unreadable row"):
        assert len(read_sweep(p, parameter="S11", skip_bad_rows=True)) == 2


# ------------------------------------------------------------------------------------ NPZ


def test_npz(tmp_path):
    f, s = _truth()
    np.savez(tmp_path / "c.npz", freq=f, s21=s)
    sweep = read_sweep(tmp_path / "c.npz")
    _check(sweep)
    assert sweep.metadata["source"] == "npz"
    np.savez(tmp_path / "p.npz", freq=f / 1e9, s11_re=s.real, s11_im=s.imag)
    _check(read_sweep(tmp_path / "p.npz", parameter="S11", freq_unit="GHz"))
    with pytest.raises(SweepFormatError, match=r"lacks 's21' .* it holds freq, s11_im, s11_re"):
        read_sweep(tmp_path / "p.npz")
    np.savez(tmp_path / "nofreq.npz", f=f, s21=s)
    with pytest.raises(SweepFormatError, match=r"lacks the array 'freq'.*holds f, s21"):
        read_sweep(tmp_path / "nofreq.npz")


# ----------------------------------------------------------------------------- read_sweeps


def test_read_sweeps_glob_sorted_and_names_kept(tmp_path):
    rows = ["freq (Hz),re,im"] + _rows(_columns())
    for name in ("res_b.csv", "res_a.csv", "res_c.csv", "other.csv"):
        _write(tmp_path / name, rows)
    sweeps = read_sweeps(str(tmp_path / "res_*.csv"))
    assert [sw.name for sw in sweeps] == ["res_a", "res_b", "res_c"]
    assert sweeps[1].path == str(tmp_path / "res_b.csv")
    for sw in sweeps:
        _check(sw)
    given = read_sweeps([tmp_path / "res_c.csv", tmp_path / "other.csv"])
    assert [sw.name for sw in given] == ["res_c", "other"]
    assert [sw.name for sw in read_sweeps(tmp_path / "other.csv")] == ["other"]
    pattern = str(tmp_path / "nothing_*.csv")
    with pytest.raises(SweepFormatError, match=f"pattern {re.escape(repr(pattern))} matches no file"):
        read_sweeps(pattern)
    with pytest.warns(UserWarning):  # keyword arguments reach every file
        _write(tmp_path / "res_d.csv", rows[:5] + ["1.0,x,y"] + rows[5:])
        assert len(read_sweeps(os.path.join(tmp_path, "res_?.csv"), skip_bad_rows=True)) == 4


# ----------------------------------------------------------------------------------- Sweep


def test_sweep_container():
    f, s = _truth()
    sweep = Sweep(f, s, "S21", None, {})
    assert len(sweep) == f.size and sweep.name == "sweep"
    assert repr(sweep) == "Sweep(S21, 41 points, 6.121457-6.125457 GHz, in memory)"
    with pytest.raises(ValueError):
        sweep.freq[0] = 1.0  # read-only
    part = sweep.crop(F0 - 1e6, F0 + 1e6)
    assert len(part) == 21 and part.freq[0] >= F0 - 1e6 and part.metadata["crop"] == (
        F0 - 1e6, F0 + 1e6)
    assert len(sweep.crop(f_min=F0)) == 21 and len(sweep.crop(f_max=F0 - 1.5e6)) == 6
    with pytest.raises(ValueError, match="no point"):
        sweep.crop(1e9, 2e9)
    with pytest.raises(ValueError, match="exceeds"):
        sweep.crop(2e9, 1e9)
    with pytest.raises(ValueError, match=r"`freq` must increase strictly; index 1"):
        Sweep(f[::-1], s)
    with pytest.raises(ValueError, match=r"`s` has 40 points but `freq` has 41"):
        Sweep(f, s[1:])
    with pytest.raises(ValueError, match=r"`freq` must be real"):
        Sweep(f + 0j, s)
    with pytest.raises(ValueError, match=r"`s` must be 1-D"):
        Sweep(f, s[:, None])
    with pytest.raises(ValueError, match=r"`s` holds a non-finite value at index 3"):
        Sweep(f, np.where(np.arange(f.size) == 3, np.nan, s))
