"""An endpoint's policy builds its counter's storage key once, around the client's part: the
key must be the one `limits` builds (``RateLimitItem.key_for``), which the window reads, a
storage shared with other processes and the counters of earlier versions all use."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.security import policies

pytestmark = pytest.mark.plugins("security")

LIMITS = ("5 per minute", "300 per 15 minutes", "100000000 per 15 minutes", "10/second", "2 per day")
clients = st.one_of(
    st.integers(min_value=1, max_value=10**12).map(lambda n: f"user:{n}"),
    st.ip_addresses().map(lambda address: f"ip:{address}"),
    st.text(max_size=60).map(lambda text: f"ip:{text}"),  # what a forwarded address may carry
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(client=clients, limit=st.sampled_from(LIMITS), endpoint=st.sampled_from(["plans_api.search", None]))
def test_the_policy_key_is_the_one_limits_builds(app, client, limit, endpoint):
    with app.test_request_context("/api/v1/plans/search"):
        app.config["RATE_LIMIT_API"] = limit
        policy = policies.policy_for(endpoint, "/api/v1/plans/search")
    before, after = policy.key_around
    assert before + client + after == policy.item.key_for(policies.KEY_PREFIX, client, policy.scope)
    name, amount, window = policy.header_name, policy.item.amount, policy.item.get_expiry()
    assert policy.header_field == f'"{name}";q={amount};w={window}'
