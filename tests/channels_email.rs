#![cfg(feature = "email")]
//! The e-mail adapter against mails written from the clients' documented formats (Gmail,
//! Outlook and Apple Mail replies in six languages, HTML-only mail, attachments, non-Latin
//! text, an out-of-office, delivery reports, a list's auto-response), its refusals, and
//! the round trips: our reply built and parsed back, and a customer's answer to it
//! threaded to our message.

use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use throughline::channels::email::{self, Mail, MailKind};
use throughline::channels::{Event, ReceiptStatus};
use throughline::{
    Automated, Channel, ConversationId, Error, Identifier, Inbound, MessageId, Outbound, TenantId,
};

const DOMAIN: &str = "mail.shop.example";
/// The id of our outbound message the fixtures reply to.
const OURS: &str = "0190f5c2-7b3a-7cc1-8a53-3f2b9e0d1a22";
/// The history every reply fixture quotes.
const HISTORY: &str = "your order 1042 left our warehouse today.";

const FIXTURES: [&str; 24] = [
    "apple_en.eml",
    "apple_fr.eml",
    "apple_nl.eml",
    "attachments.eml",
    "bounce.eml",
    "bounce_headers.eml",
    "cyrillic.eml",
    "gmail_de.eml",
    "gmail_en.eml",
    "gmail_es.eml",
    "gmail_fi.eml",
    "gmail_nl.eml",
    "html_only.eml",
    "japanese.eml",
    "list_autoresponse.eml",
    "out_of_office.eml",
    "out_of_office_de.eml",
    "outlook_de.eml",
    "outlook_en.eml",
    "outlook_es.eml",
    "outlook_fi.eml",
    "outlook_fr.eml",
    "outlook_nl.eml",
    "thunderbird_de.eml",
];

