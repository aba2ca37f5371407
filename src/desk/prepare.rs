//! The part of an ingest that needs no store, done ahead on any thread: a host's webhook
//! handlers check each message and detect its language while the one thread that owns
//! the [`Desk`] does the rest.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::desk::ingest::Ingested;
use crate::desk::Desk;
use crate::error::Result;
use crate::lang::{Detection, LanguageDetector};
use crate::message::Inbound;
use crate::store::Store;

/// Checks inbound messages and detects their language with a [`Desk`]'s settings, on any
/// thread: it is `Send + Sync + Clone` and holds no store. Made by [`Desk::preparer`].
///
/// A host whose webhooks arrive on many threads prepares each message where it arrives
/// and hands the [`Prepared`] message to the thread that owns the Desk, which ingests it
/// with [`Desk::ingest_prepared`] without detecting its language again. Language
/// detection is the largest part of an ingest that needs no store, so the Desk's thread
/// then spends its time on what only it can do.
///
/// ```
/// use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId, store::MemoryStore};
/// let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
/// let tenant = TenantId::new_v7();
/// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
/// let preparer = desk.preparer();
/// // On a webhook thread:
/// let prepared = std::thread::spawn(move || {
///     let msg = Inbound::new(tenant, Channel::WhatsApp, Identifier::whatsapp("+31612345678", None)?,
///         "wamid-1", "Goedemiddag, ik wacht nog steeds op mijn bestelling van vorige week");
///     preparer.prepare(msg)
/// }).join().unwrap()?;
/// assert_eq!(prepared.detection().map(|d| d.language.code()), Some("nl"));
/// // On the Desk's thread:
/// let got = desk.ingest_prepared(prepared, t0)?;
/// assert_eq!(got.message.language.as_deref(), Some("nl"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Preparer {
    max_body_bytes: usize,
    language: Arc<dyn LanguageDetector>,
}

impl Preparer {
    /// Checks `inbound` as [`Desk::ingest`] does before it reads the store (body size and
    /// content, provider id, field lengths) and detects the language of its body.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Invalid`] or [`crate::Error::BodyTooLarge`] for a bad message, as
    /// [`Desk::ingest`] would return.
    pub fn prepare(&self, inbound: Inbound) -> Result<Prepared> {
        inbound.validate(self.max_body_bytes)?;
        let detection = self.language.detect(&inbound.body);
        Ok(Prepared {
            inbound,
            detection,
            detector: Arc::clone(&self.language),
        })
    }
}

/// An inbound message checked and with its language detected by a [`Preparer`], ready
/// for [`Desk::ingest_prepared`].
#[derive(Debug, Clone)]
pub struct Prepared {
    inbound: Inbound,
    detection: Option<Detection>,
    /// The detector that answered, so a Desk with another one detects again.
    detector: Arc<dyn LanguageDetector>,
}

impl Prepared {
    /// The message.
    pub fn inbound(&self) -> &Inbound {
        &self.inbound
    }

    /// What the detector said about its body (`None`: it did not know).
    pub fn detection(&self) -> Option<Detection> {
        self.detection
    }

    /// The message, for [`Desk::ingest`] or to change it (its detection is then gone).
    pub fn into_inbound(self) -> Inbound {
        self.inbound
    }
}

impl<S: Store> Desk<S> {
    /// A [`Preparer`] with this Desk's message limits and language detector, to prepare
    /// messages on other threads for [`Desk::ingest_prepared`].
    pub fn preparer(&self) -> Preparer {
        Preparer {
            max_body_bytes: self.config.max_body_bytes,
            language: Arc::clone(&self.config.language),
        }
    }

    /// [`Desk::ingest`] of a message prepared by a [`Preparer`]: the same result, without
    /// detecting its language again. The checks that depend on the Desk's current state
    /// (the channel enabled now, the sender not blocked, deduplication) run here as in
    /// `ingest`, and so do the message checks, which are cheap. A message prepared with
    /// another language detector than this Desk's (another Desk's preparer) is detected
    /// again.
    ///
    /// # Errors
    ///
    /// As [`Desk::ingest`].
    pub fn ingest_prepared(&mut self, prepared: Prepared, now: DateTime<Utc>) -> Result<Ingested> {
        let span = super::trace::op_span!(
            "desk.ingest_prepared", tenant = prepared.inbound().tenant;
            later customer, conversation, message
        );
        let Prepared {
            inbound,
            detection,
            detector,
        } = prepared;
        // Compared by address only: the same detector object answers the same.
        let same = std::ptr::addr_eq(Arc::as_ptr(&detector), Arc::as_ptr(&self.config.language));
        let got = self.ingest_detected(inbound, same.then_some(detection), now)?;
        super::trace::record_ingested(&span, &got);
        Ok(got)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::{Language, NoDetector};
    use crate::store::MemoryStore;
    use crate::{Channel, DeskConfig, Identifier, TenantId};

    fn inbound(ext: &str, body: &str) -> Inbound {
        Inbound::new(
            TenantId::from_uuid(uuid::Uuid::from_u128(1)),
            Channel::Email,
            Identifier::email("ana@example.com").unwrap(),
            ext,
            body,
        )
    }

    /// Says every text is Finnish, reliably, and counts how often it was asked.
    #[derive(Debug, Default)]
    struct AlwaysFinnish {
        calls: std::sync::atomic::AtomicUsize,
    }
    impl LanguageDetector for AlwaysFinnish {
        fn detect(&self, _text: &str) -> Option<Detection> {
            self.calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(Detection {
                language: Language::from_code("fi").unwrap(),
                confidence: 1.0,
                reliable: true,
            })
        }
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_442_000, 0).unwrap()
    }

    #[test]
    fn a_prepared_message_keeps_the_detection_made_ahead() {
        let detector = Arc::new(AlwaysFinnish::default());
        let config = DeskConfig {
            language: detector.clone(),
            ..DeskConfig::default()
        };
        let mut desk = Desk::new(MemoryStore::new(), config);
        let prepared = desk
            .preparer()
            .prepare(inbound("m-1", "Where is my parcel? It is a week late."))
            .unwrap();
        assert_eq!(detector.calls.load(std::sync::atomic::Ordering::Relaxed), 1);
        let got = desk.ingest_prepared(prepared, t0()).unwrap();
        assert_eq!(got.message.language.as_deref(), Some("fi"));
        assert_eq!(
            detector.calls.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "the Desk did not detect again"
        );
        // `ingest` detects.
        desk.ingest(inbound("m-2", "And my invoice?"), t0())
            .unwrap();
        assert_eq!(detector.calls.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    #[test]
    fn another_desks_detection_is_not_trusted() {
        let finnish = Desk::new(
            MemoryStore::new(),
            DeskConfig::default().language(AlwaysFinnish::default()),
        );
        let prepared = finnish
            .preparer()
            .prepare(inbound("m-1", "Where is my parcel? It is a week late."))
            .unwrap();
        assert!(prepared.detection().is_some());
        // This desk detects nothing: the Finnish answer made elsewhere is not used.
        let mut silent = Desk::new(
            MemoryStore::new(),
            DeskConfig::default().language(NoDetector),
        );
        let got = silent.ingest_prepared(prepared, t0()).unwrap();
        assert_eq!(got.message.language, None);
    }

    #[test]
    fn a_bad_message_fails_where_it_is_prepared() {
        let desk = Desk::new(MemoryStore::new(), DeskConfig::default());
        let err = desk.preparer().prepare(inbound("m-1", "   ")).unwrap_err();
        assert!(matches!(err, crate::Error::Invalid { .. }), "{err}");
    }
}
