"""Checking documents against the official JSON schemas, strictly offline.

jsonschema would, for backwards compatibility, fetch an unknown remote `$ref` over HTTP. The
package must build on machines without internet access and must not depend on what a URL
serves today, so every reference resolves from the local schema folder or fails loudly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.validators import Draft4Validator, validator_for
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT4

from manifest.errors import ManifestError
from manifest.schema import SCHEMA_URL_BASE

_MAX_MESSAGE = 240
# Microsoft's own files and docs use both URL spellings; register the schemas under each.
_URL_BASES = (SCHEMA_URL_BASE, SCHEMA_URL_BASE.replace("/json-schemas/", "/en-us/json-schemas/"))


def load_json(path: Path) -> Any:
    """Read a JSON file; `utf-8-sig` because some Microsoft schema files carry a BOM."""
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from None


def local_registry(schema_dir: Path | None = None) -> Registry[Any]:
    """A registry holding the schema folder's files under their public URLs, and nothing else."""
    resources: list[tuple[str, Resource[Any]]] = []
    if schema_dir is not None:
        for path in sorted(schema_dir.glob("*.schema.json")):
            resource = Resource.from_contents(load_json(path), default_specification=DRAFT4)
            version = schema_dir.name
            resources.extend((f"{base}/{version}/{path.name}", resource) for base in _URL_BASES)
    # A plain Registry() cannot retrieve anything; only jsonschema's implicit default does.
    return Registry().with_resources(resources)


def validate(
    document: Mapping[str, Any],
    schema: Mapping[str, Any],
    *,
    label: str,
    registry: Registry[Any] | None = None,
) -> None:
    """Raise ManifestError naming the JSON path of the most relevant violation, if any."""
    validator_class = validator_for(schema, default=Draft4Validator)
    # No format checks on the schema itself: Microsoft writes ECMAScript regexes (`\p{L}`)
    # that Python's `re` rejects as a "regex" format, though they are fine where unused.
    schema_error = best_match(validator_class(validator_class.META_SCHEMA).iter_errors(schema))
    if schema_error is not None:
        raise ManifestError(f"the schema for {label} is itself invalid: {schema_error.message}")
    validator = validator_class(
        schema,
        registry=registry if registry is not None else local_registry(),
        format_checker=validator_class.FORMAT_CHECKER,
    )
    try:
        error = best_match(validator.iter_errors(document))
    except Unresolvable as exc:
        raise ManifestError(
            f"the schema for {label} has a $ref {exc.ref!r} that cannot be resolved offline"
        ) from None
    except re.error as exc:
        raise ManifestError(
            f"the schema for {label} has a pattern Python cannot evaluate ({exc}): {exc.pattern!r}"
        ) from None
    if error is not None:
        message = error.message
        if len(message) > _MAX_MESSAGE:
            message = message[: _MAX_MESSAGE - 1] + "…"
        raise ManifestError(f"{label}: {error.json_path}: {message}")
