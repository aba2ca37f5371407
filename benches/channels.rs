//! Channel adapters: parse and verify throughput per webhook or mail, each beside a
//! baseline measured in the same run on the same bytes.
//!
//! - `twilio`: `twilio::parse_signed` (HMAC-SHA1 check and form parse) over 300 distinct
//!   signed webhooks built from the shapes of `tests/fixtures/twilio` (inbound SMS, MMS,
//!   WhatsApp, keywords and status callbacks), and `twilio::parse` without the check;
//!   baseline: `form_urlencoded::parse` into a `Vec<(String, String)>`.
//! - `whatsapp`: `whatsapp::parse_verified` (HMAC-SHA256 check and JSON parse) over 300
//!   distinct signed payloads built from `tests/fixtures/whatsapp`, and `whatsapp::parse`
//!   without the check; baseline: `serde_json::from_slice::<serde_json::Value>`.
//! - `email`: `email::parse` over 200 distinct replies of about 10 kB (quoted history of
//!   earlier mails, `multipart/alternative` with an HTML part; Gmail, Outlook, Apple and
//!   German styles); baseline: `mail_parser::MessageParser::default().parse` alone.
//!
//! ```sh
//! cargo bench --bench channels
//! ```

use std::collections::HashMap;
use std::hint::black_box;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::DateTime;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use throughline::channels::{email, twilio, whatsapp};
use throughline::TenantId;

const TWILIO_WEBHOOKS: usize = 300;
const WHATSAPP_WEBHOOKS: usize = 300;
const MAILS: usize = 200;

const TWILIO_URL: &str = "https://support.example.com/twilio/sms?inbox=sms-eu";
const TWILIO_TOKEN: &str = "9f3c2a7d41e85b06c1d7a2e4f8b39c50";
const APP_SECRET: &str = "b4e1c9a27f3d05e8a6c2d9f140b7e3a5";
const OUR_DOMAIN: &str = "mail.shop.example";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.next() % 16) as usize]))
            .collect()
    }
}

const SENTENCES: [&str; 12] = [
    "Hi, my order still hasn't arrived.",
    "Can you check where the parcel is?",
    "The tracking page says it was delivered but nothing is here.",
    "I'd like to change the delivery address to my office.",
    "The box arrived damaged, the lid is cracked.",
    "Could you send me an invoice with our VAT number?",
    "Thanks for the quick answer! 👍",
    "Is the blue one back in stock?",
    "Olá! Vocês entregam em Lisboa? 🇵🇹",
    "Können Sie mir bitte die Rechnung schicken?",
    "Ik wil mijn bestelling annuleren.",
    "مرحبا، أين طلبي؟",
];

/// A customer number: a Dutch mobile or a fictional US number, in E.164 digits.
fn customer_digits(rng: &mut Rng) -> String {
    if rng.next().is_multiple_of(2) {
        format!("3161{:07}", rng.next() % 10_000_000)
    } else {
        format!("1415555{:04}", rng.next() % 10_000)
    }
}

fn text(rng: &mut Rng, i: usize) -> String {
    let mut t = rng.pick(&SENTENCES).to_string();
    if rng.next().is_multiple_of(2) {
        t.push(' ');
        t.push_str(rng.pick(&SENTENCES));
    }
    format!("{t} Order {}.", 1000 + i)
}

