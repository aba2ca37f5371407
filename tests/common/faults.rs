//! The fault-injection harness: every Desk operation (ingest, reply, note, status
//! changes, the agent operations, conversation merges and splits, tags, identity, merges,
//! tick, surveys, restriction, tenant settings, erasure), with the store failing at each
//! of its calls in turn (once, or from then on), returns an error, leaves the stored state
//! exactly as it was, and succeeds when retried. Run on each store by `tests/faults.rs`
//! (memory, SQLite) and `tests/postgres.rs` (PostgreSQL).

use chrono::{DateTime, TimeDelta, Utc};
use throughline::metrics::Csat;
use throughline::store::Store;
use throughline::testkit::{FaultMode, FaultyStore};
use throughline::{
    AgentId, Channel, CustomerId, Desk, DeskConfig, Identifier, Inbound, MergeId, Status, TenantId,
};

type D = Desk<FaultyStore<Box<dyn Store>>>;

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000fa17".parse().unwrap()
}

fn agent() -> AgentId {
    "01900000-0000-7000-8000-0000000a9e47".parse().unwrap()
}

/// What the setup left, for the operations to act on.
struct World {
    ana: CustomerId,
    bob: CustomerId,
    merge: Option<MergeId>,
}

/// What the setup does besides the basics.
#[derive(Clone, Copy, PartialEq)]
enum Pre {
    Nothing,
    /// Bob merged into Ana.
    Merged,
    /// Ana's conversation solved.
    Solved,
}

/// Two customers with a conversation each, then `pre`.
fn setup(make: &dyn Fn() -> Box<dyn Store>, pre: Pre) -> (D, World) {
    let mut desk = Desk::new(
        FaultyStore::new(make(), 0, FaultMode::Once),
        DeskConfig::default().id_seed(7),
    );
    let ana = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::WebChat,
                Identifier::email("ana@example.com").unwrap(),
                "c-1",
                "I want to return the shoes from order 1042",
            ),
            t(0),
        )
        .unwrap();
    let bob = desk
        .ingest(
            Inbound::new(
                tenant(),
                Channel::Sms,
                Identifier::phone("+31612345678", None).unwrap(),
                "s-1",
                "Where is my parcel?",
            ),
            t(1),
        )
        .unwrap();
    desk.reply((tenant(), ana.conversation), agent(), "We are on it", t(2))
        .unwrap();
    if pre == Pre::Solved {
        desk.set_status((tenant(), ana.conversation), Status::Solved, t(3))
            .unwrap();
    }
    let merge = (pre == Pre::Merged).then(|| {
        desk.merge_customers(tenant(), bob.customer, ana.customer, "same person", t(3))
            .unwrap()
    });
    (
        desk,
        World {
            ana: ana.customer,
            bob: bob.customer,
            merge,
        },
    )
}

/// Everything the public read API shows of the tenant.
fn snapshot(desk: &D, w: &World) -> String {
    let s = desk.store().inner();
    let mut out = String::new();
    for c in [w.ana, w.bob] {
        out += &format!("{:?}\n", s.customer(tenant(), c).unwrap());
        out += &format!("{:?}\n", s.identifiers_of(tenant(), c).unwrap());
        for conv in s.conversations_of(tenant(), c).unwrap() {
            out += &format!(
                "{conv:?}\n{:?}\n",
                s.messages_of(tenant(), conv.id).unwrap()
            );
        }
    }
    out += &format!("{:?}\n", s.outbox(tenant()).unwrap());
    for kind in [
        "sla",
        "language",
        "merge",
        "activity",
        "csat",
        "nps",
        "tenant-settings",
    ] {
        out += &format!("{kind}: {:?}\n", s.records(tenant(), kind).unwrap());
    }
    out
}

