"""Serialization: JSON with the common Python types, zlib when it pays, pickle only on opt-in."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.wrappers import Response

from plugins.cache.codec import COMPRESSED, PICKLED, Codec, CodecError

SAMPLE = {
    "when": datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
    "naive": datetime(2025, 3, 1, 12, 30),
    "day": date(2025, 3, 1),
    "at": time(8, 15),
    "span": timedelta(days=2, seconds=5),
    "premium": Decimal("123.45"),
    "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "raw": b"\x00\xffbytes",
    "set": {1, 2, 3},
    "frozen": frozenset({"a"}),
    "pair": (1, "two", (3.0,)),
    "list": [None, True, 1.5],
    "int_keys": {1: "one", (2, 3): "tuple key"},
    "tricky": {"__t": "not a tag"},
    "nan": float("inf"),
}


def test_round_trip_keeps_types():
    codec = Codec()
    assert codec.decode(codec.encode(SAMPLE).blob) == SAMPLE


def test_response_round_trip_for_flask_caching():
    codec = Codec()
    original = Response("<p>hi</p>", status=201, headers={"X-Extra": "1"}, mimetype="text/html")
    copy = codec.decode(codec.encode(original).blob)
    assert copy.status_code == 201
    assert copy.get_data() == b"<p>hi</p>"
    assert copy.headers["X-Extra"] == "1"


def test_large_compressible_value_is_compressed_and_saving_reported():
    codec = Codec(compress_min_bytes=100)
    encoded = codec.encode("plan " * 2000)
    assert encoded.blob[0] & COMPRESSED
    assert encoded.saved > 9000
    assert len(encoded.blob) < encoded.raw_size
    assert codec.decode(encoded.blob) == "plan " * 2000


def test_small_values_stay_plain():
    codec = Codec(compress_min_bytes=100)
    encoded = codec.encode(uuid.uuid4().hex)
    assert not encoded.blob[0] & COMPRESSED
    assert encoded.saved == 0


def test_compression_kept_only_when_it_saves_space():
    codec = Codec(compress_min_bytes=0)  # everything is tried; zlib's overhead loses on "ab"
    encoded = codec.encode("ab")
    assert not encoded.blob[0] & COMPRESSED
    assert codec.decode(encoded.blob) == "ab"


class Custom:
    def __init__(self, value):
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Custom) and other.value == self.value


def test_unknown_type_refused_without_pickle_opt_in():
    with pytest.raises(CodecError, match="CACHE_ALLOW_PICKLE"):
        Codec().encode(Custom(1))


def test_pickled_blob_refused_without_opt_in():
    """Whoever writes to a shared store must not be able to make the portal unpickle."""
    body = pickle.dumps(Custom(1))
    forged = bytes([PICKLED]) + b"\x00\x02{}" + body
    with pytest.raises(CodecError, match="pickled"):
        Codec().decode(forged)
    assert Codec(allow_pickle=True).decode(forged) == Custom(1)


def test_pickle_opt_in_stores_custom_objects():
    codec = Codec(allow_pickle=True)
    encoded = codec.encode(Custom([1, 2]))
    assert encoded.blob[0] & PICKLED
    assert codec.decode(encoded.blob) == Custom([1, 2])


def test_tag_versions_travel_in_the_header():
    codec = Codec()
    blob = codec.encode("v", {"plans": 3, "users": 0}).blob
    assert codec.versions(blob) == {"plans": 3, "users": 0}
    assert codec.decode(blob) == "v"


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x00",
        b"\x01\x00\x00not zlib",
        b"\x00\x00\x00{bad json",
        b'\x00\x00\x00{"__t":"response","v":[]}',
        b'\x00\x00\x00{"__t":"timedelta","v":{}}',
        b"\x00\x00\x00" + b"[" * 100_000,
    ],
)
def test_damaged_blobs_raise_codec_error(blob):
    with pytest.raises(CodecError):
        Codec().decode(blob)


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=50)
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.dates()
    | st.datetimes()
    | st.uuids(),
    lambda children: (
        st.lists(children, max_size=5)
        | st.tuples(children, children)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
        | st.dictionaries(st.integers(), children, max_size=3)
    ),
    max_leaves=20,
)


@given(value=json_like, threshold=st.sampled_from([0, 64, 10_000]))
def test_any_supported_value_round_trips(value, threshold):
    codec = Codec(compress_min_bytes=threshold)
    assert codec.decode(codec.encode(value).blob) == value
