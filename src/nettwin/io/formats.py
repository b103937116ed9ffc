"""One entry point per direction: load any supported network or traffic file, save networks."""

from __future__ import annotations

import enum
from pathlib import Path

from nettwin.errors import ImportFormatError, UnknownFormatError
from nettwin.io.graphml import import_graphml
from nettwin.io.native import export_native, import_native
from nettwin.io.options import ImportOptions
from nettwin.io.repetita import import_repetita, read_repetita_demands
from nettwin.io.rfc8345 import export_rfc8345, import_rfc8345
from nettwin.io.rocketfuel import import_rocketfuel
from nettwin.io.sndlib import import_sndlib_native, import_sndlib_xml, read_sndlib_traffic
from nettwin.io.text import read_text
from nettwin.io.traffic import (
    TrafficRecords,
    apply_traffic,
    read_traffic_csv,
    read_traffic_native,
)
from nettwin.model import Network


class NetworkFormat(enum.Enum):
    """Network file formats nettwin reads."""

    NATIVE = "native"  # YAML or JSON
    RFC8345 = "rfc8345"
    GRAPHML = "graphml"  # Topology Zoo
    SNDLIB_NATIVE = "sndlib-native"
    SNDLIB_XML = "sndlib-xml"
    REPETITA = "repetita"
    ROCKETFUEL = "rocketfuel"


class TrafficFormat(enum.Enum):
    """Traffic-matrix file formats nettwin reads."""

    SNDLIB_XML = "sndlib-xml"
    REPETITA = "repetita"
    CSV = "csv"
    NATIVE = "native"


def detect_network_format(path: Path) -> NetworkFormat:
    """Tell a network file's format from its name, then from its first bytes."""
    name, suffix = path.name.lower(), path.suffix.lower()
    if suffix == ".graphml":
        return NetworkFormat.GRAPHML
    if suffix == ".graph":
        return NetworkFormat.REPETITA
    if name.endswith(".intra"):
        return NetworkFormat.ROCKETFUEL
    head = read_text(path)[:4000] if path.is_file() else ""
    if suffix == ".xml":
        if "sndlib" in head or "<network" in head:
            return NetworkFormat.SNDLIB_XML
        if "graphml" in head:
            return NetworkFormat.GRAPHML
    if suffix == ".json":
        return NetworkFormat.RFC8345 if "ietf-network:networks" in head else NetworkFormat.NATIVE
    if suffix in (".yaml", ".yml"):
        return NetworkFormat.NATIVE
    if suffix == ".txt" and "NODES" in head and "SNDlib" in head:
        return NetworkFormat.SNDLIB_NATIVE
    raise UnknownFormatError(str(path), "cannot tell the network format from the name or "
                                        "content; pass it explicitly (--format on the command "
                                        "line, ?format= on an API upload), one of: "
                                        + ", ".join(f.value for f in NetworkFormat))


# What a parser raises on input it was not written for; never a reason for a traceback
_PARSER_FAILURES = (ValueError, TypeError, LookupError, AttributeError, OverflowError,
                    ZeroDivisionError, RecursionError, UnicodeError)  # LookupError: Key, Index


def load_network(path: str | Path, fmt: NetworkFormat | str | None = None,
                 options: ImportOptions | None = None) -> Network:
    """Read a network file in any supported format (detected unless ``fmt`` is given).

    Anything wrong with the file ends in a NettwinError naming it: the importers report
    what they recognise with the element and field; whatever else a hostile or broken file
    provokes in a parser is reported as a format error too, never a traceback."""
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(str(path), "no such file")
    fmt = NetworkFormat(fmt) if fmt is not None else detect_network_format(path)
    try:
        return _load_network(path, fmt, options or ImportOptions())
    except _PARSER_FAILURES as exc:
        raise _format_failure(path, fmt.value, exc) from exc


def _format_failure(path: Path, fmt: str, exc: BaseException) -> ImportFormatError:
    what = "nested too deeply" if isinstance(exc, RecursionError) else \
        f"{type(exc).__name__}: {str(exc)[:200]}"
    return ImportFormatError(str(path), f"not a readable {fmt} file ({what}); check it "
                                        f"against the {fmt} format or pass --format")


def _load_network(path: Path, fmt: NetworkFormat, options: ImportOptions) -> Network:
    if fmt is NetworkFormat.NATIVE:
        return import_native(path)
    if fmt is NetworkFormat.RFC8345:
        return import_rfc8345(path, options)
    if fmt is NetworkFormat.GRAPHML:
        return import_graphml(path, options)
    if fmt is NetworkFormat.SNDLIB_NATIVE:
        return import_sndlib_native(path, options)
    if fmt is NetworkFormat.SNDLIB_XML:
        return import_sndlib_xml(path, options)
    if fmt is NetworkFormat.REPETITA:
        return import_repetita(path)
    return import_rocketfuel(path, options)


def save_network(network: Network, path: str | Path,
                 fmt: NetworkFormat | str | None = None) -> None:
    """Write a network as native YAML/JSON (by suffix) or RFC 8345 JSON."""
    path = Path(path)
    fmt = NetworkFormat(fmt) if fmt is not None else (
        NetworkFormat.NATIVE if path.suffix.lower() in (".yaml", ".yml", ".json") else None)
    if fmt is NetworkFormat.NATIVE:
        export_native(network, path)
    elif fmt is NetworkFormat.RFC8345:
        export_rfc8345(network, path)
    else:
        raise UnknownFormatError(str(path), "can write native (.yaml/.yml/.json) or rfc8345; "
                                            "choose a suffix or pass the format")


def detect_traffic_format(path: Path) -> TrafficFormat:
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return TrafficFormat.SNDLIB_XML
    if suffix == ".demands":
        return TrafficFormat.REPETITA
    if suffix == ".csv":
        return TrafficFormat.CSV
    if suffix in (".yaml", ".yml", ".json"):
        return TrafficFormat.NATIVE
    raise UnknownFormatError(str(path), "cannot tell the traffic format from the suffix; use "
                                        ".xml (SNDlib), .demands (REPETITA), .csv or .yaml")


def load_traffic(network: Network, path: str | Path, fmt: TrafficFormat | str | None = None,
                 *, skip_invalid: bool = False) -> Network:
    """The network with its demands replaced by those of a traffic file."""
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(str(path), "no such file")
    if path.is_dir():
        raise ImportFormatError(str(path), "a directory, not a traffic file: give one matrix "
                                           "(.xml, .demands, .csv or .yaml); a series of "
                                           "matrices goes to --prior-from or --traffic-series")
    fmt = TrafficFormat(fmt) if fmt is not None else detect_traffic_format(path)
    records: TrafficRecords
    try:
        if fmt is TrafficFormat.SNDLIB_XML:
            records = read_sndlib_traffic(path)
        elif fmt is TrafficFormat.REPETITA:
            records = read_repetita_demands(path, list(network.node_ids))
        elif fmt is TrafficFormat.CSV:
            records = read_traffic_csv(path)
        else:
            records = read_traffic_native(path)
        return apply_traffic(network, records, source=path.name, skip_invalid=skip_invalid)
    except _PARSER_FAILURES as exc:
        raise _format_failure(path, fmt.value, exc) from exc
