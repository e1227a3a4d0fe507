"""The ``x-auth-sign`` signature profile, BFIA-SIGN-V1 (``docs/signature-profile.md``).

What is signed
    :func:`string_to_sign` builds the ten-line string of ``/work/shared/spec/PROFILE.md``;
    :func:`canonical_query` and :func:`body_digest` build its query and body lines.

Who signs
    :class:`SigningKey` holds this node's private key (and certificate for ``CERT``) and signs.

Who verifies
    :func:`load_credential` turns a partner's ``auth_type`` + ``auth_credential`` into a
    :class:`PublicCredential` (parsed once, then cached) whose :meth:`PublicCredential.verify`
    is the hot-path check. It never raises for a bad signature; it returns ``False``.

Algorithms are pluggable: :data:`SCHEMES` maps an :class:`AuthType` to a
:class:`SignatureScheme`. ``SM2`` (SM2 with SM3, user id :data:`SM2_USER_ID`) has no scheme in
this build; registering one in :data:`SCHEMES` is all it takes to support it, for bare keys
and for certificates alike.
"""

from __future__ import annotations

import abc
import base64
import binascii
import datetime as dt
import enum
import functools
import hashlib
import re
import secrets
import urllib.parse
from dataclasses import dataclass, field
from typing import ClassVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import NameOID

from interconn.errors import AuthError, MalformedRequest

__all__ = [
    "DEFAULT_TIMESTAMP_WINDOW_S",
    "MAX_CREDENTIAL_PEM_CHARS",
    "NONCE_RE",
    "SCHEMES",
    "SECONDS_TIMESTAMP_LIMIT",
    "SIGN_VERSION",
    "SM2_USER_ID",
    "AuthType",
    "CredentialError",
    "EcdsaP256Scheme",
    "PublicCredential",
    "RsaPkcs1Scheme",
    "SignatureScheme",
    "SigningKey",
    "body_digest",
    "canonical_query",
    "clear_credential_cache",
    "load_credential",
    "new_nonce",
    "parse_timestamp_ms",
    "sign_request",
    "string_to_sign",
    "verify_request",
]

SIGN_VERSION = "BFIA-SIGN-V1"

#: Accepted clock skew for ``x-timestamp``, in seconds, either side of "now" (configurable by
#: the verifier; this is the profile's default).
DEFAULT_TIMESTAMP_WINDOW_S = 300

#: ``x-timestamp`` values below this are taken to be seconds, not milliseconds
#: (10**11 ms is March 1973; 10**11 s is the year 5138).
SECONDS_TIMESTAMP_LIMIT = 10**11

#: ``x-nonce``: 16-128 characters of ``[A-Za-z0-9_-]``. ``\Z`` (not ``$``) so that a trailing
#: newline cannot sneak through ``match``.
NONCE_RE: re.Pattern[str] = re.compile(r"\A[A-Za-z0-9_-]{16,128}\Z")

#: SM2 signer id the profile fixes (GB/T 35276 default), for a future SM2 scheme.
SM2_USER_ID = b"1234567812345678"

#: An ``auth_credential`` longer than this is refused before any parsing or caching
#: (a PEM certificate with an RSA-8192 key is about 3 KiB).
MAX_CREDENTIAL_PEM_CHARS = 16 * 1024

#: Base64 signatures longer than this are rejected without decoding (RSA-16384 is 2732 chars).
_MAX_SIGNATURE_B64_CHARS = 4096

#: A certificate whose notBefore is at most this far in the future is accepted (clock skew).
_CERT_NOT_BEFORE_LEEWAY = dt.timedelta(seconds=DEFAULT_TIMESTAMP_WINDOW_S)

_TIMESTAMP_RE = re.compile(r"\A[0-9]{1,18}\Z")

_RSA_MIN_BITS = 2048


class AuthType(enum.StrEnum):
    """``auth_type`` values of the profile. ``CERT`` wraps an RSA or ECDSA P-256 key."""

    SHA256_RSA = "SHA256_RSA"
    SHA256_ECDSA = "SHA256_ECDSA"
    SM2 = "SM2"
    CERT = "CERT"


