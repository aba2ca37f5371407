//! Triage of short messages with a 500-intent catalogue in 10 languages (3 phrases per
//! intent and language), beside a naive scan of every phrase over the folded text, same
//! run.
//!
//! ```sh
//! cargo bench --bench triage
//! ```

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use throughline::lang::Language;
use throughline::triage::{
    words, Intent, IntentCatalogue, IntentClassifier, KeywordClassifier, Value,
};

const LANGS: [&str; 10] = ["en", "nl", "de", "fr", "es", "it", "pt", "sv", "pl", "fi"];
const INTENTS: usize = 500;

/// A made-up but word-like phrase vocabulary per intent and language.
fn phrase(i: usize, l: usize, k: usize) -> String {
    format!(
        "{}{} {}{}",
        ["ver", "zend", "kauf", "rem", "pedi"][k % 5],
        i * 7 + l,
        ["lo", "ta", "mi", "ko"][(i + k) % 4],
        l * 13 + k
    )
}

fn catalogue() -> IntentCatalogue {
    let mut c = IntentCatalogue::new();
    for i in 0..INTENTS {
        let mut intent = Intent::new(format!("intent{i}"), Value::High, Value::Low);
        for (l, code) in LANGS.iter().enumerate() {
            let ps: Vec<String> = (0..3).map(|k| phrase(i, l, k)).collect();
            let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
            intent = intent.phrases(code, &refs);
        }
        c.add(intent).unwrap();
    }
    c
}

fn messages() -> Vec<(String, Option<Language>)> {
    (0..200)
        .map(|m| {
            let (i, l) = ((m * 37) % INTENTS, m % 10);
            (
                format!(
                    "Hallo, ik heb een vraag over {} want het werkt niet goed, bedankt!",
                    phrase(i, l, m % 3)
                ),
                Language::from_code(LANGS[l]),
            )
        })
        .collect()
}

fn naive(catalogue: &IntentCatalogue, text: &str) -> Option<String> {
    let folded = format!(" {} ", words(text).join(" "));
    let mut best: Option<(usize, &str)> = None;
    for intent in catalogue.intents() {
        let mut score = 0;
        for ps in intent.phrases.values() {
            for p in ps {
                if folded.contains(&format!(" {} ", words(p).join(" "))) {
                    score += words(p).len();
                }
            }
        }
        if score > 0 && best.is_none_or(|b| score > b.0) {
            best = Some((score, &intent.name));
        }
    }
    best.map(|b| b.1.to_string())
}

fn bench(c: &mut Criterion) {
    let catalogue = catalogue();
    let classifier = KeywordClassifier::new(&catalogue);
    let msgs = messages();
    for (text, lang) in msgs.iter().take(20) {
        assert_eq!(
            classifier.classify(text, *lang).map(|c| c.intent),
            naive(&catalogue, text)
        );
    }
    let mut g = c.benchmark_group("triage");
    let mut k = 0;
    g.bench_function("keyword_classifier_500_intents_10_languages", |b| {
        b.iter(|| {
            k += 1;
            let (text, lang) = &msgs[k % msgs.len()];
            black_box(classifier.classify(text, *lang))
        })
    });
    g.sample_size(10);
    g.bench_function("naive_scan_baseline", |b| {
        b.iter(|| {
            k += 1;
            black_box(naive(&catalogue, &msgs[k % msgs.len()].0))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
