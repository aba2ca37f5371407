//! The inbox views an agent's screen lists: [`Desk::inbox`] and [`Desk::inbox_count`], a
//! thin check over [`Store::inbox`] and [`Store::inbox_count`].

use super::Desk;
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::store::{Cursor, InboxPage, InboxView, Store};

/// The largest page [`Desk::inbox`] reads at once.
const MAX_INBOX_PAGE: usize = 500;

impl<S: Store> Desk<S> {
    /// A page of an inbox view of `tenant`: the next `limit` conversations of `view`
    /// after `after` (from the first when `None`), and the cursor of the next page
    /// (`None` on the last). See [`InboxView`] for what each view holds and its order;
    /// a cursor turns into text and back, for a URL.
    ///
    /// # Example
    ///
    /// ```
    /// use throughline::store::{InboxView, MemoryStore};
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, Status, TenantId};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// for (n, who) in ["ana@example.com", "bo@example.com", "cy@example.com"].iter().enumerate() {
    ///     let at = t0 + chrono::TimeDelta::minutes(n as i64);
    ///     desk.ingest(Inbound::new(tenant, Channel::Email, Identifier::email(who)?,
    ///                              format!("m{n}"), "Where is my order?"), at)?;
    /// }
    /// // Who has waited longest, two at a time.
    /// let first = desk.inbox(tenant, &InboxView::Unassigned, None, 2)?;
    /// assert_eq!(first.conversations.len(), 2);
    /// let next = first.next.expect("a third conversation waits").to_string(); // into a URL
    /// let second = desk.inbox(tenant, &InboxView::Unassigned, Some(&next.parse()?), 2)?;
    /// assert_eq!(second.conversations.len(), 1);
    /// assert!(second.next.is_none());
    /// assert_eq!(desk.inbox_count(tenant, &InboxView::Status(Status::New))?, 3);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when `limit` is not in `1..=500` or `after` is a cursor of a
    /// view with another order; store failures.
    pub fn inbox(
        &self,
        tenant: TenantId,
        view: &InboxView,
        after: Option<&Cursor>,
        limit: usize,
    ) -> Result<InboxPage> {
        let _span = super::trace::op_span!("desk.inbox", tenant = tenant, limit = limit);
        if !(1..=MAX_INBOX_PAGE).contains(&limit) {
            return Err(Error::invalid(
                "limit",
                format!("an inbox page holds 1 to {MAX_INBOX_PAGE} conversations, not {limit}"),
            ));
        }
        self.store.inbox(tenant, view, after, limit)
    }

    /// How many conversations `view` holds for `tenant` (for
    /// [`InboxView::SlaDueBefore`], how many SLA clocks are due before the instant).
    ///
    /// # Errors
    ///
    /// Store failures.
    pub fn inbox_count(&self, tenant: TenantId, view: &InboxView) -> Result<u64> {
        let _span = super::trace::op_span!("desk.inbox_count", tenant = tenant);
        self.store.inbox_count(tenant, view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::DeskConfig;
    use crate::store::MemoryStore;

    /// The SLA view reads the records the desk writes its SLA clocks under.
    #[test]
    fn the_sla_view_reads_the_desks_clock_records() {
        assert_eq!(crate::store::inbox::SLA_KIND, super::super::sla::SLA_KIND);
    }

    /// A limit out of range is refused, naming the range.
    #[test]
    fn a_limit_out_of_range_is_invalid() {
        let desk = Desk::new(MemoryStore::new(), DeskConfig::default());
        let t = TenantId::from_uuid(uuid::Uuid::from_u128(1));
        for limit in [0, MAX_INBOX_PAGE + 1, usize::MAX] {
            let err = desk
                .inbox(t, &InboxView::Unassigned, None, limit)
                .unwrap_err();
            assert!(
                matches!(&err, Error::Invalid { field: "limit", .. }),
                "{err}"
            );
            assert!(err.to_string().contains("1 to 500"), "{err}");
        }
        for limit in [1, MAX_INBOX_PAGE] {
            assert!(desk.inbox(t, &InboxView::Unassigned, None, limit).is_ok());
        }
    }
}
