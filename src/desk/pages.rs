//! Walking a period's conversations a page at a time, for reports over long periods.

use chrono::{DateTime, Utc};

use super::Desk;
use crate::conversation::Conversation;
use crate::error::Result;
use crate::id::TenantId;
use crate::store::Store;

/// Conversations read at once by a report ([`Store::conversations_in_page`]). A month of a
/// large centre opens hundreds of thousands; a page of this size holds a few MiB.
pub(crate) const REPORT_PAGE: usize = 2048;

impl<S: Store> Desk<S> {
    /// Calls `each` with every conversation of `tenant` opened in `[from, to)`, oldest
    /// first, reading them [`REPORT_PAGE`] at a time.
    pub(crate) fn each_conversation_in(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        mut each: impl FnMut(Conversation) -> Result<()>,
    ) -> Result<()> {
        let mut after = None;
        loop {
            let page = self
                .store
                .conversations_in_page(tenant, from, to, after, REPORT_PAGE)?;
            let (len, Some(last)) = (page.len(), page.last()) else {
                return Ok(());
            };
            after = Some((last.created_at, last.id));
            for conv in page {
                each(conv)?;
            }
            // A store's default page holds every remaining conversation; asking again
            // then returns none.
            if len < REPORT_PAGE {
                return Ok(());
            }
        }
    }
}
