//! Per-tenant settings: what one company of a multi-tenant host configures for itself —
//! SLA policies and business calendars, the reopen window, the threading policy, identity rules, the triage
//! catalogue, routing, enabled channels and channel profiles, and the languages it
//! supports.
//!
//! [`crate::DeskConfig`] gives the defaults; every field of [`TenantSettings`] that is
//! `Some` overrides them for that tenant. The desk keeps each tenant's settings in the
//! store, versioned ([`crate::Desk::set_tenant_settings`]), so every host on the store
//! applies the same; or a host supplies them itself through a [`SettingsSource`]
//! ([`crate::DeskConfig::settings_source`]). A change is validated whole and written
//! atomically with its effect on running SLA clocks (re-targeted from the change
//! onwards, the change recorded on each).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::{Channel, ChannelProfile, ChannelRegistry};
use crate::conversation::ThreadingPolicy;
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::identity::IdentityRules;
use crate::routing::{
    CapacityModel, EscalationStep, LeastLoaded, RoundRobin, RoutingConfig, RoutingPolicy,
    SkillsMatch, Sticky,
};
use crate::sla::SlaPolicies;
use crate::triage::{IntentCatalogue, KeywordClassifier, TriageConfig};
use crate::DeskConfig;

/// One tenant's settings; `None` fields take the desk's [`DeskConfig`].
///
/// ```
/// use chrono::TimeDelta;
/// use throughline::settings::TenantSettings;
/// let mut s = TenantSettings::default();
/// s.reopen_window = Some(TimeDelta::days(2));
/// s.languages = Some(vec!["nl".into(), "de".into()]);
/// assert!(s.validate().is_ok());
/// s.languages = Some(vec!["klingon".into()]);
/// assert!(s.validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TenantSettings {
    /// SLA policies with their business calendars.
    #[serde(default)]
    pub sla: Option<SlaPolicies>,
    /// How long after being solved a conversation reopens when the customer writes.
    #[serde(default)]
    pub reopen_window: Option<TimeDelta>,
    /// How long after being solved a conversation closes itself
    /// ([`DeskConfig::close_solved_after`]).
    #[serde(default)]
    pub close_solved_after: Option<TimeDelta>,
    /// How customer messages are bundled into conversations ([`DeskConfig::threading`]).
    #[serde(default)]
    pub threading: Option<ThreadingPolicy>,
    /// How identifiers resolve to customers.
    #[serde(default)]
    pub identity: Option<IdentityRules>,
    /// The triage catalogue (classified by keywords over it); an empty one: no triage.
    #[serde(default)]
    pub triage: Option<IntentCatalogue>,
    /// Routing: policy, escalation steps and capacity model (with routing on).
    #[serde(default)]
    pub routing: Option<TenantRouting>,
    /// Channels turned on or off, and channel profiles.
    #[serde(default)]
    pub channels: Option<TenantChannels>,
    /// The languages the tenant answers in (ISO 639-1 codes): a message detected in
    /// another language gets none, since a wrong language is worse than none.
    #[serde(default)]
    pub languages: Option<Vec<String>>,
}

/// A tenant's routing settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRouting {
    /// Which built-in policy ranks agents.
    pub policy: PolicyName,
    /// Escalation steps, in order, with cumulative timeouts.
    #[serde(default)]
    pub escalation: Vec<EscalationStep>,
    /// Capacity units per channel.
    #[serde(default)]
    pub capacity: CapacityModel,
}

/// The built-in routing policies, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PolicyName {
    /// [`Sticky`] over [`SkillsMatch`] (the default).
    Sticky,
    /// [`SkillsMatch`].
    SkillsMatch,
    /// [`LeastLoaded`].
    LeastLoaded,
    /// [`RoundRobin`].
    RoundRobin,
}

impl PolicyName {
    fn policy(self) -> Arc<dyn RoutingPolicy> {
        match self {
            PolicyName::Sticky => Arc::new(Sticky {
                fallback: SkillsMatch::default(),
            }),
            PolicyName::SkillsMatch => Arc::new(SkillsMatch::default()),
            PolicyName::LeastLoaded => Arc::new(LeastLoaded),
            PolicyName::RoundRobin => Arc::new(RoundRobin),
        }
    }
}

/// A tenant's channels: turned off, turned on (even when the desk turns them off), and
/// profiles (an SMS carrier's limit, say).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantChannels {
    /// Channels the tenant does not accept.
    #[serde(default)]
    pub disabled: BTreeSet<Channel>,
    /// Channels the tenant accepts even when the desk disables them.
    #[serde(default)]
    pub enabled: BTreeSet<Channel>,
    /// Channel profiles that replace the desk's.
    #[serde(default)]
    pub profiles: Vec<(Channel, ChannelProfile)>,
}

