"""What the user asked for, from typed text (Turkish or English, any case, with or without
diacritics) or from a card button's submit data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.turkish import strip_suffixes
from storage.search_keys import fold


class Command(StrEnum):
    HELP = "help"
    CONSENTS = "consents"
    SHOW_NOTICE = "show_notice"
    SHOW_EULA = "show_eula"
    SHOW_VERSION = "show_version"
    ACK_NOTICE = "ack_notice"
    ACCEPT_EULA = "accept_eula"
    DECLINE_EULA = "decline_eula"
    WITHDRAW_EULA = "withdraw_eula"
    SEARCH = "search"
    PERSON = "person"
    ORG_CHART = "org_chart"
    MY_PROFILE = "my_profile"
    CORRECT = "correct"
    EXPORT = "export"
    ADMIN = "admin"
    ADMIN_REVIEW = "admin_review"
    DSR_APPROVE = "dsr_approve"
    DSR_REJECT = "dsr_reject"
    DSR_COMPLETE = "dsr_complete"
    ADMIN_LIFT_SUPPRESSION = "admin_lift_suppression"
    ADMIN_SYNC = "admin_sync"
    ADMIN_REMOVAL = "admin_removal"
    ADMIN_REMOVAL_SET = "admin_removal_set"
    ADMIN_PUBLISH = "admin_publish"
    ADMIN_PUBLISH_SET = "admin_publish_set"
    ADMIN_ROPA = "admin_ropa"
    ADMIN_ROPA_FILE = "admin_ropa_file"
    ADMIN_CONTROLLER = "admin_controller"
    ADMIN_CONTROLLER_SET = "admin_controller_set"
    ADMIN_ARCHIVE = "admin_archive"
    # Processor duties (bot.flows.processor): incidents, sub-processors, security summary.
    ADMIN_INCIDENT = "admin_incident"
    ADMIN_SUBPROCESSORS = "admin_subprocessors"
    ADMIN_SECURITY_FILE = "admin_security_file"
    ERASE = "erase"
    PROPOSE = "propose"
    UNKNOWN = "unknown"


# Commands of the admin desk (bot.flows.admin): admin rights are checked on each.
ADMIN_COMMANDS = frozenset(
    {
        Command.ADMIN,
        Command.ADMIN_REVIEW,
        Command.DSR_APPROVE,
        Command.DSR_REJECT,
        Command.DSR_COMPLETE,
        Command.ADMIN_LIFT_SUPPRESSION,
        Command.ADMIN_SYNC,
        Command.ADMIN_REMOVAL,
        Command.ADMIN_REMOVAL_SET,
        Command.ADMIN_PUBLISH,
        Command.ADMIN_PUBLISH_SET,
        Command.ADMIN_ROPA,
        Command.ADMIN_ROPA_FILE,
        Command.ADMIN_CONTROLLER,
        Command.ADMIN_CONTROLLER_SET,
        Command.ADMIN_ARCHIVE,
        Command.ADMIN_INCIDENT,
        Command.ADMIN_SUBPROCESSORS,
        Command.ADMIN_SECURITY_FILE,
    }
)
# Commands a user may use before acknowledging the notice and accepting the terms: the
# documents, help, and every data right (the notice promises them regardless of the terms).
# Looking up colleagues is what the terms are about, so search and person cards are gated.
ALWAYS_ALLOWED = frozenset(
    {
        Command.HELP,
        Command.CONSENTS,
        Command.SHOW_NOTICE,
        Command.SHOW_EULA,
        Command.SHOW_VERSION,
        Command.ACK_NOTICE,
        Command.ACCEPT_EULA,
        Command.DECLINE_EULA,
        Command.WITHDRAW_EULA,
        Command.EXPORT,
        Command.ERASE,
        Command.MY_PROFILE,
        Command.CORRECT,
        Command.PROPOSE,
    }
    # Admin duties are the controller's, not use of the directory; admin rights are checked
    # on every one of them instead.
    | ADMIN_COMMANDS
)
# A message that is no command and at most this many words is taken as a name to look up.
BARE_SEARCH_WORDS = 4
_SEARCH_VERBS = {"ara", "bul", "find", "search", "kim", "who", "lookup"}
# Turkish puts the verb last: "ayşe'yi bul", "oğuz kim".
_TRAILING_VERBS = {"ara", "bul", "kim", "kimdir"}
# "org chart", "org chart Ayşe", "Ayşe'nin organizasyon şeması" (folded forms).
# Not "şema" alone: Sema is a common given name.
# "show me the org chart", "bana organizasyon şemasını göster": no name in these words.
_CHART_FILLER = {"show", "me", "the", "my", "of", "for", "bana", "benim", "goster", "gosterir",
                 "misin", "lutfen", "please"}  # fmt: skip
_ORG_CHART = ("organization chart", "organizasyon semasi", "organizasyon semasini",
              "org semasi", "org chart", "orgchart", "org")  # fmt: skip

_PHRASES: dict[str, Command] = {
    "help": Command.HELP,
    "yardim": Command.HELP,
    "menu": Command.HELP,
    "?": Command.HELP,
    "my consents": Command.CONSENTS,
    "consents": Command.CONSENTS,
    "onaylarim": Command.CONSENTS,
    "izinlerim": Command.CONSENTS,
    "privacy": Command.SHOW_NOTICE,
    "privacy notice": Command.SHOW_NOTICE,
    "gizlilik": Command.SHOW_NOTICE,
    "aydinlatma": Command.SHOW_NOTICE,
    "aydinlatma metni": Command.SHOW_NOTICE,
    "terms": Command.SHOW_EULA,
    "terms of use": Command.SHOW_EULA,
    "eula": Command.SHOW_EULA,
    "kosullar": Command.SHOW_EULA,
    "kullanim kosullari": Command.SHOW_EULA,
    "my profile": Command.MY_PROFILE,
    "profile": Command.MY_PROFILE,
    "profilim": Command.MY_PROFILE,
    "me": Command.MY_PROFILE,
    "admin": Command.ADMIN,
    "yonetim": Command.ADMIN,
    "export my data": Command.EXPORT,
    "export": Command.EXPORT,
    "my data": Command.EXPORT,
    "verilerimi indir": Command.EXPORT,
    "verilerimi disa aktar": Command.EXPORT,
    "disa aktar": Command.EXPORT,
    "verilerim": Command.EXPORT,
    "suggest a correction": Command.CORRECT,
    "correct my profile": Command.CORRECT,
    "correction": Command.CORRECT,
    "correct": Command.CORRECT,
    "duzelt": Command.CORRECT,
    "duzeltme oner": Command.CORRECT,
    "duzeltme": Command.CORRECT,
    "profilimi duzelt": Command.CORRECT,
    "delete my data": Command.ERASE,
    "erase my data": Command.ERASE,
    "verilerimi sil": Command.ERASE,
    "ben": Command.MY_PROFILE,
}


@dataclass(frozen=True)
class Request:
    command: Command
    data: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def parse(text: str | None, value: Any) -> Request:
    if isinstance(value, dict) and isinstance(value.get("juno"), str):
        try:
            command = Command(value["juno"])
        except ValueError:
            return Request(Command.UNKNOWN)
        return Request(command, {k: v for k, v in value.items() if k != "juno"})
    raw = (text or "").strip()
    key = "?" if raw == "?" else fold(raw[:200])
    if key in _PHRASES:
        return Request(_PHRASES[key], text=raw)
    org_chart = _org_chart(raw)
    if org_chart is not None:
        return Request(Command.ORG_CHART, {"term": org_chart}, text=raw)
    words = raw.split()
    if words and fold(words[0]) in _SEARCH_VERBS:
        rest = words[1:]
        if rest and fold(words[0]) == "who" and fold(rest[0]) in ("is", "s"):
            rest = rest[1:]
        return Request(Command.SEARCH, {"term": strip_suffixes(" ".join(rest))}, text=raw)
    if len(words) > 1 and fold(words[-1]) in _TRAILING_VERBS:
        return Request(Command.SEARCH, {"term": strip_suffixes(" ".join(words[:-1]))}, text=raw)
    if 0 < len(words) <= BARE_SEARCH_WORDS:
        return Request(Command.SEARCH, {"term": strip_suffixes(raw), "bare": True}, text=raw)
    return Request(Command.UNKNOWN, text=raw)


def _org_chart(raw: str) -> str | None:
    """The name asked about when the text asks for an org chart ("" for one's own), else None.
    A two-word phrase may stand anywhere ("bana organizasyon şemasını göster"); "org" alone
    only first or last."""
    words = raw.split()
    folded = [fold(w) for w in words]
    for phrase in _ORG_CHART:
        size = len(phrase.split())
        places = range(len(words) - size + 1) if size > 1 else (0, len(words) - 1)
        for at in places:
            if at >= 0 and " ".join(folded[at : at + size]) == phrase:
                rest = words[:at] + words[at + size :]
                named = [w for w in rest if fold(w) not in _CHART_FILLER]
                return strip_suffixes(" ".join(named))
    return None
