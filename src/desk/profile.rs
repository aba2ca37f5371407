//! Customer profiles on the Desk: `update_profile` and `customer_view` read what
//! [`crate::profile`] needs and write what it decides.

use chrono::{DateTime, Utc};

use crate::desk::Desk;
use crate::error::Result;
use crate::id::{CustomerId, TenantId};
use crate::identity::Customer;
use crate::store::{ChangeSet, Op, Store};

pub use crate::profile::{ConversationSummary, CustomerView, ProfileUpdate, RecentContact};

impl<S: Store> Desk<S> {
    /// Updates a customer's profile (following a merge tombstone to the live customer).
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotFound`]; [`crate::Error::Invalid`] for a bad name, language code, time zone
    /// or attribute key, or more than 64 KiB of attribute values.
    pub fn update_profile(
        &mut self,
        tenant: TenantId,
        customer: CustomerId,
        update: ProfileUpdate,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        let _span =
            super::trace::op_span!("desk.update_profile", tenant = tenant, customer = customer);
        update.validate()?;
        self.enter(tenant)?;
        self.retrying(|desk| {
            let mut c = desk.live_customer(tenant, customer)?;
            update.apply(&mut c);
            c.updated_at = now;
            c.version += 1;
            let mut changes = ChangeSet::new(tenant);
            // Policies may depend on the customer's attributes: their running clocks
            // take the policy the new profile selects.
            for conv in desk.store.conversations_of(tenant, c.id)? {
                if conv.status.is_active() {
                    desk.sla_reselect_for(&conv, Some(&c.attributes), &mut changes, now)?;
                }
            }
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
    /// [`crate::Error::NotFound`] for an unknown customer.
    pub fn customer_view(
        &self,
        tenant: TenantId,
        customer: CustomerId,
        now: DateTime<Utc>,
    ) -> Result<CustomerView> {
        let _span =
            super::trace::op_span!("desk.customer_view", tenant = tenant, customer = customer);
        let c = self.live_customer(tenant, customer)?;
        let identifiers = self.store.identifiers_of(tenant, c.id)?;
        let conversations = self.store.conversations_of(tenant, c.id)?;
        let timeline = self.store.timeline(tenant, c.id, Some(200))?;
        let merged_from = self
            .merges(tenant, c.id)?
            .into_iter()
            .filter(|m| m.undone_at.is_none())
            .map(|m| m.from)
            .collect();
        Ok(CustomerView::build(
            c,
            identifiers,
            conversations,
            &timeline,
            merged_from,
            now,
        ))
    }
}
