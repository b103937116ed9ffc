"""How a scenario turns loads into delay and loss: the queueing and arrival models, packet
sizes and buffers. Plain Python (no numba, no numpy): the command line declares its options
from these without loading the engine's kernels."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from nettwin.errors import SimulationError


class QueueModel(enum.Enum):
    """Which queueing formula gives per-arc delay and loss."""

    MM1 = "mm1"
    MD1 = "md1"
    MG1 = "mg1"
    MM1K = "mm1k"


class ArrivalModel(enum.Enum):
    """How a port's arrivals are described: the textbook Poisson stream, or the bursty
    (MMPP) description built from every demand's own arrival process (``engine.arrivals``)."""

    POISSON = "poisson"
    BURSTY = "bursty"


# Simple IMIX (7 x 40 B, 4 x 576 B, 1 x 1500 B): mean 340.33 B, squared CV 1.587.
IMIX_MEAN_PACKET_BYTES = (7 * 40 + 4 * 576 + 1500) / 12
IMIX_PACKET_SCV = ((7 * 40**2 + 4 * 576**2 + 1500**2) / 12) / IMIX_MEAN_PACKET_BYTES**2 - 1


@dataclass(frozen=True)
class SimulationOptions:
    """How to turn loads into delay and loss."""

    queue_model: QueueModel = QueueModel.MM1
    mean_packet_bytes: float = IMIX_MEAN_PACKET_BYTES
    packet_size_scv: float = IMIX_PACKET_SCV
    default_buffer_packets: int = 1000
    utilisation_thresholds: tuple[float, ...] = (0.5, 0.8, 1.0)
    # BURSTY: arcs that carry demands with bursty arrivals (model field ``arrival``) are
    # queued as MMPP2/G/1/K (engine.arrivals); POISSON: the textbook model everywhere
    arrival_model: ArrivalModel = ArrivalModel.BURSTY

    def __post_init__(self) -> None:
        if not self.mean_packet_bytes > 0:
            raise SimulationError(f"mean_packet_bytes must be > 0 (got {self.mean_packet_bytes})")
        if not self.packet_size_scv >= 0:
            raise SimulationError(f"packet_size_scv must be >= 0 (got {self.packet_size_scv})")
        if self.default_buffer_packets < 1:
            raise SimulationError(
                f"default_buffer_packets must be >= 1 (got {self.default_buffer_packets})")
