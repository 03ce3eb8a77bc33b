"""Write a tiny MaxMind DB (IPv4 tree, 24-bit records) for the impossible-travel tests.

The format (maxmind.github.io/MaxMind-DB): a binary search tree over the address bits, 16 zero
bytes, a data section of typed values, then the metadata marker and a metadata map.
"""

from __future__ import annotations

import ipaddress
import struct
import time
from pathlib import Path

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_number: int, size: int) -> bytes:
    if size < 29:
        head, extra = size, b""
    elif size < 285:
        head, extra = 29, bytes([size - 29])
    elif size < 65_821:
        head, extra = 30, (size - 285).to_bytes(2, "big")
    else:
        head, extra = 31, (size - 65_821).to_bytes(3, "big")
    if type_number <= 7:
        return bytes([(type_number << 5) | head]) + extra
    return bytes([head, type_number - 7]) + extra


def encode(value) -> bytes:
    """One value in the MMDB data-section encoding."""
    if isinstance(value, bool):
        return _control(14, int(value))
    if isinstance(value, str):
        data = value.encode()
        return _control(2, len(data)) + data
    if isinstance(value, float):
        return _control(3, 8) + struct.pack(">d", value)
    if isinstance(value, int):
        data = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
        type_number = 6 if value < 2**32 else 9
        return _control(type_number, len(data)) + data
    if isinstance(value, dict):
        return _control(7, len(value)) + b"".join(encode(str(k)) + encode(v) for k, v in value.items())
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(encode(item) for item in value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def _uint16(value: int) -> bytes:
    data = value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""
    return _control(5, len(data)) + data


def write_city_db(path: Path, places: dict[str, tuple[float, float, str]]) -> Path:
    """Write ``places`` (IPv4 network -> latitude, longitude, city) as a GeoLite2-City-like DB."""
    data = b""
    root: list = [None, None]
    for network_text, (lat, lon, city) in places.items():
        record = {"city": {"names": {"en": city}}, "location": {"latitude": lat, "longitude": lon}}
        offset = len(data)
        data += encode(record)
        network = ipaddress.ip_network(network_text)
        bits = format(int(network.network_address), "032b")[: network.prefixlen]
        node = root
        for depth, bit in enumerate(bits):
            side = int(bit)
            if depth == len(bits) - 1:
                node[side] = ("data", offset)
            else:
                if not isinstance(node[side], list):
                    node[side] = [None, None]
                node = node[side]
    nodes: list[list] = []
    queue = [root]
    while queue:  # number the nodes breadth-first; the root is node 0
        node = queue.pop(0)
        nodes.append(node)
        queue.extend(child for child in node if isinstance(child, list))
    ids = {id(node): index for index, node in enumerate(nodes)}
    count = len(nodes)

    def record_value(child) -> int:
        if child is None:
            return count
        if isinstance(child, list):
            return ids[id(child)]
        return count + 16 + child[1]

    tree = b"".join(
        record_value(n[0]).to_bytes(3, "big") + record_value(n[1]).to_bytes(3, "big") for n in nodes
    )
    metadata = (
        _control(7, 9)
        + encode("node_count")
        + encode(count)
        + encode("record_size")
        + _uint16(24)
        + encode("ip_version")
        + _uint16(4)
        + encode("database_type")
        + encode("Test-City")
        + encode("languages")
        + encode(["en"])
        + encode("binary_format_major_version")
        + _uint16(2)
        + encode("binary_format_minor_version")
        + _uint16(0)
        + encode("build_epoch")
        + _control(9, 8)
        + int(time.time()).to_bytes(8, "big")
        + encode("description")
        + encode({"en": "test city database"})
    )
    path.write_bytes(tree + b"\x00" * 16 + data + METADATA_MARKER + metadata)
    return path
