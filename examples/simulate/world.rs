//! The simulated world: intents with phrases in ten languages, customers, agents.

use chrono::NaiveTime;
use throughline::routing::{Agent, Shift};
use throughline::triage::{Accept, Intent, IntentCatalogue, Value};
use throughline::{AgentId, Channel, TenantId};

pub const LANGS: [&str; 10] = ["en", "nl", "de", "fr", "es", "it", "pt", "sv", "pl", "ja"];

/// (intent, language, phrase the classifier knows, message template with `{n}`)
pub const TEXTS: &[(&str, &str, &str, &str)] = &[
    (
        "order_status",
        "en",
        "where is my order",
        "Hi, where is my order {n}? It has been a week.",
    ),
    (
        "order_status",
        "nl",
        "waar is mijn bestelling",
        "Hallo, waar is mijn bestelling {n}? Het duurt lang.",
    ),
    (
        "order_status",
        "de",
        "wo ist meine bestellung",
        "Hallo, wo ist meine Bestellung {n}? Danke.",
    ),
    (
        "order_status",
        "fr",
        "où est ma commande",
        "Bonjour, où est ma commande {n} ? Merci.",
    ),
    (
        "order_status",
        "es",
        "dónde está mi pedido",
        "Hola, ¿dónde está mi pedido {n}? Gracias.",
    ),
    (
        "order_status",
        "it",
        "dov'è il mio ordine",
        "Ciao, dov'è il mio ordine {n}? Grazie.",
    ),
    (
        "order_status",
        "pt",
        "onde está a minha encomenda",
        "Olá, onde está a minha encomenda {n}?",
    ),
    (
        "order_status",
        "sv",
        "var är min beställning",
        "Hej, var är min beställning {n}? Tack.",
    ),
    (
        "order_status",
        "pl",
        "gdzie jest moje zamówienie",
        "Dzień dobry, gdzie jest moje zamówienie {n}?",
    ),
    ("order_status", "ja", "注文はどこ", "注文はどこですか {n}"),
    (
        "refund",
        "en",
        "refund",
        "I would like a refund for order {n}, the shoes do not fit.",
    ),
    (
        "refund",
        "nl",
        "geld terug",
        "Ik wil mijn geld terug voor bestelling {n}.",
    ),
    (
        "refund",
        "de",
        "geld zurück",
        "Ich möchte mein Geld zurück für Bestellung {n}.",
    ),
    (
        "refund",
        "fr",
        "remboursement",
        "Je voudrais un remboursement pour la commande {n}.",
    ),
    (
        "refund",
        "es",
        "reembolso",
        "Quiero un reembolso del pedido {n}.",
    ),
    (
        "refund",
        "it",
        "rimborso",
        "Vorrei un rimborso per l'ordine {n}.",
    ),
    (
        "refund",
        "pt",
        "reembolso",
        "Quero um reembolso da encomenda {n}.",
    ),
    (
        "refund",
        "sv",
        "pengarna tillbaka",
        "Jag vill ha pengarna tillbaka för order {n}.",
    ),
    (
        "refund",
        "pl",
        "zwrot pieniędzy",
        "Proszę o zwrot pieniędzy za zamówienie {n}.",
    ),
    ("refund", "ja", "返金", "注文 {n} の返金をお願いします"),
    (
        "return_label",
        "en",
        "return label",
        "Can you send me a return label?",
    ),
    (
        "return_label",
        "nl",
        "retourlabel",
        "Kunnen jullie mij een retourlabel sturen?",
    ),
    (
        "return_label",
        "de",
        "rücksendeetikett",
        "Können Sie mir ein Rücksendeetikett schicken?",
    ),
    (
        "return_label",
        "fr",
        "étiquette de retour",
        "Pouvez-vous m'envoyer une étiquette de retour ?",
    ),
    (
        "return_label",
        "es",
        "etiqueta de devolución",
        "¿Me pueden enviar una etiqueta de devolución?",
    ),
    (
        "return_label",
        "it",
        "etichetta di reso",
        "Potete mandarmi un'etichetta di reso?",
    ),
    (
        "return_label",
        "pt",
        "etiqueta de devolução",
        "Podem enviar-me uma etiqueta de devolução?",
    ),
    (
        "return_label",
        "sv",
        "returetikett",
        "Kan ni skicka en returetikett?",
    ),
    (
        "return_label",
        "pl",
        "etykieta zwrotna",
        "Czy możecie wysłać etykieta zwrotna?",
    ),
    (
        "return_label",
        "ja",
        "返品ラベル",
        "返品ラベルを送ってください",
    ),
    (
        "complaint",
        "en",
        "complaint",
        "This is unacceptable, I want to file a complaint about order {n}.",
    ),
    (
        "complaint",
        "nl",
        "klacht",
        "Dit is onacceptabel, ik wil een klacht indienen over {n}.",
    ),
    (
        "complaint",
        "de",
        "beschwerde",
        "Das ist inakzeptabel, ich habe eine Beschwerde zu {n}.",
    ),
    (
        "complaint",
        "fr",
        "réclamation",
        "C'est inacceptable, je fais une réclamation pour {n}.",
    ),
    (
        "complaint",
        "es",
        "reclamación",
        "Es inaceptable, quiero poner una reclamación por {n}.",
    ),
    (
        "complaint",
        "it",
        "reclamo",
        "È inaccettabile, voglio fare un reclamo per {n}.",
    ),
    (
        "complaint",
        "pt",
        "reclamação",
        "É inaceitável, quero fazer uma reclamação sobre {n}.",
    ),
    (
        "complaint",
        "sv",
        "klagomål",
        "Det är oacceptabelt, jag vill lämna ett klagomål om {n}.",
    ),
    (
        "complaint",
        "pl",
        "reklamacja",
        "To niedopuszczalne, składam reklamacja zamówienia {n}.",
    ),
    ("complaint", "ja", "苦情", "注文 {n} について苦情があります"),
    (
        "password",
        "en",
        "reset my password",
        "How do I reset my password?",
    ),
    (
        "password",
        "nl",
        "wachtwoord vergeten",
        "Ik ben mijn wachtwoord vergeten.",
    ),
    (
        "password",
        "de",
        "passwort vergessen",
        "Ich habe mein Passwort vergessen.",
    ),
    (
        "password",
        "fr",
        "mot de passe oublié",
        "J'ai un mot de passe oublié, aidez-moi.",
    ),
    (
        "password",
        "es",
        "olvidé mi contraseña",
        "Olvidé mi contraseña.",
    ),
    (
        "password",
        "it",
        "password dimenticata",
        "Ho la password dimenticata.",
    ),
    (
        "password",
        "pt",
        "esqueci a senha",
        "Esqueci a senha da conta.",
    ),
    (
        "password",
        "sv",
        "glömt lösenordet",
        "Jag har glömt lösenordet.",
    ),
    (
        "password",
        "pl",
        "zapomniałem hasła",
        "Zapomniałem hasła do konta.",
    ),
    ("password", "ja", "パスワード", "パスワードを忘れました"),
];

