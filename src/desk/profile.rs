//! Customer profiles and the agent's view of a customer.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::Status;
use crate::desk::Desk;
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId, TenantId};
use crate::identity::{Customer, IdentifierRecord};
use crate::message::Direction;
use crate::store::{ChangeSet, Op, Store};

/// Changes to a customer's profile; unset fields are left alone.
///
/// ```
/// use throughline::ProfileUpdate;
/// let update = ProfileUpdate::default()
///     .name("Ana Pereira")
///     .language("pt")
///     .time_zone("Europe/Lisbon")
///     .attribute("vip", true);
/// # let _ = update;
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileUpdate {
    name: Option<Option<String>>,
    language: Option<Option<String>>,
    time_zone: Option<Option<String>>,
    preferred_channel: Option<Option<Channel>>,
    set: BTreeMap<String, serde_json::Value>,
    remove: Vec<String>,
}

impl ProfileUpdate {
    /// Sets the display name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(Some(name.into()));
        self
    }

    /// Sets the preferred language (ISO 639-1 code where one exists, e.g. `"nl"`).
    pub fn language(mut self, code: impl Into<String>) -> Self {
        self.language = Some(Some(code.into()));
        self
    }

    /// Sets the IANA time zone (e.g. `"Asia/Tokyo"`).
    pub fn time_zone(mut self, zone: impl Into<String>) -> Self {
        self.time_zone = Some(Some(zone.into()));
        self
    }

    /// Sets the preferred channel.
    pub fn preferred_channel(mut self, channel: Channel) -> Self {
        self.preferred_channel = Some(Some(channel));
        self
    }

    /// Sets a custom attribute.
    pub fn attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.set.insert(key.into(), value.into());
        self
    }

    /// Removes a custom attribute.
    pub fn remove_attribute(mut self, key: impl Into<String>) -> Self {
        self.remove.push(key.into());
        self
    }

    fn validate(&self) -> Result<()> {
        if let Some(Some(n)) = &self.name {
            if n.trim().is_empty() || n.len() > 256 || n.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "name",
                    format!("{n:?}: 1 to 256 bytes, no control characters"),
                ));
            }
        }
        if let Some(Some(l)) = &self.language {
            let ok = (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase());
            if !ok {
                return Err(Error::invalid(
                    "language",
                    format!("{l:?} is not an ISO 639 code such as \"nl\""),
                ));
            }
        }
        if let Some(Some(z)) = &self.time_zone {
            if z.parse::<chrono_tz::Tz>().is_err() {
                return Err(Error::invalid(
                    "time_zone",
                    format!("{z:?} is not an IANA time zone"),
                ));
            }
        }
        for k in self.set.keys().chain(self.remove.iter()) {
            if k.is_empty() || k.len() > 128 || k.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "attribute",
                    format!("key {k:?}: 1 to 128 bytes, no control characters"),
                ));
            }
        }
        let size: usize = self.set.values().map(|v| v.to_string().len()).sum();
        if size > 64 * 1024 {
            return Err(Error::invalid(
                "attribute",
                format!("{size} bytes of attribute values, the maximum is 65536"),
            ));
        }
        Ok(())
    }

    fn apply(&self, c: &mut Customer) {
        if let Some(v) = &self.name {
            c.name = v.clone();
        }
        if let Some(v) = &self.language {
            c.language = v.clone();
        }
        if let Some(v) = &self.time_zone {
            c.time_zone = v.clone();
        }
        if let Some(v) = &self.preferred_channel {
            c.preferred_channel = v.clone();
        }
        for k in &self.remove {
            c.attributes.remove(k);
        }
        for (k, v) in &self.set {
            c.attributes.insert(k.clone(), v.clone());
        }
    }
}

/// One conversation in a [`CustomerView`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// The conversation.
    pub id: ConversationId,
    /// Its status.
    pub status: Status,
    /// Channels used, in order of first use.
    pub channels: Vec<Channel>,
    /// Subject, if any.
    pub subject: Option<String>,
    /// Messages in it.
    pub message_count: u32,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When the customer last wrote in it.
    pub last_inbound_at: Option<DateTime<Utc>>,
}

/// The customer's latest contact on one channel, phrased for an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentContact {
    /// The channel.
    pub channel: Channel,
    /// When.
    pub at: DateTime<Utc>,
    /// In which conversation.
    pub conversation: ConversationId,
    /// For example "e-mailed this morning" or "called 3 days ago", in the customer's time
    /// zone when known (else UTC).
    pub summary: String,
}

/// Everything an agent needs about a customer on one screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerView {
    /// The (live) profile.
    pub customer: Customer,
    /// Every identifier, with provenance.
    pub identifiers: Vec<IdentifierRecord>,
    /// Every conversation, across channels, oldest first.
    pub conversations: Vec<ConversationSummary>,
    /// Latest inbound contact per channel, newest first.
    pub recent: Vec<RecentContact>,
    /// Customers merged into this one (directly or along a chain), still merged.
    pub merged_from: Vec<CustomerId>,
}

