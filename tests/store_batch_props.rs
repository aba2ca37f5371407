//! Reads inside and between batches: `SqliteStore` (which answers reads inside a batch
//! from the rows the batch already read or wrote) and `MemoryStore` (which has no such
//! cache) run the same random writes, batches and reads in lockstep, and agree on every
//! result: each apply succeeds or fails alike, and every row reads the same after every
//! step.

#![cfg(feature = "sqlite")]

mod common;
use common::lockstep::Lockstep;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use throughline::identity::Customer;
use throughline::store::{ChangeSet, MemoryStore, Op, Record, Store};
use throughline::{CustomerId, TenantId};

const KEYS: u8 = 3;

#[derive(Debug, Clone)]
enum Step {
    Begin,
    End {
        commit: bool,
    },
    /// One change set of record writes; `stale` makes that write's version wrong, so the
    /// whole change set fails (and its earlier writes with it).
    Records(Vec<(u8, u8, bool, Option<i64>, u8)>),
    Delete {
        tenant: u8,
        key: u8,
        stale: bool,
    },
    Customer {
        tenant: u8,
        id: u8,
        stale: bool,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let write = (
        0u8..2,
        0..KEYS,
        proptest::bool::weighted(0.15),
        proptest::option::of(0i64..5),
        any::<u8>(),
    );
    prop_oneof![
        1 => Just(Step::Begin),
        1 => any::<bool>().prop_map(|commit| Step::End { commit }),
        6 => proptest::collection::vec(write, 1..4).prop_map(Step::Records),
        1 => (0u8..2, 0..KEYS, proptest::bool::weighted(0.2))
            .prop_map(|(tenant, key, stale)| Step::Delete { tenant, key, stale }),
        2 => (0u8..2, 0u8..2, proptest::bool::weighted(0.15))
            .prop_map(|(tenant, id, stale)| Step::Customer { tenant, id, stale }),
    ]
}

fn tenant(n: u8) -> TenantId {
    TenantId::from_uuid(uuid::Uuid::from_u128(0x100 + u128::from(n)))
}

fn customer_id(n: u8) -> CustomerId {
    CustomerId::from_uuid(uuid::Uuid::from_u128(0x200 + u128::from(n)))
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).expect("time")
}

/// Every row the steps can touch, as each store reads it.
fn rows(store: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    for t in 0..2 {
        for k in 0..KEYS {
            let r = store
                .record(tenant(t), "clock", &format!("k{k}"))
                .expect("read");
            out.push(format!(
                "{t}/k{k}: {:?}",
                r.map(|r| (r.version, r.due, r.value.get().to_string()))
            ));
        }
        for c in 0..2 {
            let got = store.customer(tenant(t), customer_id(c)).expect("read");
            out.push(format!("{t}/c{c}: {:?}", got.map(|c| c.version)));
        }
    }
    out
}

/// The change set a step makes, with versions taken from `reference` (the memory store).
fn changes(step: &Step, reference: &MemoryStore) -> Option<ChangeSet> {
    let next = |t: u8, k: u8, stale: bool| {
        let stored = reference
            .record(tenant(t), "clock", &format!("k{k}"))
            .expect("read")
            .map_or(0, |r| r.version);
        if stale {
            stored + 2
        } else {
            stored + 1
        }
    };
    match step {
        Step::Begin | Step::End { .. } => None,
        Step::Records(writes) => {
            // One tenant per change set: the first write's.
            let t = writes[0].0;
            let mut c = ChangeSet::new(tenant(t));
            let mut seen = Vec::new();
            for &(_, k, stale, due, value) in writes {
                if seen.contains(&k) {
                    continue; // one write per key: versions are read before the set applies
                }
                seen.push(k);
                let mut r = Record::new("clock", format!("k{k}"), serde_json::json!(value));
                r.version = next(t, k, stale);
                r.due = due.map(|m| t0() + TimeDelta::minutes(m));
                c.push(Op::PutRecord(r));
            }
            Some(c)
        }
        Step::Delete {
            tenant: t,
            key,
            stale,
        } => {
            let stored = reference
                .record(tenant(*t), "clock", &format!("k{key}"))
                .expect("read")
                .map_or(1, |r| r.version);
            let mut c = ChangeSet::new(tenant(*t));
            c.push(Op::DeleteRecord {
                kind: "clock".into(),
                key: format!("k{key}"),
                version: if *stale { stored + 1 } else { stored },
            });
            Some(c)
        }
        Step::Customer {
            tenant: t,
            id,
            stale,
        } => {
            let stored = reference
                .customer(tenant(*t), customer_id(*id))
                .expect("read")
                .map_or(0, |c| c.version);
            let mut c = Customer::new(customer_id(*id), tenant(*t), t0());
            c.version = if *stale { stored + 2 } else { stored + 1 };
            let mut set = ChangeSet::new(tenant(*t));
            set.push(Op::PutCustomer(c));
            Some(set)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn sqlite_reads_in_and_out_of_batches_equal_the_memory_store(
        steps in proptest::collection::vec(step(), 1..60)
    ) {
        let mut both = Lockstep::new();
        for (i, s) in steps.iter().enumerate() {
            match s {
                Step::Begin => both.begin(),
                Step::End { commit } => both.end(*commit),
                _ => {
                    let c = changes(s, &both.memory).expect("a write");
                    let (a, b) = both.apply(c);
                    prop_assert_eq!(a.is_ok(), b.is_ok(), "step {}: {:?} vs {:?}", i, a, b);
                }
            }
            prop_assert_eq!(rows(&both.memory), rows(&both.sqlite), "after step {}: {:?}", i, s);
        }
        both.end(true);
        prop_assert_eq!(rows(&both.memory), rows(&both.sqlite));
    }
}
