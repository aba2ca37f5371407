//! The language a `Desk` gives a customer's message, with the default configuration,
//! measured on the evaluation set: the targets of `docs/language.md`.

use chrono::{DateTime, TimeDelta, Utc};
use throughline::store::MemoryStore;
use throughline::{Channel, Desk, DeskConfig, Identifier, IdentifierKind, Inbound, TenantId};

use super::{words, Row, Tally};

/// A valid mobile number of a country where `lang` is the main language; its last three
/// digits are replaced to make one number per customer.
fn mobile(lang: &str) -> Option<&'static str> {
    Some(match lang {
        "ar" => "+966501234567",
        "cs" => "+420601123456",
        "da" => "+4520123456",
        "de" => "+4915123456789",
        "el" => "+306941234567",
        "en" => "+447912345678",
        "es" => "+34612345678",
        "fi" => "+358401234567",
        "fr" => "+33612345678",
        "he" => "+972559416222",
        "hi" => "+919812345678",
        "id" => "+6281234567890",
        "it" => "+393471234567",
        "ja" => "+819012345678",
        "ko" => "+821012345678",
        "nb" => "+4741234567",
        "nl" => "+31612345678",
        "pl" => "+48512345678",
        "pt" => "+351912345678",
        "ru" => "+79121234567",
        "sv" => "+46701234567",
        "th" => "+66812345678",
        "tr" => "+905321234567",
        "uk" => "+380671234567",
        "vi" => "+84912345678",
        "zh" => "+8613812345678",
        _ => return None,
    })
}

/// `number` with its last three digits replaced by `i` (modulo 1000).
fn nth(number: &str, i: u32) -> String {
    format!("{}{:03}", &number[..number.len() - 3], i % 1000)
}

/// One desk per scenario; every text from a new customer unless the scenario says.
struct Run {
    desk: Desk<MemoryStore>,
    tenant: TenantId,
    n: u64,
    now: DateTime<Utc>,
}

impl Run {
    fn new(config: DeskConfig) -> Self {
        Run {
            desk: Desk::new(MemoryStore::new(), config),
            tenant: TenantId::new_v7(),
            n: 0,
            now: DateTime::from_timestamp(1_772_442_000, 0).unwrap_or_default(),
        }
    }

    /// Ingests `text` from `from`; the language the desk gave the message.
    fn language(&mut self, channel: Channel, from: Identifier, text: &str) -> Option<String> {
        self.n += 1;
        self.now += TimeDelta::seconds(1);
        let msg = Inbound::new(self.tenant, channel, from, format!("m{}", self.n), text);
        match self.desk.ingest(msg, self.now) {
            Ok(got) => got.message.language,
            Err(e) => {
                println!("ingest failed: {e}");
                None
            }
        }
    }

    fn visitor(&mut self) -> Identifier {
        Identifier::handle(IdentifierKind::WebVisitor, &format!("visitor-{}", self.n))
            .expect("a visitor id")
    }
}

fn add(t: &mut Tally, truth: &str, got: Option<String>) {
    t.add(
        truth,
        got.as_deref()
            .and_then(throughline::lang::Language::from_code),
    );
}

fn row(name: &str, t: &Tally) {
    println!(
        "| {name} | {} | {} | {} | {} |",
        t.n,
        Tally::pct(t.correct, t.n),
        Tally::pct(t.answered - t.correct, t.n),
        Tally::pct(t.answered, t.n),
    );
}

/// Prints the table of what the desk decides, per scenario.
pub fn section(rows: &[Row], make: &dyn Fn() -> DeskConfig, title: &str) {
    let short: Vec<&Row> = rows
        .iter()
        .filter(|r| (2..=8).contains(&words(&r.text)))
        .collect();
    let sentences: Vec<&Row> = rows.iter().filter(|r| r.kind == "sentence").collect();
    let mut tallies: Vec<(&str, Tally)> = Vec::new();

    // A new customer on the web chat: nothing known, no address prior.
    let mut run = Run::new(make());
    let mut t = Tally::default();
    for r in &short {
        let from = run.visitor();
        add(
            &mut t,
            &r.lang,
            run.language(Channel::WebChat, from, &r.text),
        );
    }
    tallies.push(("new customer, web chat, short first message", t));

    // A new customer texting from a number of the language's country.
    let mut run = Run::new(make());
    let (mut t, mut i) = (Tally::default(), 0u32);
    for r in &short {
        let Some(number) = mobile(&r.lang) else {
            continue;
        };
        i += 1;
        let Ok(from) = Identifier::phone(&nth(number, i), None) else {
            println!("invalid test number {}", nth(number, i));
            continue;
        };
        add(&mut t, &r.lang, run.language(Channel::Sms, from, &r.text));
    }
    tallies.push(("new customer, SMS from the language's country", t));

    // English from a Dutch number: the prior must not make it Dutch.
    let mut run = Run::new(make());
    let (mut t, mut i) = (Tally::default(), 0u32);
    for r in short.iter().filter(|r| r.lang == "en") {
        i += 1;
        let Ok(from) = Identifier::phone(&nth("+31612345678", i), None) else {
            continue;
        };
        add(&mut t, &r.lang, run.language(Channel::Sms, from, &r.text));
    }
    tallies.push(("English texts from a Dutch number", t));

    // One earlier sentence of the same customer, then the short text.
    let mut run = Run::new(make());
    let mut t = Tally::default();
    for (k, r) in short.iter().enumerate() {
        let same: Vec<&&Row> = sentences.iter().filter(|s| s.lang == r.lang).collect();
        if same.is_empty() {
            continue;
        }
        let earlier = same[(k * 7) % same.len()];
        let from = run.visitor();
        run.language(Channel::WebChat, from.clone(), &earlier.text);
        add(
            &mut t,
            &r.lang,
            run.language(Channel::WebChat, from, &r.text),
        );
    }
    tallies.push(("after one earlier sentence of the customer", t));

    // A tenant answering in Dutch, German, French and English, on those languages.
    let four = ["nl", "de", "fr", "en"];
    let mut run = Run::new(DeskConfig {
        languages: Some(four.iter().map(|c| c.to_string()).collect()),
        ..make()
    });
    let mut t = Tally::default();
    for r in short.iter().filter(|r| four.contains(&r.lang.as_str())) {
        let from = run.visitor();
        add(
            &mut t,
            &r.lang,
            run.language(Channel::WebChat, from, &r.text),
        );
    }
    tallies.push(("tenant of nl, de, fr, en: new customer, web chat", t));

    println!("\n## Through the Desk: {title} (short texts: 2-8 words)\n");
    println!("| scenario | texts | right | wrong | answered |");
    println!("|---|---|---|---|---|");
    for (name, t) in &tallies {
        row(name, t);
    }
}
