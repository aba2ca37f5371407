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
/// (Citus: `SELECT create_distributed_table('messages', 'tenant')`, ...). The exception
/// is the scheduler's cross-tenant due-time index on `records`.
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
    // 2: a change set in one round trip. `throughline_apply` runs the ops of one change
    // set (a JSON array) inside its own subtransaction: all of them or none. A version or
    // ownership check that fails raises SQLSTATE 40001 with the reason; any error is
    // caught and returned as `{sqlstate, message}` (NULL on success), so the caller's
    // transaction, if any, stays usable — which is what a batch's savepoints did before.
    r#"
    CREATE FUNCTION throughline_apply(t BYTEA, ops TEXT) RETURNS TEXT[]
    LANGUAGE plpgsql AS $fn$
    DECLARE
        op JSONB;
        n BIGINT;
    BEGIN
        BEGIN
            FOR op IN SELECT value FROM jsonb_array_elements(ops::jsonb) LOOP
                n := 1;
                CASE op->>'k'
                WHEN 'customer+' THEN
                    INSERT INTO customers (tenant, id, version, data)
                    VALUES (t, decode(op->>'id', 'hex'), (op->>'version')::BIGINT,
                            convert_to(op->>'data', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'customer' THEN
                    UPDATE customers SET version = (op->>'version')::BIGINT,
                        data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND id = decode(op->>'id', 'hex')
                      AND version = (op->>'version')::BIGINT - 1;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'conversation+' THEN
                    INSERT INTO conversations (tenant, id, customer, created, closed, version, data)
                    VALUES (t, decode(op->>'id', 'hex'), decode(op->>'customer', 'hex'),
                            (op->>'created')::BIGINT, (op->>'closed')::BOOLEAN,
                            (op->>'version')::BIGINT, convert_to(op->>'data', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'conversation' THEN
                    UPDATE conversations SET customer = decode(op->>'customer', 'hex'),
                        created = (op->>'created')::BIGINT, closed = (op->>'closed')::BOOLEAN,
                        version = (op->>'version')::BIGINT, data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND id = decode(op->>'id', 'hex')
                      AND version = (op->>'version')::BIGINT - 1;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'identifier+' THEN
                    INSERT INTO identifiers (tenant, ident, customer, data)
                    VALUES (t, op->>'ident', decode(op->>'customer', 'hex'),
                            convert_to(op->>'data', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'identifier' THEN
                    UPDATE identifiers SET data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND ident = op->>'ident'
                      AND customer = decode(op->>'customer', 'hex');
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'identifier-' THEN
                    DELETE FROM identifiers
                    WHERE tenant = t AND ident = op->>'ident'
                      AND customer = decode(op->>'customer', 'hex');
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'message+' THEN
                    INSERT INTO messages (tenant, id, conversation, channel, external_id, sent,
                                          received, pending, data)
                    VALUES (t, decode(op->>'id', 'hex'), decode(op->>'conversation', 'hex'),
                            op->>'channel', op->>'external_id', (op->>'sent')::BIGINT,
                            (op->>'received')::BIGINT, (op->>'pending')::BOOLEAN,
                            convert_to(op->>'data', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'message' THEN
                    UPDATE messages SET conversation = decode(op->>'conversation', 'hex'),
                        sent = (op->>'sent')::BIGINT, received = (op->>'received')::BIGINT,
                        pending = (op->>'pending')::BOOLEAN, data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND id = decode(op->>'id', 'hex')
                      AND channel = op->>'channel'
                      AND external_id IS NOT DISTINCT FROM op->>'external_id';
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'redact' THEN
                    UPDATE messages SET external_id = op->>'external_id',
                        pending = (op->>'pending')::BOOLEAN, data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND id = decode(op->>'id', 'hex');
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'thread+' THEN
                    INSERT INTO threads (tenant, key, conversation)
                    VALUES (t, op->>'key', decode(op->>'conversation', 'hex'))
                    ON CONFLICT DO NOTHING;
                WHEN 'thread-' THEN
                    DELETE FROM threads WHERE tenant = t AND key = op->>'key';
                WHEN 'record+' THEN
                    INSERT INTO records (tenant, kind, key, secondary, due, version, value)
                    VALUES (t, op->>'kind', op->>'key', op->>'secondary', (op->>'due')::BIGINT,
                            (op->>'version')::BIGINT, convert_to(op->>'value', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'record' THEN
                    UPDATE records SET secondary = op->>'secondary', due = (op->>'due')::BIGINT,
                        version = (op->>'version')::BIGINT, value = convert_to(op->>'value', 'UTF8')
                    WHERE tenant = t AND kind = op->>'kind' AND key = op->>'key'
                      AND version = (op->>'version')::BIGINT - 1;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'record-' THEN
                    DELETE FROM records
                    WHERE tenant = t AND kind = op->>'kind' AND key = op->>'key'
                      AND version = (op->>'version')::BIGINT;
                    GET DIAGNOSTICS n = ROW_COUNT;
                ELSE
                    RAISE EXCEPTION USING ERRCODE = '22023',
                        MESSAGE = format('unknown change %L', op->>'k');
                END CASE;
                IF n <> 1 THEN
                    RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = op->>'conflict';
                END IF;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            RETURN ARRAY[SQLSTATE, SQLERRM];
        END;
        RETURN NULL;
    END
    $fn$;
    "#,
    // 3: an ingest's reads in one round trip (`PostgresStore`'s `Store::read_ahead`).
    // As a plain prepared statement the server re-planned it on every call (about 0.8 ms
    // of planning for 0.2 ms of execution), because its generic plan, estimated with no
    // statistics, scanned every identifier and record of the tenant; inside a function
    // with a forced generic plan, and with every lookup written as a per-key LATERAL
    // subquery so that plan can only use the keys' indexes, it is planned once per session.
    r#"
    CREATE FUNCTION throughline_read_ahead(
        p_tenant BYTEA, p_channel TEXT, p_external TEXT, p_idents TEXT[],
        p_kinds TEXT[], p_keys TEXT[], p_owner_kinds TEXT[], p_conversation_kinds TEXT[])
    RETURNS TABLE (o_part INT, o_k1 TEXT, o_k2 TEXT, o_secondary TEXT, o_due BIGINT,
                   o_version BIGINT, o_data BYTEA)
    LANGUAGE plpgsql STABLE
    SET plan_cache_mode = force_generic_plan
    AS $fn$
    BEGIN
        RETURN QUERY
        WITH idents AS (
            SELECT i.ident, i.customer, i.data FROM unnest(p_idents) AS q(ident)
            CROSS JOIN LATERAL (
                SELECT x.ident, x.customer, x.data FROM identifiers x
                WHERE x.tenant = p_tenant AND x.ident = q.ident LIMIT 1
            ) i
        ), owners AS (
            SELECT c.id, c.data FROM (SELECT DISTINCT d.customer FROM idents d) q
            CROSS JOIN LATERAL (
                SELECT x.id, x.data FROM customers x
                WHERE x.tenant = p_tenant AND x.id = q.customer LIMIT 1
            ) c
        ), opens AS (
            SELECT v.customer, v.id, v.data FROM owners o
            CROSS JOIN LATERAL (
                SELECT x.customer, x.id, x.data FROM conversations x
                WHERE x.tenant = p_tenant AND x.customer = o.id AND NOT x.closed
                ORDER BY x.created DESC, x.id DESC LIMIT 1
            ) v
        ), wanted AS (
            SELECT w.kind, w.key FROM unnest(p_kinds, p_keys) AS w(kind, key)
            UNION
            SELECT k.kind, encode(o.id, 'hex')::uuid::text
                FROM owners o CROSS JOIN unnest(p_owner_kinds) AS k(kind)
            UNION
            SELECT k.kind, encode(v.id, 'hex')::uuid::text
                FROM opens v CROSS JOIN unnest(p_conversation_kinds) AS k(kind)
        )
        SELECT 0, NULL::text, NULL::text, NULL::text, NULL::bigint, NULL::bigint, m.data
            FROM messages m
            WHERE m.tenant = p_tenant AND m.channel = p_channel AND m.external_id = p_external
        UNION ALL SELECT 1, d.ident, NULL, NULL, NULL, NULL, d.data FROM idents d
        UNION ALL SELECT 2, NULL, NULL, NULL, NULL, NULL, o.data FROM owners o
        UNION ALL SELECT 3, NULL, NULL, NULL, NULL, NULL, v.data FROM opens v
        UNION ALL SELECT 4, r.kind, r.key, r.secondary, r.due, r.version, r.value
            FROM wanted w CROSS JOIN LATERAL (
                SELECT x.kind, x.key, x.secondary, x.due, x.version, x.value FROM records x
                WHERE x.tenant = p_tenant AND x.kind = w.kind AND x.key = w.key LIMIT 1
            ) r;
    END
    $fn$;
    "#,
    // 3: a conversation's thread keys, for erasure and retention.
    "CREATE INDEX threads_conversation ON threads (tenant, conversation);",
    // 5: the inbox views (`inbox.rs`): what they filter and order by, out of the JSON
    // into columns (filled from it by `inbox::backfill` in the same transaction), their
    // indexes, each led by the tenant, and `throughline_apply` writing the columns with
    // every conversation (the same function otherwise).
    concat!(
        "ALTER TABLE conversations ADD COLUMN status TEXT NOT NULL DEFAULT '',
            ADD COLUMN assignee BYTEA, ADD COLUMN updated BIGINT NOT NULL DEFAULT 0;
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
        r#";
        CREATE INDEX records_tenant_due ON records (tenant, kind, due, key COLLATE "C")
            WHERE due IS NOT NULL;
    CREATE OR REPLACE FUNCTION throughline_apply(t BYTEA, ops TEXT) RETURNS TEXT[]
    LANGUAGE plpgsql AS $fn$
    DECLARE
        op JSONB;
        n BIGINT;
    BEGIN
        BEGIN
            FOR op IN SELECT value FROM jsonb_array_elements(ops::jsonb) LOOP
                n := 1;
                CASE op->>'k'
                WHEN 'customer+' THEN
                    INSERT INTO customers (tenant, id, version, data)
                    VALUES (t, decode(op->>'id', 'hex'), (op->>'version')::BIGINT,
                            convert_to(op->>'data', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'customer' THEN
                    UPDATE customers SET version = (op->>'version')::BIGINT,
                        data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND id = decode(op->>'id', 'hex')
                      AND version = (op->>'version')::BIGINT - 1;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'conversation+' THEN
                    INSERT INTO conversations (tenant, id, customer, created, closed, version, data,
                                               status, assignee, updated)
                    VALUES (t, decode(op->>'id', 'hex'), decode(op->>'customer', 'hex'),
                            (op->>'created')::BIGINT, (op->>'closed')::BOOLEAN,
                            (op->>'version')::BIGINT, convert_to(op->>'data', 'UTF8'),
                            op->>'status', decode(op->>'assignee', 'hex'),
                            (op->>'updated')::BIGINT)
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'conversation' THEN
                    UPDATE conversations SET customer = decode(op->>'customer', 'hex'),
                        created = (op->>'created')::BIGINT, closed = (op->>'closed')::BOOLEAN,
                        version = (op->>'version')::BIGINT, data = convert_to(op->>'data', 'UTF8'),
                        status = op->>'status', assignee = decode(op->>'assignee', 'hex'),
                        updated = (op->>'updated')::BIGINT
                    WHERE tenant = t AND id = decode(op->>'id', 'hex')
                      AND version = (op->>'version')::BIGINT - 1;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'identifier+' THEN
                    INSERT INTO identifiers (tenant, ident, customer, data)
                    VALUES (t, op->>'ident', decode(op->>'customer', 'hex'),
                            convert_to(op->>'data', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'identifier' THEN
                    UPDATE identifiers SET data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND ident = op->>'ident'
                      AND customer = decode(op->>'customer', 'hex');
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'identifier-' THEN
                    DELETE FROM identifiers
                    WHERE tenant = t AND ident = op->>'ident'
                      AND customer = decode(op->>'customer', 'hex');
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'message+' THEN
                    INSERT INTO messages (tenant, id, conversation, channel, external_id, sent,
                                          received, pending, data)
                    VALUES (t, decode(op->>'id', 'hex'), decode(op->>'conversation', 'hex'),
                            op->>'channel', op->>'external_id', (op->>'sent')::BIGINT,
                            (op->>'received')::BIGINT, (op->>'pending')::BOOLEAN,
                            convert_to(op->>'data', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'message' THEN
                    UPDATE messages SET conversation = decode(op->>'conversation', 'hex'),
                        sent = (op->>'sent')::BIGINT, received = (op->>'received')::BIGINT,
                        pending = (op->>'pending')::BOOLEAN, data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND id = decode(op->>'id', 'hex')
                      AND channel = op->>'channel'
                      AND external_id IS NOT DISTINCT FROM op->>'external_id';
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'redact' THEN
                    UPDATE messages SET external_id = op->>'external_id',
                        pending = (op->>'pending')::BOOLEAN, data = convert_to(op->>'data', 'UTF8')
                    WHERE tenant = t AND id = decode(op->>'id', 'hex');
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'thread+' THEN
                    INSERT INTO threads (tenant, key, conversation)
                    VALUES (t, op->>'key', decode(op->>'conversation', 'hex'))
                    ON CONFLICT DO NOTHING;
                WHEN 'thread-' THEN
                    DELETE FROM threads WHERE tenant = t AND key = op->>'key';
                WHEN 'record+' THEN
                    INSERT INTO records (tenant, kind, key, secondary, due, version, value)
                    VALUES (t, op->>'kind', op->>'key', op->>'secondary', (op->>'due')::BIGINT,
                            (op->>'version')::BIGINT, convert_to(op->>'value', 'UTF8'))
                    ON CONFLICT DO NOTHING;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'record' THEN
                    UPDATE records SET secondary = op->>'secondary', due = (op->>'due')::BIGINT,
                        version = (op->>'version')::BIGINT, value = convert_to(op->>'value', 'UTF8')
                    WHERE tenant = t AND kind = op->>'kind' AND key = op->>'key'
                      AND version = (op->>'version')::BIGINT - 1;
                    GET DIAGNOSTICS n = ROW_COUNT;
                WHEN 'record-' THEN
                    DELETE FROM records
                    WHERE tenant = t AND kind = op->>'kind' AND key = op->>'key'
                      AND version = (op->>'version')::BIGINT;
                    GET DIAGNOSTICS n = ROW_COUNT;
                ELSE
                    RAISE EXCEPTION USING ERRCODE = '22023',
                        MESSAGE = format('unknown change %L', op->>'k');
                END CASE;
                IF n <> 1 THEN
                    RAISE EXCEPTION USING ERRCODE = '40001', MESSAGE = op->>'conflict';
                END IF;
            END LOOP;
        EXCEPTION WHEN OTHERS THEN
            RETURN ARRAY[SQLSTATE, SQLERRM];
        END;
        RETURN NULL;
    END
    $fn$;
    "#
    ),
    // 6: no unique index on the conversation id alone: a table distributed by tenant
    // cannot keep it, no statement needs it, and the planner preferred it to the primary
    // key for `tenant = $1 AND id = $2`.
    "DROP INDEX IF EXISTS conversations_id;",
];

/// The migration after whose SQL the inbox columns are filled from the JSON.
const INBOX_COLUMNS: i32 = 5;

/// The schema version this library writes.
pub const PG_SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// The migration lock's statements, and the schema version's (one row, no tenant).
const LOCK: &str = "SELECT pg_advisory_lock($1)";
const UNLOCK: &str = "SELECT pg_advisory_unlock($1)";
const SCHEMA_VERSION: &str = "SELECT version FROM throughline_schema";
const SET_SCHEMA_VERSION: &str = "UPDATE throughline_schema SET version = $1";

/// The migrations' statements with a plan, by name (the migrations themselves, and the
/// creation of the version table, are DDL).
pub(super) const STATEMENTS: &[(&str, &str)] = &[
    ("migration_lock", LOCK),
    ("migration_unlock", UNLOCK),
    ("schema_version", SCHEMA_VERSION),
    ("set_schema_version", SET_SCHEMA_VERSION),
];

/// Brings the schema up to [`PG_SCHEMA_VERSION`] under the migration advisory lock.
pub(super) fn migrate(client: &mut Client) -> Result<()> {
    client
        .execute(LOCK, &[&MIGRATION_LOCK])
        .map_err(|e| pg_error("cannot take the migration lock", e))?;
    let done = run(client);
    let unlocked = client
        .execute(UNLOCK, &[&MIGRATION_LOCK])
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
        .query_one(SCHEMA_VERSION, &[])
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
        if to == INBOX_COLUMNS {
            super::inbox::backfill(&mut tx)?;
        }
        tx.execute(SET_SCHEMA_VERSION, &[&to])
            .map_err(|e| pg_error("cannot record the schema version", e))?;
        tx.commit()
            .map_err(|e| pg_error(format!("cannot commit schema migration {to}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use postgres::{Client, NoTls};

    use super::*;
    use crate::conversation::{Conversation, Status};
    use crate::id::{AgentId, ConversationId, CustomerId, TenantId};

    /// A version 4 database gets its inbox columns filled from each conversation's JSON,
    /// as `throughline_apply` fills them (against a server when `THROUGHLINE_PG_URL` is
    /// set).
    #[test]
    fn version_four_conversations_get_their_inbox_columns() {
        let Some(db) = super::super::inbox::tests::fresh_db() else {
            return;
        };
        let mut client = Client::connect(&db, NoTls).expect("connect");
        client
            .batch_execute("CREATE TABLE throughline_schema (version INTEGER NOT NULL)")
            .unwrap();
        for sql in &MIGRATIONS[..4] {
            client.batch_execute(sql).unwrap();
        }
        client
            .batch_execute("INSERT INTO throughline_schema (version) VALUES (4)")
            .unwrap();
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
            client
                .execute(
                    "INSERT INTO conversations (tenant, id, customer, created, closed, version, \
                     data) VALUES ($1, $2, $3, 0, false, 1, $4)",
                    &[
                        &tenant.as_uuid().as_bytes().to_vec(),
                        &c.id.as_uuid().as_bytes().to_vec(),
                        &c.customer.as_uuid().as_bytes().to_vec(),
                        &serde_json::to_vec(&c).unwrap(),
                    ],
                )
                .unwrap();
            rows.push(c);
        }
        migrate(&mut client).unwrap();
        for c in rows {
            let row = client
                .query_one(
                    "SELECT status, assignee, updated FROM conversations WHERE id = $1",
                    &[&c.id.as_uuid().as_bytes().to_vec()],
                )
                .unwrap();
            let got: (String, Option<Vec<u8>>, i64) = (row.get(0), row.get(1), row.get(2));
            let want = (
                c.status.name().to_string(),
                c.assignee.map(|a| a.as_uuid().as_bytes().to_vec()),
                c.updated_at.timestamp_nanos_opt().unwrap(),
            );
            assert_eq!(got, want);
        }
    }
}
