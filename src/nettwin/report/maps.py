"""Where nodes go on a map (``Layout``: shared by the dashboard and the reports) and the
network as an inline SVG map for HTML reports: arcs coloured by utilisation (the dashboard's
buckets), failed arcs dashed, node names. No JavaScript, no external files.

Positions are geographic (longitude scaled by the cosine of the mean latitude) when every node
has coordinates, else a deterministic force layout; both normalised to [0, 1] with y growing
downwards, the SVG convention."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np

from nettwin.model import Network
from nettwin.model.geo import EARTH_RADIUS_KM

BUCKETS = ((1.0, "#d61f1f", "≥ 100 %"), (0.8, "#f07f13", "80–100 %"),
           (0.5, "#e3c400", "50–80 %"), (0.0, "#2e9d4b", "< 50 %"))


def colour_of(utilisation: float) -> str:
    """The dashboard's colour for a utilisation (unknown or unbounded counts as overload)."""
    if not math.isfinite(utilisation):
        return BUCKETS[0][1]
    return next(c for floor, c, _ in BUCKETS if utilisation >= floor)


@dataclass(frozen=True)
class Layout:
    """Node positions in [0, 1]^2 (y down) and, when geographic, the map projection."""

    pos: dict[str, tuple[float, float]]
    geographic: bool
    cos_lat: float = 1.0
    x_min: float = 0.0
    y_min: float = 0.0
    span: float = 1.0
    x_pad: float = 0.0
    y_pad: float = 0.0

    def xy(self, latitude: float, longitude: float) -> tuple[float, float]:
        """Where a point of the map lies in the normalised square."""
        x = longitude * self.cos_lat
        return ((x - self.x_min) / self.span + self.x_pad,
                (-latitude - self.y_min) / self.span + self.y_pad)

    def km(self, distance_km: float) -> float:
        """A ground distance in normalised units (geographic layouts)."""
        return math.degrees(distance_km / EARTH_RADIUS_KM) / self.span

    @classmethod
    def of(cls, network: Network) -> Layout:
        nodes = list(network.nodes.values())
        if not nodes:
            return cls({}, False)
        geographic = all(n.has_coordinates for n in nodes)
        cos_lat = 1.0
        if geographic:
            lat = np.array([n.latitude for n in nodes], dtype=float)
            lon = np.array([n.longitude for n in nodes], dtype=float)
            cos_lat = math.cos(math.radians(float(lat.mean())))
            x, y = lon * cos_lat, -lat
        else:
            import networkx as nx

            g = nx.Graph()
            g.add_nodes_from(network.nodes)
            g.add_edges_from((lk.a, lk.b) for lk in network.links.values())
            layout = (nx.kamada_kawai_layout(g) if len(nodes) <= 200 and g.number_of_edges()
                      else nx.spring_layout(g, seed=1))
            x = np.array([layout[n.id][0] for n in nodes], dtype=float)
            y = np.array([-layout[n.id][1] for n in nodes], dtype=float)
        span = max(float(np.ptp(x)), float(np.ptp(y))) or 1.0
        x_pad, y_pad = (1 - float(np.ptp(x)) / span) / 2, (1 - float(np.ptp(y)) / span) / 2
        nx_ = (x - x.min()) / span + x_pad
        ny_ = (y - y.min()) / span + y_pad
        return cls({n.id: (float(nx_[i]), float(ny_[i])) for i, n in enumerate(nodes)},
                   geographic, cos_lat, float(x.min()), float(y.min()), span, x_pad, y_pad)


def map_positions(network: Network) -> tuple[dict[str, tuple[float, float]], bool]:
    """Node positions in the unit square and whether they are geographic (``Layout``)."""
    layout = Layout.of(network)
    return layout.pos, layout.geographic


def network_map_svg(network: Network, arc_utilisation: np.ndarray,
                    arc_up: np.ndarray | None = None, caption: str = "") -> str:
    """An SVG figure: each link as two offset lines (a->b right of the line, b->a left),
    coloured by that arc's utilisation; down arcs grey and dashed; a legend."""
    pos, geographic = map_positions(network)
    w, pad = 900.0, 40.0
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    ex, ey = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    scale = min((w - 2 * pad - 90) / ex, (620 - 2 * pad) / ey)  # 90: room for names east
    h = ey * scale + 2 * pad
    x_min, y_min = min(xs), min(ys)

    def xy(nid: str) -> tuple[float, float]:
        px, py = pos[nid]
        return pad + (px - x_min) * scale, pad + (py - y_min) * scale

    up = np.ones(len(arc_utilisation), bool) if arc_up is None else np.asarray(arc_up, bool)
    parts = []
    for i, link in enumerate(network.links.values()):
        (x1, y1), (x2, y2) = xy(link.a), xy(link.b)
        length = math.hypot(x2 - x1, y2 - y1) or 1.0
        dx, dy = -(y2 - y1) / length * 2.2, (x2 - x1) / length * 2.2
        for j, s in ((0, 1.0), (1, -1.0)):
            arc = 2 * i + j
            u = float(arc_utilisation[arc])
            src, dst = (link.a, link.b) if j == 0 else (link.b, link.a)
            style = ('stroke="#999" stroke-dasharray="6 4"' if not up[arc]
                     else f'stroke="{colour_of(u)}"')
            label = f"{link.id} ({src}→{dst}): " + ("down" if not up[arc] else f"{100 * u:.1f} %")
            parts.append(f'<line x1="{x1 + s * dx:.1f}" y1="{y1 + s * dy:.1f}" '
                         f'x2="{x2 + s * dx:.1f}" y2="{y2 + s * dy:.1f}" {style} '
                         f'stroke-width="3.5" stroke-linecap="round">'
                         f"<title>{html.escape(label)}</title></line>")
    many = len(network.nodes) > 60
    for node in network.nodes.values():
        x, y = xy(node.id)
        name = html.escape(node.name or node.id)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2.5 if many else 4.5}" '
                     f'fill="#1b2a3a"><title>{name}</title></circle>')
        if not many:
            parts.append(f'<text x="{x + 6:.1f}" y="{y - 5:.1f}" font-size="11" '
                         f'paint-order="stroke" stroke="#fff" stroke-width="3">{name}</text>')
    legend = "".join(f'<span style="margin-right:12px"><i style="display:inline-block;'
                     f'width:16px;height:4px;background:{c};vertical-align:middle"></i> {t}'
                     f"</span>" for _, c, t in reversed(BUCKETS))
    legend += ('<span><i style="display:inline-block;width:16px;border-top:2px dashed #999;'
               'vertical-align:middle"></i> down</span>')
    where = "geographic" if geographic else "schematic (no coordinates)"
    return (f'<figure class="map"><svg viewBox="0 0 {w:.0f} {h:.0f}" width="100%" '
            f'role="img" aria-label="network map">{"".join(parts)}</svg>'
            f"<figcaption>{html.escape(caption)} — {where} map. {legend}</figcaption></figure>")
