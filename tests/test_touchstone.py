"""Touchstone I/O: v1 and v2.0 round trips, hand-written v2 files (keywords, wrapped rows,
per-port references, Lower matrices, skipped blocks), errors, and the optional scikit-rf backend."""

import numpy as np
import pytest

from diffsc import read_touchstone, write_touchstone


def _random_s(n_ports, n_freq=7, seed=0):
    rng = np.random.default_rng(seed)
    f = np.linspace(4e9, 6e9, n_freq)
    s = {f"S{i + 1}{j + 1}": rng.normal(size=n_freq) + 1j * rng.normal(size=n_freq)
         for i in range(n_ports) for j in range(n_ports)}
    return f, s


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("fmt", ["RI", "MA", "DB"])
@pytest.mark.parametrize("n_ports", [1, 2, 3])
def test_round_trip(tmp_path, version, fmt, n_ports):
    f, s = _random_s(n_ports, seed=n_ports)
    path = tmp_path / f"net.s{n_ports}p"
    write_touchstone(path, f, s, fmt=fmt, z0=75.0, version=version)
    text = path.read_text()
    assert ("[Version] 2.0" in text) == (version == 2)
    ff, out = read_touchstone(path)
    np.testing.assert_allclose(ff, f, rtol=1e-12)
    for name, v in s.items():  # S12 and S21 are not swapped in either version
        np.testing.assert_allclose(out[name], v, rtol=1e-9, atol=1e-12, err_msg=name)
    assert out["Z0"] == 75.0


def test_v2_written_by_hand(tmp_path):
    path = tmp_path / "dut.ts"  # v2 files need not carry the port count in the extension
    path.write_text("""! a v2 file with most keywords
[Version] 2.0
# MHz S MA R 50
[Number of Ports] 2
[Two-Port Data Order] 21_12
[Number of Frequencies] 2
[Reference]
50 75
[Begin Information]
anything here is ignored 1 2 3
[End Information]
[Network Data]
! rows may wrap
100 0.5 90 0.25
    -45 0.25 -45 0.1 180
200 0.4 0 0.2 0 0.2 0 0.05 0
[Noise Data]
100 1.0 0.5 10 0.3
[End]
""")
    f, s = read_touchstone(path)
    np.testing.assert_allclose(f, [100e6, 200e6])
    np.testing.assert_allclose(s["S11"], [0.5j, 0.4], atol=1e-15)
    # 21_12: the second pair is S21
    np.testing.assert_allclose(s["S21"], [0.25 * np.exp(-0.25j * np.pi), 0.2])
    np.testing.assert_allclose(s["S12"], [0.25 * np.exp(-0.25j * np.pi), 0.2])
    np.testing.assert_allclose(s["S22"], [-0.1, 0.05], atol=1e-15)
    np.testing.assert_array_equal(s["Z0"], [50.0, 75.0])


def test_v2_lower_matrix_is_symmetric(tmp_path):
    path = tmp_path / "sym.ts"
    # 3-port, lower triangle row by row: S11 | S21 S22 | S31 S32 S33 (RI pairs)
    path.write_text("[Version] 2.0\n# GHz S RI R 50\n[Number of Ports] 3\n"
                    "[Matrix Format] Lower\n[Network Data]\n"
                    "5 1 0  2 0 3 0  4 0 5 0 6 0\n[End]\n")
    f, s = read_touchstone(path)
    np.testing.assert_allclose(f, [5e9])
    expect = {"S11": 1, "S21": 2, "S12": 2, "S22": 3, "S31": 4, "S13": 4, "S32": 5, "S23": 5,
              "S33": 6}
    for name, v in expect.items():
        np.testing.assert_allclose(s[name], [v], err_msg=name)
    assert s["Z0"] == 50.0


