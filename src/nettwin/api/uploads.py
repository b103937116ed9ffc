"""Network uploads: the file name checked, the bytes bounded, parsing off the event loop.

A 48 MB upload parsed inside an async handler stalls every other request (health checks
included) for as long as the parse takes; here the event loop only receives bytes and the
import runs in a worker thread. What an upload may hold is bounded three ways, all in
:class:`~nettwin.api.settings.Settings`: ``max_upload_bytes`` (413), ``max_upload_elements``
(nodes + links + demands + services: 413; a YAML/JSON document may hold 16 values per
element, and its aliases may add at most as many elements as the limit: 422)
and ``max_upload_depth`` (nesting of YAML/JSON: 422). A request body larger than the limit is
refused from its Content-Length before it is read (``BodyLimit``).
"""

from __future__ import annotations

import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from nettwin.api.settings import Settings
from nettwin.errors import ImportFormatError, InputLimitError, NettwinError, ValidationError
from nettwin.io import NetworkFormat, load_network
from nettwin.io.capacity_files import sndlib_module_document
from nettwin.io.documents import InputLimits, input_limits
from nettwin.io.formats import detect_network_format
from nettwin.io.metrics import apply_metrics_file
from nettwin.model import Network

MAX_NAME_BYTES = 255  # what every common file system stores in one name
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries and part headers around the file
DOCUMENT_VALUES_PER_ELEMENT = 16  # a link record: its keys and values, radio, attributes
SNDLIB_FORMATS = (NetworkFormat.SNDLIB_NATIVE, NetworkFormat.SNDLIB_XML)  # carry modules


def check_upload_name(filename: str | None) -> str:
    """The upload's file name as the importers will see it, or 400 saying what is wrong.

    The name picks the format (by suffix) and names the network; it is written into a
    private temporary folder, so it must be one plain name: no folders, no '.'/'..', no
    control characters, at most 255 bytes."""
    name = "upload" if filename is None else filename
    problem = None
    if not name.strip():
        problem = "is empty"
    elif any(unicodedata.category(ch) == "Cc" for ch in name):
        problem = "contains control characters (NUL, newline, ...)"
    elif "/" in name or "\\" in name:
        problem = "contains a folder separator ('/' or '\\')"
    elif name in (".", "..") or not name.strip("."):
        problem = "is '.' or '..'"
    elif len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        problem = f"is longer than {MAX_NAME_BYTES} bytes"
    if problem:
        shown = name[:60].encode("unicode_escape").decode("ascii")
        raise HTTPException(400, detail=f"upload file name {shown!r} {problem}; send a plain "
                                        "file name such as network.yaml (its suffix picks "
                                        "the format)")
    return name


def upload_limits(settings: Settings) -> InputLimits:
    """The document limits for uploads, from the service settings."""
    return InputLimits(max_bytes=settings.max_upload_bytes, max_depth=settings.max_upload_depth,
                       max_elements=DOCUMENT_VALUES_PER_ELEMENT * settings.max_upload_elements,
                       max_alias_elements=min(100_000, settings.max_upload_elements))


@dataclass(frozen=True)
class Upload:
    """An uploaded network and what its file holds beside it that the network model does
    not: an SNDlib file's capacity modules and costs (a ``modules.yaml`` document), which a
    capacity job plans with when it gives no catalogue."""

    network: Network
    modules: dict[str, Any] | None = None


def parse_upload(data: bytes, name: str, fmt: NetworkFormat | None,
                 settings: Settings, metrics: tuple[str, bytes] | None = None) -> Upload:
    """Import uploaded bytes (blocking: call it from a worker thread), with the real IGP
    metrics of ``metrics`` (file name, bytes; the layouts of ``nettwin.io.metrics``) applied.
    Errors name the uploaded files, never the server's temporary copies; limits exceeded
    raise 413."""
    with tempfile.TemporaryDirectory(prefix="nettwin-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        # the metrics in a folder of their own: the two parts may share a file name
        folder = Path(tmp) / "metrics"
        prefixes = (f"{folder}/", f"{tmp}/")
        try:
            with input_limits(upload_limits(settings)):
                network = load_network(path, fmt)
                modules = (sndlib_module_document(path, network)
                           if (fmt or detect_network_format(path)) in SNDLIB_FORMATS
                           else None)
                if metrics is not None:
                    folder.mkdir()
                    (folder / metrics[0]).write_bytes(metrics[1])
                    network = apply_metrics_file(network, folder / metrics[0])
        except InputLimitError as exc:
            raise HTTPException(413, detail=without_prefix(exc, *prefixes).args[0]) from None
        except NettwinError as exc:
            raise without_prefix(exc, *prefixes) from None
    elements = (len(network.nodes) + len(network.links) + len(network.demands)
                + len(network.services))
    if elements > settings.max_upload_elements:
        raise HTTPException(413, detail=f"{name}: {elements:,} nodes, links, demands and "
                                        f"services, more than {settings.max_upload_elements:,};"
                                        " raise NETTWIN_MAX_UPLOAD_ELEMENTS")
    return Upload(network, modules)


async def _read_part(file: UploadFile, settings: Settings) -> bytes:
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, detail=f"upload larger than {settings.max_upload_bytes:,} "
                                        "bytes; raise NETTWIN_MAX_UPLOAD_BYTES")
    return data


async def load_upload(file: UploadFile, fmt: NetworkFormat | None, settings: Settings,
                      metrics: UploadFile | None = None) -> Upload:
    """An uploaded network, with its real IGP metrics when the ``metrics`` part is given:
    names checked (400), sizes bounded (413), parsed and validated in a worker thread (422
    with every problem)."""
    name = check_upload_name(file.filename)
    data = await _read_part(file, settings)
    extra = None
    if metrics is not None:
        extra = (check_upload_name(metrics.filename or "metrics.csv"),
                 await _read_part(metrics, settings))
    return await run_in_threadpool(parse_upload, data, name, fmt, settings, extra)


def without_prefix(exc: NettwinError, *prefixes: str) -> NettwinError:
    """The same error, naming the uploaded files rather than the server's temporary copies
    (``prefixes``: the temporary folders, the innermost first)."""
    import dataclasses

    def clean(text: str) -> str:
        for prefix in prefixes:
            text = text.replace(prefix, "")
        return text

    if isinstance(exc, ValidationError):
        problems = [dataclasses.replace(p, element=clean(p.element)) for p in exc.problems]
        return ValidationError(problems, clean(exc.source or "") or None)
    if isinstance(exc, ImportFormatError):
        return type(exc)(clean(exc.path), clean(exc.message), exc.line)
    return NettwinError(clean(str(exc)))


class BodyLimit:
    """ASGI middleware: a multipart upload whose declared Content-Length exceeds the upload
    limit is answered 413 before a byte of it is read or spooled to disk; a body without a
    length (chunked) is cut off with 413 once it passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes + MULTIPART_OVERHEAD_BYTES

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0

        async def bounded() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(413, detail="request body too large")
            return message

        try:
            await self.app(scope, bounded, send)
        except HTTPException as exc:
            if exc.status_code != 413:
                raise
            await _too_large(send, self.max_bytes)


async def _too_large(send: Send, limit: int) -> None:
    body = (b'{"detail":"request body larger than %d bytes; raise NETTWIN_MAX_UPLOAD_BYTES"}'
            % limit)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
