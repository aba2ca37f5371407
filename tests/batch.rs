//! Group commit on the Desk (`Desk::batch`, `begin_batch`/`end_batch`): a worker that
//! drains webhooks and agent actions commits them together; a batch that does not land
//! leaves nothing behind, in the store or in the desk's own state.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::metrics::Filter;
use throughline::privacy::RetentionPolicy;
use throughline::routing::{Agent, Presence, RoutingConfig};
use throughline::store::{MemoryStore, SqliteStore, Store};
use throughline::testkit::{FaultMode, FaultyStore};
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Error, Identifier, Inbound, Status, TenantId,
};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-0000000ba7c4".parse().unwrap()
}

fn agent() -> AgentId {
    "01900000-0000-7000-8000-0000000a9e48".parse().unwrap()
}

fn ana() -> Identifier {
    Identifier::email("ana@example.com").unwrap()
}

fn bob() -> Identifier {
    Identifier::email("bob@example.com").unwrap()
}

fn msg(channel: Channel, who: Identifier, id: &str, body: &str) -> Inbound {
    Inbound::new(tenant(), channel, who, id, body)
}

fn stored<S: Store>(desk: &Desk<S>, channel: Channel, id: &str) -> bool {
    desk.store()
        .message_by_external_id(tenant(), &channel, id)
        .unwrap()
        .is_some()
}

fn month() -> Filter {
    Filter::period(t(-60), t(60 * 24 * 30))
}

/// The live report and the one recomputed from the store agree.
fn reports_agree<S: Store>(desk: &Desk<S>) {
    assert_eq!(
        desk.report(tenant(), &month()).unwrap(),
        desk.report_from_store(tenant(), &month()).unwrap()
    );
}

#[test]
fn a_worker_commits_a_customers_chat_email_and_the_agents_answer_together() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("desk.db");
    let mut desk = Desk::new(SqliteStore::open(&path).unwrap(), DeskConfig::default());
    let (chat, email) = desk
        .batch(|d| {
            let chat = d.ingest(
                msg(Channel::WebChat, ana(), "c-1", "Where is my parcel?"),
                t(0),
            )?;
            let email = d.ingest(
                msg(Channel::Email, ana(), "m-1", "Still waiting for order 1042"),
                t(5),
            )?;
            d.reply(
                (tenant(), chat.conversation),
                agent(),
                "It left the depot today.",
                t(6),
            )?;
            d.set_status((tenant(), chat.conversation), Status::Solved, t(7))?;
            Ok::<_, Error>((chat, email))
        })
        .unwrap()
        .unwrap();
    assert!(!desk.in_batch());
    assert_eq!(
        chat.conversation, email.conversation,
        "the e-mail continues the chat's conversation"
    );
    reports_agree(&desk);
    drop(desk);

    // Everything landed: a new desk on the file sees the whole story.
    let desk = Desk::new(SqliteStore::open(&path).unwrap(), DeskConfig::default());
    let messages = desk.messages((tenant(), chat.conversation)).unwrap();
    assert_eq!(messages.len(), 3, "two inbound messages and the reply");
    assert_eq!(
        desk.conversation((tenant(), chat.conversation))
            .unwrap()
            .status,
        Status::Solved
    );
}

#[test]
fn a_rolled_back_batch_leaves_nothing_and_the_reports_follow_the_store() {
    rolled_back(SqliteStore::open_in_memory().unwrap());
    rolled_back(MemoryStore::new());
}

fn rolled_back<S: Store>(store: S) {
    let mut desk = Desk::new(store, DeskConfig::default());
    desk.ingest(msg(Channel::Sms, ana(), "s-0", "Hello?"), t(0))
        .unwrap();
    desk.begin_batch().unwrap();
    desk.ingest(
        msg(Channel::Email, bob(), "m-1", "My invoice is wrong"),
        t(1),
    )
    .unwrap();
    desk.ingest(msg(Channel::Sms, ana(), "s-1", "Any news?"), t(2))
        .unwrap();
    assert_eq!(desk.report(tenant(), &month()).unwrap().conversations, 2);
    desk.end_batch(false).unwrap();

    assert!(stored(&desk, Channel::Sms, "s-0"));
    assert!(!stored(&desk, Channel::Email, "m-1"));
    assert!(!stored(&desk, Channel::Sms, "s-1"));
    assert_eq!(desk.report(tenant(), &month()).unwrap().conversations, 1);
    reports_agree(&desk);
    // The redelivery of a rolled-back message is new, not a duplicate.
    let again = desk
        .ingest(msg(Channel::Sms, ana(), "s-1", "Any news?"), t(3))
        .unwrap();
    assert!(!again.duplicate);
    reports_agree(&desk);
}