/// Replaces every UUID, and every keyed hash of an erased provider id, by its rank of
/// first appearance: a failed attempt may have drawn ids (or the tenant's erasure key),
/// so a retry's differ from a clean run's while the state is the same.
fn canonical(s: &str) -> String {
    let s = &hashes_ranked(s);
    let is_uuid = |w: &[u8]| {
        w.len() == 36
            && w.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    let bytes = s.as_bytes();
    let mut seen: Vec<&str> = Vec::new();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + 36 <= bytes.len() && is_uuid(&bytes[i..i + 36]) {
            let u = &s[i..i + 36];
            let n = seen.iter().position(|x| *x == u).unwrap_or_else(|| {
                seen.push(u);
                seen.len() - 1
            });
            out += &format!("#{n}");
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `erased:<64 hex digits>` (an erased provider id's keyed hash) replaced by its rank.
fn hashes_ranked(s: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("erased:") {
        let (head, tail) = rest.split_at(at + "erased:".len());
        out += head;
        let hex: String = tail.chars().take_while(char::is_ascii_hexdigit).collect();
        let n = seen.iter().position(|x| *x == hex).unwrap_or_else(|| {
            seen.push(hex.clone());
            seen.len() - 1
        });
        out += &format!("#h{n}");
        rest = &tail[hex.len()..];
    }
    out + rest
}

/// Panics with the first differing line, not two pages of state.
fn same(a: &str, b: &str, what: &str) {
    if a != b {
        let line = a
            .lines()
            .zip(b.lines())
            .find(|(x, y)| x != y)
            .map(|(x, y)| format!("\n got: {x}\nwant: {y}"))
            .unwrap_or_else(|| "\n(one state has more lines)".into());
        panic!("{what}{line}");
    }
}

type Op = fn(&mut D, &World) -> throughline::Result<()>;

fn ops() -> Vec<(&'static str, Pre, Op)> {
    vec![
        ("ingest a new customer", Pre::Nothing, |d, _| {
            d.ingest(
                Inbound::new(
                    tenant(),
                    Channel::Email,
                    Identifier::email("cy@example.com").unwrap(),
                    "<e-1@x>",
                    "Hallo, waar blijft mijn pakket?",
                ),
                t(10),
            )
            .map(|_| ())
        }),
        ("ingest a channel switch", Pre::Nothing, |d, _| {
            d.ingest(
                Inbound::new(
                    tenant(),
                    Channel::Email,
                    Identifier::email("ana@example.com").unwrap(),
                    "<e-2@x>",
                    "Any news on my return?",
                ),
                t(10),
            )
            .map(|_| ())
        }),
        ("reply", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.bob)?[0].id;
            d.reply((tenant(), c), agent(), "It arrives tomorrow", t(10))
                .map(|_| ())
        }),
        ("note", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.bob)?[0].id;
            d.note((tenant(), c), agent(), "checked the carrier", t(10))
                .map(|_| ())
        }),
        ("solve", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.ana)?[0].id;
            d.set_status((tenant(), c), Status::Solved, t(10))
                .map(|_| ())
        }),
        ("link an identifier", Pre::Nothing, |d, w| {
            d.link_identifier(
                tenant(),
                w.ana,
                Identifier::whatsapp("+31687654321", None)?,
                true,
                t(10),
            )
        }),
        ("merge", Pre::Nothing, |d, w| {
            d.merge_customers(tenant(), w.bob, w.ana, "same person", t(10))
                .map(|_| ())
        }),
        ("unmerge", Pre::Merged, |d, w| {
            d.unmerge(tenant(), w.merge.unwrap(), t(10)).map(|_| ())
        }),
        ("tick past the SLA deadlines", Pre::Nothing, |d, _| {
            d.tick(t(60 * 24 * 3)).map(|_| ())
        }),
        ("CSAT", Pre::Solved, |d, w| {
            let c = d.conversations_of(tenant(), w.ana)?[0].id;
            d.record_csat((tenant(), c), Csat::FivePoint(5), t(10))
        }),
        ("assign", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.ana)?[0].id;
            d.assign((tenant(), c), agent(), agent(), t(10)).map(|_| ())
        }),
        ("transfer to a queue", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.ana)?[0].id;
            d.transfer(
                (tenant(), c),
                throughline::conversation::Transfer::Queue("tier2".into()),
                "for the returns team",
                agent(),
                t(10),
            )
            .map(|_| ())
        }),
        ("set the priority", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.bob)?[0].id;
            d.set_priority((tenant(), c), throughline::Priority::High, agent(), t(10))
        }),
        ("set the status as an agent", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.bob)?[0].id;
            d.set_status_as((tenant(), c), Status::Pending, agent(), t(10))
                .map(|_| ())
        }),
        ("tag", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.bob)?[0].id;
            d.tag((tenant(), c), "returns", t(10)).map(|_| ())
        }),
        ("restrict processing", Pre::Nothing, |d, w| {
            d.restrict_customer(tenant(), w.bob, t(10))
        }),
        ("NPS", Pre::Nothing, |d, w| {
            d.record_nps(tenant(), w.ana, 9, t(10))
        }),
        ("change the tenant's SLA settings", Pre::Nothing, |d, _| {
            let mut s = throughline::settings::TenantSettings::default();
            s.sla = Some(
                throughline::sla::SlaPolicies::new()
                    .policy(throughline::sla::SlaPolicy::new("all").target_all(
                        throughline::sla::Metric::FirstReply,
                        TimeDelta::hours(2),
                        throughline::sla::Basis::Calendar,
                    ))
                    .build()?,
            );
            d.set_tenant_settings(tenant(), s, "admin", t(10))
                .map(|_| ())
        }),
        ("split a conversation", Pre::Nothing, |d, w| {
            let c = d.conversations_of(tenant(), w.ana)?[0].id;
            let first = d.messages((tenant(), c))?[0].id;
            d.split_conversation((tenant(), c), &[first], agent(), t(10))
                .map(|_| ())
        }),
        ("merge two conversations", Pre::Merged, |d, w| {
            let convs = d.conversations_of(tenant(), w.ana)?;
            let (a, b) = (convs[0].id, convs[1].id);
            d.merge_conversations((tenant(), b), (tenant(), a), agent(), t(10))
                .map(|_| ())
        }),
        ("erase a customer", Pre::Nothing, |d, w| {
            d.erase_customer(tenant(), w.bob, t(10)).map(|_| ())
        }),
    ]
}