const TWILIO_FIXTURES: [&str; 28] = [
    include_str!("../tests/fixtures/twilio/arabic.form"),
    include_str!("../tests/fixtures/twilio/chinese.form"),
    include_str!("../tests/fixtures/twilio/emoji.form"),
    include_str!("../tests/fixtures/twilio/help.form"),
    include_str!("../tests/fixtures/twilio/info.form"),
    include_str!("../tests/fixtures/twilio/mms_two_media.form"),
    include_str!("../tests/fixtures/twilio/optout_type_custom.form"),
    include_str!("../tests/fixtures/twilio/sms_inbound.form"),
    include_str!("../tests/fixtures/twilio/start.form"),
    include_str!("../tests/fixtures/twilio/status_accepted.form"),
    include_str!("../tests/fixtures/twilio/status_canceled.form"),
    include_str!("../tests/fixtures/twilio/status_delivered.form"),
    include_str!("../tests/fixtures/twilio/status_delivered_dlr.form"),
    include_str!("../tests/fixtures/twilio/status_failed.form"),
    include_str!("../tests/fixtures/twilio/status_queued.form"),
    include_str!("../tests/fixtures/twilio/status_read_whatsapp.form"),
    include_str!("../tests/fixtures/twilio/status_scheduled.form"),
    include_str!("../tests/fixtures/twilio/status_sending.form"),
    include_str!("../tests/fixtures/twilio/status_sent.form"),
    include_str!("../tests/fixtures/twilio/status_undelivered_30003.form"),
    include_str!("../tests/fixtures/twilio/stop.form"),
    include_str!("../tests/fixtures/twilio/stop_all_lower.form"),
    include_str!("../tests/fixtures/twilio/stop_sentence.form"),
    include_str!("../tests/fixtures/twilio/unstop.form"),
    include_str!("../tests/fixtures/twilio/unsubscribe_punct.form"),
    include_str!("../tests/fixtures/twilio/whatsapp_inbound.form"),
    include_str!("../tests/fixtures/twilio/whatsapp_location.form"),
    include_str!("../tests/fixtures/twilio/whatsapp_stop.form"),
];

/// One signed webhook: the body and its `X-Twilio-Signature`.
struct Signed {
    body: Vec<u8>,
    signature: String,
}

/// Webhooks in the fixtures' shapes, each with its own SID and customer number, and its
/// own text where the fixture's text is not a keyword (STOP, START, ...).
fn twilio_webhooks() -> Vec<Signed> {
    let mut rng = Rng(34);
    (0..TWILIO_WEBHOOKS)
        .map(|i| {
            let fixture = TWILIO_FIXTURES[i % TWILIO_FIXTURES.len()].trim();
            let sid = format!("SM{}", rng.hex(32));
            let number = customer_digits(&mut rng);
            let body_text = text(&mut rng, i);
            let params: Vec<(String, String)> = form_urlencoded::parse(fixture.as_bytes())
                .into_owned()
                .map(|(name, value)| {
                    let value = match name.as_str() {
                        "MessageSid" | "SmsSid" | "SmsMessageSid" => sid.clone(),
                        "Body" if value.len() > 24 => body_text.clone(),
                        _ => value.replace("14155552671", &number),
                    };
                    (name, value)
                })
                .collect();
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish()
                .into_bytes();
            let signature = twilio::sign(TWILIO_URL, &params, TWILIO_TOKEN);
            Signed { body, signature }
        })
        .collect()
}

const WHATSAPP_FIXTURES: [&str; 12] = [
    include_str!("../tests/fixtures/whatsapp/audio.json"),
    include_str!("../tests/fixtures/whatsapp/button_reply.json"),
    include_str!("../tests/fixtures/whatsapp/document.json"),
    include_str!("../tests/fixtures/whatsapp/image_caption.json"),
    include_str!("../tests/fixtures/whatsapp/list_reply.json"),
    include_str!("../tests/fixtures/whatsapp/location.json"),
    include_str!("../tests/fixtures/whatsapp/non_latin.json"),
    include_str!("../tests/fixtures/whatsapp/statuses.json"),
    include_str!("../tests/fixtures/whatsapp/template_button.json"),
    include_str!("../tests/fixtures/whatsapp/text.json"),
    include_str!("../tests/fixtures/whatsapp/two_entries.json"),
    include_str!("../tests/fixtures/whatsapp/unsupported.json"),
];

/// Gives a payload its own senders, message ids, texts and times (recursively).
fn vary(v: &mut Value, key: &str, rng: &mut Rng, numbers: &mut HashMap<String, String>, i: usize) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                vary(child, k, rng, numbers, i);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| vary(c, key, rng, numbers, i)),
        Value::String(s) => match key {
            // The business number (a reply's `context.from`) stays.
            "from" | "wa_id" | "recipient_id" if s != "15550783881" => {
                *s = numbers
                    .entry(s.clone())
                    .or_insert_with(|| customer_digits(rng))
                    .clone();
            }
            "id" if s.starts_with("wamid.") => {
                *s = format!("wamid.HBgL{}", STANDARD.encode(rng.hex(30)));
            }
            "body" => *s = text(rng, i),
            "timestamp" => *s = (1_764_000_000 + i as u64 * 7).to_string(),
            _ => {}
        },
        _ => {}
    }
}

