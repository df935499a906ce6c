"""mkdocs hook: the API reference pages, generated at build time from ``diffsc``'s public names.

Every name that ``diffsc/__init__.py`` re-exports (in its order) becomes one ``::: diffsc.<name>``
entry (rendered by mkdocstrings from its docstring) on the page of the subpackage that defines it.
The names are read statically with griffe (what mkdocstrings uses), without importing diffsc or
JAX. A public name from a subpackage without a page stops the build, so the reference cannot
silently fall behind the package. Nothing is written into the source tree.
"""

from __future__ import annotations

from pathlib import Path

import griffe
from mkdocs.structure.files import File

# subpackage (or module) of diffsc -> (page, title, physics page it belongs to)
PAGES = {
    "_core": ("api/core.md", "Constants, errors, verdicts, compilation cache", "index.md"),
    "_superconductor": (
        "api/superconductor.md",
        "Materials, BCS equilibrium, Mattis–Bardeen, thin films",
        "bcs.md",
    ),
    "_kinetic": ("api/kinetic.md", "Kinetic equations", "kinetic.md"),
    "_resonator": ("api/resonator.md", "Resonators and measured data", "resonator.md"),
    "_electrothermal": ("api/electrothermal.md", "Electrothermal impedance", "electrothermal.md"),
    "_constriction": ("api/constrictions.md", "Constrictions and MAR", "constrictions.md"),
    "_fit": ("api/fit.md", "Fitting", "scans_and_fits.md"),
    "_scan": ("api/scan.md", "Scans", "scans_and_fits.md"),
}


def api_pages(root: Path | str = ".") -> dict[str, str]:
    """Page path -> Markdown of the API reference (``root``: the folder that holds ``diffsc/``)."""
    package = griffe.load("diffsc", search_paths=[str(root)], resolve_aliases=False)
    entries: dict[str, list[str]] = {page: [] for page, _, _ in PAGES.values()}
    for name, member in package.members.items():
        # public re-exports only: submodules found on disk but not imported are not API
        if name.startswith("_") or not member.is_alias:
            continue
        owner = member.target_path.split(".")[1]
        if owner not in PAGES:
            raise RuntimeError(
                f"diffsc.{name} comes from diffsc.{owner}, which has no API page: add it to "
                "PAGES in docs/hooks/api_pages.py (and to the nav in mkdocs.yml)"
            )
        entries[PAGES[owner][0]].append(name)
    pages = {}
    for page, title, physics in PAGES.values():
        names = entries[page]
        if not names:
            raise RuntimeError(f"{page}: no public name of diffsc is defined there any more")
        lines = [
            f"# {title}\n",
            f"Physics, equations and validation: [{physics}](../{physics}). "
            "Every name below is importable as `diffsc.<name>`.\n",
        ]
        lines += [f"::: diffsc.{name}\n" for name in names]
        pages[page] = "\n".join(lines)
    return pages


def on_files(files, config):
    root = Path(config.config_file_path).parent
    for page, content in api_pages(root).items():
        files.append(File.generated(config, page, content=content))
    return files
