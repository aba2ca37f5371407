//! [`Store::read_ahead`] for PostgreSQL: an ingest's reads in one statement, one round
//! trip, one snapshot.

use postgres::Row;

use super::read::{decode, id, record_of};
use super::{pg_error, PostgresStore};
use crate::conversation::Conversation;
use crate::error::Result;
use crate::id::TenantId;
use crate::identity::{Customer, IdentifierRecord};
use crate::message::Message;
use crate::store::{ReadAhead, ReadPlan};

/// Rows are `(part, k1, k2, secondary, due, version, data)`: part 0 the duplicate
/// message, 1 an identifier (`k1` its text), 2 an owner, 3 an owner's open conversation,
/// 4 a record (`k1` kind, `k2` key). The function (schema version 3) keys the owners'
/// and conversations' records by their ids in `Display` form, the UUID's hyphenated
/// lower-case text.
const READ_AHEAD: &str = "SELECT * FROM throughline_read_ahead($1, $2, $3, $4, $5, $6, $7, $8)";

/// The read-ahead's statement, by name.
pub(super) const STATEMENTS: &[(&str, &str)] = &[("read_ahead", READ_AHEAD)];

impl PostgresStore {
    pub(super) fn read_ahead_at_once(
        &self,
        tenant: TenantId,
        plan: &ReadPlan<'_>,
    ) -> Result<ReadAhead> {
        let (channel, external_id) = match plan.dedup {
            Some((c, e)) => (Some(c.to_string()), Some(e)),
            None => (None, None),
        };
        let idents: Vec<String> = plan.identifiers.iter().map(ToString::to_string).collect();
        let kinds: Vec<&str> = plan.records.iter().map(|&(k, _)| k).collect();
        let keys: Vec<&str> = plan.records.iter().map(|&(_, k)| k).collect();
        let rows: Vec<Row> = self
            .with(READ_AHEAD, |c, s| {
                c.query(
                    s,
                    &[
                        &id(tenant.as_uuid()),
                        &channel,
                        &external_id,
                        &idents,
                        &kinds,
                        &keys,
                        &plan.owner_records,
                        &plan.conversation_records,
                    ],
                )
            })
            .map_err(|e| pg_error("cannot read ahead", e))?;

        let mut ahead = ReadAhead::default();
        let mut duplicate: Option<Message> = None;
        let mut found_idents: Vec<(String, IdentifierRecord)> = Vec::new();
        let mut opens: Vec<Conversation> = Vec::new();
        let mut records = Vec::new();
        for row in &rows {
            match row.get::<_, i32>(0) {
                0 => duplicate = Some(decode("message", row, 6)?),
                1 => found_idents.push((row.get(1), decode("identifier", row, 6)?)),
                2 => ahead
                    .customers
                    .push(decode::<Customer>("customer", row, 6)?),
                3 => opens.push(decode("conversation", row, 6)?),
                _ => records.push(record_of(row, 1)?),
            }
        }
        if let Some((c, e)) = plan.dedup {
            ahead.duplicate = Some((((*c).clone(), e.to_owned()), duplicate));
        }
        for (&ident, text) in plan.identifiers.iter().zip(&idents) {
            if ahead.identifier(ident).is_none() {
                let rec = found_idents
                    .iter()
                    .find(|(t, _)| t == text)
                    .map(|(_, r)| r.clone());
                ahead.identifiers.push((ident.clone(), rec));
            }
        }
        let mut wanted: Vec<(String, String)> = plan
            .records
            .iter()
            .map(|&(k, n)| (k.to_owned(), n.to_owned()))
            .collect();
        for owner in &ahead.customers {
            let open = opens.iter().find(|c| c.customer == owner.id).cloned();
            for &kind in plan.owner_records {
                wanted.push((kind.to_owned(), owner.id.to_string()));
            }
            if let Some(conv) = &open {
                for &kind in plan.conversation_records {
                    wanted.push((kind.to_owned(), conv.id.to_string()));
                }
            }
            ahead.open_conversations.push((owner.id, open));
        }
        for (kind, key) in wanted {
            if ahead.record(&kind, &key).is_none() {
                let rec = records
                    .iter()
                    .find(|r| r.kind == kind && r.key == key)
                    .cloned();
                ahead.records.push(((kind, key), rec));
            }
        }
        Ok(ahead)
    }
}
