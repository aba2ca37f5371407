//! The follow-ups of the Desk's operations: work an operation queues for after its
//! change set committed (the triage bot's answer, routing), and the follow-ups that a
//! store failure deferred to the next `tick`.
//!
//! Invariants:
//! - `pending` holds the current operation's follow-ups only: an attempt starts by
//!   emptying it ([`FollowUps::start`]), and they are taken once its change set committed;
//! - deferred follow-ups belong to operations that committed, in the order they were
//!   queued; `due`, the instant the oldest of them was deferred, is what
//!   `Desk::next_wakeup` reports, so they run at the first `tick` after a failure.

use chrono::{DateTime, Utc};

use crate::desk::triage::FollowUp;

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct FollowUps {
    pending: Vec<FollowUp>,
    deferred: Vec<FollowUp>,
    due: Option<DateTime<Utc>>,
}

impl FollowUps {
    /// Starts an attempt of an operation: follow-ups of an earlier attempt that did not
    /// commit are dropped.
    pub(crate) fn start(&mut self) {
        self.pending.clear();
    }

    /// Queues `f` for after the current operation commits.
    pub(crate) fn push(&mut self, f: FollowUp) {
        self.pending.push(f);
    }

    /// The current operation's follow-ups, to run now that it committed.
    pub(crate) fn take_pending(&mut self) -> Vec<FollowUp> {
        std::mem::take(&mut self.pending)
    }

    /// Defers follow-ups that could not run at `now` (the failed one first) to the next
    /// tick, after those already deferred.
    pub(crate) fn defer(&mut self, rest: Vec<FollowUp>, now: DateTime<Utc>) {
        self.deferred.extend(rest);
        self.due = Some(self.due.map_or(now, |d| d.min(now)));
    }

    /// The deferred follow-ups with their due instant, to run at a tick; give back what
    /// did not run with [`FollowUps::keep_deferred`].
    pub(crate) fn take_deferred(&mut self) -> (Vec<FollowUp>, Option<DateTime<Utc>>) {
        (std::mem::take(&mut self.deferred), self.due.take())
    }

    /// Keeps `rest` deferred, due from `due` (what [`FollowUps::take_deferred`] gave).
    pub(crate) fn keep_deferred(&mut self, rest: Vec<FollowUp>, due: Option<DateTime<Utc>>) {
        self.deferred = rest;
        self.due = due;
    }

    /// When deferred follow-ups are due, if any are.
    pub(crate) fn due(&self) -> Option<DateTime<Utc>> {
        self.due
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::{ConversationId, TenantId};

    fn route(n: u128) -> FollowUp {
        FollowUp::Route {
            tenant: TenantId::from_uuid(uuid::Uuid::from_u128(1)),
            conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(n)),
            skills: Vec::new(),
        }
    }

    #[test]
    fn deferred_follow_ups_are_due_from_the_oldest_failure_and_keep_their_order() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut f = FollowUps::default();
        f.push(route(1));
        f.start();
        assert!(
            f.take_pending().is_empty(),
            "an attempt drops the one before"
        );
        f.push(route(2));
        let pending = f.take_pending();
        assert_eq!(pending, vec![route(2)]);
        assert_eq!(f.due(), None);
        f.defer(pending, t0 + chrono::TimeDelta::seconds(5));
        f.defer(vec![route(3)], t0);
        assert_eq!(f.due(), Some(t0));
        let (todo, due) = f.take_deferred();
        assert_eq!(todo, vec![route(2), route(3)]);
        assert_eq!(f.due(), None);
        f.keep_deferred(vec![route(3)], due);
        assert_eq!(f.due(), Some(t0));
        assert_eq!(f.take_deferred().0, vec![route(3)]);
    }
}
