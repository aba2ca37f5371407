//! The PostgreSQL schema and its versioned migrations.
//!
//! Migrations run under a session advisory lock, so two instances starting together
//! migrate once: the second waits, then finds the work done. Each migration and its
//! version bump commit together in one transaction.

use postgres::Client;

use super::pg_error;
use crate::error::{Error, Result};

/// An arbitrary, fixed advisory-lock key for throughline's migrations.
const MIGRATION_LOCK: i64 = 0x7468_726f_7567_6801;

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
///
/// `tenant` leads every primary key and index, so the tables can be distributed by tenant
/// (Citus: `SELECT create_distributed_table('messages', 'tenant')`, ...). The exceptions
/// are the scheduler's cross-tenant due-time index on `records` and the lookup of a
/// conversation's tenant by id.
const MIGRATIONS: &[&str] = &[
    // 1: the conversation core, identity graph and extension records.
    "
    CREATE TABLE customers (
        tenant BYTEA NOT NULL,
        id BYTEA NOT NULL,
        version BIGINT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (tenant, id)
    );

    CREATE TABLE identifiers (
        tenant BYTEA NOT NULL,
        ident TEXT NOT NULL,
        customer BYTEA NOT NULL,
        seq BIGSERIAL NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (tenant, ident)
    );
    CREATE INDEX identifiers_customer ON identifiers (tenant, customer, seq);

    CREATE TABLE conversations (
        tenant BYTEA NOT NULL,
        id BYTEA NOT NULL,
        customer BYTEA NOT NULL,
        created BIGINT NOT NULL,
        closed BOOLEAN NOT NULL,
        version BIGINT NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (tenant, id)
    );
    CREATE UNIQUE INDEX conversations_id ON conversations (id);
    CREATE INDEX conversations_customer ON conversations (tenant, customer, created, id);
    CREATE INDEX conversations_created ON conversations (tenant, created, id);

    CREATE TABLE messages (
        tenant BYTEA NOT NULL,
        id BYTEA NOT NULL,
        conversation BYTEA NOT NULL,
        channel TEXT NOT NULL,
        external_id TEXT,
        sent BIGINT NOT NULL,
        received BIGINT NOT NULL,
        pending BOOLEAN NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (tenant, id),
        FOREIGN KEY (tenant, conversation) REFERENCES conversations (tenant, id)
            DEFERRABLE INITIALLY DEFERRED
    );
    CREATE UNIQUE INDEX messages_dedup ON messages (tenant, channel, external_id)
        WHERE external_id IS NOT NULL;
    CREATE INDEX messages_conversation ON messages (tenant, conversation, sent, received, id);
    CREATE INDEX messages_outbox ON messages (tenant, received, id) WHERE pending;

    CREATE TABLE threads (
        tenant BYTEA NOT NULL,
        key TEXT NOT NULL,
        conversation BYTEA NOT NULL,
        PRIMARY KEY (tenant, key)
    );

    CREATE TABLE records (
        tenant BYTEA NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        secondary TEXT,
        due BIGINT,
        version BIGINT NOT NULL,
        value BYTEA NOT NULL,
        PRIMARY KEY (tenant, kind, key)
    );
    CREATE INDEX records_secondary ON records (tenant, kind, secondary, key)
        WHERE secondary IS NOT NULL;
    CREATE INDEX records_due ON records (kind, due, tenant, key) WHERE due IS NOT NULL;
    ",
];

/// The schema version this library writes.
pub const PG_SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the schema up to [`PG_SCHEMA_VERSION`] under the migration advisory lock.
pub(super) fn migrate(client: &mut Client) -> Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| pg_error("cannot take the migration lock", e))?;
    let done = run(client);
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| pg_error("cannot release the migration lock", e));
    done.and(unlocked.map(|_| ()))
}

fn run(client: &mut Client) -> Result<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS throughline_schema (version INTEGER NOT NULL);
             INSERT INTO throughline_schema (version)
                SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM throughline_schema);",
        )
        .map_err(|e| pg_error("cannot create the schema version table", e))?;
    let found: i32 = client
        .query_one("SELECT version FROM throughline_schema", &[])
        .map_err(|e| pg_error("cannot read the schema version", e))?
        .get(0);
    if found > PG_SCHEMA_VERSION {
        return Err(Error::Store {
            message: format!(
                "the database has schema version {found}, newer than the {PG_SCHEMA_VERSION} \
                 this version of throughline understands; use a newer throughline (nothing \
                 was changed)"
            ),
            source: None,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let to = i as i32 + 1;
        let mut tx = client
            .transaction()
            .map_err(|e| pg_error("cannot start a schema migration", e))?;
        tx.batch_execute(sql)
            .map_err(|e| pg_error(format!("schema migration to version {to} failed"), e))?;
        tx.execute("UPDATE throughline_schema SET version = $1", &[&to])
            .map_err(|e| pg_error("cannot record the schema version", e))?;
        tx.commit()
            .map_err(|e| pg_error(format!("cannot commit schema migration {to}"), e))?;
    }
    Ok(())
}
