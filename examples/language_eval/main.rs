//! Measures language detection on the evaluation set and prints the tables of
//! `docs/language.md`.
//!
//! ```sh
//! cargo run --release --example language_eval [path/to/lang-eval.tsv]
//! cargo run --release --features lingua --example language_eval   # adds LinguaDetector
//! ```
//!
//! The default path is `../shared/data/lang-eval.tsv` next to the crate. The set is for
//! measuring only: no rule or word list is tuned to its texts.
// An example host timing its runs: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::time::Instant;

use throughline::lang::{Language, LanguageDetector, LanguageEvidence, WhatlangDetector};
use throughline::DeskConfig;

mod desk;

struct Row {
    lang: String,
    kind: String,
    text: String,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    n: u32,
    answered: u32,
    correct: u32,
}

impl Tally {
    fn add(&mut self, truth: &str, got: Option<Language>) {
        self.n += 1;
        if let Some(g) = got {
            self.answered += 1;
            if g.code() == truth {
                self.correct += 1;
            }
        }
    }
    fn pct(a: u32, b: u32) -> String {
        if b == 0 {
            "-".into()
        } else {
            format!("{:.1}%", 100.0 * f64::from(a) / f64::from(b))
        }
    }
    fn cells(&self) -> String {
        format!(
            "{} | {} | {}",
            Self::pct(self.correct, self.n),
            Self::pct(self.answered, self.n),
            Self::pct(self.correct, self.answered)
        )
    }
}

fn words(t: &str) -> usize {
    t.split_whitespace().count()
}

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/lang-eval.tsv").to_string()
    });
    let Some(rows) = read_rows(&path) else {
        return;
    };
    let mut langs: Vec<Language> = rows
        .iter()
        .filter_map(|r| Language::from_code(&r.lang))
        .collect();
    langs.sort();
    langs.dedup();
    let all = WhatlangDetector::new();
    let restricted = WhatlangDetector::with_languages(&langs);
    println!(
        "{} texts, {} languages, from {path}\n",
        rows.len(),
        langs.len()
    );

    // Accuracy (of all texts) | coverage (answered) | precision (correct of answered):
    // answered = any answer for the raw columns, reliable answers for the "reliable" ones.
    let mut per_lang: BTreeMap<(String, String), [Tally; 3]> = BTreeMap::new();
    let mut short = [Tally::default(); 3];
    for r in &rows {
        let a = all.detect(&r.text);
        let b = restricted.detect(&r.text);
        let t = per_lang
            .entry((r.lang.clone(), r.kind.clone()))
            .or_insert([Tally::default(); 3]);
        t[0].add(&r.lang, a.map(|d| d.language));
        t[1].add(&r.lang, b.map(|d| d.language));
        t[2].add(&r.lang, b.filter(|d| d.reliable).map(|d| d.language));
        if (2..=8).contains(&words(&r.text)) {
            short[0].add(&r.lang, a.map(|d| d.language));
            short[1].add(&r.lang, b.map(|d| d.language));
            short[2].add(&r.lang, b.filter(|d| d.reliable).map(|d| d.language));
        }
    }

    let prior = with_prior(&rows, &restricted);

    println!("## Per language and kind\n");
    println!("Cells: accuracy | coverage | precision. *All*: whatlang over all its languages, any answer. *Restricted*: the {} languages, any answer. *Reliable*: restricted, only answers marked reliable.\n", langs.len());
    println!("| lang | kind | all: acc | cov | prec | restricted: acc | cov | prec | reliable: acc | cov | prec |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for ((l, k), t) in &per_lang {
        println!(
            "| {l} | {k} | {} | {} | {} |",
            t[0].cells(),
            t[1].cells(),
            t[2].cells()
        );
    }
    println!("\n## Short texts (2-8 words, {} texts)\n", short[0].n);
    println!("| detector | accuracy | coverage | precision of answers |");
    println!("|---|---|---|---|");
    println!("| all languages, any answer | {} |", short[0].cells());
    println!("| restricted, any answer | {} |", short[1].cells());
    println!(
        "| restricted, reliable answers only (the Desk's rule) | {} |",
        short[2].cells()
    );
    println!(
        "| restricted + prior of three earlier messages (`LanguageEvidence`) | {} |",
        prior.cells()
    );

    throughput(&rows, &restricted);
    lingua_section(&rows, &langs);
    desk::section(&rows, &DeskConfig::default, "the default configuration");
    #[cfg(feature = "lingua")]
    desk::section(
        &rows,
        &|| DeskConfig::default().language(throughline::lang::LinguaDetector::new()),
        "`LinguaDetector` (feature `lingua`)",
    );
}

