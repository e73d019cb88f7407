"""Fig. 5 (App. B): kurtosis of the symmetric truncated t (nu = 2) against its truncation range."""

from __future__ import annotations

from pvq.plots.style import NEUTRAL, QUANT, panels

INPUTS = ("student_t",)


def draw(student_t):
    fig, ax = panels(1, width=3.4, height=2.4)
    curve = student_t.drop_duplicates("r").sort_values("r")
    ax.plot(curve["r"], curve["kurtosis"], "o-", color=QUANT, ms=3)
    ax.axhline(3.0, color=NEUTRAL, ls="--", lw=0.8, label="normal (3)")
    ax.set(xscale="log", yscale="log", xlabel="truncation range r", ylabel="kurtosis",
           title="truncated t, ν = 2")
    ax.legend(frameon=False)
    return fig
