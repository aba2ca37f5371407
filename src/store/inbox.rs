//! Inbox views: a tenant's conversations as an agent's inbox lists them, a page at a time
//! ([`Store::inbox`](super::Store::inbox), [`Store::inbox_count`](super::Store::inbox_count)).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::conversation::{Conversation, Status};
use crate::error::{Error, Result};
use crate::id::{AgentId, ConversationId, TenantId};
use crate::store::{Record, Store};

/// The record kind of a conversation's SLA clocks (keyed by the conversation id); the
/// `Desk` writes them (`desk::sla`), the SLA view reads their due times.
pub(crate) const SLA_KIND: &str = "sla";

/// Which of a tenant's conversations an inbox lists, and in which order; read a page with
/// [`Store::inbox`] or [`Desk::inbox`](crate::Desk::inbox).
///
/// A page is the next `limit` conversations after a [`Cursor`] (keyset paging): a
/// conversation that changes between two pages moves in the order, and the others are
/// neither read twice nor skipped because of its move. Ties in the order's time are
/// broken by the conversation id, in the same direction. A cursor belongs to its view's
/// order: given to a view of another order it is refused.
///
/// | view | holds | order |
/// |---|---|---|
/// | [`InboxView::Status`] | the tenant's conversations with that status | most recently updated first: `(updated_at, id)` descending |
/// | [`InboxView::Assignee`] | assigned to the agent and not solved or closed | most recently updated first: `(updated_at, id)` descending |
/// | [`InboxView::Unassigned`] | new, open, pending or on hold, with no assignee | who waits longest first: `(created_at, id)` ascending |
/// | [`InboxView::SlaDueBefore`] | whose SLA clocks have a due time (the next warning or breach) before the instant | earliest due first: `(due, id)` ascending |
/// | [`InboxView::Queue`] | waiting in the routing queue | who waits longest first: `(waiting since, id)` ascending |
///
/// ```
/// use throughline::store::InboxView;
/// use throughline::Status;
/// let view = InboxView::Status(Status::Open);
/// assert_eq!(view, InboxView::Status(Status::Open));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InboxView {
    /// The conversations with this status, most recently updated first.
    Status(Status),
    /// The conversations assigned to this agent that are not solved or closed, most
    /// recently updated first.
    Assignee(AgentId),
    /// The conversations that are new, open, pending or on hold and have no assignee,
    /// oldest first (who has waited longest).
    Unassigned,
    /// The conversations whose SLA clocks are due (their next warning or breach) before
    /// this instant, earliest due first. Membership is the clocks' record (kind `"sla"`,
    /// keyed by the conversation id, the due time its index): a clock the `Desk` stopped
    /// has no due time and is not listed. [`Store::inbox_count`] counts the clocks; a
    /// clock whose conversation is missing (the `Desk` never writes one) is counted but
    /// not listed.
    SlaDueBefore(DateTime<Utc>),
    /// The conversations waiting in this routing queue, who waits longest first.
    /// Membership is the queue's record of each (kind [`queue_kind`], keyed by the
    /// conversation id, due at the instant it started waiting), which the `Desk` writes
    /// with its routing state.
    Queue(String),
}

/// The record kind of a routing queue's entries: one per waiting conversation, keyed by
/// its id, due at the instant it started waiting ([`InboxView::Queue`]).
pub fn queue_kind(queue: &str) -> String {
    format!("routing-queue:{queue}")
}

/// The order a view's pages follow, and so the kind of key its cursor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Order {
    /// `(updated_at, id)` descending.
    Updated,
    /// `(created_at, id)` ascending.
    Created,
    /// `(SLA due time, id)` ascending.
    Due,
}

impl Order {
    fn tag(self) -> char {
        match self {
            Order::Updated => 'u',
            Order::Created => 'c',
            Order::Due => 'd',
        }
    }

    fn of_tag(tag: &str) -> Option<Order> {
        match tag {
            "u" => Some(Order::Updated),
            "c" => Some(Order::Created),
            "d" => Some(Order::Due),
            _ => None,
        }
    }

