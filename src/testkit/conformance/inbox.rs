//! [`inbox_views`]: the inbox views of [`Store::inbox`] and [`Store::inbox_count`].

use chrono::{DateTime, TimeDelta, Utc};

use super::{conversation, set, t, tenant, uuid};
use crate::conversation::{Conversation, Status};
use crate::error::Error;
use crate::id::{AgentId, ConversationId, CustomerId, TenantId};
use crate::store::{queue_kind, Cursor, InboxView, Op, Record, Store};

/// One conversation of the fixture: number, status, assignee (agent 1 or 2), opened and
/// updated (seconds), and the SLA due time (seconds), if any.
type Row = (u128, Status, Option<u128>, i64, i64, Option<i64>);

/// Tenant 1's conversations: ties in every order key (so the id decides), times with
/// nanoseconds (a store must keep them, not microseconds), inserted out of order.
const ROWS: [Row; 12] = [
    (0x107, Status::Open, None, 40, 300, Some(500)),
    (0x103, Status::New, None, 10, 100, Some(400)),
    (0x10c, Status::Open, Some(1), 5, 300, Some(400)),
    (0x101, Status::Pending, None, 10, 250, None),
    (0x10a, Status::Open, Some(1), 30, 300, Some(900)),
    (0x102, Status::OnHold, Some(2), 20, 200, Some(450)),
    (0x105, Status::Solved, None, 1, 350, None),
    (0x109, Status::Solved, Some(1), 2, 360, Some(420)),
    (0x104, Status::Closed, None, 3, 370, None),
    (0x10b, Status::Open, None, 10, 120, Some(2000)),
    (0x106, Status::New, Some(1), 50, 120, None),
    (0x108, Status::Open, Some(1), 60, 300, Some(400)),
];

/// The SLA view's bound, in seconds: the clocks due before it are listed.
const SLA_BOUND: i64 = 1000;

fn agent(n: u128) -> AgentId {
    AgentId::from_uuid(uuid(0xA9E0 + n))
}

fn time(secs: i64) -> DateTime<Utc> {
    t(secs) + TimeDelta::nanoseconds(123_456_789)
}

fn sla_record(c: &Conversation, due: Option<i64>, version: u64) -> Record {
    let mut r = Record::new("sla", c.id.to_string(), serde_json::json!({ "v": version }));
    r.due = due.map(time);
    r.version = version;
    r
}

/// The routing queue `"q"`'s entry for `c`, waiting since `due`: the fixture puts every
/// conversation with an SLA due time in it too, so the queue view lists the same
/// conversations in the same order as the SLA view without its bound.
fn queue_record(c: &Conversation, due: i64, version: u64) -> Record {
    let mut r = Record::new(queue_kind("q"), c.id.to_string(), serde_json::json!({}));
    r.due = Some(time(due));
    r.version = version;
    r
}

/// Writes `rows` into `tn` (customer `cust`), with an SLA record for each.
fn fixture<S: Store>(s: &mut S, tn: TenantId, rows: &[Row], shift: u128) -> Vec<Conversation> {
    let cust = CustomerId::from_uuid(uuid(0xC0 + shift));
    let mut convs = Vec::new();
    let mut ops = Vec::new();
    for &(n, status, assignee, created, updated, due) in rows {
        let mut c = conversation(tn, n + shift, cust, 1);
        c.status = status;
        c.assignee = assignee.map(agent);
        c.created_at = time(created);
        c.updated_at = time(updated);
        ops.push(Op::PutConversation(c.clone()));
        ops.push(Op::PutRecord(sla_record(&c, due, 1)));
        if let Some(d) = due {
            ops.push(Op::PutRecord(queue_record(&c, d, 1)));
        }
        convs.push(c);
    }
    s.apply(set(tn, ops)).expect("inbox fixture");
    convs
}

