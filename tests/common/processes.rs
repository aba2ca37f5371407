//! Several OS processes ingesting webhook streams into one database: the streams, the
//! child's loop, its acknowledgements, and what the database must hold afterwards. The
//! test binary re-executes itself as the child (`tests/postgres.rs`,
//! `tests/sqlite_reliability.rs`).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::Store;
use throughline::{Channel, Desk, Identifier, Inbound, TenantId};

/// The tenant every stream writes to.
pub const TENANT: &str = "01900000-0000-7000-8000-0000000005a1";
/// Customers the streams share: every process contends on the same ones.
pub const CUSTOMERS: usize = 40;
/// Messages in a stream, redeliveries aside.
pub const MESSAGES: usize = 400;

pub fn tenant() -> TenantId {
    TENANT.parse().unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

/// Whose external ids a stream carries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ids<'a> {
    /// `wh-N`: every process with this stream receives the same webhooks.
    Shared,
    /// `wh-P-N`: only this process receives them.
    Own(&'a str),
    /// Even N shared, odd N this process's own.
    Half(&'a str),
}

impl<'a> Ids<'a> {
    /// The form [`Ids::parse`] reads, for a child's environment.
    pub fn to_env(self) -> String {
        match self {
            Ids::Shared => "shared".into(),
            Ids::Own(p) => format!("own:{p}"),
            Ids::Half(p) => format!("half:{p}"),
        }
    }

    pub fn parse(s: &'a str) -> Ids<'a> {
        match s.split_once(':') {
            None if s == "shared" => Ids::Shared,
            Some(("own", p)) => Ids::Own(p),
            Some(("half", p)) => Ids::Half(p),
            _ => panic!("not a stream's ids: {s}"),
        }
    }

    fn external_id(self, n: usize) -> String {
        match self {
            Ids::Own(p) => format!("wh-{p}-{n}"),
            Ids::Half(p) if n % 2 == 1 => format!("wh-{p}-{n}"),
            _ => format!("wh-{n}"),
        }
    }
}

/// A webhook stream: (customer, external id, body) in bursts of 2-4 messages per
/// customer, with redeliveries. The customers and bursts are the same for every seed and
/// `ids`; each process rotates its copy by a seed-dependent amount.
pub fn stream(seed: u64, ids: Ids) -> Vec<(usize, String, String)> {
    let mut out: Vec<(usize, String, String)> = Vec::new();
    let mut n = 0;
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    while out.len() < MESSAGES {
        let c = (next() % CUSTOMERS as u64) as usize;
        for _ in 0..(2 + next() % 3) {
            let ext = ids.external_id(n);
            let body = format!("message {ext} from customer {c}");
            out.push((c, ext, body));
            n += 1;
        }
        if next() % 5 == 0 {
            let k = (next() as usize) % out.len();
            out.push(out[k].clone()); // a redelivery
        }
    }
    let k = (seed as usize * 37) % out.len();
    out.rotate_left(k);
    out
}

/// Each external id of the streams with its customer.
pub fn expected(streams: &[Vec<(usize, String, String)>]) -> HashMap<String, usize> {
    streams
        .iter()
        .flatten()
        .map(|(c, e, _)| (e.clone(), *c))
        .collect()
}

/// The child's work: ingests the stream in order, printing `ack <external id>` once each
/// ingest has returned (committed), retrying what a concurrent writer made conflict or
/// found busy past the desk's own retries.
pub fn ingest_stream<S: Store>(desk: &mut Desk<S>, seed: u64, ids: Ids) {
    let mut out = std::io::stdout().lock();
    for (i, (c, ext, body)) in stream(seed, ids).into_iter().enumerate() {
        let from = Identifier::email(&format!("c{c}@example.com")).unwrap();
        let inbound = Inbound::new(tenant(), Channel::WhatsApp, from, ext.clone(), body);
        let mut tries = 0;
        loop {
            match desk.ingest(inbound.clone(), t0() + TimeDelta::seconds(i as i64)) {
                Ok(_) => break,
                Err(throughline::Error::Conflict(_) | throughline::Error::Busy(_))
                    if tries < 100 =>
                {
                    tries += 1
                }
                Err(e) => panic!("ingest {ext}: {e}"),
            }
        }
        writeln!(out, "ack {ext}").unwrap();
        out.flush().unwrap();
    }
}

/// Runs this test binary's test `test` alone, with `env`, its stdout piped.
pub fn spawn(test: &str, env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child")
}

/// The external ids a child acknowledged, in order; SIGKILLs it after `stop_after`.
pub fn acks(child: &mut Child, stop_after: Option<usize>) -> Vec<String> {
    let out = child.stdout.take().unwrap();
    let mut acked = Vec::new();
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        // The harness may print its "test ... " prefix on the first line.
        if let Some(at) = line.find("ack wh-") {
            acked.push(line[at + 4..].trim().to_string());
            if stop_after.is_some_and(|n| acked.len() >= n) {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    if stop_after.is_none() {
        assert!(status.success(), "the child finishes: {status}");
    }
    acked
}

/// Every message of the tenant by external id, with its customer's number, read back
/// through the store's public reads; panics at the first inconsistency: each customer's
/// identifier leads to one live customer that lists it, its messages in one conversation
/// of that customer, each message's external id leads back to it and names a customer of
/// the streams with the body written for it, no external id twice, and no conversation
/// of the tenant that no customer leads to (nothing half-written).
pub fn stored(store: &dyn Store) -> HashMap<String, usize> {
    let tenant = tenant();
    let mut customers = HashSet::new();
    let mut conversations = HashSet::new();
    let mut out = HashMap::new();
    for c in 0..CUSTOMERS {
        let ident = Identifier::email(&format!("c{c}@example.com")).unwrap();
        let Some(rec) = store.identifier(tenant, &ident).unwrap() else {
            continue;
        };
        assert!(customers.insert(rec.customer), "customer {c} stored once");
        let customer = store
            .customer(tenant, rec.customer)
            .unwrap()
            .unwrap_or_else(|| panic!("customer {c}'s identifier leads to a customer"));
        assert_eq!(
            customer.merged_into, None,
            "customer {c} is not merged away"
        );
        assert!(
            store
                .identifiers_of(tenant, rec.customer)
                .unwrap()
                .iter()
                .any(|r| r.identifier == ident),
            "customer {c} lists its identifier"
        );
        let convs = store.conversations_of(tenant, rec.customer).unwrap();
        assert_eq!(
            convs.len(),
            1,
            "customer {c}'s bursts land in one conversation"
        );
        let conv = &convs[0];
        assert_eq!(conv.customer, rec.customer, "customer {c}'s conversation");
        conversations.insert(conv.id);
        for m in store.messages_of(tenant, conv.id).unwrap() {
            let ext = m
                .external_id
                .clone()
                .expect("an inbound has its external id");
            assert_eq!(m.conversation, conv.id, "{ext} in its conversation");
            assert_eq!(
                m.body,
                format!("message {ext} from customer {c}"),
                "{ext} is with its customer"
            );
            let by_ext = store
                .message_by_external_id(tenant, &Channel::WhatsApp, &ext)
                .unwrap()
                .unwrap_or_else(|| panic!("{ext} found by its external id"));
            assert_eq!(by_ext.id, m.id, "{ext} leads back to its message");
            assert!(out.insert(ext.clone(), c).is_none(), "{ext} stored twice");
        }
    }
    let all = store
        .conversations_in(
            tenant,
            t0() - TimeDelta::days(1),
            t0() + TimeDelta::days(30),
        )
        .unwrap();
    for conv in &all {
        assert!(
            conversations.contains(&conv.id),
            "conversation {} has a customer whose identifier leads to it",
            conv.id
        );
    }
    assert_eq!(all.len(), conversations.len(), "no conversation twice");
    out
}

/// What the database must hold when processes ingested `streams` to the end: every
/// message of them once, with its customer, and nothing else.
pub fn check_complete(store: &dyn Store, streams: &[Vec<(usize, String, String)>]) {
    let got = stored(store);
    let want = expected(streams);
    for (ext, c) in &want {
        assert_eq!(got.get(ext), Some(c), "{ext} stored with customer {c}");
    }
    assert_eq!(got.len(), want.len(), "nothing stored beyond the streams");
}

/// What the database must hold when a victim ingesting `victim` (its own ids) was
/// SIGKILLed after acknowledging `acked`, and survivors ingested `survivors` to the end:
/// every survivor's message and every message the victim acknowledged once, with its
/// customer; of the victim's stream, exactly a prefix (what it committed, in order, the
/// last few perhaps unacknowledged); nothing else. Returns how many of the victim's
/// messages committed without an acknowledgement.
pub fn check_after_kill(
    store: &dyn Store,
    victim: &[(usize, String, String)],
    acked: &[String],
    survivors: &[Vec<(usize, String, String)>],
) -> usize {
    let got = stored(store);
    for ext in acked {
        assert!(got.contains_key(ext), "acknowledged {ext} is stored");
    }
    let survived = expected(survivors);
    for (ext, c) in &survived {
        assert_eq!(got.get(ext), Some(c), "the survivor's {ext} is stored");
    }
    let mut prefix = HashSet::new();
    let mut stored_victim = 0;
    for (c, ext, _) in victim {
        if prefix.contains(ext) {
            continue; // a redelivery
        }
        if let Some(at) = got.get(ext) {
            assert_eq!(at, c, "the victim's {ext} is stored with customer {c}");
            assert_eq!(
                stored_victim,
                prefix.len(),
                "the victim's {ext} is stored after a gap in its stream"
            );
            stored_victim += 1;
        }
        prefix.insert(ext.clone());
    }
    assert_eq!(
        got.len(),
        survived.len() + stored_victim,
        "nothing stored beyond the streams"
    );
    let acked: HashSet<_> = acked.iter().collect();
    stored_victim - acked.len()
}