    /// Whether the order is descending.
    pub(crate) fn descending(self) -> bool {
        self == Order::Updated
    }

    /// The `(time, id)` bound a first page starts from, as the SQL stores compare keys:
    /// after everything in a descending order, before everything in an ascending one (an
    /// id longer than any 16-byte id, or empty).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn first_bound(self) -> (i64, Vec<u8>) {
        if self.descending() {
            (i64::MAX, vec![0xFF; 17])
        } else {
            (i64::MIN, Vec::new())
        }
    }
}

/// The statuses of the conversations the company still owes something: what the
/// assignee and unassigned views hold.
pub(crate) const ACTIVE: [Status; 4] = [Status::New, Status::Open, Status::Pending, Status::OnHold];

impl InboxView {
    /// The order of the view's pages.
    pub(crate) fn order(&self) -> Order {
        match self {
            InboxView::Status(_) | InboxView::Assignee(_) => Order::Updated,
            InboxView::Unassigned => Order::Created,
            InboxView::SlaDueBefore(_) | InboxView::Queue(_) => Order::Due,
        }
    }

    /// Whether the view holds `c`, and the time it is ordered by; `None` for the SLA view
    /// (its membership is in the clocks' records, not in the conversation).
    pub(crate) fn key_of(&self, c: &Conversation) -> Option<DateTime<Utc>> {
        let active = ACTIVE.contains(&c.status);
        match self {
            InboxView::Status(s) => (c.status == *s).then_some(c.updated_at),
            InboxView::Assignee(a) => (active && c.assignee == Some(*a)).then_some(c.updated_at),
            InboxView::Unassigned => (active && c.assignee.is_none()).then_some(c.created_at),
            InboxView::SlaDueBefore(_) | InboxView::Queue(_) => None,
        }
    }

    /// For the views whose members are records (the SLA and queue views): the records'
    /// kind and the bound their due times stay before.
    pub(crate) fn due_records(&self) -> Option<(std::borrow::Cow<'static, str>, DateTime<Utc>)> {
        match self {
            InboxView::SlaDueBefore(t) => Some((SLA_KIND.into(), *t)),
            InboxView::Queue(q) => Some((queue_kind(q).into(), DateTime::<Utc>::MAX_UTC)),
            _ => None,
        }
    }

    /// Checks that `after` is a cursor of this view's order.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when the cursor was made for a view of another order.
    pub(crate) fn check(&self, after: Option<&Cursor>) -> Result<()> {
        match after {
            Some(c) if c.order != self.order() => Err(Error::invalid(
                "cursor",
                format!("cursor {c} belongs to a view of another order than {self:?}"),
            )),
            _ => Ok(()),
        }
    }
}

/// Where a page of an inbox view ends: the next page starts after it. Opaque; it turns
/// into text and back (`to_string()` through [`Display`](fmt::Display), [`str::parse`])
/// so a web host can put it
/// in a URL.
///
/// ```
/// use throughline::store::Cursor;
/// let c: Result<Cursor, _> = "not a cursor".parse();
/// assert!(matches!(c, Err(throughline::Error::Invalid { field: "cursor", .. })));
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    order: Order,
    at: DateTime<Utc>,
    id: ConversationId,
}

// `at` and `id` are read by the database stores' queries.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
impl Cursor {
    pub(crate) fn new(order: Order, at: DateTime<Utc>, id: ConversationId) -> Self {
        Cursor { order, at, id }
    }

    /// The time of the last conversation of the page, in the view's order.
    pub(crate) fn at(&self) -> DateTime<Utc> {
        self.at
    }

    /// The id of the last conversation of the page.
    pub(crate) fn id(&self) -> ConversationId {
        self.id
    }

    /// Whether a conversation with key `(at, id)` comes after the cursor in its order.
    pub(crate) fn precedes(&self, at: DateTime<Utc>, id: ConversationId) -> bool {
        if self.order.descending() {
            (at, id) < (self.at, self.id)
        } else {
            (at, id) > (self.at, self.id)
        }
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({self})")
    }
}

