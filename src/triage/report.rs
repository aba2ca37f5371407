//! The irritant report: contact reasons ranked by what they cost, with what self-service
//! and automation absorbed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalogue::{Disposition, IntentCatalogue};
use super::outcome::TriageOutcome;

/// One intent's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IrritantRow {
    /// The intent.
    pub intent: String,
    /// Its disposition.
    pub disposition: Disposition,
    /// Contacts (conversations) about it.
    pub contacts: u64,
    /// Cost per contact when a human handles it.
    pub cost_per_contact: f64,
    /// `contacts × cost_per_contact`: what it costs if nothing is absorbed.
    pub total_cost: f64,
    /// Contacts self-service or automation absorbed (no human).
    pub absorbed: u64,
    /// `absorbed / contacts`.
    pub absorbed_share: f64,
}

/// Intents ranked by volume × cost, split by quadrant.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IrritantReport {
    /// Most costly first (ties: more contacts, then name).
    pub rows: Vec<IrritantRow>,
    /// Per disposition: contacts and total cost.
    pub by_disposition: BTreeMap<Disposition, (u64, f64)>,
    /// Contacts with no recognised intent.
    pub unrecognised: u64,
    /// Share of all triaged contacts absorbed without a human.
    pub absorbed_share: f64,
}

/// The report over triage outcomes.
pub fn irritant_report<'a>(
    outcomes: impl IntoIterator<Item = &'a TriageOutcome>,
    catalogue: &IntentCatalogue,
) -> IrritantReport {
    let mut rows: BTreeMap<&str, IrritantRow> = BTreeMap::new();
    let mut report = IrritantReport::default();
    let (mut total, mut absorbed) = (0u64, 0u64);
    for o in outcomes {
        total += 1;
        absorbed += u64::from(o.absorbed());
        let Some(intent) = o.intent.as_deref().and_then(|n| catalogue.get(n)) else {
            report.unrecognised += 1;
            continue;
        };
        let row = rows
            .entry(intent.name.as_str())
            .or_insert_with(|| IrritantRow {
                intent: intent.name.clone(),
                disposition: intent.disposition(),
                contacts: 0,
                cost_per_contact: intent.cost_per_contact,
                total_cost: 0.0,
                absorbed: 0,
                absorbed_share: 0.0,
            });
        row.contacts += 1;
        row.absorbed += u64::from(o.absorbed());
    }
    for row in rows.values_mut() {
        row.total_cost = row.contacts as f64 * row.cost_per_contact;
        row.absorbed_share = row.absorbed as f64 / row.contacts as f64;
        let e = report
            .by_disposition
            .entry(row.disposition)
            .or_insert((0, 0.0));
        e.0 += row.contacts;
        e.1 += row.total_cost;
    }
    report.rows = rows.into_values().collect();
    report.rows.sort_by(|a, b| {
        b.total_cost
            .total_cmp(&a.total_cost)
            .then(b.contacts.cmp(&a.contacts))
            .then_with(|| a.intent.cmp(&b.intent))
    });
    report.absorbed_share = if total == 0 {
        0.0
    } else {
        absorbed as f64 / total as f64
    };
    report
}
