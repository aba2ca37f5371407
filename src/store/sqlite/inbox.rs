//! The inbox views ([`Store::inbox`](crate::store::Store::inbox)) as indexed reads.
//!
//! Schema version 4 copies what the views filter and order by out of a conversation's
//! JSON into columns (`status`, `assignee`, `updated`), written by every conversation
//! write (`write.rs`, `put_conversation`) and backfilled by the migration
//! ([`backfill`]). Each view reads one index, every one led by the tenant:
//!
//! * `conversations_status (tenant, status, updated, id)`: a status view, backwards;
//! * `conversations_assignee (tenant, assignee, updated, id, status)`, partial
//!   (assigned and active): an agent's view, backwards;
//! * `conversations_unassigned (tenant, created, id, status, assignee)`, partial
//!   (unassigned and active): the unassigned view;
//! * `records_tenant_due (tenant, kind, due, key)`, partial (with a due time): the SLA
//!   view, each clock joined to its conversation by primary key.
//!
//! A page starts after its cursor with a row-value range (`(updated, id) < (?, ?)`), so
//! a page costs its rows, wherever it is in the view. A count counts index entries
//! without reading a row (each index holds the columns its condition names): linear in
//! the view's size, not the tenant's.

use chrono::{DateTime, Utc};
use rusqlite::Connection;

use super::read::blob;
use super::{sql_error, ts, unjson, SqliteStore};
use crate::conversation::Conversation;
use crate::error::Result;
use crate::id::TenantId;
use crate::store::{Cursor, InboxPage, InboxView};

/// The SQL condition of the active statuses (`store::inbox::ACTIVE`), written as the partial indexes
/// write it (SQLite uses a partial index only when the query names its condition). Not as
/// an `IN` list: SQLite builds a temporary table for one each time it checks a written row
/// against the index's condition, four times per conversation update.
macro_rules! active {
    () => {
        "status <> 'solved' AND status <> 'closed'"
    };
}
pub(super) use active;

/// A status view's page: tenant, status, after (updated, id), rows.
const STATUS_PAGE: &str =
    "SELECT data, updated FROM conversations INDEXED BY conversations_status \
     WHERE tenant = ?1 AND status = ?2 AND (updated, id) < (?3, ?4) \
     ORDER BY updated DESC, id DESC LIMIT ?5";
/// An agent's view's page: tenant, agent, after (updated, id), rows.
const ASSIGNEE_PAGE: &str = concat!(
    "SELECT data, updated FROM conversations INDEXED BY conversations_assignee \
     WHERE tenant = ?1 AND assignee = ?2 AND assignee IS NOT NULL AND ",
    active!(),
    " AND (updated, id) < (?3, ?4) ORDER BY updated DESC, id DESC LIMIT ?5"
);
/// The unassigned view's page: tenant, after (created, id), rows.
const UNASSIGNED_PAGE: &str = concat!(
    "SELECT data, created FROM conversations INDEXED BY conversations_unassigned \
     WHERE tenant = ?1 AND assignee IS NULL AND ",
    active!(),
    " AND (created, id) > (?2, ?3) ORDER BY created, id LIMIT ?4"
);
/// The SLA view's page: tenant, kind, bound, after (due, key), rows. Each clock's
/// conversation is found by primary key (the record key is the id as text).
const SLA_PAGE: &str = "SELECT c.data, r.due FROM records r INDEXED BY records_tenant_due \
     CROSS JOIN conversations c ON c.tenant = r.tenant \
       AND c.id = unhex(replace(r.key, '-', '')) \
     WHERE r.tenant = ?1 AND r.kind = ?2 AND r.due IS NOT NULL AND r.due < ?3 \
       AND (r.due, r.key) > (?4, ?5) \
     ORDER BY r.due, r.key LIMIT ?6";
const STATUS_COUNT: &str = "SELECT count(*) FROM conversations INDEXED BY conversations_status \
     WHERE tenant = ?1 AND status = ?2";
