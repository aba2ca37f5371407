//! The inbox views ([`Store::inbox`](crate::store::Store::inbox)) as indexed reads.
//!
//! Schema version 5 copies what the views filter and order by out of a conversation's
//! JSON into columns (`status`, `assignee`, `updated`): `throughline_apply` writes them
//! with every conversation, and the migration fills them ([`backfill`]). Each view reads
//! one index, every one led by the tenant (as in `SqliteStore`, see its `inbox.rs`); the
//! SLA view's index orders record keys bytewise (`COLLATE "C"`), as the other stores do.

use chrono::{DateTime, Utc};
use postgres::Transaction;

use super::read::{bound, decode, id};
use super::{pg_error, PostgresStore};
use crate::conversation::Conversation;
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::store::{Cursor, InboxPage, InboxView};

/// The SQL condition of the active statuses (`store::inbox::ACTIVE`), as the partial
/// indexes write it (the planner uses a partial index only when the query implies it).
macro_rules! active {
    () => {
        "status IN ('new', 'open', 'pending', 'on_hold')"
    };
}
pub(super) use active;

/// A status view's page: tenant, status, after (updated, id), rows.
const STATUS_PAGE: &str = "SELECT data, updated FROM conversations \
     WHERE tenant = $1 AND status = $2 AND (updated, id) < ($3, $4) \
     ORDER BY updated DESC, id DESC LIMIT $5";
/// An agent's view's page: tenant, agent, after (updated, id), rows.
const ASSIGNEE_PAGE: &str = concat!(
    "SELECT data, updated FROM conversations \
     WHERE tenant = $1 AND assignee = $2 AND assignee IS NOT NULL AND ",
    active!(),
    " AND (updated, id) < ($3, $4) ORDER BY updated DESC, id DESC LIMIT $5"
);
/// The unassigned view's page: tenant, after (created, id), rows.
const UNASSIGNED_PAGE: &str = concat!(
    "SELECT data, created FROM conversations \
     WHERE tenant = $1 AND assignee IS NULL AND ",
    active!(),
    " AND (created, id) > ($2, $3) ORDER BY created, id LIMIT $4"
);
/// The SLA view's page: tenant, kind, bound, after (due, key), rows; each clock's
/// conversation by primary key (the record key is the id as text).
const SLA_PAGE: &str = r#"SELECT c.data, r.due FROM records r
     JOIN LATERAL (
         SELECT x.data FROM conversations x
         WHERE x.tenant = r.tenant AND r.key ~ '^[0-9a-f-]{36}$'
           AND x.id = decode(replace(r.key, '-', ''), 'hex')
     ) c ON TRUE
     WHERE r.tenant = $1 AND r.kind = $2 AND r.due IS NOT NULL AND r.due < $3
       AND (r.due, r.key COLLATE "C") > ($4, $5)
     ORDER BY r.due, r.key COLLATE "C" LIMIT $6"#;
const STATUS_COUNT: &str = "SELECT count(*) FROM conversations WHERE tenant = $1 AND status = $2";
const ASSIGNEE_COUNT: &str = concat!(
    "SELECT count(*) FROM conversations \
     WHERE tenant = $1 AND assignee = $2 AND assignee IS NOT NULL AND ",
    active!()
);
const UNASSIGNED_COUNT: &str = concat!(
    "SELECT count(*) FROM conversations WHERE tenant = $1 AND assignee IS NULL AND ",
    active!()
);
const SLA_COUNT: &str = "SELECT count(*) FROM records \
     WHERE tenant = $1 AND kind = $2 AND due IS NOT NULL AND due < $3";
/// The migration's backfill: a page of conversations after (tenant, id), of every tenant.
const BACKFILL_PAGE: &str = "SELECT tenant, id, data FROM conversations \
     WHERE (tenant, id) > ($1, $2) ORDER BY tenant, id LIMIT 1000";
/// The migration's backfill: a page's inbox columns.
const BACKFILL_UPDATE: &str = "UPDATE conversations c SET status = u.status, \
     assignee = u.assignee, updated = u.updated \
     FROM unnest($1::bytea[], $2::bytea[], $3::text[], $4::bytea[], $5::bigint[]) \
       AS u(tenant, id, status, assignee, updated) \
     WHERE c.tenant = u.tenant AND c.id = u.id";

