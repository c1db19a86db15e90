"""A small OpenID Connect provider on localhost, for tests of signing in (standard library HTTP,
Authlib's JOSE for the signed ID tokens).

It serves the discovery document, the JWKS, ``/authorize`` (which signs in the configured user at
once and redirects back with a code), ``/token`` (the authorization-code grant, with the client's
secret) and ``/userinfo``. The ID token is RS256-signed and carries the issuer, audience, nonce,
expiry and the user's email, so a relying party (Streamlit's ``st.login`` through Authlib)
validates it exactly as it would a real provider's.

    with OIDCProvider(email="ana@example.org") as provider:
        provider.issuer  # e.g. http://127.0.0.1:40123
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "automem-dashboard"
CLIENT_SECRET = "local-test-secret"  # a test provider's own client secret, not a credential


@dataclass
class _Grant:
    client_id: str
    nonce: str
    redirect_uri: str


@dataclass
class OIDCProvider:
    """An OpenID Connect provider that signs in ``email`` whenever asked."""

    email: str
    name: str = "Test User"
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    grants: dict[str, _Grant] = field(default_factory=dict)
    issued: list[dict[str, Any]] = field(default_factory=list)  # the ID tokens' claims

    def __post_init__(self) -> None:
        from authlib.jose import JsonWebKey

        self._key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
        self._kid = secrets.token_hex(4)
        self._server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        if self._server is None:
            raise RuntimeError("start the provider first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def metadata(self) -> dict[str, Any]:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def jwks(self) -> dict[str, Any]:
        public = self._key.as_dict(is_private=False)
        return {"keys": [{**public, "kid": self._kid, "use": "sig", "alg": "RS256"}]}

    def id_token(self, grant: _Grant) -> str:
        from authlib.jose import jwt

        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": self.email, "aud": grant.client_id, "iat": now,
            "exp": now + 600, "nonce": grant.nonce, "email": self.email,
            "email_verified": True, "name": self.name,
        }  # fmt: skip
        self.issued.append(claims)
        token: bytes = jwt.encode({"alg": "RS256", "kid": self._kid}, claims, self._key)
        return token.decode()

    def start(self) -> str:
        provider = self

        class Handler(_Handler):
            owner = provider

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.issuer

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> OIDCProvider:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    owner: OIDCProvider

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _json(self, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/.well-known/openid-configuration":
            self._json(self.owner.metadata())
        elif url.path == "/jwks":
            self._json(self.owner.jwks())
        elif url.path == "/authorize":
            self._authorize(query)
        elif url.path == "/userinfo":
            self._json({"sub": self.owner.email, "email": self.owner.email})
        else:
            self._json({"error": "not_found"}, 404)

    def _authorize(self, query: dict[str, str]) -> None:
        if query.get("client_id") != self.owner.client_id or "redirect_uri" not in query:
            self._json({"error": "invalid_client"}, 400)
            return
        code = secrets.token_urlsafe(16)
        self.owner.grants[code] = _Grant(query["client_id"], query.get("nonce", ""),
                                         query["redirect_uri"])  # fmt: skip
        back = {"code": code, "state": query.get("state", "")}
        self.send_response(302)
        self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
        self.end_headers()

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/token":
            self._json({"error": "not_found"}, 404)
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if not self._client_ok(form):
            self._json({"error": "invalid_client"}, 401)
            return
        grant = self.owner.grants.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or grant is None:
            self._json({"error": "invalid_grant"}, 400)
            return
        self._json({
            "access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
            "expires_in": 600, "scope": "openid email profile",
            "id_token": self.owner.id_token(grant),
        })  # fmt: skip

    def _client_ok(self, form: dict[str, str]) -> bool:
        import base64

        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        else:
            user, password = form.get("client_id", ""), form.get("client_secret", "")
        return user == self.owner.client_id and password == self.owner.client_secret