/// With a conversation prior: three earlier sentences of the same customer, then a short
/// message (2-8 words), decided by `LanguageEvidence`.
fn with_prior(rows: &[Row], restricted: &WhatlangDetector) -> Tally {
    let mut prior = Tally::default();
    let mut by_lang: BTreeMap<&str, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for r in rows {
        let e = by_lang.entry(r.lang.as_str()).or_default();
        if r.kind == "sentence" {
            e.0.push(&r.text);
        }
        if (2..=8).contains(&words(&r.text)) {
            e.1.push(&r.text);
        }
    }
    for (lang, (sentences, shorts)) in &by_lang {
        for (i, s) in shorts.iter().enumerate() {
            let mut ev = LanguageEvidence::default();
            for k in 0..3 {
                if sentences.is_empty() {
                    break;
                }
                let earlier = sentences[(i * 3 + k) % sentences.len()];
                let d = restricted.detect(earlier);
                ev.record_text(ev.decide(earlier, d), d, words(earlier));
            }
            prior.add(lang, ev.decide(s, restricted.detect(s)));
        }
    }
    prior
}

/// Throughput of the restricted detector on the short texts.
fn throughput(rows: &[Row], restricted: &WhatlangDetector) {
    let shorts: Vec<&str> = rows
        .iter()
        .filter(|r| (2..=8).contains(&words(&r.text)))
        .map(|r| r.text.as_str())
        .collect();
    let start = Instant::now();
    let mut n = 0usize;
    for _ in 0..3 {
        for s in &shorts {
            n += usize::from(restricted.detect(s).is_some());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "\nthroughput: {:.0} short texts/s (restricted detector, {} texts x 3, {n} answered)",
        (shorts.len() * 3) as f64 / secs,
        shorts.len()
    );
}

/// The evaluation set's rows, or `None` (after a notice) when it cannot be read.
fn read_rows(path: &str) -> Option<Vec<Row>> {
    let data = match std::fs::read_to_string(path) {
        Ok(d) => d,
        Err(e) => {
            println!("cannot read the evaluation set {path}: {e}; nothing measured");
            return None;
        }
    };
    let rows: Vec<Row> = data
        .lines()
        .filter_map(|l| {
            let mut p = l.splitn(3, '\t');
            Some(Row {
                lang: p.next()?.to_string(),
                kind: p.next()?.to_string(),
                text: p.next()?.to_string(),
            })
        })
        .collect();
    Some(rows)
}

/// The `lingua` fallback on the same short texts (only with `--features lingua`).
#[cfg(feature = "lingua")]
fn lingua_section(rows: &[Row], langs: &[Language]) {
    let detector = throughline::lang::LinguaDetector::with_languages(langs);
    let shorts: Vec<&Row> = rows
        .iter()
        .filter(|r| (2..=8).contains(&words(&r.text)))
        .collect();
    let (mut any, mut reliable) = (Tally::default(), Tally::default());
    let start = Instant::now();
    for r in &shorts {
        let d = detector.detect(&r.text);
        any.add(&r.lang, d.map(|d| d.language));
        reliable.add(&r.lang, d.filter(|d| d.reliable).map(|d| d.language));
    }
    let secs = start.elapsed().as_secs_f64();
    println!("\n## `lingua` feature: `LinguaDetector` (restricted), short texts\n");
    println!("| detector | accuracy | coverage | precision of answers |");
    println!("|---|---|---|---|");
    println!(
        "| whatlang, then lingua when whatlang is unsure: any answer | {} |",
        any.cells()
    );
    println!("| the same, reliable answers only | {} |", reliable.cells());
    println!(
        "\nthroughput: {:.0} short texts/s (first pass includes loading the models)",
        shorts.len() as f64 / secs
    );
}

#[cfg(not(feature = "lingua"))]
fn lingua_section(_: &[Row], _: &[Language]) {
    println!("\n(`LinguaDetector` not measured: run with `--features lingua`.)");
}
