"""Physical constants (CODATA 2018) in SI units, with energies in eV.

All names are module-level floats so they fold into traced code as constants.
"""

import math

k_B = 8.617333262e-5
"""Boltzmann constant, eV/K."""
k_B_SI = 1.380649e-23
"""Boltzmann constant, J/K."""
h = 4.135667696e-15
"""Planck constant, eV s."""
hbar = 6.582119569e-16
"""Reduced Planck constant, eV s."""
e = 1.602176634e-19
"""Elementary charge, C (also J per eV)."""
h_SI = 6.62607015e-34
"""Planck constant, J s."""
hbar_SI = h_SI / (2.0 * math.pi)
"""Reduced Planck constant, J s."""
mu_0 = 1.25663706212e-6
"""Vacuum permeability, H/m."""
epsilon_0 = 8.8541878128e-12
"""Vacuum permittivity, F/m."""
m_e = 9.1093837015e-31
"""Electron mass, kg."""
resistance_quantum = h_SI / (2.0 * e**2)
"""h/(2e^2) = 12906.40373 Ohm, the resistance of one spin-degenerate channel."""
zeta3 = 1.2020569031595942
"""Riemann zeta(3)."""
euler_gamma = 0.5772156649015329
"""Euler–Mascheroni constant."""
bcs_gap_ratio = math.pi * math.exp(-euler_gamma)
"""Weak-coupling Delta(0)/(k_B Tc) = pi exp(-gamma_E) = 1.763877."""
eV = e
"""Joules per eV."""


def ghz_to_ev(freq_ghz: float) -> float:
    """Photon energy in eV of a frequency in GHz (h nu)."""
    return h * freq_ghz * 1e9


def dbm_to_watt(p_dbm):
    """Power in W from dBm (works on arrays): P = 1e-3 * 10^(dBm/10)."""
    return 1e-3 * 10.0 ** (p_dbm / 10.0)