#[test]
fn a_failed_commit_loses_the_whole_batch_and_nothing_committed_before() {
    let store = FaultyStore::new(SqliteStore::open_in_memory().unwrap(), 0, FaultMode::Once);
    let mut desk = Desk::new(store, DeskConfig::default());
    desk.ingest(msg(Channel::Sms, ana(), "s-0", "Hello?"), t(0))
        .unwrap();
    desk.begin_batch().unwrap();
    desk.ingest(msg(Channel::Sms, ana(), "s-1", "Any news?"), t(1))
        .unwrap();
    desk.ingest(msg(Channel::Line, bob(), "l-1", "Hi"), t(2))
        .unwrap();
    desk.store().fail_after(1, FaultMode::Once); // the commit
    let err = desk.end_batch(true).unwrap_err();
    assert!(matches!(err, Error::Store { .. }), "{err}");
    assert!(!desk.in_batch());

    assert!(stored(&desk, Channel::Sms, "s-0"));
    assert!(!stored(&desk, Channel::Sms, "s-1"));
    assert!(!stored(&desk, Channel::Line, "l-1"));
    reports_agree(&desk);
    // Ana's conversation (older than the batch) is counted as the store has it.
    desk.load_metrics(tenant(), t(-60), t(60)).unwrap();
    let report = desk.report(tenant(), &month()).unwrap();
    assert_eq!(report.conversations, 1);
    reports_agree(&desk);
    // The host retries the same work: it lands, once.
    let results = desk.ingest_batch(
        [
            msg(Channel::Sms, ana(), "s-1", "Any news?"),
            msg(Channel::Line, bob(), "l-1", "Hi"),
        ],
        t(3),
    );
    assert!(results
        .iter()
        .all(|r| r.as_ref().is_ok_and(|r| !r.duplicate)));
    assert!(stored(&desk, Channel::Line, "l-1"));
    reports_agree(&desk);
}

#[test]
fn an_operation_that_fails_inside_a_batch_fails_alone_at_every_store_call() {
    // The second message's ingest fails at its k-th store call, for every k; it is
    // retried inside the same batch, and the batch's commit stores each message once.
    for k in 1.. {
        let store = FaultyStore::new(SqliteStore::open_in_memory().unwrap(), 0, FaultMode::Once);
        let mut desk = Desk::new(store, DeskConfig::default());
        desk.begin_batch().unwrap();
        desk.ingest(msg(Channel::Sms, ana(), "s-1", "Where is it?"), t(0))
            .unwrap();
        desk.store().fail_after(k, FaultMode::Once);
        let second = msg(Channel::Email, ana(), "m-2", "Order 1042, still nothing");
        let failed = desk.ingest(second.clone(), t(1)).is_err();
        desk.store().disarm();
        if failed {
            desk.ingest(second, t(1)).unwrap();
        }
        desk.ingest(msg(Channel::WhatsApp, bob(), "w-3", "Hi"), t(2))
            .unwrap();
        desk.end_batch(true).unwrap();
        for (ch, id) in [
            (Channel::Sms, "s-1"),
            (Channel::Email, "m-2"),
            (Channel::WhatsApp, "w-3"),
        ] {
            assert!(stored(&desk, ch, id), "call {k}: {id} is stored");
        }
        let customer = desk.resolve(tenant(), &ana()).unwrap().unwrap();
        let timeline = desk.timeline(tenant(), customer).unwrap();
        assert_eq!(timeline.len(), 2, "call {k}: Ana's two messages, once each");
        reports_agree(&desk);
        if !failed {
            assert!(k > 3, "the ingest makes several store calls");
            break;
        }
    }
}

#[test]
fn a_failed_batch_that_routed_work_leaves_routing_as_the_store_kept_it() {
    let config = || DeskConfig::default().routing(RoutingConfig::default());
    let sanne = || {
        Agent::new(agent(), tenant(), "Sanne")
            .channel(Channel::WebChat)
            .capacity(1)
    };
    let store = FaultyStore::new(SqliteStore::open_in_memory().unwrap(), 0, FaultMode::Once);
    let mut desk = Desk::new(store, config());
    desk.upsert_agent(sanne(), t(0)).unwrap();
    desk.begin_batch().unwrap();
    let lost = desk
        .ingest(
            msg(Channel::WebChat, ana(), "c-1", "Where is my parcel?"),
            t(1),
        )
        .unwrap();
    assert_eq!(
        desk.assignment_of((tenant(), lost.conversation)).unwrap(),
        Some(agent())
    );
    desk.store().fail_after(1, FaultMode::Once);
    assert!(desk.end_batch(true).is_err());

    // The assignment never landed: the store still has Sanne free, and the desk routes
    // from what the store holds, not from what it decided inside the lost batch.
    let state = desk.routing_state(tenant()).unwrap();
    assert_eq!(state.load(agent()), Some(0));
    assert!(state.work.is_empty(), "{state:?}");
    let got = desk
        .ingest(msg(Channel::WebChat, bob(), "c-2", "Hi"), t(2))
        .unwrap();
    assert_eq!(
        desk.assignment_of((tenant(), got.conversation)).unwrap(),
        Some(agent()),
        "Sanne's one unit is free again"
    );
    let state = desk.routing_state(tenant()).unwrap();
    assert_eq!(state.load(agent()), Some(1));
    assert_eq!(state.assignment(got.conversation), Some(agent()));
}

