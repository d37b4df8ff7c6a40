"""Figures. Each function takes a result and an optional ``ax``; computation never plots.
"""

from .qqt import BLOCK_CMAPS, BLOCK_LABELS, plot_qqt_entries, plot_qqt_key, qqt_entry_colors, qqt_entry_names

__all__ = ["plot_qqt_entries", "plot_qqt_key", "qqt_entry_colors", "qqt_entry_names", "BLOCK_CMAPS", "BLOCK_LABELS"]
