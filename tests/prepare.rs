//! A host's webhook threads prepare messages (checks and language detection) while the
//! thread that owns the Desk ingests them: the outcome is exactly that of `Desk::ingest`.

use std::sync::mpsc;

use chrono::{DateTime, TimeDelta, Utc};
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
