//! Model-based property tests of the identity graph against a simple forest model.

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;
use throughline::store::MemoryStore;
use throughline::{Channel, CustomerId, Desk, DeskConfig, Identifier, Inbound, MergeId, TenantId};

const PEOPLE: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Ingest(usize),
    Merge(usize, usize),
    Unmerge(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..PEOPLE).prop_map(Op::Ingest),
        2 => (0..PEOPLE, 0..PEOPLE).prop_map(|(a, b)| Op::Merge(a, b)),
        1 => (0..8usize).prop_map(Op::Unmerge),
    ]
}

fn ident(i: usize) -> Identifier {
    Identifier::email(&format!("person{i}@example.com")).unwrap()
}

fn root(parent: &[Option<usize>], mut i: usize) -> usize {
    while let Some(p) = parent[i] {
        i = p;
    }
    i
}

struct World {
    desk: Desk<MemoryStore>,
    tenant: TenantId,
    ids: Vec<CustomerId>,
    now: DateTime<Utc>,
    n: usize,
}

impl World {
    fn new() -> Self {
        let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
        let tenant: TenantId = "01900000-0000-7000-8000-000000000abc".parse().unwrap();
        let now = DateTime::<Utc>::from_timestamp(1_767_261_600, 0).unwrap();
        let ids = (0..PEOPLE)
            .map(|i| {
                desk.ingest(
                    Inbound::new(
                        tenant,
                        Channel::Email,
                        ident(i),
                        format!("init-{i}"),
                        format!("hello from {i}"),
                    ),
                    now,
                )
                .unwrap()
                .customer
            })
            .collect();
        World {
            desk,
            tenant,
            ids,
            now,
            n: 0,
        }
    }

    fn tick(&mut self) -> DateTime<Utc> {
        self.now += TimeDelta::minutes(1);
        self.now
    }

    fn live(&self, i: usize) -> CustomerId {
        self.desk.resolve(self.tenant, &ident(i)).unwrap().unwrap()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96)))]

    #[test]
    fn the_graph_matches_a_forest_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut w = World::new();
        let mut parent: Vec<Option<usize>> = vec![None; PEOPLE];
        let mut merges: Vec<(MergeId, usize, bool)> = Vec::new(); // (id, from, undone)
        let mut sent: Vec<(usize, String)> = (0..PEOPLE).map(|i| (i, format!("hello from {i}"))).collect();
        for op in ops {
            let now = w.tick();
            match op {
                Op::Ingest(i) => {
                    w.n += 1;
                    let body = format!("msg {} from {i}", w.n);
                    let got = w.desk.ingest(Inbound::new(w.tenant, Channel::WebChat, ident(i), format!("m{}", w.n), body.clone()), now).unwrap();
                    prop_assert_eq!(got.customer, w.ids[root(&parent, i)]);
                    sent.push((i, body));
                }
                Op::Merge(a, b) => {
                    let result = w.desk.merge_customers(w.tenant, w.ids[a], w.ids[b], "test", now);
                    let allowed = a != b && parent[a].is_none() && parent[b].is_none();
                    prop_assert_eq!(result.is_ok(), allowed, "merge {}->{}: {:?}", a, b, result);
                    if let Ok(id) = result {
                        parent[a] = Some(b);
                        merges.push((id, a, false));
                    }
                }
                Op::Unmerge(k) => {
                    if let Some((id, from, undone)) = merges.get_mut(k) {
                        let result = w.desk.unmerge(w.tenant, *id, now);
                        prop_assert_eq!(result.is_ok(), !*undone, "{:?}", result);
                        if result.is_ok() {
                            parent[*from] = None;
                            *undone = true;
                        }
                    }
                }
            }
            // Every identifier resolves to exactly one live customer: the model's root.
            for i in 0..PEOPLE {
                let live = w.live(i);
                prop_assert_eq!(live, w.ids[root(&parent, i)], "person {}", i);
                prop_assert!(w.desk.customer(w.tenant, live).unwrap().merged_into.is_none());
            }
            // No message lost; each is on the customer its sender resolves to.
            let mut total = 0;
            for i in 0..PEOPLE {
                if parent[i].is_none() {
                    let tl = w.desk.timeline(w.tenant, w.ids[i]).unwrap();
                    total += tl.len();
                    for m in &tl {
                        let who = sent.iter().find(|(_, b)| *b == m.body).map(|(p, _)| *p).unwrap();
                        prop_assert_eq!(root(&parent, who), i, "message {:?} on the wrong customer", m.body);
                    }
                }
            }
            prop_assert_eq!(total, sent.len());
        }
    }

    #[test]
    fn merge_order_does_not_change_the_final_partition(
        pairs in proptest::collection::vec((0..PEOPLE, 0..PEOPLE), 1..12),
        seed in any::<u64>(),
    ) {
        let partition = |pairs: &[(usize, usize)]| {
            let mut w = World::new();
            for &(a, b) in pairs {
                let (la, lb) = (w.live(a), w.live(b));
                if la != lb {
                    let now = w.tick();
                    w.desk.merge_customers(w.tenant, la, lb, "order", now).unwrap();
                }
            }
            let mut groups: Vec<Vec<usize>> = Vec::new();
            let mut owner: Vec<(CustomerId, usize)> = Vec::new();
            for i in 0..PEOPLE {
                let l = w.live(i);
                match owner.iter().find(|(c, _)| *c == l) {
                    Some((_, g)) => groups[*g].push(i),
                    None => { owner.push((l, groups.len())); groups.push(vec![i]); }
                }
            }
            groups.sort();
            groups
        };
        let mut shuffled = pairs.clone();
        // A seeded Fisher-Yates shuffle.
        let mut s = seed;
        for i in (1..shuffled.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (s >> 33) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        prop_assert_eq!(partition(&pairs), partition(&shuffled));
    }
}
