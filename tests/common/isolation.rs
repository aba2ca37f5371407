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
    let message_of =
        |desk: &Desk<S>, t: TenantId, c: ConversationId| desk.messages((t, c)).unwrap()[0].id;
    let (ma, mb) = (message_of(&desk, ta, va), message_of(&desk, tb, vb));
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
        let message = if tenant == ta { mb } else { ma };
        cross_tenant_ids(&mut desk, tenant, customer, conversation, message, agent);
        // Merging and splitting reach no other tenant's conversation, from either side.
        let own = if tenant == ta { va } else { vb };
        not_found(
            "merge_conversations",
            desk.merge_conversations((tenant, conversation), (tenant, own), agent, t(10)),
        );
        not_found(
            "merge_conversations",
            desk.merge_conversations((tenant, own), (tenant, conversation), agent, t(10)),
        );
        not_found(
            "split_conversation",
            desk.split_conversation((tenant, conversation), &[message], agent, t(10)),
        );
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
    // Tenant-wide reads list each tenant's own only.
    tenant_wide_reads(&mut desk, [(ta, ca, va), (tb, cb, vb)], seed);
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
    // A merge in one tenant: its record is not the other tenant's to read or undo.
    merges_stay_in_their_tenant(&mut desk, tb, cb, ta, ca, seed);
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
    let any = throughline::MessageId::new_v7();
    not_found("messages_before", desk.messages_before(c, any, 5));
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

/// More of the API named with `tenant` and the other tenant's ids (`message` is the other
/// tenant's): each is `NotFound`.
fn cross_tenant_ids<S: Store>(
    desk: &mut Desk<S>,
    tenant: TenantId,
    customer: CustomerId,
    conversation: ConversationId,
    message: throughline::MessageId,
    agent: AgentId,
) {
    let c = (tenant, conversation);
    let now = t(10);
    not_found("customer_view", desk.customer_view(tenant, customer, now));
    not_found("recent_timeline", desk.recent_timeline(tenant, customer, 5));
    not_found("live", desk.live(tenant, customer));
    not_found("merges", desk.merges(tenant, customer));
    not_found("is_restricted", desk.is_restricted(tenant, customer));
    not_found(
        "lift_restriction",
        desk.lift_restriction(tenant, customer, now),
    );
    not_found(
        "language_evidence",
        desk.language_evidence(tenant, customer),
    );
    not_found(
        "update_profile",
        desk.update_profile(
            tenant,
            customer,
            throughline::ProfileUpdate::default().name("X"),
            now,
        ),
    );
    not_found("assignment_of", desk.assignment_of(c));
    not_found("self_service_context", desk.self_service_context(c));
    not_found("hand_over", desk.hand_over(c, "why", now));
    not_found(
        "hand_over_with",
        desk.hand_over_with(c, "why", Default::default(), now),
    );
    not_found(
        "reply_with",
        desk.reply_with(c, throughline::ReplyOptions::new(agent, "hi"), now),
    );
    let template = throughline::lang::Localized::new("Hello");
    not_found(
        "reply_localized",
        desk.reply_localized(c, agent, &template, now),
    );
    not_found(
        "record_csat",
        desk.record_csat(c, throughline::metrics::Csat::FivePoint(5), now),
    );
    not_found(
        "record_csat_with",
        desk.record_csat_with(c, throughline::metrics::Csat::FivePoint(5), Some("x"), now),
    );
    not_found(
        "record_nps_with",
        desk.record_nps_with(tenant, customer, 9, Some("x"), now),
    );
    not_found(
        "mark_sent",
        desk.mark_sent(tenant, message, Some("p-1"), now),
    );
    not_found(
        "mark_failed",
        desk.mark_failed(tenant, message, "down", now),
    );
    let receipt = throughline::channels::Receipt {
        provider_id: "p-1".into(),
        message: Some(message),
        status: throughline::channels::ReceiptStatus::Delivered,
        at: None,
        error: None,
    };
    not_found(
        "record_receipt",
        desk.record_receipt(tenant, &Channel::Email, &receipt, now),
    );
    not_found(
        "dismiss_suggestion",
        desk.dismiss_suggestion(tenant, customer, customer),
    );
}

/// The reads over a whole tenant: each lists or counts its own tenant's data only.
fn tenant_wide_reads<S: Store>(
    desk: &mut Desk<S>,
    seen: [(TenantId, CustomerId, ConversationId); 2],
    seed: u64,
) {
    let who = Identifier::email(&format!("same{}@example.com", seed % 3)).unwrap();
    let [(ta, ca, _), (tb, _, _)] = seen;
    desk.record_nps_with(ta, ca, 10, Some("great"), t(20))
        .unwrap();
    let retention = throughline::privacy::RetentionPolicy::new(TimeDelta::days(400));
    desk.set_retention(ta, retention, t(20)).unwrap();
    for (tenant, customer, conversation) in seen {
        assert_eq!(
            desk.resolve(tenant, &who).unwrap(),
            Some(customer),
            "resolve"
        );
        let filter = throughline::metrics::Filter::default();
        let report = desk.report(tenant, &filter).unwrap();
        assert_eq!(report.conversations, 1, "report");
        assert_eq!(
            desk.report_from_store(tenant, &filter)
                .unwrap()
                .conversations,
            1
        );
        let sla = desk.sla_attainment(tenant, &filter).unwrap();
        assert!(sla.conversations <= 1, "sla_attainment: {sla:?}");
        assert!(
            desk.merge_suggestions(tenant).unwrap().is_empty(),
            "merge_suggestions"
        );
        let irritants = desk.irritant_report(tenant, t(-60), t(60)).unwrap();
        assert!(irritants.rows.is_empty(), "irritant_report");
        let articles = desk.article_report(tenant, t(-60), t(60), TimeDelta::days(1));
        assert!(articles.unwrap().is_empty(), "article_report");
        let own = tenant == ta;
        assert_eq!(
            desk.nps(tenant, t(0), t(60)).unwrap().answers,
            usize::from(own),
            "nps"
        );
        assert_eq!(
            desk.feedback(tenant, t(0), t(60)).unwrap().len(),
            usize::from(own),
            "feedback"
        );
        assert_eq!(desk.retention(tenant).unwrap().is_some(), own, "retention");
        assert!(
            desk.outbox(tenant)
                .unwrap()
                .iter()
                .all(|m| m.tenant == tenant),
            "outbox"
        );
        let _ = conversation;
    }
    assert!(desk.feedback(tb, t(0), t(60)).unwrap().is_empty());
}

