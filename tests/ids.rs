//! Ids and erasure keys come from the desk's one generator: fixed by a seed the host sets,
//! and otherwise seeded from the operating system, so no two desks mint the same ones.

use chrono::{DateTime, Utc};
use throughline::store::{MemoryStore, Store};
use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00.250Z")
        .unwrap()
        .to_utc()
}

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-0000000000a1".parse().unwrap()
}

/// Two customers write; the first is erased. Returns the ids minted and the tenant's
/// erasure key.
fn run(config: DeskConfig) -> (Vec<Uuid>, String) {
    let mut desk = Desk::new(MemoryStore::new(), config);
    let mut ids = Vec::new();
    for (n, who) in ["ana@example.com", "bo@example.com"]
        .into_iter()
        .enumerate()
    {
        let from = Identifier::email(who).unwrap();
        let inbound = Inbound::new(tenant(), Channel::Email, from, format!("m-{n}"), "Hello");
        let got = desk.ingest(inbound, t0()).unwrap();
        ids.extend([
            got.customer.as_uuid(),
            got.conversation.as_uuid(),
            got.message.id.as_uuid(),
        ]);
    }
    let first = throughline::CustomerId::from_uuid(ids[0]);
    desk.erase_customer(tenant(), first, t0()).unwrap();
    let key = desk
        .store()
        .record(tenant(), "privacy", "dedup-secret")
        .unwrap()
        .expect("the erasure made a key");
    (ids, key.value.to_string())
}

#[test]
fn the_same_seed_mints_the_same_ids_and_erasure_key() {
    let seeded = || DeskConfig::default().rng_seed([3; 32]);
    let (ids, key) = run(seeded());
    assert_eq!(run(seeded()), (ids.clone(), key.clone()));
    let (other_ids, other_key) = run(DeskConfig::default().rng_seed([4; 32]));
    assert_ne!(other_ids, ids);
    assert_ne!(other_key, key);
}

#[test]
fn two_default_desks_mint_different_ids_and_keys() {
    let (a, key_a) = run(DeskConfig::default());
    let (b, key_b) = run(DeskConfig::default());
    for (x, y) in a.iter().zip(&b) {
        assert_ne!(x, y);
    }
    assert_ne!(key_a, key_b);
}

#[test]
fn ids_are_v7_with_the_timestamp_of_now() {
    for config in [DeskConfig::default(), DeskConfig::default().id_seed(1)] {
        let (ids, _) = run(config);
        for id in ids {
            assert_eq!(id.get_version_num(), 7, "{id}");
            let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
            let at = DateTime::from_timestamp(secs as i64, nanos).unwrap();
            assert_eq!(at, t0(), "{id}");
        }
    }
}
