//! A host's webhook threads prepare messages (checks and language detection) while the
//! thread that owns the Desk ingests them: the outcome is exactly that of `Desk::ingest`.

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use throughline::lang::{Detection, LanguageDetector, WhatlangDetector};
use throughline::store::MemoryStore;
use throughline::triage::{Intent, IntentCatalogue, TriageConfig, Value};
use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, Prepared, TenantId};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000feed".parse().unwrap()
}

fn config() -> DeskConfig {
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("refund", Value::High, Value::High)
                .skill("billing", 3)
                .phrases("en", &["refund", "money back"])
                .phrases("de", &["erstattung", "geld zurück"]),
        )
        .unwrap();
    DeskConfig::default()
        .id_seed(42)
        .triage(TriageConfig::new(catalogue))
}

/// A day of webhooks: four customers in four languages writing on several channels,
/// short replies that only the customer's established language can settle, a
/// redelivery, and one message with an empty body.
fn webhooks() -> Vec<Inbound> {
    let texts = [
        (
            "anna@example.de",
            "Guten Tag, ich möchte eine Erstattung für die Schuhe, die ich letzte Woche zurückgeschickt habe",
        ),
        (
            "joao@example.pt",
            "Bom dia, a minha encomenda ainda não chegou e já passaram duas semanas",
        ),
        (
            "emma@example.com",
            "Hello, I would like a refund for the jacket I sent back on Monday",
        ),
        (
            "sanne@example.nl",
            "Goedemiddag, ik wacht nog steeds op mijn bestelling van vorige week",
        ),
        ("anna@example.de", "ok danke"),
        ("joao@example.pt", "obrigado!"),
        ("emma@example.com", "thanks"),
        ("sanne@example.nl", "ok, dank"),
    ];
    let mut out = Vec::new();
    for (n, (who, body)) in texts.iter().enumerate() {
        let channel = if n % 2 == 0 {
            Channel::Email
        } else {
            Channel::WebChat
        };
        out.push(Inbound::new(
            tenant(),
            channel,
            Identifier::email(who).unwrap(),
            format!("hook-{n}"),
            *body,
        ));
    }
    let again = out[2].clone();
    out.push(again);
    out.push(Inbound::new(
        tenant(),
        Channel::Email,
        Identifier::email("nobody@example.com").unwrap(),
        "hook-empty",
        "   ",
    ));
    out
}

