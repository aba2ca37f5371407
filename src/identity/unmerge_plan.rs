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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::Channel;
    use crate::id::{MergeId, MessageId};
    use crate::message::Author;
    use chrono::TimeDelta;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    /// When the merge happened.
    fn at() -> DateTime<Utc> {
        t0() + TimeDelta::hours(1)
    }

    fn email(v: &str) -> Identifier {
        Identifier::email(v).unwrap()
    }

    fn record(c: &Customer, identifier: Identifier) -> IdentifierRecord {
        IdentifierRecord {
            tenant: c.tenant,
            identifier,
            customer: c.id,
            source: None,
            verified: false,
            first_seen: t0(),
            last_seen: t0(),
        }
    }

    fn conv(owner: &Customer, created: DateTime<Utc>, status: Status) -> Conversation {
        let mut c = Conversation::new(
            ConversationId::new_v7(),
            owner.tenant,
            owner.id,
            Channel::Email,
            created,
        );
        c.status = status;
        c.version = 4;
        c.message_count = 5;
        c
    }

    fn msg(c: &Conversation, who: &Identifier, dir: Direction, at: DateTime<Utc>) -> Message {
        Message {
            id: MessageId::new_v7(),
            tenant: c.tenant,
            conversation: c.id,
            channel: Channel::Email,
            direction: dir,
            author: Author::Customer(c.customer),
            body: "hi".into(),
            attachments: Vec::new(),
            counterpart: Some(who.clone()),
            external_id: None,
            thread_key: None,
            inbox: None,
            quoted: None,
            automated: None,
            event: None,
            sent_at: at,
            received_at: at,
            language: None,
            delivery: None,
        }
    }

    fn merge(from: &Customer, into: &Customer, convs: &[&Conversation]) -> MergeRecord {
        MergeRecord {
            id: MergeId::new_v7(),
            tenant: from.tenant,
            from: from.id,
            into: into.id,
            reason: "same person".into(),
            actor: None,
            at: at(),
            identifiers: Vec::new(),
            conversations: convs.iter().map(|c| c.id).collect(),
            filled: Vec::new(),
            conflicts: Vec::new(),
            from_profile: from.clone(),
            undone_at: None,
        }
    }

    fn customer(tenant: TenantId) -> Customer {
        let mut c = Customer::new(CustomerId::new_v7(), tenant, t0());
        c.version = 2;
        c
    }

    fn snapshot(merge: MergeRecord, from: Customer, into: Customer) -> UnmergeSnapshot {
        UnmergeSnapshot {
            tenant: from.tenant,
            merge,
            from,
            into,
            chain: Vec::new(),
            live_of: HashMap::new(),
            identifiers: Vec::new(),
            conversations: Vec::new(),
            live_conversations: Vec::new(),
            messages: HashMap::new(),
            merges_into: HashMap::new(),
        }
    }

    fn refusal(s: &UnmergeSnapshot) -> String {
        match plan_unmerge(s, at()) {
            Err(Error::MergeRefused(m)) => m,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_undone_merge_or_a_repointed_customer_is_refused() {
        let tenant = TenantId::new_v7();
        let (mut a, b) = (customer(tenant), customer(tenant));
        a.merged_into = Some(b.id);
        let mut m = merge(&a, &b, &[]);
        m.undone_at = Some(at());
        let s = snapshot(m.clone(), a.clone(), b.clone());
        assert!(refusal(&s).contains("was already undone"));
        assert!(refuse_undone(&m).is_err());
        m.undone_at = None;
        assert!(refuse_undone(&m).is_ok());
        a.merged_into = Some(CustomerId::new_v7());
        let s = snapshot(m.clone(), a.clone(), b.clone());
        assert!(refusal(&s).contains("no longer points at"));
        a.merged_into = Some(b.id);
        assert!(plan_unmerge(&snapshot(m, a, b), at()).is_ok());
    }

    /// Ana (`a`) was merged into Bea (`b`), who is live; since then Ana's phone moved to
    /// someone else, one of Ana's conversations too, Ana opened a new conversation and
    /// both wrote into each other's conversations.
    #[test]
    fn what_came_from_from_goes_back_and_messages_follow_their_sender() {
        let tenant = TenantId::new_v7();
        let (mut a, mut b, other) = (customer(tenant), customer(tenant), customer(tenant));
        a.name = Some("Ana".into());
        a.language = Some("pt".into());
        a.merged_into = Some(b.id);
        let (a_mail, a_phone, b_mail) = (
            email("ana@x.example"),
            email("ana@y.example"),
            email("bea@x.example"),
        );
        let ca = conv(&b, t0(), Status::Open); // came from Ana
        let cx = conv(&other, t0(), Status::Open); // came from Ana, moved on since
        let cb = conv(&b, t0(), Status::Open); // Bea's own
        let cn = conv(&b, at() + TimeDelta::hours(1), Status::Closed); // opened by Ana since
        let cb2 = conv(&b, at() + TimeDelta::hours(2), Status::Open); // opened by Bea since
        let mut m = merge(&a, &b, &[&ca, &cx]);
        m.identifiers = vec![a_mail.clone(), a_phone.clone()];
        m.filled = vec!["name".into(), "language".into()];
        // Bea's profile: the name filled by the merge, the language changed since.
        b.name = Some("Ana".into());
        b.language = Some("es".into());
        let later = |min| at() + TimeDelta::minutes(min);
        let ana_in_bea = msg(&cb, &a_mail, Direction::Inbound, later(30));
        let bea_in_ana = msg(&ca, &b_mail, Direction::Inbound, later(40));
        let mut s = snapshot(m.clone(), a.clone(), b.clone());
        s.identifiers = vec![record(&b, a_mail.clone()), record(&other, a_phone.clone())];
        s.live_of.insert(other.id, other.id);
        s.conversations = vec![ca.clone(), cx.clone()];
        s.live_conversations = vec![ca.clone(), cb.clone(), cn.clone(), cb2.clone()];
        s.messages.insert(
            ca.id,
            vec![
                msg(&ca, &b_mail, Direction::Inbound, t0()), // before the merge: stays
                bea_in_ana.clone(),
                msg(&ca, &b_mail, Direction::Outbound, later(41)), // a reply: stays
            ],
        );
        s.messages.insert(
            cb.id,
            vec![
                msg(&cb, &a_mail, Direction::Inbound, t0()),
                ana_in_bea.clone(),
            ],
        );
        s.messages.insert(
            cn.id,
            vec![msg(&cn, &a_mail, Direction::Inbound, later(60))],
        );
        s.messages.insert(
            cb2.id,
            vec![msg(&cb2, &b_mail, Direction::Inbound, later(120))],
        );
        s.merges_into.insert(b.id, vec![m.clone()]);
        let now = at() + TimeDelta::days(1);
        let plan = plan_unmerge(&s, now).unwrap();

        // Only the identifier still on Bea goes back, expected on Bea.
        assert_eq!(plan.identifiers.len(), 1);
        let (r, owner) = &plan.identifiers[0];
        assert_eq!((&r.identifier, r.customer, *owner), (&a_mail, a.id, b.id));
        // Ana's message in Bea's conversation moves to Ana's newest conversation that is not
        // closed; Bea's in Ana's to Bea's newest.
        let moved: Vec<(MessageId, ConversationId)> = plan
            .messages
            .iter()
            .map(|m| (m.id, m.conversation))
            .collect();
        assert_eq!(moved, vec![(ana_in_bea.id, ca.id), (bea_in_ana.id, cb2.id)]);
        // Staying conversations whose messages changed, then those going back.
        let written: Vec<(ConversationId, CustomerId, u32)> = plan
            .conversations
            .iter()
            .map(|c| (c.id, c.customer, c.message_count))
            .collect();
        assert_eq!(
            written,
            vec![
                (cb.id, b.id, 4),
                (cb2.id, b.id, 6),
                (ca.id, a.id, 5),
                (cn.id, a.id, 5)
            ]
        );
        assert!(plan
            .conversations
            .iter()
            .all(|c| c.version == 5 && c.updated_at == now));
        assert!(plan.merges.is_empty());
        // The name filled from Ana is cleared; the language changed since is kept.
        assert_eq!(
            (plan.into.name.as_deref(), plan.into.language.as_deref()),
            (None, Some("es"))
        );
        assert_eq!((plan.into.version, plan.into.updated_at), (3, now));
        assert_eq!(plan.from.merged_into, None);
        assert_eq!((plan.from.version, plan.from.updated_at), (3, now));
        assert_eq!(
            plan.merge,
            MergeRecord {
                undone_at: Some(now),
                ..m.clone()
            }
        );
        assert_eq!(
            plan.effects,
            vec![Effect::MergeUndone {
                tenant,
                merge: m.id,
                from: a.id,
                into: b.id
            }]
        );
    }

    /// Dee was merged into Bea, then Ana into Bea (the merge undone here), then Bea into
    /// Cal: everything sits on Cal now.
    #[test]
    fn along_the_chain_things_go_back_to_from_and_later_records_forget_them() {
        let tenant = TenantId::new_v7();
        let [mut a, mut b, c, d] = [0; 4].map(|_| customer(tenant));
        a.merged_into = Some(b.id);
        b.merged_into = Some(c.id);
        let (a_mail, b_mail) = (email("ana@x.example"), email("bea@x.example"));
        let ca = conv(&c, t0(), Status::Open); // Ana's
        let cb = conv(&c, t0(), Status::Open); // Bea's own
        let cd = conv(&c, at() + TimeDelta::hours(3), Status::Open); // came with Dee
        let cc = conv(&c, at() + TimeDelta::hours(4), Status::Open); // Cal's own, newest
        let mut m = merge(&a, &b, &[&ca]);
        m.identifiers = vec![a_mail.clone()];
        let dee = merge(&d, &b, &[&cd]);
        let mut bea = merge(&b, &c, &[&cb, &ca, &cd]);
        bea.identifiers = vec![b_mail.clone(), a_mail.clone()];
        let bea_in_ana = msg(&ca, &b_mail, Direction::Inbound, at() + TimeDelta::hours(5));
        let mut s = snapshot(m.clone(), a.clone(), b.clone());
        s.chain = vec![c.clone()];
        s.identifiers = vec![record(&c, a_mail.clone())];
        s.conversations = vec![ca.clone()];
        s.live_conversations = vec![ca.clone(), cb.clone(), cd.clone(), cc.clone()];
        s.messages.insert(ca.id, vec![bea_in_ana.clone()]);
        s.merges_into.insert(b.id, vec![dee, m.clone()]);
        s.merges_into.insert(c.id, vec![bea.clone()]);
        let plan = plan_unmerge(&s, at() + TimeDelta::days(1)).unwrap();

        // On Cal, the live end of Bea's chain, still counts as on Bea.
        assert_eq!(plan.identifiers.len(), 1);
        assert_eq!(
            (plan.identifiers[0].0.customer, plan.identifiers[0].1),
            (a.id, c.id)
        );
        // Bea's message goes to Bea's own conversation, not to Cal's newer one nor to the
        // newer one Dee brought (listed in Bea's merge into Cal too).
        assert_eq!(plan.messages.len(), 1);
        assert_eq!(
            (plan.messages[0].id, plan.messages[0].conversation),
            (bea_in_ana.id, cb.id)
        );
        let written: Vec<(ConversationId, CustomerId)> = plan
            .conversations
            .iter()
            .map(|x| (x.id, x.customer))
            .collect();
        assert_eq!(written, vec![(cb.id, c.id), (ca.id, a.id)]);
        // Bea's merge into Cal no longer lists what went back to Ana.
        assert_eq!(plan.merges.len(), 1);
        assert_eq!(plan.merges[0].id, bea.id);
        assert_eq!(plan.merges[0].identifiers, vec![b_mail]);
        assert_eq!(plan.merges[0].conversations, vec![cb.id, cd.id]);
        assert_eq!(plan.into.id, b.id);
        assert_eq!(plan.into.merged_into, Some(c.id));
    }

    #[test]
    fn without_a_home_of_its_own_into_s_messages_go_to_the_newest_staying_conversation() {
        let tenant = TenantId::new_v7();
        let (mut a, b, c) = (customer(tenant), customer(tenant), customer(tenant));
        a.merged_into = Some(b.id);
        let mut b_tomb = b.clone();
        b_tomb.merged_into = Some(c.id);
        let b_mail = email("bea@x.example");
        let ca = conv(&c, t0(), Status::Open);
        let old = conv(&c, t0(), Status::Open);
        let newer = conv(&c, at(), Status::Open);
        let closed = conv(&c, at() + TimeDelta::hours(1), Status::Closed);
        let m = merge(&a, &b, &[&ca]);
        let moved = msg(&ca, &b_mail, Direction::Inbound, at() + TimeDelta::hours(2));
        let mut s = snapshot(m.clone(), a, b_tomb);
        s.chain = vec![c.clone()];
        s.conversations = vec![ca.clone()];
        s.live_conversations = vec![ca.clone(), old, newer.clone(), closed];
        s.messages.insert(ca.id, vec![moved.clone()]);
        // Bea's merge into Cal brought nothing of hers: no home, the newest open one.
        s.merges_into.insert(c.id, vec![merge(&b, &c, &[])]);
        let plan = plan_unmerge(&s, at() + TimeDelta::days(1)).unwrap();
        assert_eq!(plan.messages.len(), 1);
        assert_eq!(plan.messages[0].conversation, newer.id);
    }
}