class CredentialError(AuthError):
    """``auth_type``/``auth_credential`` (or a local key) is unsupported or unusable."""

    code_name = "CREDENTIAL_INVALID"


# --------------------------------------------------------------------------- string to sign


def canonical_query(raw_query: str) -> str:
    """Canonical form of a URL query string (line 4 of the string to sign).

    ``raw_query`` is the query as sent, without the leading ``?``. It is split on ``&``
    (empty pieces dropped), each piece on its first ``=`` (no ``=`` means an empty value),
    ``+`` is read as a space and ``%XX`` escapes are decoded, exactly like
    ``urllib.parse.parse_qsl(raw_query, keep_blank_values=True)``, except that decoding is
    to *bytes*: an escape that is not valid UTF-8 (``%FF``) is preserved, not replaced by
    U+FFFD, so two different queries never share a canonical form. Malformed escapes
    (``%zz``, a lone ``%``) stay literal text.

    Each name and value is then re-encoded per RFC 3986: bytes of ``A-Za-z0-9-._~`` as
    themselves, every other byte of the UTF-8 form as ``%XX`` with upper-case hex.
    Pairs are sorted by encoded name, then encoded value (plain ASCII order) and joined as
    ``name=value`` with ``&``. No parameters give the empty string.

    Characters outside ASCII in ``raw_query`` are taken as UTF-8. A server holding the raw
    query bytes should pass ``raw.decode("utf-8", "surrogateescape")``; the bytes are then
    recovered exactly.
    """
    if not raw_query:
        return ""
    try:
        data = raw_query.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise MalformedRequest(
            "the query string is not valid text (lone surrogate)", code_name="MALFORMED_QUERY"
        ) from exc
    pairs: list[tuple[str, str]] = []
    for piece in data.split(b"&"):
        if not piece:
            continue
        name, _, value = piece.partition(b"=")
        pairs.append((_rfc3986(_form_decode(name)), _rfc3986(_form_decode(value))))
    pairs.sort()
    return "&".join(f"{name}={value}" for name, value in pairs)


def _form_decode(part: bytes) -> bytes:
    return urllib.parse.unquote_to_bytes(part.replace(b"+", b" "))


def _rfc3986(data: bytes) -> str:
    # quote_from_bytes always keeps A-Za-z0-9 and "_.-~" and writes upper-case hex.
    return urllib.parse.quote_from_bytes(data, safe="")


def body_digest(body: bytes) -> str:
    """Lower-case hex SHA-256 of the raw body bytes (line 10); ``b""`` when there is no body."""
    return hashlib.sha256(body).hexdigest()


def string_to_sign(
    *,
    method: str,
    path: str,
    raw_query: str,
    source_node_id: str,
    target_node_id: str,
    timestamp: str,
    nonce: str,
    token_set: str,
    body: bytes,
) -> str:
    """The ten lines of the profile joined with ``"\\n"``, no trailing newline.

    Header values (``timestamp``, ``nonce``, ``token_set``, node ids) are used verbatim, as
    sent; pass ``""`` for an absent ``x-mprac-token-set``. ``path`` is the path as sent
    (still percent-encoded), without the query. A field containing CR or LF would make the
    lines ambiguous and raises :class:`~interconn.errors.MalformedRequest`
    (``MALFORMED_HEADER``).
    """
    single_lines = {
        "method": method,
        "path": path,
        "x-source-node-id": source_node_id,
        "x-target-node-id": target_node_id,
        "x-timestamp": timestamp,
        "x-nonce": nonce,
        "x-mprac-token-set": token_set,
    }
    for label, value in single_lines.items():
        if "\n" in value or "\r" in value:
            raise MalformedRequest(
                f"{label} must not contain a line break", code_name="MALFORMED_HEADER"
            )
    return "\n".join(
        [
            SIGN_VERSION,
            method.upper(),
            path,
            canonical_query(raw_query),
            source_node_id,
            target_node_id,
            timestamp,
            nonce,
            token_set,
            body_digest(body),
        ]
    )


