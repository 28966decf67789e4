"""Who may see and do what in the situation room: roles and ELY scope.

A :class:`Principal` is a member of staff behind a token: a role (viewer < analyst < admin) and
a scope, either an ELY area (``ELY15``: sees and acts on only the alerts under it) or the
country (``SSS``: national users see everything). Pure: the room's HTTP shell asks these
functions and turns a ``False`` into 403.

>>> from tutka.models.areas import Area, Hierarchy
>>> h = Hierarchy([
...     Area("SSS", "Koko maa", "Hela landet", "Finland", None),
...     Area("ELY15", "Lappi", "Lappland", "Lapland", "SSS"),
...     Area("MK19", "Lappi", "Lappland", "Lapland", "ELY15"),
...     Area("ELY01", "Uusimaa", "Nyland", "Uusimaa", "SSS"),
... ])
>>> lappi = Principal(name="aino", role="analyst", scope="ELY15")
>>> may(lappi, "work_cases"), may(lappi, "manage_others_subscriptions")
(True, False)
>>> in_scope(lappi, "MK19", (), h), in_scope(lappi, "ELY01", (), h), in_scope(lappi, "SSS", (), h)
(True, False, False)
>>> lappi.organisation
'ELY15'
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from tutka.models.areas import COUNTRY, Hierarchy


class Role(StrEnum):
    """What a member of staff may do: view, work on cases, or also administer."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """The role's place in viewer < analyst < admin (a higher role may do all a lower may)."""
        return _ROLE_RANK[self]


_ROLE_RANK: Final = {Role.VIEWER: 1, Role.ANALYST: 2, Role.ADMIN: 3}

Permission = Literal[
    "read",  # the picture, alerts, cases, own subscriptions
    "work_cases",  # acknowledge, assign, note, assess, link actions
    "manage_subscriptions",  # create and remove the subscriptions of one's own organisation
    "manage_others_subscriptions",  # …and of other organisations within one's scope
    "submit_notices",  # upload layoff notices (spreadsheets) for the municipalities in scope
]
_NEEDS: Final[dict[Permission, Role]] = {
    "read": Role.VIEWER,
    "work_cases": Role.ANALYST,
    "manage_subscriptions": Role.ANALYST,
    "manage_others_subscriptions": Role.ADMIN,
    "submit_notices": Role.ANALYST,
}

#: An ELY area or the country: the two scopes a member of staff can have.
ScopeCode = Annotated[str, StringConstraints(pattern=r"^(ELY(0[1-9]|1[0-9])|SSS)$")]


class Principal(BaseModel):
    """A member of staff, as the room knows them from their token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    role: Role
    scope: ScopeCode = COUNTRY
    organisation: Annotated[str, StringConstraints(pattern=r"^([A-Z][A-Z0-9-]{1,31})?$")] = ""

    @model_validator(mode="after")
    def _organisation_of_ely_staff(self) -> Principal:
        # ELY staff subscribe as their ELY centre; national staff name their body (TEM, KEHA).
        if self.scope != COUNTRY:
            if self.organisation not in ("", self.scope):
                raise ValueError(f"staff scoped to {self.scope} belong to {self.scope}")
            object.__setattr__(self, "organisation", self.scope)
        elif not self.organisation:
            object.__setattr__(self, "organisation", "TEM")
        return self

    @property
    def national(self) -> bool:
        """Whether this member of staff sees the whole country (scope ``SSS``)."""
        return self.scope == COUNTRY


def may(principal: Principal, permission: Permission) -> bool:
    """Whether ``principal``'s role grants ``permission`` (scope is checked separately)."""
    return principal.role.rank >= _NEEDS[permission].rank


def in_scope(principal: Principal, area: str, parents: Sequence[str], hierarchy: Hierarchy) -> bool:
    """Whether an area (an alert's, with the parents it was produced with) is the user's.

    An area missing from the current hierarchy (a merged municipality) is judged by the parents
    the alert carries, so old alerts stay visible to the right ELY centre.
    """
    if principal.national:
        return True
    if area in hierarchy:
        return hierarchy.contains(principal.scope, area)
    return principal.scope == area or principal.scope in parents
