"""Limits on guesses (passwords, second-factor codes) that admit N guesses at any concurrency.

A guess takes its place in every limit that applies *before* it is checked: limits' fixed-window
``hit`` is one atomic increment-and-compare in the storage (a Lua script on Redis, a lock in
memory), so of any number of concurrent guesses only those that fit are checked at all. A guess
that turns out right gives its places back (``Reservation.release``), so only wrong guesses
stay counted. Testing a limit first and counting after the answer let every concurrent guess
through the test.

Every limit here lives in one storage per app (the rate-limit storage: Redis when configured),
built at start-up so that all threads of a process share it, with an in-memory stand-in while
Redis does not answer. Views use ``limit_guesses``; request guards use ``reserve_guess`` and
settle the reservation once the answer is known.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import wraps

from flask import Flask, Response, current_app, make_response, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from app.limit_storage import MEMORY_STORAGE_URI
from app.rate_limits import Counting

log = logging.getLogger(__name__)

EXTENSION = "portal.guesses"
NAMESPACE = "guesses"
# A place is given back only while its window has at least this long to run: a give-back landing
# in the next window would hand that window an extra guess.
GIVE_BACK_MARGIN_S = 1.0
# How long a generation counter lives (far longer than any sensible limit window).
GENERATION_TTL_S = 90 * 86_400


@dataclass(frozen=True)
class GuessLimit:
    """One limit on wrong guesses: ``limit`` ("5 per 15 minutes", ';' for several) for ``key``
    within ``scope``; ``policy`` names it in headers and logs (AUTH, MFA...)."""

    policy: str
    scope: str
    key: str
    limit: str

    def items(self) -> list[RateLimitItem]:
        return parse_many(self.limit)


@dataclass
class Place:
    """One place taken in one limit: what to give back, and that limit's state after the hit."""

    limiter: FixedWindowRateLimiter
    limit: GuessLimit
    item: RateLimitItem
    reset_at: float
    remaining: int

    def identifiers(self) -> tuple[str, str, str]:
        return (NAMESPACE, self.limit.scope, self.limit.key)


@dataclass
class Reservation:
    """The places a guess holds, or the limit that refused it (``refused`` with ``retry_after``)."""

    places: list[Place] = field(default_factory=list)
    refused: GuessLimit | None = None
    refused_item: RateLimitItem | None = None
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.refused is None

    def tightest(self) -> Place | None:
        """The place with the fewest guesses left (for the rate-limit headers)."""
        return min(self.places, key=lambda place: (place.remaining, place.reset_at), default=None)

    def release(self, keep: Callable[[Place], bool] | None = None) -> None:
        """Give the places back (the guess was right, or never checked), except those ``keep``
        says still count."""
        kept = [place for place in self.places if keep is not None and keep(place)]
        for place in self.places:
            if place not in kept:
                _give_back(place.limiter, place.item, place.identifiers(), place.reset_at)
        self.places = kept


class GuessRefused(TooManyRequests):
    """A 429 for a guess a limit refused: the app's error page shows the message; the security
    plugin, when enabled, records it like its own rejections and answers with its 429 page."""

    def __init__(self, message: str, reservation: Reservation) -> None:
        super().__init__(message, retry_after=reservation.retry_after)
        self.identifier = reservation.refused.key if reservation.refused else "unknown"
        self.limit = str(reservation.refused_item or "")


class GuessStore(Counting):
    """The fixed windows of one app's guess limits on their storage, with the in-memory stand-in
    of every portal limit (app/rate_limits.py) while it is down."""

    def __init__(self, uri: str) -> None:
        if uri.startswith("redis"):
            import redis

            # A Redis that stops answering must fail fast (then memory takes over); many threads
            # at once must wait for a pooled connection rather than fail as if it were down.
            pool = redis.BlockingConnectionPool.from_url(
                uri, max_connections=64, timeout=5, socket_connect_timeout=0.5, socket_timeout=0.5
            )
            storage = storage_from_string(uri, connection_pool=pool)
        else:
            storage = storage_from_string(uri)
        super().__init__(FixedWindowRateLimiter(storage))

    def limiter(self) -> FixedWindowRateLimiter:
        return self.strategy()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = GuessStore(app.config.get("RATELIMIT_STORAGE_URI") or MEMORY_STORAGE_URI)


