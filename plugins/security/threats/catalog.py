"""The detection rules by name: which event each one records, how serious, and its response."""

from __future__ import annotations

from dataclasses import dataclass

from app.events import EventType, Severity


@dataclass(frozen=True)
class Rule:
    """One detection rule. ``block`` asks for the offending IP to be blocked when alerts allow."""

    name: str
    event_type: EventType
    severity: Severity
    title: str  # formatted with the detection's subject label
    block: bool = False
    alert: bool = True


RULES: dict[str, Rule] = {
    rule.name: rule
    for rule in (
        Rule(
            "brute_force_account", EventType.BRUTE_FORCE_ATTEMPT, Severity.HIGH, "Brute force against {label}"
        ),
        Rule(
            "brute_force_ip",
            EventType.BRUTE_FORCE_ATTEMPT,
            Severity.HIGH,
            "Brute force from {label}",
            block=True,
        ),
        Rule(
            "credential_stuffing",
            EventType.BRUTE_FORCE_ATTEMPT,
            Severity.HIGH,
            "Credential stuffing from {label}",
            block=True,
        ),
        Rule(
            "mfa_brute_force",
            EventType.BRUTE_FORCE_ATTEMPT,
            Severity.HIGH,
            "Second-factor guessing on {label}",
            block=True,
        ),
        Rule(
            "privilege_probing",
            EventType.SUSPICIOUS_ACTIVITY,
            Severity.MEDIUM,
            "Privilege probing by {label}",
        ),
        Rule(
            "unusual_traffic_ip", EventType.UNUSUAL_TRAFFIC, Severity.MEDIUM, "Unusual traffic from {label}"
        ),
        Rule(
            "unusual_traffic_endpoint",
            EventType.UNUSUAL_TRAFFIC,
            Severity.MEDIUM,
            "Unusual traffic on {label}",
        ),
        Rule(
            "tor_exit",
            EventType.TOR_EXIT_NODE,
            Severity.MEDIUM,
            "Sign-in traffic from a TOR exit node {label}",
        ),
        Rule("vpn", EventType.VPN_DETECTED, Severity.LOW, "Sign-in traffic from a VPN range {label}"),
        Rule(
            "impossible_travel",
            EventType.GEO_LOCATION_ANOMALY,
            Severity.HIGH,
            "Impossible travel for {label}",
        ),
        # A new sign-in address is normal life: the user gets a notice, the admins no alert.
        Rule(
            "new_ip",
            EventType.SUSPICIOUS_ACTIVITY,
            Severity.LOW,
            "Sign-in from a new IP for {label}",
            alert=False,
        ),
        Rule("session_change", EventType.SUSPICIOUS_ACTIVITY, Severity.MEDIUM, "Session moved for {label}"),
    )
}

# The event types the rules read; everything else passes the receivers untouched.
INPUT_TYPES = frozenset(
    {EventType.LOGIN_FAILURE.value, EventType.LOGIN_SUCCESS.value, EventType.MFA_FAILURE.value}
)
SEVERITY_RANK = {"LOW": 0, "MEDIUM": 1, "HIGH": 2, "CRITICAL": 3}


def subject_label(subject: str) -> str:
    """Readable form of a subject key such as ``ip:203.0.113.9`` or ``user:alice``."""
    kind, _, value = subject.partition(":")
    names = {"ip": "IP", "user": "account", "endpoint": "endpoint"}
    return f"{names.get(kind, kind)} {value}"


def at_least(severity: str, minimum: str) -> bool:
    return SEVERITY_RANK.get(severity, 0) >= SEVERITY_RANK.get(minimum, 0)


def crossed(count: int, threshold: int) -> bool:
    """Whether ``count`` just reached the threshold or one more multiple of it (low noise)."""
    return count >= threshold and (count - threshold) % threshold == 0