fn tenant() -> TenantId {
    TenantId::from_uuid(uuid::Uuid::from_u128(7))
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/email/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> Mail {
    email::parse(&fixture(name), tenant(), DOMAIN).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn inbound(mail: Mail) -> Inbound {
    let mut events = mail.into_events();
    assert_eq!(events.len(), 1);
    match events.pop() {
        Some(Event::Message(m)) => *m,
        other => panic!("expected a message, got {other:?}"),
    }
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// One reply fixture: what its new text, quoted part and headers must be.
struct Reply {
    file: &'static str,
    from: &'static str,
    name: &'static str,
    subject: &'static str,
    body: &'static str,
    /// The start of the quoted part (attribution, header block or signature).
    quoted_start: &'static str,
    sent_at: &'static str,
}

const REPLIES: [Reply; 15] = [
    Reply {
        file: "gmail_en.eml",
        from: "ana.jansen@gmail.example",
        name: "Ana Jansen",
        subject: "Re: Order 1042",
        body: "Thanks! Could you send the tracking number?",
        quoted_start: "On Mon, Nov 30, 2026 at 9:00 AM Shop Help <\nhelp@shop.example> wrote:",
        sent_at: "2026-12-01T09:15:00Z",
    },
    Reply {
        file: "gmail_nl.eml",
        from: "ana.jansen@gmail.example",
        name: "Ana Jansen",
        subject: "Re: Bestelling 1042",
        body: "Bedankt! Kunt u de trackingcode sturen?\nGroet, Ana",
        quoted_start: "Op ma 30 nov 2026 om 09:00 schreef Shop Help <help@shop.example>:",
        sent_at: "2026-12-01T09:15:00Z",
    },
    Reply {
        file: "gmail_de.eml",
        from: "juergen.mueller@gmail.example",
        name: "Jürgen Müller",
        subject: "Re: Bestellung 1042",
        body: "Danke schön! Wann kommt das Paket an?",
        quoted_start: "Am Mo., 30. Nov. 2026 um 09:00 Uhr schrieb Shop Help <\nhelp@shop.example>:",
        sent_at: "2026-12-01T09:15:00Z",
    },
    Reply {
        file: "gmail_es.eml",
        from: "jose.garcia@gmail.example",
        name: "José García",
        subject: "Re: Pedido 1042",
        body: "¡Gracias! ¿Cuándo llegará el paquete?",
        quoted_start: "El lun, 30 nov 2026 a las 9:00, Shop Help (<help@shop.example>)\nescribió:",
        sent_at: "2026-12-01T09:15:00Z",
    },
    Reply {
        file: "gmail_fi.eml",
        from: "matti.meikalainen@gmail.example",
        name: "Matti Meikäläinen",
        subject: "Re: Tilaus 1042",
        body: "Kiitos! Milloin paketti saapuu?",
        quoted_start: "ma 30.11.2026 klo 9.00 Shop Help (help@shop.example) kirjoitti:",
        sent_at: "2026-12-01T09:15:00Z",
    },
    Reply {
        file: "apple_en.eml",
        from: "ana@icloud.example",
        name: "Ana Jansen",
        subject: "Re: Order 1042",
        body: "Great, thank you.",
        quoted_start: "Sent from my iPhone\n\n> On 30 Nov 2026, at 09:00, Shop Help <help@shop.example> wrote:",
        sent_at: "2026-12-01T09:20:00Z",
    },
    Reply {
        file: "apple_fr.eml",
        from: "elodie@icloud.example",
        name: "Élodie Dubois",
        subject: "Re: Commande 1042",
        body: "Merci beaucoup, à bientôt.",
        quoted_start: "Envoyé de mon iPhone\n\n> Le 30 nov. 2026 à 09:00, Shop Help <help@shop.example> a écrit :",
        sent_at: "2026-12-01T09:20:00Z",
    },
    Reply {
        file: "apple_nl.eml",
        from: "ana@icloud.example",
        name: "Ana Jansen",
        subject: "Re: Bestelling 1042",
        body: "Top, dank je wel!",
        quoted_start: "Verstuurd vanaf mijn iPhone\n\n> Op 30 nov 2026 om 09:00 heeft Shop Help",
        sent_at: "2026-12-01T09:20:00Z",
    },
    Reply {
        file: "outlook_en.eml",
        from: "peter.smith@outlook.example",
        name: "Peter Smith",
        subject: "RE: Order 1042",
        body: "Hi,\n\nThe parcel has not arrived yet.\n\nBest regards,\nPeter",
        quoted_start: "-----Original Message-----\nFrom: Shop Help <help@shop.example>\nSent: Monday,",
        sent_at: "2026-12-01T09:30:00Z",
    },
    Reply {
        file: "outlook_nl.eml",
        from: "pieter@outlook.example",
        name: "Pieter de Vries",
        subject: "RE: Bestelling 1042",
        body: "Hallo,\n\nHet pakket is nog niet binnen.\n\nMet vriendelijke groet,\nPieter",
        quoted_start: "________________________________\nVan: Shop Help <help@shop.example>\nVerzonden:",
        sent_at: "2026-12-01T09:30:00Z",
    },
    Reply {
        file: "outlook_de.eml",
        from: "peter@outlook.example",
        name: "Peter Schmidt",
        subject: "AW: Bestellung 1042",
        body: "Hallo,\n\ndas Paket ist noch nicht angekommen.\n\nMit freundlichen Grüßen\nPeter",
        quoted_start: "________________________________\nVon: Shop Help <help@shop.example>\nGesendet:",
        sent_at: "2026-12-01T09:30:00Z",
    },
    Reply {
        file: "outlook_fr.eml",
        from: "pierre@outlook.example",
        name: "Pierre Martin",
        subject: "RE: Commande 1042",
        body: "Bonjour,\n\nle colis n'est pas encore arrivé.\n\nCordialement,\nPierre",
        quoted_start: "________________________________\nDe : Shop Help <help@shop.example>\nEnvoyé :",
        sent_at: "2026-12-01T09:30:00Z",
    },
    Reply {
        file: "outlook_es.eml",
        from: "pedro@outlook.example",
        name: "Pedro López",
        subject: "RE: Pedido 1042",
        body: "Hola,\n\nel paquete aún no ha llegado.\n\nSaludos,\nPedro",
        quoted_start: "________________________________\nDe: Shop Help <help@shop.example>\nEnviado:",
        sent_at: "2026-12-01T09:30:00Z",
    },
    Reply {
        file: "outlook_fi.eml",
        from: "pekka@outlook.example",
        name: "Pekka Virtanen",
        subject: "VS: Tilaus 1042",
        body: "Hei,\n\npaketti ei ole vielä saapunut.\n\nTerveisin\nPekka",
        quoted_start: "________________________________\nLähettäjä: Shop Help <help@shop.example>\nLähetetty:",
        sent_at: "2026-12-01T09:30:00Z",
    },
    Reply {
        file: "thunderbird_de.eml",
        from: "anna.schulz@posteo.example",
        name: "Anna Schulz",
        subject: "Re: Bestellung 1042",
        body: "Vielen Dank für die schnelle Antwort, das Paket ist heute Morgen angekommen.",
        quoted_start: "Am 30.11.26 um 09:00 schrieb Shop Help:\n> Hello Ana,",
        sent_at: "2026-12-01T09:40:00Z",
    },
];

#[test]
fn replies_in_six_languages_from_three_clients() {
    for case in &REPLIES {
        let mail = parse(case.file);
        let file = case.file;
        assert_eq!(mail.kind, MailKind::Human, "{file}");
        assert_eq!(mail.body, case.body, "{file}");
        let quoted = mail.quoted.clone().unwrap_or_default();
        assert!(quoted.starts_with(case.quoted_start), "{file}: {quoted:?}");
        assert!(quoted.contains(HISTORY), "{file}: history lost: {quoted:?}");
        assert_eq!(mail.from.address, case.from, "{file}");
        assert_eq!(mail.subject.as_deref(), Some(case.subject), "{file}");
        assert_eq!(mail.date, Some(utc(case.sent_at)), "{file}");
        assert_eq!(
            mail.in_reply_to.as_deref(),
            Some(format!("<{OURS}@{DOMAIN}>").as_str()),
            "{file}"
        );
        assert_eq!(mail.references.last(), mail.in_reply_to.as_ref(), "{file}");
        assert_eq!(mail.inbox(), Some("help@shop.example"), "{file}");
        let message_id = mail.message_id.clone();
        let msg = inbound(mail);
        assert_eq!(msg.channel, Channel::Email, "{file}");
        assert_eq!(msg.from, Identifier::email(case.from).unwrap(), "{file}");
        assert_eq!(msg.display_name.as_deref(), Some(case.name), "{file}");
        assert_eq!(msg.external_id, message_id, "{file}");
        assert!(msg.external_id.starts_with('<') && msg.external_id.ends_with('>'));
        assert_eq!(msg.body, case.body, "{file}");
        assert_eq!(msg.quoted.as_deref(), Some(quoted.as_str()), "{file}");
        assert_eq!(msg.thread_hint.as_deref(), Some(OURS), "{file}");
        assert_eq!(msg.to.as_deref(), Some("help@shop.example"), "{file}");
        assert_eq!(msg.subject.as_deref(), Some(case.subject), "{file}");
        assert_eq!(msg.sent_at, Some(utc(case.sent_at)), "{file}");
        assert_eq!(msg.automated, None, "{file}");
    }
}

#[test]
fn outlook_recipients_and_the_suppress_header_alone() {
    // Outlook sets X-Auto-Response-Suppress on every mail: it does not make one automated.
    let mail = parse("outlook_en.eml");
    assert!(String::from_utf8_lossy(&fixture("outlook_en.eml"))
        .contains("X-Auto-Response-Suppress: All"));
    assert_eq!(mail.kind, MailKind::Human);
    assert_eq!(mail.to.len(), 1);
    assert_eq!(mail.to[0].address, "help@shop.example");
    assert_eq!(mail.to[0].name.as_deref(), Some("Shop Help"));
    assert_eq!(mail.cc.len(), 1);
    assert_eq!(mail.cc[0].address, "bo.berg@outlook.example");
    assert_eq!(mail.delivered_to, None);
}

#[test]
fn multipart_alternative_prefers_the_text_part() {
    let mail = parse("gmail_en.eml");
    assert!(!mail.body.contains('<') && !mail.quoted.clone().unwrap().contains("<div"));
    // The HTML part alone converts to the same new text.
    let raw = String::from_utf8(fixture("gmail_en.eml")).unwrap();
    let start = raw.find("Content-Type: text/plain").unwrap();
    let end = raw[start..].find("--000000000000a1b2c3d4e5f60718").unwrap() + start;
    let html_only = format!(
        "{}{}",
        &raw[..start],
        &raw[end + "--000000000000a1b2c3d4e5f60718\n".len()..]
    );
    let mail = email::parse(html_only.as_bytes(), tenant(), DOMAIN).unwrap();
    assert_eq!(mail.body, "Thanks! Could you send the tracking number?");
    assert!(mail.quoted.unwrap().contains(&format!("> {HISTORY}")));
}

#[test]
fn html_only_mail_becomes_text() {
    let mail = parse("html_only.eml");
    assert_eq!(
        mail.body,
        "Hello,\n\nIs the jacket \"Nord\" available in size L & XL?\n\ncolour: blue\nprice: € 89\nThanks,\nSam"
    );
    let quoted = mail.quoted.clone().unwrap();
    assert!(
        quoted.starts_with("On Tue, Dec 1, 2026 at 9:00 AM Shop Help <help@shop.example> wrote:")
    );
    assert!(quoted.contains("> Welcome to our shop!"));
    for hidden in ["track()", "font-family", "Mail\n"] {
        assert!(
            !mail.body.contains(hidden) && !quoted.contains(hidden),
            "{hidden}"
        );
    }
    assert_eq!(mail.date, Some(utc("2026-12-02T13:00:00Z")));
    assert_eq!(mail.thread_hint, None);
}

#[test]
fn attachments_are_references_the_host_can_resolve() {
    let raw = fixture("attachments.eml");
    let mail = parse("attachments.eml");
    assert_eq!(
        mail.body,
        "The box arrived damaged, photo and invoice attached."
    );
    assert_eq!(mail.attachments.len(), 2);
    let photo = &mail.attachments[0];
    assert_eq!(
        (
            photo.name.as_str(),
            photo.content_type.as_str(),
            photo.url.as_str()
        ),
        ("photo.png", "image/png", "cid:photo1@example.com")
    );
    let invoice = &mail.attachments[1];
    assert_eq!(
        (invoice.name.as_str(), invoice.content_type.as_str()),
        ("invoice 1042.pdf", "application/pdf")
    );
    assert!(invoice.url.starts_with("mail-part:"), "{}", invoice.url);
    let png = email::attachment_content(&raw, &photo.url).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    assert_eq!(png.len() as u64, photo.size);
    let pdf = email::attachment_content(&raw, &invoice.url).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"));
    assert_eq!(pdf.len() as u64, invoice.size);
    for bad in ["mail-part:0", "mail-part:99", "cid:nope", "https://x"] {
        let err = email::attachment_content(&raw, bad).unwrap_err();
        assert!(err.to_string().contains("no attachment"), "{bad}: {err}");
    }
    let msg = inbound(mail);
    assert_eq!(msg.attachments.len(), 2);
}

#[test]
fn japanese_cyrillic_and_emoji() {
    let mail = parse("japanese.eml");
    assert_eq!(mail.subject.as_deref(), Some("Re: 注文 1042 について 📦"));
    assert_eq!(mail.from.name.as_deref(), Some("山田 花子"));
    assert_eq!(mail.body, "荷物がまだ届いていません。確認をお願いします 🙏");
    let quoted = mail.quoted.clone().unwrap();
    assert!(quoted.starts_with("2026年11月30日(月) 9:00 Shop Help <help@shop.example>:"));
    assert!(quoted.ends_with("> ご注文ありがとうございます。"));
    assert_eq!(mail.date, Some(utc("2026-12-03T00:00:00Z")));
    // Not one of ours: the hint is the In-Reply-To.
    assert_eq!(
        mail.thread_hint.as_deref(),
        Some("<CAJx9Fq1xx@mail.gmail.example>")
    );

    let mail = parse("cyrillic.eml");
    assert_eq!(mail.subject.as_deref(), Some("Заказ 1042 получен ✅"));
    assert_eq!(mail.from.name.as_deref(), Some("Иван Петров"));
    assert_eq!(mail.body, "Здравствуйте! Посылка пришла, спасибо.");
    assert_eq!(mail.quoted.as_deref(), Some("-- \nИван Петров"));
    assert_eq!(mail.thread_hint, None);
}

#[test]
fn out_of_office_replies_are_automated() {
    for file in ["out_of_office.eml", "out_of_office_de.eml"] {
        let mail = parse(file);
        assert_eq!(mail.kind, MailKind::AutoReply, "{file}");
        assert_eq!(mail.thread_hint.as_deref(), Some(OURS), "{file}");
        let msg = inbound(mail);
        assert_eq!(msg.automated, Some(Automated::AutoReply), "{file}");
    }
    let mail = parse("out_of_office.eml");
    assert_eq!(
        mail.body,
        "I am out of the office until December 7 with limited access to e-mail."
    );
    assert_eq!(
        parse("out_of_office_de.eml").subject.as_deref(),
        Some("Abwesenheitsnotiz: Bestellung 1042")
    );
}

#[test]
fn a_list_auto_response_is_bulk() {
    let mail = parse("list_autoresponse.eml");
    assert_eq!(mail.kind, MailKind::Bulk);
    assert!(mail.body.starts_with("Your mail to 'support-list'"));
    let msg = inbound(mail);
    assert_eq!(msg.automated, Some(Automated::Bulk));
    assert_eq!(msg.thread_hint.as_deref(), Some(OURS));
}

#[test]
fn a_bounce_of_our_mail_is_a_failed_receipt() {
    let mail = parse("bounce.eml");
    assert_eq!(mail.kind, MailKind::Bounce);
    let bounce = mail.bounce.clone().unwrap();
    assert_eq!(bounce.recipient.as_deref(), Some("nobody@example.com"));
    let events = mail.into_events();
    let [Event::Receipt(receipt)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(receipt.provider_id, format!("<{OURS}@{DOMAIN}>"));
    assert_eq!(receipt.message, Some(OURS.parse::<MessageId>().unwrap()));
    assert_eq!(receipt.status, ReceiptStatus::Failed);
    assert_eq!(receipt.at, Some(utc("2026-12-01T10:00:01Z")));
    assert_eq!(
        receipt.error.as_deref(),
        Some(
            "5.1.1: smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
        )
    );
}

#[test]
fn a_bounce_with_returned_headers_only() {
    let events = parse("bounce_headers.eml").into_events();
    let [Event::Receipt(receipt)] = events.as_slice() else {
        panic!("{events:?}")
    };
    // The domain matches case-insensitively; the folded Message-ID line is read.
    let ours = "0190f5c2-7b3a-7cc1-8a53-3f2b9e0d1a23";
    assert_eq!(receipt.provider_id, format!("<{ours}@MAIL.SHOP.EXAMPLE>"));
    assert_eq!(receipt.message, Some(ours.parse::<MessageId>().unwrap()));
    assert_eq!(receipt.status, ReceiptStatus::Failed);
    assert_eq!(receipt.at, Some(utc("2026-12-01T18:04:59Z")));
    assert_eq!(
        receipt.error.as_deref(),
        Some("5.2.2: smtp; 552 5.2.2 Mailbox full")
    );
}

#[test]
fn a_bounce_without_a_returned_part_falls_back_to_in_reply_to() {
    let raw = String::from_utf8(fixture("bounce.eml")).unwrap();
    let cut = raw
        .find("--A1B2C3D4.1764583200/mx.shop.example\nContent-Description: Undelivered")
        .unwrap();
    let other = "<0190f5c2-0000-7000-8000-0000000000ff@mail.shop.example>";
    let raw = format!(
        "In-Reply-To: {other}\n{}--A1B2C3D4.1764583200/mx.shop.example--\n",
        &raw[..cut]
    );
    let events = email::parse(raw.as_bytes(), tenant(), DOMAIN)
        .unwrap()
        .into_events();
    let [Event::Receipt(receipt)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(receipt.provider_id, other);
    assert_eq!(
        receipt.message.map(|m| m.to_string()).as_deref(),
        Some("0190f5c2-0000-7000-8000-0000000000ff")
    );
    // Another domain: the receipt names the provider id only.
    let events = email::parse(raw.as_bytes(), tenant(), "other.example")
        .unwrap()
        .into_events();
    let [Event::Receipt(receipt)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(receipt.message, None);
}

fn err_text(raw: &[u8]) -> String {
    match email::parse(raw, tenant(), DOMAIN) {
        Err(e @ Error::Invalid { .. }) => e.to_string(),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn malformed_and_oversized_input_is_refused_clearly() {
    let ok = "From: a@example.com\nMessage-ID: <1@example.com>\nSubject: x\n\nhi\n";
    assert!(email::parse(ok.as_bytes(), tenant(), DOMAIN).is_ok());
    let no_from = ok.replace("From: a@example.com\n", "");
    assert!(err_text(no_from.as_bytes()).contains("no From header"));
    let no_address = ok.replace("a@example.com", "Ana Jansen");
    let err = err_text(no_address.as_bytes());
    assert!(err.contains("no address: \"Ana Jansen\""), "{err}");
    let no_id = ok.replace("Message-ID: <1@example.com>\n", "");
    assert!(err_text(no_id.as_bytes()).contains("no Message-ID"));
    let bad_from = ok.replace("a@example.com", "<not-an-address>");
    let err = err_text(bad_from.as_bytes());
    assert!(
        err.contains("\"not-an-address\" is not an e-mail address"),
        "{err}"
    );
    assert!(err_text(b"").contains("empty input"));
    assert!(err_text(b" \r\n ").contains("empty input"));
    let err = err_text(b"\x00\x01 just some bytes");
    assert!(err.contains("invalid "), "{err}");
    let big = vec![b'a'; email::MAX_MAIL_BYTES + 1];
    let err = err_text(&big);
    assert!(err.contains(&format!(
        "{} bytes, the maximum is {}",
        big.len(),
        email::MAX_MAIL_BYTES
    )));
    assert_eq!(email::MAX_MAIL_BYTES, 25 * 1024 * 1024);
}

#[test]
fn machine_senders_without_auto_headers_are_still_automated() {
    let plain =
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nTo: help@shop.example\n\
                 Subject: Undelivered Mail\nMessage-ID: <old-bounce@mx.example.net>\n\n\
                 Your message could not be delivered.\n";
    assert_eq!(
        email::parse(plain.as_bytes(), tenant(), DOMAIN)
            .unwrap()
            .kind,
        MailKind::AutoReply
    );
    let null = "Return-Path: <>\nFrom: robot@example.net\nSubject: Receipt\n\
                Message-ID: <r-1@example.net>\n\nThanks for your mail.\n";
    let mail = email::parse(null.as_bytes(), tenant(), DOMAIN).unwrap();
    assert_eq!(inbound(mail).automated, Some(Automated::AutoReply));
}

#[test]
fn overlong_subjects_names_and_ids_are_cut_to_what_inbound_takes() {
    let long_id = format!("<{}@example.com>", "x".repeat(1200));
    let raw = format!(
        "From: \"{}\" <a@example.com>\nSubject: {}\nMessage-ID: <1@example.com>\n\
         In-Reply-To: {long_id}\nReferences: {long_id} <ok@example.com>\n\nhi\n",
        "Ä".repeat(300),
        "é".repeat(700)
    );
    let mail = email::parse(raw.as_bytes(), tenant(), DOMAIN).unwrap();
    assert_eq!(mail.subject.as_deref().map(str::len), Some(998));
    assert_eq!(mail.in_reply_to, None);
    assert_eq!(mail.references, vec!["<ok@example.com>".to_string()]);
    let msg = inbound(mail);
    assert_eq!(msg.display_name.as_deref().map(str::len), Some(256));
    assert_eq!(msg.thread_hint.as_deref(), Some("<ok@example.com>"));
}

// ---------------------------------------------------------------- building replies

fn outbound(message: u128, body: &str, subject: Option<&str>) -> Outbound {
    Outbound {
        tenant: tenant(),
        conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(99)),
        message: MessageId::from_uuid(uuid::Uuid::from_u128(message)),
        channel: Channel::Email,
        to: Identifier::email("ana@example.com").unwrap(),
        body: body.to_string(),
        parts: vec![body.to_string()],
        attachments: vec![],
        in_reply_to: Some("<CAJx9Fq1en@mail.gmail.example>".to_string()),
        subject: subject.map(str::to_string),
        from: Some("billing@shop.example".to_string()),
        customer_wrote_at: None,
    }
}

fn date() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    let head = mail.split("\r\n\r\n").next()?;
    head.split("\r\n")
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
}

#[test]
fn a_reply_carries_our_id_the_thread_and_one_re() {
    let out = outbound(
        1,
        "Your parcel left today.\nTracking: <NL123> & more",
        Some("Re: RE: Order 1042"),
    );
    let bytes = email::build(&out, "help@shop.example", DOMAIN, date()).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let id = email::message_id(&out, DOMAIN);
    assert_eq!(id, format!("<{}@{DOMAIN}>", out.message));
    assert_eq!(header(&text, "Message-ID"), Some(id.as_str()));
    assert_eq!(
        header(&text, "In-Reply-To"),
        Some("<CAJx9Fq1en@mail.gmail.example>")
    );
    assert_eq!(
        header(&text, "References"),
        Some("<CAJx9Fq1en@mail.gmail.example>")
    );
    assert_eq!(header(&text, "Subject"), Some("Re: Order 1042"));
    assert_eq!(header(&text, "From"), Some("<billing@shop.example>"));
    assert_eq!(header(&text, "To"), Some("<ana@example.com>"));
    assert_eq!(
        header(&text, "Date"),
        Some("Tue, 1 Dec 2026 10:00:00 +0000")
    );
    assert!(text.contains("multipart/alternative"));
    assert!(text.contains("Tracking: &lt;NL123&gt; &amp; more"));
    assert!(text.contains("<br>"));
    // Pure: the same input gives the same bytes.
    assert_eq!(
        email::build(&out, "help@shop.example", DOMAIN, date()).unwrap(),
        bytes
    );

    let mut plain = out.clone();
    plain.from = None;
    plain.in_reply_to = None;
    let text = String::from_utf8(
        email::build(&plain, "Shop Help <help@shop.example>", DOMAIN, date()).unwrap(),
    )
    .unwrap();
    assert_eq!(
        header(&text, "From"),
        Some("\"Shop Help\" <help@shop.example>")
    );
    assert_eq!(header(&text, "In-Reply-To"), None);
    assert_eq!(header(&text, "References"), None);
}

#[test]
fn a_reply_to_a_phone_number_is_refused() {
    let mut out = outbound(2, "Hi", Some("x"));
    out.to = Identifier::phone("+31612345678", None).unwrap();
    let err = email::build(&out, "help@shop.example", DOMAIN, date()).unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "to", .. }), "{err}");
    assert!(err.to_string().contains("+31612345678"), "{err}");
    let out = outbound(2, "Hi", Some("x"));
    let err = email::build(&out, "help@shop.example", "not a domain", date()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                field: "our_domain",
                ..
            }
        ),
        "{err}"
    );
    let mut bad = out.clone();
    bad.in_reply_to = Some("<a@b>\r\nBcc: evil@example.com".into());
    let err = email::build(&bad, "help@shop.example", DOMAIN, date()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                field: "in_reply_to",
                ..
            }
        ),
        "{err}"
    );
    let mut bad = out;
    bad.from = Some("nobody".into());
    let err = email::build(&bad, "help@shop.example", DOMAIN, date()).unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "from", .. }), "{err}");
}