pub fn catalogue() -> IntentCatalogue {
    let mut intents = vec![
        Intent::new("order_status", Value::High, Value::Low)
            .cost(3.5)
            .article("kb/where-is-my-order"),
        Intent::new("refund", Value::High, Value::High)
            .cost(9.0)
            .skill("billing", 4),
        Intent::new("return_label", Value::Low, Value::High)
            .cost(5.0)
            .skill("logistics", 3)
            .field(
                "order",
                "What is your order number?",
                Accept::Digits { min: 4, max: 10 },
            ),
        Intent::new("complaint", Value::High, Value::High)
            .cost(14.0)
            .skill("care", 5),
        Intent::new("password", Value::Low, Value::Low)
            .cost(2.5)
            .article("kb/reset-password"),
    ];
    for intent in &mut intents {
        for (name, lang, phrase, _) in TEXTS {
            if *name == intent.name {
                *intent = intent.clone().phrases(lang, &[phrase]);
            }
        }
    }
    let mut c = IntentCatalogue::new();
    for i in intents {
        c.add(i).expect("a valid catalogue");
    }
    c
}

/// How often each intent comes up (per mille), in `TEXTS` order of intents.
pub const INTENT_MIX: [(&str, u64); 5] = [
    ("order_status", 380),
    ("refund", 180),
    ("return_label", 170),
    ("complaint", 90),
    ("password", 180),
];

