//! Resolution of the identifiers an inbound message names: which customer it belongs to,
//! which identifiers to attach to that customer, and which other customers the message
//! points to (merge suggestions, never silent merges).
//!
//! Pure functions of what the store knows ([`Sighting`]s), the [`IdentityRules`] and
//! `now`. The invariants they keep:
//! - a blocked sender identifies nobody (an error); other blocked identifiers are skipped;
//! - the highest-priority known identifier decides the customer, the sender's own wins ties;
//! - an identifier of another customer is never moved (the graph never moves an
//!   identifier silently): its owner becomes a merge suggestion instead;
//! - an unknown identifier is attached unless the customer already holds the per-kind limit.

use chrono::{DateTime, TimeDelta, Utc};

use crate::channel::Channel;
use crate::error::{Error, Result};
use crate::id::{CustomerId, TenantId};
use crate::identity::{Identifier, IdentifierKind, IdentifierRecord, IdentityRules};

/// How long a sender's identifier goes between `last_seen` updates: a burst of chat lines
/// does not rewrite its record each time.
pub const LAST_SEEN_STEP: TimeDelta = TimeDelta::minutes(1);

/// One identifier a message names, with what the store knows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting<'a> {
    /// The identifier.
    pub identifier: &'a Identifier,
    /// Its record, when it is known.
    pub record: Option<IdentifierRecord>,
    /// The live customer the record resolves to (merges followed).
    pub owner: Option<CustomerId>,
}

/// The customer a message belongs to, and the other customers it names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolution {
    /// The live customer the message belongs to; `None`: nobody yet (a new customer).
    pub customer: Option<CustomerId>,
    /// Other live customers named by the message, each with the identifiers that name it,
    /// in the order first named: the evidence of a merge suggestion.
    pub others: Vec<(CustomerId, Vec<Identifier>)>,
}

/// Where and when a message arrived, as identity resolution needs it.
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    /// The tenant.
    pub tenant: TenantId,
    /// The sender's identifier.
    pub from: &'a Identifier,
    /// The channel it came in on (the source of identifiers seen first on it).
    pub channel: &'a Channel,
    /// When it arrived.
    pub now: DateTime<Utc>,
}

/// A write of one identifier record, with the owner it must still have when it lands.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentifierWrite {
    /// The record to write.
    pub record: IdentifierRecord,
    /// `None`: the identifier must still be unowned; `Some(c)`: still owned by `c`.
    pub expected_owner: Option<CustomerId>,
}

/// The identifiers a message names, each once, sender first, without blocked ones.
///
/// # Errors
///
/// [`Error::Invalid`] (field `from`) when the sender itself is blocked: a placeholder or
/// no-reply address identifies nobody.
pub fn named_identifiers<'a>(
    from: &'a Identifier,
    also: &'a [Identifier],
    rules: &IdentityRules,
) -> Result<Vec<&'a Identifier>> {
    if rules.is_blocked(from) {
        return Err(Error::invalid(
            "from",
            format!("{from} is a placeholder or no-reply address and identifies nobody"),
        ));
    }
    let mut named: Vec<&Identifier> = Vec::with_capacity(1 + also.len());
    for ident in std::iter::once(from).chain(also) {
        if !named.contains(&ident) && !rules.is_blocked(ident) {
            named.push(ident);
        }
    }
    Ok(named)
}

