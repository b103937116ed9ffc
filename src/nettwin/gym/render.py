"""The map an environment renders: links coloured by utilisation, as an RGB array."""

from __future__ import annotations

import math

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.model import Network


def node_positions(network: Network) -> np.ndarray:
    """Longitude/latitude when every node has them, else a circle."""
    nodes = list(network.nodes.values())
    if nodes and all(n.latitude is not None and n.longitude is not None for n in nodes):
        return np.array([[n.longitude, n.latitude] for n in nodes], np.float64)
    angle = 2 * math.pi * np.arange(len(nodes)) / max(1, len(nodes))
    circle: np.ndarray = np.c_[np.cos(angle), np.sin(angle)]
    return circle


def draw_utilisation_map(network: Network, net: CompiledNetwork, utilisation: np.ndarray,
                         arc_up: np.ndarray, *, title: str = "",
                         size_px: tuple[int, int] = (640, 420)) -> np.ndarray:
    """Links coloured by the higher utilisation of their two directions (grey dashed when
    down); returns uint8[height, width, 3]."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xy = node_positions(network)
    fig = Figure(figsize=(size_px[0] / 100, size_px[1] / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.88))
    ax.set_axis_off()
    cmap = colormaps["RdYlGn_r"]
    util = np.where(arc_up, utilisation, 0.0).reshape(-1, 2).max(axis=1)
    up = np.asarray(arc_up).reshape(-1, 2).sum(axis=1) > 0
    for i in range(net.n_arcs // 2):
        a, b = net.arc_src[2 * i], net.arc_dst[2 * i]
        if up[i]:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], color=cmap(min(util[i], 1.0)),
                    linewidth=1.5 + 3 * min(util[i], 1.2))
        else:
            ax.plot(xy[[a, b], 0], xy[[a, b], 1], color="0.6", linestyle="--", linewidth=1)
    ax.scatter(xy[:, 0], xy[:, 1], s=18, color="black", zorder=3)
    fig.suptitle(title, fontsize=8)
    canvas.draw()  # type: ignore[no-untyped-call]
    rgba = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    return np.ascontiguousarray(rgba[..., :3])
