"""IP locations from a MaxMind-format city database (GeoLite2-City layout), when configured."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import maxminddb
from flask import current_app

from plugins.security.state import state

log = logging.getLogger(__name__)
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Place:
    latitude: float
    longitude: float
    name: str


def _reader():
    path = current_app.config["SECURITY_GEOIP_DB"]
    if not path:
        return None
    threats = state().threats
    cached = threats.geoip
    if cached is not None and cached[0] == path:
        return cached[1]
    try:
        reader = maxminddb.open_database(path)
    except (OSError, maxminddb.InvalidDatabaseError) as error:
        log.error("SECURITY_GEOIP_DB %s cannot be read: %s", path, error)
        reader = None
    threats.geoip = (path, reader)
    return reader


def locate(ip: str) -> Place | None:
    """Where ``ip`` is, or None (no database, unknown address, record without coordinates)."""
    reader = _reader()
    if reader is None or not ip:
        return None
    try:
        record = reader.get(ip)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    location = record.get("location") or {}
    lat, lon = location.get("latitude"), location.get("longitude")
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    city = ((record.get("city") or {}).get("names") or {}).get("en")
    country = ((record.get("country") or {}).get("names") or {}).get("en") or (
        record.get("country") or {}
    ).get("iso_code")
    name = ", ".join(part for part in (city, country) if part) or f"{lat:.2f},{lon:.2f}"
    return Place(float(lat), float(lon), str(name)[:120])


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