/// The inbox views' and the backfill's statements, by name.
pub(super) const STATEMENTS: &[(&str, &str)] = &[
    ("inbox_status_page", STATUS_PAGE),
    ("inbox_assignee_page", ASSIGNEE_PAGE),
    ("inbox_unassigned_page", UNASSIGNED_PAGE),
    ("inbox_sla_page", SLA_PAGE),
    ("inbox_status_count", STATUS_COUNT),
    ("inbox_assignee_count", ASSIGNEE_COUNT),
    ("inbox_unassigned_count", UNASSIGNED_COUNT),
    ("inbox_sla_count", SLA_COUNT),
    ("backfill_page", BACKFILL_PAGE),
    ("backfill_update", BACKFILL_UPDATE),
];

/// Fills the inbox columns of every conversation from its JSON (schema migration 5), a
/// thousand rows per statement, inside the migration's transaction.
pub(super) fn backfill(tx: &mut Transaction<'_>) -> Result<()> {
    let err = |e| pg_error("cannot fill the inbox columns", e);
    let mut after: (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    loop {
        let rows = tx
            .query(BACKFILL_PAGE, &[&after.0, &after.1])
            .map_err(err)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = (last.get(0), last.get(1));
        let (mut tenants, mut ids, mut statuses) = (Vec::new(), Vec::new(), Vec::new());
        let (mut assignees, mut updated) = (Vec::new(), Vec::new());
        for row in &rows {
            let c: Conversation = decode("conversation", row, 2)?;
            tenants.push(row.get::<_, Vec<u8>>(0));
            ids.push(row.get::<_, Vec<u8>>(1));
            statuses.push(c.status.name());
            assignees.push(c.assignee.map(|a| id(a.as_uuid())));
            updated.push(nanos(c.updated_at)?);
        }
        tx.execute(
            BACKFILL_UPDATE,
            &[&tenants, &ids, &statuses, &assignees, &updated],
        )
        .map_err(err)?;
    }
}

fn nanos(t: DateTime<Utc>) -> Result<i64> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| Error::invalid("time", format!("{t} is outside 1677-2262")))
}

