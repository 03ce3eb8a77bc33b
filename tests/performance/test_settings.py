"""Settings: a bad value stops start-up naming the variable; overrides and networks parse."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app import ConfigError, create_app
from plugins.performance.settings import PerfConfig, as_apdex_overrides, as_networks


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PERFORMANCE_SAMPLE_RATE", "1.5"),
        ("PERFORMANCE_METRICS_RETENTION_DAYS", "zero"),
        ("SLOW_QUERY_THRESHOLD_MS", "-1"),
        ("PERFORMANCE_APDEX_T_OVERRIDES", "plans=300"),
        ("METRICS_ALLOWED_IPS", "localhost"),
        ("PERFORMANCE_N_PLUS_ONE_THRESHOLD", "1"),
    ],
)
def test_bad_value_names_the_variable(tmp_path, name, value):
    config = {
        "PORTAL_ENV": "testing",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
        "INSTANCE_PATH": str(tmp_path / "i"),
        "PORTAL_PLUGINS": "performance",
        name: value,
    }
    with pytest.raises(ConfigError, match=name):
        create_app(config)


def test_overrides_and_networks_parse():
    assert as_apdex_overrides("/plans/=800, /auth/login=500") == (("/plans/", 800.0), ("/auth/login", 500.0))
    assert as_apdex_overrides("") == ()
    assert as_networks("127.0.0.1,10.0.0.0/8,::1") == ("127.0.0.1", "10.0.0.0/8", "::1")


@pytest.mark.config(PERFORMANCE_APDEX_T_OVERRIDES="/perftarget/sleep=50", PERFORMANCE_SAMPLE_RATE="0.25")
def test_explicit_string_values_are_parsed_for_the_request_path(app):
    config = app.extensions["plugin.performance"].config
    assert isinstance(config, PerfConfig)
    assert config.sample_rate == 0.25
    assert config.apdex_t("/perftarget/sleep") == 50.0
    assert config.apdex_t("/other") == 300.0


@given(st.text(max_size=60))
def test_override_parser_only_raises_value_error(raw):
    try:
        as_apdex_overrides(raw)
    except ValueError:
        pass


@given(st.text(max_size=60))
def test_network_parser_only_raises_value_error(raw):
    try:
        as_networks(raw)
    except ValueError:
        pass
