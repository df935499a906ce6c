"""`diffsc fit s21` on a folder of messy measured files and `diffsc fit temperature` on its table.

Every bad file gives its own line and reason, the exit status is non-zero when any file fails, and
no traceback ever reaches the user."""

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from diffsc import cli, write_touchstone
from diffsc._resonator._s21_fit_result import model_response  # internal: NumPy model

N = 401
TRUTH = dict(f_res=6.1e9, Qi=1.5e5, Qc=4e4, phi=0.25, a=0.05, alpha=-1.0, tau=45e-9)


def _sweep(seed, model="notch", **kw):
    t = {**TRUTH, **kw}
    rng = np.random.default_rng(seed)
    Ql = 1 / (1 / t["Qi"] + np.cos(t["phi"]) / t["Qc"])
    f = t["f_res"] + np.linspace(-7, 7, N) * t["f_res"] / Ql
    z = model_response(f, t, model)
    z = z + t["a"] / 300 * (rng.normal(size=N) + 1j * rng.normal(size=N))
    return f, z, t


def _db_rad_csv(path, f, z, bom=False, sep=",", newline="\n"):
    lines = [f"Freq(GHz){sep}S21(dB){sep}S21(rad)"]
    lines += [f"{fi / 1e9:.12f}{sep}{20 * np.log10(abs(zi)):.10f}{sep}{np.angle(zi):.10f}"
              for fi, zi in zip(f, z, strict=True)]
    text = newline.join(lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweeps")
    f, z, _ = _sweep(1)
    _db_rad_csv(d / "a_ghz_db_rad.csv", f, z, bom=True, newline="\r\n")
    f, z, _ = _sweep(2, Qi=8e4)
    lines = ["# Instrument: VNA", "freq [Hz]\tre\tim"]
    lines += [f"{fi:.3f}\t{zi.real:.10e}\t{zi.imag:.10e}" for fi, zi in zip(f, z, strict=True)]
    (d / "b_tab.txt").write_text("\n".join(lines) + "\n")
    f, z, _ = _sweep(3, model="reflection")
    write_touchstone(d / "c_reflection.s1p", f, {"S11": z}, fmt="DB")
    f, z, _ = _sweep(4)
    write_touchstone(d / "d_s11_only.s2p", f, {"S11": z})  # S21 written as zeros
    rng = np.random.default_rng(5)
    noise = 0.05 * (1 + 0.01 * (rng.normal(size=N) + 1j * rng.normal(size=N)))
    _db_rad_csv(d / "e_noise.csv", f, noise)
    np.savetxt(d / "f_no_header.csv", np.c_[f, z.real, z.imag], delimiter=",")
    f, z, _ = _sweep(6)
    _db_rad_csv(d / "g_value_error.csv", f, z)
    text = (d / "g_value_error.csv").read_text().splitlines()
    text[100] = "6.1,#VALUE!,0.3"
    (d / "g_value_error.csv").write_text("\n".join(text) + "\n")
    return d


def _run(argv, capsys):
    code = cli.main(argv)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    return code, out.out, out.err


def test_folder_of_messy_files(folder, tmp_path, capsys):
    out_csv = tmp_path / "results.csv"
    code, out, err = _run(["fit", "s21", str(folder / "*"), "--out", str(out_csv), "--no-cache",
                           "--quiet"], capsys)
    assert code == 1  # some files fail
    with out_csv.open() as fh:
        rows = {r["file"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {"a_ghz_db_rad", "b_tab", "c_reflection", "d_s11_only", "e_noise",
                         "f_no_header", "g_value_error"}
    ok = {k for k, r in rows.items() if r["success"] == "True"}
    assert ok == {"a_ghz_db_rad", "b_tab"}
    # the GHz / dB / radian file is read in its units: f_res in GHz range, Qi within 5 sigma
    a = rows["a_ghz_db_rad"]
    assert abs(float(a["f_res"]) - TRUTH["f_res"]) < 5 * float(a["f_res_std"])
    assert abs(float(a["Qi"]) - TRUTH["Qi"]) < 5 * float(a["Qi_std"])
    assert abs(float(rows["b_tab"]["Qi"]) - 8e4) < 5 * float(rows["b_tab"]["Qi_std"])
    # S11 of a one-port file cannot be read as S21: a read error naming the parameter
    assert rows["c_reflection"]["result"] == "read_error" and "S11" in rows["c_reflection"]["reasons"]
    assert rows["d_s11_only"]["result"] == "no_signal"
    assert rows["e_noise"]["success"] == "False" and rows["e_noise"]["result"] != "read_error"
    assert rows["f_no_header"]["result"] == "read_error"
    assert "--format" in rows["f_no_header"]["reasons"]  # named as the option to pass
    assert "--skip-bad-rows" in rows["g_value_error"]["reasons"]
    assert "#VALUE!" in rows["g_value_error"]["reasons"] and "line 101" in rows["g_value_error"]["reasons"]
    # the printed table has a line per file with the verdict
    for name in rows:
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert (" ok " in line) == (name in ok)
    assert "2 of 7 file(s) fitted successfully" in out


def test_options_fix_what_failed(folder, tmp_path, capsys):
    json_out = tmp_path / "r.json"
    files = [str(folder / n) for n in ("c_reflection.s1p", "d_s11_only.s2p")]
    code, out, _ = _run(["fit", "s21", *files, "--parameter", "S11", "--out", str(json_out),
                         "--no-cache", "--quiet", "--plots", str(tmp_path / "plots")], capsys)
    assert code == 0, out
    rows = json.loads(json_out.read_text())
    assert [r["model"] for r in rows] == ["reflection", "notch"] or all(
        r["model"] == "reflection" for r in rows)
    refl = rows[0]
    assert refl["success"] and abs(refl["Qi"] - TRUTH["Qi"]) < 5 * refl["Qi_std"]
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "c_reflection_fit.png", "d_s11_only_fit.png"]
    code, _, _ = _run(["fit", "s21", str(folder / "f_no_header.csv"), "--format", "re_im",
                       "--freq-unit", "Hz", "--no-cache", "--quiet"], capsys)
    assert code == 0
    code, out, _ = _run(["fit", "s21", str(folder / "g_value_error.csv"), "--skip-bad-rows",
                         "--delay", "baseline", "--crop", "5", "--background", "linear",
                         "--no-cache"], capsys)
    assert code == 0, out


def test_bad_arguments_are_usage_errors(folder, capsys):
    code, _, err = _run(["fit", "s21", str(folder / "b_tab.txt"), "--delay", "soon",
                         "--no-cache"], capsys)
    assert code == 2 and "--delay" in err
    code, _, err = _run(["fit", "s21", str(folder / "b_tab.txt"), "--crop", "a:b",
                         "--no-cache"], capsys)
    assert code == 2 and "--crop" in err
    code, _, err = _run(["fit", "s21", str(folder / "b_tab.txt"), "--out", "x.xlsx",
                         "--no-cache"], capsys)
    assert code == 2 and "--out" in err
    code, out, _ = _run(["fit", "s21", str(folder / "missing.csv"), "--no-cache", "--quiet"],
                        capsys)
    assert code == 1 and "no such file" in out


def test_second_process_reuses_the_compilation_cache(folder, tmp_path):
    env = {**os.environ, "DIFFSC_CACHE_DIR": str(tmp_path / "cache"), "JAX_PLATFORMS": "cpu"}
    env.pop("DIFFSC_NO_CACHE", None)
    cmd = [sys.executable, "-m", "diffsc.cli", "fit", "s21", str(folder / "b_tab.txt"), "--quiet"]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    stored = list((tmp_path / "cache" / "exported").glob("fit_s21_*.jaxexport"))
    assert len(stored) == 1 and any((tmp_path / "cache" / "xla").iterdir())
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    # same numbers from the stored program
    assert first.stdout.splitlines()[2] == second.stdout.splitlines()[2]
    assert list((tmp_path / "cache" / "exported").glob("fit_s21_*.jaxexport")) == stored


def test_temperature_command_from_file_names(tmp_path, capsys):
    from diffsc import material, resonance_vs_temperature

    al = material("Al")
    temps = np.arange(60, 301, 20) * 1e-3  # whole mK: the names carry T exactly
    truth = dict(f0=6.1e9, alpha_k=0.06, gap0=182e-6, Qi0=4e5)
    f_res, qi = resonance_vs_temperature(temps, **truth, tc_ratio=al.gap_ratio,
                                         debye_energy=al.debye_energy)
    for i, (T, fr, q) in enumerate(zip(temps, np.asarray(f_res), np.asarray(qi), strict=True)):
        f, z, _ = _sweep(20 + i, f_res=fr, Qi=q)
        _db_rad_csv(tmp_path / f"res_{T * 1e3:.0f}mK.csv", f, z)
    table = tmp_path / "results.csv"
    code, out, _ = _run(["fit", "s21", str(tmp_path / "res_*mK.csv"), "--out", str(table),
                         "--no-cache", "--quiet"], capsys)
    assert code == 0, out
    params = tmp_path / "params.json"
    code, out, err = _run(["fit", "temperature", str(table), "--material", "Al", "--out",
                           str(params), "--plot", str(tmp_path / "t.png"), "--no-cache",
                           "--quiet"], capsys)
    assert code == 0, out + err
    result = json.loads(params.read_text())
    assert result["success"]
    for k in ("gap0", "alpha_k", "f0"):
        p = result["parameters"][k]
        assert abs(p["value"] - truth[k]) < 3 * p["std"], (k, p, truth[k])
    assert (tmp_path / "t.png").stat().st_size > 10_000
    # no temperature in the names and no column: a usage error that says what to pass
    bad = tmp_path / "bad.csv"
    bad.write_text(table.read_text().replace("mK", "xx"))
    code, _, err = _run(["fit", "temperature", str(bad), "--no-cache"], capsys)
    assert code == 2 and "--pattern" in err