/// Runs every operation on stores from `make`, a fresh empty one per setup. Each store is
/// dropped before `make` is called again, so a maker may clean up what the previous
/// store used.
pub fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    for (name, pre, op) in ops() {
        // The state a fault-free run leaves.
        let (mut clean, w) = setup(make, pre);
        let before = snapshot(&clean, &w);
        op(&mut clean, &w).unwrap_or_else(|e| panic!("{name} fails without faults: {e}"));
        let after = snapshot(&clean, &w);
        drop(clean);
        let calls = {
            let (mut d, w) = setup(make, pre);
            let start = d.store().calls();
            op(&mut d, &w).unwrap();
            d.store().calls() - start
        };
        assert!(calls > 0, "{name} makes store calls");
        for mode in [FaultMode::Once, FaultMode::FromThenOn] {
            for k in 1..=calls {
                let (mut d, w) = setup(make, pre);
                same(&snapshot(&d, &w), &before, "setup is deterministic");
                d.store().fail_after(k, mode);
                match op(&mut d, &w) {
                    Err(_) => {
                        same(
                            &snapshot(&d, &w),
                            &before,
                            &format!("{name}: fault at call {k} ({mode:?}) left a trace"),
                        );
                        d.store().disarm();
                        op(&mut d, &w).unwrap_or_else(|e| {
                            panic!("{name}: retry after fault at call {k} failed: {e}")
                        });
                    }
                    Ok(()) => {
                        // The fault hit a read whose failure the operation tolerates, or a
                        // resumable operation (tick) returned what it committed: the next
                        // call does the rest.
                        d.store().disarm();
                        if name.starts_with("tick") {
                            op(&mut d, &w).unwrap();
                        }
                    }
                }
                same(
                    &canonical(&snapshot(&d, &w)),
                    &canonical(&after),
                    &format!(
                        "{name}: fault at call {k} ({mode:?}) then retry differs from a clean run"
                    ),
                );
                // Live metrics agree with the store.
                let filter = throughline::metrics::Filter::period(t(-60), t(60 * 24 * 30));
                assert_eq!(
                    format!("{:?}", d.report(tenant(), &filter).unwrap()),
                    format!("{:?}", d.report_from_store(tenant(), &filter).unwrap()),
                    "{name}: live metrics drifted after fault at call {k}"
                );
            }
        }
    }
}
