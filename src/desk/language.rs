//! Language on the Desk: every inbound message gets a language from its text and the
//! customer's evidence; the conversation takes the customer's established language.

use chrono::DateTime;
use chrono::Utc;

use crate::desk::identity::{from_json, to_json};
use crate::desk::pipeline::{Event, Step};
use crate::desk::{ConversationRef, Desk};
use crate::effect::Effect;
use crate::error::Result;
use crate::id::{AgentId, CustomerId, TenantId};
use crate::lang::{Language, LanguageEvidence, Localized};
use crate::store::{Op, Record, Store};

pub(crate) const LANG_KIND: &str = "language";

impl<S: Store> Desk<S> {
    /// The pipeline step: detect, decide with the customer's evidence, record.
    pub(crate) fn language_step(&mut self, step: &mut Step<'_>) -> Result<()> {
        let Event::Inbound {
            inbound,
            detected,
            message,
            customer,
            ..
        } = &mut step.event
        else {
            return Ok(());
        };
        let key = customer.id.to_string();
        let stored = self.read_record(step.tenant, LANG_KIND, &key)?;
        let mut evidence: LanguageEvidence = match &stored {
            Some(r) => from_json(r)?,
            None => LanguageEvidence::default(),
        };
        let before = evidence.clone();
        evidence.preferred = customer.language.as_deref().and_then(Language::from_code);
        if let Some(hint) = inbound.locale.as_deref().and_then(Language::from_code) {
            evidence.locale = Some(hint);
        }
        let languages = self.tenant_languages();
        evidence.prior = prior(&languages, &inbound.from);
        let any = match detected {
            Some(made_ahead) => *made_ahead,
            None => self.config.language.detect(&message.body),
        };
        let detection = self.among_tenant_languages(&message.body, any, &languages);
        // A language the tenant does not answer in is no answer, whether detected now or
        // established before; a guess of one is put against the prior (it may keep the
        // prior from deciding) but never recorded.
        let answers = |l: &Language| languages.is_empty() || languages.contains(l);
        let detection = crate::lang::weigh_prior(
            &*self.config.language,
            &message.body,
            detection,
            &evidence.prior,
        );
        if detection.is_none()
            && stored.is_none()
            && customer.language.is_none()
            && inbound.locale.is_none()
            && evidence.prior.is_empty()
        {
            // Nothing to learn and nothing known: no record to write.
            return Ok(());
        }
        let decided = evidence.decide(&message.body, detection).filter(answers);
        evidence.record_text(
            decided,
            detection.filter(|d| answers(&d.language)),
            message.body.split_whitespace().count(),
        );
        message.language = decided.map(|l| l.code().to_string());
        if let Some(l) = evidence.established().filter(answers).or(decided) {
            step.conversation.language = Some(l.code().to_string());
        }
        if evidence != before {
            let value = to_json(&evidence)?;
            step.changes.push(Op::PutRecord(match stored {
                Some(r) => Record {
                    value,
                    version: r.version + 1,
                    ..r
                },
                None => Record::raw(LANG_KIND, key, value),
            }));
        }
        Ok(())
    }

    /// The detection to decide with for a tenant answering in `languages` (empty: any),
    /// from the detection among all languages: a reliable one stands (outside the
    /// languages, it is no answer); an unreliable guess of another language stands, for
    /// the prior to weigh; otherwise the detector is asked again among the tenant's
    /// languages — when they are several (among one, the answer says nothing).
    fn among_tenant_languages(
        &self,
        text: &str,
        any: Option<crate::lang::Detection>,
        languages: &[Language],
    ) -> Option<crate::lang::Detection> {
        match any {
            _ if languages.is_empty() => any,
            Some(d) if d.reliable => any.filter(|_| languages.contains(&d.language)),
            Some(d) if !languages.contains(&d.language) => any,
            _ if languages.len() == 1 => any,
            _ => self.config.language.detect_among(text, languages),
        }
    }

    /// The languages the tenant answers in (its settings', else the desk's), known ones
    /// only; empty for any.
    fn tenant_languages(&self) -> Vec<Language> {
        self.config
            .languages
            .iter()
            .flatten()
            .filter_map(|c| Language::from_code(c))
            .collect()
    }

    /// What the desk knows about a customer's language.
    ///
    /// # Errors
    ///
    /// [`crate::Error::NotFound`] for an unknown customer.
    pub fn language_evidence(
        &self,
        tenant: TenantId,
        customer: CustomerId,
    ) -> Result<LanguageEvidence> {
        let c = self.live_customer(tenant, customer)?;
        match self.store.record(tenant, LANG_KIND, &c.id.to_string())? {
            Some(r) => from_json(&r),
            None => Ok(LanguageEvidence {
                preferred: c.language.as_deref().and_then(Language::from_code),
                ..LanguageEvidence::default()
            }),
        }
    }

    /// Answers with the translation of `template` in the conversation's language (its
    /// fallback when there is none), like [`Desk::reply`].
    ///
    /// # Errors
    ///
    /// As [`Desk::reply`].
    pub fn reply_localized(
        &mut self,
        conversation: impl Into<ConversationRef>,
        agent: AgentId,
        template: &Localized,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let r: super::ConversationRef = conversation.into();
        let _span = super::trace::op_span!(
            "desk.reply_localized",
            tenant = r.tenant,
            conversation = r.id,
            agent = agent
        );
        let conv = self.load_conversation(r)?;
        let language = conv.language.as_deref().and_then(Language::from_code);
        let text = template.pick(language).to_string();
        self.reply(r, agent, text, now)
    }
}

/// The prior for a message from `from` to a tenant answering in `languages` (empty: any):
/// the address's languages the tenant answers in, else the tenant's languages.
fn prior(languages: &[Language], from: &crate::identity::Identifier) -> Vec<Language> {
    let address = crate::lang::languages_of(from);
    if languages.is_empty() {
        return address;
    }
    let both: Vec<Language> = address
        .into_iter()
        .filter(|l| languages.contains(l))
        .collect();
    if both.is_empty() {
        languages.to_vec()
    } else {
        both
    }
}