/// A customer's reply to `ours` as their client would write it: our text quoted below
/// theirs, `In-Reply-To` and `References` naming our Message-ID (in `domain`'s case).
fn customer_reply(ours: &str, our_body: &str, theirs: &str, subject: &str) -> String {
    let quoted: String = our_body.lines().map(|l| format!("> {l}\n")).collect();
    format!(
        "From: Ana <ana@example.com>\r\nTo: billing@shop.example\r\nSubject: {subject}\r\n\
         Message-ID: <reply-1@mail.example.com>\r\nIn-Reply-To: {ours}\r\n\
         References: <CAJx9Fq1en@mail.gmail.example> {ours}\r\n\
         Date: Tue, 1 Dec 2026 11:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{theirs}\n\n\
         On Tue, 1 Dec 2026 at 10:00, Shop <billing@shop.example> wrote:\n{quoted}"
    )
}

fn texts() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[A-Za-z0-9 ,.!?]{1,30}",
        Just("Grüße aus Köln 😀".to_string()),
        Just("注文の件です".to_string()),
        Just("Спасибо & <ok>".to_string()),
        Just("€ 12,50 — ok".to_string()),
    ];
    proptest::collection::vec(line, 1..6)
        .prop_map(|lines| {
            lines
                .iter()
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .prop_filter("some text", |t| !t.trim().is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn parse_never_panics_on_arbitrary_bytes(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(mail) = email::parse(&raw, tenant(), DOMAIN) {
            let _ = mail.into_events();
        }
    }

    #[test]
    fn parse_never_panics_on_mutated_fixtures(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..24),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut raw = fixture(FIXTURES[which]);
        for (at, byte, op) in edits {
            if raw.is_empty() {
                break;
            }
            let i = at.index(raw.len());
            match op {
                0 => raw[i] = byte,
                1 => raw.insert(i, byte),
                _ => {
                    raw.remove(i);
                }
            }
        }
        if truncate && !raw.is_empty() {
            raw.truncate(cut.index(raw.len()));
        }
        if let Ok(mail) = email::parse(&raw, tenant(), DOMAIN) {
            let _ = mail.into_events();
        }
        let _ = email::attachment_content(&raw, "mail-part:3");
    }

    #[test]
    fn our_reply_parses_back_to_its_text_and_subject(
        n in any::<u128>(),
        body in texts(),
        subject in "[A-Za-z0-9]{1,12}( [A-Za-z0-9]{1,8})?|Bestellung für Jürgen|注文 1042",
    ) {
        let out = outbound(n, &body, Some(&subject));
        let bytes = email::build(&out, "help@shop.example", DOMAIN, date()).unwrap();
        let mail = email::parse(&bytes, out.tenant, DOMAIN).unwrap();
        prop_assert_eq!(mail.kind, MailKind::Human);
        prop_assert_eq!(&mail.body, &body);
        prop_assert_eq!(mail.quoted, None);
        prop_assert_eq!(mail.subject, Some(format!("Re: {}", subject.trim())));
        prop_assert_eq!(&mail.message_id, &email::message_id(&out, DOMAIN));
        prop_assert_eq!(mail.from.address.as_str(), "billing@shop.example");
        prop_assert_eq!(mail.date, Some(date()));
        prop_assert_eq!(mail.in_reply_to.as_deref(), Some("<CAJx9Fq1en@mail.gmail.example>"));
    }

    #[test]
    fn a_customer_reply_to_our_mail_threads_to_our_message(
        n in any::<u128>(),
        body in texts(),
        theirs in texts(),
        upper in any::<bool>(),
    ) {
        let out = outbound(n, &body, Some("Order 1042"));
        let bytes = email::build(&out, "help@shop.example", DOMAIN, date()).unwrap();
        let sent = email::parse(&bytes, out.tenant, DOMAIN).unwrap();
        let ours = if upper { sent.message_id.to_uppercase() } else { sent.message_id.clone() };
        let reply = customer_reply(&ours, &sent.body, &theirs, "Re: Order 1042");
        let mail = email::parse(reply.as_bytes(), out.tenant, DOMAIN).unwrap();
        prop_assert_eq!(&mail.body, &theirs);
        let quoted = mail.quoted.clone().unwrap_or_default();
        for line in body.lines() {
            let quoted_line = format!("> {line}");
            prop_assert!(quoted.contains(&quoted_line), "{:?} not in {:?}", line, quoted);
        }
        let msg = inbound(mail);
        prop_assert_eq!(msg.thread_hint, Some(out.message.to_string()));
        prop_assert_eq!(msg.to.as_deref(), Some("billing@shop.example"));
    }
}
