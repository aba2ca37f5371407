//! [`DeskConfig`]: plain settings with chained setters, validated once by `Desk::try_new`.

use chrono::TimeDelta;

use crate::channel::ChannelRegistry;
use crate::error::{Error, Result};
use crate::id::{seed_from_u64, IdGen, SeededIdGen};
use crate::identity::IdentityRules;
use crate::lang::{LanguageDetector, WhatlangDetector};
use crate::probe::StageProbe;
use crate::routing::RoutingConfig;
use crate::sla::SlaPolicies;
use crate::triage::TriageConfig;

use crate::conversation::ThreadingPolicy;

/// Settings of a [`Desk`](crate::Desk). `DeskConfig::default()` is a complete, working
/// configuration.
///
/// ```
/// use throughline::DeskConfig;
/// let config = DeskConfig::default()
///     .reopen_window(chrono::TimeDelta::days(3))
///     .max_body_bytes(64 * 1024)
///     .rng_seed([42; 32]); // the same ids on every run (default: seeded from the OS)
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct DeskConfig {
    /// How long after being solved a conversation reopens when the customer writes
    /// (default 7 days); later messages open a new, linked conversation.
    pub reopen_window: TimeDelta,
    /// How long after being solved a conversation closes itself (default `None`: solved
    /// conversations stay solved). A closed conversation is final: the customer's next
    /// message opens a follow-up, so a window shorter than `reopen_window` shortens that.
    pub close_solved_after: Option<TimeDelta>,
    /// How customer messages are bundled into conversations (default
    /// [`ThreadingPolicy::Bundle`]: one conversation in play per customer). A tenant's own
    /// [`crate::settings::TenantSettings::threading`] overrides it.
    pub threading: ThreadingPolicy,
    /// The largest accepted message body in bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// Seed of the desk's one random generator, which mints every id and the tenants'
    /// erasure keys (see [`SeededIdGen`]). `None` (the default) seeds it from the
    /// operating system when the desk is made, so ids are unguessable and no two desks
    /// (or runs of one host) mint the same ones; `Some(seed)` makes runs with the same
    /// inputs produce the same ids and keys, for deterministic replays and tests.
    pub rng_seed: Option<[u8; 32]>,
    /// Which channels are enabled, and their profiles.
    pub channels: ChannelRegistry,
    /// How often an operation that lost a write race is retried (default 3).
    pub conflict_retries: u32,
    /// When an outbound message the host could not send is sent again (default: after
    /// 1 minute, 5 minutes, 30 minutes and 2 hours, then failed).
    pub send_retries: crate::delivery::RetryPolicy,
    /// How long after solving a CSAT answer is accepted (default 7 days).
    pub csat_window: TimeDelta,
    /// How long after solving a new contact by the same customer, on any channel, means
    /// the problem was not solved on first contact (default 7 days).
    pub fcr_window: TimeDelta,
    /// SLA policies and calendars (default: `SlaPolicies::default()`: live channels in
    /// minutes, social media within two hours, e-mail in hours; `SlaPolicies::new()` runs
    /// no clocks).
    pub sla: std::sync::Arc<SlaPolicies>,
    /// Detects the language of inbound messages (default: [`WhatlangDetector::new`]).
    pub language: std::sync::Arc<dyn LanguageDetector>,
    /// How identifiers resolve to customers (priorities, limits, blocked values).
    pub identity: std::sync::Arc<IdentityRules>,
    /// Value-irritant triage (default: an empty catalogue, no triage).
    pub triage: std::sync::Arc<TriageConfig>,
    /// Routing to agents (default: off; see `crate::routing`).
    pub routing: Option<std::sync::Arc<RoutingConfig>>,
    /// Told when the Desk enters and leaves each stage of its work (default: none; see
    /// [`crate::probe`]).
    pub probe: Option<std::sync::Arc<dyn StageProbe>>,
    /// Threads [`Desk::ingest_batch`](crate::Desk::ingest_batch) prepares messages on
    /// (the message checks and language detection of a [`crate::Preparer`]) while the
    /// calling thread ingests them. Default 0: the desk starts no thread unless the host
    /// asks for it, and each message is prepared on the calling thread. With 1 or more,
    /// the threads live for the call only, and the results are the same either way;
    /// batches of fewer than 16 messages are prepared on the calling thread.
    pub prepare_threads: usize,
    /// The languages the tenants answer in (ISO 639-1 codes): a message detected in
    /// another language gets none. Default `None`: any. A tenant's own
    /// [`crate::settings::TenantSettings::languages`] override it.
    pub languages: Option<Vec<String>>,
    /// Where tenants' settings come from when the host keeps them itself (default
    /// `None`: in the desk's store, see [`crate::Desk::set_tenant_settings`]).
    pub settings_source: Option<std::sync::Arc<dyn crate::settings::SettingsSource>>,
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            reopen_window: TimeDelta::days(7),
            close_solved_after: None,
            threading: ThreadingPolicy::Bundle,
            max_body_bytes: 1024 * 1024,
            rng_seed: None,
            channels: ChannelRegistry::default(),
            conflict_retries: 3,
            send_retries: crate::delivery::RetryPolicy::default(),
            csat_window: TimeDelta::days(7),
            fcr_window: TimeDelta::days(7),
            identity: std::sync::Arc::new(IdentityRules::default()),
            sla: std::sync::Arc::new(SlaPolicies::default()),
            language: std::sync::Arc::new(WhatlangDetector::new()),
            triage: std::sync::Arc::new(TriageConfig::default()),
            routing: None,
            probe: None,
            prepare_threads: 0,
            languages: None,
            settings_source: None,
        }
    }
}

