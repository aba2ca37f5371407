//! A support centre with a long history: reports and maintenance over more conversations
//! than the store returns in one page (the Desk reads a period 2,048 conversations at a
//! time), on the embedded SQLite store.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::metrics::Filter;
use throughline::privacy::RetentionPolicy;
use throughline::store::{ChangeSet, Op, SqliteStore, Store};
use throughline::{
    Channel, Conversation, ConversationId, Customer, CustomerId, Desk, DeskConfig, Status, TenantId,
};

/// More than two pages, and not a multiple of the page size.
const CONVERSATIONS: usize = 2 * 2048 + 37;

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    TenantId::from_uuid(uuid::Uuid::from_u128(7))
}

/// A store holding one customer's `CONVERSATIONS` conversations, three opened each minute
/// (ties on the opening time cross page boundaries); every other one closed a minute later.
/// Returns the store and the ids of the closed ones.
fn long_history() -> (SqliteStore, Vec<ConversationId>) {
    let mut store = SqliteStore::open_in_memory().unwrap();
    let mut customer = Customer::new(
        CustomerId::from_uuid(uuid::Uuid::from_u128(1)),
        tenant(),
        t(0),
    );
    customer.version = 1;
    let mut ops = vec![Op::PutCustomer(customer.clone())];
    let mut closed = Vec::new();
    for i in 0..CONVERSATIONS {
        let opened = t(i as i64 / 3);
        // Ids in another order than the opening times.
        let id = uuid::Uuid::from_u128((i as u128 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut c = Conversation::new(
            ConversationId::from_uuid(id),
            tenant(),
            customer.id,
            Channel::Email,
            opened,
        );
        c.version = 1;
        if i % 2 == 0 {
            c.status = Status::Closed;
            c.solved_at = Some(opened + TimeDelta::minutes(1));
            c.closed_at = Some(opened + TimeDelta::minutes(1));
            closed.push(c.id);
        }
        ops.push(Op::PutConversation(c));
    }
    store
        .apply(ChangeSet {
            tenant: tenant(),
            ops,
        })
        .unwrap();
    (store, closed)
}

#[test]
fn a_report_over_a_long_period_counts_every_conversation_once() {
    let (store, _) = long_history();
    let mut desk = Desk::new(store, DeskConfig::default());
    let (from, to) = (t(0), t(CONVERSATIONS as i64));
    assert_eq!(
        desk.load_metrics(tenant(), from, to).unwrap(),
        CONVERSATIONS
    );
    let filter = Filter::period(from, to);
    assert_eq!(
        desk.report(tenant(), &filter).unwrap().conversations,
        CONVERSATIONS
    );
    assert_eq!(
        desk.report_from_store(tenant(), &filter)
            .unwrap()
            .conversations,
        CONVERSATIONS
    );
    // A period that starts and ends inside ties: minutes 100 to 1,000, three a minute.
    let part = Filter::period(t(100), t(1_000));
    assert_eq!(
        desk.report_from_store(tenant(), &part)
            .unwrap()
            .conversations,
        2_700
    );
}

#[test]
fn retention_purges_every_expired_conversation_of_a_long_history() {
    let (store, closed) = long_history();
    let mut desk = Desk::new(store, DeskConfig::default());
    let end = t(CONVERSATIONS as i64);
    desk.set_retention(tenant(), RetentionPolicy::new(TimeDelta::days(30)), end)
        .unwrap();
    let report = desk.purge_expired(end + TimeDelta::days(31)).unwrap();
    let mut purged: Vec<ConversationId> = report.conversations.iter().map(|c| c.1).collect();
    purged.sort();
    let mut expected = closed;
    expected.sort();
    assert_eq!(purged.len(), CONVERSATIONS / 2 + 1);
    assert_eq!(purged, expected, "exactly the closed ones, each once");
}
