//! Tenant settings stories: several companies on one desk, each with its own business
//! hours, SLA targets, reopen window, languages, channels, triage and routing; a change
//! of settings re-targets the running clocks and is written on them.
//!
//! All times are in March 2026, before summer time: Amsterdam is UTC+1, and
//! 2026-03-06 is a Friday.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc, Weekday};
use throughline::routing::{CapacityModel, EscalationStep, RoutingConfig};
use throughline::settings::{
    PolicyName, SettingsSource, TenantChannels, TenantRouting, TenantSettings,
};
use throughline::sla::{
    Basis, BusinessCalendar, Metric, SlaClocks, SlaEventKind, SlaPolicies, SlaPolicy,
};
use throughline::store::{MemoryStore, SqliteStore, Store};
use throughline::triage::{Intent, IntentCatalogue, Value};
use throughline::{
    AgentId, Channel, ConversationId, Desk, DeskConfig, Effect, Error, Identifier, Inbound, Status,
    TenantId,
};

type R = Result<(), Box<dyn std::error::Error>>;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// Friday 16:30 in Amsterdam.
const FRI_1630: &str = "2026-03-06T15:30:00Z";
/// Friday 16:40 in Amsterdam.
const FRI_1640: &str = "2026-03-06T15:40:00Z";

fn office(open: &str, close: &str) -> BusinessCalendar {
    let mut b = BusinessCalendar::builder("Europe/Amsterdam");
    for d in [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ] {
        b = b.hours(d, open, close);
    }
    b.build().unwrap()
}

/// Tenant A: first reply within 2 business hours of the office.
fn sla_a(open: &str, close: &str) -> SlaPolicies {
    SlaPolicies::new()
        .calendar("office", office(open, close))
        .policy(SlaPolicy::new("a-first-reply").target_all(
            Metric::FirstReply,
            TimeDelta::hours(2),
            Basis::Business("office".into()),
        ))
        .build()
        .unwrap()
}

/// Tenant B: first reply within `within`, around the clock.
fn sla_b(within: TimeDelta) -> SlaPolicies {
    SlaPolicies::new()
        .policy(SlaPolicy::new("b-first-reply").target_all(
            Metric::FirstReply,
            within,
            Basis::Calendar,
        ))
        .build()
        .unwrap()
}

fn with_sla(sla: SlaPolicies) -> TenantSettings {
    let mut s = TenantSettings::default();
    s.sla = Some(sla);
    s
}

fn email(tenant: TenantId, from: &str, id: &str, body: &str) -> Inbound {
    Inbound::new(
        tenant,
        Channel::Email,
        Identifier::email(from).unwrap(),
        id,
        body,
    )
}

fn clocks<S: Store>(desk: &Desk<S>, tenant: TenantId, conv: ConversationId) -> SlaClocks {
    desk.sla_clocks((tenant, conv))
        .unwrap()
        .expect("the conversation has clocks")
}

fn first_reply_deadline<S: Store>(
    desk: &Desk<S>,
    tenant: TenantId,
    conv: ConversationId,
) -> Option<DateTime<Utc>> {
    clocks(desk, tenant, conv)
        .clocks
        .iter()
        .find(|c| c.metric == Metric::FirstReply)
        .and_then(|c| c.deadline)
}

/// The settings changes logged on a clock: (when, what, by whom).
fn settings_changes(clocks: &SlaClocks) -> Vec<(DateTime<Utc>, String, String)> {
    clocks
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            SlaEventKind::SettingsChanged { what, by } => Some((e.at, what.clone(), by.clone())),
            _ => None,
        })
        .collect()
}

/// Two tenants on one desk, A on business hours and B around the clock.
struct TwoTenants<S: Store> {
    desk: Desk<S>,
    a: TenantId,
    b: TenantId,
}

impl<S: Store> TwoTenants<S> {
    fn new(store: S) -> Self {
        let mut desk = Desk::new(store, DeskConfig::default());
        let (a, b) = (TenantId::new_v7(), TenantId::new_v7());
        let set = at("2026-03-02T08:00:00Z");
        desk.set_tenant_settings(a, with_sla(sla_a("09:00", "17:00")), "admin@a.example", set)
            .unwrap();
        desk.set_tenant_settings(
            b,
            with_sla(sla_b(TimeDelta::minutes(30))),
            "admin@b.example",
            set,
        )
        .unwrap();
        TwoTenants { desk, a, b }
    }

