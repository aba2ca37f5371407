//! Planning a merge: from a snapshot of the two customers, what the merge writes or why it
//! is refused (a pure function; the Desk reads the snapshot and applies the plan).

use chrono::{DateTime, Utc};

use crate::conversation::Conversation;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::{AgentId, CustomerId, MergeId, TenantId};
use crate::identity::{merge_profiles, Customer, IdentifierRecord, IdentityRules, MergeRecord};

/// What a merge of `from` into `into` decides on, as stored before it.
#[derive(Debug, Clone)]
pub(crate) struct MergeSnapshot {
    /// Tenant.
    pub tenant: TenantId,
    /// The customer to merge away.
    pub from: Customer,
    /// The customer to receive everything.
    pub into: Customer,
    /// The live end of `into`'s merge chain: read when `into` is a tombstone and `from`
    /// is not (the refusal names it).
    pub into_live: Option<CustomerId>,
    /// `from`'s identifiers.
    pub from_identifiers: Vec<IdentifierRecord>,
    /// `into`'s identifiers.
    pub into_identifiers: Vec<IdentifierRecord>,
    /// `from`'s conversations.
    pub conversations: Vec<Conversation>,
}

/// What a merge writes: every value here is the new stored state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MergePlan {
    /// `from`'s identifier records, now on `into` (each expected on `from` when written).
    pub identifiers: Vec<IdentifierRecord>,
    /// `from`'s conversations, now on `into`.
    pub conversations: Vec<Conversation>,
    /// `into` with the profile gaps filled from `from`.
    pub into: Customer,
    /// `from` as a tombstone pointing at `into`.
    pub from: Customer,
    /// The audit record of the merge.
    pub record: MergeRecord,
    /// What the host is told.
    pub effects: Vec<Effect>,
}

/// Refuses merging a customer into itself (checked before anything is read).
pub(crate) fn refuse_self_merge(from: CustomerId, into: CustomerId) -> Result<()> {
    if from == into {
        return Err(Error::MergeRefused(format!(
            "customer {from} cannot be merged into itself"
        )));
    }
    Ok(())
}

/// Refuses a merge of a tombstone, an erased or a restricted customer.
fn refuse_customers(s: &MergeSnapshot) -> Result<()> {
    let (from, into) = (&s.from, &s.into);
    if let Some(x) = from.merged_into {
        return Err(Error::MergeRefused(format!(
            "customer {} was already merged into {x}",
            from.id
        )));
    }
    if let Some(x) = into.merged_into {
        let live = s.into_live.unwrap_or(x);
        return Err(Error::MergeRefused(format!(
            "customer {} was merged into {x}; merge into the live customer {live} instead",
            into.id
        )));
    }
    for c in [from, into] {
        // An erased profile keeps only ids and times: a merge would put personal data
        // back on it.
        if c.erased_at.is_some() {
            return Err(Error::MergeRefused(format!("customer {} was erased", c.id)));
        }
        // Restricted data is kept, not processed (GDPR art. 18): merging is processing.
        if c.restricted_at.is_some() {
            return Err(Error::MergeRefused(format!(
                "customer {} is restricted; lift the restriction first",
                c.id
            )));
        }
    }
    Ok(())
}

