//! Two processes of a host, each with a desk of the default configuration on one SQLite
//! file, never mint the same id: their generators are seeded from the operating system,
//! so their conversations, customers and messages all land, each once.
#![cfg(feature = "sqlite")]
// Child mode reads its arguments from the environment; the parent spawns itself.

use std::collections::HashSet;
use std::process::{Command, Stdio};

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::{SqliteStore, Store};
use throughline::{Channel, Desk, DeskConfig, Identifier, Inbound, TenantId};

const PER_PROCESS: u32 = 150;

fn tenant() -> TenantId {
    "01900000-0000-7000-8000-00000000f1d5".parse().unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

/// Child mode: ingest this process's customers into the database named by the
/// environment, with the desk's default configuration (or a fixed seed, to show what a
/// shared seed would do).
#[test]
fn child_ingests_with_a_default_desk() {
    let (Ok(db), Ok(who)) = (
        std::env::var("THROUGHLINE_IDS_DB"),
        std::env::var("THROUGHLINE_IDS_WHO"),
    ) else {
        return; // not a child
    };
    let config = match std::env::var("THROUGHLINE_IDS_SEED") {
        Ok(seed) => DeskConfig::default().id_seed(seed.parse().unwrap()),
        Err(_) => DeskConfig::default(),
    };
    let store: Box<dyn Store> = if db == "memory" {
        Box::new(throughline::store::MemoryStore::new())
    } else {
        Box::new(SqliteStore::open(&db).unwrap())
    };
    let mut desk = Desk::new(store, config);
    for n in 0..PER_PROCESS {
        let from = Identifier::email(&format!("{who}-{n}@example.com")).unwrap();
        let inbound = Inbound::new(
            tenant(),
            Channel::Email,
            from,
            format!("<{who}-{n}@x>"),
            "Hi",
        );
        let mut tries = 0;
        loop {
            match desk.ingest(inbound.clone(), t0() + TimeDelta::seconds(i64::from(n))) {
                Ok(got) => {
                    println!("minted {}", got.conversation);
                    break;
                }
                Err(throughline::Error::Busy(_)) if tries < 100 => tries += 1,
                Err(e) => panic!("{who} {n}: {e}"),
            }
        }
    }
}

/// Runs two children on `db` (a file, or `"memory"`: a store each); the conversation
/// ids each reports, or `None` when one failed.
fn two_children(db: &str, seed: Option<&str>) -> Option<[HashSet<String>; 2]> {
    let spawn = |who: &str| {
        let mut c = Command::new(std::env::current_exe().unwrap());
        c.args([
            "--exact",
            "child_ingests_with_a_default_desk",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("THROUGHLINE_IDS_DB", db)
        .env("THROUGHLINE_IDS_WHO", who)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
        if let Some(s) = seed {
            c.env("THROUGHLINE_IDS_SEED", s);
        }
        c.spawn().unwrap()
    };
    if db != "memory" {
        SqliteStore::open(db).unwrap(); // create the schema before the race
    }
    let (a, b) = (spawn("a"), spawn("b"));
    let minted = |child: std::process::Child| {
        let out = child.wait_with_output().unwrap();
        let ids: HashSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split("minted ").nth(1).map(|id| id.trim().to_string()))
            .collect();
        (out.status.success() && ids.len() == PER_PROCESS as usize).then_some(ids)
    };
    Some([minted(a)?, minted(b)?])
}

#[test]
fn two_processes_with_default_desks_never_mint_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ids.db");
    let [a, b] =
        two_children(db.to_str().unwrap(), None).expect("both processes ingest everything");
    assert!(
        a.is_disjoint(&b),
        "the two processes minted a conversation id twice"
    );
    let store = SqliteStore::open(&db).unwrap();
    let convs = store
        .conversations_in(tenant(), DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC)
        .unwrap();
    assert_eq!(convs.len(), 2 * PER_PROCESS as usize);
    let mut ids = HashSet::new();
    for c in &convs {
        assert!(ids.insert(c.id.as_uuid()), "conversation id twice");
        assert!(ids.insert(c.customer.as_uuid()), "customer id twice");
        for m in store.messages_of(tenant(), c.id).unwrap() {
            assert!(ids.insert(m.id.as_uuid()), "message id twice");
        }
    }
}

/// The check can fail: two processes whose desks share one seed (each on its own store,
/// so no write collision makes them draw again) mint the same ids.
#[test]
fn two_processes_sharing_a_seed_mint_the_same_ids() {
    let [a, b] = two_children("memory", Some("7")).expect("both finish");
    assert_eq!(a, b);
}