    /// An e-mail to each tenant on Friday 16:30; the two conversations.
    fn friday_mail(&mut self) -> (ConversationId, ConversationId) {
        let now = at(FRI_1630);
        let a = self
            .desk
            .ingest(email(self.a, "ana@example.com", "<a1@x>", "Help"), now)
            .unwrap();
        let b = self
            .desk
            .ingest(email(self.b, "bo@example.com", "<b1@x>", "Help"), now)
            .unwrap();
        (a.conversation, b.conversation)
    }
}

/// Story 1: each conversation's deadline follows its own tenant's hours and target.
fn each_deadline_follows_its_tenant<S: Store>(store: S) {
    let mut t = TwoTenants::new(store);
    let (ca, cb) = t.friday_mail();
    // A: 30 minutes on Friday, 90 on Monday from 09:00 → Monday 10:30 Amsterdam.
    assert_eq!(
        first_reply_deadline(&t.desk, t.a, ca),
        Some(at("2026-03-09T09:30:00Z"))
    );
    // B: 30 calendar minutes → Friday 17:00 Amsterdam.
    assert_eq!(
        first_reply_deadline(&t.desk, t.b, cb),
        Some(at("2026-03-06T16:00:00Z"))
    );
    assert_eq!(
        clocks(&t.desk, t.a, ca).policy.as_deref(),
        Some("a-first-reply")
    );
    assert_eq!(
        clocks(&t.desk, t.b, cb).policy.as_deref(),
        Some("b-first-reply")
    );
    // The earliest thing to do is B's warning at 75% of 30 minutes.
    assert_eq!(
        t.desk.next_wakeup().unwrap(),
        Some(at("2026-03-06T15:52:30Z"))
    );
}

#[test]
fn each_conversation_follows_its_tenant_in_memory() {
    each_deadline_follows_its_tenant(MemoryStore::new());
}

#[test]
fn each_conversation_follows_its_tenant_on_sqlite() {
    each_deadline_follows_its_tenant(SqliteStore::open_in_memory().unwrap());
}

/// Story 2: B lengthens its first-reply target to 2 hours at 16:40.
fn a_policy_change_retargets_open_clocks<S: Store>(store: S) {
    let mut t = TwoTenants::new(store);
    let (ca, cb) = t.friday_mail();
    // A third conversation at B, answered before the change: its clock is fulfilled.
    let answered = t
        .desk
        .ingest(
            email(t.b, "cy@example.com", "<b2@x>", "Hi"),
            at("2026-03-06T15:31:00Z"),
        )
        .unwrap()
        .conversation;
    t.desk
        .reply(
            (t.b, answered),
            AgentId::new_v7(),
            "On it",
            at("2026-03-06T15:35:00Z"),
        )
        .unwrap();
    let (a_before, answered_before) = (clocks(&t.desk, t.a, ca), clocks(&t.desk, t.b, answered));

    let effects = t
        .desk
        .set_tenant_settings(
            t.b,
            with_sla(sla_b(TimeDelta::hours(2))),
            "lead@b.example",
            at(FRI_1640),
        )
        .unwrap();
    assert!(effects.is_empty(), "nothing is due at once: {effects:?}");
    // Ten minutes counted, 110 to go → 18:30 Amsterdam.
    assert_eq!(
        first_reply_deadline(&t.desk, t.b, cb),
        Some(at("2026-03-06T17:30:00Z"))
    );
    assert_eq!(
        settings_changes(&clocks(&t.desk, t.b, cb)),
        vec![(
            at(FRI_1640),
            "sla settings".to_string(),
            "lead@b.example".to_string()
        )]
    );
    assert_eq!(clocks(&t.desk, t.a, ca), a_before, "A is untouched");
    assert_eq!(
        clocks(&t.desk, t.b, answered),
        answered_before,
        "a fulfilled clock is not re-targeted"
    );
    // The 75% warning of the new target: 90 minutes after 16:30 → 18:00 Amsterdam.
    assert_eq!(
        t.desk.next_wakeup().unwrap(),
        Some(at("2026-03-06T17:00:00Z"))
    );
    assert!(
        t.desk.tick(at("2026-03-06T16:30:00Z")).unwrap().is_empty(),
        "neither the old warnings nor the old deadline fire"
    );
    let warned = t.desk.tick(at("2026-03-06T17:00:00Z")).unwrap();
    assert!(
        matches!(warned.as_slice(), [Effect::SlaWarning { conversation, fraction, .. }]
            if *conversation == cb && (*fraction - 0.75).abs() < 1e-9),
        "{warned:?}"
    );
    assert_eq!(
        t.desk.next_wakeup().unwrap(),
        Some(at("2026-03-06T17:18:00Z"))
    );
    let late = t.desk.tick(at("2026-03-06T17:30:00Z")).unwrap();
    assert!(
        late.iter().any(|e| matches!(e,
            Effect::SlaBreached { conversation, deadline, .. }
                if *conversation == cb && *deadline == at("2026-03-06T17:30:00Z"))),
        "{late:?}"
    );
}

