"""Command line: ``diffsc reproduce [--quick] [--only NAME] [--out DIR]``.

Subcommands ``scan`` and ``fit`` are added by the scan/fit modules (see ``diffsc scan --help``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _cmd_reproduce(args) -> int:
    from .reproduce import figure_sets
    from .reproduce._style import apply_style

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
    print(f"[diffsc] wrote {summary}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="diffsc", description="Differentiable nonequilibrium superconductivity.")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="reproduce the seed papers' figures into a folder")
    rep.add_argument("--out", default="out", help="output folder (default: out)")
    rep.add_argument("--quick", action="store_true", help="coarse grids, for a fast check")
    rep.add_argument("--only", nargs="+", metavar="NAME", help="run only these figure sets")
    rep.set_defaults(func=_cmd_reproduce)
    try:  # scan/fit subcommands live with the scan module
        from ._cli_scan import add_subcommands
    except ImportError:
        pass
    else:
        add_subcommands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
