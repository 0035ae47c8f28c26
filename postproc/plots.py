"""Pictures for the review page, drawn with matplotlib as inline SVG (text kept as text: small and sharp).

No pyplot: each figure is its own object, so nothing global is touched. Each SVG's ids get a
prefix of its own, since several sit in one page. matplotlib is imported when a page is drawn,
not by every command that imports the pipeline (it costs ~0.4 s).
"""

from __future__ import annotations

import io
import re

INK, MUTED, ACCENT, ALERT = "#1f2937", "#9ca3af", "#2563eb", "#dc2626"
STYLE = {"svg.fonttype": "none", "font.size": 9, "axes.edgecolor": MUTED, "axes.labelcolor": INK,
         "xtick.color": INK, "ytick.color": INK, "axes.spines.top": False, "axes.spines.right": False}
XML_HEAD = re.compile(r"^.*?(?=<svg)", re.S)
IDS = re.compile(r'(\bid="|url\(#|href="#)')


def _figure(width: float, height: float):
    """A figure of its own (no pyplot), and its first axes, in the page's style."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _style():
    from matplotlib import rc_context

    return rc_context(STYLE)


def svg(figure, prefix: str) -> str:
    """The figure as an `<svg>` element to put in a page, its ids made unique by `prefix`."""
    from matplotlib import rc_context

    buffer = io.StringIO()
    with rc_context(STYLE | {"svg.hashsalt": prefix}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return IDS.sub(lambda m: f"{m.group(1)}{prefix}-", XML_HEAD.sub("", buffer.getvalue(), count=1))


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def level_plot(curve: list[float], window_s: float, target: float, measure: str, prefix: str) -> str:
    """A chapter's level over time against the preset's target."""
    with _style():
        figure, axes = _figure(7.0, 1.7)
        times = [window_s + n for n in range(len(curve))]
        axes.plot(times, curve, color=ACCENT, linewidth=1.0, label="short-term LUFS" if measure == "lufs"
                  else "RMS over 3 s (dBFS)")
        axes.axhline(target, color=ALERT, linewidth=0.8, linestyle="--", label=f"target {target:g}")
        axes.set_ylim(min(target - 20, min(curve, default=target) - 2), max(target + 8, max(curve, default=target) + 2))
        axes.set_xlim(0, max(times, default=1))
        axes.xaxis.set_major_formatter(lambda value, _: _minutes(value))
        axes.set_ylabel("LUFS" if measure == "lufs" else "dBFS")
        axes.legend(loc="lower right", frameon=False, ncols=2, fontsize=8)
        return svg(figure, prefix)


def timeline(chapters: list[tuple[float, float, str]], flagged: list[float], prefix: str) -> str:
    """The whole book: a band per chapter (start, end, title), a mark at each flagged chunk."""
    with _style():
        figure, axes = _figure(7.0, 1.3)
        for n, (start, end, _title) in enumerate(chapters):
            axes.barh(0, end - start, left=start, height=0.6, color=ACCENT if n % 2 == 0 else "#93c5fd")
            if len(chapters) <= 12:
                axes.text((start + end) / 2, 0, str(n + 1), ha="center", va="center", color="white", fontsize=8)
        if flagged:
            axes.plot(flagged, [0.45] * len(flagged), linestyle="none", marker="v", color=ALERT, markersize=7)
        axes.set_xlim(0, max((end for _, end, _ in chapters), default=1))
        axes.set_ylim(-0.5, 0.8)
        axes.set_yticks([])
        axes.spines["left"].set_visible(False)
        axes.xaxis.set_major_formatter(lambda value, _: _minutes(value))
        axes.set_xlabel(f"time in the book (min:s); bands are chapters, numbered; "
                        f"\u25bc {len(flagged)} flagged chunk{'s' * (len(flagged) != 1)}")
        return svg(figure, prefix)


def histogram(values: list[float], label: str, prefix: str, bins: int = 30) -> str:
    with _style():
        figure, axes = _figure(7.0, 1.8)
        axes.hist(values, bins=bins, color=ACCENT)
        axes.set_xlabel(label)
        axes.set_ylabel("count")
        return svg(figure, prefix)


def scores_plot(points: list[tuple[float, float, bool]], label: str, prefix: str) -> str:
    """One score of every chunk over the book (time in s, value, flagged): flagged chunks in the alert colour."""
    with _style():
        figure, axes = _figure(7.0, 1.6)
        for flagged, colour in ((False, ACCENT), (True, ALERT)):
            chosen = [(t, v) for t, v, f in points if f is flagged]
            if chosen:
                axes.plot(*zip(*chosen), linestyle="none", marker="o", markersize=2.5 + flagged * 2, color=colour)
        axes.set_xlim(0, max((t for t, _, _ in points), default=1) or 1)
        axes.xaxis.set_major_formatter(lambda value, _: _minutes(value))
        axes.set_ylabel(label)
        return svg(figure, prefix)