/// `TAG.SECONDS.NANOS.ID`, the id as 32 hex digits: `u.1767261600.000000000.0190…`.
impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{:09}.{}",
            self.order.tag(),
            self.at.timestamp(),
            self.at.timestamp_subsec_nanos(),
            self.id.as_uuid().simple()
        )
    }
}

impl FromStr for Cursor {
    type Err = Error;

    /// Reads a cursor written by its `to_string()`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] (field `"cursor"`) when `s` is not one.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", format!("{s:?} is not an inbox cursor"));
        let mut parts = s.split('.');
        let (Some(tag), Some(secs), Some(nanos), Some(id), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad());
        };
        let order = Order::of_tag(tag).ok_or_else(bad)?;
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        if !digits(secs.strip_prefix('-').unwrap_or(secs))
            || nanos.len() != 9
            || !digits(nanos)
            || id.len() != 32
        {
            return Err(bad());
        }
        let secs: i64 = secs.parse().map_err(|_| bad())?;
        let nanos: u32 = nanos.parse().map_err(|_| bad())?;
        let at = DateTime::from_timestamp(secs, nanos).ok_or_else(bad)?;
        let id = uuid::Uuid::try_parse(id).map_err(|_| bad())?;
        Ok(Cursor::new(order, at, ConversationId::from_uuid(id)))
    }
}

/// One page of an inbox view.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct InboxPage {
    /// The conversations, in the view's order.
    pub conversations: Vec<Conversation>,
    /// Where the next page starts; `None` when this page is the last.
    pub next: Option<Cursor>,
}

impl InboxPage {
    /// A page from keyed rows `(key time, conversation)` already in the view's order,
    /// one more than `limit` of them when another page follows.
    pub(crate) fn from_keyed(
        order: Order,
        rows: Vec<(DateTime<Utc>, Conversation)>,
        limit: usize,
    ) -> Self {
        let more = rows.len() > limit;
        let mut conversations = Vec::with_capacity(rows.len().min(limit));
        let mut next = None;
        for (at, c) in rows.into_iter().take(limit) {
            next = Some(Cursor::new(order, at, c.id));
            conversations.push(c);
        }
        InboxPage {
            conversations,
            next: next.filter(|_| more),
        }
    }
}

/// A page of `view` from `candidates` (its members with their key time, in any order):
/// sorts them in the view's order, keeps those after `after`, and takes `limit`.
pub(crate) fn page_of(
    view: &InboxView,
    mut candidates: Vec<(DateTime<Utc>, &Conversation)>,
    after: Option<&Cursor>,
    limit: usize,
) -> InboxPage {
    let order = view.order();
    if let Some(cursor) = after {
        candidates.retain(|(at, c)| cursor.precedes(*at, c.id));
    }
    if order.descending() {
        candidates.sort_unstable_by_key(|(at, c)| std::cmp::Reverse((*at, c.id)));
    } else {
        candidates.sort_unstable_by_key(|(at, c)| (*at, c.id));
    }
    let rows = candidates
        .into_iter()
        .take(limit.saturating_add(1))
        .map(|(at, c)| (at, c.clone()))
        .collect();
    InboxPage::from_keyed(order, rows, limit)
}

/// The SLA view's candidates among a tenant's clocks: `(due, conversation id)` of each
/// clock due before `before`, whose key is a conversation id.
pub(crate) fn due_clocks<'r>(
    records: impl IntoIterator<Item = &'r Record>,
    before: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, ConversationId)> {
    records
        .into_iter()
        .filter_map(|r| {
            let due = r.due.filter(|d| *d < before)?;
            Some((due, r.key.parse().ok()?))
        })
        .collect()
}

/// The count of clocks due before `before`, as the SLA view counts them.
pub(crate) fn count_due<'r>(
    records: impl IntoIterator<Item = &'r Record>,
    before: DateTime<Utc>,
) -> u64 {
    records
        .into_iter()
        .filter(|r| r.due.is_some_and(|d| d < before))
        .count() as u64
}

