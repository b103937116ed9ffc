"""Geography: great-circle distance and propagation speed per medium."""

from __future__ import annotations

import math

from nettwin.model.fields import LinkKind

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
SPEED_OF_LIGHT_KM_S = 299_792.458
FIBER_GROUP_INDEX = 1.4682  # G.652 fibre at 1550 nm
AIR_REFRACTIVE_INDEX = 1.0003

PROPAGATION_SPEED_KM_S: dict[LinkKind, float] = {
    LinkKind.FIBER: SPEED_OF_LIGHT_KM_S / FIBER_GROUP_INDEX,
    LinkKind.ETHERNET: SPEED_OF_LIGHT_KM_S / FIBER_GROUP_INDEX,
    LinkKind.OTHER: SPEED_OF_LIGHT_KM_S / FIBER_GROUP_INDEX,
    LinkKind.MICROWAVE: SPEED_OF_LIGHT_KM_S / AIR_REFRACTIVE_INDEX,
}


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two WGS84 points on a spherical Earth."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def distance_km(lat1: float | None, lon1: float | None, lat2: float | None,
                lon2: float | None) -> float | None:
    """Great-circle distance, or None when either point lacks a coordinate."""
    if lat1 is None or lon1 is None or lat2 is None or lon2 is None:
        return None
    return haversine_km(lat1, lon1, lat2, lon2)
