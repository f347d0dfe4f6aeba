"""The node endpoint's serving certificate: self-signed, made once, reused on restart.

``ensure_serving_cert`` writes ``node.crt``/``node.key`` (ECDSA P-256, one
year, SANs: the node name, its address, 127.0.0.1 and localhost) under the
agent's pki directory.  The API server does not verify it yet (docs/api-server.md);
a cluster-CA-signed certificate can replace the files.
"""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def ensure_serving_cert(pki: Path, node_name: str, address: str) -> tuple[Path, Path]:
    cert_path, key_path = pki / "node.crt", pki / "node.key"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    pki.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"system:node:{node_name}")])
    now = datetime.datetime.now(datetime.UTC)
    sans: list[x509.GeneralName] = [x509.DNSName(node_name), x509.DNSName("localhost"),
                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    if address and address != "127.0.0.1":
        sans.append(x509.IPAddress(ipaddress.ip_address(address)))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(key, hashes.SHA256()))
    key_path.touch(mode=0o600)
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path