#[test]
fn a_policy_change_retargets_open_clocks_in_memory() {
    a_policy_change_retargets_open_clocks(MemoryStore::new());
}

#[test]
fn a_policy_change_retargets_open_clocks_on_sqlite() {
    a_policy_change_retargets_open_clocks(SqliteStore::open_in_memory().unwrap());
}

/// Story 2, the calendar: A opens 08:00–18:00 from Friday 16:45 on.
#[test]
fn a_calendar_change_retargets_from_the_change_onwards() {
    let mut t = TwoTenants::new(MemoryStore::new());
    let (ca, cb) = t.friday_mail();
    let b_before = clocks(&t.desk, t.b, cb);
    let change = at("2026-03-06T15:45:00Z");
    t.desk
        .set_tenant_settings(
            t.a,
            with_sla(sla_a("08:00", "18:00")),
            "admin@a.example",
            change,
        )
        .unwrap();
    // 15 minutes counted on the old hours; 75 more until 18:00 on Friday; the last 30
    // from Monday 08:00 → Monday 08:30 Amsterdam.
    assert_eq!(
        first_reply_deadline(&t.desk, t.a, ca),
        Some(at("2026-03-09T07:30:00Z"))
    );
    assert_eq!(
        settings_changes(&clocks(&t.desk, t.a, ca)),
        vec![(
            change,
            "sla settings".to_string(),
            "admin@a.example".to_string()
        )]
    );
    assert_eq!(clocks(&t.desk, t.b, cb), b_before, "B is untouched");
}

/// A Monday, 10:00 in Amsterdam, plus `mins` minutes.
fn t(mins: i64) -> DateTime<Utc> {
    at("2026-03-02T09:00:00Z") + TimeDelta::minutes(mins)
}

const ENGLISH: &str = "Hello, I would like to know where my order is, it has not arrived yet.";

fn settings(f: impl FnOnce(&mut TenantSettings)) -> TenantSettings {
    let mut s = TenantSettings::default();
    f(&mut s);
    s
}

/// Opens a conversation, solves it, and has the customer write again two days later;
/// the first and the second conversation.
fn write_two_days_after_solving<S: Store>(
    desk: &mut Desk<S>,
    tenant: TenantId,
) -> (ConversationId, ConversationId, Vec<Effect>) {
    let first = desk
        .ingest(email(tenant, "ana@example.com", "<r1@x>", "Broken"), t(0))
        .unwrap()
        .conversation;
    desk.set_status((tenant, first), Status::Solved, t(10))
        .unwrap();
    let again = desk
        .ingest(
            email(tenant, "ana@example.com", "<r2@x>", "Broken again"),
            t(10) + TimeDelta::days(2),
        )
        .unwrap();
    (first, again.conversation, again.effects)
}

#[test]
fn the_reopen_window_is_the_tenants() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (default, short) = (TenantId::new_v7(), TenantId::new_v7());
    desk.set_tenant_settings(
        short,
        settings(|s| s.reopen_window = Some(TimeDelta::days(1))),
        "admin",
        t(0),
    )
    .unwrap();
    let (first, again, effects) = write_two_days_after_solving(&mut desk, default);
    assert_eq!(again, first, "within the desk's 7 days: reopened");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::ConversationReopened { .. })));
    let (first, again, effects) = write_two_days_after_solving(&mut desk, short);
    assert_ne!(again, first, "past the tenant's 1 day: a new conversation");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::ConversationOpened { .. })));
}

/// The language of an English e-mail from a new customer (`id` names both).
fn language_of<S: Store>(desk: &mut Desk<S>, tenant: TenantId, id: &str) -> Option<String> {
    let from = format!("{id}@example.com");
    desk.ingest(email(tenant, &from, id, ENGLISH), t(0))
        .unwrap()
        .message
        .language
}

