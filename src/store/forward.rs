//! [`forward_store!`]: every method of [`Store`](super::Store) written once as a call to
//! another store, for the impls that wrap one (`Box<S>`, `&mut S`, the test wrappers of
//! `testkit`). A method added to the trait is added here, and every wrapper forwards it.

use std::ops::{Deref, DerefMut};

/// Writes every method of `Store`, inside an `impl Store for ...` block, as a call to
/// the store the implementing type wraps:
///
/// ```text
/// forward_store!(inner: INNER, read: READ, write: WRITE);
/// ```
///
/// * `READ` is called as `READ(self, "customer", |inner| inner.customer(t, id))` for
///   every `&self` method, and `WRITE` as `WRITE(self, "apply", |inner| inner.apply(c))`
///   for every `&mut self` one. They are the hook around each call: they get the
///   method's name and a closure that makes the call on the inner store, may check,
///   count or time it, and return what the closure returns (or an error instead).
///   [`through`] and [`through_mut`] are the hooks of a plain forward.
/// * `INNER` is a function from `&self` to the inner store, for `supports_batches`: a
///   question about the store, not a call to it, so it passes no hook.
macro_rules! forward_store {
    (inner: $inner:expr, read: $read:expr, write: $write:expr $(,)?) => {
        fn customer(
            &self,
            t: $crate::id::TenantId,
            id: $crate::id::CustomerId,
        ) -> $crate::Result<Option<$crate::identity::Customer>> {
            $read(self, "customer", |s| s.customer(t, id))
        }
        fn identifier(
            &self,
            t: $crate::id::TenantId,
            i: &$crate::identity::Identifier,
        ) -> $crate::Result<Option<$crate::identity::IdentifierRecord>> {
            $read(self, "identifier", |s| s.identifier(t, i))
        }
        fn identifiers_of(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::CustomerId,
        ) -> $crate::Result<Vec<$crate::identity::IdentifierRecord>> {
            $read(self, "identifiers_of", |s| s.identifiers_of(t, c))
        }
        fn conversation(
            &self,
            t: $crate::id::TenantId,
            id: $crate::id::ConversationId,
        ) -> $crate::Result<Option<$crate::conversation::Conversation>> {
            $read(self, "conversation", |s| s.conversation(t, id))
        }
        fn conversations_of(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::CustomerId,
        ) -> $crate::Result<Vec<$crate::conversation::Conversation>> {
            $read(self, "conversations_of", |s| s.conversations_of(t, c))
        }
        fn conversations_in(
            &self,
            t: $crate::id::TenantId,
            from: ::chrono::DateTime<::chrono::Utc>,
            to: ::chrono::DateTime<::chrono::Utc>,
        ) -> $crate::Result<Vec<$crate::conversation::Conversation>> {
            $read(self, "conversations_in", |s| {
                s.conversations_in(t, from, to)
            })
        }
        fn conversations_in_page(
            &self,
            t: $crate::id::TenantId,
            from: ::chrono::DateTime<::chrono::Utc>,
            to: ::chrono::DateTime<::chrono::Utc>,
            after: Option<(
                ::chrono::DateTime<::chrono::Utc>,
                $crate::id::ConversationId,
            )>,
            limit: usize,
        ) -> $crate::Result<Vec<$crate::conversation::Conversation>> {
            $read(self, "conversations_in_page", |s| {
                s.conversations_in_page(t, from, to, after, limit)
            })
        }
        fn inbox(
            &self,
            t: $crate::id::TenantId,
            view: &$crate::store::InboxView,
            after: Option<&$crate::store::Cursor>,
            limit: usize,
        ) -> $crate::Result<$crate::store::InboxPage> {
            $read(self, "inbox", |s| s.inbox(t, view, after, limit))
        }
        fn inbox_count(
            &self,
            t: $crate::id::TenantId,
            view: &$crate::store::InboxView,
        ) -> $crate::Result<u64> {
            $read(self, "inbox_count", |s| s.inbox_count(t, view))
        }
        fn open_conversation(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::CustomerId,
        ) -> $crate::Result<Option<$crate::conversation::Conversation>> {
            $read(self, "open_conversation", |s| s.open_conversation(t, c))
        }
        fn message(
            &self,
            t: $crate::id::TenantId,
            id: $crate::id::MessageId,
        ) -> $crate::Result<Option<$crate::message::Message>> {
            $read(self, "message", |s| s.message(t, id))
        }
        fn message_by_external_id(
            &self,
            t: $crate::id::TenantId,
            ch: &$crate::channel::Channel,
            ext: &str,
        ) -> $crate::Result<Option<$crate::message::Message>> {
            $read(self, "message_by_external_id", |s| {
                s.message_by_external_id(t, ch, ext)
            })
        }
        fn messages_of(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::ConversationId,
        ) -> $crate::Result<Vec<$crate::message::Message>> {
            $read(self, "messages_of", |s| s.messages_of(t, c))
        }
        fn message_ids_of(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::ConversationId,
        ) -> $crate::Result<Vec<$crate::id::MessageId>> {
            $read(self, "message_ids_of", |s| s.message_ids_of(t, c))
        }
        fn recent_messages(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::ConversationId,
            limit: usize,
        ) -> $crate::Result<Vec<$crate::message::Message>> {
            $read(self, "recent_messages", |s| s.recent_messages(t, c, limit))
        }
        fn messages_before(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::ConversationId,
            before: $crate::store::MessageKey,
            limit: usize,
        ) -> $crate::Result<Vec<$crate::message::Message>> {
            $read(self, "messages_before", |s| {
                s.messages_before(t, c, before, limit)
            })
        }
        fn latest_inbound(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::ConversationId,
            channel: &$crate::channel::Channel,
        ) -> $crate::Result<Option<$crate::message::Message>> {
            $read(self, "latest_inbound", |s| s.latest_inbound(t, c, channel))
        }
        fn timeline(
            &self,
            t: $crate::id::TenantId,
            c: $crate::id::CustomerId,
            limit: Option<usize>,
        ) -> $crate::Result<Vec<$crate::message::Message>> {
            $read(self, "timeline", |s| s.timeline(t, c, limit))
        }
        fn thread(
            &self,
            t: $crate::id::TenantId,
            key: &str,
        ) -> $crate::Result<Option<$crate::id::ConversationId>> {
            $read(self, "thread", |s| s.thread(t, key))
        }
        fn outbox(&self, t: $crate::id::TenantId) -> $crate::Result<Vec<$crate::message::Message>> {
            $read(self, "outbox", |s| s.outbox(t))
        }
        fn record(
            &self,
            t: $crate::id::TenantId,
            kind: &str,
            key: &str,
        ) -> $crate::Result<Option<$crate::store::Record>> {
            $read(self, "record", |s| s.record(t, kind, key))
        }
        fn records(
            &self,
            t: $crate::id::TenantId,
            kind: &str,
        ) -> $crate::Result<Vec<$crate::store::Record>> {
            $read(self, "records", |s| s.records(t, kind))
        }
        fn records_by(
            &self,
            t: $crate::id::TenantId,
            kind: &str,
            secondary: &str,
        ) -> $crate::Result<Vec<$crate::store::Record>> {
            $read(self, "records_by", |s| s.records_by(t, kind, secondary))
        }
        fn due_records(
            &self,
            kind: &str,
            until: ::chrono::DateTime<::chrono::Utc>,
            limit: usize,
        ) -> $crate::Result<Vec<($crate::id::TenantId, $crate::store::Record)>> {
            $read(self, "due_records", |s| s.due_records(kind, until, limit))
        }
        fn next_due(
            &self,
            kind: &str,
        ) -> $crate::Result<Option<::chrono::DateTime<::chrono::Utc>>> {
            $read(self, "next_due", |s| s.next_due(kind))
        }
        fn read_ahead(
            &self,
            t: $crate::id::TenantId,
            plan: &$crate::store::ReadPlan<'_>,
        ) -> $crate::Result<$crate::store::ReadAhead> {
            $read(self, "read_ahead", |s| s.read_ahead(t, plan))
        }
        fn apply(&mut self, changes: $crate::store::ChangeSet) -> $crate::Result<()> {
            $write(self, "apply", |s| s.apply(changes))
        }
        fn supports_batches(&self) -> bool {
            $inner(self).supports_batches()
        }
        fn begin_batch(&mut self) -> $crate::Result<()> {
            $write(self, "begin_batch", |s| s.begin_batch())
        }
        fn scrub(&mut self) -> $crate::Result<()> {
            $write(self, "scrub", |s| s.scrub())
        }
        fn end_batch(&mut self, commit: bool) -> $crate::Result<()> {
            $write(self, "end_batch", |s| s.end_batch(commit))
        }
    };
}
pub(crate) use forward_store;

