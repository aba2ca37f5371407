//! Tags on conversations: the host's own labels (`team:billing`, `vip`, `bug-1234`).
//! Triage sets `intent:<name>`, SLA pressure `sla:pressure`; reports slice by the
//! `intent:` and `team:` tags, and SLA policies can match tags.

use chrono::{DateTime, Utc};

use crate::desk::{ConversationRef, Desk};
use crate::error::{Error, Result};
use crate::metrics::Labels;
use crate::store::{ChangeSet, Op, Store};

/// The longest tag, in bytes.
const MAX_TAG_BYTES: usize = 100;
/// The most tags a conversation carries.
const MAX_TAGS: usize = 100;

fn check(tag: &str) -> Result<()> {
    if tag.is_empty() || tag.len() > MAX_TAG_BYTES {
        return Err(Error::invalid(
            "tag",
            format!(
                "a tag has 1 to {MAX_TAG_BYTES} bytes, {tag:?} has {}",
                tag.len()
            ),
        ));
    }
    if tag.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            "tag",
            format!("{tag:?} has a space or a control character"),
        ));
    }
    Ok(())
}

impl<S: Store> Desk<S> {
    /// Adds a tag to a conversation; `false` when it had it already (nothing is written).
    /// A `team:<name>` tag puts the conversation in that team's reports
    /// ([`crate::metrics::Filter::team`]).
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
    /// use throughline::metrics::Filter;
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// let got = desk.ingest(Inbound::new(tenant, Channel::Email, Identifier::email("ana@example.com")?,
    ///                                    "<m1@x>", "My invoice is wrong"), t0)?;
    /// assert!(desk.tag((tenant, got.conversation), "team:billing", t0)?);
    /// let billing = desk.report(tenant, &Filter::default().team("billing"))?;
    /// assert_eq!(billing.conversations, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`]; [`Error::Invalid`] for an empty tag, one longer than 100
    /// bytes, or one with a space or control character, or a conversation that already
    /// has 100 tags.
    pub fn tag(
        &mut self,
        conversation: impl Into<ConversationRef>,
        tag: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        check(tag)?;
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!("desk.tag", tenant = r.tenant, conversation = r.id);
        self.retag(r, tag, true, now)
    }

    /// Removes a tag from a conversation; `false` when it did not have it.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`].
    pub fn untag(
        &mut self,
        conversation: impl Into<ConversationRef>,
        tag: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!("desk.untag", tenant = r.tenant, conversation = r.id);
        self.retag(r, tag, false, now)
    }

    fn retag(
        &mut self,
        r: ConversationRef,
        tag: &str,
        on: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        self.enter(r.tenant)?;
        let changed = self.retrying(|desk| {
            let mut conv = desk.load_conversation(r)?;
            let has = conv.tags.iter().any(|t| t == tag);
            if has == on {
                return Ok(None);
            }
            if on {
                if conv.tags.len() >= MAX_TAGS {
                    return Err(Error::invalid(
                        "tag",
                        format!("the conversation has {MAX_TAGS} tags, the maximum"),
                    ));
                }
                conv.tags.push(tag.to_string());
            } else {
                conv.tags.retain(|t| t != tag);
            }
            conv.updated_at = now;
            conv.version += 1;
            let labels = (conv.tenant, conv.id, Labels::of(&conv));
            let mut changes = ChangeSet::new(conv.tenant);
            desk.sla_reselect(&conv, &mut changes, now)?;
            changes.push(Op::PutConversation(conv));
            desk.apply_changes(changes)?;
            Ok(Some(labels))
        })?;
        let Some((tenant, conversation, labels)) = changed else {
            return Ok(false);
        };
        self.batch_touched(tenant, conversation);
        self.metrics_relabel(tenant, conversation, labels);
        Ok(true)
    }
}
