//! `tracing` spans for the desk (the `tracing` feature, off by default). Each public
//! operation that reads or writes the store on a host's behalf opens one `INFO` span named
//! `desk.<operation>` (`desk.ingest`, `desk.reply`, `desk.set_status`, `desk.assign`,
//! `desk.messages`, `desk.tick`, …), with the fields `tenant` and the ids the call names
//! (`conversation`, `customer`, `message`, `agent`, `merge`, a merge's `from` and
//! `into`; an ingest records its
//! customer, conversation and message once the message has landed) and counts (`limit`,
//! `messages`); `desk.tick` and `desk.purge_expired` span every tenant and have no fields.
//! The desk's store calls open `DEBUG` spans: `store.apply` around
//! `Desk::apply_changes`, the single place the desk writes (`tenant`, and
//! `ops`, the number of writes), and `store.read_ahead` around an ingest's read-ahead
//! (`tenant`). Finer store tracing (each read) is the host's: wrap its
//! [`Store`](crate::store::Store). The personal-data rule: no span name or field carries a
//! message body, an identifier's value (an e-mail address, a phone number), a name, an
//! attribute, a provider's id, a reason or a note, only tenant and entity ids and counts.
//! The library reads no clock: the spans' timestamps are the subscriber's. Without the
//! feature [`op_span!`] and [`store_span!`] compile to nothing and the crate has no
//! `tracing` dependency.

/// What [`op_span!`] returns: the entered span with the feature, a zero-sized nothing
/// without it. Held as `let _span = op_span!(…);` for the operation's duration.
#[cfg(feature = "tracing")]
pub(crate) type SpanGuard = tracing::span::EnteredSpan;

/// What [`op_span!`] returns without the `tracing` feature: nothing.
#[cfg(not(feature = "tracing"))]
#[derive(Debug)]
pub(crate) struct SpanGuard;

/// Opens and enters an `INFO` span named by a string literal (`"desk.reply"`), with the
/// given `field = value` pairs (`tenant` first) recorded with their `Display`. Only ids
/// and counts may be passed (see the module docs). Without the `tracing` feature it
/// evaluates nothing but borrows of its arguments and returns [`SpanGuard`].
macro_rules! op_span {
    // Fields known only when the operation ends (recorded with [`record_ingested`]).
    ($name:literal $(, $field:ident = $value:expr)* ; later $($empty:ident),+) => {{
        #[cfg(feature = "tracing")]
        let guard: $crate::desk::trace::SpanGuard = ::tracing::info_span!(
            $name $(, $field = %$value)* $(, $empty = ::tracing::field::Empty)+
        )
        .entered();
        #[cfg(not(feature = "tracing"))]
        let guard = {
            let _ = ($(&$value,)*);
            $crate::desk::trace::SpanGuard
        };
        guard
    }};
    ($name:literal $(, $field:ident = $value:expr)* $(,)?) => {{
        #[cfg(feature = "tracing")]
        let guard: $crate::desk::trace::SpanGuard =
            ::tracing::info_span!($name $(, $field = %$value)*).entered();
        #[cfg(not(feature = "tracing"))]
        let guard = {
            let _ = ($(&$value,)*);
            $crate::desk::trace::SpanGuard
        };
        guard
    }};
}

/// As [`op_span!`] at the `DEBUG` level, for the desk's store calls.
macro_rules! store_span {
    ($name:literal $(, $field:ident = $value:expr)* $(,)?) => {{
        #[cfg(feature = "tracing")]
        let guard: $crate::desk::trace::SpanGuard =
            ::tracing::debug_span!($name $(, $field = %$value)*).entered();
        #[cfg(not(feature = "tracing"))]
        let guard = {
            let _ = ($(&$value,)*);
            $crate::desk::trace::SpanGuard
        };
        guard
    }};
}

pub(crate) use {op_span, store_span};

/// Records an ingest's customer, conversation and message ids on its span (opened by
/// [`op_span!`] with them `later`); nothing without the `tracing` feature.
pub(crate) fn record_ingested(span: &SpanGuard, got: &super::Ingested) {
    #[cfg(feature = "tracing")]
    {
        use tracing::field::display;
        span.record("customer", display(got.customer));
        span.record("conversation", display(got.conversation));
        span.record("message", display(got.message.id));
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (span, got);
}
