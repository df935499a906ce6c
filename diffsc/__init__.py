"""diffsc: differentiable, GPU-ready physics of nonequilibrium superconductivity in JAX.

Importing diffsc enables JAX float64 (opt out with ``DIFFSC_DISABLE_X64=1``). All public names are
re-exported here; units are SI with energies in eV.
"""

from ._core import _config as _config  # noqa: F401  (enables float64 first)

# --- errors ---
from ._core._validation import Float64RequiredError as Float64RequiredError
from ._core._validation import InvalidArgumentError as InvalidArgumentError

# --- constants and materials ---
from ._core import _constants as constants
from ._superconductor._material import Material as Material
from ._superconductor._material import material as material
from ._superconductor._material import material_names as material_names

# --- BCS equilibrium (_superconductor/_bcs.py) ---
from ._superconductor._bcs import bose as bose
from ._superconductor._bcs import dos as dos
from ._superconductor._bcs import electronic_heat_capacity as electronic_heat_capacity
from ._superconductor._bcs import fermi as fermi
from ._superconductor._bcs import gap as gap
from ._superconductor._bcs import quasiparticle_dos as quasiparticle_dos
from ._superconductor._bcs import reduced_gap as reduced_gap
from ._superconductor._bcs import thermal_nqp as thermal_nqp

# --- Mattis–Bardeen and thin films (_superconductor/) ---
from ._superconductor._film import kinetic_inductance as kinetic_inductance
from ._superconductor._film import kinetic_inductance_bcs as kinetic_inductance_bcs
from ._superconductor._film import penetration_depth as penetration_depth
from ._superconductor._film import penetration_depth_bcs as penetration_depth_bcs
from ._superconductor._film import surface_impedance as surface_impedance
from ._superconductor._mattis_bardeen import mattis_bardeen as mattis_bardeen
from ._superconductor._mattis_bardeen import mattis_bardeen_low_temperature as mattis_bardeen_low_temperature
from ._superconductor._mattis_bardeen import mattis_bardeen_nonequilibrium as mattis_bardeen_nonequilibrium
from ._superconductor._mattis_bardeen import mattis_bardeen_zero_temperature as mattis_bardeen_zero_temperature
from ._superconductor._mattis_bardeen_dynes import mattis_bardeen_dynes as mattis_bardeen_dynes

# --- common fitting API (_fit.py) ---
from ._fit import FitResult as FitResult
from ._fit import least_squares as least_squares
from ._fit import fit_batch as fit_batch
from ._fit import multistart as multistart
from ._fit import minimize as minimize
from ._core._results import RESULTS as RESULTS

# --- kinetic equations (_kinetic/) ---
from ._kinetic import RESULTS as KINETIC_RESULTS  # the same enumeration as RESULTS
from ._kinetic import KineticSolution as KineticSolution
from ._kinetic import kinetic_steady_state as kinetic_steady_state
from ._kinetic import KineticDecay as KineticDecay
from ._kinetic import KineticRelaxation as KineticRelaxation
from ._kinetic import kinetic_decay_time as kinetic_decay_time
from ._kinetic import kinetic_relaxation as kinetic_relaxation
from ._kinetic._solver import SolverOptions as SolverOptions
from ._kinetic._grid import GridOptions as GridOptions

# --- resonator (_resonator/) ---
from ._resonator._models import loaded_q as loaded_q
from ._resonator._models import s21_ideal as s21_ideal
from ._resonator._models import s21_notch as s21_notch
from ._resonator._models import s11_reflection as s11_reflection
from ._resonator._models import coupling_q as coupling_q
from ._resonator._models import coupling_capacitance as coupling_capacitance
from ._resonator._models import coupled_resonance_frequency as coupled_resonance_frequency
from ._resonator._models import absorbed_power as absorbed_power
from ._resonator._models import stored_energy as stored_energy
from ._resonator._models import photon_number as photon_number
from ._resonator._models import effective_coupling_q as effective_coupling_q
from ._resonator._geometry import CPW as CPW
from ._resonator._geometry import Microstrip as Microstrip
from ._resonator._geometry import LineResponse as LineResponse
from ._resonator._geometry import resonator_response as resonator_response
from ._resonator._geometry import resonator_from_conductivity as resonator_from_conductivity
from ._resonator._geometry import calibrate_geometry as calibrate_geometry
from ._resonator._geometry import linearised_response as linearised_response
from ._resonator._s21_fit import S21Fit as S21Fit
from ._resonator._s21_fit import fit_s21 as fit_s21
from ._core._fit_status import FIT_RESULTS as FIT_RESULTS
from ._resonator._touchstone import read_touchstone as read_touchstone
from ._resonator._touchstone import write_touchstone as write_touchstone

