from tests.conftest import PASSWORD


def test_login_logout_roundtrip(client, auth, make_user):
    make_user("alice")
    assert client.get("/").status_code == 302
    response = auth.login("alice", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    auth.logout()
    assert client.get("/").status_code == 302
