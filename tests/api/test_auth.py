"""Logging in, tokens, throttling and the 401/403 matrix of every route."""

import httpx
import pytest

from tests.app_fixtures import ADMIN, ADMIN_PASSWORD, bearer, token_for

# (method, path, body, roles that may call it)
ROUTES = [
    ("GET", "/api/v1/users", None, {"admin"}),
    ("POST", "/api/v1/users", {"username": "zed", "password": "zed-password", "role": "user"}, {"admin"}),
    ("PATCH", "/api/v1/users/nobody", {"is_active": False}, {"admin"}),
    ("POST", "/api/v1/realtime/events/publish", {"event_type": "mesh.node.connected", "data": {"node_id": "n"}},
     {"admin", "system"}),
    ("GET", "/api/v1/realtime/events/history", None, {"admin"}),
]


async def test_login_returns_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", json={"username": ADMIN, "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["role"] == "admin" and body["access_token"]


async def test_wrong_password_is_401_and_repeated_failures_are_throttled(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        response = await client.post("/api/v1/auth/token", json={"username": ADMIN, "password": "wrong-password"})
        assert response.status_code == 401
        assert response.json()["detail"] == "wrong username or password"
    response = await client.post("/api/v1/auth/token", json={"username": ADMIN, "password": ADMIN_PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


async def test_a_forged_token_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users", headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or expired token"


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ROUTES)
async def test_role_matrix(client: httpx.AsyncClient, admin_headers: dict[str, str], user_headers: dict[str, str],
                           system_headers: dict[str, str], method: str, path: str, body: dict | None,
                           allowed: set[str]) -> None:
    anonymous = await client.request(method, path, json=body)
    assert anonymous.status_code == 401
    for role, headers in (("user", user_headers), ("system", system_headers), ("admin", admin_headers)):
        response = await client.request(method, path, json=body, headers=headers)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert "requires role" in response.json()["detail"]


async def test_admin_creates_lists_and_deactivates_users(client: httpx.AsyncClient,
                                                         admin_headers: dict[str, str]) -> None:
    created = await client.post("/api/v1/users", headers=admin_headers,
                                json={"username": "bob", "password": "bob-password", "role": "user"})
    assert created.status_code == 201
    assert created.json()["username"] == "bob" and created.json()["is_active"] is True
    duplicate = await client.post("/api/v1/users", headers=admin_headers,
                                  json={"username": "bob", "password": "bob-password"})
    assert duplicate.status_code == 409
    bad = await client.post("/api/v1/users", headers=admin_headers,
                            json={"username": "has space", "password": "long-enough"})
    assert bad.status_code == 422 and "username" in str(bad.json()["detail"])

    bob = bearer(await token_for(client, "bob", "bob-password"))
    listed = await client.get("/api/v1/users", headers=admin_headers)
    assert {u["username"] for u in listed.json()["users"]} == {"admin", "bob"}

    patched = await client.patch("/api/v1/users/bob", headers=admin_headers, json={"is_active": False})
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    assert (await client.post("/api/v1/auth/token",
                              json={"username": "bob", "password": "bob-password"})).status_code == 401
    publish = await client.post("/api/v1/realtime/events/publish", headers=bob, json={"event_type": "x.y"})
    assert publish.status_code == 401  # the old token dies with the account
    missing = await client.patch("/api/v1/users/nobody", headers=admin_headers, json={"is_active": False})
    assert missing.status_code == 404


async def test_unknown_api_path_is_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert "no such API route" in response.json()["detail"]


async def test_openapi_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/realtime/events/publish" in schema["paths"]