/// The view computed from the conversations and their SLA due times, independently of
/// the crate's own code: the ids in the documented order.
fn expected(view: &InboxView, convs: &[(Conversation, Option<i64>)]) -> Vec<ConversationId> {
    let active = |c: &Conversation| {
        matches!(
            c.status,
            Status::New | Status::Open | Status::Pending | Status::OnHold
        )
    };
    let mut keyed: Vec<(DateTime<Utc>, ConversationId)> = convs
        .iter()
        .filter_map(|(c, due)| match view {
            InboxView::Status(s) => (c.status == *s).then_some((c.updated_at, c.id)),
            InboxView::Assignee(a) => {
                (active(c) && c.assignee == Some(*a)).then_some((c.updated_at, c.id))
            }
            InboxView::Unassigned => {
                (active(c) && c.assignee.is_none()).then_some((c.created_at, c.id))
            }
            InboxView::SlaDueBefore(b) => due.map(time).filter(|d| d < b).map(|d| (d, c.id)),
            InboxView::Queue(q) if q == "q" => due.map(|d| (time(d), c.id)),
            _ => None,
        })
        .collect();
    keyed.sort();
    if matches!(view, InboxView::Status(_) | InboxView::Assignee(_)) {
        keyed.reverse();
    }
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Every page of `view`, `limit` at a time, each cursor passed through its text as a web
/// host would: the ids in order. Checks each page's size and that only the last one
/// has no cursor.
fn walk<S: Store>(s: &S, tn: TenantId, view: &InboxView, limit: usize) -> Vec<ConversationId> {
    let mut ids = Vec::new();
    let mut after: Option<Cursor> = None;
    for _ in 0..100 {
        let page = s
            .inbox(tn, view, after.as_ref(), limit)
            .expect("inbox page");
        assert!(
            page.conversations.len() <= limit,
            "{view:?}: a page of {limit} holds {}",
            page.conversations.len()
        );
        assert!(
            page.conversations.iter().all(|c| c.tenant == tn),
            "{view:?}: another tenant's conversation"
        );
        ids.extend(page.conversations.iter().map(|c| c.id));
        match page.next {
            None => return ids,
            Some(next) => {
                assert_eq!(
                    page.conversations.len(),
                    limit,
                    "{view:?}: a short page that is not the last"
                );
                let text = next.to_string();
                let parsed: Cursor = text.parse().expect("a cursor reads back from its text");
                assert_eq!(parsed, next, "{view:?}: the cursor survives its text");
                after = Some(parsed);
            }
        }
    }
    panic!("{view:?}: pages of {limit} never end");
}

/// Every view of `tn` lists, pages and counts what [`expected`] says.
fn views_agree<S: Store>(s: &S, tn: TenantId, convs: &[(Conversation, Option<i64>)], when: &str) {
    let mut views: Vec<InboxView> = Status::ALL.iter().map(|s| InboxView::Status(*s)).collect();
    views.extend([
        InboxView::Assignee(agent(1)),
        InboxView::Assignee(agent(2)),
        InboxView::Assignee(agent(3)),
        InboxView::Unassigned,
        InboxView::SlaDueBefore(t(SLA_BOUND)),
        InboxView::SlaDueBefore(t(0)),
        InboxView::Queue("q".into()),
        InboxView::Queue("nobody's".into()),
    ]);
    for view in &views {
        let want = expected(view, convs);
        let all = s.inbox(tn, view, None, 1000).expect("inbox");
        let got: Vec<ConversationId> = all.conversations.iter().map(|c| c.id).collect();
        assert_eq!(got, want, "{when}: {view:?} holds these, in this order");
        assert!(all.next.is_none(), "{when}: {view:?} fits one page");
        for limit in [1, 2, 3] {
            assert_eq!(
                walk(s, tn, view, limit),
                want,
                "{when}: {view:?} in pages of {limit}"
            );
        }
        assert_eq!(
            s.inbox_count(tn, view).expect("count"),
            want.len() as u64,
            "{when}: {view:?} counts its conversations"
        );
        let none = s.inbox(tn, view, None, 0).expect("limit 0");
        assert!(
            none.conversations.is_empty() && none.next.is_none(),
            "limit 0"
        );
    }
}

/// The inbox views: membership, order (ties broken by id), paging by cursor with no
/// duplicate or gap, counts, conversations moving between views as they change,
/// tenant isolation, and cursors that are malformed, of another view's order or of a
/// position no conversation holds.
pub fn inbox_views<S: Store>(mut s: S) {
    let (a, b) = (tenant(1), tenant(2));
    let mut convs: Vec<(Conversation, Option<i64>)> = fixture(&mut s, a, &ROWS, 0)
        .into_iter()
        .zip(ROWS.iter().map(|r| r.5))
        .collect();
    // Tenant 2 has conversations of its own for every view, the same agents included.
    let theirs = fixture(&mut s, b, &ROWS[..6], 0x1000);
    views_agree(&s, a, &convs, "the fixture");
    let b_unassigned = s.inbox(b, &InboxView::Unassigned, None, 100).expect("read");
    assert!(
        b_unassigned.conversations.iter().all(|c| c.tenant == b)
            && b_unassigned.conversations.len() == 3,
        "tenant 2 sees only its own"
    );
    assert!(!theirs.is_empty());
    let nobody = tenant(9);
    for view in [InboxView::Unassigned, InboxView::SlaDueBefore(t(SLA_BOUND))] {
        assert!(s
            .inbox(nobody, &view, None, 10)
            .expect("read")
            .conversations
            .is_empty());
        assert_eq!(s.inbox_count(nobody, &view).expect("count"), 0);
    }
    conversations_move_between_views(&mut s, a, &mut convs);
    cursors_are_checked(&s, a, &convs);
}

/// Assigning, changing a status and solving move a conversation between views; a clock
/// whose due time moves moves in the SLA view.
fn conversations_move_between_views<S: Store>(
    s: &mut S,
    tn: TenantId,
    convs: &mut [(Conversation, Option<i64>)],
) {
    let mut change = |s: &mut S, i: usize, at: i64, f: &dyn Fn(&mut Conversation)| {
        let (c, due) = &mut convs[i];
        f(c);
        c.version += 1;
        c.updated_at = time(at);
        let mut ops = vec![Op::PutConversation(c.clone())];
        if i == 1 {
            // Its clock is re-armed later.
            *due = Some(950);
            ops.push(Op::PutRecord(sla_record(c, *due, 2)));
            ops.push(Op::PutRecord(queue_record(c, 950, 2)));
        }
        s.apply(set(tn, ops)).expect("update");
    };
    // 0x107 (open, unassigned) is assigned to agent 2: it leaves the unassigned view and
    // heads agent 2's.
    change(s, 0, 400, &|c| c.assignee = Some(agent(2)));
    // 0x103 (new) becomes open; its clock moves.
    change(s, 1, 410, &|c| c.status = Status::Open);
    // 0x10a (open, agent 1) is solved: it leaves agent 1's view.
    change(s, 4, 420, &|c| c.status = Status::Solved);
    // 0x102 (on hold, agent 2) loses its assignee: it joins the unassigned view.
    change(s, 5, 430, &|c| c.assignee = None);
    let snapshot: Vec<(Conversation, Option<i64>)> = convs.to_vec();
    views_agree(s, tn, &snapshot, "after the updates");
    let head = |s: &S, v: InboxView| s.inbox(tn, &v, None, 1).expect("read").conversations;
    assert_eq!(head(s, InboxView::Assignee(agent(2)))[0].id, convs[0].0.id);
    assert_eq!(
        head(s, InboxView::Status(Status::Solved))[0].id,
        convs[4].0.id
    );
}

/// A malformed cursor does not parse; a cursor of another order is refused; a
/// well-formed cursor at a position no conversation holds pages from that position.
fn cursors_are_checked<S: Store>(s: &S, tn: TenantId, convs: &[(Conversation, Option<i64>)]) {
    for text in [
        "",
        "garbage",
        "u.1.2.3",
        "z.1.000000000.00000000000000000000000000000000",
    ] {
        assert!(
            matches!(text.parse::<Cursor>(), Err(Error::Invalid { .. })),
            "{text:?} is not a cursor"
        );
    }
    let first = s
        .inbox(tn, &InboxView::Unassigned, None, 1)
        .expect("read")
        .next
        .expect("more than one unassigned");
    assert!(
        matches!(
            s.inbox(tn, &InboxView::Status(Status::Open), Some(&first), 5),
            Err(Error::Invalid { .. })
        ),
        "a cursor of the unassigned view on a status view"
    );
    // A created-order cursor at 10 s (+ the fixture's nanoseconds), between the ids of
    // the conversations opened then (0x102 was opened at 20 s), names no position a
    // conversation holds.
    let gap = ConversationId::from_uuid(uuid(0x102));
    let text = format!(
        "c.{}.123456789.{}",
        t(10).timestamp(),
        gap.as_uuid().simple()
    );
    let cursor: Cursor = text.parse().expect("a well-formed cursor");
    let want: Vec<ConversationId> = expected(&InboxView::Unassigned, convs)
        .into_iter()
        .filter(|id| {
            let c = &convs.iter().find(|(c, _)| c.id == *id).expect("member").0;
            (c.created_at, c.id) > (time(10), gap)
        })
        .collect();
    let got: Vec<ConversationId> = s
        .inbox(tn, &InboxView::Unassigned, Some(&cursor), 100)
        .expect("read")
        .conversations
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(got, want, "from a position no conversation holds");
}

/// The views follow a `Desk`: what it ingests waits unassigned, oldest first, with its
/// SLA clocks due; what it solves moves to the solved view and leaves the others.
pub fn desk_inbox_story<S: Store>(store: S) {
    use crate::desk::{Desk, DeskConfig};
    use crate::identity::Identifier;
    use crate::message::Inbound;
    let mut desk = Desk::new(store, DeskConfig::default());
    let tn = tenant(3);
    let mut ids = Vec::new();
    for (n, who) in ["ana@example.com", "bo@example.com", "cy@example.com"]
        .iter()
        .enumerate()
    {
        let from = Identifier::email(who).expect("address");
        let inbound = Inbound::new(tn, crate::Channel::Email, from, format!("m{n}"), "Hello?");
        let at = t(60 * n as i64);
        ids.push(desk.ingest(inbound, at).expect("ingest").conversation);
    }
    let list = |desk: &Desk<S>, view: InboxView| -> Vec<ConversationId> {
        let page = desk.inbox(tn, &view, None, 10).expect("inbox");
        let count = desk.inbox_count(tn, &view).expect("count");
        assert_eq!(
            count,
            page.conversations.len() as u64,
            "{view:?} counts its own"
        );
        page.conversations.iter().map(|c| c.id).collect()
    };
    assert_eq!(list(&desk, InboxView::Unassigned), ids, "oldest first");
    let year = t(0) + TimeDelta::days(365);
    let due = list(&desk, InboxView::SlaDueBefore(year));
    assert_eq!(due, ids, "each conversation's first-reply clock runs");
    assert!(list(&desk, InboxView::SlaDueBefore(t(0))).is_empty());
    desk.set_status((tn, ids[1]), Status::Solved, t(300))
        .expect("solve");
    assert_eq!(list(&desk, InboxView::Unassigned), vec![ids[0], ids[2]]);
    assert_eq!(list(&desk, InboxView::Status(Status::Solved)), vec![ids[1]]);
    assert_eq!(
        list(&desk, InboxView::Status(Status::New)),
        vec![ids[2], ids[0]],
        "most recently updated first"
    );
}