/// A merge recorded in `tenant`: the other tenant can neither read nor undo it.
fn merges_stay_in_their_tenant<S: Store>(
    desk: &mut Desk<S>,
    tenant: TenantId,
    customer: CustomerId,
    other: TenantId,
    other_customer: CustomerId,
    seed: u64,
) {
    let who = Identifier::email(&format!("second{seed}@example.com")).unwrap();
    let second = desk
        .ingest(
            Inbound::new(tenant, Channel::Email, who, "second-1", "Me again"),
            t(30),
        )
        .unwrap();
    let merge = desk
        .merge_customers(tenant, second.customer, customer, "same person", t(31))
        .unwrap();
    not_found("merge_record", desk.merge_record(other, merge));
    not_found("unmerge", desk.unmerge(other, merge, t(32)));
    assert!(desk.merges(other, other_customer).unwrap().is_empty());
    assert_eq!(desk.merge_record(tenant, merge).unwrap().id, merge);
}

/// Public `Desk` methods the story does not call with another tenant's ids, and why.
pub const NOT_CROSS_TENANT: &[(&str, &str)] = &[
    ("new", "constructor"),
    ("try_new", "constructor"),
    ("store", "the host's own store"),
    ("into_store", "the host's own store"),
    ("config", "the host's configuration"),
    ("channels_mut", "the host's configuration"),
    ("set_id_gen", "the host's configuration"),
    ("preparer", "store-free preparation"),
    (
        "next_wakeup",
        "across tenants by design: the host's one timer",
    ),
    (
        "tick",
        "across tenants by design: each due item carries its tenant",
    ),
    ("scrub", "across tenants by design: finishes erasures"),
    (
        "purge_expired",
        "across tenants by design: each tenant's own retention",
    ),
    ("in_batch", "transaction control"),
    ("begin_batch", "transaction control"),
    ("end_batch", "transaction control"),
    ("batch", "transaction control"),
    (
        "ingest",
        "the tenant is the inbound's: the story ingests the same data into both",
    ),
    ("ingest_prepared", "as ingest"),
    ("ingest_batch", "as ingest"),
    ("load_metrics", "loads the named tenant's own facts"),
    (
        "set_tenant_settings",
        "writes the named tenant's own settings (the story checks)",
    ),
    (
        "tenant_settings",
        "reads the named tenant's own settings (the story checks)",
    ),
    (
        "tenant_settings_changed",
        "drops the named tenant's cached settings",
    ),
    (
        "set_retention",
        "writes the named tenant's own policy (the story checks)",
    ),
    ("retention", "the story checks each tenant's"),
    ("routing_state", "the story checks each tenant's"),
    ("inbox", "the story checks every view per tenant"),
    ("inbox_count", "the story checks every view per tenant"),
    (
        "merge_customers",
        "the story checks a cross-tenant merge is refused",
    ),
    ("merge_customers_as", "as merge_customers"),
    (
        "article_viewed",
        "creates or finds the customer in the named tenant only",
    ),
    ("searched", "as article_viewed"),
    ("bot_turn", "as article_viewed"),
    (
        "erase_identifier",
        "acts on the named tenant's identifier only",
    ),
    (
        "record_consent",
        "records consent under the named tenant only",
    ),
    ("router", "the routing cache; routing is off in this story"),
    (
        "upsert_agent",
        "routing: agents carry their tenant (tests/routing_shared.rs)",
    ),
    (
        "set_presence",
        "routing is off in this story (tests/routing_shared.rs)",
    ),
    (
        "route",
        "routing is off in this story (tests/routing_shared.rs)",
    ),
    ("restore_routing", "routing is off in this story"),
    (
        "resolve",
        "the story checks each tenant resolves to its own customer",
    ),
    ("report", "the story checks each tenant's"),
    ("report_from_store", "the story checks each tenant's"),
    ("sla_attainment", "the story checks each tenant's"),
    ("merge_suggestions", "the story checks each tenant's"),
    ("irritant_report", "the story checks each tenant's"),
    ("article_report", "the story checks each tenant's"),
    ("nps", "the story checks each tenant's"),
    ("feedback", "the story checks each tenant's"),
    ("outbox", "the story checks each tenant's"),
];
