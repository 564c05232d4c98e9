"""What the storage layer raises that a request can meet: the database out of reach (AWS's
503 ServiceUnavailable, in the protocol's error format, as every AwsError is: nothing was
written), a write whose outcome the database's loss left unknown (500 InternalFailure) and a database
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


OUTCOME_UNKNOWN_MESSAGE = "The request processing has failed because of an unknown error, exception or failure."


class OutcomeUnknown(StorageUnavailable):
    """The database went out of reach after a write was sent to it (a COMMIT or a statement in
    autocommit whose answer never came, or a commit not yet confirmed on the disk): the write may
    or may not have been applied. AWS answers 503 only for what did not happen; for this it
    answers InternalFailure (500), which SDKs also retry (a retried SendMessage may then be
    stored twice, as with AWS: at-least-once)."""

    def __init__(self, detail: str = ""):
        AwsError.__init__(self, "InternalFailure", OUTCOME_UNKNOWN_MESSAGE, 500, sender_fault=False)
        self.detail = detail


class SchemaTooNew(Exception):
    """The database holds a schema version this build does not know: a newer overcast migrated it."""

    def __init__(self, service: str, found: int, known: int):
        super().__init__(f"the database's {service} schema is version {found}, newer than this overcast's "
                         f"({known}): a newer overcast has migrated it; run that version (or newer)")
        self.service, self.found, self.known = service, found, known
