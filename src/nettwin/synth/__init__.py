"""Labelled synthetic telemetry: injected faults observed through the engine's physics."""

from nettwin.synth.faults import Fault, FaultKind, FaultModel, FaultState, srlg_members
from nettwin.synth.generate import SCENARIOS, Episode, Label, SynthConfig, Synthesizer
from nettwin.synth.telemetry import Noise

__all__ = ["SCENARIOS", "Episode", "Fault", "FaultKind", "FaultModel", "FaultState", "Label",
           "Noise", "SynthConfig", "Synthesizer", "srlg_members"]