/// Which customer the sightings resolve to: the owner of the highest-priority known
/// identifier (the sender's own, `from`, wins ties); every other owner, with its
/// identifiers, in `others`.
pub fn resolve(sightings: &[Sighting<'_>], from: &Identifier, rules: &IdentityRules) -> Resolution {
    let customer = sightings
        .iter()
        .filter_map(|s| {
            let rank = (rules.priority(s.identifier.kind()), s.identifier == from);
            s.owner.map(|owner| (rank, owner))
        })
        .max_by_key(|(rank, _)| *rank)
        .map(|(_, owner)| owner);
    let mut others: Vec<(CustomerId, Vec<Identifier>)> = Vec::new();
    for s in sightings {
        let Some(owner) = s.owner.filter(|o| Some(*o) != customer) else {
            continue;
        };
        match others.iter_mut().find(|(c, _)| *c == owner) {
            Some((_, evidence)) => evidence.push(s.identifier.clone()),
            None => others.push((owner, vec![s.identifier.clone()])),
        }
    }
    Resolution { customer, others }
}

/// Whether [`attachments`] needs the customer's current identifiers: an unknown
/// identifier of a kind with a per-kind limit is named.
pub fn needs_current_identifiers(sightings: &[Sighting<'_>], rules: &IdentityRules) -> bool {
    sightings
        .iter()
        .any(|s| s.record.is_none() && rules.limit(s.identifier.kind()).is_some())
}

/// What a message changes in the identity graph of `customer`, who already holds
/// `current` (read only when [`needs_current_identifiers`]; empty for a new customer):
/// unknown identifiers are attached (seen first on the arrival's channel) up to their
/// kind's limit, and the sender's own record notes that it was seen, at most once per
/// [`LAST_SEEN_STEP`]. Identifiers of other customers are left where they are.
pub fn attachments(
    sightings: &[Sighting<'_>],
    arrival: &Arrival<'_>,
    customer: CustomerId,
    current: &[IdentifierRecord],
    rules: &IdentityRules,
) -> Vec<IdentifierWrite> {
    let Arrival {
        tenant,
        from,
        channel,
        now,
    } = *arrival;
    let mut writes = Vec::new();
    let mut added: Vec<&IdentifierKind> = Vec::new();
    for s in sightings {
        match &s.record {
            None => {
                let kind = s.identifier.kind();
                let held = current
                    .iter()
                    .filter(|r| r.identifier.kind() == kind)
                    .count()
                    + added.iter().filter(|k| **k == kind).count();
                if rules.limit(kind).is_some_and(|limit| held >= limit) {
                    // Over the per-kind limit: not attached (the message still is).
                    continue;
                }
                added.push(kind);
                writes.push(IdentifierWrite {
                    record: IdentifierRecord {
                        tenant,
                        identifier: s.identifier.clone(),
                        customer,
                        source: Some(channel.clone()),
                        verified: false,
                        first_seen: now,
                        last_seen: now,
                    },
                    expected_owner: None,
                });
            }
            Some(r) if s.identifier == from && now - r.last_seen >= LAST_SEEN_STEP => {
                let mut record = r.clone();
                record.last_seen = now;
                writes.push(IdentifierWrite {
                    expected_owner: Some(record.customer),
                    record,
                });
            }
            Some(_) => {}
        }
    }
    writes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn record(tenant: TenantId, identifier: &Identifier, customer: CustomerId) -> IdentifierRecord {
        IdentifierRecord {
            tenant,
            identifier: identifier.clone(),
            customer,
            source: None,
            verified: false,
            first_seen: t0(),
            last_seen: t0(),
        }
    }

    fn seen<'a>(
        identifier: &'a Identifier,
        tenant: TenantId,
        owner: Option<CustomerId>,
    ) -> Sighting<'a> {
        Sighting {
            identifier,
            record: owner.map(|o| record(tenant, identifier, o)),
            owner,
        }
    }

    #[test]
    fn a_blocked_sender_is_refused_and_blocked_extras_are_skipped() {
        let rules = IdentityRules::default();
        let noreply = Identifier::email("noreply@shop.example").unwrap();
        let ana = Identifier::email("ana@example.com").unwrap();
        let err = named_identifiers(&noreply, &[], &rules).unwrap_err();
        assert!(matches!(err, Error::Invalid { field: "from", .. }), "{err}");
        let also = [noreply.clone(), ana.clone()];
        let named = named_identifiers(&ana, &also, &rules).unwrap();
        assert_eq!(named, vec![&ana]);
    }

    #[test]
    fn the_highest_priority_identifier_decides_and_the_sender_wins_ties() {
        let rules = IdentityRules::default();
        let tenant = TenantId::new_v7();
        let (a, b) = (CustomerId::new_v7(), CustomerId::new_v7());
        let visitor = Identifier::handle(IdentifierKind::WebVisitor, "cookie-1").unwrap();
        let mail = Identifier::email("ana@example.com").unwrap();
        // The sender is a web visitor of `a`; the e-mail it names belongs to `b`.
        let sightings = [
            seen(&visitor, tenant, Some(a)),
            seen(&mail, tenant, Some(b)),
        ];
        let r = resolve(&sightings, &visitor, &rules);
        assert_eq!(r.customer, Some(b));
        assert_eq!(r.others, vec![(a, vec![visitor.clone()])]);
        // Two e-mails of equal priority: the sender's own wins.
        let other_mail = Identifier::email("bo@example.com").unwrap();
        let sightings = [
            seen(&mail, tenant, Some(b)),
            seen(&other_mail, tenant, Some(a)),
        ];
        assert_eq!(resolve(&sightings, &other_mail, &rules).customer, Some(a));
        // Nobody known: a new customer, nothing to suggest.
        let sightings = [seen(&mail, tenant, None)];
        let r = resolve(&sightings, &mail, &rules);
        assert_eq!(
            r,
            Resolution {
                customer: None,
                others: Vec::new()
            }
        );
    }

    #[test]
    fn unknown_identifiers_are_attached_up_to_their_kind_s_limit() {
        let mut rules = IdentityRules::default();
        rules.limits.insert("email".into(), 2);
        let tenant = TenantId::new_v7();
        let ana = CustomerId::new_v7();
        let held = Identifier::email("ana@example.com").unwrap();
        let (m2, m3) = (
            Identifier::email("ana@work.example").unwrap(),
            Identifier::email("ana@home.example").unwrap(),
        );
        let sightings = [
            seen(&held, tenant, Some(ana)),
            seen(&m2, tenant, None),
            seen(&m3, tenant, None),
        ];
        assert!(needs_current_identifiers(&sightings, &rules));
        let current = [record(tenant, &held, ana)];
        let now = t0() + TimeDelta::seconds(30);
        let arrival = Arrival {
            tenant,
            from: &held,
            channel: &Channel::Email,
            now,
        };
        let writes = attachments(&sightings, &arrival, ana, &current, &rules);
        // One slot was left: m2 takes it, m3 is not attached; the sender's own record was
        // seen 30 s ago, so it is not rewritten.
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].record.identifier, m2);
        assert_eq!(writes[0].record.customer, ana);
        assert_eq!(writes[0].record.source, Some(Channel::Email));
        assert_eq!(writes[0].expected_owner, None);
    }

    #[test]
    fn the_sender_s_last_seen_moves_at_most_once_a_step_and_others_never_move() {
        let rules = IdentityRules::default();
        let tenant = TenantId::new_v7();
        let (ana, bo) = (CustomerId::new_v7(), CustomerId::new_v7());
        let mine = Identifier::email("ana@example.com").unwrap();
        let theirs = Identifier::phone("+31612345678", None).unwrap();
        let sightings = [
            seen(&mine, tenant, Some(ana)),
            seen(&theirs, tenant, Some(bo)),
        ];
        assert!(!needs_current_identifiers(&sightings, &rules));
        let now = t0() + LAST_SEEN_STEP;
        let arrival = Arrival {
            tenant,
            from: &mine,
            channel: &Channel::Sms,
            now,
        };
        let writes = attachments(&sightings, &arrival, ana, &[], &rules);
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert_eq!(writes[0].record.identifier, mine);
        assert_eq!(writes[0].record.last_seen, now);
        assert_eq!(writes[0].expected_owner, Some(ana));
    }
}
