//! Value-irritant triage (Price & Jaffe, "The Best Service is No Service"): every contact
//! reason has a value to the customer and to the organisation, and its quadrant decides
//! what to do with it — eliminate, self-service, automate or leverage — whatever the
//! channel.
//!
//! * [`IntentCatalogue`] / [`Intent`]: the host's contact reasons, with values, cost,
//!   articles, skills, phrases per language and the form an automated flow collects.
//! * [`IntentClassifier`]: the trait; [`KeywordClassifier`] the default.
//! * [`priority`]: priority from disposition, live channel, VIP and SLA pressure.
//! * [`TriageOutcome`]: what the Desk decided for a conversation; [`irritant_report`]
//!   ranks intents by what they cost.
//!
//! The Desk runs triage on every inbound message when `DeskConfig::triage` has a
//! catalogue; see `docs/triage.md`.

mod catalogue;
mod classify;
mod fold;
mod outcome;
mod report;
pub(crate) mod step;

use std::sync::Arc;

pub use catalogue::{
    deflection_text, Accept, Article, Disposition, FormField, Intent, IntentCatalogue, Value,
};
pub use classify::{
    classifier_fn, Classification, FnClassifier, IntentClassifier, KeywordClassifier,
};
pub use fold::words;
pub use outcome::{priority, Flow, PriorityInputs, TriageOutcome};
pub use report::{irritant_report, IrritantReport, IrritantRow};

use crate::id::AgentId;

/// Triage settings of a Desk (`DeskConfig::triage`).
#[derive(Debug, Clone)]
pub struct TriageConfig {
    /// The contact reasons; empty: no triage (the default).
    pub catalogue: Arc<IntentCatalogue>,
    /// The classifier (default: a [`KeywordClassifier`] over the catalogue).
    pub classifier: Arc<dyn IntentClassifier>,
    /// Below this confidence, no intent is taken (default 0.5).
    pub min_confidence: f32,
    /// The profile attribute that marks a VIP (default `"vip"`; true when it is `true`,
    /// `"true"`, `"yes"` or a non-zero number).
    pub vip_attribute: String,
    /// The bot's id in the messages it sends.
    pub bot: AgentId,
    /// Failed answers to one form question before handing over (default 2).
    pub max_attempts: u32,
}

impl TriageConfig {
    /// Triage with `catalogue` and the default keyword classifier.
    pub fn new(catalogue: IntentCatalogue) -> Self {
        let classifier = Arc::new(KeywordClassifier::new(&catalogue));
        TriageConfig {
            catalogue: Arc::new(catalogue),
            classifier,
            min_confidence: 0.5,
            vip_attribute: "vip".into(),
            bot: AgentId::from_uuid(uuid::Uuid::from_u128(
                0x0190_0000_0000_7000_8000_0000_0000_0b07,
            )),
            max_attempts: 2,
        }
    }

    /// Uses another classifier.
    pub fn classifier(mut self, classifier: impl IntentClassifier + 'static) -> Self {
        self.classifier = Arc::new(classifier);
        self
    }
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig::new(IntentCatalogue::new())
    }
}