/// [`Store::inbox`]'s default: every conversation of the tenant (or every SLA clock)
/// read, filtered and sorted.
pub(crate) fn scan<S: Store + ?Sized>(
    store: &S,
    tenant: TenantId,
    view: &InboxView,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<InboxPage> {
    view.check(after)?;
    if let Some((kind, before)) = view.due_records() {
        let clocks = store.records(tenant, &kind)?;
        let mut convs = Vec::new();
        for (due, id) in due_clocks(&clocks, before) {
            if let Some(c) = store.conversation(tenant, id)? {
                convs.push((due, c));
            }
        }
        let keyed = convs.iter().map(|(due, c)| (*due, c)).collect();
        return Ok(page_of(view, keyed, after, limit));
    }
    let all = store.conversations_in(tenant, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)?;
    let keyed = all
        .iter()
        .filter_map(|c| Some((view.key_of(c)?, c)))
        .collect();
    Ok(page_of(view, keyed, after, limit))
}

/// [`Store::inbox_count`]'s default, as [`scan`] reads.
pub(crate) fn scan_count<S: Store + ?Sized>(
    store: &S,
    tenant: TenantId,
    view: &InboxView,
) -> Result<u64> {
    if let Some((kind, before)) = view.due_records() {
        return Ok(count_due(&store.records(tenant, &kind)?, before));
    }
    let all = store.conversations_in(tenant, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)?;
    Ok(all.iter().filter(|c| view.key_of(c).is_some()).count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, nanos).expect("valid time")
    }

    /// A cursor survives the trip through text, negative times and nanoseconds included.
    #[test]
    fn cursors_round_trip_through_text() {
        let id = ConversationId::from_uuid(uuid::Uuid::from_u128(0x0190_abcd));
        for (order, t) in [
            (Order::Updated, at(1_767_261_600, 0)),
            (Order::Created, at(-5, 123)),
            (Order::Due, at(4_000_000_000, 999_999_999)),
        ] {
            let c = Cursor::new(order, t, id);
            let text = c.to_string();
            assert_eq!(text.parse::<Cursor>().expect(&text), c);
        }
    }

    /// Anything else is refused as invalid, never a panic.
    #[test]
    fn malformed_cursors_are_invalid() {
        let good = Cursor::new(
            Order::Due,
            at(1, 2),
            ConversationId::from_uuid(uuid::Uuid::nil()),
        )
        .to_string();
        let mut bad = vec![
            String::new(),
            "u".into(),
            "x.1.000000000.00000000000000000000000000000000".into(),
            "u.1.1.00000000000000000000000000000000".into(),
            "u.1.1000000000.00000000000000000000000000000000".into(),
            "u.99999999999999999999.000000000.00000000000000000000000000000000".into(),
            "u.1.000000000.0000000000000000000000000000000g".into(),
            "u.1.000000000.00000000-0000-0000-0000-000000000000".into(),
            "u.1.+00000000.00000000000000000000000000000000".into(),
            format!("{good}.x"),
            "u.9223372036854775807.000000000.00000000000000000000000000000000".into(),
        ];
        bad.push(good.replace('.', ","));
        for s in bad {
            assert!(
                matches!(
                    s.parse::<Cursor>(),
                    Err(Error::Invalid {
                        field: "cursor",
                        ..
                    })
                ),
                "{s:?}"
            );
        }
    }

    /// A cursor of another order is refused by the view.
    #[test]
    fn a_view_refuses_a_cursor_of_another_order() {
        let c = Cursor::new(
            Order::Created,
            at(1, 0),
            ConversationId::from_uuid(uuid::Uuid::nil()),
        );
        assert!(InboxView::Unassigned.check(Some(&c)).is_ok());
        assert!(InboxView::Status(Status::Open).check(Some(&c)).is_err());
        assert!(InboxView::SlaDueBefore(at(2, 0)).check(Some(&c)).is_err());
    }
}
