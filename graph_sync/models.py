"""Graph's wire shapes for `/users/delta`, decoded with msgspec straight from the response bytes.

Only the fields we select are declared; msgspec skips everything else without building it, which
is where the speed over the SDK's generic model parsing comes from (docs/graph-sync.md has the
figures). `manager@delta` and `@removed` stay UNSET when absent, because "absent" and "empty"
mean different things to the engine.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

# What each delta request asks for. `manager` in `$select` is how Graph reports the manager
# relationship on delta (`manager@delta`); `$expand` is not supported with delta.
USER_SELECT: tuple[str, ...] = (
    "id",
    "givenName",
    "surname",
    "displayName",
    "mail",
    "userPrincipalName",
    "jobTitle",
    "department",
    "officeLocation",
    "employeeId",
    "employeeType",
    "accountEnabled",
    "userType",
    "manager",
)


class Removed(msgspec.Struct, frozen=True):
    """`@removed`: `changed` = soft-deleted (restorable), `deleted` = permanently deleted."""

    reason: str = "changed"


class ManagerRef(msgspec.Struct, frozen=True):
    id: str | None = None
    removed: Removed | UnsetType = msgspec.field(default=UNSET, name="@removed")


class GraphUser(msgspec.Struct):
    id: str
    given_name: str | None = msgspec.field(default=None, name="givenName")
    surname: str | None = None
    display_name: str | None = msgspec.field(default=None, name="displayName")
    mail: str | None = None
    user_principal_name: str | None = msgspec.field(default=None, name="userPrincipalName")
    job_title: str | None = msgspec.field(default=None, name="jobTitle")
    department: str | None = None
    office_location: str | None = msgspec.field(default=None, name="officeLocation")
    employee_id: str | None = msgspec.field(default=None, name="employeeId")
    employee_type: str | None = msgspec.field(default=None, name="employeeType")
    account_enabled: bool | None = msgspec.field(default=None, name="accountEnabled")
    user_type: str | None = msgspec.field(default=None, name="userType")
    manager_delta: list[ManagerRef] | UnsetType | None = msgspec.field(
        default=UNSET, name="manager@delta"
    )
    removed: Removed | UnsetType | None = msgspec.field(default=UNSET, name="@removed")


class DeltaPage(msgspec.Struct):
    value: list[GraphUser] = msgspec.field(default_factory=list)
    next_link: str | None = msgspec.field(default=None, name="@odata.nextLink")
    delta_link: str | None = msgspec.field(default=None, name="@odata.deltaLink")


PAGE_DECODER: msgspec.json.Decoder[DeltaPage] = msgspec.json.Decoder(DeltaPage)


def decode_page(body: bytes) -> DeltaPage:
    return PAGE_DECODER.decode(body)
