//! Stored identity records: customers and the identifiers that point to them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::id::{CustomerId, TenantId};
use crate::identity::Identifier;

/// A customer's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// The customer's id.
    pub id: CustomerId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Display name, when known.
    pub name: Option<String>,
    /// Preferred language (ISO 639-1 code where one exists).
    pub language: Option<String>,
    /// IANA time zone name, when known.
    pub time_zone: Option<String>,
    /// The channel the customer prefers to be answered on, when known.
    pub preferred_channel: Option<Channel>,
    /// Host-defined attributes (VIP flag, plan, ...).
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// Set when this customer was merged into another: the record is a tombstone that
    /// resolves to that customer.
    pub merged_into: Option<CustomerId>,
    /// Set while processing is restricted (GDPR art. 18, `Desk::restrict_customer`): the
    /// data is kept, new messages are stored, nothing else is done with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted_at: Option<DateTime<Utc>>,
    /// Set once the customer's personal data was erased (`Desk::erase_customer`): the
    /// record stays as an anonymous tombstone so metrics keep adding up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub erased_at: Option<DateTime<Utc>>,
    /// When the customer was first seen.
    #[serde(with = "crate::serde_time::utc")]
    pub created_at: DateTime<Utc>,
    /// When the profile last changed.
    #[serde(with = "crate::serde_time::utc")]
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: 1 when created, +1 on every stored change.
    pub version: u64,
}

impl Customer {
    /// A new, empty profile.
    pub fn new(id: CustomerId, tenant: TenantId, now: DateTime<Utc>) -> Self {
        Customer {
            id,
            tenant,
            name: None,
            language: None,
            time_zone: None,
            preferred_channel: None,
            attributes: BTreeMap::new(),
            merged_into: None,
            restricted_at: None,
            erased_at: None,
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }
}

/// One identifier of a customer, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentifierRecord {
    /// Its tenant.
    pub tenant: TenantId,
    /// The normalised identifier (unique per tenant).
    pub identifier: Identifier,
    /// The customer it belongs to.
    pub customer: CustomerId,
    /// The channel it was first seen on, or `None` when the host linked it.
    pub source: Option<Channel>,
    /// Whether the host verified it (a confirmed e-mail, a logged-in user).
    pub verified: bool,
    /// First seen.
    #[serde(with = "crate::serde_time::utc")]
    pub first_seen: DateTime<Utc>,
    /// Last seen on an inbound message.
    #[serde(with = "crate::serde_time::utc")]
    pub last_seen: DateTime<Utc>,
}