# --------------------------------------------------------------------------- header helpers


def new_nonce() -> str:
    """32 random characters of ``[A-Za-z0-9_-]`` (192 bits)."""
    return secrets.token_urlsafe(24)


def parse_timestamp_ms(value: str) -> int:
    """``x-timestamp`` as epoch milliseconds.

    Only ASCII digits are accepted (no sign, blanks or ``_``). Values below
    :data:`SECONDS_TIMESTAMP_LIMIT` are seconds, as some platforms send, and are multiplied
    by 1000. Raises :class:`~interconn.errors.MalformedRequest` (``MALFORMED_HEADER``)
    otherwise. The window check is the caller's (see :data:`DEFAULT_TIMESTAMP_WINDOW_S`).
    """
    if not isinstance(value, str) or not _TIMESTAMP_RE.match(value):
        raise MalformedRequest(
            f"x-timestamp must be an integer number of milliseconds since the Unix epoch, "
            f"got {str(value)[:40]!r}",
            code_name="MALFORMED_HEADER",
        )
    number = int(value)
    return number * 1000 if number < SECONDS_TIMESTAMP_LIMIT else number


# --------------------------------------------------------------------------- algorithms


class SignatureScheme(abc.ABC):
    """One signature algorithm; an instance registered in :data:`SCHEMES` enables it.

    Keys are the ``cryptography`` key objects. A scheme whose keys ``cryptography`` cannot
    parse (SM2 today) overrides :meth:`load_public_key` and :meth:`load_private_key` too.
    """

    auth_type: ClassVar[AuthType]

    def load_public_key(self, pem: bytes) -> PublicKeyTypes:
        """Parse a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo; PKCS#1 RSA is tolerated)."""
        try:
            return serialization.load_pem_public_key(pem)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise CredentialError(
                f"auth_credential for {self.auth_type} is not a valid PEM PUBLIC KEY "
                f"(SubjectPublicKeyInfo): {exc}"
            ) from exc

    def load_private_key(self, pem: bytes) -> PrivateKeyTypes:
        """Parse an unencrypted PEM private key (PKCS#8, or the traditional formats)."""
        try:
            return serialization.load_pem_private_key(pem, password=None)
        except TypeError as exc:
            raise CredentialError(
                "the private key PEM is encrypted; provide an unencrypted PKCS#8 key"
            ) from exc
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise CredentialError(f"the private key PEM cannot be parsed: {exc}") from exc

    @abc.abstractmethod
    def accepts(self, key: PublicKeyTypes) -> bool:
        """Whether ``key`` is of this scheme's key family (used to route ``CERT``)."""

    @abc.abstractmethod
    def check_public_key(self, key: PublicKeyTypes) -> None:
        """Raise :class:`CredentialError` unless ``key`` is usable with this scheme."""

    @abc.abstractmethod
    def check_private_key(self, key: PrivateKeyTypes) -> None:
        """Raise :class:`CredentialError` unless ``key`` is usable with this scheme."""

    @abc.abstractmethod
    def generate(self) -> PrivateKeyTypes:
        """A fresh private key."""

    @abc.abstractmethod
    def sign(self, key: PrivateKeyTypes, message: bytes) -> bytes:
        """Raw signature bytes over ``message``."""

    @abc.abstractmethod
    def verify(self, key: PublicKeyTypes, signature: bytes, message: bytes) -> bool:
        """``True`` iff ``signature`` is valid; never raises for a bad signature."""


