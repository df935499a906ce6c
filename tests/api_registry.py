"""Registry of diffsc's public functions and the kind of each physical argument.

Used by ``test_api_properties.py`` (hypothesis: valid input gives finite values and gradients;
every class of invalid input gives an error naming the argument) and by ``bad_input_matrix.py``
(the full eager / ``jit`` / ``jit(vmap)`` matrix with counts). Every public callable of
``diffsc.__all__`` must appear either in ``REGISTRY`` or in ``NOT_REGISTERED`` (with the reason), so
a new public function fails the test suite until its arguments are described here.

An argument is described by :class:`Real`: its unit, the rule the library enforces (``"real"``:
finite; ``"pos"``: > 0; ``"nonneg"``: >= 0; ``"range"``: inside ``bounds``) and a range of valid
values to sample (log-uniform when it spans decades of positive values).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

import diffsc

AL = diffsc.material("Al")
PB = diffsc.material("Pb")
CPW = diffsc.CPW(width=10e-6, gap=6e-6, thickness=50e-9, length=10e-3)


@dataclasses.dataclass(frozen=True)
class Real:
    """A real physical argument: its unit, the enforced rule and a valid sampling range."""

    unit: str
    lo: float
    hi: float
    rule: str = "pos"  # "real" | "pos" | "nonneg" | "range"
    bounds: tuple = (None, None)  # "range": allowed closed interval (None = unbounded)
    include: tuple = ()  # valid edge values sampled on purpose (e.g. T = 0)
    open_low: bool = False  # "range": the lower bound itself is invalid
    allow_inf: bool = False  # +inf is a meaningful value (e.g. an infinite Debye ratio)

    def invalid_values(self) -> list[tuple[str, float]]:
        """Values that break the rule: (label, value)."""
        out = []
        if self.rule == "pos":
            out += [("zero", 0.0), ("negative", -abs(self.hi))]
        elif self.rule == "nonneg":
            out += [("negative", -abs(self.hi) if self.hi else -1.0)]
        elif self.rule == "range":
            a, b = self.bounds
            span = (b - a) if a is not None and b is not None else max(abs(self.hi), 1.0)
            if a is not None:
                out += [("below", a if self.open_low else a - 0.5 * span - 1e-3 * abs(a))]
            if b is not None:
                out += [("above", b + 0.5 * span + 1e-3 * abs(b))]
        return out

    def sample_grid(self, n: int = 5) -> np.ndarray:
        """``n`` valid values spread over the range (deterministic), plus the included edges."""
        if self.lo > 0 and self.hi / self.lo > 100:
            v = np.geomspace(self.lo, self.hi, n)
        else:
            v = np.linspace(self.lo, self.hi, n)
        return np.concatenate([np.asarray(self.include, float), v])

    @property
    def typical(self) -> float:
        if self.lo > 0 and self.hi / self.lo > 100:
            return float(math.sqrt(self.lo * self.hi))
        return 0.5 * (self.lo + self.hi)


def P(unit, lo, hi, rule="pos", **kw):
    return Real(unit, lo, hi, rule, **kw)


def N(unit, lo, hi, **kw):
    return Real(unit, lo, hi, "nonneg", include=(0.0,), **kw)


def R(unit, lo, hi, **kw):
    return Real(unit, lo, hi, "real", **kw)


def B(unit, lo, hi, a, b, **kw):
    return Real(unit, lo, hi, "range", bounds=(a, b), **kw)


@dataclasses.dataclass
class Entry:
    """How to call one public function: real arguments, fixed (non-real) ones, options."""

    name: str
    args: dict[str, Real]
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)
    broadcast: tuple[str, ...] = ()  # arguments that broadcast against each other
    grad: bool = True  # differentiable in every real argument
    heavy: bool = False  # seconds per call: only eager checks in the test suite
    shape: tuple[int, ...] = ()  # shape of every real argument in a valid call
    fixed_shapes: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)
    no_vmap: bool = False  # the function takes a static argument that cannot be batched
    typical: dict[str, Any] = dataclasses.field(default_factory=dict)  # explicit valid arrays

    def fn(self) -> Callable:
        return getattr(diffsc, self.name)

    def default(self, name: str):
        """The default of argument ``name`` in the signature (``inspect.Parameter.empty`` if none)."""
        return inspect.signature(self.fn()).parameters[name].default

    def call(self, values: dict[str, Any]):
        """Call with the real arguments in ``values`` (by keyword) and the fixed ones."""
        fixed = {k: (v() if k in _FACTORIES else v) for k, v in self.fixed.items()}
        return self.fn()(**values, **fixed)

    def typical_values(self) -> dict[str, np.ndarray]:
        out = {}
        for k, a in self.args.items():
            if k in self.typical:
                out[k] = np.asarray(self.typical[k], float)
                continue
            shape = self.fixed_shapes.get(k, self.shape)
            out[k] = np.full(shape, a.typical) if shape else a.typical
        return out


_FACTORIES = {"sites", "response"}  # fixed arguments given as zero-argument factories


def _sites():
    return diffsc.phase_slip_sites(
        0.2, radius=5e-9, theta=0.6, penetration_depth=120e-9, Hc=0.05,
        charge_imbalance_length=228e-9, resistivity=5e-8, critical_current_density=1e11,
    )


def _leaves(out) -> list[jax.Array]:
    """The floating and complex leaves of any result (arrays, tuples, Modules)."""
    leaves = jax.tree.leaves(out)
    return [np.asarray(x) for x in leaves
            if hasattr(x, "dtype") and np.issubdtype(np.asarray(x).dtype, np.inexact)]


def all_finite(out) -> bool:
    return all(np.all(np.isfinite(x)) for x in _leaves(out))


def scalar_output(out):
    """A real scalar built from every inexact leaf (for gradients)."""
    import jax.numpy as jnp

    total = 0.0
    for x in jax.tree.leaves(out):
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.inexact):
            total = total + jnp.sum(jnp.real(x)) + jnp.sum(jnp.imag(x))
    return total


F = ("freq",)
REGISTRY: list[Entry] = [
    # --- BCS ---
    Entry("gap", {"T": N("K", 0.01, 1.5)}, {"material": AL}),
    Entry("reduced_gap", {"reduced_temperature": N("", 0.01, 1.0),
                          "debye_ratio": P("", 10.0, 1e3, allow_inf=True)},
          broadcast=("reduced_temperature", "debye_ratio")),
    Entry("fermi", {"E": R("eV", -1e-3, 1e-3), "T": N("K", 0.01, 2.0)}, broadcast=("E", "T")),
    Entry("bose", {"Omega": N("eV", 1e-6, 1e-3), "T": N("K", 0.01, 2.0)}, broadcast=("Omega", "T"),
          grad=False),  # d/dOmega diverges at Omega -> 0+ (physical)
    Entry("quasiparticle_dos", {"E": R("eV", -1e-3, 1e-3), "gap": P("eV", 1e-5, 1e-3),
                                "dynes": P("eV", 1e-7, 1e-5, rule="nonneg")},
          broadcast=("E", "gap", "dynes")),
    Entry("dos", {"E": R("eV", -1e-3, 1e-3), "gap": P("eV", 1e-5, 1e-3),
                  "dynes": P("eV", 1e-7, 1e-5, rule="nonneg")}, broadcast=("E", "gap", "dynes")),
    Entry("thermal_nqp", {"T": N("K", 0.05, 1.0), "gap": P("eV", 1e-5, 1e-3),
                          "N0": P("1/(eV m^3)", 1e27, 1e29)}, broadcast=("T", "gap", "N0")),
    Entry("electronic_heat_capacity", {"T": P("K", 0.05, 2.0)}, {"material": AL}),
    # --- Mattis-Bardeen and films ---
    Entry("mattis_bardeen", {"freq": P("Hz", 1e8, 2e11), "T": N("K", 0.01, 2.0),
                             "gap": N("eV", 1e-5, 1e-3)}, broadcast=("freq", "T", "gap")),
    Entry("mattis_bardeen_dynes", {"freq": P("Hz", 1e8, 2e11), "T": N("K", 0.01, 2.0),
                                   "gap": N("eV", 1e-5, 1e-3),
                                   "dynes": P("eV", 1e-7, 1e-5, rule="nonneg")},
          broadcast=("freq", "T", "gap", "dynes")),
    Entry("mattis_bardeen_zero_temperature", {"freq": P("Hz", 1e8, 2e11),
                                              "gap": P("eV", 1e-5, 1e-3)},
          broadcast=("freq", "gap")),
    Entry("mattis_bardeen_low_temperature", {"freq": P("Hz", 1e8, 1e10), "T": N("K", 0.01, 0.3),
                                             "gap": P("eV", 1.5e-4, 1e-3)},
          broadcast=("freq", "T", "gap")),
    Entry("mattis_bardeen_nonequilibrium", {"freq": P("Hz", 1e9, 1e10), "gap": P("eV", 1.7e-4, 1.9e-4),
                                            "energies": P("eV", 2e-4, 6e-4),
                                            "f": B("", 1e-6, 1e-3, 0.0, 1.0, open_low=True)},
          shape=(), fixed_shapes={"energies": (8,), "f": (8,)}, grad=False,
          typical={"energies": np.linspace(2e-4, 6e-4, 8), "f": np.geomspace(1e-3, 1e-6, 8)}),
    Entry("kinetic_inductance", {"freq": P("Hz", 1e9, 1e10), "sigma2": P("", 1.0, 1e3),
                                 "sheet_resistance": P("Ohm", 0.1, 100.0)},
          broadcast=("freq", "sigma2", "sheet_resistance")),
    Entry("kinetic_inductance_bcs", {"T": N("K", 0.01, 1.0), "gap": P("eV", 1e-4, 1e-3),
                                     "sheet_resistance": P("Ohm", 0.1, 100.0)},
          broadcast=("T", "gap", "sheet_resistance")),
    Entry("penetration_depth", {"freq": P("Hz", 1e9, 1e10), "sigma2": P("", 1.0, 1e3),
                                "resistivity": P("Ohm m", 1e-9, 1e-6)},
          broadcast=("freq", "sigma2", "resistivity")),
    Entry("penetration_depth_bcs", {"T": N("K", 0.01, 1.0), "gap": P("eV", 1e-4, 1e-3),
                                    "resistivity": P("Ohm m", 1e-9, 1e-6)},
          broadcast=("T", "gap", "resistivity")),
    Entry("surface_impedance", {"freq": P("Hz", 1e9, 1e10), "sigma1": N("", 1e-6, 1.0),
                                "sigma2": P("", 1.0, 1e3, rule="nonneg"),
                                "thickness": P("m", 1e-8, 1e-6), "resistivity": P("Ohm m", 1e-9, 1e-6)},
          broadcast=("freq", "sigma1", "sigma2", "thickness", "resistivity")),
    # --- resonators ---
    Entry("loaded_q", {"Qi": P("", 1e3, 1e7), "Qc": P("", 1e3, 1e7)}, broadcast=("Qi", "Qc")),
    Entry("s21_ideal", {"freq": P("Hz", 4.99e9, 5.01e9), "f_res": P("Hz", 4.995e9, 5.005e9),
                        "Qi": P("", 1e3, 1e7), "Qc": P("", 1e3, 1e7)},
          broadcast=("freq", "f_res", "Qi", "Qc")),
    Entry("s21_notch", {"freq": P("Hz", 4.99e9, 5.01e9), "f_res": P("Hz", 4.995e9, 5.005e9),
                        "Qi": P("", 1e3, 1e7), "Qc": P("", 1e3, 1e7), "phi": B("rad", -1.0, 1.0, -math.pi / 2, math.pi / 2),
                        "a": P("", 0.1, 10.0), "alpha": R("rad", -3.0, 3.0), "delay": R("s", -1e-7, 1e-7)},
          broadcast=("freq", "f_res", "Qi", "Qc", "phi", "a", "alpha", "delay")),
    Entry("s11_reflection", {"freq": P("Hz", 4.99e9, 5.01e9), "f_res": P("Hz", 4.995e9, 5.005e9),
                             "Qi": P("", 1e3, 1e7), "Qc": P("", 1e3, 1e7),
                             "phi": B("rad", -1.0, 1.0, -math.pi / 2, math.pi / 2),
                             "a": P("", 0.1, 10.0), "alpha": R("rad", -3.0, 3.0), "delay": R("s", -1e-7, 1e-7)},
          broadcast=("freq", "f_res", "Qi", "Qc", "phi", "a", "alpha", "delay")),
    Entry("coupling_q", {"freq": P("Hz", 1e9, 1e10), "Cg": P("F", 1e-15, 1e-13), "Z0": P("Ohm", 10.0, 100.0)},
          broadcast=("freq", "Cg", "Z0")),
    Entry("coupling_capacitance", {"freq": P("Hz", 1e9, 1e10), "Qc": P("", 1e3, 1e6), "Z0": P("Ohm", 10.0, 100.0)},
          broadcast=("freq", "Qc", "Z0")),
    Entry("coupled_resonance_frequency", {"f_half": P("Hz", 1e9, 1e10), "Cg": P("F", 1e-15, 1e-14),
                                          "Z0": P("Ohm", 10.0, 100.0)},
          broadcast=("f_half", "Cg", "Z0")),
    Entry("absorbed_power", {"P_read": N("W", 1e-15, 1e-6), "Qi": P("", 1e3, 1e7), "Qc": P("", 1e3, 1e7),
                             "freq": P("Hz", 4.99e9, 5.01e9), "f_res": P("Hz", 4.995e9, 5.005e9),
                             "Qi_qp": P("", 1e3, 1e8)},
          broadcast=("P_read", "Qi", "Qc", "freq", "f_res", "Qi_qp")),
    Entry("stored_energy", {"P_read": N("W", 1e-15, 1e-6), "Qi": P("", 1e3, 1e7), "Qc": P("", 1e3, 1e7),
                            "f_res": P("Hz", 4.995e9, 5.005e9), "freq": P("Hz", 4.99e9, 5.01e9)},
          broadcast=("P_read", "Qi", "Qc", "f_res", "freq")),
    Entry("photon_number", {"P_read": N("W", 1e-15, 1e-6), "Qi": P("", 1e3, 1e7), "Qc": P("", 1e3, 1e7),
                            "f_res": P("Hz", 4.995e9, 5.005e9), "freq": P("Hz", 4.99e9, 5.01e9)},
          broadcast=("P_read", "Qi", "Qc", "f_res", "freq")),
    Entry("effective_coupling_q", {"Qc": P("", 1e3, 1e7), "phi": B("rad", -1.0, 1.0, -math.pi / 2, math.pi / 2, open_low=True)},
          broadcast=("Qc", "phi")),
    Entry("tls_loss", {"freq": P("Hz", 1e9, 1e10), "T": N("K", 0.01, 1.0), "photon_number": N("", 1.0, 1e6),
                       "F_delta0": N("", 1e-7, 1e-4), "n_c": P("", 1.0, 1e3), "beta": N("", 0.1, 1.0)},
          broadcast=("freq", "T", "photon_number", "F_delta0", "n_c", "beta")),
    Entry("tls_frequency_shift", {"freq": P("Hz", 1e9, 1e10), "T": N("K", 0.01, 1.0),
                                  "F_delta0": N("", 1e-7, 1e-4)},
          broadcast=("freq", "T", "F_delta0")),
    Entry("resonance_vs_temperature", {"T": P("K", 0.05, 0.5), "f0": P("Hz", 1e9, 1e10),
                                       "alpha_k": B("", 0.01, 0.5, 0.0, 1.0),
                                       "gap0": P("eV", 1.5e-4, 2e-4), "Qi0": P("", 1e5, 1e7, allow_inf=True),
                                       "F_delta0": N("", 1e-7, 1e-5), "photon_number": N("", 1.0, 1e4),
                                       "n_c": P("", 1.0, 1e3), "beta": N("", 0.1, 1.0)},
          broadcast=("T", "f0", "alpha_k", "gap0", "Qi0", "F_delta0", "photon_number", "n_c", "beta")),
    Entry("resonator_response", {"freq": P("Hz", 1e9, 1e10)},
          {"Zs": 1e-4 + 1e-3j, "geometry": CPW}),
    Entry("resonator_from_conductivity", {"sigma1": P("", 1e-6, 1e-2, rule="nonneg"),  # 0: lossless, Qi = inf
                                          "sigma2": P("", 10.0, 1e3),
                                          "freq": P("Hz", 1e9, 1e10), "resistivity": P("Ohm m", 1e-9, 1e-7)},
          {"geometry": CPW}, broadcast=("sigma1", "sigma2", "freq", "resistivity")),
    Entry("linearised_response", {"sigma1": N("", 1e-6, 1e-2), "sigma2": P("", 10.0, 1e3),
                                  "dsigma1": R("", -1e-3, 1e-3), "dsigma2": R("", -1e-1, 1e-1),
                                  "alpha_k": B("", 0.01, 0.9, 0.0, 1.0), "gamma": B("", -1.0, -0.34, -1.0, 0.0)},
          broadcast=("sigma1", "sigma2", "dsigma1", "dsigma2", "alpha_k", "gamma")),
    # --- electrothermal ---
    Entry("electrothermal_impedance", {"freq": N("Hz", 1.0, 1e6), "R": P("Ohm", 0.1, 100.0), "T": P("K", 1.0, 10.0),
                                       "I": R("A", -1e-4, 1e-4), "alpha": R("", -10.0, 50.0),
                                       "beta": R("", -1.0, 1.0), "C": P("J/K", 1e-12, 1e-9),
                                       "G": P("W/K", 1e-6, 1e-3), "L": N("H", 1e-9, 1e-6),
                                       "R_wiring": N("Ohm", 0.1, 10.0)},
          broadcast=("freq", "R", "T", "I", "alpha", "beta", "C", "G", "L", "R_wiring")),
    Entry("loop_gain", {"R": P("Ohm", 0.1, 100.0), "T": P("K", 1.0, 10.0), "I": R("A", -1e-4, 1e-4),
                        "alpha": R("", -10.0, 50.0), "G": P("W/K", 1e-6, 1e-3)},
          broadcast=("R", "T", "I", "alpha", "G")),
    Entry("thermal_time_constants", {"R": P("Ohm", 0.1, 100.0), "T": P("K", 1.0, 10.0), "I": R("A", -1e-5, 1e-5),
                                     "alpha": R("", -10.0, 50.0), "C": P("J/K", 1e-12, 1e-9),
                                     "G": P("W/K", 1e-5, 1e-3)},
          broadcast=("R", "T", "I", "alpha", "C", "G")),
    Entry("reactance_extremum", {"R": P("Ohm", 0.1, 100.0), "T": P("K", 1.0, 10.0), "I": R("A", 1e-7, 1e-5),
                                 "alpha": P("", 1.0, 50.0, rule="real"), "beta": R("", -1.0, 1.0),
                                 "C": P("J/K", 1e-12, 1e-9), "G": P("W/K", 1e-5, 1e-3)},
          broadcast=("R", "T", "I", "alpha", "beta", "C", "G")),
    Entry("sample_heat_capacity", {"T": P("K", 5.0, 8.0), "volume": P("m^3", 1e-15, 1e-12),
                                   "Tc_spread": N("K", 0.01, 0.2)},
          {"material": diffsc.material("NbSe2").replace(N0=1.0e28)}, broadcast=("T",)),
    Entry("gaussian_transition", {"R_n": P("Ohm", 0.1, 100.0), "Tc": P("K", 1.0, 10.0),
                                  "fwhm": P("K", 0.01, 1.0)}, grad=False),
    # --- constrictions ---
    Entry("sharvin_resistance", {"area": P("m^2", 1e-18, 1e-14), "fermi_wavelength": P("m", 1e-10, 1e-9)},
          broadcast=("area", "fermi_wavelength")),
    Entry("sharvin_area", {"resistance": P("Ohm", 0.1, 1e3), "fermi_wavelength": P("m", 1e-10, 1e-9)},
          broadcast=("resistance", "fermi_wavelength")),
    Entry("contact_radius", {"resistance": P("Ohm", 0.1, 1e3), "fermi_wavelength": P("m", 1e-10, 1e-9),
                             "mean_free_path": P("m", 1e-9, 1e-7), "resistivity": P("Ohm m", 1e-9, 1e-7)},
          broadcast=("resistance", "fermi_wavelength", "mean_free_path", "resistivity")),
    Entry("wexler_resistance", {"radius": P("m", 1e-9, 1e-6), "fermi_wavelength": P("m", 1e-10, 1e-9),
                                "mean_free_path": P("m", 1e-9, 1e-7), "resistivity": P("Ohm m", 1e-9, 1e-7)},
          broadcast=("radius", "fermi_wavelength", "mean_free_path", "resistivity")),
    Entry("wexler_gamma", {"knudsen": N("", 1e-3, 1e3)}),
    Entry("free_electron_resistivity", {"mean_free_path": P("m", 1e-9, 1e-6), "fermi_wavelength": P("m", 1e-10, 1e-9)},
          broadcast=("mean_free_path", "fermi_wavelength")),
    Entry("slab_neck_radius", {"z": N("m", 1e-10, 1e-8), "radius0": P("m", 1e-8, 1e-7), "slab_height": P("m", 1e-10, 1e-9),
                               "yield_strain": P("", 0.1, 1.0), "jump": B("", 0.5, 1.0, 0.0, 1.0, open_low=True)},
          broadcast=("z",), grad=False),
    Entry("cone_radius", {"x": R("m", -1e-7, 1e-7), "radius": P("m", 1e-9, 1e-7),
                          "theta": B("rad", 0.1, 1.4, 0.0, math.pi / 2, open_low=True)},
          broadcast=("x", "radius", "theta"), grad=False),  # |x| kinks at x = 0
    Entry("cone_resistance", {"x1": N("m", 1e-9, 1e-8), "x2": P("m", 2e-8, 1e-7), "radius": P("m", 1e-9, 1e-7),
                              "theta": B("rad", 0.1, 1.4, 0.0, math.pi / 2, open_low=True),
                              "resistivity": P("Ohm m", 1e-9, 1e-7)},
          broadcast=("x1", "x2", "radius", "theta", "resistivity")),
    Entry("opening_angle", {"x": R("m", 1e-9, 1e-7), "r": P("m", 1e-9, 1e-7)},
          shape=(), fixed_shapes={"x": (5,), "r": (5,)}, grad=False,
          # a slope needs distinct |x|: a cone profile r = a + |x| tan(0.6)
          typical={"x": np.linspace(-5e-8, 5e-8, 5), "r": 3e-9 + np.abs(np.linspace(-5e-8, 5e-8, 5)) * 0.684}),
    Entry("penetration_depth_two_fluid", {"T": B("K", 0.5, 7.0, 0.0, PB.Tc, include=(0.0,)),
                                          "mean_free_path": P("m", 1e-9, 1e-6)},
          {"material": PB}),
    Entry("thermodynamic_critical_field", {"T": N("K", 0.5, 7.0)}, {"material": PB}),
    Entry("disk_critical_field", {"radius": P("m", 1e-9, 1e-7), "penetration_depth": P("m", 3e-8, 3e-7),
                                  "Hc": P("T", 0.01, 0.1), "prefactor": P("", 1.0, 4.0)},
          broadcast=("radius", "penetration_depth", "Hc", "prefactor")),
    Entry("superconducting_length", {"H": P("T", 0.1, 0.3), "radius": N("m", 1e-9, 1e-8),
                                     "theta": B("rad", 0.3, 1.2, 0.0, math.pi / 2, open_low=True),
                                     "penetration_depth": P("m", 3e-8, 3e-7), "Hc": P("T", 0.01, 0.1),
                                     "prefactor": P("", 1.0, 4.0)},
          broadcast=("H", "radius", "theta", "penetration_depth", "Hc", "prefactor"), grad=False),
    Entry("effective_relaxation_time", {"tau_E": P("s", 1e-12, 1e-9), "tau_pb": P("s", 1e-12, 1e-9)},
          broadcast=("tau_E", "tau_pb")),
    Entry("charge_imbalance_length", {"T": P("K", 1.0, 7.0), "gap": P("eV", 1e-4, 1.4e-3), "tau_E": P("s", 1e-12, 1e-9),
                                      "fermi_velocity": P("m/s", 1e5, 2e6), "mean_free_path": P("m", 1e-9, 1e-6),
                                      "tau_pb": P("s", 1e-12, 1e-9)},
          broadcast=("T", "gap", "tau_E", "fermi_velocity", "mean_free_path", "tau_pb")),
    Entry("pair_breaking_time", {"H": P("T", 0.01, 0.3), "H_ref": P("T", 0.01, 0.3), "strength_ref": P("eV", 1e-5, 1e-3)},
          broadcast=("H", "H_ref", "strength_ref")),
    Entry("phase_slip_barrier", {"cross_section": P("m^2", 1e-18, 1e-14), "coherence_length": P("m", 1e-8, 1e-6),
                                 "Hc": P("T", 0.01, 0.1)},
          broadcast=("cross_section", "coherence_length", "Hc")),
    # ranges (and one centre per side) where every candidate centre lies inside L_S: an inactive
    # centre has critical_current = +inf by design, which the finite-output property test rejects
    Entry("phase_slip_sites", {"H": P("T", 0.1, 0.15), "radius": P("m", 1e-9, 3e-9),
                               "theta": B("rad", 0.3, 0.6, 0.0, math.pi / 2, open_low=True),
                               "penetration_depth": P("m", 1e-7, 2e-7), "Hc": P("T", 0.04, 0.06),
                               "charge_imbalance_length": P("m", 1e-8, 5e-8), "resistivity": P("Ohm m", 1e-9, 1e-7),
                               "critical_current_density": P("A/m^2", 1e10, 1e12), "prefactor": P("", 3.0, 4.0),
                               "exclude_radius": N("m", 1e-10, 5e-10)}, {"n_sites": 1}, grad=False),
    Entry("phase_slip_voltage", {"I": R("A", -1e-4, 1e-4), "width": P("A", 1e-7, 1e-6, rule="nonneg")},
          {"sites": _sites}, grad=False, broadcast=("I",)),
    Entry("self_heating_temperature", {"V": R("V", -1e-3, 1e-3), "T_bath": N("K", 0.1, 4.0), "heating": N("", 0.1, 1.0)},
          broadcast=("V", "T_bath", "heating"), grad=False),  # sqrt kink at V = T_bath = 0
    Entry("normal_resistance", {"transmission": B("", 0.1, 1.0, 0.0, 1.0, open_low=True)}),
    Entry("mar_excess_current", {"transmission": B("", 0.1, 0.99, 0.0, 1.0, open_low=True),
                                 "gap": P("eV", 1e-4, 1.4e-3, rule="nonneg")}),  # gap 0: no excess current
    Entry("mar_current", {"V": R("V", 1e-5, 3e-3), "transmission": B("", 0.1, 0.9, 0.0, 1.0, open_low=True),
                          "gap": P("eV", 1e-3, 1.4e-3, rule="nonneg"), "T": N("K", 0.1, 4.0)},
          heavy=True),
    Entry("mar_differential_conductance", {"V": R("V", 1e-5, 3e-3), "transmission": B("", 0.1, 0.9, 0.0, 1.0, open_low=True),
                                           "gap": P("eV", 1e-3, 1.4e-3, rule="nonneg"), "T": N("K", 0.1, 4.0)},
          heavy=True),
    Entry("mar_current_heated", {"V": R("V", 1e-5, 3e-3), "transmission": B("", 0.1, 0.9, 0.0, 1.0, open_low=True),
                                 "T_bath": N("K", 0.1, 4.0), "heating": N("", 0.1, 1.0)},
          {"material": PB}, heavy=True),
    # --- kinetic ---
    Entry("kinetic_steady_state", {"T_bath": P("K", 0.1, 0.3), "freq": P("Hz", 4e9, 6e9),
                                   "absorbed_power_density": N("W/m^3", 1e-3, 10.0), "tau_esc": P("s", 1e-10, 1e-9)},
          {"material": AL, "n_bins": 120}, heavy=True),
]

NOT_REGISTERED = {
    # fits take measured data and user callables; their inputs are checked in their own tests
    "fit_s21": "data fit: tests/test_resonator_fit*.py check bad data and options",
    "fit_temperature_sweep": "data fit: tests/test_temperature_fit.py",
    "fit_power_sweep": "data fit with a response model: tests/test_resonator_power_loop.py",
    "fit_mar": "data fit: tests/test_mar.py",
    "fit_impedance_spectrum": "data fit: tests/test_electrothermal_inverse.py",
    "recover_heat_capacity": "inverse problem on data: tests/test_electrothermal_inverse.py",
    "least_squares": "generic optimiser over a user callable: tests/test_fit.py",
    "minimize": "generic optimiser over a user callable: tests/test_fit.py",
    "multistart": "generic optimiser over a user callable: tests/test_fit.py",
    "fit_batch": "generic optimiser over a user callable: tests/test_fit.py",
    # files, stores, caches, lookups: no physical arguments
    "read_sweep": "file reader: tests/test_sweep_io.py",
    "read_sweeps": "file reader: tests/test_sweep_io.py",
    "read_touchstone": "file reader: tests/test_touchstone.py",
    "write_touchstone": "file writer: tests/test_touchstone.py",
    "scan": "parameter scan over a user callable: tests/test_scan.py",
    "open_scan": "store reader: tests/test_scan.py",
    "enable_compilation_cache": "cache switch: tests/test_cli_fit.py",
    "material": "lookup by name: tests/test_package.py",
    "material_names": "no arguments",
    # expensive time-domain and kinetic entry points: their own tests cover input checks
    "kinetic_relaxation": "kinetic time evolution (tens of s per call): tests/test_kinetic_relaxation.py",
    "kinetic_decay_time": "kinetic time evolution: tests/test_kinetic_relaxation.py",
    "power_loop": "needs a response model and geometry: tests/test_resonator_power_loop.py",
    "simulate_lock_in": "time-domain ODE with a user resistance model: tests/test_electrothermal.py",
    "thermal_switching_currents": "random sampling with a PRNG key: tests/test_constriction.py",
    "neck_iv": "combines contact arrays with sites: tests/test_constriction.py",
    "slab_neck_profile": "n_slabs is a static integer: tests/test_constriction.py",
    "calibrate_geometry": "geometry calibration on complex Zs: tests/test_resonator.py",
}