#[test]
fn a_tenant_answers_only_in_its_languages() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (dutch, any) = (TenantId::new_v7(), TenantId::new_v7());
    desk.set_tenant_settings(
        dutch,
        settings(|s| s.languages = Some(vec!["nl".into()])),
        "admin",
        t(0),
    )
    .unwrap();
    assert_eq!(language_of(&mut desk, dutch, "l1"), None);
    assert_eq!(language_of(&mut desk, any, "l2").as_deref(), Some("en"));
}

/// The desk's languages are every tenant's default: settings that do not name languages
/// keep them.
#[test]
fn settings_without_languages_keep_the_desks_languages() {
    let config = DeskConfig {
        languages: Some(vec!["nl".into()]),
        ..DeskConfig::default()
    };
    let mut desk = Desk::new(MemoryStore::new(), config);
    let (plain, other) = (TenantId::new_v7(), TenantId::new_v7());
    desk.set_tenant_settings(
        other,
        settings(|s| s.reopen_window = Some(TimeDelta::days(1))),
        "admin",
        t(0),
    )
    .unwrap();
    assert_eq!(language_of(&mut desk, plain, "d1"), None);
    assert_eq!(language_of(&mut desk, other, "d2"), None);
}

fn sms(tenant: TenantId, id: &str) -> Inbound {
    Inbound::new(
        tenant,
        Channel::Sms,
        Identifier::phone("+31612345678", None).unwrap(),
        id,
        "Is my order on its way?",
    )
}

#[test]
fn a_tenant_can_turn_a_channel_off() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (no_sms, other) = (TenantId::new_v7(), TenantId::new_v7());
    let channels = TenantChannels {
        disabled: [Channel::Sms].into_iter().collect(),
        ..TenantChannels::default()
    };
    desk.set_tenant_settings(
        no_sms,
        settings(|s| s.channels = Some(channels)),
        "admin",
        t(0),
    )
    .unwrap();
    let refused = desk.ingest(sms(no_sms, "SM1"), t(1));
    assert!(
        matches!(refused, Err(Error::ChannelDisabled { ref channel, .. }) if channel == "sms"),
        "{refused:?}"
    );
    let got = desk.ingest(sms(other, "SM2"), t(1)).unwrap();
    assert_eq!(desk.messages((other, got.conversation)).unwrap().len(), 1);
}

fn triaged_intent(effects: &[Effect]) -> Option<Option<String>> {
    effects.iter().find_map(|e| match e {
        Effect::Triaged { intent, .. } => Some(intent.clone()),
        _ => None,
    })
}

#[test]
fn a_tenants_catalogue_triages_its_messages_only() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let (shop, other) = (TenantId::new_v7(), TenantId::new_v7());
    let catalogue = IntentCatalogue::new()
        .with(
            Intent::new("refund", Value::High, Value::High)
                .skill("billing", 3)
                .phrases("en", &["refund", "money back"]),
        )
        .unwrap();
    desk.set_tenant_settings(
        shop,
        settings(|s| s.triage = Some(catalogue)),
        "admin",
        t(0),
    )
    .unwrap();
    let body = "I want a refund, please send my money back";
    let got = desk
        .ingest(email(shop, "fi@example.com", "<t1@x>", body), t(1))
        .unwrap();
    assert_eq!(
        triaged_intent(&got.effects),
        Some(Some("refund".to_string()))
    );
    let got = desk
        .ingest(email(other, "fi@example.com", "<t2@x>", body), t(1))
        .unwrap();
    assert_eq!(triaged_intent(&got.effects), None, "{:?}", got.effects);
}

fn escalated(effects: &[Effect]) -> Vec<ConversationId> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Escalated { conversation, .. } => Some(*conversation),
            _ => None,
        })
        .collect()
}

