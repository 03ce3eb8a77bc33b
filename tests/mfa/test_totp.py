"""TOTP verification path: RFC 6238 Appendix B (SHA-1), drift window, replay; the QR code."""

from __future__ import annotations

import re

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.mfa.checks import normalize_code
from plugins.mfa.totp import (
    TotpMatch,
    match_code,
    matching_step,
    new_secret,
    provisioning_uri,
    qr_svg,
    time_step,
)

# RFC 6238 Appendix B, SHA-1 rows: the seed is the ASCII string "12345678901234567890".
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def test_rfc_secret_is_the_rfc_seed():
    assert pyotp.TOTP(RFC_SECRET).byte_secret() == b"12345678901234567890"


@pytest.mark.parametrize(("at", "expected"), RFC_VECTORS)
def test_rfc6238_sha1_vectors_eight_digits(at, expected):
    assert matching_step(RFC_SECRET, expected, at=at, digits=8) == time_step(at)


@pytest.mark.parametrize(("at", "expected"), RFC_VECTORS)
def test_rfc6238_sha1_vectors_through_the_six_digit_path(at, expected):
    # Truncating to 6 digits keeps the last 6 of the 8 (both are the same value modulo 10**n).
    assert matching_step(RFC_SECRET, expected[-6:], at=at) == time_step(at)


@pytest.mark.parametrize(("at", "expected"), RFC_VECTORS)
def test_rfc_codes_are_refused_far_from_their_time(at, expected):
    assert matching_step(RFC_SECRET, expected[-6:], at=at + 10 * 30) is None


def test_one_step_of_drift_either_way_and_no_more():
    secret = new_secret()
    now = 1_700_000_015.0
    totp = pyotp.TOTP(secret)
    assert matching_step(secret, totp.at(now - 30), at=now) == time_step(now) - 1
    assert matching_step(secret, totp.at(now + 30), at=now) == time_step(now) + 1
    assert matching_step(secret, totp.at(now - 60), at=now) is None
    assert matching_step(secret, totp.at(now + 60), at=now) is None


def test_replay_refuses_the_same_step_and_earlier_ones():
    secret = new_secret()
    now = 1_700_000_015.0
    totp = pyotp.TOTP(secret)
    step = matching_step(secret, totp.at(now), at=now)
    assert step == time_step(now)
    assert matching_step(secret, totp.at(now), at=now, last_step=step) is None
    assert matching_step(secret, totp.at(now - 30), at=now, last_step=step) is None
    assert matching_step(secret, totp.at(now + 30), at=now, last_step=step) == step + 1


def test_a_right_code_of_a_used_step_is_told_apart_as_a_replay():
    secret = new_secret()
    now = 1_700_000_015.0
    totp = pyotp.TOTP(secret)
    step = time_step(now)
    assert match_code(secret, totp.at(now), at=now) == TotpMatch(step, replayed=False)
    assert match_code(secret, totp.at(now), at=now, last_step=step) == TotpMatch(None, replayed=True)
    assert match_code(secret, totp.at(now - 30), at=now, last_step=step) == TotpMatch(None, replayed=True)
    assert match_code(secret, totp.at(now + 30), at=now, last_step=step) == TotpMatch(step + 1)
    assert match_code(secret, "000000" if totp.at(now) != "000000" else "111111", at=now, last_step=step) == (
        TotpMatch(None, replayed=False)
    )  # a wrong code is no replay
    assert match_code(secret, totp.at(now - 60), at=now, last_step=step) == TotpMatch(
        None
    )  # out of the window


def test_secret_is_fresh_base32_of_160_bits():
    first, second = new_secret(), new_secret()
    assert first != second
    assert re.fullmatch(r"[A-Z2-7]{32}", first)


def test_provisioning_uri_names_issuer_and_account():
    uri = provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "alice", "El-Mag Insurance Portal")
    assert uri.startswith("otpauth://totp/El-Mag%20Insurance%20Portal:alice?")
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri
    assert "issuer=El-Mag%20Insurance%20Portal" in uri


def test_qr_svg_is_inline_without_style_or_script():
    svg = qr_svg(provisioning_uri(new_secret(), "alice", "El-Mag Insurance Portal"))
    assert svg.startswith("<svg")
    assert "viewBox" in svg
    assert "style" not in svg.lower()
    assert "<script" not in svg.lower()
    assert "<?xml" not in svg


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123456", "123456"),
        (" 123 456 ", "123456"),
        ("ABCD-12EF", "abcd12ef"),
        ("", None),
        ("abcdef", None),
        ("1234567", None),
        ("٣٣٣٣٣٣", None),  # Arabic-Indic digits are not TOTP digits
        ("1" * 200, None),
    ],
)
def test_normalize_code(raw, expected):
    assert normalize_code(raw) == expected


@given(st.text(max_size=300))
def test_normalize_code_returns_a_canonical_code_or_none(raw):
    result = normalize_code(raw)
    assert result is None or re.fullmatch(r"[0-9]{6}|[0-9a-f]{8}", result)


@given(st.text(max_size=40), st.integers(min_value=0, max_value=2**40))
def test_matching_step_never_raises_on_any_text(code, at):
    assert matching_step(RFC_SECRET, code, at=at) is None or code.isdigit()
