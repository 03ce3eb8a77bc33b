"""Request inspection: the labelled corpus rates, events naming the parameter, block mode,
dangerous uploads, and secrets never inspected into events."""

from __future__ import annotations

import io

import pytest

from plugins.security.patterns import classify, dangerous_upload
from tests.security.conftest import events
from tests.security.corpus import ATTACKS, BENIGN

pytestmark = pytest.mark.plugins("security")


def test_corpus_sizes():
    assert len(ATTACKS) >= 60 and len(BENIGN) >= 200


def test_corpus_detection_and_false_positive_rates(capsys):
    detected = sum(1 for _, payload in ATTACKS if classify(payload) is not None)
    right_kind = sum(1 for kind, payload in ATTACKS if classify(payload) == kind)
    false_positives = [text for text in BENIGN if classify(text) is not None]
    detection, fp_rate = detected / len(ATTACKS), len(false_positives) / len(BENIGN)
    with capsys.disabled():
        print(
            f"\ninspection corpus: {detected}/{len(ATTACKS)} attacks detected ({detection:.1%}), "
            f"{right_kind} with the right category; {len(false_positives)}/{len(BENIGN)} benign "
            f"inputs flagged ({fp_rate:.2%}): {false_positives}"
        )
    assert detection >= 0.95
    assert fp_rate < 0.01


@pytest.mark.parametrize("text", ["O'Brien", "select a plan", "<3", "I <3 this portal", "4 Drop Lane"])
def test_ordinary_text_passes(text):
    assert classify(text) is None


def test_query_attack_becomes_event_naming_the_parameter(client, app):
    response = client.get("/auth/login", query_string={"next": "/", "q": "1' UNION SELECT NULL,NULL--"})
    assert response.status_code == 200  # log-only by default
    (event,) = events(app, event_type="SQL_INJECTION_ATTEMPT")
    assert event["metadata"]["parameter"] == "q" and event["metadata"]["location"] == "query"
    assert event["metadata"]["payload"].startswith("1' UNION SELECT")
    assert event["severity"] == "HIGH"


def test_form_json_path_and_header_attacks(client, app):
    client.post("/auth/login", data={"username": "<script>alert(1)</script>", "password": "x"})
    client.post("/auth/login", json={"filter": {"name": "' OR '1'='1"}})
    client.get("/auth/login/..%2f..%2fetc%2fpasswd")
    client.get("/auth/login", headers={"User-Agent": "<svg onload=alert(1)>"})
    xss = events(app, event_type="XSS_ATTEMPT")
    assert {(e["metadata"]["location"], e["metadata"]["parameter"]) for e in xss} == {
        ("form", "username"),
        ("header", "User-Agent"),
    }
    (sqli,) = events(app, event_type="SQL_INJECTION_ATTEMPT")
    assert sqli["metadata"]["location"] == "json" and sqli["metadata"]["parameter"] == "filter.name"
    traversal = [e for e in events(app) if e["metadata"].get("attack") == "path_traversal"]
    assert traversal and traversal[0]["metadata"]["location"] == "path"


def test_passwords_are_never_inspected_into_events(client, app):
    client.post("/auth/login", data={"username": "alice", "password": "' OR '1'='1 <script>"})
    assert [e for e in events(app) if e["event_type"] in ("SQL_INJECTION_ATTEMPT", "XSS_ATTEMPT")] == []


def test_a_flagged_value_of_a_credential_form_is_kept_as_a_digest(client, app):
    client.post("/auth/login", data={"username": "Pa55' or 1=1--", "password": "x"})
    (event,) = events(app, event_type="SQL_INJECTION_ATTEMPT")
    assert event["metadata"]["parameter"] == "username" and len(event["metadata"]["payload_digest"]) == 16
    assert "payload" not in event["metadata"] and "Pa55" not in str(event)


def test_a_referer_is_recorded_without_its_query_string(client, app):
    client.get("/auth/login", headers={"Referer": "https://example.org/<script>x</script>?token=abc123"})
    (event,) = events(app, event_type="XSS_ATTEMPT")
    assert event["metadata"]["payload"].startswith("https://example.org/")
    assert "abc123" not in str(event)


def test_payload_is_truncated_and_neutralised(client, app):
    client.get("/auth/login", query_string={"q": "<script>\r\nalert(1)</script>" + "A" * 500})
    (event,) = events(app, event_type="XSS_ATTEMPT")
    assert len(event["metadata"]["payload"]) <= 120 and "\n" not in event["metadata"]["payload"]


@pytest.mark.config(SECURITY_INSPECTION_MODE="block")
def test_block_mode_answers_400(client, app):
    assert client.get("/auth/login", query_string={"q": "<script>alert(1)</script>"}).status_code == 400
    api = client.get("/api/v1/openapi.json", query_string={"id": "1 AND SLEEP(5)"})
    assert api.status_code == 400 and api.json["status"] == 400
    assert client.get("/auth/login", query_string={"q": "O'Brien"}).status_code == 200


@pytest.mark.config(SECURITY_INSPECTION_MODE="off")
def test_off_mode_records_nothing(client, app):
    client.get("/auth/login", query_string={"q": "<script>alert(1)</script>"})
    assert events(app, event_type="XSS_ATTEMPT") == []


@pytest.mark.parametrize(
    ("filename", "content", "dangerous"),
    [
        ("shell.php", b"<?php system($_GET['c']); ?>", True),
        ("invoice.pdf.exe", b"MZ\x90\x00", True),
        ("photo.jpg", b"<?php echo 1; ?>", True),
        ("../../etc/cron.d/x", b"hello", True),
        ("card.pdf", b"%PDF-1.7 ...", False),
        ("photo.jpg", b"\xff\xd8\xff\xe0JFIF", False),
        ("claims.xlsx", b"PK\x03\x04...", False),
    ],
)
def test_dangerous_upload_rules(filename, content, dangerous):
    assert (dangerous_upload(filename, content) is not None) is dangerous


def test_dangerous_upload_becomes_file_upload_attempt(client, app):
    client.post(
        "/auth/login",
        data={"username": "a", "password": "b", "document": (io.BytesIO(b"<?php phpinfo(); ?>"), "cv.php")},
        content_type="multipart/form-data",
    )
    (event,) = events(app, event_type="FILE_UPLOAD_ATTEMPT")
    assert event["metadata"]["parameter"] == "document" and "cv.php" in event["metadata"]["payload"]


def test_static_files_are_not_inspected(client, app):
    client.get("/static/portal.css", query_string={"q": "<script>alert(1)</script>"}).close()
    assert events(app) == []
