//! Outside data never panics: arbitrary Unicode and bytes through the constructors and
//! parsers a host feeds from the outside — an `Inbound` deserialised from JSON and then
//! ingested, identifiers of every kind, business calendars and SLA policies built from
//! arbitrary zones and hours, tenant settings from JSON, and the text functions. Each
//! either works or returns an error that names what was wrong.

use chrono::{DateTime, TimeDelta, Utc, Weekday};
use proptest::prelude::*;
use throughline::sla::{Basis, BusinessCalendar, Metric, SlaPolicies, SlaPolicy};
use throughline::store::MemoryStore;
use throughline::text::{inspect_body, render, sanitize_name, sms_info, split, truncate};
use throughline::{
    Channel, Desk, DeskConfig, Error, Identifier, IdentifierKind, Inbound, TenantId,
};

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_772_442_000, 0).unwrap()
}

/// Text with the characters that break parsers: controls, bidi overrides, zero-width,
/// combining marks, NUL, astral characters, quotes.
fn nasty() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[a-z0-9@.+:/ _-]{0,12}",
        Just("\u{0}".to_string()),
        Just("\u{202E}".to_string()),
        Just("\u{200B}".to_string()),
        Just("e\u{301}".to_string()),
        Just("😀".to_string()),
        Just("\"\\".to_string()),
        Just("\r\n".to_string()),
        any::<String>(),
    ];
    proptest::collection::vec(pieces, 0..8).prop_map(|v| v.concat())
}

/// An error names its field.
fn names_a_field(e: &Error) -> bool {
    match e {
        Error::Invalid { field, .. } => !field.is_empty(),
        _ => !e.to_string().is_empty(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn identifiers_of_every_kind_take_any_text(raw in nasty(), system in nasty()) {
        let made = [
            Identifier::email(&raw),
            Identifier::phone(&raw, None),
            Identifier::phone(&raw, Some("NL")),
            Identifier::whatsapp(&raw, None),
            Identifier::handle(IdentifierKind::Line, &raw),
            Identifier::handle(IdentifierKind::WebVisitor, &raw),
            Identifier::external(&system, &raw),
        ];
        for r in made {
            match r {
                Ok(id) => {
                    // What a constructor accepts reads back through serde unchanged.
                    let json = serde_json::to_string(&id).unwrap();
                    let back: Identifier = serde_json::from_str(&json).unwrap();
                    prop_assert_eq!(back, id);
                }
                Err(e) => prop_assert!(names_a_field(&e), "{e}"),
            }
        }
    }

    #[test]
    fn an_inbound_deserialised_from_any_json_is_ingested_or_refused(
        from in prop_oneof![nasty(), "[a-z]{1,8}@example\\.com"],
        ext in nasty(),
        body in nasty(),
        channel in prop_oneof![Just("email".to_string()), Just("webchat".to_string()), nasty()],
        hint in nasty(),
    ) {
        let json = serde_json::json!({
            "tenant": "01900000-0000-7000-8000-0000000000f1",
            "channel": channel,
            "from": { "kind": "email", "value": from },
            "also": [],
            "external_id": ext,
            "body": body,
            "attachments": [],
            "thread_hint": hint,
        });
        let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
        match serde_json::from_value::<Inbound>(json) {
            Ok(inbound) => match desk.ingest(inbound.clone(), t0()) {
                Ok(got) => {
                    // Stored as given, and a redelivery is a duplicate.
                    prop_assert_eq!(&got.message.body, &inbound.body);
                    prop_assert!(desk.ingest(inbound, t0()).unwrap().duplicate);
                }
                Err(e) => prop_assert!(names_a_field(&e), "{e}"),
            },
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn calendars_and_policies_from_any_zone_and_hours_build_or_say_why(
        zone in prop_oneof![nasty(), Just("Europe/Amsterdam".to_string())],
        open in prop_oneof![nasty(), "[0-2][0-9]:[0-5][0-9]"],
        close in prop_oneof![nasty(), "[0-2][0-9]:[0-5][0-9]"],
        minutes in -100i64..100_000,
        name in nasty(),
    ) {
        let built = BusinessCalendar::builder(&zone)
            .hours(Weekday::Mon, &open, &close)
            .hours(Weekday::Fri, &open, &close)
            .build();
        let calendar = match built {
            Ok(c) => c,
            Err(e) => {
                prop_assert!(names_a_field(&e), "{e}");
                return Ok(());
            }
        };
        // Arithmetic on what was built never panics.
        let _ = calendar.add(t0(), TimeDelta::minutes(minutes.abs()));
        let _ = calendar.elapsed(t0(), t0() + TimeDelta::minutes(minutes.abs()));
        let policies = SlaPolicies::new()
            .calendar(&name, calendar)
            .policy(SlaPolicy::new(&name).target_all(
                Metric::FirstReply,
                TimeDelta::minutes(minutes),
                Basis::Business(name.clone()),
            ))
            .build();
        if let Err(e) = policies {
            prop_assert!(names_a_field(&e), "{e}");
        }
    }

    #[test]
    fn tenant_settings_from_any_json_validate_or_say_why(text in nasty(), key in nasty()) {
        let raw = serde_json::json!({ key.clone(): text.clone(), "languages": [text] }).to_string();
        if let Ok(s) = serde_json::from_str::<throughline::settings::TenantSettings>(&raw) {
            if let Err(e) = s.validate() {
                prop_assert!(names_a_field(&e), "{e}");
            }
        }
    }

    #[test]
    fn the_text_functions_take_any_text(text in nasty(), limit in 0usize..400) {
        let _ = truncate(&text, limit);
        let _ = sms_info(&text);
        let _ = sanitize_name(&text);
        let _ = inspect_body(&text);
        if let Ok(parts) = split(&text, limit.max(1)) {
            prop_assert_eq!(parts.concat(), text.clone());
        }
        for channel in [Channel::Sms, Channel::WhatsApp, Channel::Twitter, Channel::Email] {
            if let Err(e) = render(&text, &channel, &channel.profile()) {
                prop_assert!(names_a_field(&e), "{e}");
            }
        }
        let _ = TenantId::new_v7();
    }
}