def test_errors_name_the_problem(tmp_path):
    f, s = _random_s(2)
    p = tmp_path / "a.s2p"
    write_touchstone(p, f, s)
    with pytest.raises(ValueError, match="backend"):
        read_touchstone(p, backend="bogus")
    (tmp_path / "a.txt").write_text(p.read_text())
    with pytest.raises(ValueError, match="n_ports"):
        read_touchstone(tmp_path / "a.txt")  # v1 without a .sNp extension
    v2 = tmp_path / "b.ts"
    v2.write_text("[Version] 2.0\n# GHz S RI\n[Network Data]\n1 0 0\n")
    with pytest.raises(ValueError, match="Number of Ports"):
        read_touchstone(v2)
    v2.write_text("[Version] 2.0\n# GHz S RI\n[Number of Ports] 1\n[Number of Frequencies] 2\n"
                  "[Network Data]\n1 0 0\n")
    with pytest.raises(ValueError, match="Number of Frequencies"):
        read_touchstone(v2)
    v2.write_text("[Version] 2.0\n# GHz S RI\n[Number of Ports] 2\n[Network Data]\n"
                  "1 0 0 0 0 0 0 0 0\n")
    with pytest.raises(ValueError, match="Two-Port Data Order"):
        read_touchstone(v2)
    y = tmp_path / "y.s1p"
    y.write_text("# GHz Y RI R 50\n1 0.1 0.2\n")
    with pytest.raises(ValueError, match="only S parameters"):
        read_touchstone(y, backend="diffsc")
    with pytest.raises(ValueError, match="version"):
        write_touchstone(tmp_path / "c.s1p", f, s, version=3)


def test_skrf_backend_agrees(tmp_path):
    pytest.importorskip("skrf")
    f, s = _random_s(2, seed=5)
    for version in (1, 2):
        p = tmp_path / f"v{version}.s2p"
        write_touchstone(p, f, s, fmt="MA", version=version)
        f1, s1 = read_touchstone(p, backend="diffsc")
        f2, s2 = read_touchstone(p, backend="skrf")
        np.testing.assert_allclose(f2, f1, rtol=1e-12)
        for name in ("S11", "S21", "S12", "S22"):
            np.testing.assert_allclose(s2[name], s1[name], rtol=1e-9, err_msg=name)
        assert s2["Z0"] == s1["Z0"] == 50.0


def _fake_skrf(calls):
    """A stand-in for scikit-rf's ``Network`` (records the paths it is asked to read)."""
    import importlib.machinery
    import types

    class Network:
        def __init__(self, path):
            calls.append(path)
            self.f = np.array([1e9, 2e9])
            self.s = np.array([[[0.5 + 0.1j]], [[0.25 - 0.2j]]])
            self.z0 = np.full((2, 1), 50.0 + 0.0j)

    mod = types.ModuleType("skrf")
    mod.__spec__ = importlib.machinery.ModuleSpec("skrf", None)
    mod.Network = Network
    return mod


def test_auto_backend_falls_back_to_skrf_only_for_unsupported_files(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setitem(__import__("sys").modules, "skrf", _fake_skrf(calls))
    y = tmp_path / "y.s1p"  # Y parameters: our reader declines, scikit-rf is asked
    y.write_text("# GHz Y RI R 50\n1 0.1 0.2\n2 0.3 0.4\n")
    f, s = read_touchstone(y)
    assert calls == [str(y)]
    np.testing.assert_allclose(f, [1e9, 2e9])
    np.testing.assert_allclose(s["S11"], [0.5 + 0.1j, 0.25 - 0.2j])
    assert s["Z0"] == 50.0
    with pytest.raises(ValueError, match="only S parameters"):  # explicit backend: no fallback
        read_touchstone(y, backend="diffsc")
    ok = tmp_path / "ok.s1p"  # a file our reader handles never reaches scikit-rf
    write_touchstone(ok, f, {"S11": s["S11"]})
    read_touchstone(ok)
    assert calls == [str(y)]
    with pytest.raises(ValueError, match="n_ports"):
        read_touchstone(y, backend="skrf", n_ports=2)


def test_skrf_backend_missing_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "skrf", None)  # import skrf -> ImportError
    p = tmp_path / "a.s1p"
    p.write_text("# GHz S RI R 50\n1 0.1 0.2\n")
    with pytest.raises(ImportError, match="scikit-rf"):
        read_touchstone(p, backend="skrf")


def test_v1_two_port_noise_block_is_skipped(tmp_path):
    f, s = _random_s(2, n_freq=3, seed=9)
    p = tmp_path / "lna.s2p"
    write_touchstone(p, f, s, fmt="RI", version=1)
    # noise parameters: freq, NFmin (dB), |Gamma_opt|, angle, Rn/Z0; the frequency restarts
    p.write_text(p.read_text() + "! noise\n4.0 0.5 0.3 20 0.2\n5.0 0.6 0.3 25 0.2\n")
    ff, out = read_touchstone(p)
    np.testing.assert_allclose(ff, f, rtol=1e-12)
    np.testing.assert_allclose(out["S21"], s["S21"], rtol=1e-9)