fn hub_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Payloads in the fixtures' shapes, compact JSON as Meta sends it, signed.
fn whatsapp_webhooks() -> Vec<Signed> {
    let mut rng = Rng(35);
    (0..WHATSAPP_WEBHOOKS)
        .map(|i| {
            let fixture = WHATSAPP_FIXTURES[i % WHATSAPP_FIXTURES.len()];
            let mut v: Value = serde_json::from_str(fixture).unwrap();
            vary(&mut v, "", &mut rng, &mut HashMap::new(), i);
            let body = serde_json::to_vec(&v).unwrap();
            let signature = hub_signature(&body);
            Signed { body, signature }
        })
        .collect()
}

/// Quoted-printable with soft line breaks at 76 columns, as Gmail writes its parts.
fn quoted_printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 11 / 10);
    let mut col = 0;
    for b in text.bytes() {
        let piece = match b {
            b'\n' => {
                out.push_str("\r\n");
                col = 0;
                continue;
            }
            b'=' | 0x80.. => format!("={b:02X}"),
            _ => char::from(b).to_string(),
        };
        if col + piece.len() > 75 {
            out.push_str("=\r\n");
            col = 0;
        }
        col += piece.len();
        out.push_str(&piece);
    }
    out
}

/// A display name as a header carries it: as is when ASCII, else an RFC 2047 encoded word.
fn encoded_word(name: &str) -> String {
    if name.is_ascii() {
        name.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", STANDARD.encode(name))
    }
}

/// Base64 folded at 76 columns, as Outlook writes its parts.
fn base64_lines(text: &str) -> String {
    let b64 = STANDARD.encode(text.as_bytes());
    b64.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n")
}

const PARAGRAPHS: [&str; 8] = [
    "thank you for your message. We have looked into order {n} and can see that the parcel left our warehouse on Monday morning with the courier.",
    "The courier's tracking page shows the parcel at the regional depot; deliveries from there usually take one or two working days, depending on the route.",
    "If the parcel has not arrived by Friday, please let us know and we will open an investigation with the courier and send a replacement at no cost.",
    "For your records, the invoice for order {n} is attached to your account under Orders, where you can also change the delivery address until dispatch.",
    "We are sorry for the inconvenience. As a thank-you for your patience we have added a voucher for free shipping on your next order to your account.",
    "Wir haben Ihre Anfrage zu Bestellung {n} erhalten und melden uns innerhalb eines Werktages mit einer Antwort zurück.",
    "Onze excuses voor het ongemak: de bezorger heeft het pakket verkeerd afgeleverd, we sturen vandaag een nieuw pakket.",
    "Nous avons bien reçu votre demande concernant la commande {n} et revenons vers vous sous 24 heures.",
];

/// How many earlier mails a reply quotes.
const HISTORY: usize = 4;

/// One earlier mail of the thread: its author line and paragraphs.
fn earlier(rng: &mut Rng, n: usize, author: &str) -> Vec<String> {
    let mut lines = vec!["Hello,".to_string(), String::new()];
    for _ in 0..4 {
        let p = rng.pick(&PARAGRAPHS).replace("{n}", &n.to_string());
        lines.push(p);
        lines.push(String::new());
    }
    lines.extend(["Kind regards,".to_string(), author.to_string()]);
    lines
}

/// The plain text of a whole reply in one of four styles: the new text, a signature,
/// the attribution (Gmail English, German, Apple French, Outlook) and the history.
fn reply_text(rng: &mut Rng, i: usize, style: usize, customer: &str) -> String {
    let n = 1000 + i;
    let attribution = match style {
        0 => "On Mon, 30 Nov 2026 at 09:00, Shop Help <help@shop.example> wrote:".to_string(),
        1 => "Am Mo., 30. Nov. 2026 um 09:00 Uhr schrieb Shop Help <help@shop.example>:"
            .to_string(),
        2 => "Le 30 nov. 2026 à 09:00, Shop Help <help@shop.example> a écrit :".to_string(),
        _ => "-----Original Message-----\nFrom: Shop Help <help@shop.example>\nSent: Monday, November 30, 2026 9:00 AM\nTo: Customer\nSubject: Order".to_string(),
    };
    let mut lines = vec![text(rng, i), String::new(), format!(
            "Regards,\n{customer}\n\n-- \n{customer} | Purchasing\nNoordwind Trading B.V. | Keizersgracht 123, 1015 CJ Amsterdam\n+31 20 555 0123 | www.noordwind.example"
        )];
    lines.extend([String::new(), attribution, String::new()]);
    // The history: our last answer, the customer's mail before it, and so on; each level
    // quoted once more.
    for depth in 1..=HISTORY {
        let who = if depth % 2 == 1 {
            "Shop Help"
        } else {
            customer
        };
        let prefix = ">".repeat(depth);
        for l in earlier(rng, n, who) {
            lines.push(format!("{prefix} {l}").trim_end().to_string());
        }
        lines.push(prefix.clone());
        if depth < HISTORY {
            lines.push(format!(
                "{prefix} On Sun, 29 Nov 2026, {who} <x@example.com> wrote:"
            ));
        }
    }
    lines.join("\n")
}

