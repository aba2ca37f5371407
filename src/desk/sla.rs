//! SLA clocks on the Desk: one record per conversation (kind `"sla"`), indexed by its next
//! due time, so `tick` costs what is due, not what is open.

use chrono::{DateTime, Utc};

use crate::desk::pipeline::{Event, Step};
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::Result;
use crate::id::{ConversationId, TenantId};
use crate::message::Author;
use crate::metrics::{ConversationFacts, Filter};
use crate::sla::step::{self as decide, ClockEvent, PRESSURE_TAG};
use crate::sla::{AuthorKind, SlaAttainment, SlaClocks, SlaPolicies, StoredClocks};
use crate::store::{ChangeSet, Op, Record, Store};

pub(crate) const SLA_KIND: &str = "sla";

/// How many due conversations one `tick` call handles per round.
const TICK_BATCH: usize = 1024;

fn author_kind(a: &Author) -> AuthorKind {
    match a {
        Author::Agent(_) => AuthorKind::Agent,
        Author::Bot(_) => AuthorKind::Bot,
        _ => AuthorKind::System,
    }
}

/// The operation as the clocks see it.
fn clock_event(sla: &SlaPolicies, step: &Step<'_>) -> ClockEvent {
    let conv = &*step.conversation;
    match &step.event {
        Event::Inbound {
            customer,
            status_before,
            ..
        } => ClockEvent::Inbound {
            policy: decide::select(
                sla,
                conv.last_inbound_channel.as_ref().or(conv.channels.first()),
                conv.priority,
                &conv.tags,
                &customer.attributes,
            ),
            priority: conv.priority,
            pressed: conv.tags.iter().any(|t| t == PRESSURE_TAG),
            status: (*status_before, conv.status),
        },
        Event::Reply { message } => ClockEvent::Reply {
            by: author_kind(&message.author),
            active: conv.status.is_active(),
        },
        Event::Status { from, to } => ClockEvent::Status {
            from: *from,
            to: *to,
        },
    }
}

impl<S: Store> Desk<S> {
    /// The pipeline step: feed the operation to the conversation's clocks
    /// (`sla::step::feed`), report the breaches it found overdue, and write the clocks.
    pub(crate) fn sla_step(&mut self, step: &mut Step<'_>) -> Result<()> {
        let sla = std::sync::Arc::clone(&self.config.sla);
        if sla.policies().is_empty() {
            return Ok(());
        }
        let key = step.conversation.id.to_string();
        let (stored, bump) = self.sla_snapshot(step, &key)?;
        let mut clocks = match &stored {
            Some(r) => decode_clocks(r)?,
            None => StoredClocks::new(),
        };
        let event = clock_event(&sla, step);
        let Some(breaches) =
            decide::feed(&sla, &mut clocks.clocks, stored.is_some(), &event, step.now)
        else {
            // No clocks were ever started for this conversation (no policy at the time).
            return Ok(());
        };
        let (tenant, conversation) = (step.tenant, step.conversation.id);
        step.effects
            .extend(decide::effects(tenant, conversation, breaches));
        self.sla_write(step, key, stored, bump, &clocks)
    }

    /// The conversation's clock record, and the version step its write takes. An earlier
    /// step of the same operation (a reply submitted with a status change) may have
    /// written the clocks already: continue from that write (taken out of the change set),
    /// which keeps the stored version it expects.
    fn sla_snapshot(&self, step: &mut Step<'_>, key: &str) -> Result<(Option<Record>, u64)> {
        let pending =
            step.changes.ops.iter().position(
                |op| matches!(op, Op::PutRecord(r) if r.kind == SLA_KIND && r.key == key),
            );
        Ok(match pending.map(|i| step.changes.ops.remove(i)) {
            Some(Op::PutRecord(r)) => (Some(r), 0),
            _ => (self.read_record(step.tenant, SLA_KIND, key)?, 1),
        })
    }