class RsaPkcs1Scheme(SignatureScheme):
    """``SHA256_RSA``: RSASSA-PKCS1-v1_5 with SHA-256, modulus of at least 2048 bits."""

    auth_type = AuthType.SHA256_RSA

    def accepts(self, key: PublicKeyTypes) -> bool:
        return isinstance(key, rsa.RSAPublicKey)

    def check_public_key(self, key: PublicKeyTypes) -> None:
        if not isinstance(key, rsa.RSAPublicKey):
            raise CredentialError(f"{self.auth_type} needs an RSA public key, got {_key_kind(key)}")
        _check_rsa_size(key.key_size)

    def check_private_key(self, key: PrivateKeyTypes) -> None:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CredentialError(
                f"{self.auth_type} needs an RSA private key, got {_key_kind(key)}"
            )
        _check_rsa_size(key.key_size)

    def generate(self) -> PrivateKeyTypes:
        return rsa.generate_private_key(public_exponent=65537, key_size=_RSA_MIN_BITS)

    def sign(self, key: PrivateKeyTypes, message: bytes) -> bytes:
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("RSA scheme needs an RSA private key")
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def verify(self, key: PublicKeyTypes, signature: bytes, message: bytes) -> bool:
        if not isinstance(key, rsa.RSAPublicKey):
            return False
        try:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            return False
        return True


# Immutable parameters, built once: verification is on the hot path of every call.
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


class EcdsaP256Scheme(SignatureScheme):
    """``SHA256_ECDSA``: ECDSA on P-256 (secp256r1) with SHA-256, DER-encoded (r, s)."""

    auth_type = AuthType.SHA256_ECDSA

    def accepts(self, key: PublicKeyTypes) -> bool:
        return isinstance(key, ec.EllipticCurvePublicKey)

    def check_public_key(self, key: PublicKeyTypes) -> None:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise CredentialError(
                f"{self.auth_type} needs an EC P-256 public key, got {_key_kind(key)}"
            )
        _check_p256(key.curve)

    def check_private_key(self, key: PrivateKeyTypes) -> None:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise CredentialError(
                f"{self.auth_type} needs an EC P-256 private key, got {_key_kind(key)}"
            )
        _check_p256(key.curve)

    def generate(self) -> PrivateKeyTypes:
        return ec.generate_private_key(ec.SECP256R1())

    def sign(self, key: PrivateKeyTypes, message: bytes) -> bytes:
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise TypeError("ECDSA scheme needs an EC private key")
        return key.sign(message, ec.ECDSA(hashes.SHA256()))

    def verify(self, key: PublicKeyTypes, signature: bytes, message: bytes) -> bool:
        if not isinstance(key, ec.EllipticCurvePublicKey):
            return False
        try:
            key.verify(signature, message, _ECDSA_SHA256)
        except (InvalidSignature, ValueError):
            return False
        return True


def _check_rsa_size(bits: int) -> None:
    if bits < _RSA_MIN_BITS:
        raise CredentialError(
            f"RSA key is {bits} bits; SHA256_RSA needs at least {_RSA_MIN_BITS} bits"
        )


def _check_p256(curve: ec.EllipticCurve) -> None:
    if not isinstance(curve, ec.SECP256R1):
        raise CredentialError(
            f"EC key is on curve {curve.name}; SHA256_ECDSA needs P-256 (secp256r1)"
        )


def _key_kind(key: object) -> str:
    if isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return f"an RSA-{key.key_size} key"
    if isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return f"an EC key on {key.curve.name}"
    return f"a {type(key).__name__.lstrip('_')}"


#: The algorithm registry. ``CERT`` is not an algorithm: a certificate is routed to the
#: scheme whose :meth:`SignatureScheme.accepts` takes its key. ``SM2`` is absent until a
#: scheme for it is registered here.
SCHEMES: dict[AuthType, SignatureScheme] = {
    AuthType.SHA256_RSA: RsaPkcs1Scheme(),
    AuthType.SHA256_ECDSA: EcdsaP256Scheme(),
}


def _parse_auth_type(value: str) -> AuthType:
    if isinstance(value, AuthType):
        return value
    if isinstance(value, str):
        try:
            return AuthType(value.strip().upper())
        except ValueError:
            pass
    supported = ", ".join(a.value for a in AuthType)
    raise CredentialError(f"unknown auth_type {str(value)[:40]!r}; expected one of {supported}")


