"""Gymnasium environments on the twin: traffic engineering, failure recovery, energy.

Importing this package registers the ids::

    import gymnasium, nettwin.gym
    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=net, traffic=series,
                         seed=1)

``nettwin/TrafficEngineering-v0``, ``nettwin/FailureRecovery-v0``, ``nettwin/Energy-v0``;
``TrafficEngineeringVectorEnv`` steps many copies in one numba call.
"""

from gymnasium.envs.registration import register, registry

from nettwin.gym.base import TwinEnv
from nettwin.gym.envs import EnergyEnv, FailureRecoveryEnv, TrafficEngineeringEnv
from nettwin.gym.events import Event, EventKind, ResolvedEvent, parse_events
from nettwin.gym.stepper import SlaUnits, Stepper, build_sla_units
from nettwin.gym.traffic import TrafficSeries, diurnal_series, series_from_matrices
from nettwin.gym.vector import TrafficEngineeringVectorEnv

ENV_IDS = {
    "nettwin/TrafficEngineering-v0": "nettwin.gym.envs:TrafficEngineeringEnv",
    "nettwin/FailureRecovery-v0": "nettwin.gym.envs:FailureRecoveryEnv",
    "nettwin/Energy-v0": "nettwin.gym.envs:EnergyEnv",
}

for _id, _entry in ENV_IDS.items():
    if _id not in registry:
        register(id=_id, entry_point=_entry,
                 vector_entry_point="nettwin.gym.vector:TrafficEngineeringVectorEnv"
                 if "TrafficEngineering" in _id else None)

__all__ = [
    "ENV_IDS",
    "EnergyEnv",
    "Event",
    "EventKind",
    "FailureRecoveryEnv",
    "ResolvedEvent",
    "SlaUnits",
    "Stepper",
    "TrafficEngineeringEnv",
    "TrafficEngineeringVectorEnv",
    "TrafficSeries",
    "TwinEnv",
    "build_sla_units",
    "diurnal_series",
    "parse_events",
    "series_from_matrices",
]