    /// Writes the clocks fed by an operation, indexed by their next due time.
    fn sla_write(
        &self,
        step: &mut Step<'_>,
        key: String,
        stored: Option<Record>,
        bump: u64,
        clocks: &StoredClocks,
    ) -> Result<()> {
        let value = encode_clocks(clocks)?;
        if let Some(r) = stored.as_ref().filter(|r| r.value.get() == value.get()) {
            // Nothing changed (a customer's second line before any answer, say): the
            // record stays as it is. The conversation this step belongs to is written with
            // its version checked, so concurrent operations are still serialised.
            if bump == 0 {
                step.changes.push(Op::PutRecord(r.clone()));
            }
            return Ok(());
        }
        let mut due = clocks.clocks.next_due();
        // Clocks re-armed by an agent's operation (a reopen, say) on a restricted
        // customer's conversation stay unwatched (see `Desk::restrict_customer`); their
        // own messages skip this step.
        let rearmed = due.is_some() && stored.as_ref().is_some_and(|r| r.due.is_none());
        if rearmed
            && !matches!(step.event, Event::Inbound { .. })
            && self.is_restricted(step.tenant, step.conversation.customer)?
        {
            due = None;
        }
        let record = match stored {
            Some(r) => Record {
                value,
                due,
                version: r.version + bump,
                ..r
            },
            None => {
                let mut r = Record::raw(SLA_KIND, key, value);
                r.due = due;
                r
            }
        };
        step.changes.push(Op::PutRecord(record));
        Ok(())
    }

    /// After an operation changed a conversation's priority, tags or assignment, or its
    /// customer's profile (not a message): its clocks take the policy selected now, from `now` on, written in
    /// `changes`. Left for the next message when a deadline or warning is already due
    /// (the next `tick` reports it first), when no clock runs, or when the clocks are
    /// unwatched (a restricted customer's).
    pub(crate) fn sla_reselect(
        &self,
        conv: &crate::Conversation,
        changes: &mut ChangeSet,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.sla_reselect_for(conv, None, changes, now)
    }

    /// [`Desk::sla_reselect`] with the customer's attributes as they are about to be
    /// written (`None`: as stored).
    pub(crate) fn sla_reselect_for(
        &self,
        conv: &crate::Conversation,
        attributes: Option<&std::collections::BTreeMap<String, serde_json::Value>>,
        changes: &mut ChangeSet,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let sla = std::sync::Arc::clone(&self.config.sla);
        if sla.policies().is_empty() {
            return Ok(());
        }
        let Some(record) = self
            .store
            .record(conv.tenant, SLA_KIND, &conv.id.to_string())?
        else {
            return Ok(());
        };
        let mut clocks = decode_clocks(&record)?;
        let overdue = clocks.clocks.next_due().is_some_and(|d| d <= now);
        if record.due.is_none() || overdue || !clocks.clocks.running() {
            return Ok(());
        }
        let attributes = match attributes {
            Some(a) => a.clone(),
            None => self
                .store
                .customer(conv.tenant, conv.customer)?
                .map(|c| c.attributes)
                .unwrap_or_default(),
        };
        let channel = conv.last_inbound_channel.as_ref().or(conv.channels.first());
        let policy = decide::select(&sla, channel, conv.priority, &conv.tags, &attributes);
        // SLA pressure's own raise does not shorten the target it warned about.
        let pressed = conv.tags.iter().any(|t| t == PRESSURE_TAG);
        let kept = clocks.clocks.priority;
        let priority = if pressed && decide::raise(kept) == conv.priority {
            kept
        } else {
            conv.priority
        };
        let input = crate::sla::ClockInput::Policy {
            at: now,
            policy,
            priority,
        };
        clocks.clocks.apply(&sla, &input);
        let value = encode_clocks(&clocks)?;
        if value.get() == record.value.get() {
            return Ok(());
        }
        changes.push(Op::PutRecord(Record {
            value,
            due: clocks.clocks.next_due(),
            version: record.version + 1,
            ..record
        }));
        Ok(())
    }

