//! The schema and its versioned migrations.
//!
//! `PRAGMA user_version` holds the schema version. Each migration runs in its own
//! `BEGIN IMMEDIATE` transaction together with the version bump, so a crash mid-migration
//! leaves the previous version intact. A database written by a newer version of the
//! library is refused, never touched.

use rusqlite::Connection;

use super::sql_error;
use crate::error::{Error, Result};

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
///
/// `tenant` leads every primary key and index, except `records_due` (the scheduler's
/// cross-tenant due-time index) and the global uniqueness of conversation ids.
const MIGRATIONS: &[&str] = &[
    // 1: the conversation core, identity graph and extension records.
    "
    CREATE TABLE customers (
        tenant BLOB NOT NULL,
        id BLOB NOT NULL,
        version INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID;

    CREATE TABLE identifiers (
        tenant BLOB NOT NULL,
        ident TEXT NOT NULL,
        customer BLOB NOT NULL,
        data BLOB NOT NULL,
        UNIQUE (tenant, ident)
    );
    CREATE INDEX identifiers_customer ON identifiers (tenant, customer);

    CREATE TABLE conversations (
        tenant BLOB NOT NULL,
        id BLOB NOT NULL UNIQUE,
        customer BLOB NOT NULL,
        created INTEGER NOT NULL,
        closed INTEGER NOT NULL,
        version INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID;
    CREATE INDEX conversations_customer ON conversations (tenant, customer, created, id);
    CREATE INDEX conversations_created ON conversations (tenant, created, id);

    CREATE TABLE messages (
        tenant BLOB NOT NULL,
        id BLOB NOT NULL,
        conversation BLOB NOT NULL,
        channel TEXT NOT NULL,
        external_id TEXT,
        sent INTEGER NOT NULL,
        received INTEGER NOT NULL,
        pending INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (tenant, id),
        FOREIGN KEY (tenant, conversation) REFERENCES conversations (tenant, id)
            DEFERRABLE INITIALLY DEFERRED
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX messages_dedup ON messages (tenant, channel, external_id)
        WHERE external_id IS NOT NULL;
    CREATE INDEX messages_conversation ON messages (tenant, conversation, sent, received, id);
    CREATE INDEX messages_outbox ON messages (tenant, received, id) WHERE pending = 1;

    CREATE TABLE threads (
        tenant BLOB NOT NULL,
        key TEXT NOT NULL,
        conversation BLOB NOT NULL,
        PRIMARY KEY (tenant, key)
    ) WITHOUT ROWID;

    CREATE TABLE records (
        tenant BLOB NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        secondary TEXT,
        due INTEGER,
        version INTEGER NOT NULL,
        value BLOB NOT NULL,
        PRIMARY KEY (tenant, kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX records_secondary ON records (tenant, kind, secondary, key)
        WHERE secondary IS NOT NULL;
    CREATE INDEX records_due ON records (kind, due, tenant, key) WHERE due IS NOT NULL;
    ",
    // 2: records become a rowid table. A WITHOUT ROWID table keeps rows in an index
    // b-tree, where anything over about 1,000 bytes spills into overflow pages; SLA clock
    // records are larger than that, and every update rewrote their overflow chain.
    "
    CREATE TABLE records_v2 (
        tenant BLOB NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        secondary TEXT,
        due INTEGER,
        version INTEGER NOT NULL,
        value BLOB NOT NULL,
        UNIQUE (tenant, kind, key)
    );
    INSERT INTO records_v2 (tenant, kind, key, secondary, due, version, value)
        SELECT tenant, kind, key, secondary, due, version, value FROM records;
    DROP TABLE records;
    ALTER TABLE records_v2 RENAME TO records;
    CREATE INDEX records_secondary ON records (tenant, kind, secondary, key)
        WHERE secondary IS NOT NULL;
    CREATE INDEX records_due ON records (kind, due, tenant, key) WHERE due IS NOT NULL;
    ",
    // 3: a conversation's thread keys, for erasure and retention.
    "CREATE INDEX threads_conversation ON threads (tenant, conversation);",
    // 4: the inbox views (`inbox.rs`): what they filter and order by, out of the JSON
    // into columns (filled from it by `inbox::backfill` in the same transaction), and
    // their indexes, each led by the tenant. The partial indexes also hold the columns
    // of their condition: without them a count looked up every row in the table to
    // check it (65,540 unassigned of a million: 277 ms; with them, 3 ms).
    concat!(
        "ALTER TABLE conversations ADD COLUMN status TEXT NOT NULL DEFAULT '';
        ALTER TABLE conversations ADD COLUMN assignee BLOB;
        ALTER TABLE conversations ADD COLUMN updated INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX conversations_status ON conversations (tenant, status, updated, id);
        CREATE INDEX conversations_assignee ON conversations
            (tenant, assignee, updated, id, status)
            WHERE assignee IS NOT NULL AND ",
        super::inbox::active!(),
        ";
        CREATE INDEX conversations_unassigned ON conversations
            (tenant, created, id, status, assignee)
            WHERE assignee IS NULL AND ",
        super::inbox::active!(),
        ";
        CREATE INDEX records_tenant_due ON records (tenant, kind, due, key)
            WHERE due IS NOT NULL;"
    ),
];

/// The migration after whose SQL the inbox columns are filled from the JSON.
const INBOX_COLUMNS: usize = 4;

/// The schema version this library writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The schema version stored in the database file.
pub(super) fn stored_version(conn: &Connection) -> Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
        .map_err(|e| sql_error("cannot read the schema version", e))
}

/// Brings the schema up to [`SCHEMA_VERSION`], one transactional migration at a time.
///
/// # Errors
///
/// [`Error::Store`] when the file was written by a newer schema version (nothing is
/// changed) or a migration fails (that migration is rolled back).
pub(super) fn migrate(conn: &mut Connection) -> Result<()> {
    let found = stored_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(Error::Store {
            message: format!(
                "the database has schema version {found}, newer than the {SCHEMA_VERSION} this \
                 version of throughline understands; open it with a newer throughline (nothing \
                 was changed)"
            ),
            source: None,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let to = i + 1;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sql_error("cannot start a schema migration", e))?;
        // Another process may have migrated while this one waited for the lock.
        if stored_version(&tx)? as usize >= to {
            continue;
        }
        tx.execute_batch(sql)
            .map_err(|e| sql_error(format!("schema migration to version {to} failed"), e))?;
        if to == INBOX_COLUMNS {
            super::inbox::backfill(&tx)?;
        }
        tx.execute_batch(&format!("PRAGMA user_version = {to}"))
            .map_err(|e| sql_error(format!("schema migration to version {to} failed"), e))?;
        tx.commit()
            .map_err(|e| sql_error(format!("cannot commit schema migration {to}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database written by schema version 1 migrates to the current version with its
    /// records intact, and the migration is not repeated on the next open.
    #[test]
    fn version_one_records_survive_the_migration() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch("PRAGMA user_version = 1").unwrap();
        conn.execute(
            "INSERT INTO records (tenant, kind, key, secondary, due, version, value) \
             VALUES (x'01', 'sla', 'c1', 'cust', 42, 3, x'7b7d')",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(stored_version(&conn).unwrap(), SCHEMA_VERSION);
        let row: (String, Option<String>, Option<i64>, i64, Vec<u8>) = conn
            .query_row(
                "SELECT key, secondary, due, version, value FROM records \
                 WHERE tenant = x'01' AND kind = 'sla' AND key = 'c1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            (
                "c1".into(),
                Some("cust".into()),
                Some(42),
                3,
                b"{}".to_vec()
            )
        );
        // The unique key still holds, and the due index is back.
        assert!(conn
            .execute(
                "INSERT INTO records (tenant, kind, key, version, value) \
                 VALUES (x'01', 'sla', 'c1', 1, x'7b7d')",
                [],
            )
            .is_err());
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'index' \
                 AND name IN ('records_due', 'records_secondary')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 2);
        migrate(&mut conn).unwrap();
        assert_eq!(stored_version(&conn).unwrap(), SCHEMA_VERSION);
    }

    /// A version 3 database gets its inbox columns filled from each conversation's JSON,
    /// as a write of the conversation would fill them.
    #[test]
    fn version_three_conversations_get_their_inbox_columns() {
        use crate::conversation::{Conversation, Status};
        use crate::id::{AgentId, ConversationId, CustomerId, TenantId};
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch("PRAGMA user_version = 3").unwrap();
        let at = chrono::DateTime::from_timestamp(1_767_261_600, 123_456_789).unwrap();
        let id = |n: u128| uuid::Uuid::from_u128(n);
        let tenant = TenantId::from_uuid(id(1));
        let mut rows = Vec::new();
        for n in 0..2500u128 {
            let mut c = Conversation::new(
                ConversationId::from_uuid(id(100 + n)),
                tenant,
                CustomerId::from_uuid(id(2)),
                crate::Channel::Sms,
                at,
            );
            c.status = Status::ALL[(n % 6) as usize];
            c.assignee = (n % 3 == 0).then(|| AgentId::from_uuid(id(7)));
            c.updated_at = at + chrono::TimeDelta::nanoseconds(n as i64);
            conn.execute(
                "INSERT INTO conversations (tenant, id, customer, created, closed, version, data) \
                 VALUES (?1, ?2, ?3, 0, 0, 1, ?4)",
                rusqlite::params![
                    tenant.as_uuid().as_bytes().to_vec(),
                    c.id.as_uuid().as_bytes().to_vec(),
                    c.customer.as_uuid().as_bytes().to_vec(),
                    serde_json::to_vec(&c).unwrap()
                ],
            )
            .unwrap();
            rows.push(c);
        }
        migrate(&mut conn).unwrap();
        assert_eq!(stored_version(&conn).unwrap(), SCHEMA_VERSION);
        for c in rows {
            let got: (String, Option<Vec<u8>>, i64) = conn
                .query_row(
                    "SELECT status, assignee, updated FROM conversations WHERE id = ?1",
                    [c.id.as_uuid().as_bytes().to_vec()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap();
            let cols = super::super::inbox::InboxColumns::of(&c).unwrap();
            assert_eq!(
                got,
                (
                    cols.status.to_string(),
                    cols.assignee.map(|a| a.to_vec()),
                    cols.updated
                )
            );
        }
    }
}
