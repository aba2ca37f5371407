//! Language-aware behaviour in the Desk.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::lang::{Language, Localized};
use throughline::store::MemoryStore;
use throughline::{
    AgentId, Channel, Desk, DeskConfig, Effect, Identifier, Inbound, ProfileUpdate, TenantId,
};

fn t(min: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
        .unwrap()
        .to_utc()
        + TimeDelta::minutes(min)
}

#[test]
fn a_dutch_customer_keeps_dutch_on_short_messages_and_gets_the_dutch_template(
) -> Result<(), Box<dyn std::error::Error>> {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tn = TenantId::new_v7();
    let who = Identifier::phone("+31612345678", None)?;
    let first = desk.ingest(
        Inbound::new(
            tn,
            Channel::WhatsApp,
            who.clone(),
            "w1",
            "Goedemiddag, ik wacht nog steeds op mijn pakket van vorige week",
        ),
        t(0),
    )?;
    assert_eq!(first.message.language.as_deref(), Some("nl"));
    let short = desk.ingest(
        Inbound::new(tn, Channel::WhatsApp, who.clone(), "w2", "ok, dank"),
        t(1),
    )?;
    assert_eq!(
        short.message.language.as_deref(),
        Some("nl"),
        "a short text leans on the customer's language"
    );
    assert_eq!(
        desk.conversation((tn, first.conversation))?
            .language
            .as_deref(),
        Some("nl")
    );
    let template =
        Localized::new("We are looking into it.").with("nl", "We zoeken het voor je uit.");
    let effects =
        desk.reply_localized((tn, first.conversation), AgentId::new_v7(), &template, t(2))?;
    let Some(Effect::Send(out)) = effects.first() else {
        panic!("no Send")
    };
    assert_eq!(out.body, "We zoeken het voor je uit.");
    let ev = desk.language_evidence(tn, first.customer)?;
    assert_eq!(ev.established(), Language::from_code("nl"));
    Ok(())
}

#[test]
fn the_profile_language_wins_and_a_locale_hint_helps_a_first_short_message(
) -> Result<(), Box<dyn std::error::Error>> {
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tn = TenantId::new_v7();
    let chat = desk.ingest(
        Inbound::new(
            tn,
            Channel::WebChat,
            Identifier::email("m@x.example")?,
            "c1",
            "ok",
        )
        .locale("fi-FI"),
        t(0),
    )?;
    assert_eq!(
        chat.message.language.as_deref(),
        Some("fi"),
        "no evidence but the page's locale"
    );
    desk.update_profile(
        tn,
        chat.customer,
        ProfileUpdate::default().language("sv"),
        t(1),
    )?;
    let next = desk.ingest(
        Inbound::new(
            tn,
            Channel::WebChat,
            Identifier::email("m@x.example")?,
            "c2",
            "ja",
        ),
        t(2),
    )?;
    assert_eq!(next.message.language.as_deref(), Some("sv"));
    Ok(())
}

/// The `lingua` fallback answers short texts whatlang is unsure about, and says "don't
/// know" rather than guess when the two models disagree.
#[cfg(feature = "lingua")]
#[test]
fn lingua_fallback_answers_short_texts_whatlang_is_unsure_about() {
    use throughline::lang::{Language, LanguageDetector, LinguaDetector, WhatlangDetector};
    let langs: Vec<Language> = ["nl", "de", "en", "da", "sv", "nb"]
        .iter()
        .filter_map(|c| Language::from_code(c))
        .collect();
    let fallback = LinguaDetector::with_languages(&langs);
    let plain = WhatlangDetector::with_languages(&langs);
    for (text, code) in [
        ("waar is mijn pakket", "nl"),
        ("wo ist mein Paket", "de"),
        ("where is my parcel", "en"),
    ] {
        let d = fallback.detect(text).expect("lingua answers");
        assert_eq!(d.language.code(), code, "{text}");
        if let Some(w) = plain.detect(text).filter(|w| w.reliable) {
            assert_eq!(w.language, d.language, "a reliable whatlang answer is kept");
        }
    }
    assert!(fallback.detect("12345 !!").is_none());
}
