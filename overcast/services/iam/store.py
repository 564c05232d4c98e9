"""IAM's tables and queries. IAM is global: everything is scoped by account only.

Roles, users, groups and instance profiles share one table (`iam_entities`, told apart by
`kind`); relationships refer to an entity by its unique id (RoleId, UserId, ...), so renaming a
user or group keeps its memberships and attachments. Names are unique per account and kind
regardless of case, as in IAM.
"""

from __future__ import annotations

from dataclasses import dataclass

from overcast.storage import Database

SCHEMA = "iam"  # its version row in schema_versions
MIGRATIONS = [
    """
    CREATE TABLE iam_entities (
        account TEXT NOT NULL,
        kind TEXT NOT NULL,              -- role | user | group | instance-profile
        name TEXT NOT NULL COLLATE NOCASE,
        id TEXT NOT NULL UNIQUE,
        arn TEXT NOT NULL,
        path TEXT NOT NULL,
        created REAL NOT NULL,
        description TEXT,
        assume_policy TEXT,              -- roles: trust policy document, as sent
        max_session INTEGER,             -- roles: MaxSessionDuration
        boundary TEXT,                   -- roles, users: permissions boundary policy ARN
        PRIMARY KEY (account, kind, name)
    );
    CREATE TABLE iam_policies (
        account TEXT NOT NULL,
        arn TEXT NOT NULL,
        name TEXT NOT NULL COLLATE NOCASE,
        id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        description TEXT,
        default_version TEXT NOT NULL,
        next_version INTEGER NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        PRIMARY KEY (account, arn),
        UNIQUE (account, name)
    );
    CREATE TABLE iam_policy_versions (
        account TEXT NOT NULL,
        policy_arn TEXT NOT NULL,
        version_id TEXT NOT NULL,
        document TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (account, policy_arn, version_id)
    );
    CREATE TABLE iam_attachments (
        account TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        policy_arn TEXT NOT NULL,
        PRIMARY KEY (account, entity_id, policy_arn)
    );
    CREATE INDEX iam_attachments_by_policy ON iam_attachments(account, policy_arn);
    CREATE TABLE iam_inline_policies (
        account TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        name TEXT NOT NULL COLLATE NOCASE,
        document TEXT NOT NULL,
        PRIMARY KEY (account, entity_id, name)
    );
    CREATE TABLE iam_members (
        account TEXT NOT NULL,
        container_id TEXT NOT NULL,      -- a group (members: users) or an instance profile (roles)
        member_id TEXT NOT NULL,
        PRIMARY KEY (account, container_id, member_id)
    );
    CREATE INDEX iam_members_by_member ON iam_members(account, member_id);
    CREATE TABLE iam_tags (
        account TEXT NOT NULL,
        resource_id TEXT NOT NULL,       -- an entity id or a customer managed policy id
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (account, resource_id, key)
    );
    CREATE TABLE iam_access_keys (
        key_id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        user_id TEXT NOT NULL,
        secret TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX iam_access_keys_by_user ON iam_access_keys(account, user_id);
    """,
    """
    CREATE TABLE iam_service_credentials (
        id TEXT PRIMARY KEY,             -- ServiceSpecificCredentialId
        account TEXT NOT NULL,
        user_id TEXT NOT NULL,
        service TEXT NOT NULL,           -- e.g. codecommit.amazonaws.com
        service_user_name TEXT NOT NULL,
        password TEXT NOT NULL,
        status TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX iam_service_credentials_by_user ON iam_service_credentials(account, user_id);
    CREATE TABLE iam_server_certificates (
        account TEXT NOT NULL,
        name TEXT NOT NULL COLLATE NOCASE,
        id TEXT NOT NULL UNIQUE,         -- ServerCertificateId
        path TEXT NOT NULL,
        body TEXT NOT NULL,              -- the PEM certificate (the private key is checked, never kept)
        chain TEXT,
        uploaded REAL NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (account, name)
    );
    """,
]

_ENTITY_COLUMNS = "account, kind, name, id, arn, path, created, description, assume_policy, max_session, boundary"


@dataclass(slots=True)
class Entity:
    account: str
    kind: str
    name: str
    id: str
    arn: str
    path: str
    created: float
    description: str | None = None
    assume_policy: str | None = None
    max_session: int | None = None
    boundary: str | None = None


@dataclass(slots=True)
class ManagedPolicy:
    account: str
    arn: str
    name: str
    id: str
    path: str
    description: str | None
    default_version: str
    next_version: int
    created: float
    updated: float


