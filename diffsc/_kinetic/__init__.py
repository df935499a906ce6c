"""Chang–Scalapino kinetic equations: steady state under microwave drive, implicit adjoint."""

from ._solution import RESULTS as RESULTS
from ._solution import KineticSolution as KineticSolution
from ._steady_state import kinetic_steady_state as kinetic_steady_state
