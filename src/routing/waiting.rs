//! The work waiting in one tenant's queues, in offer order, indexed by channel, language
//! and required skills, so that an agent who frees up finds the first item they can take
//! without passing over every item in a channel, language or skill they do not serve;
//! and by the time its next escalation step comes due, so that a tick finds the items
//! due without passing over every waiting item.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::work::WorkItem;
use crate::channel::Channel;
use crate::conversation::Priority;
use crate::id::ConversationId;

/// Queue order: priority (highest first), then waiting since (oldest first), then arrival.
pub(super) type QueueKey = (Reverse<Priority>, DateTime<Utc>, u64);

/// Everything a waiting item asks of an agent: its channel, its language, the skills it
/// needs with their minimum levels (sorted), the capacity units it takes and its queue. Items in one
/// bucket differ only in their place in the queue, so an agent who can take one can
/// take them all. The index's key.
type Bucket = (Channel, Option<String>, Vec<(String, u8)>, u32, String);

/// One tenant's waiting work. Every change goes through [`Waiting::insert`] and
/// [`Waiting::remove`], which keep the items, the queues and the index in step.
#[derive(Debug, Clone, Default)]
pub(super) struct Waiting {
    /// Every waiting item, in offer order (keys are unique across queues).
    items: BTreeMap<QueueKey, WorkItem>,
    /// Each queue's keys.
    queues: BTreeMap<String, BTreeSet<QueueKey>>,
    /// Where each conversation waits, and when its next escalation step comes due.
    places: HashMap<ConversationId, (QueueKey, Option<DateTime<Utc>>)>,
    buckets: HashMap<Bucket, BTreeSet<QueueKey>>,
    /// Items with an escalation step ahead, by the time it comes due.
    escalations: BTreeSet<(DateTime<Utc>, QueueKey)>,
}

fn bucket(item: &WorkItem) -> Bucket {
    let r = &item.requirements;
    let mut skills: Vec<(String, u8)> = r
        .skills
        .iter()
        .map(|s| (s.name.clone(), s.min_level))
        .collect();
    skills.sort();
    skills.dedup();
    (
        r.channel.clone(),
        r.language.clone(),
        skills,
        r.units,
        r.queue.clone(),
    )
}

impl Waiting {
    /// Adds `item` at `key`, its next escalation step due at `escalates` (a conversation
    /// already waiting must be removed first).
    pub(super) fn insert(
        &mut self,
        key: QueueKey,
        item: WorkItem,
        escalates: Option<DateTime<Utc>>,
    ) {
        self.places.insert(item.conversation, (key, escalates));
        if let Some(at) = escalates {
            self.escalations.insert((at, key));
        }
        self.buckets.entry(bucket(&item)).or_default().insert(key);
        self.queues
            .entry(item.requirements.queue.clone())
            .or_default()
            .insert(key);
        self.items.insert(key, item);
    }

    /// Takes a conversation's item out of its queue.
    pub(super) fn remove(&mut self, conversation: ConversationId) -> Option<WorkItem> {
        let (key, escalates) = self.places.remove(&conversation)?;
        if let Some(at) = escalates {
            self.escalations.remove(&(at, key));
        }
        let item = self.items.remove(&key)?;
        let queue = &item.requirements.queue;
        if let Some(q) = self.queues.get_mut(queue) {
            q.remove(&key);
            if q.is_empty() {
                self.queues.remove(queue);
            }
        }
        let b = bucket(&item);
        if let Some(set) = self.buckets.get_mut(&b) {
            set.remove(&key);
            if set.is_empty() {
                self.buckets.remove(&b);
            }
        }
        Some(item)
    }

    /// A conversation's waiting item and when its next escalation step comes due.
    pub(super) fn get(
        &self,
        conversation: ConversationId,
    ) -> Option<(&WorkItem, Option<DateTime<Utc>>)> {
        let (key, escalates) = self.places.get(&conversation)?;
        Some((self.items.get(key)?, *escalates))
    }

    /// Whether the conversation waits.
    pub(super) fn contains(&self, conversation: ConversationId) -> bool {
        self.places.contains_key(&conversation)
    }

    /// Whether nothing waits.
    pub(super) fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// One queue's items in offer order.
    pub(super) fn queue(&self, name: &str) -> impl Iterator<Item = &WorkItem> {
        self.queues
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|k| self.items.get(k))
    }

    /// Every waiting item, in offer order.
    pub(super) fn items(&self) -> impl Iterator<Item = (&QueueKey, &WorkItem)> {
        self.items.iter()
    }

    /// When the earliest escalation step of a waiting item comes due.
    pub(super) fn next_escalation(&self) -> Option<DateTime<Utc>> {
        self.escalations.first().map(|(at, _)| *at)
    }

    /// The conversations whose next escalation step is due at `now`, earliest first.
    pub(super) fn escalations_due(
        &self,
        now: DateTime<Utc>,
    ) -> impl Iterator<Item = ConversationId> + '_ {
        self.escalations
            .iter()
            .take_while(move |(at, _)| *at <= now)
            .filter_map(|(_, key)| self.items.get(key).map(|i| i.conversation))
    }

    /// The first item in offer order, across queues, whose needs `takes` accepts. It is
    /// asked once per group of items with the same needs, not once per item.
    pub(super) fn first_for(&self, takes: impl Fn(&Needs<'_>) -> bool) -> Option<ConversationId> {
        let mut best: Option<&QueueKey> = None;
        for ((channel, language, skills, units, queue), keys) in &self.buckets {
            let Some(key) = keys.first() else { continue };
            if best.is_some_and(|b| b <= key) {
                continue;
            }
            let needs = Needs {
                channel,
                language: language.as_deref(),
                skills,
                units: *units,
                queue,
            };
            if takes(&needs) {
                best = Some(key);
            }
        }
        best.and_then(|k| self.items.get(k)).map(|i| i.conversation)
    }
}