#[test]
fn a_tenants_escalation_steps_fire_for_it_alone() {
    let config = DeskConfig::default().routing(RoutingConfig::default());
    let mut desk = Desk::new(MemoryStore::new(), config);
    let (escalating, other) = (TenantId::new_v7(), TenantId::new_v7());
    let routing = TenantRouting {
        policy: PolicyName::SkillsMatch,
        escalation: vec![EscalationStep::after(TimeDelta::minutes(5)).drop_language()],
        capacity: CapacityModel::default(),
    };
    desk.set_tenant_settings(
        escalating,
        settings(|s| s.routing = Some(routing)),
        "admin",
        t(0),
    )
    .unwrap();
    let chat = |tenant, id| {
        Inbound::new(
            tenant,
            Channel::WebChat,
            Identifier::email("gi@example.com").unwrap(),
            id,
            "Hello, is anyone there?",
        )
    };
    let mine = desk.ingest(chat(escalating, "c1"), t(0)).unwrap();
    let theirs = desk.ingest(chat(other, "c2"), t(0)).unwrap();
    for got in [&mine, &theirs] {
        assert!(
            got.effects
                .iter()
                .any(|e| matches!(e, Effect::Queued { .. })),
            "nobody to take it: {:?}",
            got.effects
        );
    }
    assert!(escalated(&desk.tick(t(4)).unwrap()).is_empty());
    assert_eq!(
        escalated(&desk.tick(t(5)).unwrap()),
        vec![mine.conversation]
    );
    assert!(escalated(&desk.tick(t(60)).unwrap()).is_empty());
}

fn is_invalid_settings(result: Result<Vec<Effect>, Error>) -> bool {
    matches!(
        result,
        Err(Error::Invalid {
            field: "settings",
            ..
        })
    )
}

#[test]
fn invalid_settings_are_refused_whole_and_nothing_changes() {
    let mut t = TwoTenants::new(MemoryStore::new());
    let (_, cb) = t.friday_mail();
    let stored = t
        .desk
        .tenant_settings(t.b)
        .unwrap()
        .expect("B has settings");
    let running = clocks(&t.desk, t.b, cb);
    let unknown_calendar = SlaPolicies::new().policy(SlaPolicy::new("p").target_all(
        Metric::FirstReply,
        TimeDelta::hours(1),
        Basis::Business("nowhere".into()),
    ));
    let wrong = [
        // A valid SLA change with a wrong part: none of it may be written.
        settings(|s| {
            s.sla = Some(sla_b(TimeDelta::hours(2)));
            s.languages = Some(vec!["klingon".into()]);
        }),
        settings(|s| {
            s.sla = Some(sla_b(TimeDelta::hours(2)));
            s.reopen_window = Some(TimeDelta::days(-1));
        }),
        settings(|s| s.sla = Some(unknown_calendar)),
    ];
    for bad in wrong {
        let result = t
            .desk
            .set_tenant_settings(t.b, bad.clone(), "lead@b.example", at(FRI_1640));
        assert!(is_invalid_settings(result), "{bad:?}");
        assert_eq!(t.desk.tenant_settings(t.b).unwrap().as_ref(), Some(&stored));
        assert_eq!(clocks(&t.desk, t.b, cb), running, "{bad:?}");
    }
    assert_eq!(
        first_reply_deadline(&t.desk, t.b, cb),
        Some(at("2026-03-06T16:00:00Z"))
    );
}

#[test]
fn every_change_raises_the_version_and_records_who_and_when() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tenant = TenantId::new_v7();
    assert_eq!(desk.tenant_settings(tenant).unwrap(), None);
    let first = settings(|s| s.reopen_window = Some(TimeDelta::days(2)));
    let second = settings(|s| s.languages = Some(vec!["de".into()]));
    desk.set_tenant_settings(tenant, first.clone(), "ana@acme.example", t(0))
        .unwrap();
    let v1 = desk.tenant_settings(tenant).unwrap().unwrap();
    assert_eq!(
        (
            v1.version,
            v1.changed_by.as_str(),
            v1.changed_at,
            &v1.settings
        ),
        (1, "ana@acme.example", t(0), &first)
    );
    desk.set_tenant_settings(tenant, second.clone(), "bo@acme.example", t(30))
        .unwrap();
    let v2 = desk.tenant_settings(tenant).unwrap().unwrap();
    assert_eq!(
        (
            v2.version,
            v2.changed_by.as_str(),
            v2.changed_at,
            &v2.settings
        ),
        (2, "bo@acme.example", t(30), &second)
    );
    // The second replaced the first whole: the reopen window is the desk's again.
    assert_eq!(v2.settings.reopen_window, None);
}

