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
# [bcs-exports]

# --- Mattis–Bardeen and thin films (_mattis_bardeen.py, _film.py) ---
# [mattis-bardeen-exports]

# --- common fitting API (_fit.py) ---
# [fit-exports]

# --- kinetic equations (_kinetic/) ---
# [kinetic-exports]

# --- resonator (_resonator*.py) ---
# [resonator-exports]

# --- electrothermal (_electrothermal*.py) ---
# [electrothermal-exports]

# --- constrictions (_constriction*.py, _mar.py) ---
# [constriction-exports]

# --- scans (_scan.py) ---
from ._scan import open_scan as open_scan
from ._scan import scan as scan
# [scan-exports]

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
