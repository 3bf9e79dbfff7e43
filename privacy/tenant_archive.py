"""Reversibility at contract end: everything we hold for one tenant, as a structured archive.

The customer is the controller; when the contract ends they get their data back before we
destroy it (GDPR Art. 28(3)(g)). The archive walks the data map, so a store added to the map is
archived without anyone remembering to. Layout of the zip:

- `manifest.json`: format and schema version, tenant, when, and per store its title, purpose,
  file, record count, size and SHA-256;
- `stores/<collection>.jsonl`: one MongoDB Extended JSON (relaxed) document per line, exactly
  as stored, so dates, binary and ids survive a round trip into another MongoDB;
- `SHA256SUMS`: the same checksums in `sha256sum -c` format, for checking without our tools.

Documents are read in `_id` order in pages, so a large directory never sits in memory whole.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from bson import json_util

from privacy.consent import ensure_builtins_stored
from privacy.datamap import DATA_MAP
from storage.collections import Coll
from storage.repositories import TenantStore

FORMAT = "juno-tenant-archive"
SCHEMA_VERSION = 1
PAGE = 1_000
_JSON = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED, tz_aware=True)


@dataclass(frozen=True)
class ArchivedStore:
    collection: str
    title: str
    file: str
    records: int
    bytes: int
    sha256: str


@dataclass
class TenantArchive:
    tenant_id: str
    created_at: datetime
    stores: list[ArchivedStore] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(s.records for s in self.stores)

    def manifest(self, tenant_name: str | None) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "tenant_id": self.tenant_id,
            "tenant_name": tenant_name,
            "created_at": self.created_at.isoformat(),
            "encoding": "MongoDB Extended JSON v2 (relaxed), one document per line",
            "stores": [
                {
                    "collection": s.collection,
                    "title": s.title,
                    "purpose": DATA_MAP[Coll(s.collection)].purpose,
                    "file": s.file,
                    "records": s.records,
                    "bytes": s.bytes,
                    "sha256": s.sha256,
                }
                for s in self.stores
            ],
        }


def archive_filename(tenant_id: str, now: datetime) -> str:
    return f"juno-tenant-{tenant_id}-{now.strftime('%Y%m%d-%H%M%S')}.zip"


async def write_tenant_archive(
    store: TenantStore, out: IO[bytes], *, now: datetime | None = None
) -> TenantArchive:
    """Write the archive of `store`'s tenant into `out` (a file or buffer opened for writing)."""
    archive = TenantArchive(store.tenant_id, now or datetime.now(UTC))
    record = await store.own_record.get()
    if record is not None:  # a purged tenant gets nothing written back
        # Every text a consent record can refer to, the built-in version 1 included.
        await ensure_builtins_stored(store)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for coll, dataset in DATA_MAP.items():
            name = f"stores/{coll.value}.jsonl"
            digest = hashlib.sha256()
            records = size = 0
            with zf.open(name, "w", force_zip64=True) as member:
                async for doc in _documents(store, coll):
                    line = (json_util.dumps(doc, json_options=_JSON) + "\n").encode("utf-8")
                    member.write(line)
                    digest.update(line)
                    records += 1
                    size += len(line)
            archive.stores.append(
                ArchivedStore(coll.value, dataset.title, name, records, size, digest.hexdigest())
            )
        manifest = archive.manifest(record.name if record else None)
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        sums = "".join(f"{s.sha256}  {s.file}\n" for s in archive.stores)
        zf.writestr("SHA256SUMS", sums)
    return archive


async def _documents(store: TenantStore, coll: Coll) -> Any:
    """Every document of the tenant in `coll`, in `_id` order, a page at a time."""
    handle = DATA_MAP[coll].handle(store)
    last: Any = None
    while True:
        page = await handle.find(
            {"_id": {"$gt": last}} if last is not None else {},
            sort=[("_id", 1)],
            limit=PAGE,
        )
        for doc in page:
            yield doc
        if len(page) < PAGE:
            return
        last = page[-1]["_id"]


def verify_archive(path_or_file: Any) -> dict[str, Any]:
    """Re-read an archive and check every store file against the manifest; returns the
    manifest. Raises ValueError naming the first mismatch."""
    with zipfile.ZipFile(path_or_file) as zf:
        manifest: dict[str, Any] = json.loads(zf.read("manifest.json"))
        if manifest.get("format") != FORMAT:
            raise ValueError("not a JUNO tenant archive")
        for entry in manifest["stores"]:
            data = zf.read(entry["file"])
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                raise ValueError(f"{entry['file']}: checksum mismatch")
            if data.count(b"\n") != entry["records"]:
                raise ValueError(f"{entry['file']}: record count mismatch")
    return manifest
