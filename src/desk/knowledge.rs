//! Self-service activity on the Desk: report it, show it to agents, measure articles.

use chrono::{DateTime, TimeDelta, Utc};

use crate::channel::Channel;
use crate::desk::identity::from_json;
use crate::desk::{ConversationRef, Desk};
use crate::error::Result;
use crate::id::{CustomerId, TenantId};
use crate::identity::{Customer, Identifier, IdentifierRecord};
use crate::knowledge::{article_report, Activity, ActivityKind, ArticleStats};
use crate::store::{ChangeSet, Op, Record, Store};

pub(crate) const ACTIVITY_KIND: &str = "activity";

/// How far before a conversation's start self-service activity is shown to the agent.
const CONTEXT_BEFORE: TimeDelta = TimeDelta::days(1);

impl<S: Store> Desk<S> {
    /// Records that the person behind `identifier` read a help article. An unknown
    /// identifier (an anonymous visitor, say) becomes a customer, so a later contact is
    /// tied to what they read.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Invalid`] for an empty or over-long article id or title.
    pub fn article_viewed(
        &mut self,
        tenant: TenantId,
        identifier: &Identifier,
        article: &str,
        title: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<CustomerId> {
        let _span = super::trace::op_span!("desk.article_viewed", tenant = tenant);
        let kind = ActivityKind::ArticleViewed {
            article: article.trim().to_string(),
            title: title.map(str::to_string),
        };
        self.record_activity(tenant, identifier, kind, None, now)
    }

    /// Records a help-centre search.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Invalid`] for an empty or over-long query.
    pub fn searched(
        &mut self,
        tenant: TenantId,
        identifier: &Identifier,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<CustomerId> {
        let _span = super::trace::op_span!("desk.searched", tenant = tenant);
        let kind = ActivityKind::Searched {
            query: query.trim().to_string(),
        };
        self.record_activity(tenant, identifier, kind, None, now)
    }

    /// Records one customer turn in a conversation with a bot that the host runs.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Invalid`] for empty or over-long text.
    pub fn bot_turn(
        &mut self,
        tenant: TenantId,
        identifier: &Identifier,
        channel: Channel,
        text: &str,
        intent: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<CustomerId> {
        let _span = super::trace::op_span!("desk.bot_turn", tenant = tenant);
        let kind = ActivityKind::BotTurn {
            text: text.to_string(),
            intent: intent.map(str::to_string),
        };
        self.record_activity(tenant, identifier, kind, Some(channel), now)
    }

    fn record_activity(
        &mut self,
        tenant: TenantId,
        identifier: &Identifier,
        kind: ActivityKind,
        channel: Option<Channel>,
        now: DateTime<Utc>,
    ) -> Result<CustomerId> {
        // Validate before touching the store.
        Activity {
            customer: CustomerId::from_uuid(uuid::Uuid::nil()),
            kind: kind.clone(),
            channel: channel.clone(),
            at: now,
        }
        .validate()?;
        self.enter(tenant)?;
        if self.config.identity.is_blocked(identifier) {
            return Err(super::agent::blocked(identifier));
        }
        self.retrying(|desk| {
            let mut changes = ChangeSet::new(tenant);
            let customer = match desk.resolve(tenant, identifier)? {
                Some(c) => c,
                None => {
                    let id = CustomerId::from_uuid(desk.next_uuid(now));
                    let mut c = Customer::new(id, tenant, now);
                    c.version = 1;
                    changes.push(Op::PutCustomer(c));
                    changes.push(Op::PutIdentifier {
                        record: IdentifierRecord {
                            tenant,
                            identifier: identifier.clone(),
                            customer: id,
                            source: channel.clone(),
                            verified: false,
                            first_seen: now,
                            last_seen: now,
                        },
                        expected_owner: None,
                    });
                    id
                }
            };
            let activity = Activity {
                customer,
                kind: kind.clone(),
                channel: channel.clone(),
                at: now,
            };
            let key = desk.next_uuid(now).to_string();
            let mut record = Record::encode(ACTIVITY_KIND, key, &activity)?;
            record.secondary = Some(customer.to_string());
            changes.push(Op::PutRecord(record));
            desk.apply_changes(changes)?;
            Ok(customer)
        })
    }

    /// Every activity of a customer (and of the customers merged into it), oldest first.
    fn activities_of(&self, tenant: TenantId, customer: CustomerId) -> Result<Vec<Activity>> {
        let live = self.live_customer(tenant, customer)?.id;
        let who = self.person_ids(tenant, live)?;
        let mut out = Vec::new();
        for c in who {
            for r in self
                .store
                .records_by(tenant, ACTIVITY_KIND, &c.to_string())?
            {
                out.push(from_json::<Activity>(&r)?);
            }
        }
        out.sort_by_key(|a| a.at);
        Ok(out)
    }

    /// What the customer did on their own from a day before the conversation opened until
    /// now, oldest first, for the agent ("read \"Returns\" twice, then wrote").
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotFound`] for an unknown conversation.
    pub fn self_service_context(
        &self,
        conversation: impl Into<ConversationRef>,
    ) -> Result<Vec<Activity>> {
        let c = self.load_conversation(conversation.into())?;
        let since = c.created_at - CONTEXT_BEFORE;
        Ok(self
            .activities_of(c.tenant, c.customer)?
            .into_iter()
            .filter(|a| a.at >= since)
            .collect())
    }

    /// "Contacted despite reading": for every article read in `[from, to)`, how many
    /// readers opened a conversation within `window` after reading, worst first.
    ///
    /// # Errors
    ///
    /// Store failures only.
    pub fn article_report(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        window: TimeDelta,
    ) -> Result<Vec<ArticleStats>> {
        let mut views: Vec<Activity> = self
            .store
            .records(tenant, ACTIVITY_KIND)?
            .iter()
            .map(from_json::<Activity>)
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .filter(|a| {
                a.at >= from && a.at < to && matches!(a.kind, ActivityKind::ArticleViewed { .. })
            })
            .collect();
        // A reader is a person: views of customers merged since count as one reader's.
        let mut live: std::collections::HashMap<CustomerId, CustomerId> = Default::default();
        for v in &mut views {
            let id = match live.get(&v.customer) {
                Some(id) => *id,
                None => {
                    let id = self.live_customer(tenant, v.customer)?.id;
                    live.insert(v.customer, id);
                    id
                }
            };
            v.customer = id;
        }
        let mut readers: Vec<CustomerId> = live.into_values().collect();
        readers.sort();
        readers.dedup();
        let mut contacts = Vec::new();
        for r in readers {
            for c in self.store.conversations_of(tenant, r)? {
                contacts.push((r, c.created_at, c.id));
            }
        }
        Ok(article_report(&views, &contacts, window))
    }
}