/// A tenant's settings as stored, with who changed them last and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredSettings {
    /// The settings.
    pub settings: TenantSettings,
    /// When they were last changed.
    pub changed_at: DateTime<Utc>,
    /// Who changed them (an agent id, an administrator's name, a host process).
    pub changed_by: String,
    /// The stored version: 1 for the first settings, +1 with every change.
    pub version: u64,
}

/// Where a host keeps its tenants' settings, when not in the desk's store.
///
/// A host that changes a tenant's settings in its own source tells the desk with
/// [`crate::Desk::tenant_settings_changed`], which re-targets running SLA clocks.
pub trait SettingsSource: Send + Sync + std::fmt::Debug {
    /// The tenant's settings and their version (any number that changes when they do),
    /// or `None` for the desk's defaults.
    ///
    /// # Errors
    ///
    /// The source's failure, passed on to the operation that needed the settings.
    fn settings(&self, tenant: TenantId) -> Result<Option<(TenantSettings, u64)>>;
}

impl TenantSettings {
    /// Checks every part, naming the first that is wrong.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] with field `"settings"` and the part and reason.
    pub fn validate(&self) -> Result<()> {
        let bad = |part: &str, why: String| Error::invalid("settings", format!("{part}: {why}"));
        if let Some(sla) = &self.sla {
            sla.clone().build().map_err(|e| bad("sla", e.to_string()))?;
        }
        if let Some(w) = self.reopen_window {
            if w < TimeDelta::zero() || w > TimeDelta::days(366) {
                return Err(bad(
                    "reopen_window",
                    format!("{w} is outside 0 to 366 days"),
                ));
            }
        }
        if let Some(w) = self.close_solved_after {
            if w <= TimeDelta::zero() || w > TimeDelta::days(366) {
                return Err(bad(
                    "close_solved_after",
                    format!("{w} is outside (0, 366 days]"),
                ));
            }
        }
        if let Some(langs) = &self.languages {
            if langs.is_empty() {
                return Err(bad("languages", "name at least one language".into()));
            }
            if let Some(l) = langs
                .iter()
                .find(|l| crate::lang::Language::from_code(l).is_none())
            {
                return Err(bad(
                    "languages",
                    format!("{l:?} is not a known language code"),
                ));
            }
        }
        if let Some(r) = &self.routing {
            if r.escalation.len() > 32 {
                return Err(bad("routing", "at most 32 escalation steps".into()));
            }
        }
        if let Some(c) = &self.channels {
            if let Some(ch) = c.disabled.intersection(&c.enabled).next() {
                return Err(bad(
                    "channels",
                    format!("{ch} is both disabled and enabled"),
                ));
            }
        }
        Ok(())
    }

    /// The desk configuration for `tenant`: `base` with every part these settings set.
    pub fn apply_to(&self, base: &DeskConfig, tenant: TenantId) -> DeskConfig {
        let mut c = base.clone();
        if let Some(sla) = &self.sla {
            // As `build` leaves them (thresholds sorted, once each); settings that do not
            // build are refused by `validate` before they are stored.
            c.sla = Arc::new(sla.clone().build().unwrap_or_else(|_| sla.clone()));
        }
        if let Some(w) = self.reopen_window {
            c.reopen_window = w;
        }
        if let Some(w) = self.close_solved_after {
            c.close_solved_after = Some(w);
        }
        if let Some(policy) = self.threading {
            c.threading = policy;
        }
        if let Some(rules) = &self.identity {
            c.identity = Arc::new(rules.clone());
        }
        if let Some(catalogue) = &self.triage {
            let mut triage = TriageConfig::clone(&base.triage);
            triage.classifier = Arc::new(KeywordClassifier::new(catalogue));
            triage.catalogue = Arc::new(catalogue.clone());
            c.triage = Arc::new(triage);
        }
        if let (Some(r), Some(_)) = (&self.routing, &base.routing) {
            c.routing = Some(Arc::new(RoutingConfig {
                policy: r.policy.policy(),
                escalation: r.escalation.clone(),
                capacity: r.capacity.clone(),
            }));
        }
        if let Some(ch) = &self.channels {
            c.channels = tenant_channels(&base.channels, tenant, ch);
        }
        if let Some(languages) = &self.languages {
            c.languages = Some(languages.clone());
        }
        c
    }
}

/// `base` with a tenant's channel settings.
fn tenant_channels(
    base: &ChannelRegistry,
    tenant: TenantId,
    ch: &TenantChannels,
) -> ChannelRegistry {
    let mut reg = base.clone();
    for c in &ch.disabled {
        reg.disable_for(tenant, c.clone());
    }
    for c in &ch.enabled {
        reg.enable_for(tenant, c.clone());
    }
    for (c, p) in &ch.profiles {
        reg.set_profile(c.clone(), p.clone());
    }
    reg
}
