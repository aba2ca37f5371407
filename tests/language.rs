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

/// The language a fresh desk gives a new customer's first message.
fn first_language(
    config: DeskConfig,
    channel: Channel,
    from: Identifier,
    text: &str,
) -> Result<Option<String>, Box<dyn std::error::Error>> {
    let mut desk = Desk::new(MemoryStore::new(), config);
    let got = desk.ingest(
        Inbound::new(TenantId::new_v7(), channel, from, "x1", text),
        t(0),
    )?;
    Ok(got.message.language)
}

/// A new customer's short first message: the country of the number or of the e-mail
/// domain decides what no detector can vouch for; without it, no language rather than a
/// guess.
#[test]
fn the_address_s_country_decides_a_new_customer_s_short_text(
) -> Result<(), Box<dyn std::error::Error>> {
    let short = "pakket nog niet";
    // Alone, the text is not Dutch enough to say.
    let d = throughline::lang::WhatlangDetector::new();
    use throughline::lang::LanguageDetector;
    assert!(d.detect(short).is_none_or(|d| !d.reliable));
    let sms = Identifier::phone("+31612345678", None)?;
    assert_eq!(
        first_language(DeskConfig::default(), Channel::Sms, sms, short)?.as_deref(),
        Some("nl")
    );
    let dutch_mail = Identifier::email("anna@voorbeeld.nl")?;
    assert_eq!(
        first_language(DeskConfig::default(), Channel::Email, dutch_mail, short)?.as_deref(),
        Some("nl")
    );
    for nowhere in [
        Identifier::email("anna@example.com")?,
        Identifier::email("anna@startup.io")?,
    ] {
        assert_eq!(
            first_language(DeskConfig::default(), Channel::Email, nowhere, short)?,
            None,
            "no prior, no reliable detection: no language"
        );
    }
    Ok(())
}

/// A prior is weak: English from a Dutch number is not made Dutch, and a reliable
/// detection wins over the country.
#[test]
fn another_language_from_a_country_s_number_is_not_made_its_language(
) -> Result<(), Box<dyn std::error::Error>> {
    let sms = || Identifier::phone("+31612345678", None);
    let english = first_language(
        DeskConfig::default(),
        Channel::Sms,
        sms()?,
        "where is my parcel",
    )?;
    assert_ne!(english.as_deref(), Some("nl"));
    let polish = first_language(
        DeskConfig::default(),
        Channel::Sms,
        sms()?,
        "gdzie jest moja przesyłka",
    )?;
    assert_eq!(polish.as_deref(), Some("pl"));
    let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    let tn = TenantId::new_v7();
    let got = desk.ingest(
        Inbound::new(tn, Channel::Sms, sms()?, "s1", "where is my parcel"),
        t(0),
    )?;
    let ev = desk.language_evidence(tn, got.customer)?;
    assert_eq!(ev.prior, vec![Language::from_code("nl").unwrap()]);
    assert_eq!(
        ev.established(),
        None,
        "a prior is not the customer's language"
    );
    Ok(())
}

/// A tenant's languages restrict detection (a Dutch tenant's customer is not taken for
/// Afrikaans) and answer more among fewer.
#[test]
fn a_tenant_s_languages_weigh_in() -> Result<(), Box<dyn std::error::Error>> {
    use throughline::lang::LanguageDetector;
    let visitor = || Identifier::email("v@example.com");
    let dutch = || DeskConfig {
        languages: Some(vec!["nl".into()]),
        ..DeskConfig::default()
    };
    for text in ["dit is niet goed", "het is nog steeds niet aangekomen"] {
        let any = throughline::lang::WhatlangDetector::new().detect(text);
        assert_eq!(any.map(|d| d.language.code()), Some("af"), "{text}");
        assert_eq!(
            first_language(DeskConfig::default(), Channel::WebChat, visitor()?, text)?,
            None,
            "{text}"
        );
        // Never Afrikaans for the Dutch tenant: Dutch, or no answer when the detector,
        // asked "Dutch or Afrikaans?", says Afrikaans clearly.
        let got = first_language(dutch(), Channel::WebChat, visitor()?, text)?;
        assert_ne!(got.as_deref(), Some("af"), "{text}");
    }
    // English to the Dutch-only tenant is no answer, not Dutch.
    let english = "Hello, I would like to know where my order is, it has not arrived yet.";
    assert_eq!(
        first_language(dutch(), Channel::WebChat, visitor()?, english)?,
        None
    );
    let four = || DeskConfig {
        languages: Some(["nl", "de", "fr", "en"].map(String::from).to_vec()),
        ..DeskConfig::default()
    };
    // Among four languages the detector vouches for what it would not among all.
    let german = "Lieferung verspätet";
    assert_eq!(
        first_language(DeskConfig::default(), Channel::WebChat, visitor()?, german)?,
        None
    );
    assert_eq!(
        first_language(four(), Channel::WebChat, visitor()?, german)?.as_deref(),
        Some("de")
    );
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