/// What a group of waiting items needs from an agent (see [`Waiting::first_for`]).
#[derive(Debug)]
pub(super) struct Needs<'a> {
    /// The channel.
    pub(super) channel: &'a Channel,
    /// The language, if it matters.
    pub(super) language: Option<&'a str>,
    /// Skills with their minimum levels.
    pub(super) skills: &'a [(String, u8)],
    /// Capacity units.
    pub(super) units: u32,
    /// The queue.
    pub(super) queue: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::Requirements;
    use crate::TenantId;
    use proptest::prelude::*;

    fn item(n: u128, channel: u8, language: u8, priority: u8, queue: u8) -> WorkItem {
        let mut r = Requirements::new(match channel % 3 {
            0 => Channel::WebChat,
            1 => Channel::Email,
            _ => Channel::WhatsApp,
        });
        r.language = ["en", "nl", "ja"]
            .get(language as usize % 4)
            .map(|s| s.to_string());
        r.priority = [Priority::Low, Priority::Normal, Priority::High][priority as usize % 3];
        r.queue = format!("q{}", queue % 2);
        for k in 0..(n % 3) {
            r = r.skill(
                format!("s{}", (n as u8).wrapping_add(k as u8) % 4),
                2 + (n % 5) as u8,
            );
        }
        r.units = 1 + (n % 4) as u32;
        WorkItem {
            tenant: TenantId::from_uuid(uuid::Uuid::from_u128(1)),
            conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(n)),
            requirements: r,
            previous_agent: None,
            enqueued_at: DateTime::from_timestamp(1_772_442_000 + n as i64, 0).expect("valid"),
            steps_applied: 0,
        }
    }

    proptest! {
        /// After any inserts and removals, the index finds exactly what a scan of every
        /// queue in offer order finds.
        #[test]
        fn the_index_finds_what_a_full_scan_finds(
            ops in proptest::collection::vec((0u128..40, any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>()), 1..120),
            served_channel in 0u8..4,
            served_language in 0u8..5,
        ) {
            let mut w = Waiting::default();
            let mut seq = 0;
            let step = chrono::TimeDelta::seconds(15);
            for (n, ch, lang, prio, q, insert) in ops {
                let it = item(n, ch, lang, prio, q);
                w.remove(it.conversation);
                if insert {
                    seq += 1;
                    let key = (Reverse(it.requirements.priority), it.enqueued_at, seq);
                    // Every third item has no escalation step left.
                    let escalates = (!n.is_multiple_of(3)).then(|| it.enqueued_at + step);
                    w.insert(key, it, escalates);
                }
            }
            // An agent: some channel, some language, skill s2 missing, level 4 in the
            // rest, two free units.
            let accepts = |c: &Channel, l: Option<&str>, skills: &[(String, u8)], units: u32| {
                let channel_ok = match served_channel { 0 => true, 1 => *c == Channel::WebChat, 2 => *c == Channel::Email, _ => *c == Channel::WhatsApp };
                let language_ok = match served_language { 0 => true, 1 => l.is_none_or(|l| l == "en"), 2 => l.is_none_or(|l| l == "nl"), 3 => l.is_none(), _ => l.is_none_or(|l| l == "ja") };
                channel_ok && language_ok && skills.iter().all(|(s, min)| s != "s2" && *min <= 4) && units <= 2
            };
            let takes = |i: &WorkItem| {
                let r = &i.requirements;
                let skills: Vec<(String, u8)> = r.skills.iter().map(|s| (s.name.clone(), s.min_level)).collect();
                accepts(&r.channel, r.language.as_deref(), &skills, r.units)
            };
            let takes_needs = |n: &Needs<'_>| {
                accepts(n.channel, n.language, n.skills, n.units)
            };
            let mut all: Vec<(&QueueKey, &WorkItem)> = w.items().collect();
            all.sort_by(|a, b| a.0.cmp(b.0));
            let scanned = all.into_iter().find(|(_, i)| takes(i)).map(|(_, i)| i.conversation);
            prop_assert_eq!(w.first_for(takes_needs), scanned);
            let total: usize = w.buckets.values().map(|b| b.len()).sum();
            prop_assert_eq!(total, w.places.len());
            prop_assert_eq!(w.items().count(), w.places.len());
            let queued: usize = w.queues.values().map(|q| q.len()).sum();
            prop_assert_eq!(queued, w.places.len());
            // The escalation index finds what a scan finds.
            let due_at = |i: &WorkItem| {
                let n = i.conversation.as_uuid().as_u128();
                (!n.is_multiple_of(3)).then(|| i.enqueued_at + step)
            };
            let now = DateTime::from_timestamp(1_772_442_000 + 30, 0).expect("valid");
            let mut scanned: Vec<ConversationId> = w
                .items()
                .filter(|(_, i)| due_at(i).is_some_and(|at| at <= now))
                .map(|(_, i)| i.conversation)
                .collect();
            scanned.sort();
            let mut indexed: Vec<ConversationId> = w.escalations_due(now).collect();
            indexed.sort();
            prop_assert_eq!(indexed, scanned);
            prop_assert_eq!(
                w.next_escalation(),
                w.items().filter_map(|(_, i)| due_at(i)).min()
            );
            prop_assert_eq!(
                w.escalations.len(),
                w.items().filter(|(_, i)| due_at(i).is_some()).count()
            );
        }
    }
}
