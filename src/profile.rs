//! Customer profiles: the changes a host makes to one ([`ProfileUpdate`]) and the
//! agent's view of a customer on one screen ([`CustomerView`]). Pure data and functions;
//! the `Desk` reads what they need and writes what they decide.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::conversation::{Conversation, Status};
use crate::error::{Error, Result};
use crate::id::{ConversationId, CustomerId};
use crate::identity::{Customer, IdentifierRecord};
use crate::message::{Direction, Message};

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

/// The deepest nesting of arrays and objects an attribute value may have: far below what
/// a JSON reader refuses to read back (serde_json stops at 128), so a stored profile
/// always reads back.
const MAX_ATTRIBUTE_DEPTH: usize = 32;

/// How deeply `v` nests arrays and objects (a scalar is 0), without recursing on the
/// stack past [`MAX_ATTRIBUTE_DEPTH`] + 1 levels.
fn depth(v: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match v {
            serde_json::Value::Array(a) => Box::new(a.iter()),
            serde_json::Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        deepest = deepest.max(d + 1);
        if deepest > MAX_ATTRIBUTE_DEPTH {
            break;
        }
        stack.extend(children.map(|c| (c, d + 1)));
    }
    deepest
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

    /// Checks every field: a name of 1 to 256 bytes, an ISO 639 language code, an IANA
    /// time zone, attribute keys of 1 to 128 bytes, at most 64 KiB of attribute values.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the field that is wrong.
    pub fn validate(&self) -> Result<()> {
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
        if let Some((k, _)) = self
            .set
            .iter()
            .find(|(_, v)| depth(v) > MAX_ATTRIBUTE_DEPTH)
        {
            return Err(Error::invalid(
                "attribute",
                format!(
                    "value of {k:?} is nested more than {MAX_ATTRIBUTE_DEPTH} levels deep \
                     (a stored profile must read back)"
                ),
            ));
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

    /// Writes the set fields onto `c` (its version and update time are the caller's).
    pub fn apply(&self, c: &mut Customer) {
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
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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

impl CustomerView {
    /// The view of `customer` from what the store holds: its identifiers, its
    /// conversations (oldest first), the newest messages of its timeline (oldest first;
    /// the latest inbound one per channel becomes a [`RecentContact`], phrased in the
    /// customer's time zone when known) and the customers merged into it.
    pub fn build(
        customer: Customer,
        identifiers: Vec<IdentifierRecord>,
        conversations: Vec<Conversation>,
        timeline: &[Message],
        merged_from: Vec<CustomerId>,
        now: DateTime<Utc>,
    ) -> Self {
        let zone = customer
            .time_zone
            .as_deref()
            .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
            .unwrap_or(chrono_tz::UTC);
        let conversations = conversations
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
        for m in timeline.iter().rev() {
            if m.direction != Direction::Inbound || recent.iter().any(|r| r.channel == m.channel) {
                continue;
            }
            recent.push(RecentContact {
                summary: format!("{} {}", verb(&m.channel), when(m.sent_at, now, zone)),
                channel: m.channel.clone(),
                at: m.sent_at,
                conversation: m.conversation,
            });
        }
        CustomerView {
            customer,
            identifiers,
            conversations,
            recent,
            merged_from,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value nested deeper than a JSON reader reads back would be written and then
    /// make the customer unreadable: it is refused up front.
    #[test]
    fn an_attribute_nested_too_deeply_is_refused() {
        let nest =
            |levels: usize| (0..levels).fold(serde_json::json!(1), |v, _| serde_json::json!([v]));
        let deep = ProfileUpdate::default().attribute("plan", nest(200));
        let err = deep.validate().unwrap_err();
        assert!(err.to_string().contains("nested more than 32"), "{err}");
        assert!(ProfileUpdate::default()
            .attribute("plan", nest(32))
            .validate()
            .is_ok());
        assert!(ProfileUpdate::default()
            .attribute("plan", nest(33))
            .validate()
            .is_err());
        let stored = serde_json::to_string(&nest(200)).unwrap();
        assert!(
            serde_json::from_str::<serde_json::Value>(&stored).is_err(),
            "the reader's limit this guards against"
        );
    }

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

    #[test]
    fn the_view_keeps_the_latest_inbound_contact_per_channel_newest_first() {
        use crate::id::{MessageId, TenantId};
        use crate::message::Author;
        let now: DateTime<Utc> = "2026-03-04T15:00:00Z".parse().unwrap();
        let tenant = TenantId::new_v7();
        let mut ana = Customer::new(CustomerId::new_v7(), tenant, now);
        ana.time_zone = Some("Europe/Amsterdam".into());
        let conv = Conversation::new(
            ConversationId::new_v7(),
            tenant,
            ana.id,
            Channel::Email,
            now,
        );
        let message = |channel: Channel, direction: Direction, at: &str| Message {
            id: MessageId::new_v7(),
            tenant,
            conversation: conv.id,
            channel,
            direction,
            author: Author::Customer(ana.id),
            body: "hi".into(),
            attachments: Vec::new(),
            counterpart: None,
            external_id: None,
            thread_key: None,
            inbox: None,
            quoted: None,
            automated: None,
            event: None,
            sent_at: at.parse().unwrap(),
            received_at: at.parse().unwrap(),
            language: None,
            delivery: None,
        };
        let timeline = [
            message(Channel::Email, Direction::Inbound, "2026-03-02T09:00:00Z"),
            message(Channel::WebChat, Direction::Inbound, "2026-03-03T10:00:00Z"),
            message(Channel::Email, Direction::Inbound, "2026-03-04T08:00:00Z"),
            message(Channel::Sms, Direction::Outbound, "2026-03-04T09:00:00Z"),
        ];
        let view = CustomerView::build(ana, Vec::new(), vec![conv], &timeline, Vec::new(), now);
        let recent: Vec<(&Channel, &str)> = view
            .recent
            .iter()
            .map(|r| (&r.channel, r.summary.as_str()))
            .collect();
        assert_eq!(
            recent,
            [
                (&Channel::Email, "e-mailed this morning"),
                (&Channel::WebChat, "chatted yesterday"),
            ]
        );
        assert_eq!(view.conversations.len(), 1);
    }

    #[test]
    fn a_profile_update_names_the_bad_field() {
        for (update, field) in [
            (ProfileUpdate::default().name(" "), "name"),
            (ProfileUpdate::default().language("Dutch"), "language"),
            (ProfileUpdate::default().time_zone("Mars/Base"), "time_zone"),
            (ProfileUpdate::default().attribute("", 1), "attribute"),
        ] {
            match update.validate() {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        let mut c = Customer::new(
            CustomerId::new_v7(),
            crate::id::TenantId::new_v7(),
            "2026-03-04T15:00:00Z".parse().unwrap(),
        );
        ProfileUpdate::default()
            .name("Ana")
            .attribute("vip", true)
            .apply(&mut c);
        assert_eq!(c.name.as_deref(), Some("Ana"));
        assert_eq!(
            c.attributes.get("vip"),
            Some(&serde_json::Value::Bool(true))
        );
    }
}
