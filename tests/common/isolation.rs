//! Tenant isolation: two tenants whose customers write from the same addresses with the
//! same provider ids; the whole public read and write API, called with one tenant and
//! the other tenant's ids, answers "not found" and never returns or changes data.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::{InboxView, Store};
use throughline::{
    AgentId, Channel, ConversationId, CustomerId, Desk, DeskConfig, Error, Identifier, Inbound,
    Status, TenantId,
};

fn t(mins: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap() + TimeDelta::minutes(mins)
}

fn not_found<T: std::fmt::Debug>(what: &str, r: throughline::Result<T>) {
    match r {
        Err(Error::NotFound { .. }) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

/// Runs the isolation story with `seed` varying the colliding data.
pub fn check<S: Store>(store: S, seed: u64) {
    let a: TenantId = format!("01900000-0000-7000-8000-{:012x}", 0xa000 + seed)
        .parse()
        .unwrap();
    let b: TenantId = format!("01900000-0000-7000-8000-{:012x}", 0xb000 + seed)
        .parse()
        .unwrap();
    let agent: AgentId = "01900000-0000-7000-8000-0000000a9e47".parse().unwrap();
    let mut desk = Desk::new(store, DeskConfig::default().id_seed(seed));
    let mut seen: Vec<(TenantId, CustomerId, ConversationId)> = Vec::new();
    // Both tenants: the same sender, the same provider ids, the same bodies.
    for (i, tenant) in [a, b, a, b].into_iter().enumerate() {
        let who = Identifier::email(&format!("same{}@example.com", seed % 3)).unwrap();
        let got = desk
            .ingest(
                Inbound::new(
                    tenant,
                    Channel::Email,
                    who,
                    format!("<{seed}@x>"),
                    "Where is my refund?",
                ),
                t(i as i64),
            )
            .unwrap();
        assert_eq!(
            got.duplicate,
            i >= 2,
            "a redelivery is a duplicate in its own tenant only"
        );
        assert_eq!(got.message.tenant, tenant);
        seen.push((tenant, got.customer, got.conversation));
    }
    let (ta, ca, va) = seen[0];
    let (tb, cb, vb) = seen[1];
    assert_ne!(ca, cb, "one customer per tenant");
    assert_ne!(va, vb, "one conversation per tenant");
    // Cross-tenant reads and writes: not found, nothing changed.
    for (tenant, customer, conversation) in [(ta, cb, vb), (tb, ca, va)] {
        not_found("customer", desk.customer(tenant, customer));
        not_found("timeline", desk.timeline(tenant, customer));
        not_found("identifiers", desk.identifiers(tenant, customer));
        not_found("conversations_of", desk.conversations_of(tenant, customer));
        not_found("conversation", desk.conversation((tenant, conversation)));
        not_found("messages", desk.messages((tenant, conversation)));
        not_found(
            "reply",
            desk.reply((tenant, conversation), agent, "hi", t(10)),
        );
        not_found(
            "note",
            desk.note((tenant, conversation), agent, "hi", t(10)),
        );
        not_found(
            "set_status",
            desk.set_status((tenant, conversation), Status::Solved, t(10)),
        );
        not_found(
            "link_identifier",
            desk.link_identifier(
                tenant,
                customer,
                Identifier::phone("+31612345678", None).unwrap(),
                true,
                t(10),
            ),
        );
        cross_tenant_operations(&mut desk, tenant, customer, conversation, agent);
        assert!(desk
            .store()
            .outbox(tenant)
            .unwrap()
            .iter()
            .all(|m| m.tenant == tenant));
    }
    // Settings and routing state are each tenant's own.
    let mut settings = throughline::settings::TenantSettings::default();
    settings.reopen_window = Some(TimeDelta::days(1));
    desk.set_tenant_settings(ta, settings, "admin", t(12))
        .unwrap();
    assert!(desk.tenant_settings(ta).unwrap().is_some());
    assert_eq!(desk.tenant_settings(tb).unwrap(), None);
    assert!(desk.routing_state(tb).unwrap().work.is_empty());
    // Merging across tenants is refused.
    assert!(desk
        .merge_customers(ta, cb, ca, "cross-tenant", t(11))
        .is_err());
    // Each tenant still sees exactly its own one message.
    for (tenant, customer) in [(ta, ca), (tb, cb)] {
        let tl = desk.timeline(tenant, customer).unwrap();
        assert_eq!(tl.len(), 1);
        assert!(tl.iter().all(|m| m.tenant == tenant));
        assert_eq!(desk.customer(tenant, customer).unwrap().tenant, tenant);
    }
    // Every inbox view lists and counts each tenant's own conversation only.
    for (tenant, conversation) in [(ta, va), (tb, vb)] {
        for view in [
            InboxView::Unassigned,
            InboxView::Status(Status::New),
            InboxView::SlaDueBefore(t(100_000)),
        ] {
            let page = desk.inbox(tenant, &view, None, 10).unwrap();
            let ids: Vec<ConversationId> = page.conversations.iter().map(|c| c.id).collect();
            assert_eq!(ids, vec![conversation], "{view:?}");
            assert_eq!(desk.inbox_count(tenant, &view).unwrap(), 1, "{view:?}");
        }
        assert!(desk
            .inbox(tenant, &InboxView::Assignee(agent), None, 10)
            .unwrap()
            .conversations
            .is_empty());
    }
}

/// The agent operations, tags, surveys and privacy calls, named with `tenant`
/// and the other tenant's ids: each is `NotFound`.
fn cross_tenant_operations<S: Store>(
    desk: &mut Desk<S>,
    tenant: TenantId,
    customer: CustomerId,
    conversation: ConversationId,
    agent: AgentId,
) {
    let c = (tenant, conversation);
    not_found("assign", desk.assign(c, agent, agent, t(10)));
    not_found(
        "assign_over_capacity",
        desk.assign_over_capacity(c, agent, agent, t(10)),
    );
    not_found(
        "transfer",
        desk.transfer(
            c,
            throughline::conversation::Transfer::Queue("tier2".into()),
            "note",
            agent,
            t(10),
        ),
    );
    not_found("unassign", desk.unassign(c, agent, t(10)));
    not_found(
        "set_priority",
        desk.set_priority(c, throughline::Priority::High, agent, t(10)),
    );
    not_found(
        "set_status_as",
        desk.set_status_as(c, Status::Solved, agent, t(10)),
    );
    not_found("tag", desk.tag(c, "x", t(10)));
    not_found("untag", desk.untag(c, "x", t(10)));
    not_found("sla_clocks", desk.sla_clocks(c));
    not_found("triage_of", desk.triage_of(c));
    not_found("recent_messages", desk.recent_messages(c, 5));
    not_found("record_nps", desk.record_nps(tenant, customer, 9, t(10)));
    not_found(
        "restrict_customer",
        desk.restrict_customer(tenant, customer, t(10)),
    );
    not_found("export_customer", desk.export_customer(tenant, customer));
    not_found(
        "erase_customer",
        desk.erase_customer(tenant, customer, t(10)),
    );
}
