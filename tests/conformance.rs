//! Every store passes the same conformance suite.

#[test]
fn memory_store_conforms() {
    throughline::testkit::conformance::run(throughline::store::MemoryStore::new);
}

/// The same store answering `Store::read_ahead`, so every Desk story in the suite runs
/// through the Desk's read-ahead path.
#[test]
fn memory_store_reading_ahead_conforms() {
    throughline::testkit::conformance::run(throughline::store::MemoryStore::reading_ahead);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_in_memory_conforms() {
    throughline::testkit::conformance::run(|| {
        throughline::store::SqliteStore::open_in_memory().expect("in-memory database")
    });
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_on_a_file_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    throughline::testkit::conformance::run(|| {
        n += 1;
        throughline::store::SqliteStore::open(dir.path().join(format!("c{n}.db")))
            .expect("database file")
    });
}

/// The timing wrapper forwards every call, the optional ones too: wrapped around the
/// read-ahead memory store and around SQLite, the Desk behaves as without it.
#[test]
fn timed_memory_store_reading_ahead_conforms() {
    let times = std::sync::Arc::new(throughline::probe::StageTimes::new());
    throughline::testkit::conformance::run(|| {
        throughline::testkit::TimedStore::new(
            throughline::store::MemoryStore::reading_ahead(),
            times.clone(),
        )
    });
    assert!(
        times.store_time_outside() > std::time::Duration::ZERO,
        "the calls were timed"
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn timed_sqlite_store_on_a_file_conforms() {
    let dir = tempfile::tempdir().expect("temp dir");
    let times = std::sync::Arc::new(throughline::probe::StageTimes::new());
    let mut n = 0;
    throughline::testkit::conformance::run(|| {
        n += 1;
        let store = throughline::store::SqliteStore::open(dir.path().join(format!("t{n}.db")))
            .expect("database file");
        throughline::testkit::TimedStore::new(store, times.clone())
    });
}

/// A store that implements only the methods `Store` requires, over a `MemoryStore`: the
/// trait's default methods (`recent_messages`, `latest_inbound`,
/// `timeline`, ...) must be correct on their own, for hosts writing their own store.
mod required_only {
    use chrono::{DateTime, Utc};
    use throughline::conversation::Conversation;
    use throughline::identity::{Customer, Identifier, IdentifierRecord};
    use throughline::store::{ChangeSet, MemoryStore, Record, Store};
    use throughline::{Channel, ConversationId, CustomerId, Message, MessageId, Result, TenantId};

    pub struct RequiredOnly(pub MemoryStore);

    impl Store for RequiredOnly {
        fn customer(&self, t: TenantId, id: CustomerId) -> Result<Option<Customer>> {
            self.0.customer(t, id)
        }
        fn identifier(&self, t: TenantId, i: &Identifier) -> Result<Option<IdentifierRecord>> {
            self.0.identifier(t, i)
        }
        fn identifiers_of(&self, t: TenantId, c: CustomerId) -> Result<Vec<IdentifierRecord>> {
            self.0.identifiers_of(t, c)
        }
        fn conversation(&self, t: TenantId, id: ConversationId) -> Result<Option<Conversation>> {
            self.0.conversation(t, id)
        }
        fn conversations_of(&self, t: TenantId, c: CustomerId) -> Result<Vec<Conversation>> {
            self.0.conversations_of(t, c)
        }
        fn conversations_in(
            &self,
            t: TenantId,
            from: DateTime<Utc>,
            to: DateTime<Utc>,
        ) -> Result<Vec<Conversation>> {
            self.0.conversations_in(t, from, to)
        }
        fn open_conversation(&self, t: TenantId, c: CustomerId) -> Result<Option<Conversation>> {
            self.0.open_conversation(t, c)
        }
        fn message(&self, t: TenantId, id: MessageId) -> Result<Option<Message>> {
            self.0.message(t, id)
        }
        fn message_by_external_id(
            &self,
            t: TenantId,
            ch: &Channel,
            ext: &str,
        ) -> Result<Option<Message>> {
            self.0.message_by_external_id(t, ch, ext)
        }
        fn messages_of(&self, t: TenantId, c: ConversationId) -> Result<Vec<Message>> {
            self.0.messages_of(t, c)
        }
        fn thread(&self, t: TenantId, key: &str) -> Result<Option<ConversationId>> {
            self.0.thread(t, key)
        }
        fn outbox(&self, t: TenantId) -> Result<Vec<Message>> {
            self.0.outbox(t)
        }
        fn record(&self, t: TenantId, kind: &str, key: &str) -> Result<Option<Record>> {
            self.0.record(t, kind, key)
        }
        fn records(&self, t: TenantId, kind: &str) -> Result<Vec<Record>> {
            self.0.records(t, kind)
        }
        fn records_by(&self, t: TenantId, kind: &str, secondary: &str) -> Result<Vec<Record>> {
            self.0.records_by(t, kind, secondary)
        }
        fn due_records(
            &self,
            kind: &str,
            until: DateTime<Utc>,
            limit: usize,
        ) -> Result<Vec<(TenantId, Record)>> {
            self.0.due_records(kind, until, limit)
        }
        fn next_due(&self, kind: &str) -> Result<Option<DateTime<Utc>>> {
            self.0.next_due(kind)
        }
        fn apply(&mut self, changes: ChangeSet) -> Result<()> {
            self.0.apply(changes)
        }
    }
}

#[test]
fn a_store_with_only_the_required_methods_conforms() {
    throughline::testkit::conformance::run(|| {
        required_only::RequiredOnly(throughline::store::MemoryStore::new())
    });
}

/// On a store without batches, a desk's batch commits every operation as it runs, and
/// discarding it is refused rather than pretended.
#[test]
fn a_desk_batch_on_a_store_without_batches_commits_as_it_goes() {
    use throughline::store::Store;
    use throughline::{Channel, Desk, DeskConfig, Error, Identifier, Inbound, TenantId};
    let t0 = chrono::DateTime::from_timestamp(1_772_442_000, 0).unwrap();
    let tenant: TenantId = "01900000-0000-7000-8000-0000000ba7c5".parse().unwrap();
    let mut desk = Desk::new(
        required_only::RequiredOnly(throughline::store::MemoryStore::new()),
        DeskConfig::default(),
    );
    assert!(!desk.store().supports_batches());
    let ana = Identifier::email("ana@example.com").unwrap();
    desk.begin_batch().unwrap();
    desk.ingest(
        Inbound::new(tenant, Channel::Sms, ana.clone(), "s-1", "Hello?"),
        t0,
    )
    .unwrap();
    let refused = desk.end_batch(false).unwrap_err();
    assert!(
        matches!(refused, Error::Invalid { field: "batch", .. }),
        "{refused}"
    );
    assert!(!desk.in_batch());
    assert!(desk
        .store()
        .message_by_external_id(tenant, &Channel::Sms, "s-1")
        .unwrap()
        .is_some());
    let filter = throughline::metrics::Filter::period(t0, t0 + chrono::TimeDelta::days(1));
    assert_eq!(
        desk.report(tenant, &filter).unwrap(),
        desk.report_from_store(tenant, &filter).unwrap()
    );
}
