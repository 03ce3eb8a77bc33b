"""Turn values into the bytes a backend stores and back: tagged JSON (pickle only on opt-in),
zlib compression when it saves space, and the tag versions the entry was computed under.

Blob layout: one flag byte, two bytes of tag-version header length, the header (JSON), the body.
A shared store may be written by anyone who reaches it, so a pickled body is refused unless the
portal opted in (CACHE_ALLOW_PICKLE): JSON can only ever decode to plain data.
"""

from __future__ import annotations

import base64
import json
import pickle
import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from werkzeug.wrappers import Response

COMPRESSED = 0x01
PICKLED = 0x02
TAG = "__t"  # marks an encoded non-JSON value: {"__t": kind, "v": payload}


class CodecError(ValueError):
    """A value cannot be encoded, or stored bytes cannot be decoded."""


def _encode(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with the non-JSON types tagged."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return {TAG: "float", "v": repr(value)}
        return value
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value) and TAG not in value:
            return {key: _encode(item) for key, item in value.items()}
        return {TAG: "map", "v": [[_encode(k), _encode(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return {TAG: "tuple", "v": [_encode(item) for item in value]}
    if isinstance(value, (set, frozenset)):
        kind = "frozenset" if isinstance(value, frozenset) else "set"
        return {TAG: kind, "v": [_encode(item) for item in value]}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "v": value.isoformat()}
    if isinstance(value, time):
        return {TAG: "time", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {TAG: "decimal", "v": str(value)}
    if isinstance(value, uuid.UUID):
        return {TAG: "uuid", "v": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {TAG: "bytes", "v": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Response):  # flask-caching stores view responses
        return {
            TAG: "response",
            "v": [value.status_code, list(value.headers.items()), _encode(value.get_data())],
        }
    raise CodecError(f"cannot cache a {type(value).__name__} without CACHE_ALLOW_PICKLE")


# json.loads calls _tagged bottom-up (object_hook), so each decoder receives decoded children.
_DECODERS = {
    "float": float,
    "map": lambda v: {key: item for key, item in v},
    "tuple": tuple,
    "set": set,
    "frozenset": frozenset,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
    "timedelta": lambda v: timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "decimal": Decimal,
    "uuid": uuid.UUID,
    "bytes": base64.b64decode,
    "response": lambda v: Response(v[2], status=v[0], headers=v[1]),
}


def _tagged(value: dict) -> Any:
    kind = value.get(TAG)
    if kind is None:
        return value
    decoder = _DECODERS.get(kind)
    if decoder is None or "v" not in value:
        raise CodecError(f"unknown encoded type {kind!r}")
    return decoder(value["v"])


@dataclass(frozen=True)
class Encoded:
    blob: bytes
    raw_size: int  # body size before compression
    saved: int  # bytes compression saved (0 when not compressed)


class Codec:
    """Encode and decode cache blobs with one configuration."""

    def __init__(self, compress_min_bytes: int = 1024, allow_pickle: bool = False, level: int = 6):
        self.compress_min_bytes = compress_min_bytes
        self.allow_pickle = allow_pickle
        self.level = level

    def encode(self, value: Any, versions: dict[str, int] | None = None) -> Encoded:
        """The blob for ``value`` computed under tag ``versions``."""
        flags = 0
        try:
            body = json.dumps(_encode(value), separators=(",", ":"), allow_nan=False).encode()
        except CodecError:
            if not self.allow_pickle:
                raise
            body, flags = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), PICKLED
        raw_size, saved = len(body), 0
        if raw_size >= self.compress_min_bytes:
            packed = zlib.compress(body, self.level)
            if len(packed) < raw_size:  # incompressible data stays as it is
                body, flags, saved = packed, flags | COMPRESSED, raw_size - len(packed)
        header = json.dumps(versions or {}, separators=(",", ":")).encode()
        if len(header) > 0xFFFF:
            raise CodecError("too many tags on one entry")
        return Encoded(bytes([flags]) + struct.pack(">H", len(header)) + header + body, raw_size, saved)

    @staticmethod
    def versions(blob: bytes) -> dict[str, int]:
        """The tag versions recorded in ``blob``."""
        if len(blob) < 3:
            raise CodecError("truncated cache entry")
        (length,) = struct.unpack(">H", blob[1:3])
        header = json.loads(blob[3 : 3 + length] or b"{}")
        if not isinstance(header, dict):
            raise CodecError("bad cache entry header")
        return header

    def decode(self, blob: bytes) -> Any:
        """The value stored in ``blob``; CodecError if it is damaged or pickled without opt-in."""
        if len(blob) < 3:
            raise CodecError("truncated cache entry")
        flags = blob[0]
        (length,) = struct.unpack(">H", blob[1:3])
        body = blob[3 + length :]
        try:
            if flags & COMPRESSED:
                body = zlib.decompress(body)
            if flags & PICKLED:
                if not self.allow_pickle:
                    raise CodecError("refusing a pickled cache entry (CACHE_ALLOW_PICKLE is off)")
                return pickle.loads(body)  # noqa: S301 (explicit opt-in, trusted store)
            return json.loads(body, object_hook=_tagged)
        except (
            zlib.error,
            json.JSONDecodeError,
            UnicodeDecodeError,
            TypeError,
            ValueError,
            ArithmeticError,
            LookupError,  # a tagged value of the wrong shape ({"__t": "timedelta", "v": {}})
            RecursionError,  # deeply nested JSON written by whoever can reach a shared store
        ) as error:
            raise CodecError(f"damaged cache entry: {error}") from None