def _scheme_for(auth_type: AuthType) -> SignatureScheme:
    scheme = SCHEMES.get(auth_type)
    if scheme is not None:
        return scheme
    if auth_type is AuthType.SM2:
        raise CredentialError("SM2 is not supported by this build yet")
    raise CredentialError(f"auth_type {auth_type} is not supported by this build")


def _scheme_for_certificate_key(key: PublicKeyTypes) -> SignatureScheme:
    for scheme in SCHEMES.values():
        if scheme.accepts(key):
            scheme.check_public_key(key)
            return scheme
    raise CredentialError(
        f"the certificate carries {_key_kind(key)}; CERT supports RSA (>= 2048 bits) "
        "or EC P-256 keys"
    )


def _load_certificate(pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise CredentialError(
            f"auth_credential for CERT is not a valid PEM CERTIFICATE: {exc}"
        ) from exc


def _certificate_key(cert: x509.Certificate) -> PublicKeyTypes:
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CredentialError(f"the certificate's public key type is not supported: {exc}") from exc
    return key


def _spki_der(key: PublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class PublicCredential:
    """A partner's verified-to-be-usable credential, parsed once.

    ``auth_type`` is what the partner declared (``CERT`` included); ``algorithm`` is the
    signature algorithm actually used (``SHA256_RSA`` or ``SHA256_ECDSA``). Equality is by
    ``(auth_type, pem)``.
    """

    auth_type: AuthType
    pem: str = field(repr=False)
    key: PublicKeyTypes = field(compare=False, repr=False)
    algorithm: AuthType = field(compare=False)
    _scheme: SignatureScheme = field(compare=False, repr=False)
    _fingerprint: str = field(compare=False, repr=False)
    certificate: x509.Certificate | None = field(default=None, compare=False, repr=False)
    not_valid_before: dt.datetime | None = field(default=None, compare=False, repr=False)
    not_valid_after: dt.datetime | None = field(default=None, compare=False)

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the DER SubjectPublicKeyInfo (also for ``CERT``), for logs."""
        return self._fingerprint

    def validity_problem(self, now: dt.datetime | None = None) -> str | None:
        """Why a ``CERT`` credential is not usable at ``now``; ``None`` if it is."""
        if self.not_valid_before is None or self.not_valid_after is None:
            return None
        now = now or _utcnow()
        if now + _CERT_NOT_BEFORE_LEEWAY < self.not_valid_before:
            return f"the certificate is not valid before {self.not_valid_before.isoformat()}"
        if now > self.not_valid_after:
            return f"the certificate expired at {self.not_valid_after.isoformat()}"
        return None

    def check_validity(self, now: dt.datetime | None = None) -> None:
        """Raise :class:`CredentialError` if a ``CERT`` credential is outside its validity."""
        problem = self.validity_problem(now)
        if problem is not None:
            raise CredentialError(problem)

    def verify(self, signature_b64: str, message: bytes) -> bool:
        """``True`` iff ``signature_b64`` (standard base64) is a valid signature of ``message``.

        Returns ``False`` (never raises) for empty, oversized or non-base64 input, a bad
        signature, or a ``CERT`` credential outside its validity period.
        """
        if not signature_b64 or len(signature_b64) > _MAX_SIGNATURE_B64_CHARS:
            return False
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError, TypeError):
            return False
        if self.not_valid_after is not None and self.validity_problem() is not None:
            return False
        return self._scheme.verify(self.key, signature, message)


def load_credential(auth_type: str, pem: str) -> PublicCredential:
    """Parse and check a partner's ``auth_type`` + ``auth_credential``.

    ``auth_type`` is case-insensitive. ``SHA256_RSA`` and ``SHA256_ECDSA`` take a PEM
    ``PUBLIC KEY`` (RSA >= 2048 bits; EC P-256); ``CERT`` takes a PEM ``CERTIFICATE`` whose
    key (RSA >= 2048 or EC P-256) selects the algorithm and whose validity period must
    include now. ``SM2`` is not supported yet. Any problem raises :class:`CredentialError`
    with a message saying what is wrong.

    Parsing is cached (LRU, 4096 entries): the same inputs return the same object. The
    certificate validity period is re-checked on every call, so a cached certificate that
    has since expired is refused.
    """
    kind = _parse_auth_type(auth_type)
    if not isinstance(pem, str) or not pem.strip():
        raise CredentialError("auth_credential is empty; send a PEM PUBLIC KEY or CERTIFICATE")
    if len(pem) > MAX_CREDENTIAL_PEM_CHARS:
        raise CredentialError(
            f"auth_credential is {len(pem)} characters; at most {MAX_CREDENTIAL_PEM_CHARS} "
            "are accepted"
        )
    credential = _load_credential_cached(kind, pem)
    credential.check_validity()
    return credential


def clear_credential_cache() -> None:
    """Forget every parsed credential (tests, or after a key rotation storm)."""
    _load_credential_cached.cache_clear()


@functools.lru_cache(maxsize=4096)
def _load_credential_cached(auth_type: AuthType, pem: str) -> PublicCredential:
    data = pem.encode("utf-8", "replace")
    if b"PRIVATE KEY-----" in data:
        raise CredentialError(
            "auth_credential contains a PRIVATE KEY; send only the public key or certificate "
            "(and replace that key: it has been disclosed)"
        )
    certificate: x509.Certificate | None = None
    if auth_type is AuthType.CERT:
        if b"-----BEGIN CERTIFICATE-----" not in data:
            raise CredentialError(
                "auth_type CERT needs a PEM CERTIFICATE (-----BEGIN CERTIFICATE-----) in "
                "auth_credential"
            )
        certificate = _load_certificate(data)
        key = _certificate_key(certificate)
        scheme = _scheme_for_certificate_key(key)
    else:
        scheme = _scheme_for(auth_type)
        if b"-----BEGIN CERTIFICATE-----" in data:
            raise CredentialError(
                f"auth_type {auth_type} needs a PEM PUBLIC KEY in auth_credential, got a "
                "CERTIFICATE; declare auth_type CERT to use a certificate"
            )
        key = scheme.load_public_key(data)
        scheme.check_public_key(key)
    return PublicCredential(
        auth_type=auth_type,
        pem=pem,
        key=key,
        algorithm=scheme.auth_type,
        certificate=certificate,
        not_valid_before=certificate.not_valid_before_utc if certificate else None,
        not_valid_after=certificate.not_valid_after_utc if certificate else None,
        _scheme=scheme,
        _fingerprint=hashlib.sha256(_spki_der(key)).hexdigest(),
    )


# --------------------------------------------------------------------------- signing


class SigningKey:
    """This node's private key (plus self-signed certificate for ``CERT``)."""

    __slots__ = ("_certificate", "_key", "_scheme", "auth_type")

    auth_type: AuthType

    def __init__(
        self,
        auth_type: AuthType,
        key: PrivateKeyTypes,
        certificate: x509.Certificate | None,
        scheme: SignatureScheme,
    ) -> None:
        self.auth_type = auth_type
        self._key = key
        self._certificate = certificate
        self._scheme = scheme

    def __repr__(self) -> str:
        return f"SigningKey({self.auth_type}, fingerprint={self.fingerprint[:16]}...)"

    @classmethod
    def generate(
        cls,
        auth_type: AuthType = AuthType.SHA256_ECDSA,
        *,
        common_name: str = "interconn-node",
    ) -> SigningKey:
        """A new key: RSA-2048, EC P-256, or for ``CERT`` an EC P-256 key with a self-signed
        certificate for ``common_name`` valid for 10 years (from one hour ago)."""
        kind = _parse_auth_type(auth_type)
        if kind is AuthType.CERT:
            scheme = SCHEMES[AuthType.SHA256_ECDSA]
            key = scheme.generate()
            return cls(kind, key, _self_signed_certificate(key, common_name), scheme)
        scheme = _scheme_for(kind)
        return cls(kind, scheme.generate(), None, scheme)

    @classmethod
    def from_pem(
        cls,
        auth_type: AuthType,
        private_pem: bytes,
        certificate_pem: bytes | None = None,
    ) -> SigningKey:
        """Load an unencrypted PEM private key (and, for ``CERT``, its PEM certificate).

        The certificate's public key must match the private key. Its validity period is not
        checked here (partners will refuse an expired one; :meth:`public_credential` raises).
        """
        kind = _parse_auth_type(auth_type)
        if kind is AuthType.CERT:
            if certificate_pem is None:
                raise CredentialError("auth_type CERT needs certificate_pem")
            certificate = _load_certificate(certificate_pem)
            cert_key = _certificate_key(certificate)
            scheme = _scheme_for_certificate_key(cert_key)
            key = scheme.load_private_key(private_pem)
            scheme.check_private_key(key)
            if _spki_der(key.public_key()) != _spki_der(cert_key):
                raise CredentialError("the certificate does not belong to the private key")
            return cls(kind, key, certificate, scheme)
        if certificate_pem is not None:
            raise CredentialError(f"certificate_pem is only used with auth_type CERT, not {kind}")
        scheme = _scheme_for(kind)
        key = scheme.load_private_key(private_pem)
        scheme.check_private_key(key)
        return cls(kind, key, None, scheme)

    def private_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def certificate_pem(self) -> bytes | None:
        if self._certificate is None:
            return None
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def credential_pem(self) -> str:
        """The ``auth_credential`` to publish: PEM PUBLIC KEY, or PEM CERTIFICATE for CERT."""
        cert = self.certificate_pem()
        if cert is not None:
            return cert.decode("ascii")
        spki = self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return spki.decode("ascii")

    @property
    def fingerprint(self) -> str:
        """Hex SHA-256 of the DER SubjectPublicKeyInfo, as :attr:`PublicCredential.fingerprint`."""
        return hashlib.sha256(_spki_der(self._key.public_key())).hexdigest()

    def public_credential(self) -> PublicCredential:
        return load_credential(self.auth_type, self.credential_pem())

    def sign(self, message: bytes) -> str:
        """Standard base64 of the signature over ``message``."""
        return base64.b64encode(self._scheme.sign(self._key, message)).decode("ascii")


def _self_signed_certificate(key: PrivateKeyTypes, common_name: str) -> x509.Certificate:
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TypeError("certificates are issued for RSA or EC keys only")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _utcnow()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=3653))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )


