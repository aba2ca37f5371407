//! Tenant settings on the Desk: each operation runs with its tenant's configuration —
//! the desk's [`DeskConfig`] with the tenant's stored (or host-supplied) settings laid
//! over it — and a change of settings is validated, written with its version, and
//! re-targets the tenant's running SLA clocks in the same change set.
//!
//! Invariants: `Desk::config` holds the configuration of the tenant `entered` names (at
//! the settings version it names), or the base configuration; an operation enters its
//! tenant before it reads its configuration, reading the settings version from the store
//! (one point read), so a change made at another host applies to the next operation.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::desk::Desk;
use crate::effect::Effect;
use crate::error::{Error, Result};
use crate::id::TenantId;
use crate::settings::{StoredSettings, TenantSettings};
use crate::sla::{SlaPolicies, StoredClocks};
use crate::store::{ChangeSet, Op, Record, Store};
use crate::DeskConfig;

/// The record kind of a tenant's settings.
pub(crate) const SETTINGS_KIND: &str = "tenant-settings";
pub(crate) const SETTINGS_KEY: &str = "settings";

/// The base configuration and the tenants' configurations built from it.
#[derive(Debug)]
pub(crate) struct SettingsCache {
    /// The desk's own configuration: every tenant's defaults.
    pub(crate) base: DeskConfig,
    /// The tenant whose configuration `Desk::config` holds, and its settings version.
    entered: Option<(TenantId, u64)>,
    /// Configurations built for tenants with settings, by settings version.
    built: HashMap<TenantId, (u64, DeskConfig)>,
}

impl SettingsCache {
    pub(crate) fn new(base: DeskConfig) -> Self {
        SettingsCache {
            base,
            entered: None,
            built: HashMap::new(),
        }
    }

    /// Forgets every built configuration (the base changed).
    pub(crate) fn reset(&mut self) {
        self.entered = None;
        self.built.clear();
    }

    /// Forgets which tenant `Desk::config` holds (the router that had its routing
    /// settings was dropped), so the next operation enters its tenant again.
    pub(crate) fn leave(&mut self) {
        self.entered = None;
    }
}

impl<S: Store> Desk<S> {
    /// Makes `Desk::config` the configuration of `tenant`: the base with the tenant's
    /// settings, read again when their version moved.
    ///
    /// # Errors
    ///
    /// Store failures; a stored value that does not decode.
    pub(crate) fn enter(&mut self, tenant: TenantId) -> Result<()> {
        let (version, settings) = self.settings_version(tenant)?;
        if self.settings.entered == Some((tenant, version)) {
            return Ok(());
        }
        let config = if version == 0 {
            self.settings.base.clone()
        } else {
            match self.settings.built.get(&tenant) {
                Some((v, c)) if *v == version => c.clone(),
                _ => {
                    let settings = match settings {
                        Some(s) => s,
                        None => self.load_settings(tenant)?.unwrap_or_default(),
                    };
                    if self.settings.base.settings_source.is_some() {
                        // The host's source is not checked when it is written.
                        settings.validate().map_err(|e| {
                            Error::Config(format!(
                                "the settings source's settings of tenant {tenant} are \
                                 invalid: {e}"
                            ))
                        })?;
                    }
                    let built = settings.apply_to(&self.settings.base, tenant);
                    self.settings.built.insert(tenant, (version, built.clone()));
                    built
                }
            }
        };
        if self.settings.base.routing.is_some() {
            let own = config
                .routing
                .as_ref()
                .filter(|_| version != 0)
                .map(|r| (r.policy.clone(), r.escalation.clone()));
            let router = self.router_mut()?;
            router.configure_tenant(tenant, own);
            // Live channels rank agents (routing::ChannelFit) by the tenant's profiles.
            router.set_channel_profiles(tenant, &config.channels);
        }
        self.config = config;
        self.settings.entered = Some((tenant, version));
        Ok(())
    }