impl PostgresStore {
    /// [`Store::inbox`](crate::store::Store::inbox): one indexed range read of
    /// `limit + 1` rows (the extra one says whether a page follows).
    pub(super) fn inbox_page(
        &self,
        tenant: TenantId,
        view: &InboxView,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<InboxPage> {
        view.check(after)?;
        let order = view.order();
        let t = id(tenant.as_uuid());
        let (at, key) = match after {
            Some(c) => (bound(c.at()), id(c.id().as_uuid())),
            None => order.first_bound(),
        };
        let n = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let rows = match view {
            InboxView::Status(s) => self.keyed(STATUS_PAGE, &[&t, &s.name(), &at, &key, &n])?,
            InboxView::Assignee(a) => {
                self.keyed(ASSIGNEE_PAGE, &[&t, &id(a.as_uuid()), &at, &key, &n])?
            }
            InboxView::Unassigned => self.keyed(UNASSIGNED_PAGE, &[&t, &at, &key, &n])?,
            InboxView::SlaDueBefore(_) | InboxView::Queue(_) => {
                let (kind, before) = view.due_records().unwrap_or_default();
                let key = after.map(|c| c.id().to_string()).unwrap_or_default();
                let kind: &str = &kind;
                self.keyed(SLA_PAGE, &[&t, &kind, &bound(before), &at, &key, &n])?
            }
        };
        Ok(InboxPage::from_keyed(order, rows, limit))
    }

    /// [`Store::inbox_count`](crate::store::Store::inbox_count): a count of the view's
    /// index entries.
    pub(super) fn inbox_count_of(&self, tenant: TenantId, view: &InboxView) -> Result<u64> {
        let t = id(tenant.as_uuid());
        let row = match view {
            InboxView::Status(s) => self.one_row(STATUS_COUNT, &[&t, &s.name()])?,
            InboxView::Assignee(a) => self.one_row(ASSIGNEE_COUNT, &[&t, &id(a.as_uuid())])?,
            InboxView::Unassigned => self.one_row(UNASSIGNED_COUNT, &[&t])?,
            InboxView::SlaDueBefore(_) | InboxView::Queue(_) => {
                let (kind, before) = view.due_records().unwrap_or_default();
                let kind: &str = &kind;
                self.one_row(SLA_COUNT, &[&t, &kind, &bound(before)])?
            }
        };
        let n: i64 = row.get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn one_row(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<postgres::Row> {
        self.with(sql, |c, s| c.query_one(s, params))
            .map_err(|e| pg_error("cannot count an inbox view", e))
    }

    /// Rows of `(data, key time in nanoseconds)`, decoded.
    fn keyed(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<(DateTime<Utc>, Conversation)>> {
        let rows = self
            .with(sql, |c, s| c.query(s, params))
            .map_err(|e| pg_error("cannot read an inbox view", e))?;
        rows.iter()
            .map(|r| {
                let at: i64 = r.get(1);
                Ok((
                    DateTime::<Utc>::from_timestamp_nanos(at),
                    decode("conversation", r, 0)?,
                ))
            })
            .collect()
    }
}

/// Against a server when `THROUGHLINE_PG_URL` is set (`.ci/run` sets it); skipped
/// otherwise (the conformance suite in `tests/postgres.rs` says so).
#[cfg(test)]
pub(super) mod tests {
    use postgres::{Client, NoTls};

    use super::*;
    use crate::store::{ChangeSet, Op, Store};

    /// A connection string of a fresh database, or `None` without a server.
    // Test code: a database name unique across runs reads the clock.
    #[allow(clippy::disallowed_methods)]
    pub(in crate::store::postgres) fn fresh_db() -> Option<String> {
        let url = std::env::var("THROUGHLINE_PG_URL").ok()?;
        let name = format!(
            "tl_unit_{}_{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        let mut admin = Client::connect(&url, NoTls).expect("admin connection");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        Some(format!("{url} dbname={name}"))
    }

    /// Every inbox statement can be answered through a tenant-led index, a page by
    /// walking its view's index in order: with sequential scans, bitmaps and sorts priced
    /// out, the plan's index condition starts with the tenant and nothing is sorted.
    #[test]
    fn every_view_reads_a_tenant_led_index() {
        let Some(db) = fresh_db() else { return };
        let mut store = PostgresStore::connect(&db).expect("connect");
        let tenant = TenantId::from_uuid(uuid::Uuid::from_u128(7));
        let at = DateTime::from_timestamp(1_767_261_600, 0).expect("time");
        let mut changes = ChangeSet::new(tenant);
        for n in 0..200u128 {
            let mut c = Conversation::new(
                crate::id::ConversationId::from_uuid(uuid::Uuid::from_u128(1000 + n)),
                tenant,
                crate::id::CustomerId::from_uuid(uuid::Uuid::from_u128(9)),
                crate::Channel::Sms,
                at,
            );
            c.version = 1;
            changes.push(Op::PutConversation(c));
        }
        store.apply(changes).expect("apply");
        let mut client = Client::connect(&db, NoTls).expect("connect");
        client
            .batch_execute(
                "ANALYZE; SET enable_seqscan = off; SET enable_bitmapscan = off; \
                 SET enable_sort = off;",
            )
            .expect("settings");
        let t = id(tenant.as_uuid());
        let (n, key, big) = (10i64, vec![0u8; 16], i64::MAX);
        let agent = vec![1u8; 16];
        let cases: [(&str, &str, Vec<&(dyn postgres::types::ToSql + Sync)>); 8] = [
            (
                STATUS_PAGE,
                "conversations_status",
                vec![&t, &"open", &big, &key, &n],
            ),
            (
                ASSIGNEE_PAGE,
                "conversations_assignee",
                vec![&t, &agent, &big, &key, &n],
            ),
            (
                UNASSIGNED_PAGE,
                "conversations_unassigned",
                vec![&t, &big, &key, &n],
            ),
            (
                SLA_PAGE,
                "records_tenant_due",
                vec![&t, &"sla", &big, &big, &"", &n],
            ),
            (STATUS_COUNT, "conversations_status", vec![&t, &"open"]),
            (ASSIGNEE_COUNT, "conversations_assignee", vec![&t, &agent]),
            (UNASSIGNED_COUNT, "conversations_unassigned", vec![&t]),
            (SLA_COUNT, "records_tenant_due", vec![&t, &"sla", &big]),
        ];
        for (sql, index, params) in cases {
            let plan: Vec<String> = client
                .query(&format!("EXPLAIN {sql}"), &params)
                .expect("explain")
                .iter()
                .map(|r| r.get(0))
                .collect();
            let plan = plan.join("\n");
            // A count may take another tenant-led index when the statistics favour it.
            let count = sql.starts_with("SELECT count");
            assert!(count || plan.contains(index), "{sql}\n{plan}");
            assert!(plan.contains("Index Cond: ((tenant = "), "{sql}\n{plan}");
            assert!(
                !plan.contains("Seq Scan") && !plan.contains("Sort"),
                "{sql}\n{plan}"
            );
        }
    }
}