#[test]
fn settings_set_at_one_desk_apply_to_the_next_operation_at_another() -> R {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let mut one = Desk::new(SqliteStore::open(&path)?, DeskConfig::default());
    let mut two = Desk::new(SqliteStore::open(&path)?, DeskConfig::default());
    let tenant = TenantId::new_v7();
    // Desk two has run this tenant on the defaults before the change.
    assert_eq!(language_of(&mut two, tenant, "h1").as_deref(), Some("en"));
    one.set_tenant_settings(
        tenant,
        settings(|s| {
            s.languages = Some(vec!["nl".into()]);
            s.reopen_window = Some(TimeDelta::days(1));
        }),
        "admin",
        t(1),
    )?;
    assert_eq!(language_of(&mut two, tenant, "h2"), None);
    let (first, again, _) = write_two_days_after_solving(&mut two, tenant);
    assert_ne!(first, again, "desk two applies the 1-day reopen window");
    assert_eq!(two.tenant_settings(tenant)?.map(|s| s.version), Some(1));
    Ok(())
}

/// A host that keeps its tenants' settings itself.
#[derive(Debug, Default)]
struct HostSettings {
    tenants: Mutex<HashMap<TenantId, (TenantSettings, u64)>>,
}

impl HostSettings {
    fn put(&self, tenant: TenantId, settings: TenantSettings, version: u64) {
        self.tenants
            .lock()
            .unwrap()
            .insert(tenant, (settings, version));
    }
}

impl SettingsSource for HostSettings {
    fn settings(&self, tenant: TenantId) -> throughline::Result<Option<(TenantSettings, u64)>> {
        Ok(self.tenants.lock().unwrap().get(&tenant).cloned())
    }
}

#[test]
fn a_hosts_settings_source_applies_and_its_changes_retarget_clocks() -> R {
    let host = Arc::new(HostSettings::default());
    let config = DeskConfig {
        settings_source: Some(host.clone()),
        ..DeskConfig::default()
    };
    let mut desk = Desk::new(MemoryStore::new(), config);
    let (b, other) = (TenantId::new_v7(), TenantId::new_v7());
    let previous = with_sla(sla_b(TimeDelta::minutes(30)));
    host.put(b, previous.clone(), 7);
    let conv = desk
        .ingest(email(b, "bo@example.com", "<s1@x>", "Help"), at(FRI_1630))?
        .conversation;
    assert_eq!(
        first_reply_deadline(&desk, b, conv),
        Some(at("2026-03-06T16:00:00Z"))
    );
    assert_eq!(desk.tenant_settings(b)?.map(|s| s.version), Some(7));
    assert_eq!(desk.tenant_settings(other)?, None);
    let refused = desk.set_tenant_settings(b, previous.clone(), "admin", at(FRI_1640));
    assert!(matches!(refused, Err(Error::Config(_))), "{refused:?}");

    host.put(b, with_sla(sla_b(TimeDelta::hours(2))), 8);
    desk.tenant_settings_changed(b, &previous, "host", at(FRI_1640))?;
    assert_eq!(
        first_reply_deadline(&desk, b, conv),
        Some(at("2026-03-06T17:30:00Z"))
    );
    assert_eq!(
        settings_changes(&clocks(&desk, b, conv)),
        vec![(at(FRI_1640), "sla settings".to_string(), "host".to_string())]
    );
    assert_eq!(desk.next_wakeup()?, Some(at("2026-03-06T17:00:00Z")));
    Ok(())
}

#[test]
fn one_tenants_settings_never_reach_another() -> R {
    let mut t = TwoTenants::new(MemoryStore::new());
    let c = TenantId::new_v7();
    assert_eq!(t.desk.tenant_settings(c)?, None);
    assert!(t.desk.tenant_settings(t.a)?.is_some());
    let (ca, cb) = t.friday_mail();
    let cc = t
        .desk
        .ingest(email(c, "cy@example.com", "<c1@x>", "Help"), at(FRI_1630))?
        .conversation;
    // C runs on the desk's defaults: e-mail first reply within 8 calendar hours.
    assert_eq!(
        first_reply_deadline(&t.desk, c, cc),
        Some(at("2026-03-06T23:30:00Z"))
    );
    t.desk.set_tenant_settings(
        t.a,
        with_sla(sla_b(TimeDelta::minutes(5))),
        "admin@a.example",
        at(FRI_1640),
    )?;
    // A's own clock is now past its 5 minutes; B's and C's are as they were.
    assert_eq!(
        first_reply_deadline(&t.desk, t.b, cb),
        Some(at("2026-03-06T16:00:00Z"))
    );
    assert_eq!(
        first_reply_deadline(&t.desk, c, cc),
        Some(at("2026-03-06T23:30:00Z"))
    );
    assert!(settings_changes(&clocks(&t.desk, t.b, cb)).is_empty());
    assert!(settings_changes(&clocks(&t.desk, c, cc)).is_empty());
    assert_eq!(settings_changes(&clocks(&t.desk, t.a, ca)).len(), 1);
    // Another tenant's conversation id is not found through this tenant.
    assert!(matches!(
        t.desk.sla_clocks((t.b, ca)),
        Err(Error::NotFound { .. })
    ));
    Ok(())
}

