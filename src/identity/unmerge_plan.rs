//! Planning the undo of a merge: from a snapshot of both sides as they are now, what goes
//! back to the merged-away customer, what stays, and where messages written since the
//! merge belong (a pure function; the Desk reads the snapshot and applies the plan).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::conversation::{Conversation, Status};
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, TenantId};
use crate::identity::{unfill_profile, Customer, Identifier, IdentifierRecord, MergeRecord};
use crate::message::{Direction, Message};

/// What undoing a merge decides on, as stored now.
#[derive(Debug, Clone)]
pub(crate) struct UnmergeSnapshot {
    /// Tenant.
    pub tenant: TenantId,
    /// The merge to undo.
    pub merge: MergeRecord,
    /// The merged-away customer (`merge.from`).
    pub from: Customer,
    /// The customer it was merged into (`merge.into`).
    pub into: Customer,
    /// The customers `into` was merged into since, in order: the last is the live one
    /// (empty when `into` is live).
    pub chain: Vec<Customer>,
    /// The live customer of every other owner of the records below.
    pub live_of: HashMap<CustomerId, CustomerId>,
    /// The current records of the merge's identifiers (those still stored).
    pub identifiers: Vec<IdentifierRecord>,
    /// The merge's conversations as they are now (those still stored).
    pub conversations: Vec<Conversation>,
    /// The live customer's conversations.
    pub live_conversations: Vec<Conversation>,
    /// The messages of every conversation above, oldest first.
    pub messages: HashMap<ConversationId, Vec<Message>>,
    /// The merge records into `into` and into each customer of `chain` (undone included),
    /// in stored order.
    pub merges_into: HashMap<CustomerId, Vec<MergeRecord>>,
}

/// What undoing a merge writes: every value here is the new stored state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnmergePlan {
    /// Identifier records going back to `from`, each with the owner it is expected on.
    pub identifiers: Vec<(IdentifierRecord, CustomerId)>,
    /// Messages moved to another conversation.
    pub messages: Vec<Message>,
    /// Conversations that stay but whose messages changed, then those going back.
    pub conversations: Vec<Conversation>,
    /// Merges further along `into`'s chain, without what went back.
    pub merges: Vec<MergeRecord>,
    /// `into` with the fields filled from `from` cleared (unless changed since).
    pub into: Customer,
    /// `from`, a customer of its own again.
    pub from: Customer,
    /// The merge, marked undone.
    pub merge: MergeRecord,
    /// What the host is told.
    pub effects: Vec<Effect>,
}

/// Refuses undoing a merge already undone (checked before anything else is read).
pub(crate) fn refuse_undone(merge: &MergeRecord) -> Result<()> {
    match merge.undone_at {
        Some(at) => Err(Error::MergeRefused(format!(
            "merge {} was already undone at {at}",
            merge.id
        ))),
        None => Ok(()),
    }
}

/// Refuses undoing a merge already undone, or one whose `from` points elsewhere now
/// (checked before the rest of the snapshot is read).
pub(crate) fn refuse_unmerge(merge: &MergeRecord, from: &Customer) -> Result<()> {
    refuse_undone(merge)?;
    if from.merged_into != Some(merge.into) {
        return Err(Error::MergeRefused(format!(
            "customer {} no longer points at {}; the merge cannot be undone",
            merge.from, merge.into
        )));
    }
    Ok(())
}

/// The two sides of an unmerge before messages are sorted.
struct Sides {
    /// The merge's identifiers still on `into`'s chain: they go back.
    back: Vec<Identifier>,
    /// Their records, owned by `from` again, with their current owners.
    identifiers: Vec<(IdentifierRecord, CustomerId)>,
    /// Conversations going back to `from`.
    back_convs: Vec<Conversation>,
    /// The live customer's conversations that stay.
    staying: Vec<Conversation>,
}

impl UnmergeSnapshot {
    fn live(&self) -> CustomerId {
        self.chain.last().map_or(self.into.id, |c| c.id)
    }

    /// Whether `c` sits on `into`'s merge chain (everything there counts as "on into").
    fn on_into(&self, c: CustomerId) -> bool {
        let live = self.live();
        c == self.merge.into || c == live || self.live_of.get(&c) == Some(&live)
    }

