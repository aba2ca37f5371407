//! What a host and a tick read of the routing state: the state as stored, the records
//! that fell due (escalation steps, shift starts) and the conversations whose routing
//! step has not run (`routing-pending` marks, see [`super::routing_store`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::desk::routing_store::{AGENT_KIND, PENDING_KIND, SHIFT_KIND, WORK_KIND};
use crate::desk::Desk;
use crate::error::{Error, Result};
use crate::id::{ConversationId, TenantId};
use crate::routing::{RoutingState, StoredAgent, StoredWork};
use crate::store::{ChangeSet, Op, Record, Store};

/// The mark that `conversation` waits for its routing step with `skills` (see the
/// [module docs](self)); `mark` makes its key unique.
pub(crate) fn pending_route(
    conversation: ConversationId,
    skills: &[(String, u8)],
    now: DateTime<Utc>,
    mark: uuid::Uuid,
) -> Result<Op> {
    let mut r = Record::encode(PENDING_KIND, format!("{conversation}/{mark}"), skills)?;
    r.secondary = Some(conversation.to_string());
    r.due = Some(now);
    Ok(Op::PutRecord(r))
}

/// A conversation waiting for its routing step: its tenant, id and the skills it needs.
pub(crate) type PendingRoute = (TenantId, ConversationId, Vec<(String, u8)>);

impl<S: Store> Desk<S> {
    /// A tenant's routing state as stored: every agent with their load, and the work
    /// routing holds (assigned or waiting, with enqueue times and escalation steps). What
    /// every host sees; [`Desk::router`] is this desk's cache of it.
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn routing_state(&self, tenant: TenantId) -> Result<RoutingState> {
        let agents = self
            .store
            .records(tenant, AGENT_KIND)?
            .iter()
            .map(Record::decode)
            .collect::<Result<Vec<StoredAgent>>>()?;
        let work = self
            .store
            .records(tenant, WORK_KIND)?
            .iter()
            .map(Record::decode)
            .collect::<Result<Vec<StoredWork>>>()?;
        Ok(RoutingState { agents, work })
    }

    /// The tenants with routing records due at `now`: the conversations whose escalation
    /// step is due, and whether a shift started while work waits.
    pub(crate) fn routing_due(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<BTreeMap<TenantId, (Vec<ConversationId>, bool)>> {
        let mut due: BTreeMap<TenantId, (Vec<ConversationId>, bool)> = BTreeMap::new();
        for (t, r) in self.store.due_records(WORK_KIND, now, limit)? {
            let c = r
                .key
                .parse()
                .map_err(|e| Error::store(format!("bad routing-work key {}", r.key), e))?;
            due.entry(t).or_default().0.push(c);
        }
        for (t, _) in self.store.due_records(SHIFT_KIND, now, limit)? {
            due.entry(t).or_default().1 = true;
        }
        Ok(due)
    }

    /// Conversations whose routing step has not run (a host stopped or failed between
    /// the change set that marked them and their routing), with the skills they need.
    pub(crate) fn routing_pending(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<PendingRoute>> {
        let mut out: Vec<PendingRoute> = Vec::new();
        for (t, r) in self.store.due_records(PENDING_KIND, now, limit)? {
            let conv = r.secondary.as_deref().unwrap_or_default();
            let c: ConversationId = conv
                .parse()
                .map_err(|e| Error::store(format!("bad routing-pending mark {}", r.key), e))?;
            if !out.iter().any(|(tt, cc, _)| *tt == t && *cc == c) {
                out.push((t, c, r.decode()?));
            }
        }
        Ok(out)
    }

    /// Deletes the pending marks of `conversation` in `changes` (its routing step runs).
    pub(crate) fn clear_pending(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        changes: &mut ChangeSet,
    ) -> Result<()> {
        for r in self
            .store
            .records_by(tenant, PENDING_KIND, &conversation.to_string())?
        {
            changes.push(Op::DeleteRecord {
                kind: r.kind,
                key: r.key,
                version: r.version,
            });
        }
        Ok(())
    }

    /// When routing next has something due (an escalation step or a shift start).
    pub(crate) fn routing_next_due(&self) -> Result<Option<DateTime<Utc>>> {
        if self.config.routing.is_none() {
            return Ok(None);
        }
        let work = self.store.next_due(WORK_KIND)?;
        let shifts = self.store.next_due(SHIFT_KIND)?;
        let pending = self.store.next_due(PENDING_KIND)?;
        Ok(work.into_iter().chain(shifts).chain(pending).min())
    }
}
