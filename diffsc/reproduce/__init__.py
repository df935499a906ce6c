"""Figure sets that reproduce the seed papers; used by ``diffsc reproduce`` and the notebooks.

Each module ``diffsc/reproduce/fig_<name>.py`` is discovered automatically and must define

- ``NAME: str`` (used by ``--only``), ``TITLE: str``, ``ORDER: int`` (sort key),
- ``run(out_dir: pathlib.Path, quick: bool = False) -> str`` which writes PNG files into
  ``out_dir`` and returns a Markdown fragment (headings, numbers, ``![..](file.png)`` links).

``quick=True`` must use coarse grids so the whole set runs in well under a minute on a CPU.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def figure_sets() -> list[ModuleType]:
    """All figure-set modules, sorted by their ``ORDER``."""
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("fig_"):
            mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return sorted(mods, key=lambda m: (getattr(m, "ORDER", 100), m.NAME))