    fn first_inbound(&self, c: ConversationId) -> Option<&Message> {
        self.messages
            .get(&c)?
            .iter()
            .find(|m| m.direction == Direction::Inbound)
    }
}

/// Sorts identifiers and conversations into those going back to `from` and those staying.
fn sides(s: &UnmergeSnapshot) -> Sides {
    let m = &s.merge;
    let mut back = Vec::new();
    let mut identifiers = Vec::new();
    for ident in &m.identifiers {
        let Some(r) = s.identifiers.iter().find(|r| &r.identifier == ident) else {
            continue;
        };
        if s.on_into(r.customer) {
            back.push(ident.clone());
            let record = IdentifierRecord {
                customer: m.from,
                ..r.clone()
            };
            identifiers.push((record, r.customer));
        }
    }
    // Conversations that go back: those that came from `from`, and those opened after
    // the merge by one of `from`'s identifiers.
    let mut back_convs: Vec<Conversation> = m
        .conversations
        .iter()
        .filter_map(|id| s.conversations.iter().find(|c| c.id == *id))
        .filter(|c| s.on_into(c.customer))
        .cloned()
        .collect();
    let mut staying = Vec::new();
    for c in &s.live_conversations {
        if back_convs.iter().any(|b| b.id == c.id) {
            continue;
        }
        let theirs = c.created_at >= m.at
            && s.first_inbound(c.id)
                .and_then(|msg| msg.counterpart.as_ref())
                .is_some_and(|who| back.contains(who));
        if theirs {
            back_convs.push(c.clone());
        } else {
            staying.push(c.clone());
        }
    }
    Sides {
        back,
        identifiers,
        back_convs,
        staying,
    }
}

/// The newest conversation that is not closed.
fn newest_open(v: &[Conversation]) -> Option<usize> {
    v.iter()
        .enumerate()
        .filter(|(_, c)| c.status != Status::Closed)
        .max_by_key(|(_, c)| (c.created_at, c.id))
        .map(|(i, _)| i)
}

/// Where messages of `into`'s identifiers in a conversation going back move to: `into`'s
/// own newest conversation that is not closed, else the newest staying one.
fn stay_target(s: &UnmergeSnapshot, staying: &[Conversation]) -> Option<usize> {
    let m = &s.merge;
    // `into`'s own conversations: those it holds itself, or, when it was merged on,
    // those its own merge record lists; the others on the chain belong to further
    // merges and are no home for its messages.
    let own: Option<Vec<ConversationId>> = s.into.merged_into.map(|next| {
        let mut own = Vec::new();
        for later in s.merges_into.get(&next).into_iter().flatten() {
            if later.from == m.into && later.undone_at.is_none() {
                own = later.conversations.clone();
            }
        }
        own
    });
    // ... minus what other merges into `into` brought.
    let brought: Vec<ConversationId> = s
        .merges_into
        .get(&m.into)
        .into_iter()
        .flatten()
        .filter(|earlier| earlier.undone_at.is_none())
        .flat_map(|earlier| earlier.conversations.iter().copied())
        .collect();
    let home: Vec<Conversation> = staying
        .iter()
        .filter(|c| {
            own.as_ref()
                .map_or(c.customer == m.into, |o| o.contains(&c.id))
        })
        .filter(|c| !brought.contains(&c.id))
        .cloned()
        .collect();
    newest_open(&home)
        .and_then(|i| staying.iter().position(|c| c.id == home[i].id))
        .or_else(|| newest_open(staying))
}

/// Moves the messages written since the merge to their sender's side: `from`'s
/// identifiers into a conversation that stays go to `back_target`, and the others' into a
/// conversation that goes back to `stay_target`. Returns the moved messages and which
/// staying conversations changed.
fn move_messages(
    s: &UnmergeSnapshot,
    back: &[Identifier],
    back_convs: &mut [Conversation],
    staying: &mut [Conversation],
    (stay_target, back_target): (Option<usize>, Option<usize>),
) -> (Vec<Message>, Vec<bool>) {
    let mut moved = Vec::new();
    let mut touched = vec![false; staying.len()];
    for going_back in [false, true] {
        let target = if going_back { stay_target } else { back_target };
        let Some(ti) = target else { continue };
        let sources: Vec<ConversationId> = if going_back { &*back_convs } else { &*staying }
            .iter()
            .map(|c| c.id)
            .collect();
        for (si, id) in sources.iter().enumerate() {
            for msg in s.messages.get(id).into_iter().flatten() {
                let from_theirs = msg
                    .counterpart
                    .as_ref()
                    .is_some_and(|who| back.contains(who));
                let misplaced = msg.direction == Direction::Inbound
                    && msg.received_at >= s.merge.at
                    && msg.counterpart.is_some()
                    && from_theirs != going_back;
                if !misplaced {
                    continue;
                }
                let (src, dst) = if going_back {
                    touched[ti] = true;
                    (&mut back_convs[si], &mut staying[ti])
                } else {
                    touched[si] = true;
                    (&mut staying[si], &mut back_convs[ti])
                };
                src.message_count = src.message_count.saturating_sub(1);
                dst.message_count += 1;
                moved.push(Message {
                    conversation: dst.id,
                    ..msg.clone()
                });
            }
        }
    }
    (moved, touched)
}