#[test]
fn a_failed_batch_without_routing_leaves_the_desk_working() {
    let store = FaultyStore::new(SqliteStore::open_in_memory().unwrap(), 0, FaultMode::Once);
    let mut desk = Desk::new(store, DeskConfig::default());
    desk.begin_batch().unwrap();
    desk.ingest(msg(Channel::Sms, ana(), "s-1", "Hello?"), t(0))
        .unwrap();
    desk.store().fail_after(1, FaultMode::Once);
    assert!(desk.end_batch(true).is_err());
    desk.ingest(msg(Channel::Sms, ana(), "s-1", "Hello?"), t(1))
        .unwrap();
    assert!(stored(&desk, Channel::Sms, "s-1"));
    reports_agree(&desk);
}

#[test]
fn erasures_wait_until_the_batch_has_ended() {
    let mut desk = Desk::new(
        SqliteStore::open_in_memory().unwrap(),
        DeskConfig::default(),
    );
    let got = desk
        .ingest(
            msg(Channel::Sms, ana(), "s-1", "Call me on +31612345678"),
            t(0),
        )
        .unwrap();
    desk.begin_batch().unwrap();
    let refused = desk
        .erase_customer(tenant(), got.customer, t(1))
        .unwrap_err();
    assert!(
        matches!(refused, Error::Invalid { field: "batch", .. }),
        "{refused}"
    );
    assert!(matches!(
        desk.erase_identifier(tenant(), &ana(), t(1)),
        Err(Error::Invalid { field: "batch", .. })
    ));
    desk.set_retention(tenant(), RetentionPolicy::new(TimeDelta::days(30)), t(1))
        .unwrap();
    assert!(matches!(
        desk.purge_expired(t(2)),
        Err(Error::Invalid { field: "batch", .. })
    ));
    desk.ingest(msg(Channel::Sms, ana(), "s-2", "Hello?"), t(3))
        .unwrap();
    desk.end_batch(true).unwrap();
    assert!(
        stored(&desk, Channel::Sms, "s-2"),
        "the batch's other work landed"
    );
    desk.erase_customer(tenant(), got.customer, t(4)).unwrap();
}

#[test]
fn batches_join_an_open_batch_and_are_not_opened_twice() {
    let mut desk = Desk::new(
        SqliteStore::open_in_memory().unwrap(),
        DeskConfig::default(),
    );
    desk.begin_batch().unwrap();
    assert!(matches!(
        desk.begin_batch(),
        Err(Error::Invalid { field: "batch", .. })
    ));
    let inner = desk
        .batch(|d| d.ingest(msg(Channel::Sms, ana(), "s-1", "Hello?"), t(0)))
        .unwrap();
    assert!(inner.is_ok());
    assert!(desk.in_batch(), "the inner batch joined the open one");
    let results = desk.ingest_batch([msg(Channel::Sms, ana(), "s-2", "Anyone?")], t(1));
    assert!(results[0].is_ok());
    assert!(desk.in_batch(), "so did ingest_batch");
    desk.end_batch(false).unwrap();
    assert!(!stored(&desk, Channel::Sms, "s-1"));
    assert!(!stored(&desk, Channel::Sms, "s-2"));
    assert!(desk.end_batch(true).is_ok(), "no batch open: nothing to do");
}

#[test]
fn a_failed_batch_that_changed_presence_leaves_the_agent_as_stored() {
    let store = FaultyStore::new(SqliteStore::open_in_memory().unwrap(), 0, FaultMode::Once);
    let mut desk = Desk::new(
        store,
        DeskConfig::default().routing(RoutingConfig::default()),
    );
    desk.upsert_agent(
        Agent::new(agent(), tenant(), "Sanne").channel(Channel::WebChat),
        t(0),
    )
    .unwrap();
    desk.begin_batch().unwrap();
    desk.set_presence(tenant(), agent(), Presence::Away, t(1))
        .unwrap();
    desk.store().fail_after(1, FaultMode::Once);
    assert!(desk.end_batch(true).is_err());
    let got = desk
        .ingest(msg(Channel::WebChat, bob(), "c-1", "Hi"), t(2))
        .unwrap();
    assert_eq!(
        desk.assignment_of((tenant(), got.conversation)).unwrap(),
        Some(agent()),
        "Sanne is available, as stored"
    );
}

#[test]
fn a_store_taken_back_from_a_desk_has_no_batch_open() {
    let mut desk = Desk::new(
        SqliteStore::open_in_memory().unwrap(),
        DeskConfig::default(),
    );
    desk.begin_batch().unwrap();
    desk.ingest(msg(Channel::Sms, ana(), "s-1", "Hello?"), t(0))
        .unwrap();
    let mut desk = Desk::new(desk.into_store(), DeskConfig::default());
    assert!(
        !stored(&desk, Channel::Sms, "s-1"),
        "the open batch was rolled back"
    );
    desk.begin_batch().unwrap();
    desk.ingest(msg(Channel::Sms, ana(), "s-2", "Anyone?"), t(1))
        .unwrap();
    desk.end_batch(true).unwrap();
    assert!(stored(&desk, Channel::Sms, "s-2"));
}
