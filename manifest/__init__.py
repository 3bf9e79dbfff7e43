"""The Teams app package that tenant admins upload: manifest template, icons and builder.

Kept outside `juno` so the package can be built (and its schema checked) without the
bot's runtime dependencies; the `juno manifest` CLI is a thin wrapper around it.
"""

from manifest.errors import ManifestError

__all__ = ["ManifestError"]
