"""The API's OpenAPI 3.1 description, served at /api/v1/openapi.json.

Hand-written rather than generated: the API is four operations, and a literal document is the
easiest to keep exact. tests/unit/juno/test_api.py checks that every route is described and
that real responses validate against these schemas, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_ZIP = {"application/zip": {"schema": {"type": "string", "format": "binary"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


_UNAUTHORIZED = {
    "description": "Missing, malformed, expired or foreign token; unregistered or disabled "
    "tenant. The reason is in `error`.",
    "headers": {
        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer challenge"}
    },
    "content": {"application/json": {"schema": _ERROR}},
}
_UNAVAILABLE = _error("The API cannot check tokens now (not configured, keys unreachable).")

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "JUNO for Teams API",
        "version": "1.0.0",
        "summary": "Data-subject rights for the signed-in user.",
        "description": "Every /me operation acts for the user named by the Microsoft Entra ID "
        "access token (its `oid`, in its `tid`), never for anyone else. Tokens must be issued "
        "to JUNO's API by the user's own tenant, which must be registered and enabled.",
    },
    "servers": [{"url": "/api/v1"}],
    "security": [{"entra": []}],
    "paths": {
        "/me/export": {
            "get": {
                "operationId": "exportMyData",
                "summary": "A zip of everything JUNO holds about the caller (GDPR Art. 15/20, "
                "KVKK Art. 11)",
                "description": "data.json (machine-readable, with schema_version), one JSON "
                "file per store under stores/, and summary.txt in the caller's language.",
                "parameters": [
                    {
                        "name": "locale",
                        "in": "query",
                        "required": False,
                        "description": "Language of the summary; defaults to the tenant's.",
                        "schema": {"type": "string", "enum": ["tr", "en"]},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The export.",
                        "headers": {
                            "Content-Disposition": {
                                "schema": {"type": "string"},
                                "description": "attachment; filename=...",
                            }
                        },
                        "content": _ZIP,
                    },
                    "400": _error("The locale is neither tr nor en."),
                    "401": _UNAUTHORIZED,
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/me/consents": {
            "get": {
                "operationId": "myConsents",
                "summary": "The caller's standing on the current privacy notice and terms, "
                "and their consent trail",
                "responses": {
                    "200": {
                        "description": "Consents.",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Consents"}
                            }
                        },
                    },
                    "401": _UNAUTHORIZED,
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/exports/{token}": {
            "get": {
                "operationId": "downloadExport",
                "summary": "Download a prepared export through its signed, single-use link",
                "description": "The link itself is the credential: it is bound to one user "
                "and tenant, expires within 24 hours and works once.",
                "security": [],
                "parameters": [
                    {
                        "name": "token",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": {
                        "description": "The export.",
                        "headers": {
                            "Content-Disposition": {
                                "schema": {"type": "string"},
                                "description": "attachment; filename=...",
                            }
                        },
                        "content": _ZIP,
                    },
                    "404": _error("Unknown or tampered link."),
                    "410": _error("Expired or already used link."),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "entra": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "A Microsoft Entra ID access token for JUNO's API "
                "(audience JUNO_API_AUDIENCE), RS256, with a delegated scope.",
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}},
                "additionalProperties": False,
            },
            "Consents": {
                "type": "object",
                "required": ["tenant_id", "user_id", "notice", "eula", "trail"],
                "additionalProperties": False,
                "properties": {
                    "tenant_id": {"type": "string"},
                    "user_id": {"type": "string"},
                    "notice": {
                        "type": "object",
                        "required": ["version", "acknowledged"],
                        "additionalProperties": False,
                        "properties": {
                            "version": {"type": "integer"},
                            "acknowledged": {"type": "boolean"},
                        },
                    },
                    "eula": {
                        "type": "object",
                        "required": ["version", "state"],
                        "additionalProperties": False,
                        "properties": {
                            "version": {"type": "integer"},
                            "state": {
                                "enum": ["acknowledged", "accepted", "declined", "withdrawn", None]
                            },
                        },
                    },
                    "trail": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/ConsentRecord"},
                    },
                },
            },
            "ConsentRecord": {
                "type": "object",
                "required": ["document", "version", "action", "at"],
                "additionalProperties": False,
                "properties": {
                    "document": {"enum": ["notice", "eula"]},
                    "version": {"type": "integer"},
                    "action": {"enum": ["acknowledged", "accepted", "declined", "withdrawn"]},
                    "at": {"type": "string", "format": "date-time"},
                    "locale": {"type": ["string", "null"]},
                },
            },
        },
    },
}
