"""The cluster CA and the API server's serving certificate, kept under data_dir/pki.

`ensure_pki` is the one entry point: on first start it creates a CA and a serving
certificate signed by it; on a restart it reuses both, and re-issues only the serving
certificate when the wanted SANs are not all in it (a new advertise address). The
pure part, `plan_sans`, decides which names and addresses the certificate covers.
Keys are ECDSA P-256: quick to generate and accepted by kubectl and client-go.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from berth.server.errors import PKIError

CA_VALIDITY = datetime.timedelta(days=3650)
CERT_VALIDITY = datetime.timedelta(days=365)
BUILTIN_DNS = ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
               "kubernetes.default.svc.cluster.local")
BUILTIN_IPS = ("127.0.0.1",)


@dataclass(frozen=True)
class PKIPaths:
    """Where the PKI files of one data directory live."""

    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.dir / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.dir / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.dir / "server.key"


@dataclass(frozen=True)
class SANs:
    """Subject alternative names of the serving certificate."""

    dns: frozenset[str]
    ips: frozenset[str]


def plan_sans(extra: tuple[str, ...]) -> SANs:
    """Builtin names plus each extra entry, sorted into IP addresses and DNS names."""
    dns, ips = set(BUILTIN_DNS), set(BUILTIN_IPS)
    for item in extra:
        try:
            ips.add(str(ipaddress.ip_address(item)))
        except ValueError:
            dns.add(item)
    return SANs(frozenset(dns), frozenset(ips))


def ensure_pki(pki_dir: Path, extra_sans: tuple[str, ...] = ()) -> PKIPaths:
    """Create or reuse the CA and serving certificate; return their paths."""
    paths = PKIPaths(pki_dir)
    pki_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not paths.ca_cert.exists() or not paths.ca_key.exists():
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _issue_ca(ca_key)
        _write_key(paths.ca_key, ca_key)
        paths.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        for stale in (paths.server_cert, paths.server_key):
            stale.unlink(missing_ok=True)
    ca_cert, ca_key = _load_ca(paths)
    wanted = plan_sans(extra_sans)
    if not _serving_cert_covers(paths, wanted):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _issue_serving(ca_cert, ca_key, key, wanted)
        _write_key(paths.server_key, key)
        paths.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return paths


def _issue_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth-ca")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                          content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )


def _issue_serving(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
                   key: ec.EllipticCurvePrivateKey, sans: SANs) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    alt: list[x509.GeneralName] = [x509.DNSName(d) for d in sorted(sans.dns)]
    alt += [x509.IPAddress(ipaddress.ip_address(i)) for i in sorted(sans.ips)]
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CERT_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _load_ca(paths: PKIPaths) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise PKIError(f"{paths.dir}: cannot load the CA ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PKIError(f"{paths.ca_key}: expected an ECDSA private key")
    return cert, key


def _serving_cert_covers(paths: PKIPaths, wanted: SANs) -> bool:
    if not paths.server_cert.exists() or not paths.server_key.exists():
        return False
    try:
        cert = x509.load_pem_x509_certificate(paths.server_cert.read_bytes())
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    have_dns = set(ext.get_values_for_type(x509.DNSName))
    have_ips = {str(i) for i in ext.get_values_for_type(x509.IPAddress)}
    fresh = cert.not_valid_after_utc > datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        days=30)
    return fresh and wanted.dns <= have_dns and wanted.ips <= have_ips


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
