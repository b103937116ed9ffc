"""Serving over TLS: a real uvicorn server on loopback with a certificate made by the test."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from nettwin.api import Settings, create_app
from tests.api.conftest import running_server


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_https_with_a_certificate(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    app = create_app(Settings(data_dir=tmp_path, load_example=False))
    with running_server(app, ssl_certfile=str(cert), ssl_keyfile=str(key)) as port:
        r = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=str(cert), timeout=5)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            plain_refused = False
        except httpx.HTTPError:
            plain_refused = True
        assert plain_refused