/// The `read` hook of a plain forward: makes the call on the store behind `p`.
pub(crate) fn through<P: Deref + ?Sized, T>(
    p: &P,
    _method: &'static str,
    call: impl FnOnce(&P::Target) -> T,
) -> T {
    call(&**p)
}

/// The `write` hook of a plain forward: makes the call on the store behind `p`.
pub(crate) fn through_mut<P: DerefMut + ?Sized, T>(
    p: &mut P,
    _method: &'static str,
    call: impl FnOnce(&mut P::Target) -> T,
) -> T {
    call(&mut **p)
}

/// Calls every method of `Store` but `supports_batches` once, in the order of
/// [`tests::EVERY_METHOD`], ignoring the answers (the store may be empty).
#[cfg(test)]
pub(crate) fn call_every_method(s: &mut impl super::Store) {
    use chrono::DateTime;

    use crate::id::{ConversationId, CustomerId, MessageId, TenantId};
    use crate::{Channel, Identifier};

    let id = uuid::Uuid::from_u128;
    let t = TenantId::from_uuid(id(1));
    let (cu, co) = (
        CustomerId::from_uuid(id(2)),
        ConversationId::from_uuid(id(3)),
    );
    let at = DateTime::from_timestamp(1_767_261_600, 0).expect("valid time");
    let email = Identifier::email("ana@example.com").expect("valid address");
    let _ = s.customer(t, cu);
    let _ = s.identifier(t, &email);
    let _ = s.identifiers_of(t, cu);
    let _ = s.conversation(t, co);
    let _ = s.conversations_of(t, cu);
    let _ = s.conversations_in(t, at, at);
    let _ = s.conversations_in_page(t, at, at, None, 2);
    let _ = s.inbox(t, &super::InboxView::Unassigned, None, 2);
    let _ = s.inbox_count(t, &super::InboxView::Unassigned);
    let _ = s.open_conversation(t, cu);
    let _ = s.message(t, MessageId::from_uuid(id(4)));
    let _ = s.message_by_external_id(t, &Channel::Sms, "SM1");
    let _ = s.messages_of(t, co);
    let _ = s.message_ids_of(t, co);
    let _ = s.recent_messages(t, co, 2);
    let _ = s.latest_inbound(t, co, &Channel::Sms);
    let _ = s.timeline(t, cu, None);
    let _ = s.thread(t, "<m1@mail.example>");
    let _ = s.outbox(t);
    let _ = s.record(t, "k", "a");
    let _ = s.records(t, "k");
    let _ = s.records_by(t, "k", "x");
    let _ = s.due_records("k", at, 2);
    let _ = s.next_due("k");
    let _ = s.read_ahead(t, &super::ReadPlan::default());
    let _ = s.apply(super::ChangeSet::new(t));
    let _ = s.begin_batch();
    let _ = s.scrub();
    let _ = s.end_batch(false);
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::error::Result;
    use crate::store::{MemoryStore, Store};

    /// Every method of `Store` but `supports_batches`, as [`call_every_method`] calls them.
    pub(crate) const EVERY_METHOD: [&str; 29] = [
        "customer",
        "identifier",
        "identifiers_of",
        "conversation",
        "conversations_of",
        "conversations_in",
        "conversations_in_page",
        "inbox",
        "inbox_count",
        "open_conversation",
        "message",
        "message_by_external_id",
        "messages_of",
        "message_ids_of",
        "recent_messages",
        "latest_inbound",
        "timeline",
        "thread",
        "outbox",
        "record",
        "records",
        "records_by",
        "due_records",
        "next_due",
        "read_ahead",
        "apply",
        "begin_batch",
        "scrub",
        "end_batch",
    ];

    /// A wrapper whose hooks write down the name of every call that reaches them.
    struct Recorder {
        inner: MemoryStore,
        seen: RefCell<Vec<&'static str>>,
    }

    impl Recorder {
        fn new() -> Self {
            Recorder {
                inner: MemoryStore::new(),
                seen: RefCell::new(Vec::new()),
            }
        }
        fn inner(&self) -> &MemoryStore {
            &self.inner
        }
        fn note<T>(&self, method: &'static str, call: impl FnOnce(&MemoryStore) -> T) -> T {
            self.seen.borrow_mut().push(method);
            call(&self.inner)
        }
        fn note_mut<T>(
            &mut self,
            method: &'static str,
            call: impl FnOnce(&mut MemoryStore) -> T,
        ) -> T {
            self.seen.borrow_mut().push(method);
            call(&mut self.inner)
        }
    }

    impl Store for Recorder {
        forward_store!(inner: Self::inner, read: Self::note, write: Self::note_mut);
    }

    /// Each generated method passes its own name to the hook, once, and reaches the
    /// inner store (a batch opened through the wrapper is open inside it).
    #[test]
    fn each_method_passes_its_name_to_the_hook() {
        let mut r = Recorder::new();
        call_every_method(&mut r);
        assert_eq!(*r.seen.borrow(), EVERY_METHOD);
        assert!(r.supports_batches(), "the inner store's answer");
        assert_eq!(r.seen.borrow().len(), EVERY_METHOD.len(), "not a call");
        r.begin_batch().expect("begin");
        assert!(r.inner.begin_batch().is_err(), "the batch opened inside");
    }

    /// `Box<S>` and `&mut S` forward every method, the ones with defaults too, to the
    /// store inside: the recorder inside sees each of them, not the calls a default
    /// would make instead.
    #[test]
    fn box_and_borrow_forward_every_method() {
        let mut boxed = Box::new(Recorder::new());
        call_every_method(&mut boxed);
        assert_eq!(*boxed.seen.borrow(), EVERY_METHOD);
        assert!(Store::supports_batches(&boxed));
        let mut r = Recorder::new();
        call_every_method(&mut &mut r);
        assert_eq!(*r.seen.borrow(), EVERY_METHOD);
        assert!(Store::supports_batches(&&mut r));
    }

    /// The plain hooks return what the call returns.
    #[test]
    fn plain_hooks_return_the_answer() {
        let b = Box::new(7);
        assert_eq!(through(&b, "x", |n| *n + 1), 8);
        let mut b = Box::new(7);
        let r: Result<()> = through_mut(&mut b, "x", |n| {
            *n += 1;
            Ok(())
        });
        assert!(r.is_ok());
        assert_eq!(*b, 8);
    }
}
