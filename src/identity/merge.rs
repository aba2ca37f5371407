//! Merge records, merge suggestions and the profile-merge rule (pure data and functions).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{AgentId, ConversationId, CustomerId, MergeId, MessageId, TenantId};
use crate::identity::{Customer, Identifier};

/// One profile field that differed between two customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// The field (`name`, `language`, `time_zone`, `preferred_channel`, or
    /// `attributes.<key>`).
    pub field: String,
    /// The first customer's value (JSON; `null` when unset).
    pub left: serde_json::Value,
    /// The second customer's value.
    pub right: serde_json::Value,
}

/// The audit record of one merge: who, when, why, and exactly what moved, so that the
/// merge can be exported and undone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// The merge's id.
    pub id: MergeId,
    /// Tenant.
    pub tenant: TenantId,
    /// The customer merged away (now a tombstone).
    pub from: CustomerId,
    /// The customer that received everything.
    pub into: CustomerId,
    /// Why (free text from the host or agent).
    pub reason: String,
    /// Who merged, when an agent did.
    pub actor: Option<AgentId>,
    /// When.
    pub at: DateTime<Utc>,
    /// Identifiers moved from `from` to `into`.
    pub identifiers: Vec<Identifier>,
    /// Conversations moved from `from` to `into`.
    pub conversations: Vec<ConversationId>,
    /// Profile fields of `into` that were empty and filled from `from`.
    pub filled: Vec<String>,
    /// Profile fields set on both, where `into`'s value was kept (`left` = kept value of
    /// `into`, `right` = dropped value of `from`).
    pub conflicts: Vec<FieldDiff>,
    /// `from`'s profile as it was before the merge.
    pub from_profile: Customer,
    /// When the merge was undone, if it was.
    pub undone_at: Option<DateTime<Utc>>,
}

/// Two customers that probably are one person, for an agent to review: one inbound message
/// carried identifiers of both, and customers are never merged silently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeSuggestion {
    /// Tenant.
    pub tenant: TenantId,
    /// The customer the message was attributed to (the highest-priority match).
    pub primary: CustomerId,
    /// The other customer.
    pub other: CustomerId,
    /// The identifiers that tie them together: the message's identifiers belonging to
    /// `other`.
    pub evidence: Vec<Identifier>,
    /// The message that carried them.
    pub message: MessageId,
    /// Field-by-field differences of the two profiles at the time.
    pub diff: Vec<FieldDiff>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

impl MergeSuggestion {
    /// The record key of a suggestion: one per unordered pair of customers.
    pub fn key(a: CustomerId, b: CustomerId) -> String {
        let (x, y) = if a <= b { (a, b) } else { (b, a) };
        format!("{x}:{y}")
    }
}

fn fields(c: &Customer) -> Vec<(String, serde_json::Value)> {
    let opt = |v: &Option<String>| {
        v.clone()
            .map_or(serde_json::Value::Null, serde_json::Value::String)
    };
    let mut out = vec![
        ("name".to_string(), opt(&c.name)),
        ("language".to_string(), opt(&c.language)),
        ("time_zone".to_string(), opt(&c.time_zone)),
        (
            "preferred_channel".to_string(),
            c.preferred_channel
                .as_ref()
                .map_or(serde_json::Value::Null, |ch| {
                    serde_json::Value::String(ch.to_string())
                }),
        ),
    ];
    for (k, v) in &c.attributes {
        out.push((format!("attributes.{k}"), v.clone()));
    }
    out
}

/// Field-by-field differences between two profiles (fields set on either side that differ).
pub fn profile_diff(left: &Customer, right: &Customer) -> Vec<FieldDiff> {
    let l = fields(left);
    let r = fields(right);
    let mut names: Vec<&String> = l.iter().chain(r.iter()).map(|(k, _)| k).collect();
    names.sort();
    names.dedup();
    let get = |v: &[(String, serde_json::Value)], k: &str| {
        v.iter()
            .find(|(n, _)| n == k)
            .map_or(serde_json::Value::Null, |(_, v)| v.clone())
    };
    names
        .into_iter()
        .filter_map(|k| {
            let (a, b) = (get(&l, k), get(&r, k));
            (a != b).then(|| FieldDiff {
                field: k.clone(),
                left: a,
                right: b,
            })
        })
        .collect()
}

/// The merge rule for profiles: `into` keeps every value it has; an empty field (or a
/// missing attribute) is filled from `from`. Returns the fields filled and the conflicts
/// (set on both with different values; `into`'s value kept).
pub fn merge_profiles(from: &Customer, into: &mut Customer) -> (Vec<String>, Vec<FieldDiff>) {
    let mut filled = Vec::new();
    let mut conflicts = Vec::new();
    for d in profile_diff(into, from) {
        if d.left.is_null() {
            filled.push(d.field.clone());
        } else if !d.right.is_null() {
            conflicts.push(d);
        }
    }
    for f in &filled {
        match f.as_str() {
            "name" => into.name = from.name.clone(),
            "language" => into.language = from.language.clone(),
            "time_zone" => into.time_zone = from.time_zone.clone(),
            "preferred_channel" => into.preferred_channel = from.preferred_channel.clone(),
            other => {
                if let Some(key) = other.strip_prefix("attributes.") {
                    if let Some(v) = from.attributes.get(key) {
                        into.attributes.insert(key.to_string(), v.clone());
                    }
                }
            }
        }
    }
    (filled, conflicts)
}

/// Undoes [`merge_profiles`] on `into`: removes each filled field whose value is still
/// the one taken from `from` (a value changed since the merge is kept).
pub fn unfill_profile(from: &Customer, into: &mut Customer, filled: &[String]) {
    for f in filled {
        match f.as_str() {
            "name" if into.name == from.name => into.name = None,
            "language" if into.language == from.language => into.language = None,
            "time_zone" if into.time_zone == from.time_zone => into.time_zone = None,
            "preferred_channel" if into.preferred_channel == from.preferred_channel => {
                into.preferred_channel = None
            }
            other => {
                if let Some(key) = other.strip_prefix("attributes.") {
                    if into.attributes.get(key) == from.attributes.get(key) {
                        into.attributes.remove(key);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(name: Option<&str>, attrs: &[(&str, serde_json::Value)]) -> Customer {
        let mut c = Customer::new(
            CustomerId::new_v7(),
            TenantId::new_v7(),
            DateTime::<Utc>::MIN_UTC,
        );
        c.name = name.map(str::to_string);
        for (k, v) in attrs {
            c.attributes.insert(k.to_string(), v.clone());
        }
        c
    }

    #[test]
    fn into_keeps_its_values_and_fills_gaps() {
        let from = customer(
            Some("Ana P."),
            &[("vip", true.into()), ("plan", "gold".into())],
        );
        let mut into = customer(None, &[("plan", "silver".into())]);
        let before = into.clone();
        let (filled, conflicts) = merge_profiles(&from, &mut into);
        assert_eq!(into.name.as_deref(), Some("Ana P."));
        assert_eq!(into.attributes["plan"], "silver");
        assert_eq!(into.attributes["vip"], true);
        assert_eq!(filled, vec!["attributes.vip", "name"]);
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].field, "attributes.plan");
        unfill_profile(&from, &mut into, &filled);
        assert_eq!(into, before);
    }
}
