"""The BFIA-SIGN-V1 signature layer: vectors, algorithms, credential checks, properties."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID
from hypothesis import assume, given
from hypothesis import strategies as st

from interconn.errors import MalformedRequest
from interconn.security.signing import (
    NONCE_RE,
    SIGN_VERSION,
    AuthType,
    CredentialError,
    PublicCredential,
    SigningKey,
    body_digest,
    canonical_query,
    load_credential,
    new_nonce,
    parse_timestamp_ms,
    sign_request,
    string_to_sign,
    verify_request,
)

VECTORS_PATH = Path(__file__).resolve().parents[2] / "docs" / "vectors" / "signature-v1.json"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = VECTORS["cases"]
CASES_BY_NAME = {c["name"]: c for c in CASES}

FIELDS: dict[str, Any] = {
    "method": "POST",
    "path": "/v1/interconn/dataset/audit/apply",
    "raw_query": "b=2&a=%E4%B8%AD",
    "source_node_id": "node-alpha",
    "target_node_id": "node-beta",
    "timestamp": "1733212800000",
    "nonce": "Zk3q9_v-Tx2LmN8pQr4sUw6yAbCdEfGh",
    "token_set": "ds-1/PUBLIC/tk1,proj-2/PRIVATE/tk2",
    "body": b'{"audit_id":"a-1"}',
}

ALGORITHMS = [AuthType.SHA256_RSA, AuthType.SHA256_ECDSA, AuthType.CERT]


def _message(case: dict[str, Any]) -> bytes:
    return str(case["expected_string_to_sign"]).encode("utf-8")


def _spki_pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _certificate(
    key: CertificateIssuerPrivateKeyTypes,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module", params=ALGORITHMS, ids=str)
def key(request: pytest.FixtureRequest) -> SigningKey:
    auth_type: AuthType = request.param
    return SigningKey.generate(auth_type, common_name="node-alpha")


# --------------------------------------------------------------------------- vectors


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_vector_case(case: dict[str, Any]) -> None:
    inputs = dict(case["inputs"])
    body = inputs.pop("body").encode("utf-8")
    assert canonical_query(inputs["raw_query"]) == case["expected_canonical_query"]
    assert body_digest(body) == case["expected_body_sha256"]
    assert string_to_sign(body=body, **inputs) == case["expected_string_to_sign"]


def test_vectors_cover_the_tricky_inputs() -> None:
    queries = [c["inputs"]["raw_query"] for c in CASES]
    assert "" in queries
    assert any(c["inputs"]["body"] == "" for c in CASES)
    assert any(c["inputs"]["body"] and not c["inputs"]["body"].isascii() for c in CASES)
    assert any("+" in q for q in queries) and any("%20" in q for q in queries)
    assert any(not q.isascii() or "%E4" in q for q in queries)
    assert any(c["inputs"]["token_set"].count(",") >= 2 for c in CASES)
    assert len(CASES) >= 10


def test_vector_rsa_signatures_are_reproduced_exactly() -> None:
    section = VECTORS["signatures"]["rsa"]
    signer = SigningKey.from_pem(
        AuthType.SHA256_RSA, section["private_key_pem_TEST_ONLY"].encode("ascii")
    )
    assert signer.credential_pem() == section["public_key_pem"]
    credential = load_credential(section["auth_type"], section["public_key_pem"])
    for entry in section["signatures"]:
        message = _message(CASES_BY_NAME[entry["case"]])
        assert credential.verify(entry["signature_b64"], message) is entry["valid"]
        if entry["valid"]:
            assert signer.sign(message) == entry["signature_b64"]


@pytest.mark.parametrize("section_name", ["ecdsa", "cert"])
def test_vector_verify_only_signatures(section_name: str) -> None:
    section = VECTORS["signatures"][section_name]
    pem = section.get("public_key_pem") or section["certificate_pem"]
    credential = load_credential(section["auth_type"], pem)
    assert credential.algorithm is AuthType.SHA256_ECDSA
    for entry in section["signatures"]:
        message = _message(CASES_BY_NAME[entry["case"]])
        assert credential.verify(entry["signature_b64"], message) is entry["valid"]


# --------------------------------------------------------------------------- string to sign


def test_string_to_sign_layout() -> None:
    text = string_to_sign(**FIELDS)
    lines = text.split("\n")
    assert len(lines) == 10
    assert not text.endswith("\n")
    assert lines == [
        SIGN_VERSION,
        "POST",
        FIELDS["path"],
        "a=%E4%B8%AD&b=2",
        "node-alpha",
        "node-beta",
        "1733212800000",
        FIELDS["nonce"],
        FIELDS["token_set"],
        hashlib.sha256(FIELDS["body"]).hexdigest(),
    ]


def test_string_to_sign_upper_cases_method_and_keeps_empty_lines() -> None:
    fields = {**FIELDS, "method": "get", "raw_query": "", "token_set": "", "body": b""}
    lines = string_to_sign(**fields).split("\n")
    assert lines[1] == "GET"
    assert lines[3] == "" and lines[8] == ""
    assert lines[9] == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@pytest.mark.parametrize(
    "field",
    ["method", "path", "source_node_id", "target_node_id", "timestamp", "nonce", "token_set"],
)
@pytest.mark.parametrize("brk", ["\n", "\r"])
def test_line_breaks_in_fields_are_refused(field: str, brk: str) -> None:
    with pytest.raises(MalformedRequest) as info:
        string_to_sign(**{**FIELDS, field: f"x{brk}y"})
    assert info.value.code_name == "MALFORMED_HEADER"


# --------------------------------------------------------------------------- sign / verify


def test_round_trip(key: SigningKey) -> None:
    credential = key.public_credential()
    signature = sign_request(key, **FIELDS)
    assert verify_request(credential, signature, **FIELDS)
    assert credential.verify(signature, string_to_sign(**FIELDS).encode())
    assert credential.fingerprint == key.fingerprint
    # The same key reloaded from PEM signs verifiably.
    reloaded = SigningKey.from_pem(key.auth_type, key.private_pem(), key.certificate_pem())
    assert credential.verify(reloaded.sign(b"m"), b"m")
    assert reloaded.credential_pem() == key.credential_pem()


def test_signature_is_standard_base64(key: SigningKey) -> None:
    signature = key.sign(b"message")
    assert base64.b64encode(base64.b64decode(signature, validate=True)).decode() == signature


@pytest.mark.parametrize("line", range(10))
def test_tampering_any_line_breaks_verification(key: SigningKey, line: int) -> None:
    message = string_to_sign(**FIELDS)
    signature = key.sign(message.encode())
    lines = message.split("\n")
    lines[line] += "x"
    assert not key.public_credential().verify(signature, "\n".join(lines).encode())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("method", "PUT"),
        ("path", "/v1/interconn/dataset/audit/confirm"),
        ("raw_query", "b=3&a=%E4%B8%AD"),
        ("source_node_id", "node-gamma"),
        ("target_node_id", "node-delta"),
        ("timestamp", "1733212800001"),
        ("nonce", "Zk3q9_v-Tx2LmN8pQr4sUw6yAbCdEfGX"),
        ("token_set", "ds-1/PUBLIC/tk1"),
        ("body", b'{"audit_id":"a-2"}'),
    ],
)
def test_tampering_any_input_breaks_verification(key: SigningKey, field: str, value: Any) -> None:
    signature = sign_request(key, **FIELDS)
    assert not verify_request(key.public_credential(), signature, **{**FIELDS, field: value})


def test_parameter_order_does_not_matter(key: SigningKey) -> None:
    signature = sign_request(key, **FIELDS)
    reordered = {**FIELDS, "raw_query": "a=%e4%b8%ad&b=2"}
    assert verify_request(key.public_credential(), signature, **reordered)


def test_wrong_key_fails(key: SigningKey) -> None:
    other = SigningKey.generate(key.auth_type)
    signature = sign_request(other, **FIELDS)
    assert not verify_request(key.public_credential(), signature, **FIELDS)


def test_signature_from_another_algorithm_fails() -> None:
    rsa_key = SigningKey.generate(AuthType.SHA256_RSA)
    ec_key = SigningKey.generate(AuthType.SHA256_ECDSA)
    assert not ec_key.public_credential().verify(rsa_key.sign(b"m"), b"m")
    assert not rsa_key.public_credential().verify(ec_key.sign(b"m"), b"m")


@pytest.mark.parametrize(
    "bad",
    ["", "not base64!!", "abc", "YWJj=", "签名", "A" * 5000, "YWJj\n", "-_-_"],
)
def test_bad_base64_returns_false(key: SigningKey, bad: str) -> None:
    assert key.public_credential().verify(bad, b"message") is False


def test_garbage_signature_of_plausible_length_returns_false(key: SigningKey) -> None:
    for size in (0, 1, 64, 70, 71, 72, 256):
        garbage = base64.b64encode(bytes(range(256))[:size] or b"\x00").decode()
        assert key.public_credential().verify(garbage, b"message") is False


def test_url_safe_base64_is_not_accepted() -> None:
    key = SigningKey.generate(AuthType.SHA256_RSA)
    for i in range(50):
        signature = key.sign(str(i).encode())
        if "+" in signature or "/" in signature:
            urlsafe = signature.replace("+", "-").replace("/", "_")
            assert not key.public_credential().verify(urlsafe, str(i).encode())
            return
    pytest.fail("no signature with + or / in 50 tries")


def test_verify_request_returns_false_on_line_breaks(key: SigningKey) -> None:
    signature = sign_request(key, **FIELDS)
    assert not verify_request(key.public_credential(), signature, **{**FIELDS, "nonce": "a\nb"})


# --------------------------------------------------------------------------- credentials


def test_rsa_below_2048_bits_rejected() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(CredentialError, match="2048"):
        load_credential("SHA256_RSA", _spki_pem(small))
    small_pem = small.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(CredentialError, match="2048"):
        SigningKey.from_pem(AuthType.SHA256_RSA, small_pem)


def test_rsa_certificate_below_2048_bits_rejected() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    now = dt.datetime.now(dt.UTC)
    pem = _certificate(small, now - dt.timedelta(days=1), now + dt.timedelta(days=1))
    with pytest.raises(CredentialError, match="2048"):
        load_credential("CERT", pem)


def test_rsa_certificate_accepted() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    pem = _certificate(key, now - dt.timedelta(days=1), now + dt.timedelta(days=1))
    credential = load_credential("cert", pem)
    assert credential.auth_type is AuthType.CERT
    assert credential.algorithm is AuthType.SHA256_RSA
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    signer = SigningKey.from_pem(AuthType.CERT, key_pem, pem.encode())
    assert credential.verify(signer.sign(b"m"), b"m")


def test_p384_rejected_for_ecdsa() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(CredentialError, match="P-256"):
        load_credential("SHA256_ECDSA", _spki_pem(p384))
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(CredentialError, match="P-256"):
        load_credential("CERT", _certificate(p384, now - dt.timedelta(days=1), now))


def test_expired_certificate_rejected() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    expired = _certificate(key, now - dt.timedelta(days=30), now - dt.timedelta(days=1))
    with pytest.raises(CredentialError, match="expired"):
        load_credential("CERT", expired)


def test_not_yet_valid_certificate_rejected() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    future = _certificate(key, now + dt.timedelta(days=1), now + dt.timedelta(days=30))
    with pytest.raises(CredentialError, match="not valid before"):
        load_credential("CERT", future)


def test_cached_certificate_is_rechecked_against_the_clock() -> None:
    signer = SigningKey.generate(AuthType.CERT)
    credential = signer.public_credential()
    assert credential.not_valid_after is not None
    later = credential.not_valid_after + dt.timedelta(seconds=1)
    assert credential.validity_problem() is None
    assert credential.validity_problem(later) is not None
    with pytest.raises(CredentialError, match="expired"):
        credential.check_validity(later)


def test_generated_certificate_is_valid_for_ten_years() -> None:
    signer = SigningKey.generate(AuthType.CERT, common_name="bank-a")
    pem = signer.certificate_pem()
    assert pem is not None
    cert = x509.load_pem_x509_certificate(pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "bank-a"
    assert cert.issuer == cert.subject
    lifetime = cert.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=3650) <= lifetime <= dt.timedelta(days=3660)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert signer.credential_pem() == pem.decode()


def test_sm2_is_not_supported_yet() -> None:
    with pytest.raises(CredentialError, match="SM2 is not supported"):
        load_credential("SM2", "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
    with pytest.raises(CredentialError, match="SM2 is not supported"):
        SigningKey.generate(AuthType.SM2)


def test_cached_loader_returns_same_object(key: SigningKey) -> None:
    pem = key.credential_pem()
    first = load_credential(key.auth_type, pem)
    assert load_credential(str(key.auth_type), pem) is first
    assert load_credential(str(key.auth_type).lower(), pem) is first
    assert key.public_credential() is first


def test_public_credential_is_immutable(key: SigningKey) -> None:
    credential = key.public_credential()
    with pytest.raises(dataclasses.FrozenInstanceError):
        credential.pem = "x"  # type: ignore[misc]


def test_fingerprint_is_sha256_of_spki_der(key: SigningKey) -> None:
    credential = key.public_credential()
    der = credential.key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert credential.fingerprint == hashlib.sha256(der).hexdigest()
    assert len(credential.fingerprint) == 64


def test_credential_error_is_documented_code() -> None:
    with pytest.raises(CredentialError) as info:
        load_credential("SHA256_RSA", "garbage")
    assert info.value.code == 10106
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("auth_type", "pem_of", "message"),
    [
        ("SHA256_ECDSA", "rsa_spki", "EC P-256 public key"),
        ("SHA256_RSA", "ec_spki", "RSA public key"),
        ("SHA256_RSA", "cert", "CERT"),
        ("CERT", "ec_spki", "PEM CERTIFICATE"),
        ("SHA256_ECDSA", "private", "PRIVATE KEY"),
        ("SHA256_ECDSA", "garbage", "not a valid PEM PUBLIC KEY"),
        ("CERT", "broken_cert", "not a valid PEM CERTIFICATE"),
        ("HMAC", "ec_spki", "unknown auth_type"),
        ("SHA256_RSA", "empty", "empty"),
        ("SHA256_RSA", "huge", "at most"),
    ],
)
def test_credential_problems_are_explained(auth_type: str, pem_of: str, message: str) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    pems = {
        "rsa_spki": _spki_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ec_spki": _spki_pem(ec_key),
        "cert": _certificate(ec_key, now - dt.timedelta(days=1), now + dt.timedelta(days=1)),
        "private": ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
        "garbage": "-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n",
        "broken_cert": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "empty": "   ",
        "huge": "A" * 100_000,
    }
    with pytest.raises(CredentialError, match=message):
        load_credential(auth_type, pems[pem_of])


def test_from_pem_checks_the_certificate_matches_the_key() -> None:
    a = SigningKey.generate(AuthType.CERT)
    b = SigningKey.generate(AuthType.CERT)
    b_cert = b.certificate_pem()
    assert b_cert is not None
    with pytest.raises(CredentialError, match="does not belong"):
        SigningKey.from_pem(AuthType.CERT, a.private_pem(), b_cert)
    with pytest.raises(CredentialError, match="needs certificate_pem"):
        SigningKey.from_pem(AuthType.CERT, a.private_pem())
    with pytest.raises(CredentialError, match="only used with auth_type CERT"):
        SigningKey.from_pem(AuthType.SHA256_ECDSA, a.private_pem(), b_cert)


def test_from_pem_rejects_wrong_key_type_and_garbage() -> None:
    ec_key = SigningKey.generate(AuthType.SHA256_ECDSA)
    with pytest.raises(CredentialError, match="RSA private key"):
        SigningKey.from_pem(AuthType.SHA256_RSA, ec_key.private_pem())
    with pytest.raises(CredentialError, match="cannot be parsed"):
        SigningKey.from_pem(AuthType.SHA256_RSA, b"garbage")
    encrypted = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(CredentialError, match="encrypted"):
        SigningKey.from_pem(AuthType.SHA256_ECDSA, encrypted)


def test_private_pem_is_unencrypted_pkcs8(key: SigningKey) -> None:
    assert key.private_pem().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert key.public_credential().pem == key.credential_pem()
    assert "PRIVATE" not in repr(key) and "PRIVATE" not in repr(key.public_credential())


def test_rsa_generate_is_2048_bits() -> None:
    credential = SigningKey.generate(AuthType.SHA256_RSA).public_credential()
    assert isinstance(credential.key, rsa.RSAPublicKey)
    assert credential.key.key_size == 2048


def test_default_generate_is_ecdsa() -> None:
    assert SigningKey.generate().auth_type is AuthType.SHA256_ECDSA


def test_credential_type_is_exported() -> None:
    assert isinstance(SigningKey.generate().public_credential(), PublicCredential)


# --------------------------------------------------------------------------- nonce, timestamp


def test_new_nonce() -> None:
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    for nonce in nonces:
        assert len(nonce) == 32
        assert NONCE_RE.match(nonce)


@pytest.mark.parametrize(
    ("nonce", "ok"),
    [
        ("a" * 16, True),
        ("A-z_0" * 25 + "abc", True),
        ("a" * 15, False),
        ("a" * 129, False),
        ("a" * 20 + "\n", False),
        ("a" * 20 + "=", False),
        ("a" * 20 + " ", False),
        ("é" * 20, False),
    ],
)
def test_nonce_re(nonce: str, ok: bool) -> None:
    assert bool(NONCE_RE.match(nonce)) is ok


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1733212800000", 1733212800000),
        ("1733212800", 1733212800000),
        ("99999999999", 99999999999000),
        ("100000000000", 100000000000),
        ("0", 0),
    ],
)
def test_parse_timestamp_ms(value: str, expected: int) -> None:
    assert parse_timestamp_ms(value) == expected


@pytest.mark.parametrize(
    "value", ["", "abc", "1.5", "-1", "+1", " 1", "1 ", "1_000", "١٢٣", "1e12", "9" * 40]
)
def test_parse_timestamp_rejects_non_integers(value: str) -> None:
    with pytest.raises(MalformedRequest) as info:
        parse_timestamp_ms(value)
    assert info.value.code_name == "MALFORMED_HEADER"
    assert info.value.code == 10003


# --------------------------------------------------------------------------- properties

_text = st.text(max_size=12)  # default alphabet: no surrogates
_params = st.lists(st.tuples(_text, _text), max_size=8)
_encoders: list[Callable[[str], str]] = [
    lambda s: urllib.parse.quote(s, safe=""),
    lambda s: urllib.parse.quote_plus(s, safe=""),
    lambda s: urllib.parse.quote(s, safe="/:@!$'()*,;"),
]


@given(pairs=_params, encoder=st.sampled_from(_encoders), data=st.data())
def test_canonical_query_ignores_parameter_order(
    pairs: list[tuple[str, str]], encoder: Callable[[str], str], data: st.DataObject
) -> None:
    pieces = [f"{encoder(name)}={encoder(value)}" for name, value in pairs]
    shuffled = data.draw(st.permutations(pieces))
    assert canonical_query("&".join(shuffled)) == canonical_query("&".join(pieces))


@given(pairs=_params, encoder=st.sampled_from(_encoders))
def test_canonical_query_ignores_how_the_sender_encoded(
    pairs: list[tuple[str, str]], encoder: Callable[[str], str]
) -> None:
    reference = "&".join(f"{_encoders[0](n)}={_encoders[0](v)}" for n, v in pairs)
    other = "&".join(f"{encoder(n)}={encoder(v)}" for n, v in pairs)
    assert canonical_query(other) == canonical_query(reference)


@given(raw=st.text(max_size=40))
def test_canonical_query_is_idempotent(raw: str) -> None:
    once = canonical_query(raw)
    assert once.isascii()
    assert canonical_query(once) == once


@given(raw=st.text(max_size=40))
def test_canonical_query_matches_parse_qsl_for_utf8(raw: str) -> None:
    try:
        pairs = urllib.parse.parse_qsl(raw, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        assume(False)  # invalid UTF-8 escapes: parse_qsl would lose bytes, we keep them
        return
    expected = sorted(
        (urllib.parse.quote(n, safe=""), urllib.parse.quote(v, safe="")) for n, v in pairs
    )
    assert canonical_query(raw) == "&".join(f"{n}={v}" for n, v in expected)


@given(pairs=_params)
def test_canonical_query_decodes_to_the_same_parameters(pairs: list[tuple[str, str]]) -> None:
    raw = "&".join(f"{urllib.parse.quote(n)}={urllib.parse.quote(v)}" for n, v in pairs)
    decoded = urllib.parse.parse_qsl(canonical_query(raw), keep_blank_values=True)
    assert sorted(decoded) == sorted(pairs)


def test_lone_surrogate_in_query_is_malformed() -> None:
    with pytest.raises(MalformedRequest) as info:
        canonical_query("a=\ud800")
    assert info.value.code_name == "MALFORMED_QUERY"


def test_surrogateescaped_raw_bytes_round_trip() -> None:
    raw = b"a=\xff&b=\xe4\xb8\xad".decode("utf-8", "surrogateescape")
    assert canonical_query(raw) == "a=%FF&b=%E4%B8%AD"