const ASSIGNEE_COUNT: &str = concat!(
    "SELECT count(*) FROM conversations INDEXED BY conversations_assignee \
     WHERE tenant = ?1 AND assignee = ?2 AND assignee IS NOT NULL AND ",
    active!()
);
const UNASSIGNED_COUNT: &str = concat!(
    "SELECT count(*) FROM conversations INDEXED BY conversations_unassigned \
     WHERE tenant = ?1 AND assignee IS NULL AND ",
    active!()
);
const SLA_COUNT: &str = "SELECT count(*) FROM records INDEXED BY records_tenant_due \
     WHERE tenant = ?1 AND kind = ?2 AND due IS NOT NULL AND due < ?3";

/// The inbox columns of a conversation row.
pub(super) struct InboxColumns {
    /// The status's name.
    pub(super) status: &'static str,
    /// The assignee's id bytes.
    pub(super) assignee: Option<[u8; 16]>,
    /// `updated_at` in nanoseconds.
    pub(super) updated: i64,
}

impl InboxColumns {
    pub(super) fn of(c: &Conversation) -> Result<Self> {
        Ok(InboxColumns {
            status: c.status.name(),
            assignee: c.assignee.map(|a| blob(a.as_uuid())),
            updated: ts(c.updated_at)?,
        })
    }
}

