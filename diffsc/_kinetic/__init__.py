"""Chang–Scalapino kinetic equations: steady state under microwave drive (implicit adjoint) and
relaxation after a drive step."""

from ._relaxation import KineticDecay as KineticDecay
from ._relaxation import KineticRelaxation as KineticRelaxation
from ._relaxation import kinetic_decay_time as kinetic_decay_time
from ._relaxation import kinetic_relaxation as kinetic_relaxation
from ._solution import RESULTS as RESULTS
from ._solution import KineticSolution as KineticSolution
from ._steady_state import kinetic_steady_state as kinetic_steady_state