    pub(crate) fn sla_next_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.store.next_due(SLA_KIND)
    }

    /// Fires the SLA warnings and breaches due by `now`, across tenants.
    ///
    /// Each round takes up to [`TICK_BATCH`] due conversations and writes each tenant's
    /// share as one change set (one transaction, not one per conversation). If another
    /// writer changed one of them meanwhile (a conflict), that tenant's updates are
    /// retried one by one and the conversation that lost the race is simply due again in
    /// the next round or tick. A round's effects and router changes are released once
    /// its writes are committed. A store failure midway keeps what was committed: its
    /// effects are returned and the rest stays due for the next tick (which reports the
    /// failure if it recurs before anything is done).
    pub(crate) fn sla_tick(&mut self, now: DateTime<Utc>) -> Result<Vec<Effect>> {
        let mut effects = Vec::new();
        let mut committed = false;
        for _ in 0..1024 {
            let (updates, exhausted) = match self.sla_due(now) {
                Ok(due) => due,
                Err(e) if !committed => return Err(e),
                Err(_) => return Ok(effects),
            };
            let mut progressed = false;
            for group in by_tenant(updates) {
                match self.sla_commit(group, &mut effects) {
                    Ok(n) => progressed |= n > 0,
                    Err(e) if !committed && !progressed => return Err(e),
                    Err(_) => return Ok(effects),
                }
            }
            committed |= progressed;
            if !progressed || exhausted {
                break;
            }
        }
        Ok(effects)
    }

    /// Reads up to [`TICK_BATCH`] due clocks and prepares their updates; also says whether
    /// that was all of them.
    fn sla_due(&self, now: DateTime<Utc>) -> Result<(Vec<ClockUpdate>, bool)> {
        let due = self.store.due_records(SLA_KIND, now, TICK_BATCH)?;
        let exhausted = due.len() < TICK_BATCH;
        let mut updates = Vec::with_capacity(due.len());
        for (tenant, record) in due {
            let mut clocks = decode_clocks(&record)?;
            let fired = clocks.clocks.poll(now);
            let conversation: ConversationId = match record.key.parse() {
                Ok(c) => c,
                Err(_) => continue,
            };
            let mut ops = vec![Op::PutRecord(Record {
                value: encode_clocks(&clocks)?,
                due: clocks.clocks.next_due(),
                version: record.version + 1,
                ..record
            })];
            // SLA pressure: a warning at 75% or more raises the conversation's priority
            // one step, once (`sla:pressure` tag).
            let mut raised = None;
            if decide::pressed(&fired) {
                if let Some(mut conv) = self.store.conversation(tenant, conversation)? {
                    if let Some(p) = decide::pressure_raise(conv.status, conv.priority, &conv.tags)
                    {
                        conv.priority = p;
                        conv.tags.push(PRESSURE_TAG.to_string());
                        conv.updated_at = now;
                        conv.version += 1;
                        raised = Some(conv.priority);
                        ops.push(Op::PutConversation(conv));
                    }
                }
            }
            let effects = decide::effects(tenant, conversation, fired);
            updates.push(ClockUpdate {
                tenant,
                conversation,
                ops,
                raised,
                effects,
                now,
            });
        }
        Ok((updates, exhausted))
    }

    /// Writes one tenant's clock updates in one change set, or one by one after a
    /// conflict; releases the effects of what landed and returns how many did.
    fn sla_commit(&mut self, group: Vec<ClockUpdate>, effects: &mut Vec<Effect>) -> Result<usize> {
        let Some(tenant) = group.first().map(|u| u.tenant) else {
            return Ok(0);
        };
        let mut all = ChangeSet::new(tenant);
        all.ops = group.iter().flat_map(|u| u.ops.iter().cloned()).collect();
        let landed: Vec<ClockUpdate> = match self.apply_changes(all) {
            Ok(()) => group,
            Err(crate::Error::Conflict(_)) => {
                let mut landed = Vec::new();
                for u in group {
                    let mut one = ChangeSet::new(tenant);
                    one.ops = u.ops.clone();
                    match self.apply_changes(one) {
                        Ok(()) => landed.push(u),
                        Err(crate::Error::Conflict(_)) => {}
                        Err(e) => {
                            let n = landed.len();
                            self.release(landed, effects);
                            return if n > 0 { Ok(n) } else { Err(e) };
                        }
                    }
                }
                landed
            }
            Err(e) => return Err(e),
        };
        let n = landed.len();
        self.release(landed, effects);
        Ok(n)
    }

    /// What committed clock updates tell the host and routing: a raised priority moves
    /// waiting work up its queue (as stored; a failure to write that leaves the queue
    /// order as it was, and the priority is taken from the conversation the next time
    /// it is routed).
    fn release(&mut self, landed: Vec<ClockUpdate>, effects: &mut Vec<Effect>) {
        for mut u in landed {
            if let (Some(p), Some(_)) = (u.raised, self.config.routing.as_ref()) {
                let (tenant, conversation, now) = (u.tenant, u.conversation, u.now);
                let _ = self.routing_tx(tenant, now, |desk, _| {
                    desk.router_mut()?.reprioritize(tenant, conversation, p);
                    Ok(((), Vec::new()))
                });
            }
            effects.append(&mut u.effects);
        }
    }

    /// The SLA clocks of a conversation (with their event log), if any ever ran.
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotFound`] for an unknown conversation.
    pub fn sla_clocks(
        &self,
        conversation: impl Into<ConversationRef>,
    ) -> Result<Option<SlaClocks>> {
        let c = self.load_conversation(conversation.into())?;
        match self.store.record(c.tenant, SLA_KIND, &c.id.to_string())? {
            Some(r) => decode_all_clocks(&r).map(Some),
            None => Ok(None),
        }
    }

    /// Whether `tick` watches a conversation's clocks: a restricted customer's are not
    /// watched (their record loses its due time) until the restriction is lifted.
    pub(crate) fn sla_watch(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        watch: bool,
        changes: &mut ChangeSet,
    ) -> Result<()> {
        let Some(r) = self
            .store
            .record(tenant, SLA_KIND, &conversation.to_string())?
        else {
            return Ok(());
        };
        let due = if watch {
            decode_clocks(&r)?.clocks.next_due()
        } else {
            None
        };
        if due != r.due {
            changes.push(Op::PutRecord(Record {
                due,
                version: r.version + 1,
                ..r
            }));
        }
        Ok(())
    }

    /// SLA attainment of the tenant's conversations that `filter` covers (opened in its
    /// period, on its channel, language, intent and team), per policy and metric, read
    /// from the stored clocks. Cost: one read of the period's conversations and one of
    /// each one's clocks, like [`Desk::report_from_store`].
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn sla_attainment(&self, tenant: TenantId, filter: &Filter) -> Result<SlaAttainment> {
        let from = filter.from.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let to = filter.to.unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut out = SlaAttainment::default();
        self.each_conversation_in(tenant, from, to, |conv| {
            if filter.matches(&ConversationFacts::new(&conv)) {
                if let Some(r) = self.store.record(tenant, SLA_KIND, &conv.id.to_string())? {
                    out.add(&decode_all_clocks(&r)?);
                }
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// A stored clock record, its event log left as text (see [`StoredClocks`]).
pub(crate) fn decode_clocks(r: &Record) -> Result<StoredClocks> {
    StoredClocks::decode(r.value.get()).map_err(|e| undecodable(r, e))
}

/// A stored clock record with its whole event log.
pub(crate) fn decode_all_clocks(r: &Record) -> Result<SlaClocks> {
    StoredClocks::decode_all(r.value.get()).map_err(|e| undecodable(r, e))
}

/// The error for a clock record that does not decode, naming it.
fn undecodable(r: &Record, e: serde_json::Error) -> crate::Error {
    crate::Error::store(format!("cannot decode sla record {}", r.key), e)
}

pub(crate) fn encode_clocks(c: &StoredClocks) -> Result<Box<serde_json::value::RawValue>> {
    c.encode()
        .map_err(|e| crate::Error::store("cannot encode an sla record", e))
}

/// One conversation's share of a tick: its writes and what they release once committed.
struct ClockUpdate {
    tenant: crate::id::TenantId,
    conversation: ConversationId,
    ops: Vec<Op>,
    /// The priority SLA pressure raised the conversation to.
    raised: Option<crate::conversation::Priority>,
    effects: Vec<Effect>,
    /// The tick's instant.
    now: DateTime<Utc>,
}

/// Updates grouped by tenant (a change set writes to one), in order of first appearance.
fn by_tenant(updates: Vec<ClockUpdate>) -> Vec<Vec<ClockUpdate>> {
    let mut groups: Vec<Vec<ClockUpdate>> = Vec::new();
    for u in updates {
        match groups.iter_mut().find(|g| g[0].tenant == u.tenant) {
            Some(g) => g.push(u),
            None => groups.push(vec![u]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};

    use crate::sla::{Basis, Metric, SlaPolicies, SlaPolicy};
    use crate::store::{MemoryStore, Store};
    use crate::testkit::{FaultMode, FaultyStore};
    use crate::{Channel, Desk, DeskConfig, Effect, Identifier, Inbound, TenantId};

    const PER_TENANT: usize = 12;

    fn t0() -> DateTime<Utc> {
        "2026-03-02T09:00:00Z".parse().expect("valid")
    }

    /// Two tenants, each with `PER_TENANT` chats waiting for a first reply (5 minutes).
    fn waiting() -> Desk<FaultyStore<MemoryStore>> {
        let sla = SlaPolicies::new()
            .policy(SlaPolicy::new("chat").target_all(
                Metric::FirstReply,
                TimeDelta::minutes(5),
                Basis::Calendar,
            ))
            .build()
            .expect("valid");
        let mut desk = Desk::new(
            FaultyStore::new(MemoryStore::new(), 0, FaultMode::Once),
            DeskConfig::default().sla(sla),
        );
        for tenant in [TenantId::new_v7(), TenantId::new_v7()] {
            for n in 0..PER_TENANT {
                let from = Identifier::email(&format!("c{n}@example.com")).expect("valid");
                let inbound = Inbound::new(tenant, Channel::WebChat, from, format!("m{n}"), "hi");
                desk.ingest(inbound, t0()).expect("ingest");
            }
        }
        desk
    }

    fn breaches(effects: &[Effect]) -> Vec<crate::ConversationId> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::SlaBreached { conversation, .. } => Some(*conversation),
                _ => None,
            })
            .collect()
    }

    /// A customer's second line before any answer changes no clock: the SLA record is not
    /// rewritten. A reply that stops the first-reply clock is.
    #[test]
    fn an_input_that_changes_no_clock_leaves_the_record_alone() {
        let mut desk = waiting();
        let tenant = TenantId::new_v7();
        let from = Identifier::email("ana@example.com").expect("valid");
        let first = desk
            .ingest(
                Inbound::new(tenant, Channel::WebChat, from.clone(), "a1", "hello"),
                t0(),
            )
            .expect("ingest");
        let key = first.conversation.to_string();
        let version = |desk: &Desk<FaultyStore<MemoryStore>>| {
            desk.store()
                .record(tenant, super::SLA_KIND, &key)
                .expect("read")
                .expect("clocks started")
                .version
        };
        let v1 = version(&desk);
        desk.ingest(
            Inbound::new(tenant, Channel::WebChat, from, "a2", "are you there?"),
            t0() + TimeDelta::seconds(20),
        )
        .expect("ingest");
        assert_eq!(version(&desk), v1, "the second line changed nothing");
        desk.reply(
            (tenant, first.conversation),
            crate::AgentId::new_v7(),
            "Hi Ana",
            t0() + TimeDelta::minutes(1),
        )
        .expect("reply");
        assert_eq!(version(&desk), v1 + 1, "the reply stopped the clock");
    }

    /// A tick writes each tenant's due clocks in one change set, not one per conversation.
    #[test]
    fn a_tick_writes_each_tenants_clocks_together() {
        let mut desk = waiting();
        let before = desk.store().calls();
        let effects = desk.tick(t0() + TimeDelta::hours(1)).expect("tick");
        let calls = desk.store().calls() - before;
        assert_eq!(breaches(&effects).len(), 2 * PER_TENANT);
        // One due read, one conversation read per pressed clock (the 75% warning raises
        // the priority), one apply per tenant, and the router's tick.
        assert!(
            calls <= 1 + 2 * PER_TENANT as u64 + 2 + 2,
            "{calls} store calls for {} due clocks",
            2 * PER_TENANT
        );
        assert!(breaches(&desk.tick(t0() + TimeDelta::hours(2)).expect("tick")).is_empty());
    }

    /// Whichever call of a tick fails or loses a race, every breach is reported exactly
    /// once over that tick and the next, and nothing is lost.
    #[test]
    fn a_failed_or_raced_tick_reports_each_breach_once() {
        for mode in [FaultMode::Once, FaultMode::ConflictOnce] {
            for at in 1..=(2 * PER_TENANT as u64 + 6) {
                let mut desk = waiting();
                desk.store().fail_after(at, mode);
                let first = desk.tick(t0() + TimeDelta::hours(1));
                desk.store().disarm();
                let second = desk.tick(t0() + TimeDelta::hours(1)).expect("retry");
                let mut all = breaches(first.as_deref().unwrap_or(&[]));
                all.extend(breaches(&second));
                all.sort();
                let n = all.len();
                all.dedup();
                assert_eq!(
                    (n, all.len()),
                    (2 * PER_TENANT, 2 * PER_TENANT),
                    "{mode:?} at call {at}: {n} breaches reported, {} distinct",
                    all.len()
                );
            }
        }
    }
}