pub fn text(intent: &str, lang: &str, n: u64) -> String {
    TEXTS
        .iter()
        .find(|(i, l, _, _)| *i == intent && *l == lang)
        .map_or_else(
            || format!("help with {intent}"),
            |(_, _, _, t)| t.replace("{n}", &n.to_string()),
        )
}

/// A customer's home: language, time zone offset for arrival times, channels they use.
pub struct Customer {
    pub lang: &'static str,
    pub channels: Vec<Channel>,
}

pub fn customer(n: u64, r: &mut super::Rng) -> Customer {
    let lang = LANGS[(n % 10) as usize];
    let mut channels = vec![Channel::Email];
    match lang {
        "ja" => channels.push(Channel::Line),
        "en" => channels.extend([Channel::WebChat, Channel::Twitter]),
        "es" | "pt" | "it" => channels.extend([Channel::WhatsApp, Channel::WebChat]),
        _ => channels.extend([Channel::WhatsApp, Channel::WebChat, Channel::Sms]),
    }
    channels.push(Channel::Voice);
    let _ = r;
    Customer { lang, channels }
}

/// 07:00-19:00 local, on weekdays or (half the team) every day.
fn shift(zone: &str, every_day: bool) -> Shift {
    let (start, end) = (
        NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
        NaiveTime::from_hms_opt(19, 0, 0).unwrap(),
    );
    let mut s = Shift::weekdays(zone, start, end).expect("a valid shift");
    if every_day {
        s.windows.push((chrono::Weekday::Sat, start, end));
        s.windows.push((chrono::Weekday::Sun, start, end));
    }
    s
}

/// Conversations an agent works at once.
pub const CAPACITY: u32 = 5;

/// The planned team: one agent per `(language, UTC start hour)`, speaking that language
/// and English, with every skill the intents ask for (one of them stronger).
pub fn planned_agents(tenant: TenantId, plan: &[(&'static str, usize)]) -> Vec<Agent> {
    let skills = ["billing", "care", "logistics"];
    plan.iter()
        .enumerate()
        .map(|(i, &(lang, start))| {
            Agent::new(
                AgentId::from_uuid(uuid::Uuid::from_u128(
                    0x0190_0000_0000_7000_8000_0000_0000_a000 + i as u128,
                )),
                tenant,
                format!("agent {i:02} ({lang}, from {start:02}:00 UTC)"),
            )
            .capacity(CAPACITY)
            .language(lang)
            .language("en")
            .skill(skills[i % 3], 7 + (i % 3) as u8)
            .skill(skills[(i + 1) % 3], 5)
            .skill(skills[(i + 2) % 3], 5)
            .shift(crate::staffing::shift(start))
        })
        .collect()
}

/// A fixed team of `count` agents in three time zones with weekday shifts, languages and skills.
pub fn agents(tenant: TenantId, count: usize) -> Vec<Agent> {
    let zones = [
        ("Europe/Amsterdam", ["nl", "de", "en", "fr", "sv", "pl"]),
        ("America/New_York", ["en", "es", "pt", "fr", "it", "en"]),
        ("Asia/Tokyo", ["ja", "en", "ja", "en", "ja", "en"]),
    ];
    let skills = ["billing", "care", "logistics"];
    (0..count)
        .map(|i| {
            let (zone, langs) = zones[i % 3];
            let mut a = Agent::new(
                AgentId::from_uuid(uuid::Uuid::from_u128(
                    0x0190_0000_0000_7000_8000_0000_0000_a000 + i as u128,
                )),
                tenant,
                format!("agent {i:02} ({zone})"),
            )
            .capacity(CAPACITY)
            .language(langs[i % 6])
            .language(langs[(i / 3 + 1) % 6])
            .language("en")
            .skill(skills[i % 3], 6 + (i % 4) as u8)
            .skill(skills[(i + 1) % 3], 3 + (i % 3) as u8)
            .shift(shift(zone, i % 2 == 0));
            if i % 2 == 0 {
                a = a.skill(skills[(i + 2) % 3], 4);
            }
            a
        })
        .collect()
}
