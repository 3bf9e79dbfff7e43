"""The sub-processors JUNO engages on its customers' behalf (GDPR Art. 28(2)/(4), Art. 30(2)(d)).

Declared once: the processor's record of processing, the admin desk, the privacy notice's
transfer facts and docs/privacy.md all render this list, and a change to it (its fingerprint)
is what triggers the prior information every tenant's admins are owed under Art. 28(2).

Which hosting and database providers apply depends on how an operator deploys JUNO, so those two
entries come from settings (`JUNO_HOSTING_PROVIDER`, `JUNO_HOSTING_LOCATION`, and the MongoDB
provider read from `MONGODB_URI`); Microsoft is always one, because Teams and Graph are the product.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

# Locale -> text. Both "en" and "tr" are required (a test checks every entry).
Text = dict[str, str]


@dataclass(frozen=True)
class SubProcessor:
    key: str
    name: str
    service: Text
    data: Text
    location: Text
    transfer_abroad: bool
    safeguards: Text
    # How the name reads in each language where it is a description rather than a legal name
    # ("the operator's own servers"); `name` stays the stable identity change notices compare.
    names: Text | None = None

    def display(self, locale: str) -> str:
        return (self.names or {}).get(locale, self.name)


MICROSOFT = SubProcessor(
    key="microsoft",
    name="Microsoft Corporation / Microsoft Ireland Operations Ltd.",
    service={
        "en": "Microsoft Teams (delivering the bot's messages) and Microsoft Graph (reading the "
        "directory the customer's admin consented to)",
        "tr": "Microsoft Teams (botun mesajlarının iletilmesi) ve Microsoft Graph (müşteri "
        "yöneticisinin izin verdiği dizinin okunması)",
    },
    data={
        "en": "directory profile fields, messages exchanged with the bot, Entra ID object ids",
        "tr": "dizin profili alanları, botla yazışılan mesajlar, Entra ID nesne kimlikleri",
    },
    location={
        "en": "the customer's Microsoft 365 data region; Microsoft may process in the USA",
        "tr": "müşterinin Microsoft 365 veri bölgesi; Microsoft ABD'de de işleyebilir",
    },
    transfer_abroad=True,
    safeguards={
        "en": "Microsoft Products and Services Data Protection Addendum (standard contractual "
        "clauses, EU Data Boundary); KVKK Art. 9 standard contract where Turkish data leaves "
        "Türkiye",
        "tr": "Microsoft Ürün ve Hizmetleri Veri Koruma Eki (standart sözleşme hükümleri, AB Veri "
        "Sınırı); Türkiye dışına aktarımda KVKK m. 9 standart sözleşmesi",
    },
)


_OWN_SERVERS: Text = {
    "en": "the operator's own servers",
    "tr": "işletmecinin kendi sunucuları",
}


def _hosting(name: str | None, location: str | None) -> SubProcessor:
    where = location or "not declared by the operator"
    where_tr = location or "işletmeci tarafından belirtilmedi"
    return SubProcessor(
        key="hosting",
        name=name or _OWN_SERVERS["en"],
        names=None if name else _OWN_SERVERS,
        service={
            "en": "runs the JUNO service (bot, API, directory sync)",
            "tr": "JUNO hizmetini (bot, API, dizin eşitlemesi) çalıştırır",
        },
        data={
            "en": "everything JUNO processes, in transit through the service",
            "tr": "JUNO'nun işlediği tüm veriler, hizmetten geçerken",
        },
        location={"en": where, "tr": where_tr},
        transfer_abroad=bool(location) and "türkiye" not in where.casefold(),
        safeguards={
            "en": "data processing agreement with the provider; TLS in transit",
            "tr": "sağlayıcıyla veri işleme sözleşmesi; aktarımda TLS",
        },
    )


def _database(mongodb_uri: str | None) -> SubProcessor | None:
    """The MongoDB provider, from the connection string's host; None for the embedded server
    (then the data stays on the hosting provider's machines)."""
    if not mongodb_uri:
        return None
    host = (urlsplit(mongodb_uri).hostname or "").lower()
    if host.endswith(".mongodb.net"):
        name = "MongoDB, Inc. (MongoDB Atlas)"
    elif host.endswith(".cosmos.azure.com") or host.endswith(".documents.azure.com"):
        name = "Microsoft Corporation (Azure Cosmos DB for MongoDB)"
    else:
        return None  # a MongoDB the operator runs itself: no further sub-processor
    return SubProcessor(
        key="database",
        name=name,
        service={"en": "stores JUNO's database", "tr": "JUNO'nun veritabanını barındırır"},
        data={
            "en": "every record in the data map, encrypted at rest by the provider",
            "tr": "veri haritasındaki tüm kayıtlar, sağlayıcı tarafından şifreli olarak",
        },
        location={
            "en": "the region the operator chose for the cluster",
            "tr": "işletmecinin küme için seçtiği bölge",
        },
        transfer_abroad=True,
        safeguards={
            "en": "the provider's data processing agreement (standard contractual clauses)",
            "tr": "sağlayıcının veri işleme sözleşmesi (standart sözleşme hükümleri)",
        },
    )


def declared(
    *,
    mongodb_uri: str | None = None,
    hosting_provider: str | None = None,
    hosting_location: str | None = None,
) -> tuple[SubProcessor, ...]:
    """Every sub-processor for this deployment, in a stable order."""
    found = [MICROSOFT, _hosting(hosting_provider, hosting_location)]
    database = _database(mongodb_uri)
    if database:
        found.append(database)
    return tuple(found)


def possible() -> tuple[SubProcessor, ...]:
    """Every entry some deployment can declare (what docs/privacy.md lists): Microsoft, the
    hosting provider as unnamed, and each managed MongoDB provider recognised."""
    managed = (
        _database("mongodb+srv://cluster.mongodb.net"),
        _database("mongodb://account.cosmos.azure.com"),
    )
    return (MICROSOFT, _hosting(None, None), *(d for d in managed if d is not None))


def fingerprint(subprocessors: tuple[SubProcessor, ...]) -> str:
    """A stable digest of the list: when it changes, every tenant's admins are told."""
    body = json.dumps([asdict(s) for s in subprocessors], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()