# --- measured data: files, temperature sweeps, two-level systems ---
from ._resonator._sweep_io import Sweep as Sweep
from ._resonator._sweep_io import SweepFormatError as SweepFormatError
from ._resonator._sweep_io import read_sweep as read_sweep
from ._resonator._sweep_io import read_sweeps as read_sweeps
from ._resonator._temperature_fit import TemperatureSweepFit as TemperatureSweepFit
from ._resonator._temperature_fit import fit_temperature_sweep as fit_temperature_sweep
from ._resonator._temperature_fit import resonance_vs_temperature as resonance_vs_temperature
from ._resonator._tls import tls_frequency_shift as tls_frequency_shift
from ._resonator._tls import tls_loss as tls_loss
from ._core._compilation_cache import enable_compilation_cache as enable_compilation_cache
from ._resonator._power_loop import power_loop as power_loop
from ._resonator._power_loop import fit_power_sweep as fit_power_sweep
from ._resonator._power_loop import PowerSweepFit as PowerSweepFit
from ._resonator._power_loop import PowerLoopSolution as PowerLoopSolution
from ._resonator._power_loop import KineticResponse as KineticResponse
from ._resonator._power_loop import HeatingResponse as HeatingResponse
from ._resonator._power_loop import AbstractResponse as AbstractResponse
from ._resonator._power_loop import ResponseResult as ResponseResult

# --- electrothermal (_electrothermal/) ---
from ._electrothermal._impedance import electrothermal_impedance as electrothermal_impedance
from ._electrothermal._impedance import loop_gain as loop_gain
from ._electrothermal._impedance import reactance_extremum as reactance_extremum
from ._electrothermal._impedance import thermal_time_constants as thermal_time_constants
from ._electrothermal._inverse import HeatCapacityRecovery as HeatCapacityRecovery
from ._electrothermal._inverse import fit_impedance_spectrum as fit_impedance_spectrum
from ._electrothermal._inverse import recover_heat_capacity as recover_heat_capacity
from ._electrothermal._inverse import sample_heat_capacity as sample_heat_capacity
from ._electrothermal._time_domain import LockInResult as LockInResult
from ._electrothermal._time_domain import simulate_lock_in as simulate_lock_in
from ._electrothermal._transition import TabulatedTransition as TabulatedTransition
from ._electrothermal._transition import TransitionModel as TransitionModel
from ._electrothermal._transition import gaussian_transition as gaussian_transition

# --- constrictions (_constriction/) ---
from ._constriction._contact import sharvin_resistance as sharvin_resistance
from ._constriction._contact import sharvin_area as sharvin_area
from ._constriction._contact import contact_radius as contact_radius
from ._constriction._contact import wexler_resistance as wexler_resistance
from ._constriction._contact import wexler_gamma as wexler_gamma
from ._constriction._contact import free_electron_resistivity as free_electron_resistivity
from ._constriction._contact import slab_neck_radius as slab_neck_radius
from ._constriction._contact import slab_neck_profile as slab_neck_profile
from ._constriction._contact import opening_angle as opening_angle
from ._constriction._contact import cone_radius as cone_radius
from ._constriction._contact import cone_resistance as cone_resistance
from ._constriction._contact import penetration_depth_two_fluid as penetration_depth_two_fluid
from ._constriction._contact import thermodynamic_critical_field as thermodynamic_critical_field
from ._constriction._contact import disk_critical_field as disk_critical_field
from ._constriction._contact import superconducting_length as superconducting_length
from ._constriction._contact import effective_relaxation_time as effective_relaxation_time
from ._constriction._contact import charge_imbalance_length as charge_imbalance_length
from ._constriction._contact import pair_breaking_time as pair_breaking_time
from ._constriction._mar import mar_current as mar_current
from ._constriction._mar import mar_differential_conductance as mar_differential_conductance
from ._constriction._mar import mar_current_heated as mar_current_heated
from ._constriction._mar import mar_excess_current as mar_excess_current
from ._constriction._mar import normal_resistance as normal_resistance
from ._constriction._mar import self_heating_temperature as self_heating_temperature
from ._constriction._mar import fit_mar as fit_mar
from ._constriction._phase_slip import PhaseSlipSites as PhaseSlipSites
from ._constriction._phase_slip import phase_slip_sites as phase_slip_sites
from ._constriction._phase_slip import phase_slip_voltage as phase_slip_voltage
from ._constriction._phase_slip import phase_slip_barrier as phase_slip_barrier
from ._constriction._phase_slip import thermal_switching_currents as thermal_switching_currents
from ._constriction._phase_slip import neck_iv as neck_iv

# --- scans (_scan/) ---
from ._scan._scan import open_scan as open_scan
from ._scan._scan import scan as scan
from ._scan._scan import ScanLockedError as ScanLockedError
from ._scan._scan import ScanModelError as ScanModelError
from ._scan._scan import ScanStoreError as ScanStoreError
from ._scan._scan import ScanStoreWarning as ScanStoreWarning

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