#[test]
fn messages_prepared_on_webhook_threads_land_as_ingest_would_land_them() {
    // The reference: one thread, `ingest`.
    let mut plain = Desk::new(MemoryStore::new(), config());
    let expected: Vec<_> = webhooks()
        .into_iter()
        .enumerate()
        .map(|(i, m)| plain.ingest(m, t(i as i64)).map_err(|e| e.to_string()))
        .collect();

    // Two webhook threads prepare alternate messages; the Desk's thread ingests them in
    // arrival order.
    let mut desk = Desk::new(MemoryStore::new(), config());
    let hooks = webhooks();
    let (tx, rx) = mpsc::channel::<(usize, throughline::Result<Prepared>)>();
    std::thread::scope(|scope| {
        for parity in 0..2 {
            let tx = tx.clone();
            let preparer = desk.preparer();
            let hooks = &hooks;
            scope.spawn(move || {
                for (i, m) in hooks.iter().enumerate().filter(|(i, _)| i % 2 == parity) {
                    tx.send((i, preparer.prepare(m.clone()))).unwrap();
                }
            });
        }
    });
    drop(tx);
    let mut prepared: Vec<_> = rx.into_iter().collect();
    prepared.sort_by_key(|(i, _)| *i);
    assert_eq!(prepared.len(), hooks.len());
    let got: Vec<_> = prepared
        .into_iter()
        .map(|(i, p)| {
            p.and_then(|p| desk.ingest_prepared(p, t(i as i64)))
                .map_err(|e| e.to_string())
        })
        .collect();

    assert_eq!(
        got, expected,
        "same customers, conversations, messages, effects"
    );
    // The empty message failed where it was prepared, with ingest's error.
    assert!(got.last().unwrap().as_ref().unwrap_err().contains("empty"));
    // Short replies took their customer's language, as with ingest.
    let languages: Vec<_> = got[4..8]
        .iter()
        .map(|g| {
            g.as_ref()
                .unwrap()
                .message
                .language
                .clone()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(languages, ["de", "pt", "en", "nl"]);
    assert!(got[8].as_ref().unwrap().duplicate);
    for g in got.iter().flatten() {
        assert_eq!(
            desk.language_evidence(tenant(), g.customer).unwrap(),
            plain.language_evidence(tenant(), g.customer).unwrap(),
            "the stored language evidence is the same"
        );
    }
}

#[test]
fn a_prepared_message_is_checked_again_against_the_desk_as_it_is_now() {
    let mut desk = Desk::new(MemoryStore::new(), config());
    let prepared = desk.preparer().prepare(webhooks().remove(0)).unwrap();
    // The channel was switched off between preparing and ingesting.
    desk.channels_mut().disable_for(tenant(), Channel::Email);
    let err = desk.ingest_prepared(prepared.clone(), t(0)).unwrap_err();
    assert!(
        matches!(err, throughline::Error::ChannelDisabled { .. }),
        "{err}"
    );
    desk.channels_mut().enable_for(tenant(), Channel::Email);
    let got = desk.ingest_prepared(prepared, t(1)).unwrap();
    assert_eq!(got.message.language.as_deref(), Some("de"));
}

/// A webhook queue drained in batches: the batch's messages are prepared on helper
/// threads while the Desk ingests them, with the same outcome as without helpers.
#[test]
fn a_batch_prepared_on_helper_threads_lands_as_one_prepared_on_the_callers() {
    let mut batch = Vec::new();
    for round in 0..6 {
        for (n, m) in webhooks().into_iter().enumerate() {
            let mut m = m;
            m.external_id = format!("{}-{round}", m.external_id);
            batch.push(m);
            if n == 3 && round % 2 == 0 {
                // A provider redelivers within the batch.
                batch.push(batch[batch.len() - 1].clone());
            }
        }
    }
    assert!(batch.len() >= 60);
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let outcome = |threads: usize| {
        let store = throughline::store::SqliteStore::open_in_memory().unwrap();
        let detector = Where {
            inner: WhatlangDetector::new(),
            threads: seen.clone(),
        };
        let mut desk = Desk::new(store, config().language(detector).prepare_threads(threads));
        let results: Vec<_> = desk
            .ingest_batch(batch.clone(), t(0))
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        let customer = results[0].as_ref().unwrap().customer;
        let timeline = desk.timeline(tenant(), customer).unwrap();
        (results, timeline)
    };
    let (alone, alone_timeline) = outcome(0);
    let me = std::thread::current().id();
    assert_eq!(
        *seen.lock().unwrap(),
        HashSet::from([me]),
        "all on this thread"
    );
    assert!(alone.iter().any(|r| r.is_err()), "the empty messages fail");
    assert!(alone.iter().any(|r| r.as_ref().is_ok_and(|g| g.duplicate)));
    for threads in [1, 3] {
        let (helped, timeline) = outcome(threads);
        assert_eq!(helped, alone, "{threads} preparing threads");
        assert_eq!(timeline, alone_timeline);
    }
    assert!(
        seen.lock().unwrap().len() >= 2,
        "detected on the helper threads too"
    );
}

/// Without the host's opt-in, a batch large enough for helpers starts no thread.
#[test]
fn a_batch_is_prepared_on_the_calling_thread_unless_the_host_asks_for_threads() {
    assert_eq!(DeskConfig::default().prepare_threads, 0);
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let detector = Where {
        inner: WhatlangDetector::new(),
        threads: seen.clone(),
    };
    let mut desk = Desk::new(MemoryStore::new(), config().language(detector));
    let batch: Vec<_> = (0..40)
        .map(|n| {
            let mut m = webhooks().remove(n % 4);
            m.external_id = format!("d-{n}");
            m
        })
        .collect();
    assert!(desk.ingest_batch(batch, t(0)).iter().all(|r| r.is_ok()));
    assert_eq!(
        *seen.lock().unwrap(),
        HashSet::from([std::thread::current().id()]),
        "all on this thread"
    );
}

/// A detector that notes the threads it runs on.
#[derive(Debug)]
struct Where {
    inner: WhatlangDetector,
    threads: Arc<Mutex<HashSet<std::thread::ThreadId>>>,
}

impl LanguageDetector for Where {
    fn detect(&self, text: &str) -> Option<Detection> {
        self.threads
            .lock()
            .unwrap()
            .insert(std::thread::current().id());
        self.inner.detect(text)
    }
}

#[test]
fn a_batch_that_cannot_start_fails_whole_and_its_helpers_stop() {
    use throughline::store::Store;
    use throughline::testkit::{FaultMode, FaultyStore};
    let store = FaultyStore::new(
        throughline::store::SqliteStore::open_in_memory().unwrap(),
        1,
        FaultMode::Once,
    );
    let mut desk = Desk::new(store, config().prepare_threads(2));
    let batch: Vec<_> = (0..40)
        .map(|n| {
            let mut m = webhooks().remove(n % 4);
            m.external_id = format!("b-{n}");
            m
        })
        .collect();
    let results = desk.ingest_batch(batch.clone(), t(0));
    assert_eq!(results.len(), 40);
    assert!(results.iter().all(|r| r.is_err()), "nothing landed");
    assert!(desk
        .store()
        .message_by_external_id(tenant(), &Channel::Email, "b-0")
        .unwrap()
        .is_none());
    // The store works again: the same batch lands.
    let again = desk.ingest_batch(batch, t(1));
    assert!(again.iter().all(|r| r.is_ok()));
}