/// The HTML alternative of a reply: the same text with `<blockquote>`s for quote levels.
fn reply_html(plain: &str) -> String {
    let mut html = String::from("<html><head><meta charset=\"utf-8\"><style>p{margin:0}</style></head><body><div dir=\"ltr\">");
    let mut depth = 0;
    for line in plain.lines() {
        let d = line.bytes().take_while(|b| *b == b'>').count();
        while depth < d {
            html.push_str("<blockquote class=\"gmail_quote\" style=\"margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex\">");
            depth += 1;
        }
        while depth > d {
            html.push_str("</blockquote>");
            depth -= 1;
        }
        let content = line[d..].trim();
        let escaped = content
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        html.push_str(&format!("<div>{escaped}<br></div>\n"));
    }
    html.push_str(&"</blockquote>".repeat(depth));
    html.push_str("</div></body></html>\n");
    html
}

/// A reply of about 10 kB: headers as a large provider delivers them, then
/// `multipart/alternative` with the plain text and its HTML.
fn mail(rng: &mut Rng, i: usize) -> Vec<u8> {
    const NAMES: [&str; 6] = [
        "Ana Jansen",
        "Peter Smith",
        "Jürgen Müller",
        "Élodie Martin",
        "Sofia García",
        "Aino Virtanen",
    ];
    let customer = NAMES[i % NAMES.len()];
    let address = format!("customer{i}@mail{}.example", i % 7);
    let style = i % 4;
    let plain = reply_text(rng, i, style, customer);
    let html = reply_html(&plain);
    let boundary = format!("000000000000{}", rng.hex(12));
    let (encoding, plain_enc, html_enc) = if style == 3 {
        ("base64", base64_lines(&plain), base64_lines(&html))
    } else {
        (
            "quoted-printable",
            quoted_printable(&plain),
            quoted_printable(&html),
        )
    };
    let ours = format!("<0190f5c2-7b3a-7cc1-8a53-{}@{OUR_DOMAIN}>", rng.hex(12));
    let dkim = STANDARD.encode(rng.hex(192));
    let dkim: Vec<&str> = dkim
        .as_bytes()
        .chunks(70)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let headers = format!(
        "Delivered-To: help@shop.example\r\n\
Received: by 2002:a05:7300:{h1} with SMTP id {h2}; Tue, 1 Dec 2026 10:15:{s:02} +0100\r\n\
Received: from mail{m}.example (mail{m}.example. [192.0.2.{m}])\r\n        by mx.shop.example with ESMTPS id {h2}\r\n        for <help@shop.example>; Tue, 1 Dec 2026 10:15:{s:02} +0100\r\n\
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=mail{m}.example; s=20230601;\r\n        h=to:subject:message-id:date:from:in-reply-to:references:mime-version;\r\n        bh={bh};\r\n        b={dkim}\r\n\
MIME-Version: 1.0\r\n\
References: <0190f5c1-0000-7000-8000-{h3}@{OUR_DOMAIN}> {ours}\r\n\
In-Reply-To: {ours}\r\n\
From: {display} <{address}>\r\n\
Date: Tue, 1 Dec 2026 10:15:{s:02} +0100\r\n\
Message-ID: <CAJx9Fq{h2}@mail{m}.example>\r\n\
Subject: Re: Order {n}\r\n\
To: Shop Help <help@shop.example>\r\n\
Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n",
        display = encoded_word(customer),
        h1 = rng.hex(4),
        h2 = rng.hex(16),
        h3 = rng.hex(12),
        bh = STANDARD.encode(rng.hex(31)),
        dkim = dkim.join("\r\n         "),
        s = i % 60,
        m = i % 7,
        n = 1000 + i,
    );
    let mut out = headers;
    for (ctype, part) in [("text/plain", plain_enc), ("text/html", html_enc)] {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: {ctype}; charset=\"UTF-8\"\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n{part}\r\n"
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

fn mails() -> Vec<Vec<u8>> {
    let mut rng = Rng(36);
    (0..MAILS).map(|i| mail(&mut rng, i)).collect()
}

/// Prints how many inputs a group reads and their mean size.
fn describe(group: &str, sizes: impl ExactSizeIterator<Item = usize>) {
    let n = sizes.len();
    let total: usize = sizes.sum();
    eprintln!("{group}: {n} inputs, {} bytes on average", total / n.max(1));
}

fn bench_twilio(c: &mut Criterion, tenant: TenantId) {
    let hooks = twilio_webhooks();
    describe("twilio", hooks.iter().map(|h| h.body.len()));
    let now = DateTime::from_timestamp(1_764_583_200, 0).unwrap();
    for h in &hooks {
        twilio::parse_signed(TWILIO_URL, &h.body, &h.signature, TWILIO_TOKEN, tenant, now).unwrap();
    }
    let mut g = c.benchmark_group("twilio");
    g.throughput(Throughput::Elements(hooks.len() as u64));
    g.bench_function("baseline_form_urlencoded", |b| {
        b.iter(|| {
            for h in &hooks {
                let pairs: Vec<(String, String)> = form_urlencoded::parse(black_box(&h.body))
                    .into_owned()
                    .collect();
                black_box(pairs);
            }
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            for h in &hooks {
                black_box(twilio::parse(black_box(&h.body), tenant, now).unwrap());
            }
        })
    });
    g.bench_function("parse_signed", |b| {
        b.iter(|| {
            for h in &hooks {
                let events = twilio::parse_signed(
                    TWILIO_URL,
                    black_box(&h.body),
                    &h.signature,
                    TWILIO_TOKEN,
                    tenant,
                    now,
                );
                black_box(events.unwrap());
            }
        })
    });
    g.finish();
}

fn bench_whatsapp(c: &mut Criterion, tenant: TenantId) {
    let hooks = whatsapp_webhooks();
    describe("whatsapp", hooks.iter().map(|h| h.body.len()));
    for h in &hooks {
        whatsapp::parse_verified(&h.body, &h.signature, APP_SECRET, tenant).unwrap();
    }
    let mut g = c.benchmark_group("whatsapp");
    g.throughput(Throughput::Elements(hooks.len() as u64));
    g.bench_function("baseline_serde_json_value", |b| {
        b.iter(|| {
            for h in &hooks {
                black_box(serde_json::from_slice::<Value>(black_box(&h.body)).unwrap());
            }
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            for h in &hooks {
                black_box(whatsapp::parse(black_box(&h.body), tenant).unwrap());
            }
        })
    });
    g.bench_function("parse_verified", |b| {
        b.iter(|| {
            for h in &hooks {
                let events =
                    whatsapp::parse_verified(black_box(&h.body), &h.signature, APP_SECRET, tenant);
                black_box(events.unwrap());
            }
        })
    });
    g.finish();
}

fn bench_email(c: &mut Criterion, tenant: TenantId) {
    let mails = mails();
    describe("email", mails.iter().map(Vec::len));
    for m in &mails {
        let mail = email::parse(m, tenant, OUR_DOMAIN).unwrap();
        assert_eq!(mail.kind, email::MailKind::Human);
        assert!(mail.quoted.is_some() && mail.thread_hint.is_some());
    }
    let mut g = c.benchmark_group("email");
    g.throughput(Throughput::Elements(mails.len() as u64));
    g.bench_function("baseline_mail_parser", |b| {
        b.iter(|| {
            for m in &mails {
                let parser = mail_parser::MessageParser::default();
                black_box(parser.parse(black_box(m.as_slice())).unwrap());
            }
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| {
            for m in &mails {
                black_box(email::parse(black_box(m), tenant, OUR_DOMAIN).unwrap());
            }
        })
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let tenant: TenantId = "01900000-0000-7000-8000-00000000be4c".parse().unwrap();
    bench_twilio(c, tenant);
    bench_whatsapp(c, tenant);
    bench_email(c, tenant);
}

criterion_group!(benches, bench);
criterion_main!(benches);