@dataclass(slots=True)
class ServiceCredential:
    id: str
    account: str
    user_id: str
    service: str
    service_user_name: str
    password: str
    status: str
    created: float


_CREDENTIAL_COLUMNS = "id, account, user_id, service, service_user_name, password, status, created"


@dataclass(slots=True)
class ServerCertificate:
    account: str
    name: str
    id: str
    path: str
    body: str
    chain: str | None
    uploaded: float
    expires: float


_CERTIFICATE_COLUMNS = "account, name, id, path, body, chain, uploaded, expires"


class IamStore:
    def __init__(self, db: Database):
        self.db = db
        db.migrate(SCHEMA, MIGRATIONS)

    # -- entities (roles, users, groups, instance profiles) ----------------------------------

    def add_entity(self, entity: Entity) -> bool:
        """Insert; False when the name is taken (case-insensitively)."""
        changed = self.db.execute(
            f"INSERT INTO iam_entities({_ENTITY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (entity.account, entity.kind, entity.name, entity.id, entity.arn, entity.path, entity.created,
             entity.description, entity.assume_policy, entity.max_session, entity.boundary),
        )
        return changed == 1

    def entity(self, account: str, kind: str, name: str) -> Entity | None:
        row = self.db.query_one(
            f"SELECT {_ENTITY_COLUMNS} FROM iam_entities WHERE account = ? AND kind = ? AND name = ?",
            (account, kind, name),
        )
        return Entity(*row) if row else None

    def entity_by_id(self, entity_id: str) -> Entity | None:
        row = self.db.query_one(f"SELECT {_ENTITY_COLUMNS} FROM iam_entities WHERE id = ?", (entity_id,))
        return Entity(*row) if row else None

    def entities(self, account: str, kind: str, path_prefix: str = "/") -> list[Entity]:
        rows = self.db.query(
            f"SELECT {_ENTITY_COLUMNS} FROM iam_entities WHERE account = ? AND kind = ? "
            "AND substr(path, 1, ?) = ? ORDER BY lower(name)",
            (account, kind, len(path_prefix), path_prefix),
        )
        return [Entity(*row) for row in rows]

    def update_entity(self, entity_id: str, **columns) -> None:
        allowed = {"name", "arn", "path", "description", "assume_policy", "max_session", "boundary"}
        assert set(columns) <= allowed
        sets = ", ".join(f"{c} = ?" for c in columns)
        self.db.execute(f"UPDATE iam_entities SET {sets} WHERE id = ?", (*columns.values(), entity_id))

    def delete_entity(self, account: str, entity_id: str) -> None:
        """Delete an entity with its tags and memberships (the provider has checked conflicts)."""
        with self.db.transaction():
            self.db.execute("DELETE FROM iam_entities WHERE account = ? AND id = ?", (account, entity_id))
            self.db.execute("DELETE FROM iam_tags WHERE account = ? AND resource_id = ?", (account, entity_id))
            self.db.execute(
                "DELETE FROM iam_members WHERE account = ? AND (container_id = ? OR member_id = ?)",
                (account, entity_id, entity_id),
            )

    # -- tags --------------------------------------------------------------------------------

    def tags(self, account: str, resource_id: str) -> list[dict]:
        rows = self.db.query(
            "SELECT key, value FROM iam_tags WHERE account = ? AND resource_id = ? ORDER BY rowid",
            (account, resource_id),
        )
        return [{"Key": k, "Value": v} for k, v in rows]

    def tag_count(self, account: str, resource_id: str, new_keys: list[str]) -> int:
        """How many tags the resource would have after adding new_keys."""
        existing = {k for (k,) in self.db.query(
            "SELECT key FROM iam_tags WHERE account = ? AND resource_id = ?", (account, resource_id))}
        return len(existing | set(new_keys))

    def put_tags(self, account: str, resource_id: str, tags: list[dict]) -> None:
        with self.db.transaction():
            for tag in tags:
                self.db.execute(
                    "INSERT INTO iam_tags(account, resource_id, key, value) VALUES (?,?,?,?) "
                    "ON CONFLICT(account, resource_id, key) DO UPDATE SET value = excluded.value",
                    (account, resource_id, tag["Key"], tag.get("Value", "")),
                )

    def remove_tags(self, account: str, resource_id: str, keys: list[str]) -> None:
        with self.db.transaction():
            for key in keys:
                self.db.execute("DELETE FROM iam_tags WHERE account = ? AND resource_id = ? AND key = ?",
                                (account, resource_id, key))

    # -- managed policies --------------------------------------------------------------------

    def add_policy(self, policy: ManagedPolicy, document: str, tags: list[dict]) -> bool:
        with self.db.transaction():
            changed = self.db.execute(
                "INSERT INTO iam_policies(account, arn, name, id, path, description, default_version, next_version, "
                "created, updated) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                (policy.account, policy.arn, policy.name, policy.id, policy.path, policy.description,
                 policy.default_version, policy.next_version, policy.created, policy.updated),
            )
            if changed != 1:
                return False
            self.db.execute(
                "INSERT INTO iam_policy_versions(account, policy_arn, version_id, document, created) VALUES (?,?,?,?,?)",
                (policy.account, policy.arn, "v1", document, policy.created),
            )
            if tags:
                self.put_tags(policy.account, policy.id, tags)
        return True

    def policy(self, account: str, arn: str) -> ManagedPolicy | None:
        row = self.db.query_one(
            "SELECT account, arn, name, id, path, description, default_version, next_version, created, updated "
            "FROM iam_policies WHERE account = ? AND arn = ?",
            (account, arn),
        )
        return ManagedPolicy(*row) if row else None

    def policies(self, account: str) -> list[ManagedPolicy]:
        rows = self.db.query(
            "SELECT account, arn, name, id, path, description, default_version, next_version, created, updated "
            "FROM iam_policies WHERE account = ? ORDER BY lower(name)",
            (account,),
        )
        return [ManagedPolicy(*row) for row in rows]

    def delete_policy(self, account: str, policy: ManagedPolicy) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM iam_policies WHERE account = ? AND arn = ?", (account, policy.arn))
            self.db.execute("DELETE FROM iam_policy_versions WHERE account = ? AND policy_arn = ?", (account, policy.arn))
            self.db.execute("DELETE FROM iam_tags WHERE account = ? AND resource_id = ?", (account, policy.id))

    def versions(self, account: str, arn: str) -> list[tuple[str, str, float]]:
        """(version_id, document, created), newest first."""
        rows = self.db.query(
            "SELECT version_id, document, created FROM iam_policy_versions WHERE account = ? AND policy_arn = ?",
            (account, arn),
        )
        return sorted(rows, key=lambda r: int(r[0][1:]), reverse=True)

    def version(self, account: str, arn: str, version_id: str) -> tuple[str, str, float] | None:
        return self.db.query_one(
            "SELECT version_id, document, created FROM iam_policy_versions "
            "WHERE account = ? AND policy_arn = ? AND version_id = ?",
            (account, arn, version_id),
        )

    def add_version(self, policy: ManagedPolicy, document: str, set_default: bool, created: float) -> str:
        version_id = f"v{policy.next_version}"
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO iam_policy_versions(account, policy_arn, version_id, document, created) VALUES (?,?,?,?,?)",
                (policy.account, policy.arn, version_id, document, created),
            )
            self.db.execute(
                "UPDATE iam_policies SET next_version = next_version + 1, updated = ?"
                + (", default_version = ?" if set_default else "")
                + " WHERE account = ? AND arn = ?",
                (created, version_id, policy.account, policy.arn) if set_default else (created, policy.account, policy.arn),
            )
        return version_id

    def delete_version(self, account: str, arn: str, version_id: str) -> None:
        self.db.execute(
            "DELETE FROM iam_policy_versions WHERE account = ? AND policy_arn = ? AND version_id = ?",
            (account, arn, version_id),
        )

    def set_default_version(self, account: str, arn: str, version_id: str, updated: float) -> None:
        self.db.execute(
            "UPDATE iam_policies SET default_version = ?, updated = ? WHERE account = ? AND arn = ?",
            (version_id, updated, account, arn),
        )

    # -- attachments -------------------------------------------------------------------------

    def attach(self, account: str, entity_id: str, policy_arn: str) -> None:
        self.db.execute(
            "INSERT INTO iam_attachments(account, entity_id, policy_arn) VALUES (?,?,?) ON CONFLICT DO NOTHING",
            (account, entity_id, policy_arn),
        )

    def detach(self, account: str, entity_id: str, policy_arn: str) -> bool:
        return self.db.execute(
            "DELETE FROM iam_attachments WHERE account = ? AND entity_id = ? AND policy_arn = ?",
            (account, entity_id, policy_arn),
        ) == 1

    def attached(self, account: str, entity_id: str) -> list[str]:
        return [arn for (arn,) in self.db.query(
            "SELECT policy_arn FROM iam_attachments WHERE account = ? AND entity_id = ? ORDER BY rowid",
            (account, entity_id),
        )]

    def attachment_count(self, account: str, policy_arn: str) -> int:
        return self.db.scalar(
            "SELECT count(*) FROM iam_attachments WHERE account = ? AND policy_arn = ?", (account, policy_arn)
        )

    def boundary_count(self, account: str, policy_arn: str) -> int:
        return self.db.scalar(
            "SELECT count(*) FROM iam_entities WHERE account = ? AND boundary = ?", (account, policy_arn)
        )

    def attached_arns(self, account: str) -> set[str]:
        return {arn for (arn,) in self.db.query(
            "SELECT DISTINCT policy_arn FROM iam_attachments WHERE account = ?", (account,))}

    def entities_for_policy(self, account: str, policy_arn: str) -> list[Entity]:
        rows = self.db.query(
            f"SELECT {', '.join('e.' + c.strip() for c in _ENTITY_COLUMNS.split(','))} FROM iam_attachments a "
            "JOIN iam_entities e ON e.id = a.entity_id WHERE a.account = ? AND a.policy_arn = ? ORDER BY lower(e.name)",
            (account, policy_arn),
        )
        return [Entity(*row) for row in rows]

    # -- inline policies ---------------------------------------------------------------------

    def put_inline(self, account: str, entity_id: str, name: str, document: str) -> None:
        self.db.execute(
            "INSERT INTO iam_inline_policies(account, entity_id, name, document) VALUES (?,?,?,?) "
            "ON CONFLICT(account, entity_id, name) DO UPDATE SET document = excluded.document",
            (account, entity_id, name, document),
        )

    def inline(self, account: str, entity_id: str, name: str) -> tuple[str, str] | None:
        """(stored name, document)."""
        return self.db.query_one(
            "SELECT name, document FROM iam_inline_policies WHERE account = ? AND entity_id = ? AND name = ?",
            (account, entity_id, name),
        )

    def inline_all(self, account: str, entity_id: str) -> list[tuple[str, str]]:
        return self.db.query(
            "SELECT name, document FROM iam_inline_policies WHERE account = ? AND entity_id = ? ORDER BY lower(name)",
            (account, entity_id),
        )

    def delete_inline(self, account: str, entity_id: str, name: str) -> bool:
        return self.db.execute(
            "DELETE FROM iam_inline_policies WHERE account = ? AND entity_id = ? AND name = ?",
            (account, entity_id, name),
        ) == 1

    # -- memberships (group users, instance profile roles) -----------------------------------

    def add_member(self, account: str, container_id: str, member_id: str) -> None:
        self.db.execute(
            "INSERT INTO iam_members(account, container_id, member_id) VALUES (?,?,?) ON CONFLICT DO NOTHING",
            (account, container_id, member_id),
        )

    def remove_member(self, account: str, container_id: str, member_id: str) -> bool:
        return self.db.execute(
            "DELETE FROM iam_members WHERE account = ? AND container_id = ? AND member_id = ?",
            (account, container_id, member_id),
        ) == 1

    def members(self, account: str, container_id: str) -> list[Entity]:
        rows = self.db.query(
            f"SELECT {', '.join('e.' + c.strip() for c in _ENTITY_COLUMNS.split(','))} FROM iam_members m "
            "JOIN iam_entities e ON e.id = m.member_id WHERE m.account = ? AND m.container_id = ? ORDER BY lower(e.name)",
            (account, container_id),
        )
        return [Entity(*row) for row in rows]

    def containers(self, account: str, member_id: str) -> list[Entity]:
        rows = self.db.query(
            f"SELECT {', '.join('e.' + c.strip() for c in _ENTITY_COLUMNS.split(','))} FROM iam_members m "
            "JOIN iam_entities e ON e.id = m.container_id WHERE m.account = ? AND m.member_id = ? ORDER BY lower(e.name)",
            (account, member_id),
        )
        return [Entity(*row) for row in rows]

    # -- access keys -------------------------------------------------------------------------

    def add_access_key(self, account: str, key_id: str, user_id: str, secret: str, created: float) -> None:
        self.db.execute(
            "INSERT INTO iam_access_keys(key_id, account, user_id, secret, status, created) VALUES (?,?,?,?,?,?)",
            (key_id, account, user_id, secret, "Active", created),
        )

    def access_keys(self, account: str, user_id: str) -> list[tuple[str, str, float]]:
        """(key_id, status, created)."""
        return self.db.query(
            "SELECT key_id, status, created FROM iam_access_keys WHERE account = ? AND user_id = ? ORDER BY created, key_id",
            (account, user_id),
        )

    def access_key(self, key_id: str) -> tuple[str, str, str, float] | None:
        """(account, user_id, status, created) of any account's key."""
        return self.db.query_one(
            "SELECT account, user_id, status, created FROM iam_access_keys WHERE key_id = ?", (key_id,)
        )

    def active_key_secret(self, key_id: str) -> tuple[str, str] | None:
        """(account, secret) of an Active key."""
        return self.db.query_one(
            "SELECT account, secret FROM iam_access_keys WHERE key_id = ? AND status = 'Active'", (key_id,)
        )

    def update_access_key(self, account: str, user_id: str, key_id: str, status: str) -> bool:
        return self.db.execute(
            "UPDATE iam_access_keys SET status = ? WHERE account = ? AND user_id = ? AND key_id = ?",
            (status, account, user_id, key_id),
        ) == 1

    def delete_access_key(self, account: str, user_id: str, key_id: str) -> bool:
        return self.db.execute(
            "DELETE FROM iam_access_keys WHERE account = ? AND user_id = ? AND key_id = ?",
            (account, user_id, key_id),
        ) == 1

    # -- service-specific credentials --------------------------------------------------------

    def add_service_credential(self, credential: ServiceCredential) -> None:
        self.db.execute(
            f"INSERT INTO iam_service_credentials({_CREDENTIAL_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)",
            (credential.id, credential.account, credential.user_id, credential.service,
             credential.service_user_name, credential.password, credential.status, credential.created),
        )

    def service_credentials(self, account: str, user_id: str | None = None) -> list[ServiceCredential]:
        """An account's credentials (one user's when user_id is given), oldest first."""
        where, args = "account = ?", [account]
        if user_id is not None:
            where, args = where + " AND user_id = ?", args + [user_id]
        rows = self.db.query(
            f"SELECT {_CREDENTIAL_COLUMNS} FROM iam_service_credentials WHERE {where} ORDER BY created, id", tuple(args)
        )
        return [ServiceCredential(*row) for row in rows]

    def service_credential(self, account: str, user_id: str, credential_id: str) -> ServiceCredential | None:
        row = self.db.query_one(
            f"SELECT {_CREDENTIAL_COLUMNS} FROM iam_service_credentials WHERE account = ? AND user_id = ? AND id = ?",
            (account, user_id, credential_id),
        )
        return ServiceCredential(*row) if row else None

    def update_service_credential(self, credential_id: str, **columns) -> None:
        assignments = ", ".join(f"{column} = ?" for column in columns)
        self.db.execute(
            f"UPDATE iam_service_credentials SET {assignments} WHERE id = ?", (*columns.values(), credential_id)
        )

    def delete_service_credential(self, credential_id: str) -> None:
        self.db.execute("DELETE FROM iam_service_credentials WHERE id = ?", (credential_id,))

    # -- server certificates -----------------------------------------------------------------

    def add_server_certificate(self, certificate: ServerCertificate) -> bool:
        """False when the account has a certificate of that name already."""
        return self.db.execute(
            f"INSERT INTO iam_server_certificates({_CERTIFICATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT(account, name) DO NOTHING",
            (certificate.account, certificate.name, certificate.id, certificate.path, certificate.body,
             certificate.chain, certificate.uploaded, certificate.expires),
        ) == 1

    def server_certificate(self, account: str, name: str) -> ServerCertificate | None:
        row = self.db.query_one(
            f"SELECT {_CERTIFICATE_COLUMNS} FROM iam_server_certificates WHERE account = ? AND name = ?", (account, name)
        )
        return ServerCertificate(*row) if row else None

    def server_certificates(self, account: str, path_prefix: str = "/") -> list[ServerCertificate]:
        rows = self.db.query(
            f"SELECT {_CERTIFICATE_COLUMNS} FROM iam_server_certificates WHERE account = ? AND substr(path, 1, ?) = ? "
            "ORDER BY lower(name)",
            (account, len(path_prefix), path_prefix),
        )
        return [ServerCertificate(*row) for row in rows]

    def update_server_certificate(self, account: str, certificate_id: str, name: str, path: str) -> None:
        self.db.execute("UPDATE iam_server_certificates SET name = ?, path = ? WHERE account = ? AND id = ?",
                        (name, path, account, certificate_id))

    def delete_server_certificate(self, account: str, certificate_id: str) -> None:
        with self.db.transaction():
            self.db.execute("DELETE FROM iam_server_certificates WHERE account = ? AND id = ?", (account, certificate_id))
            self.db.execute("DELETE FROM iam_tags WHERE account = ? AND resource_id = ?", (account, certificate_id))