    /// The tenant's settings version (0: none), and the settings when the source handed
    /// them over with it.
    fn settings_version(&self, tenant: TenantId) -> Result<(u64, Option<TenantSettings>)> {
        if let Some(source) = &self.settings.base.settings_source {
            return Ok(match source.settings(tenant)? {
                // Shifted by one: 0 means "no settings".
                Some((s, v)) => (v.saturating_add(1), Some(s)),
                None => (0, None),
            });
        }
        // Through the read-ahead: an ingest reads the settings with everything else.
        Ok((
            self.read_record(tenant, SETTINGS_KIND, SETTINGS_KEY)?
                .map_or(0, |r| r.version),
            None,
        ))
    }

    fn load_settings(&self, tenant: TenantId) -> Result<Option<TenantSettings>> {
        Ok(self.tenant_settings(tenant)?.map(|s| s.settings))
    }

    /// The configuration `tenant`'s operations run with, for a reading method (one that
    /// cannot enter the tenant).
    pub(crate) fn config_of(&self, tenant: TenantId) -> Result<std::borrow::Cow<'_, DeskConfig>> {
        let (version, settings) = self.settings_version(tenant)?;
        if self.settings.entered == Some((tenant, version)) {
            return Ok(std::borrow::Cow::Borrowed(&self.config));
        }
        if version == 0 {
            return Ok(std::borrow::Cow::Borrowed(&self.settings.base));
        }
        let settings = match settings {
            Some(s) => s,
            None => self.load_settings(tenant)?.unwrap_or_default(),
        };
        Ok(std::borrow::Cow::Owned(
            settings.apply_to(&self.settings.base, tenant),
        ))
    }

    /// A tenant's settings as stored (with their version, and who changed them when), or
    /// `None` when the tenant runs on the desk's defaults. With a
    /// [`DeskConfig::settings_source`], the host's source answers (version as it says,
    /// no author).
    ///
    /// # Errors
    ///
    /// Store (or source) failures.
    pub fn tenant_settings(&self, tenant: TenantId) -> Result<Option<StoredSettings>> {
        if let Some(source) = &self.settings.base.settings_source {
            return Ok(source
                .settings(tenant)?
                .map(|(settings, version)| StoredSettings {
                    settings,
                    changed_at: DateTime::<Utc>::MIN_UTC,
                    changed_by: String::new(),
                    version,
                }));
        }
        let Some(r) = self.store.record(tenant, SETTINGS_KIND, SETTINGS_KEY)? else {
            return Ok(None);
        };
        let mut stored: StoredSettings = r.decode()?;
        stored.version = r.version;
        Ok(Some(stored))
    }

    /// Replaces a tenant's settings, as `by` (who, for the record) decided. The settings
    /// are validated whole; they are written with their next version, and when the SLA
    /// policies or calendars change, every running clock of the tenant is re-targeted
    /// from `now` onwards (time counted so far is kept, on the old calendar) with the
    /// change recorded on it — all in one change set. Returns the effects of breaches the
    /// new targets put in the past (reported by the next `tick` otherwise).
    ///
    /// ```
    /// use chrono::TimeDelta;
    /// use throughline::settings::TenantSettings;
    /// use throughline::{Desk, DeskConfig, TenantId, store::MemoryStore};
    /// let now = chrono::DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")?.to_utc();
    /// let tenant = TenantId::new_v7();
    /// let mut desk = Desk::new(MemoryStore::new(), DeskConfig::default());
    /// let mut settings = TenantSettings::default();
    /// settings.reopen_window = Some(TimeDelta::days(2));
    /// desk.set_tenant_settings(tenant, settings, "admin@acme.example", now)?;
    /// let stored = desk.tenant_settings(tenant)?.unwrap();
    /// assert_eq!((stored.version, stored.changed_by.as_str()), (1, "admin@acme.example"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for invalid settings; [`Error::Config`] when the settings come
    /// from the host's [`DeskConfig::settings_source`]; store failures (nothing is
    /// written).
    pub fn set_tenant_settings(
        &mut self,
        tenant: TenantId,
        settings: TenantSettings,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let _span = super::trace::op_span!("desk.set_tenant_settings", tenant = tenant);
        settings.validate()?;
        if self.settings.base.settings_source.is_some() {
            return Err(Error::Config(
                "tenant settings come from the host's settings source: change them there \
                 and call Desk::tenant_settings_changed"
                    .into(),
            ));
        }
        let effects = self.retrying(|desk| {
            let stored = desk.store.record(tenant, SETTINGS_KIND, SETTINGS_KEY)?;
            let before = desk.config_of(tenant)?.sla.clone();
            let after = settings.apply_to(&desk.settings.base, tenant).sla;
            let mut changes = ChangeSet::new(tenant);
            let value = StoredSettings {
                settings: settings.clone(),
                changed_at: now,
                changed_by: by.to_string(),
                version: stored.as_ref().map_or(1, |r| r.version + 1),
            };
            let mut record = Record::encode(SETTINGS_KIND, SETTINGS_KEY, &value)?;
            record.version = value.version;
            changes.push(Op::PutRecord(record));
            let effects = desk.retarget_clocks(tenant, &before, &after, by, now, &mut changes)?;
            desk.apply_changes(changes)?;
            Ok(effects)
        })?;
        self.settings.entered = None;
        Ok(effects)
    }

    /// Tells the desk that a tenant's settings changed in the host's
    /// [`DeskConfig::settings_source`] (from `previous`): running SLA clocks are
    /// re-targeted as [`Desk::set_tenant_settings`] does.
    ///
    /// # Errors
    ///
    /// Store (or source) failures.
    pub fn tenant_settings_changed(
        &mut self,
        tenant: TenantId,
        previous: &TenantSettings,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>> {
        let _span = super::trace::op_span!("desk.tenant_settings_changed", tenant = tenant);
        let before = previous.apply_to(&self.settings.base, tenant).sla;
        self.settings.entered = None;
        self.retrying(|desk| {
            let after = desk.config_of(tenant)?.sla.clone();
            let mut changes = ChangeSet::new(tenant);
            let effects = desk.retarget_clocks(tenant, &before, &after, by, now, &mut changes)?;
            if !changes.ops.is_empty() {
                desk.apply_changes(changes)?;
            }
            Ok(effects)
        })
    }

    /// Re-targets every running clock of `tenant` from `before` to `after` (when they
    /// differ), adding the writes to `changes`; the breaches that are due at once.
    fn retarget_clocks(
        &self,
        tenant: TenantId,
        before: &SlaPolicies,
        after: &SlaPolicies,
        by: &str,
        now: DateTime<Utc>,
        changes: &mut ChangeSet,
    ) -> Result<Vec<Effect>> {
        if before == after {
            return Ok(Vec::new());
        }
        let mut effects = Vec::new();
        for record in self.store.records(tenant, crate::desk::sla::SLA_KIND)? {
            let mut clocks: StoredClocks = crate::desk::sla::decode_clocks(&record)?;
            if !clocks.clocks.running() {
                continue;
            }
            let Ok(id) = record.key.parse() else { continue };
            let Some(conv) = self.store.conversation(tenant, id)? else {
                continue;
            };
            let customer = self.store.customer(tenant, conv.customer)?;
            let attributes = customer.map(|c| c.attributes).unwrap_or_default();
            let policy = crate::sla::step::select(
                after,
                conv.last_inbound_channel.as_ref().or(conv.channels.first()),
                conv.priority,
                &conv.tags,
                &attributes,
            );
            let fired =
                clocks
                    .clocks
                    .policies_changed(before, after, now, policy, "sla settings", by);
            effects.extend(crate::sla::step::effects(tenant, id, fired));
            changes.push(Op::PutRecord(Record {
                value: crate::desk::sla::encode_clocks(&clocks)?,
                due: clocks.clocks.next_due(),
                version: record.version + 1,
                ..record
            }));
        }
        Ok(effects)
    }
}
