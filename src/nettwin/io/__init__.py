"""Import and export: real network and traffic formats in, native and RFC 8345 out."""

from nettwin.io.formats import (
    NetworkFormat,
    TrafficFormat,
    detect_network_format,
    load_network,
    load_traffic,
    save_network,
)
from nettwin.io.options import ImportOptions, MetricPolicy

__all__ = [
    "ImportOptions",
    "MetricPolicy",
    "NetworkFormat",
    "TrafficFormat",
    "detect_network_format",
    "load_network",
    "load_traffic",
    "save_network",
]
