//! The router's clock: escalation steps that fall due, and waiting work offered to
//! agents whose shift starts or whose capacity came back.

use chrono::{DateTime, Utc};

use super::Router;
use crate::channel::Channel;
use crate::id::{ConversationId, TenantId};
use crate::routing::{Decision, Requirements, WorkItem};

impl Router {
    /// The earliest instant an escalation step comes due, capacity that
    /// [`Router::unassign`] gave back is to be offered, or (with work waiting) an agent's
    /// shift starts.
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        let waiting = self.pools.values().any(|p| !p.waiting.is_empty());
        self.pools
            .values()
            .filter_map(|p| p.waiting.next_escalation())
            .chain(self.reoffer_due)
            .chain(self.shift_due.filter(|_| waiting))
            .min()
    }

    /// The next shift start of any agent after `now`.
    fn next_shift_start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.pools
            .values()
            .flat_map(|p| p.agents.values())
            .filter_map(|st| st.agent.shift.as_ref()?.next_start(now))
            .min()
    }

    /// Applies the escalation steps that fell due (each widens the target of an item that
    /// waited long enough) and routes the widened items again; agents whose shift started
    /// since the previous tick, and agents whose capacity [`Router::unassign`] gave back,
    /// are offered waiting work (those decisions come with step `usize::MAX`). Call it regularly (the Desk's `tick`), at least as often as shifts
    /// start.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<(WorkItem, usize, Decision)> {
        let mut out = self.escalate(now);
        // Agents whose capacity an unrecorded assignment gave back, and agents whose
        // shift started since the last tick, are offered waiting work.
        let mut offered = std::mem::take(&mut self.reoffer);
        self.reoffer_due = None;
        if self.shift_due.is_some_and(|d| d <= now) {
            // A shift started: the next one is looked up again (once per shift start).
            self.shift_due = self.next_shift_start(now);
        }
        // Before the first tick, every agent whose shift covers `now` is offered work
        // (an offer only assigns what they can take).
        let since = self.last_tick.replace(now);
        for (t, p) in &self.pools {
            if p.waiting.is_empty() {
                continue;
            }
            for (id, st) in &p.agents {
                if let Some(shift) = &st.agent.shift {
                    if shift.covers(now) && since.is_none_or(|s| !shift.covers(s)) {
                        offered.insert((*t, *id));
                    }
                }
            }
        }
        for (t, a) in offered {
            for d in self.offer(t, a, now) {
                let item = WorkItem {
                    tenant: t,
                    conversation: d.conversation,
                    requirements: Requirements::new(Channel::Email),
                    previous_agent: None,
                    enqueued_at: now,
                    steps_applied: 0,
                };
                out.push((item, usize::MAX, d));
            }
        }
        out
    }

    fn escalate(&mut self, now: DateTime<Utc>) -> Vec<(WorkItem, usize, Decision)> {
        let mut tenants: Vec<TenantId> = self.pools.keys().copied().collect();
        tenants.sort();
        let mut out = Vec::new();
        for t in tenants {
            out.extend(self.escalate_in(t, now));
        }
        out
    }

    /// Applies the escalation steps that fell due in one tenant (see [`Router::tick`]):
    /// each item with its last step applied and the decision on the widened item.
    pub(crate) fn escalate_in(
        &mut self,
        tenant: TenantId,
        now: DateTime<Utc>,
    ) -> Vec<(WorkItem, usize, Decision)> {
        let Some(pool) = self.pools.get(&tenant) else {
            return Vec::new();
        };
        let due: Vec<ConversationId> = pool.waiting.escalations_due(now).collect();
        let mut out = Vec::new();
        for c in due {
            let Some(pool) = self.pools.get_mut(&tenant) else {
                continue;
            };
            let Some(mut item) = pool.unwait(c) else {
                continue;
            };
            let mut last = item.steps_applied;
            while let Some(step) = self.escalation_of(tenant).get(item.steps_applied) {
                if item
                    .enqueued_at
                    .checked_add_signed(step.after)
                    .is_none_or(|at| at > now)
                {
                    break;
                }
                step.apply(&mut item.requirements);
                last = item.steps_applied;
                item.steps_applied += 1;
            }
            let d = self.decide(&item, now);
            match d.agent {
                Some(a) => self.assign(item.clone(), a, now),
                None => self.enqueue(item.clone()),
            }
            out.push((item, last, d));
        }
        out
    }
}
