"""diffsc: differentiable, GPU-ready physics of nonequilibrium superconductivity in JAX.

Importing diffsc enables JAX float64 (opt out with ``DIFFSC_DISABLE_X64=1``). All public names are
re-exported here; units are SI with energies in eV.
"""

from . import _config as _config  # noqa: F401  (enables float64 first)

# --- constants and materials ---
from . import _constants as constants
from ._material import Material as Material
from ._material import material as material
from ._material import material_names as material_names

# --- BCS equilibrium (_bcs.py) ---
from ._bcs import bose as bose
from ._bcs import dos as dos
from ._bcs import electronic_heat_capacity as electronic_heat_capacity
from ._bcs import fermi as fermi
from ._bcs import gap as gap
from ._bcs import quasiparticle_dos as quasiparticle_dos
from ._bcs import reduced_gap as reduced_gap
from ._bcs import thermal_nqp as thermal_nqp
# [bcs-exports]

# --- Mattis–Bardeen and thin films (_mattis_bardeen.py, _film.py) ---
from ._film import kinetic_inductance as kinetic_inductance
from ._film import kinetic_inductance_bcs as kinetic_inductance_bcs
from ._film import penetration_depth as penetration_depth
from ._film import penetration_depth_bcs as penetration_depth_bcs
from ._film import surface_impedance as surface_impedance
from ._mattis_bardeen import mattis_bardeen as mattis_bardeen
from ._mattis_bardeen import mattis_bardeen_low_temperature as mattis_bardeen_low_temperature
from ._mattis_bardeen import mattis_bardeen_nonequilibrium as mattis_bardeen_nonequilibrium
from ._mattis_bardeen import mattis_bardeen_zero_temperature as mattis_bardeen_zero_temperature
# [mattis-bardeen-exports]

# --- common fitting API (_fit.py) ---
from ._fit import FitResult as FitResult
from ._fit import least_squares as least_squares
from ._fit import fit_batch as fit_batch
from ._fit import multistart as multistart
from ._fit import minimize as minimize
# [fit-exports]

# --- kinetic equations (_kinetic/) ---
from ._kinetic import RESULTS as KINETIC_RESULTS
from ._kinetic import KineticSolution as KineticSolution
from ._kinetic import kinetic_steady_state as kinetic_steady_state
# [kinetic-exports]

# --- resonator (_resonator*.py) ---
from ._resonator import loaded_q as loaded_q
from ._resonator import s21_ideal as s21_ideal
from ._resonator import s21_notch as s21_notch
from ._resonator import coupling_q as coupling_q
from ._resonator import coupling_capacitance as coupling_capacitance
from ._resonator import coupled_resonance_frequency as coupled_resonance_frequency
from ._resonator import absorbed_power as absorbed_power
from ._resonator import stored_energy as stored_energy
from ._resonator import photon_number as photon_number
from ._resonator import effective_coupling_q as effective_coupling_q
from ._resonator_geometry import CPW as CPW
from ._resonator_geometry import Microstrip as Microstrip
from ._resonator_geometry import LineResponse as LineResponse
from ._resonator_geometry import resonator_response as resonator_response
from ._resonator_geometry import resonator_from_conductivity as resonator_from_conductivity
from ._resonator_geometry import calibrate_geometry as calibrate_geometry
from ._resonator_geometry import linearised_response as linearised_response
from ._resonator_fit import S21Fit as S21Fit
from ._resonator_fit import fit_s21 as fit_s21
from ._touchstone import read_touchstone as read_touchstone
from ._touchstone import write_touchstone as write_touchstone
from ._power_loop import power_loop as power_loop
from ._power_loop import fit_power_sweep as fit_power_sweep
from ._power_loop import PowerLoopSolution as PowerLoopSolution
from ._power_loop import KineticResponse as KineticResponse
from ._power_loop import HeatingResponse as HeatingResponse
# [resonator-exports]

# --- electrothermal (_electrothermal*.py) ---
from ._electrothermal import electrothermal_impedance as electrothermal_impedance
from ._electrothermal import loop_gain as loop_gain
from ._electrothermal import reactance_extremum as reactance_extremum
from ._electrothermal import thermal_time_constants as thermal_time_constants
from ._electrothermal_inverse import HeatCapacityRecovery as HeatCapacityRecovery
from ._electrothermal_inverse import fit_impedance_spectrum as fit_impedance_spectrum
from ._electrothermal_inverse import recover_heat_capacity as recover_heat_capacity
from ._electrothermal_inverse import sample_heat_capacity as sample_heat_capacity
from ._electrothermal_timedomain import LockInResult as LockInResult
from ._electrothermal_timedomain import simulate_lock_in as simulate_lock_in
from ._electrothermal_transition import TabulatedTransition as TabulatedTransition
from ._electrothermal_transition import TransitionModel as TransitionModel
from ._electrothermal_transition import gaussian_transition as gaussian_transition
# [electrothermal-exports]

# --- constrictions (_constriction*.py, _mar.py) ---
# [constriction-exports]

# --- scans (_scan.py) ---
from ._scan import open_scan as open_scan
from ._scan import scan as scan
# [scan-exports]

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