fn verb(channel: &Channel) -> String {
    match channel {
        Channel::Email => "e-mailed".into(),
        Channel::Voice => "called".into(),
        Channel::Sms => "texted".into(),
        Channel::WebChat | Channel::InApp => "chatted".into(),
        Channel::WebForm => "sent a form".into(),
        Channel::Review => "left a review".into(),
        Channel::Forum => "posted in the forum".into(),
        Channel::WhatsApp => "wrote on WhatsApp".into(),
        Channel::Line => "wrote on LINE".into(),
        Channel::WeChat => "wrote on WeChat".into(),
        Channel::Messenger => "wrote on Messenger".into(),
        Channel::Twitter => "wrote on X".into(),
        Channel::Instagram => "wrote on Instagram".into(),
        other => format!("wrote on {other}"),
    }
}

/// "this morning", "yesterday", "3 days ago", ... for `at` seen from `now` in `zone`.
fn when(at: DateTime<Utc>, now: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    let (a, n) = (at.with_timezone(&zone), now.with_timezone(&zone));
    let days = (n.date_naive() - a.date_naive()).num_days();
    match days {
        d if d < 0 => "just now".into(),
        0 => match a.hour() {
            0..=11 => "this morning".into(),
            12..=17 => "this afternoon".into(),
            _ => "this evening".into(),
        },
        1 => "yesterday".into(),
        2..=13 => format!("{days} days ago"),
        14..=60 => format!("{} weeks ago", days / 7),
        _ => format!("on {}", a.format("%Y-%m-%d")),
    }
}

impl<S: Store> Desk<S> {
    /// Updates a customer's profile (following a merge tombstone to the live customer).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Invalid`] for a bad name, language code, time zone
    /// or attribute key, or more than 64 KiB of attribute values.
    pub fn update_profile(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        update: ProfileUpdate,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        update.validate()?;
        self.retrying(|desk| {
            let mut c = desk.live_customer(tenant, customer)?;
            update.apply(&mut c);
            c.updated_at = now;
            c.version += 1;
            let mut changes = ChangeSet::new(tenant);
            changes.push(Op::PutCustomer(c.clone()));
            desk.apply_changes(changes)?;
            Ok(c)
        })
    }

    /// The agent's view of a customer: profile, identifiers, conversations across
    /// channels, and the latest contact per channel ("e-mailed this morning").
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for an unknown customer.
    pub fn customer_view(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<CustomerView> {
        let c = self.live_customer(tenant, customer)?;
        let zone = c
            .time_zone
            .as_deref()
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(chrono_tz::UTC);
        let identifiers = self.store.identifiers_of(tenant, c.id)?;
        let conversations: Vec<ConversationSummary> = self
            .store
            .conversations_of(tenant, c.id)?
            .into_iter()
            .map(|v| ConversationSummary {
                id: v.id,
                status: v.status,
                channels: v.channels,
                subject: v.subject,
                message_count: v.message_count,
                created_at: v.created_at,
                last_inbound_at: v.last_inbound_at,
            })
            .collect();
        let mut recent: Vec<RecentContact> = Vec::new();
        for m in self
            .store
            .timeline(tenant, c.id, Some(200))?
            .into_iter()
            .rev()
        {
            if m.direction != Direction::Inbound || recent.iter().any(|r| r.channel == m.channel) {
                continue;
            }
            recent.push(RecentContact {
                summary: format!("{} {}", verb(&m.channel), when(m.sent_at, now, zone)),
                channel: m.channel,
                at: m.sent_at,
                conversation: m.conversation,
            });
        }
        let merged_from = self
            .merges(tenant, c.id)?
            .into_iter()
            .filter(|m| m.undone_at.is_none())
            .map(|m| m.from)
            .collect();
        Ok(CustomerView {
            customer: c,
            identifiers,
            conversations,
            recent,
            merged_from,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now: DateTime<Utc> = "2026-03-04T15:00:00Z".parse().unwrap();
        let z = chrono_tz::UTC;
        assert_eq!(
            when("2026-03-04T08:00:00Z".parse().unwrap(), now, z),
            "this morning"
        );
        assert_eq!(
            when("2026-03-04T13:00:00Z".parse().unwrap(), now, z),
            "this afternoon"
        );
        assert_eq!(
            when("2026-03-03T20:00:00Z".parse().unwrap(), now, z),
            "yesterday"
        );
        assert_eq!(
            when("2026-03-01T20:00:00Z".parse().unwrap(), now, z),
            "3 days ago"
        );
        // 23:30 UTC on the 3rd is the morning of the 4th in Tokyo.
        let tokyo: chrono_tz::Tz = "Asia/Tokyo".parse().unwrap();
        let early: DateTime<Utc> = "2026-03-04T02:00:00Z".parse().unwrap();
        assert_eq!(
            when("2026-03-03T23:30:00Z".parse().unwrap(), early, tokyo),
            "this morning"
        );
        assert_eq!(
            when("2026-03-03T23:30:00Z".parse().unwrap(), early, z),
            "yesterday"
        );
    }
}