fn warnings(effects: &[Effect]) -> Vec<f64> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::SlaWarning { fraction, .. } => Some(*fraction),
            _ => None,
        })
        .collect()
}

/// Settings are checked as `SlaPolicies::build` checks them, and run as it leaves them:
/// warning thresholds given out of order and twice fire once each, in order.
#[test]
fn a_tenants_warning_thresholds_fire_once_each_in_order() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tenant = TenantId::new_v7();
    let sla = SlaPolicies::new()
        .policy(SlaPolicy::new("p").target_all(
            Metric::FirstReply,
            TimeDelta::hours(1),
            Basis::Calendar,
        ))
        .warn_at(&[0.9, 0.75, 0.75]);
    desk.set_tenant_settings(tenant, with_sla(sla), "admin", t(0))
        .unwrap();
    desk.ingest(email(tenant, "q@example.com", "<q@x>", "Help"), t(0))
        .unwrap();
    assert_eq!(desk.next_wakeup().unwrap(), Some(t(45)));
    assert_eq!(warnings(&desk.tick(t(45)).unwrap()), vec![0.75]);
    assert_eq!(desk.next_wakeup().unwrap(), Some(t(54)));
    assert_eq!(warnings(&desk.tick(t(54)).unwrap()), vec![0.9]);
}

/// A customer known to write English, whose company then answers only in Dutch: their
/// next English message gets no language, and neither does the conversation's language
/// become English again.
#[test]
fn a_restricted_tenant_does_not_take_a_customers_established_language() {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tenant = TenantId::new_v7();
    let write = |desk: &mut Desk<MemoryStore>, id: &str, mins: i64| {
        desk.ingest(email(tenant, "eve@example.com", id, ENGLISH), t(mins))
            .unwrap()
    };
    for (n, id) in ["e1", "e2", "e3"].iter().enumerate() {
        let got = write(&mut desk, id, i64::try_from(n).unwrap());
        assert_eq!(got.message.language.as_deref(), Some("en"));
    }
    desk.set_tenant_settings(
        tenant,
        settings(|s| s.languages = Some(vec!["nl".into()])),
        "admin",
        t(10),
    )
    .unwrap();
    let got = write(&mut desk, "e4", 11);
    assert_eq!(
        got.message.language, None,
        "not a language the tenant answers in"
    );
    let conv = desk.conversation((tenant, got.conversation)).unwrap();
    assert_ne!(conv.language.as_deref(), Some("nl"), "nothing invented");
}

/// A host's source with settings that do not hold (an SLA naming a calendar it does not
/// have) stops that tenant's operations with a clear error instead of running them on
/// silently wrong clocks; other tenants go on.
#[test]
fn invalid_settings_from_a_hosts_source_are_refused_with_the_reason() {
    let host = Arc::new(HostSettings::default());
    let config = DeskConfig {
        settings_source: Some(host.clone()),
        ..DeskConfig::default()
    };
    let mut desk = Desk::new(MemoryStore::new(), config);
    let (bad, good) = (TenantId::new_v7(), TenantId::new_v7());
    let broken = SlaPolicies::new().policy(SlaPolicy::new("x").target_all(
        Metric::FirstReply,
        TimeDelta::hours(1),
        Basis::Business("nowhere".into()),
    ));
    host.put(bad, with_sla(broken), 1);
    let refused = desk.ingest(email(bad, "a@example.com", "<b1@x>", "Help"), t(0));
    match refused {
        Err(Error::Config(reason)) => assert!(reason.contains("nowhere"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(desk
        .ingest(email(good, "a@example.com", "<g1@x>", "Help"), t(0))
        .is_ok());
}