impl DeskConfig {
    /// The conversation core alone: no SLA clocks and no language detection (everything
    /// else as in `default()`). For hosts that bring their own, and for measuring the core.
    pub fn pass_through() -> Self {
        DeskConfig {
            sla: std::sync::Arc::new(SlaPolicies::new()),
            language: std::sync::Arc::new(crate::lang::NoDetector),
            ..DeskConfig::default()
        }
    }

    /// Sets [`DeskConfig::triage`].
    pub fn triage(mut self, triage: TriageConfig) -> Self {
        self.triage = std::sync::Arc::new(triage);
        self
    }

    /// Sets [`DeskConfig::routing`] (turns routing on).
    pub fn routing(mut self, routing: RoutingConfig) -> Self {
        self.routing = Some(std::sync::Arc::new(routing));
        self
    }

    /// Sets [`DeskConfig::probe`]: the probe (`probe::StageTimes` of the `testkit`
    /// feature, say) learns where the Desk's time goes.
    pub fn probe(mut self, probe: std::sync::Arc<dyn StageProbe>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Sets [`DeskConfig::prepare_threads`]: opts [`Desk::ingest_batch`](crate::Desk::ingest_batch)
    /// in to preparing messages on `threads` helper threads (0, the default, starts none).
    pub fn prepare_threads(mut self, threads: usize) -> Self {
        self.prepare_threads = threads;
        self
    }

    /// Sets [`DeskConfig::close_solved_after`].
    pub fn close_solved_after(mut self, after: TimeDelta) -> Self {
        self.close_solved_after = Some(after);
        self
    }

    /// Sets [`DeskConfig::threading`].
    pub fn threading(mut self, policy: ThreadingPolicy) -> Self {
        self.threading = policy;
        self
    }

    /// Sets [`DeskConfig::reopen_window`].
    pub fn reopen_window(mut self, window: TimeDelta) -> Self {
        self.reopen_window = window;
        self
    }

    /// Sets [`DeskConfig::max_body_bytes`].
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Sets [`DeskConfig::rng_seed`]: the desk's ids and erasure keys follow from `seed`
    /// (for deterministic replays and tests; leave it unset in production).
    pub fn rng_seed(mut self, seed: [u8; 32]) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// Sets [`DeskConfig::rng_seed`] from a `u64`: its little-endian bytes, then zeros
    /// (the same stream as [`SeededIdGen::new`]). A shorthand for tests.
    pub fn id_seed(self, seed: u64) -> Self {
        self.rng_seed(seed_from_u64(seed))
    }

    /// Sets [`DeskConfig::identity`].
    pub fn identity(mut self, rules: IdentityRules) -> Self {
        self.identity = std::sync::Arc::new(rules);
        self
    }

    /// Sets [`DeskConfig::sla`].
    pub fn sla(mut self, policies: SlaPolicies) -> Self {
        self.sla = std::sync::Arc::new(policies);
        self
    }

    /// Sets [`DeskConfig::language`] (for example a detector restricted to the tenant's
    /// languages).
    pub fn language(mut self, detector: impl LanguageDetector + 'static) -> Self {
        self.language = std::sync::Arc::new(detector);
        self
    }

    /// Sets [`DeskConfig::channels`].
    pub fn channels(mut self, channels: ChannelRegistry) -> Self {
        self.channels = channels;
        self
    }

    /// Checks that the settings can work.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a negative reopen window or a zero body limit.
    pub fn validate(&self) -> Result<()> {
        if let Some(w) = self.close_solved_after {
            if w <= TimeDelta::zero() || w > TimeDelta::days(366) {
                return Err(Error::Config(format!(
                    "close_solved_after must be more than 0 and at most 366 days, got {w}"
                )));
            }
        }
        if self.reopen_window < TimeDelta::zero() {
            return Err(Error::Config(format!(
                "reopen_window must not be negative, got {}",
                self.reopen_window
            )));
        }
        if self.max_body_bytes == 0 {
            return Err(Error::Config("max_body_bytes must be at least 1".into()));
        }
        Ok(())
    }

    /// The desk's generator: from [`DeskConfig::rng_seed`], or seeded from the OS.
    pub(crate) fn make_id_gen(&self) -> Result<Box<dyn IdGen>> {
        Ok(Box::new(match self.rng_seed {
            Some(seed) => SeededIdGen::from_seed(seed),
            None => SeededIdGen::from_os()?,
        }))
    }
}
