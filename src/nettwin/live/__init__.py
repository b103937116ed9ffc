"""The live twin: ingest telemetry and events, mirror state with history, estimate the
traffic matrix from counters, watch the model's fidelity."""

from nettwin.live.observations import Batch, DeadLetter, Decoder, InterfaceMap, decode_gnmi
from nettwin.live.sources import (
    FileReplaySource,
    InProcessSource,
    Message,
    MqttSource,
    NatsSource,
    PrometheusSource,
    Source,
)
from nettwin.live.state import Changes, TwinState
from nettwin.live.store import PastState, Store, diff_states
from nettwin.live.twin import Fidelity, LiveTwin, default_store_url

__all__ = [
    "Batch",
    "Changes",
    "DeadLetter",
    "Decoder",
    "Fidelity",
    "FileReplaySource",
    "InProcessSource",
    "InterfaceMap",
    "LiveTwin",
    "Message",
    "MqttSource",
    "NatsSource",
    "PastState",
    "PrometheusSource",
    "Source",
    "Store",
    "TwinState",
    "decode_gnmi",
    "default_store_url",
    "diff_states",
]
