"""The HTTP API (`/api/v1`): data-subject rights for the signed-in user, signed export links."""

from juno.api.app import build_api_app
from juno.api.auth import Caller, EntraTokens, Unauthorized, Unavailable

__all__ = ["Caller", "EntraTokens", "Unauthorized", "Unavailable", "build_api_app"]
