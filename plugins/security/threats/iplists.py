"""Named IP lists (TOR exit nodes, VPN ranges) loaded from CIDR files, matched in memory.

Each worker keeps the networks as sets of network addresses per prefix length, so a look-up
masks the address once per prefix length present instead of scanning every network.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select

from app.extensions import db
from app.models import utcnow
from plugins.security.audit_record import RecordedEvent
from plugins.security.state import IpListIndex, state
from plugins.security.threats.detection import Detection
from plugins.security.threats.models import IpListEntry

LIST_RULES = {"tor": "tor_exit", "vpn": "vpn"}
LIST_NAMES = tuple(LIST_RULES)
# Other workers see a newly loaded list after at most this long.
REFRESH_SECONDS = 60


@dataclass
class ParsedFile:
    networks: list[str]
    errors: list[str]


def parse_lines(lines: Iterable[str]) -> ParsedFile:
    """CIDR networks (or bare addresses) one a line; '#' starts a comment; bad lines reported."""
    networks: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, raw in enumerate(lines, start=1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            network = str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            errors.append(f"line {number}: not an IP network: {text[:60]!r}")
            continue
        if network not in seen:
            seen.add(network)
            networks.append(network)
    return ParsedFile(networks, errors)


def replace_list(name: str, networks: list[str], source: str) -> int:
    """Make ``networks`` the whole content of list ``name``; return how many are stored."""
    if name not in LIST_RULES:
        raise ValueError(f"unknown list {name!r}; expected one of {', '.join(LIST_NAMES)}")
    now = utcnow()
    db.session.execute(delete(IpListEntry).where(IpListEntry.list_name == name))
    db.session.add_all(
        IpListEntry(list_name=name, network=network, source=source[:200], loaded_at=now)
        for network in networks
    )
    db.session.commit()
    invalidate()
    return len(networks)


def invalidate() -> None:
    state().threats.iplists = None


def _index() -> IpListIndex:
    threats = state().threats
    cached = threats.iplists
    if cached is not None and time.monotonic() - cached[0] < REFRESH_SECONDS:
        return cached[1]
    index: IpListIndex = {}
    for list_name, text in db.session.execute(select(IpListEntry.list_name, IpListEntry.network)):
        network = ipaddress.ip_network(text)
        key = (network.version, network.prefixlen)
        index.setdefault(list_name, {}).setdefault(key, set()).add(int(network.network_address))
    threats.iplists = (time.monotonic(), index)
    return index


def memberships(ip: str) -> list[str]:
    """The names of the lists that contain ``ip``."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return []
    bits = address.max_prefixlen
    value = int(address)
    found = []
    for list_name, by_prefix in _index().items():
        for (version, prefixlen), networks in by_prefix.items():
            if version == address.version and (value >> (bits - prefixlen)) << (bits - prefixlen) in networks:
                found.append(list_name)
                break
    return sorted(found)


def list_rules(event: RecordedEvent) -> list[Detection]:
    """TOR_EXIT_NODE / VPN_DETECTED for sign-in traffic from a listed address."""
    return [
        Detection(
            LIST_RULES[name],
            f"ip:{event.ip_address}",
            f"{event.event_type.lower().replace('_', ' ')} from an address on the {name} list",
            user_id=event.user_id,
            ip=event.ip_address,
            metadata={"list": name, "trigger": event.event_type},
        )
        for name in memberships(event.ip_address)
    ]
