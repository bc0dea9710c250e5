"""Authentication of the verification API: ``Authorization: Bearer <token>`` of a
client that is not revoked, of an active organisation; then the client's rate limit
(portal settings ``API_RATE_PER_MINUTE``) and when it was last used."""

from django.http import HttpRequest
from ninja.security import HttpBearer

from api.models import ApiClient
from api.ratelimit import rate_limit_wait
from api.selectors import client_by_token
from api.services import api_client_used


class RateLimited(Exception):
    def __init__(self, wait: int) -> None:
        self.wait = wait
        super().__init__(f"rate limited for {wait} s")


class ClientToken(HttpBearer):
    """The bearer token of an API client. Never logs what it was sent (ninja's own
    bearer class logs a malformed header in debug mode: it may hold a token)."""

    def __call__(self, request: HttpRequest) -> ApiClient | None:
        scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        return self.authenticate(request, token.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiClient | None:
        client = client_by_token(token)
        if client is None:
            return None
        wait = rate_limit_wait(client.pk)
        if wait:
            raise RateLimited(wait)
        api_client_used(client=client)
        return client


client_token = ClientToken()
