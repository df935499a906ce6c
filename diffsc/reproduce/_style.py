"""Shared matplotlib style for publication-like figures (used by every figure set)."""

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.labelsize": 10,
    "axes.titlesize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "xtick.top": True,
    "ytick.right": True,
    "lines.linewidth": 1.6,
}


def apply_style():
    """Apply the diffsc plotting style to matplotlib's global rcParams."""
    plt.rcParams.update(STYLE)


def save(fig, out_dir, filename):
    """Save ``fig`` as ``out_dir/filename`` (PNG), close it and return the file name."""
    fig.savefig(out_dir / filename)
    plt.close(fig)
    return filename