/// Refuses a merge of two customers holding different strong identifiers of one kind.
fn refuse_identifiers(s: &MergeSnapshot, rules: &IdentityRules) -> Result<()> {
    let (f_ids, i_ids) = (&s.from_identifiers, &s.into_identifiers);
    for r in f_ids {
        // Kinds limited to one per customer are strong identifiers: two different
        // values are two people. Larger limits only bound what ingest attaches.
        if let Some(limit @ 1) = rules.limit(r.identifier.kind()) {
            let kind = r.identifier.kind();
            let count =
                |v: &[IdentifierRecord]| v.iter().filter(|x| x.identifier.kind() == kind).count();
            if count(f_ids) + count(i_ids) > limit {
                let theirs: Vec<String> = i_ids
                    .iter()
                    .filter(|x| x.identifier.kind() == kind)
                    .map(|x| x.identifier.value().to_string())
                    .collect();
                return Err(Error::MergeRefused(format!(
                    "customers may hold at most {limit} {kind} identifier(s); {} has {} and {} has {}",
                    s.from.id,
                    r.identifier.value(),
                    s.into.id,
                    theirs.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Plans merging `s.from` into `s.into`: every identifier and conversation of `from` moves
/// to `into`, `into`'s empty profile fields are filled from `from`, `from` becomes a
/// tombstone, and the record says what moved. `mint` is called once, after every check
/// passed, for the merge's id.
///
/// # Errors
///
/// [`Error::MergeRefused`] for a self-merge, a customer already merged away (either side),
/// an erased or restricted one, and two different identifiers of a kind limited to one.
pub(crate) fn plan_merge(
    s: &MergeSnapshot,
    rules: &IdentityRules,
    reason: &str,
    actor: Option<AgentId>,
    mint: &mut dyn FnMut() -> MergeId,
    now: DateTime<Utc>,
) -> Result<MergePlan> {
    refuse_self_merge(s.from.id, s.into.id)?;
    refuse_customers(s)?;
    refuse_identifiers(s, rules)?;
    let (from, into) = (s.from.id, s.into.id);
    let id = mint();
    let mut i = s.into.clone();
    let (filled, conflicts) = merge_profiles(&s.from, &mut i);
    i.updated_at = now;
    i.version += 1;
    let mut f = s.from.clone();
    f.merged_into = Some(into);
    f.updated_at = now;
    f.version += 1;
    let record = MergeRecord {
        id,
        tenant: s.tenant,
        from,
        into,
        reason: reason.to_string(),
        actor,
        at: now,
        identifiers: s
            .from_identifiers
            .iter()
            .map(|r| r.identifier.clone())
            .collect(),
        conversations: s.conversations.iter().map(|c| c.id).collect(),
        filled,
        conflicts,
        from_profile: s.from.clone(),
        undone_at: None,
    };
    Ok(MergePlan {
        identifiers: s
            .from_identifiers
            .iter()
            .map(|r| IdentifierRecord {
                customer: into,
                ..r.clone()
            })
            .collect(),
        conversations: s
            .conversations
            .iter()
            .map(|c| Conversation {
                customer: into,
                version: c.version + 1,
                updated_at: now,
                ..c.clone()
            })
            .collect(),
        into: i,
        from: f,
        record,
        effects: vec![Effect::CustomersMerged {
            tenant: s.tenant,
            merge: id,
            from,
            into,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::Channel;
    use crate::id::ConversationId;
    use crate::identity::Identifier;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn ident(c: &Customer, identifier: Identifier) -> IdentifierRecord {
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

    fn snapshot() -> MergeSnapshot {
        let tenant = TenantId::new_v7();
        let mut from = Customer::new(CustomerId::new_v7(), tenant, t0());
        from.name = Some("Ana".into());
        from.version = 3;
        let mut into = Customer::new(CustomerId::new_v7(), tenant, t0());
        into.language = Some("pt".into());
        into.version = 5;
        let mut conv = Conversation::new(
            ConversationId::new_v7(),
            tenant,
            from.id,
            Channel::WebChat,
            t0(),
        );
        conv.version = 2;
        MergeSnapshot {
            tenant,
            from_identifiers: vec![
                ident(&from, Identifier::email("ana@example.com").unwrap()),
                ident(&from, Identifier::external("shop", "u-1").unwrap()),
            ],
            into_identifiers: vec![ident(&into, Identifier::email("ana@work.example").unwrap())],
            conversations: vec![conv],
            into_live: None,
            from,
            into,
        }
    }

    fn plan(s: &MergeSnapshot) -> (Result<MergePlan>, usize) {
        let mut minted = 0;
        let id = MergeId::new_v7();
        let plan = plan_merge(
            s,
            &IdentityRules::default(),
            "same person",
            None,
            &mut || {
                minted += 1;
                id
            },
            t0() + chrono::TimeDelta::hours(1),
        );
        (plan, minted)
    }

    fn refusal(s: &MergeSnapshot) -> String {
        match plan(s) {
            (Err(Error::MergeRefused(m)), 0) => m,
            (other, minted) => {
                panic!("expected a refusal before minting, got {other:?} ({minted})")
            }
        }
    }

    #[test]
    fn everything_of_from_moves_and_from_becomes_a_tombstone() {
        let s = snapshot();
        let (plan, minted) = plan(&s);
        let plan = plan.unwrap();
        let now = t0() + chrono::TimeDelta::hours(1);
        assert_eq!(minted, 1);
        assert!(plan.identifiers.iter().all(|r| r.customer == s.into.id));
        assert_eq!(plan.identifiers.len(), 2);
        assert_eq!(plan.conversations.len(), 1);
        assert_eq!(plan.conversations[0].customer, s.into.id);
        assert_eq!(plan.conversations[0].version, 3);
        assert_eq!(plan.conversations[0].updated_at, now);
        assert_eq!(plan.into.name.as_deref(), Some("Ana"));
        assert_eq!(plan.into.language.as_deref(), Some("pt"));
        assert_eq!((plan.into.version, plan.into.updated_at), (6, now));
        assert_eq!(plan.from.merged_into, Some(s.into.id));
        assert_eq!((plan.from.version, plan.from.updated_at), (4, now));
        let r = &plan.record;
        assert_eq!((r.from, r.into, r.at), (s.from.id, s.into.id, now));
        assert_eq!(r.reason, "same person");
        assert_eq!(r.identifiers.len(), 2);
        assert_eq!(r.conversations, vec![s.conversations[0].id]);
        assert_eq!(r.filled, vec!["name"]);
        assert_eq!(r.from_profile, s.from);
        assert_eq!(r.undone_at, None);
        assert_eq!(
            plan.effects,
            vec![Effect::CustomersMerged {
                tenant: s.tenant,
                merge: r.id,
                from: s.from.id,
                into: s.into.id
            }]
        );
    }

    #[test]
    fn a_self_merge_is_refused() {
        let mut s = snapshot();
        s.into = s.from.clone();
        assert!(refusal(&s).contains("cannot be merged into itself"));
        assert!(refuse_self_merge(s.from.id, s.from.id).is_err());
        assert!(refuse_self_merge(s.from.id, CustomerId::new_v7()).is_ok());
    }

    #[test]
    fn tombstones_are_refused_naming_the_live_customer() {
        let mut s = snapshot();
        let elsewhere = CustomerId::new_v7();
        s.from.merged_into = Some(elsewhere);
        assert!(refusal(&s).contains("was already merged into"));
        let mut s = snapshot();
        let live = CustomerId::new_v7();
        s.into.merged_into = Some(elsewhere);
        s.into_live = Some(live);
        let m = refusal(&s);
        assert!(
            m.contains(&format!("merge into the live customer {live} instead")),
            "{m}"
        );
    }

    #[test]
    fn erased_and_restricted_customers_are_refused_on_either_side() {
        for side in 0..2 {
            let mut s = snapshot();
            let c = if side == 0 { &mut s.from } else { &mut s.into };
            c.erased_at = Some(t0());
            let id = c.id;
            assert_eq!(refusal(&s), format!("customer {id} was erased"));
            let mut s = snapshot();
            let c = if side == 0 { &mut s.from } else { &mut s.into };
            c.restricted_at = Some(t0());
            let id = c.id;
            assert!(refusal(&s).starts_with(&format!("customer {id} is restricted")));
        }
    }

    #[test]
    fn two_strong_identifiers_of_one_kind_are_refused_larger_limits_are_not() {
        let mut s = snapshot();
        let other = ident(&s.into, Identifier::external("shop", "u-2").unwrap());
        s.into_identifiers.push(other);
        let m = refusal(&s);
        assert!(m.contains("at most 1 external:shop"), "{m}");
        assert!(m.contains("u-1") && m.contains("u-2"), "{m}");
        // E-mail allows several per customer: both sides holding one merges.
        let s = snapshot();
        assert!(plan(&s).0.is_ok());
    }
}