/// Fills the inbox columns of every conversation from its JSON (schema migration 4),
/// a thousand rows at a time, inside the migration's transaction.
pub(super) fn backfill(conn: &Connection) -> Result<()> {
    let err = |e| sql_error("cannot fill the inbox columns", e);
    let mut read = conn
        .prepare(
            "SELECT tenant, id, data FROM conversations WHERE (tenant, id) > (?1, ?2) \
             ORDER BY tenant, id LIMIT 1000",
        )
        .map_err(err)?;
    let mut write = conn
        .prepare(
            "UPDATE conversations SET status = ?3, assignee = ?4, updated = ?5 \
             WHERE tenant = ?1 AND id = ?2",
        )
        .map_err(err)?;
    let mut after: (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    loop {
        let rows: Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> = read
            .query_map((&after.0, &after.1), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .and_then(|rows| rows.collect())
            .map_err(err)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = (last.0.clone(), last.1.clone());
        for (tenant, id, data) in &rows {
            let c: Conversation = unjson("conversation", data)?;
            let cols = InboxColumns::of(&c)?;
            write
                .execute((tenant, id, cols.status, cols.assignee, cols.updated))
                .map_err(err)?;
        }
    }
}

impl SqliteStore {
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
        let t = blob(tenant.as_uuid());
        let (at, id) = match after {
            Some(c) => (clamp(c.at()), blob(c.id().as_uuid()).to_vec()),
            None => order.first_bound(),
        };
        let n = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let rows = match view {
            InboxView::Status(s) => self.keyed(STATUS_PAGE, &[&t, &s.name(), &at, &id, &n])?,
            InboxView::Assignee(a) => {
                self.keyed(ASSIGNEE_PAGE, &[&t, &blob(a.as_uuid()), &at, &id, &n])?
            }
            InboxView::Unassigned => self.keyed(UNASSIGNED_PAGE, &[&t, &at, &id, &n])?,
            InboxView::SlaDueBefore(_) | InboxView::Queue(_) => {
                let (kind, before) = view.due_records().unwrap_or_default();
                let key = after.map(|c| c.id().to_string()).unwrap_or_default();
                let kind: &str = &kind;
                self.keyed(SLA_PAGE, &[&t, &kind, &clamp(before), &at, &key, &n])?
            }
        };
        Ok(InboxPage::from_keyed(order, rows, limit))
    }

    /// [`Store::inbox_count`](crate::store::Store::inbox_count): a count of the view's
    /// index entries.
    pub(super) fn inbox_count_of(&self, tenant: TenantId, view: &InboxView) -> Result<u64> {
        let t = blob(tenant.as_uuid());
        let n: i64 = match view {
            InboxView::Status(s) => self.count(STATUS_COUNT, &[&t, &s.name()])?,
            InboxView::Assignee(a) => self.count(ASSIGNEE_COUNT, &[&t, &blob(a.as_uuid())])?,
            InboxView::Unassigned => self.count(UNASSIGNED_COUNT, &[&t])?,
            InboxView::SlaDueBefore(_) | InboxView::Queue(_) => {
                let (kind, before) = view.due_records().unwrap_or_default();
                let kind: &str = &kind;
                self.count(SLA_COUNT, &[&t, &kind, &clamp(before)])?
            }
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Rows of `(data, key time in nanoseconds)`, decoded.
    fn keyed(
        &self,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<(DateTime<Utc>, Conversation)>> {
        let err = |e| sql_error("cannot read an inbox view", e);
        let mut stmt = self.conn.prepare_cached(sql).map_err(err)?;
        let mut rows = stmt.query(params).map_err(err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(err)? {
            let at: i64 = row.get(1).map_err(err)?;
            let data = row.get_ref(0).map_err(err)?;
            let bytes = data.as_blob_or_null().ok().flatten().unwrap_or_default();
            let c: Conversation = unjson("conversation", bytes)?;
            out.push((DateTime::<Utc>::from_timestamp_nanos(at), c));
        }
        Ok(out)
    }

    fn count(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<i64> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row(params, |r| r.get(0)))
            .map_err(|e| sql_error("cannot count an inbox view", e))
    }
}

/// A time bound in nanoseconds; beyond what they hold, the ends.
fn clamp(t: DateTime<Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The view's order needs no sort: each read walks its index (no temporary b-tree,
    /// the SLA view's conversations by primary key), and each count counts one index.
    #[test]
    fn every_view_reads_its_index() {
        let s = SqliteStore::open_in_memory().expect("open");
        let plan = |sql: &str| -> String {
            let mut stmt = s
                .conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let params = vec![0i64; stmt.parameter_count()];
            let rows = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    r.get::<_, String>(3)
                })
                .unwrap();
            rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
        };
        for (sql, index) in [
            (STATUS_PAGE, "conversations_status"),
            (ASSIGNEE_PAGE, "conversations_assignee"),
            (UNASSIGNED_PAGE, "conversations_unassigned"),
            (SLA_PAGE, "records_tenant_due"),
            (STATUS_COUNT, "conversations_status"),
            (ASSIGNEE_COUNT, "conversations_assignee"),
            (UNASSIGNED_COUNT, "conversations_unassigned"),
            (SLA_COUNT, "records_tenant_due"),
        ] {
            let p = plan(sql);
            assert!(p.contains(index), "{p}");
            if sql.starts_with("SELECT count") {
                assert!(p.contains("COVERING INDEX"), "a count reads no row: {p}");
            }
            assert!(!p.contains("TEMP B-TREE") && !p.contains("SCAN"), "{p}");
            assert!(p.contains("tenant=?"), "tenant-led: {p}");
        }
        let sla = plan(SLA_PAGE);
        assert!(sla.contains("SEARCH c USING PRIMARY KEY"), "{sla}");
    }

    /// Keeping the inbox indexes costs no temporary table: a partial index whose
    /// condition is an `IN` list made SQLite build one four times per conversation
    /// update.
    #[test]
    fn a_conversation_update_builds_no_temporary_table() {
        let s = SqliteStore::open_in_memory().expect("open");
        let mut stmt = s
            .conn
            .prepare(&format!(
                "EXPLAIN {}",
                super::super::write::CONVERSATION_UPDATE
            ))
            .expect("prepare");
        let params = vec![0i64; stmt.parameter_count()];
        let ops: Vec<String> = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                r.get::<_, String>(1)
            })
            .expect("explain")
            .map(|r| r.expect("row"))
            .collect();
        assert!(ops.iter().any(|op| op == "IdxInsert"), "{ops:?}");
        assert!(!ops.iter().any(|op| op == "OpenEphemeral"), "{ops:?}");
    }
}
