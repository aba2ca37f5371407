//! Language detection on short support messages, beside raw `whatlang::detect` on the same
//! texts in the same run.
//!
//! ```sh
//! cargo bench --bench lang
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use throughline::lang::{Language, LanguageDetector, WhatlangDetector};

/// Short support messages written for this benchmark (not from the evaluation set).
const TEXTS: &[&str] = &[
    "waar is mijn pakket?",
    "where is my parcel",
    "wo ist mein Paket?",
    "où est mon colis ?",
    "¿dónde está mi pedido?",
    "onde está a minha encomenda",
    "dov'è il mio pacco",
    "gdzie jest moja paczka",
    "hvor er pakken min",
    "var är mitt paket",
    "missä pakettini on",
    "paketim nerede",
    "где моя посылка",
    "де моя посилка",
    "το δέμα μου",
    "החבילה שלי",
    "أين طردي",
    "मेरा पार्सल कहाँ है",
    "荷物はどこですか",
    "我的包裹在哪里",
    "내 택배 어디 있어요",
    "พัสดุของฉันอยู่ที่ไหน",
    "bưu kiện của tôi đâu",
    "di mana paket saya",
    "kde je můj balík",
    "i want a refund please",
];

fn bench(c: &mut Criterion) {
    let langs: Vec<Language> = [
        "ar", "cs", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "id", "it", "ja", "ko",
        "nb", "nl", "pl", "pt", "ru", "sv", "th", "tr", "uk", "vi", "zh",
    ]
    .iter()
    .filter_map(|c| Language::from_code(c))
    .collect();
    let restricted = WhatlangDetector::with_languages(&langs);
    let all = WhatlangDetector::new();
    let mut g = c.benchmark_group("language_short_texts");
    g.throughput(Throughput::Elements(TEXTS.len() as u64));
    g.bench_function("baseline_raw_whatlang_detect", |b| {
        b.iter(|| {
            for t in TEXTS {
                black_box(whatlang::detect(black_box(t)));
            }
        })
    });
    g.bench_function("whatlang_detector_all", |b| {
        b.iter(|| {
            for t in TEXTS {
                black_box(all.detect(black_box(t)));
            }
        })
    });
    g.bench_function("whatlang_detector_restricted_26", |b| {
        b.iter(|| {
            for t in TEXTS {
                black_box(restricted.detect(black_box(t)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
