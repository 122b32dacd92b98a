"""Lesson 02's Figure 12-3, drawn from the model a learner actually built.

A subclassed model has no static graph (its ``call`` is Python code), so
``keras.utils.plot_model`` cannot show its blocks and loops; drawing it from the model's own
attributes can, and the picture changes when the learner changes the model.
"""

from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

_BOX_WIDTH, _BOX_HEIGHT, _GAP = 0.9, 0.8, 0.45
_DENSE_COLOUR, _BLOCK_COLOUR, _SKIP_COLOUR = "#dbe9f6", "#fff4d6", "#b35900"
_ARROW = {"arrowstyle": "-|>", "mutation_scale": 9}


def draw_residual_regressor(model, ax):
    """Draw a :class:`helpers.lesson02_models.ResidualRegressor` as the book's Figure 12-3 does.

    The structure comes from the model itself (its Dense sizes, the layers in each block, how
    many times ``block1`` repeats), so the picture changes when the model does. Left to right:
    Dense, ``block1`` (looped), ``block2``, Dense. Each residual block is a tinted frame holding
    its Dense layers and a ``+`` node; the skip connection runs over the layers into the ``+``;
    the loop under ``block1`` says how many times the same block (the same weights) is applied.

    Returns:
        ``ax``, for chaining.
    """
    x = 0.0
    ax.text(x, 0, "Inputs", ha="right", va="center", fontsize=9)
    _arrow(ax, x + 0.05, x + _GAP)
    x = _dense_box(ax, x + _GAP, model.hidden1.units)
    _arrow(ax, x, x + _GAP)
    block1_start, x = _residual_block(ax, x + _GAP, model.block1, "block1")
    repeats = model.block1_repeats
    if repeats > 1:
        loop = FancyArrowPatch(
            (x - 0.05, -0.75),
            (block1_start + 0.05, -0.75),
            connectionstyle="arc3,rad=-0.35",
            color=_SKIP_COLOUR,
            **_ARROW,
        )
        ax.add_patch(loop)
    times = (
        "applied once" if repeats == 1 else f"applied × {repeats}: the same block, the same weights"
    )
    ax.text(
        (block1_start + x) / 2, -1.45, times, ha="center", va="top", fontsize=8, color=_SKIP_COLOUR
    )
    _arrow(ax, x, x + _GAP)
    _, x = _residual_block(ax, x + _GAP, model.block2, "block2")
    _arrow(ax, x, x + _GAP)
    x = _dense_box(ax, x + _GAP, model.out.units)
    _arrow(ax, x, x + _GAP - 0.05)
    ax.text(x + _GAP, 0, "Outputs", ha="left", va="center", fontsize=9)

    ax.set_xlim(-0.8, x + _GAP + 0.9)
    ax.set_ylim(-1.9, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _dense_box(ax, x, units):
    """A Dense layer's box with its left edge at ``x``; returns its right edge."""
    box = FancyBboxPatch(
        (x, -_BOX_HEIGHT / 2),
        _BOX_WIDTH,
        _BOX_HEIGHT,
        boxstyle="round,pad=0.02,rounding_size=0.08",
        facecolor=_DENSE_COLOUR,
        edgecolor="#2b4a6f",
    )
    ax.add_patch(box)
    ax.text(x + _BOX_WIDTH / 2, 0, f"Dense\n{units}", ha="center", va="center", fontsize=8)
    return x + _BOX_WIDTH


def _arrow(ax, x_from, x_to):
    ax.add_patch(FancyArrowPatch((x_from, 0), (x_to, 0), color="#333333", **_ARROW))


def _residual_block(ax, start, block, name):
    """A ResidualBlock's frame, Dense layers, ``+`` and skip connection; returns its x range."""
    x = start + _GAP / 2
    for count, layer in enumerate(block.hidden):
        if count:
            _arrow(ax, x, x + _GAP / 2)
            x += _GAP / 2
        x = _dense_box(ax, x, layer.units)
    _arrow(ax, x, x + _GAP / 2)
    x += _GAP / 2 + 0.15
    ax.add_patch(Circle((x, 0), 0.15, facecolor="white", edgecolor=_SKIP_COLOUR))
    ax.text(x, 0, "+", ha="center", va="center", fontsize=10, color=_SKIP_COLOUR)
    top = _BOX_HEIGHT / 2 + 0.15
    skip = Path([(start + 0.1, 0.0), (start + 0.1, top), (x, top), (x, 0.15)])
    ax.add_patch(FancyArrowPatch(path=skip, color=_SKIP_COLOUR, linewidth=1.2, **_ARROW))
    end = x + 0.25
    frame = FancyBboxPatch(
        (start, -0.75),
        end - start,
        1.6,
        boxstyle="round,pad=0,rounding_size=0.15",
        facecolor=_BLOCK_COLOUR,
        edgecolor="#c9a227",
        linestyle="--",
        zorder=0,
    )
    ax.add_patch(frame)
    ax.text(start + 0.05, 0.9, name, ha="left", va="bottom", fontsize=8, style="italic")
    return start, end