def sign_request(
    key: SigningKey,
    *,
    method: str,
    path: str,
    raw_query: str,
    source_node_id: str,
    target_node_id: str,
    timestamp: str,
    nonce: str,
    token_set: str,
    body: bytes,
) -> str:
    """``x-auth-sign`` for a request: ``key.sign(string_to_sign(...).encode())``."""
    return key.sign(
        string_to_sign(
            method=method,
            path=path,
            raw_query=raw_query,
            source_node_id=source_node_id,
            target_node_id=target_node_id,
            timestamp=timestamp,
            nonce=nonce,
            token_set=token_set,
            body=body,
        ).encode("utf-8")
    )


def verify_request(
    credential: PublicCredential,
    signature_b64: str,
    *,
    method: str,
    path: str,
    raw_query: str,
    source_node_id: str,
    target_node_id: str,
    timestamp: str,
    nonce: str,
    token_set: str,
    body: bytes,
) -> bool:
    """Counterpart of :func:`sign_request`; ``False`` also for fields with line breaks."""
    try:
        message = string_to_sign(
            method=method,
            path=path,
            raw_query=raw_query,
            source_node_id=source_node_id,
            target_node_id=target_node_id,
            timestamp=timestamp,
            nonce=nonce,
            token_set=token_set,
            body=body,
        )
        data = message.encode("utf-8")
    except (MalformedRequest, UnicodeEncodeError):
        return False
    return credential.verify(signature_b64, data)
