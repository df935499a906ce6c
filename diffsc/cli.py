"""Command line: ``diffsc reproduce [--quick] [--only NAME] [--out DIR] [--no-cache]``.

Every command keeps compiled programs on disk (`diffsc._core._compilation_cache`; ``--no-cache``
or ``DIFFSC_NO_CACHE=1`` switch that off), so a second run of the same command compiles nothing.

Subcommands ``scan`` (``_scan/_cli.py``) and ``fit s21`` / ``fit temperature``
(``_resonator/_cli.py``) are added by their modules (see ``diffsc scan --help``,
``diffsc fit s21 --help``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _cmd_reproduce(args) -> int:
    from ._core._compilation_cache import enable_compilation_cache
    from .reproduce import figure_sets
    from .reproduce._style import apply_style

    if not args.no_cache:
        enable_compilation_cache()
    apply_style()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sets = figure_sets()
    names = [m.NAME for m in sets]
    if args.only:
        unknown = [n for n in args.only if n not in names]
        if unknown:
            print(f"diffsc reproduce: unknown figure set(s) {unknown}; available: {names}", file=sys.stderr)
            return 2
        sets = [m for m in sets if m.NAME in args.only]
    parts = ["# diffsc reproduce\n", f"Figures written by `diffsc reproduce` into `{out}`.\n"]
    for mod in sets:
        t0 = time.perf_counter()
        print(f"[diffsc] {mod.NAME}: {mod.TITLE} ...", flush=True)
        md = mod.run(out, quick=args.quick)
        dt = time.perf_counter() - t0
        print(f"[diffsc] {mod.NAME}: done in {dt:.1f} s", flush=True)
        parts.append(f"\n## {mod.TITLE}\n\n{md}\n\n_({dt:.1f} s)_\n")
    summary = out / "summary.md"
    summary.write_text("".join(parts))
    html = out / "summary.html"
    html.write_text(markdown_to_html("".join(parts), title="diffsc reproduce"))
    print(f"[diffsc] wrote {summary} and {html}")
    return 0


def markdown_to_html(md: str, title: str = "diffsc") -> str:
    """The reproduce report as one HTML page: python-markdown (with its tables extension) renders
    the Markdown, pymdownx.arithmatex keeps ``$...$`` / ``$$...$$`` maths intact for MathJax.

    Without pymdown-extensions (a declared dependency, but environments assembled by hand can lack
    it) the page is still written, with a warning: the maths then shows as its TeX source."""
    import html
    import importlib.util
    import warnings

    import markdown

    extensions, configs = ["tables"], {}
    if importlib.util.find_spec("pymdownx") is not None:
        extensions.append("pymdownx.arithmatex")
        configs["pymdownx.arithmatex"] = {"generic": True}
    else:
        warnings.warn("pymdown-extensions is not installed: summary.html shows the maths as TeX source",
                      stacklevel=2)
    body = markdown.markdown(md, extensions=extensions, extension_configs=configs, output_format="html")
    style = (
        "body{font-family:sans-serif;max-width:960px;margin:auto;padding:1em;line-height:1.45}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
        "img{display:block;margin:1em 0;max-width:100%}"
    )
    mathjax = (
        "<script>MathJax={tex:{inlineMath:[['\\\\(','\\\\)']],displayMath:[['\\\\[','\\\\]']],"
        "processEscapes:true,processEnvironments:true},"
        "options:{ignoreHtmlClass:'.*|',processHtmlClass:'arithmatex'}}</script>"
        '<script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>'
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style>{mathjax}</head><body>\n{body}\n</body></html>\n"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diffsc", description="Differentiable nonequilibrium superconductivity.")
    parser.add_argument("--version", action="version", version=f"diffsc {_package_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="reproduce the seed papers' figures into a folder")
    rep.add_argument("--out", default="out", help="output folder (default: out)")
    rep.add_argument("--quick", action="store_true", help="coarse grids, for a fast check")
    rep.add_argument("--only", nargs="+", metavar="NAME", help="run only these figure sets")
    rep.add_argument("--no-cache", action="store_true",
                     help="no on-disk compilation cache (also DIFFSC_NO_CACHE=1)")
    rep.set_defaults(func=_cmd_reproduce)
    from ._resonator._cli import add_subcommands as add_fit
    from ._scan._cli import add_subcommands as add_scan

    add_scan(sub)
    add_fit(sub)
    return parser


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("diffsc")
    except PackageNotFoundError:  # run from a source tree without installing
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status (callable from Python, never exits)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def console_main() -> int:
    """Entry point of the ``diffsc`` command.

    After ``diffsc fit`` (whose outputs are all written and closed when it returns) the process
    ends at once instead of running the interpreter's shutdown, which with JAX loaded takes
    ~0.25 s of a ~2 s command; other commands exit normally.
    """
    code = main()
    if len(sys.argv) > 1 and sys.argv[1] == "fit":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    raise SystemExit(console_main())
