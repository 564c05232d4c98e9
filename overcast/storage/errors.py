"""What the storage layer raises that a request can meet: the database out of reach (AWS's
503 ServiceUnavailable, in the protocol's error format, as every AwsError is) and a database
whose schema a newer overcast wrote."""

from __future__ import annotations

from overcast.aws.errors import AwsError

UNAVAILABLE_MESSAGE = "The request has failed due to a temporary failure of the server."


class StorageUnavailable(AwsError):
    """The database cannot be reached (PostgreSQL down or the network to it lost)."""

    def __init__(self, detail: str = ""):
        super().__init__("ServiceUnavailable", UNAVAILABLE_MESSAGE, 503, sender_fault=False)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail or self.message


class SchemaTooNew(Exception):
    """The database holds a schema version this build does not know: a newer overcast migrated it."""

    def __init__(self, service: str, found: int, known: int):
        super().__init__(f"the database's {service} schema is version {found}, newer than this overcast's "
                         f"({known}): a newer overcast has migrated it; run that version (or newer)")
        self.service, self.found, self.known = service, found, known
