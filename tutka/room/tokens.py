"""Staff tokens: only their SHA-256 hashes are kept, and a lookup takes the same time for each."""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from tutka.config.settings import RoomUser
from tutka.models.access import Principal, Role
from tutka.models.areas import COUNTRY


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Staff:
    """Token hashes to principals (tokens themselves are never kept)."""

    by_hash: dict[str, Principal]

    @classmethod
    def of(cls, users: Sequence[RoomUser]) -> "Staff":
        return cls({
            u.token_sha256: Principal(
                name=u.name, role=Role(u.role), scope=u.scope, organisation=u.organisation
            )
            for u in users
        })  # fmt: skip

    def find(self, token: str) -> Principal | None:
        digest = token_hash(token)
        found = None
        for known, principal in self.by_hash.items():
            if hmac.compare_digest(known, digest):  # the same time for every token
                found = principal
        return found


def ephemeral_users() -> tuple[list[RoomUser], dict[str, str]]:
    """Random tokens for a demo session: a national admin, a Lapland analyst, a viewer."""
    people = [
        ("Demo admin", "admin", COUNTRY),
        ("Demo analyst (Lappi)", "analyst", "ELY15"),
        ("Demo analyst", "analyst", COUNTRY),
        ("Demo viewer", "viewer", COUNTRY),
    ]
    users, tokens = [], {}
    for name, role, scope in people:
        token = secrets.token_urlsafe(24)
        tokens[name] = token
        users.append(RoomUser(name=name, role=role, scope=scope, token_sha256=token_hash(token)))
    return users, tokens
