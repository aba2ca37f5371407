//! An async host's view of the desk (`hosting::DeskHandle`): many request handlers on a
//! multi-threaded runtime share one desk on its own thread, the ticker follows
//! `next_wakeup` and fires SLA warnings and breaches, and a shut-down desk refuses calls
//! and stops its ticker.
#![cfg(feature = "tokio")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use throughline::hosting::DeskHandle;
use throughline::store::{SqliteStore, Store};
use throughline::{Channel, Desk, DeskConfig, Effect, Error, Identifier, Inbound, TenantId};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000d0a1".parse().unwrap()
}

fn chat(n: u32) -> Inbound {
    Inbound::new(
        tenant(),
        Channel::WebChat,
        Identifier::email(&format!("c{n}@example.com")).unwrap(),
        format!("chat-{n}"),
        "Hello, where is my order?",
    )
}

/// How many conversations the tenant has.
async fn conversations(desk: &DeskHandle<SqliteStore>) -> usize {
    desk.call(|d| {
        d.store()
            .conversations_in(tenant(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
            .map(|c| c.len())
    })
    .await
    .unwrap()
    .unwrap()
}

/// A desk on a temporary SQLite file, on its own thread, with its preparer.
async fn sqlite_desk(
    seed: u64,
) -> (
    DeskHandle<SqliteStore>,
    throughline::Preparer,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.db");
    let desk = DeskHandle::start(move || {
        Ok(Desk::new(
            SqliteStore::open(&path)?,
            DeskConfig::default().id_seed(seed),
        ))
    })
    .await
    .unwrap();
    let preparer = desk.call(|d| d.preparer()).await.unwrap();
    (desk, preparer, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_handlers_share_one_desk_on_its_thread() {
    let (desk, preparer, _dir) = sqlite_desk(3).await;
    let mut handlers = Vec::new();
    for n in 0..40u32 {
        let (desk, preparer) = (desk.clone(), preparer.clone());
        handlers.push(tokio::spawn(async move {
            // As a request handler: prepare here, decide and write on the desk thread;
            // the second delivery of each webhook is a duplicate.
            let at = t0() + TimeDelta::seconds(i64::from(n));
            let first = preparer.prepare(chat(n)).unwrap();
            let again = preparer.prepare(chat(n)).unwrap();
            let got = desk
                .call(move |d| d.ingest_prepared(first, at))
                .await
                .unwrap()
                .unwrap();
            let dup = desk
                .call(move |d| d.ingest_prepared(again, at))
                .await
                .unwrap()
                .unwrap();
            assert!(!got.duplicate && dup.duplicate);
            assert_eq!(got.message.id, dup.message.id);
        }));
    }
    for h in handlers {
        h.await.unwrap();
    }
    let stored = conversations(&desk).await;
    assert_eq!(stored, 40, "every chat once");
    desk.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_ingests_are_grouped_into_transactions_and_each_answered() {
    let (desk, preparer, _dir) = sqlite_desk(5).await;
    // Keep the desk thread busy so that the ingests queue up behind it and form groups.
    let busy = desk.call(|_| std::thread::sleep(Duration::from_millis(200)));
    let mut handlers = Vec::new();
    for n in 0..150u32 {
        let (desk, preparer) = (desk.clone(), preparer.clone());
        handlers.push(tokio::spawn(async move {
            // Every webhook is delivered twice at once: one message, one duplicate.
            let at = t0() + TimeDelta::seconds(i64::from(n));
            let first = desk.ingest(preparer.prepare(chat(n)).unwrap(), at);
            let again = desk.ingest(preparer.prepare(chat(n)).unwrap(), at);
            let (first, again) = tokio::join!(first, again);
            let (first, again) = (first.unwrap(), again.unwrap());
            assert_eq!(first.message.id, again.message.id);
            assert!(
                first.duplicate != again.duplicate,
                "exactly one is the duplicate"
            );
        }));
    }
    busy.await.unwrap();
    for h in handlers {
        h.await.unwrap();
    }
    let stored = conversations(&desk).await;
    assert_eq!(stored, 150, "every chat once");
    let handle = desk.clone();
    desk.shutdown().await.unwrap();
    let desk = handle;
    // After the shutdown an ingest is refused, not lost silently.
    let late = desk
        .ingest(preparer.prepare(chat(999)).unwrap(), t0())
        .await;
    assert!(matches!(late, Err(Error::Store { .. })), "{late:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ticker_follows_next_wakeup_and_fires_what_fell_due() {
    let desk = DeskHandle::start(|| {
        Ok(Desk::new(
            throughline::store::MemoryStore::new(),
            DeskConfig::default(),
        ))
    })
    .await
    .unwrap();
    // The host's clock reads ten minutes after the chat: its five-minute first-reply
    // target has passed.
    let clock = Arc::new(Mutex::new(t0() + TimeDelta::minutes(10)));
    let (effects, mut fired) = tokio::sync::mpsc::unbounded_channel();
    let ticker = {
        let (desk, clock) = (desk.clone(), clock.clone());
        tokio::spawn(async move {
            desk.run_ticks(
                move || *clock.lock().unwrap(),
                move |outcome| {
                    let _ = effects.send(outcome);
                },
            )
            .await;
        })
    };
    let got = desk
        .call(|d| d.ingest(chat(1), t0()))
        .await
        .unwrap()
        .unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(20), fired.recv())
        .await
        .expect("the ticker ticks at once: the wakeup is in the clock's past")
        .expect("an outcome");
    let effects = outcome.unwrap();
    assert!(
        effects.iter().any(|e| matches!(e,
            Effect::SlaBreached { conversation, .. } if *conversation == got.conversation)),
        "{effects:?}"
    );
    // Nothing is due any more until a later clock: the next wakeup is the resolution
    // target, after the clock.
    let next = desk.call(|d| d.next_wakeup()).await.unwrap().unwrap();
    assert!(next.is_some_and(|n| n > *clock.lock().unwrap()), "{next:?}");

    desk.clone().shutdown().await.unwrap();
    let refused = desk.call(|d| d.next_wakeup()).await;
    assert!(matches!(refused, Err(Error::Store { .. })), "{refused:?}");
    tokio::time::timeout(Duration::from_secs(20), ticker)
        .await
        .expect("the ticker ends with the desk")
        .unwrap();
}

#[tokio::test]
async fn a_desk_that_cannot_open_says_why() {
    let failed = DeskHandle::<SqliteStore>::start(|| {
        Ok(Desk::new(
            SqliteStore::open("/nonexistent-dir/for/sure/desk.db")?,
            DeskConfig::default(),
        ))
    })
    .await;
    assert!(matches!(failed, Err(Error::Store { .. })), "{failed:?}");
}
