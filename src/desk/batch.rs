//! Group commit: many inbound messages in one store transaction.

use chrono::{DateTime, Utc};

use crate::desk::{Desk, Ingested};
use crate::error::{Error, Result};
use crate::message::Inbound;
use crate::store::Store;

/// The same failure, for every message it affects.
fn repeat(e: &Error) -> Error {
    match e {
        Error::Busy(m) => Error::Busy(m.clone()),
        other => Error::Store {
            message: format!("the batch was not committed: {other}"),
            source: None,
        },
    }
}

impl<S: Store> Desk<S> {
    /// Ingests many inbound messages in one store transaction (group commit), with one
    /// result per message, in order.
    ///
    /// Each message is processed exactly as by [`Desk::ingest`], against the state the
    /// earlier messages of the batch left (a redelivery within the batch is a duplicate).
    /// A bad message fails alone: its writes are rolled back (a savepoint on SQLite) and
    /// the rest land. If the final commit fails, every message's result is that error and
    /// none of them is stored.
    ///
    /// ```
    /// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
    /// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let ana = Identifier::email("ana@example.com")?;
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// let results = desk.ingest_batch([
    ///     Inbound::new(tenant, Channel::Email, ana.clone(), "m-1", "Where is my parcel?"),
    ///     Inbound::new(tenant, Channel::Email, ana.clone(), "m-2", ""), // empty: refused
    ///     Inbound::new(tenant, Channel::Email, ana, "m-1", "Where is my parcel?"), // redelivery
    /// ], t0);
    /// assert!(results[0].is_ok() && results[1].is_err());
    /// assert!(results[2].as_ref().is_ok_and(|r| r.duplicate));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ingest_batch(
        &mut self,
        batch: impl IntoIterator<Item = Inbound>,
        now: DateTime<Utc>,
    ) -> Vec<Result<Ingested>> {
        let batch: Vec<Inbound> = batch.into_iter().collect();
        if let Err(e) = self.store.begin_batch() {
            return batch.iter().map(|_| Err(repeat(&e))).collect();
        }
        let results: Vec<Result<Ingested>> = batch
            .into_iter()
            .map(|inbound| self.ingest(inbound, now))
            .collect();
        match self.store.end_batch(true) {
            Ok(()) => results,
            Err(e) => {
                // The live metrics counted what did not land: recompute those conversations.
                let touched: Vec<_> = results
                    .iter()
                    .filter_map(|r| r.as_ref().ok())
                    .filter(|r| !r.duplicate)
                    .map(|r| (r.message.tenant, r.conversation))
                    .collect();
                for (tenant, conversation) in touched {
                    let _ = self.metrics_refresh(tenant, &[conversation]);
                }
                results.iter().map(|_| Err(repeat(&e))).collect()
            }
        }
    }
}
