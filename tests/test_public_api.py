"""The public API is what ``nettwin`` exports; this pins it so changes are deliberate."""

import nettwin


def test_public_api_is_pinned() -> None:
    assert sorted(nettwin.__all__) == sorted([
        "CompiledNetwork", "Demand", "DemandTable", "ImportFormatError", "Link", "LinkKind",
        "NettwinError", "Network", "Node", "NodeKind", "Problem", "QueueModel", "RunResult",
        "Service",
        "SimulationError", "SimulationOptions", "SimulationResult", "UnknownFormatError",
        "ValidationError", "__version__", "build_network", "compile_network", "examples",
        "load_network", "load_traffic", "run", "simulate",
    ])
    for name in nettwin.__all__:
        assert hasattr(nettwin, name)


def test_error_tree() -> None:
    for exc in (nettwin.ValidationError, nettwin.ImportFormatError, nettwin.SimulationError,
                nettwin.UnknownFormatError):
        assert issubclass(exc, nettwin.NettwinError)
    assert issubclass(nettwin.UnknownFormatError, nettwin.ImportFormatError)