def _store() -> GuessStore:
    return current_app.extensions[EXTENSION]


def _give_back(limiter: FixedWindowRateLimiter, item: RateLimitItem, ids: tuple, reset_at: float) -> None:
    if time.time() > reset_at - GIVE_BACK_MARGIN_S:
        return  # the window ends now and takes this count with it
    key = item.key_for(*ids)
    try:
        # limits' storage API: incr by a negative amount is the decrement of a fixed window.
        if limiter.storage.incr(key, item.get_expiry(), amount=-1) < 0:
            # The window was cleared meanwhile (an admin's unlock): do not leave it owing.
            limiter.storage.incr(key, item.get_expiry(), amount=1)
    except Exception:  # the guess stays counted; a storage hiccup must not fail the answer
        log.warning("could not give back a place in %s", item.key_for(*ids[:2]), exc_info=True)


def reserve_guess(limits: Sequence[GuessLimit]) -> Reservation:
    """Take one place in each of ``limits``; on the first that is full, give back what was taken
    and return the refusal. Taking places is atomic per limit, so N places are never exceeded."""
    store = _store()
    limiter = store.limiter()
    reservation = Reservation()
    for limit in limits:
        for item in limit.items():
            ids = (NAMESPACE, limit.scope, limit.key)
            try:
                admitted = limiter.hit(item, *ids)
                stats = limiter.get_window_stats(item, *ids)
            except Exception:
                store.failed(limiter)
                reservation.release()
                return reserve_guess(limits) if limiter is store.primary else Reservation()
            if not admitted:
                # A fixed window counts the refused hit too: give it back, and the places taken.
                _give_back(limiter, item, ids, stats.reset_time)
                reservation.release()
                wait = max(1, math.ceil(stats.reset_time - time.time()))
                return Reservation(refused=limit, refused_item=item, retry_after=wait)
            reservation.places.append(Place(limiter, limit, item, stats.reset_time, stats.remaining))
    return reservation


def forget_guesses(scope: str, key: str, limit: str) -> None:
    """Clear the wrong guesses counted for ``key`` (an admin lifted a lockout)."""
    store = _store()
    for limiter in {store.primary, store.fallback}:
        for item in parse_many(limit):
            try:
                limiter.clear(item, NAMESPACE, scope, key)
            except Exception:  # the other storage may still be down; the caller logs the unlock
                log.warning("could not clear guesses of %s", scope, exc_info=True)


def generation(scope: str, key: str) -> int:
    """A counter that ``next_generation`` moves on: put it into keys to forget them all at once
    (every device of a user, say, whose ids are not known to whoever lifts the lockout)."""
    store = _store()
    limiter = store.limiter()
    try:
        return limiter.storage.get(f"{NAMESPACE}/generation/{scope}/{key}")
    except Exception:
        store.failed(limiter)
        return 0


def next_generation(scope: str, key: str) -> None:
    store = _store()
    for limiter in {store.primary, store.fallback}:
        try:
            limiter.storage.incr(f"{NAMESPACE}/generation/{scope}/{key}", GENERATION_TTL_S, amount=1)
        except Exception:
            log.warning("could not move on the generation of %s", scope, exc_info=True)


def is_wrong_guess(response: Response) -> bool:
    """The portal answers a wrong password or code with 401."""
    return response.status_code == 401


def limit_guesses(
    reserve: Callable[[], Reservation],
    refuse: Callable[[Reservation], Response],
    methods: Sequence[str] = ("POST",),
    counts: Callable[[Response], bool] = is_wrong_guess,
):
    """Decorate a view that checks a guess: ``reserve()`` its places before the view runs (for
    example ``lambda: reserve_guess([GuessLimit(...)])``), answer ``refuse(reservation)`` when a
    limit is full, and give the places back unless ``counts(response)`` (by default: a 401).
    An exception keeps them (counted as wrong)."""

    def decorate(view):
        @wraps(view)
        def limited(*args, **kwargs):
            if request.method not in methods:
                return view(*args, **kwargs)
            reservation = reserve()
            if not reservation.ok:
                return refuse(reservation)
            response = make_response(view(*args, **kwargs))
            if not counts(response):
                reservation.release()
            return response

        return limited

    return decorate
