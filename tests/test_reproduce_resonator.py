"""The resonator figure set's handling of its sweep: failed points kept out of the curves, the
crossover read from converged rows only (the sweep itself is replaced by a stand-in; the kinetic
sweep takes minutes and runs in `make demo`)."""

import types

import numpy as np

from diffsc.reproduce import _style, fig_resonator


def _fake_sweep(temperatures, powers, *, kinetic=True, n_bins=100, **kwargs):
    T = np.asarray(temperatures, float)[:, None] * np.ones(len(powers))
    j = np.arange(len(powers))[None, :]
    base = 1e3 * np.exp((0.36 - T) / 0.02)  # Qi falls steeply with temperature
    # kinetic: power lowers Qi below 0.2 K and raises it above; heating: always lowers it
    slope = np.where(T > 0.2, 0.2, -0.2) if kinetic else -0.2
    qi = base * (1.0 + slope * j)
    f_res = 5.57e9 * (1.0 - 1e-3 * (T / 0.36) ** 4 + 1e-6 * j * np.where(T > 0.25, 1, -1))
    ok = np.ones(T.shape, bool)
    if kinetic:  # one failed point with a meaningless value, as the kinetic loop can return
        ok[1, 0] = False
        qi[1, 0], f_res[1, 0] = 1e45, 1e12
    return types.SimpleNamespace(Qi=qi, f_res=f_res, P_abs_density=1e2 * (1.0 + T + j),
                                 success=ok)


def test_failed_points_are_left_out_and_the_crossover_uses_converged_rows(tmp_path, monkeypatch):
    figs = {}
    real_save = _style.save

    def save(fig, out_dir, filename):
        figs[filename] = [(a.get_ylim(), [ln.get_ydata() for ln in a.get_lines()])
                          for a in fig.axes]
        return real_save(fig, out_dir, filename)

    monkeypatch.setattr(fig_resonator, "power_sweep", _fake_sweep)
    monkeypatch.setattr(_style, "save", save)
    md = fig_resonator.run(tmp_path, quick=False, kinetic=True)
    temps = np.linspace(0.08, 0.36, 11)
    first_above = temps[temps > 0.2][0]
    assert f"raises Qi from {first_above * 1e3:.0f} mK upward" in md
    first_above_f = temps[temps > 0.25][0]
    assert f"f_res from {first_above_f * 1e3:.0f} mK upward" in md
    assert "1 of 33" in md
    assert "1e+45" not in md and "falls at 80 mK" in md  # the summary skips the failed row
    (ylim_qi, lines_qi), (ylim_df, lines_df), _ = figs["resonator_fig1bc.png"]
    assert ylim_qi[1] < 1e12 and ylim_df[0] > -2e3  # the failed point does not set the ranges
    assert np.isnan(lines_qi[0][1])  # -100 dBm curve has a gap at 108 mK
    assert (tmp_path / "resonator_fig1bc.png").is_file()