/// Merges further along `into`'s chain recorded what now goes back as theirs: drops it
/// from their records, so undoing them later moves only what is really theirs. Returns
/// the records that changed.
fn trim_chain(
    s: &UnmergeSnapshot,
    back: &[Identifier],
    gone: &[ConversationId],
) -> Vec<MergeRecord> {
    let mut out = Vec::new();
    let mut hop = &s.into;
    for next in &s.chain {
        for later in s.merges_into.get(&next.id).into_iter().flatten() {
            if later.from != hop.id || later.undone_at.is_some() {
                continue;
            }
            let mut later = later.clone();
            let before = (later.identifiers.len(), later.conversations.len());
            later.identifiers.retain(|i| !back.contains(i));
            later.conversations.retain(|c| !gone.contains(c));
            if before != (later.identifiers.len(), later.conversations.len()) {
                out.push(later);
            }
        }
        hop = next;
    }
    out
}

/// Plans undoing a merge: `from` is a customer of its own again, with the identifiers and
/// conversations that came from it (wherever they sit now along `into`'s merge chain) and
/// its profile; profile fields filled into `into` from `from` are cleared unless they
/// changed since. What arrived after the merge follows the customer its identifier
/// resolves to after the undo: conversations opened by one of `from`'s identifiers go
/// back to `from`; a message `from`'s identifiers wrote into one of `into`'s
/// conversations moves to `from`'s newest conversation that is not closed, and a message
/// `into`'s identifiers wrote into a conversation that goes back moves to `into`'s newest
/// one.
///
/// # Errors
///
/// [`Error::MergeRefused`] for a merge already undone, or when `from` no longer points at
/// `into`.
pub(crate) fn plan_unmerge(s: &UnmergeSnapshot, now: DateTime<Utc>) -> Result<UnmergePlan> {
    refuse_unmerge(&s.merge, &s.from)?;
    let m = &s.merge;
    let Sides {
        back,
        identifiers,
        mut back_convs,
        mut staying,
    } = sides(s);
    let targets = (stay_target(s, &staying), newest_open(&back_convs));
    let (messages, touched) = move_messages(s, &back, &mut back_convs, &mut staying, targets);
    let mut conversations: Vec<Conversation> = staying
        .iter()
        .zip(touched)
        .filter(|(_, touched)| *touched)
        .map(|(c, _)| Conversation {
            version: c.version + 1,
            updated_at: now,
            ..c.clone()
        })
        .collect();
    conversations.extend(back_convs.into_iter().map(|c| Conversation {
        customer: m.from,
        version: c.version + 1,
        updated_at: now,
        ..c
    }));
    let gone: Vec<ConversationId> = conversations
        .iter()
        .filter(|c| c.customer == m.from)
        .map(|c| c.id)
        .collect();
    let merges = trim_chain(s, &back, &gone);
    let mut into = s.into.clone();
    unfill_profile(&m.from_profile, &mut into, &m.filled);
    into.updated_at = now;
    into.version += 1;
    let mut from = s.from.clone();
    from.merged_into = None;
    from.updated_at = now;
    from.version += 1;
    let mut merge = m.clone();
    merge.undone_at = Some(now);
    Ok(UnmergePlan {
        identifiers,
        messages,
        conversations,
        merges,
        into,
        from,
        merge,
        effects: vec![Effect::MergeUndone {
            tenant: s.tenant,
            merge: m.id,
            from: m.from,
            into: m.into,
        }],
    })
}
