//! Channels, what each one can carry, and which ones a host has switched on.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::id::TenantId;

/// A channel a customer can reach the company on.
///
/// `#[non_exhaustive]`: new built-in channels may be added; hosts name their own with
/// [`Channel::Custom`].
///
/// ```
/// use throughline::Channel;
/// assert_eq!(Channel::WhatsApp.to_string(), "whatsapp");
/// assert_eq!("x".parse::<Channel>()?, Channel::Twitter);
/// assert_eq!("kiosk".parse::<Channel>()?, Channel::Custom("kiosk".into()));
/// assert!(Channel::WebChat.profile().live);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
#[non_exhaustive]
pub enum Channel {
    /// E-mail.
    Email,
    /// SMS / MMS text messages.
    Sms,
    /// WhatsApp Business.
    WhatsApp,
    /// LINE.
    Line,
    /// WeChat.
    WeChat,
    /// Facebook Messenger.
    Messenger,
    /// X (formerly Twitter), direct messages and mentions.
    Twitter,
    /// Instagram direct messages.
    Instagram,
    /// The company's web chat widget.
    WebChat,
    /// Chat inside the company's mobile or desktop app.
    InApp,
    /// Phone calls (the host records transcripts or call notes as messages).
    Voice,
    /// A web contact form.
    WebForm,
    /// A public forum or community.
    Forum,
    /// Public reviews (app stores, review sites).
    Review,
    /// A channel the host defines; the name is lower-case ASCII, digits, `-` or `_`.
    Custom(String),
}

const BUILT_IN: [(Channel, &str); 14] = [
    (Channel::Email, "email"),
    (Channel::Sms, "sms"),
    (Channel::WhatsApp, "whatsapp"),
    (Channel::Line, "line"),
    (Channel::WeChat, "wechat"),
    (Channel::Messenger, "messenger"),
    (Channel::Twitter, "x"),
    (Channel::Instagram, "instagram"),
    (Channel::WebChat, "webchat"),
    (Channel::InApp, "inapp"),
    (Channel::Voice, "voice"),
    (Channel::WebForm, "webform"),
    (Channel::Forum, "forum"),
    (Channel::Review, "review"),
];

impl Channel {
    /// Every built-in channel, in a fixed order.
    pub fn built_in() -> impl Iterator<Item = Channel> {
        BUILT_IN.iter().map(|(c, _)| c.clone())
    }

    /// The channel's stable name (`"email"`, `"x"`, or a custom channel's name).
    pub fn name(&self) -> &str {
        match self {
            Channel::Custom(name) => name,
            other => BUILT_IN
                .iter()
                .find(|(c, _)| c == other)
                .map(|(_, n)| *n)
                .unwrap_or("unknown"),
        }
    }

    /// A custom channel, validating its name.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] when the name is empty, longer than 32 bytes, not lower-case
    /// ASCII letters, digits, `-` or `_`, or the name of a built-in channel.
    pub fn custom(name: &str) -> Result<Channel> {
        if name.is_empty() || name.len() > 32 {
            return Err(Error::invalid(
                "channel",
                format!("custom channel name {name:?} must be 1 to 32 bytes"),
            ));
        }
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid(
                "channel",
                format!("custom channel name {name:?} may only hold a-z, 0-9, '-' and '_'"),
            ));
        }
        if BUILT_IN.iter().any(|(_, n)| *n == name) {
            return Err(Error::invalid(
                "channel",
                format!("{name:?} is a built-in channel, not a custom one"),
            ));
        }
        Ok(Channel::Custom(name.to_string()))
    }

    /// The default profile of this channel (see [`ChannelProfile`]).
    pub fn profile(&self) -> ChannelProfile {
        use Reach::*;
        let (reach, live, mobile, limit) = match self {
            Channel::Email => (OneToOne, false, false, None),
            // Ten concatenated segments is the practical maximum most carriers deliver.
            Channel::Sms => (OneToOne, false, true, Some(1_530)),
            Channel::WhatsApp => (OneToOne, true, true, Some(4_096)),
            Channel::Line => (OneToOne, true, true, Some(5_000)),
            Channel::WeChat => (OneToOne, true, true, Some(2_048)),
            Channel::Messenger => (OneToOne, true, true, Some(2_000)),
            Channel::Twitter => (OneToMany, false, true, Some(280)),
            Channel::Instagram => (OneToOne, true, true, Some(1_000)),
            Channel::WebChat => (OneToOne, true, false, None),
            Channel::InApp => (OneToOne, true, true, None),
            Channel::Voice => (OneToOne, true, true, None),
            Channel::WebForm => (OneToOne, false, false, None),
            Channel::Forum => (ManyToMany, false, false, None),
            Channel::Review => (OneToMany, false, false, Some(5_000)),
            Channel::Custom(_) => (OneToOne, false, false, None),
        };
        ChannelProfile {
            reach,
            live,
            mobile_friendly: mobile,
            text_limit: limit,
            session: (*self == Channel::WebChat).then(|| chrono::TimeDelta::minutes(30)),
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Channel {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "twitter" => "x",
            "e-mail" | "mail" => "email",
            "web_chat" | "chat" => "webchat",
            "in_app" => "inapp",
            "phone" | "call" => "voice",
            "community" => "forum",
            other => other,
        };
        if let Some((c, _)) = BUILT_IN.iter().find(|(_, n)| *n == alias) {
            return Ok(c.clone());
        }
        Channel::custom(&lower)
    }
}

impl From<Channel> for String {
    fn from(c: Channel) -> String {
        c.name().to_string()
    }
}

impl TryFrom<String> for Channel {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

/// Who a channel reaches with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reach {
    /// One customer and the company (e-mail, chat, messaging apps, phone).
    OneToOne,
    /// The company speaks to many (public posts, replies on X, reviews).
    OneToMany,
    /// Many people talk to each other (forums, communities).
    ManyToMany,
}

/// What a channel can carry and what customers expect of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelProfile {
    /// Who one message reaches.
    pub reach: Reach,
    /// A live channel: the customer waits for the answer (chat, phone, messaging);
    /// otherwise asynchronous (e-mail, forms).
    pub live: bool,
    /// Comfortable on a phone.
    pub mobile_friendly: bool,
    /// The longest text one outbound message may carry, in characters (Unicode scalar
    /// values); `None` when the channel has no practical limit.
    pub text_limit: Option<usize>,
    /// How long after their last message a customer can still be reached on it (a web
    /// chat ends when the visitor leaves); `None`: any time. A reply that names no
    /// channel falls back from a session that ended to another channel the customer
    /// uses (see `Desk::reply_with`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<chrono::TimeDelta>,
}

/// Which channels are on, globally and per tenant, and their profiles. Hosts change it at
/// run time through `Desk::channels_mut`.
///
/// Every channel is enabled until disabled. Inbound traffic on a disabled channel is
/// rejected with [`Error::ChannelDisabled`] before anything is stored.
///
/// ```
/// use throughline::{Channel, ChannelRegistry, TenantId};
/// let tenant = TenantId::new_v7();
/// let mut reg = ChannelRegistry::default();
/// reg.disable_for(tenant, Channel::Sms);
/// assert!(reg.check(tenant, &Channel::Sms).is_err());
/// assert!(reg.check(TenantId::new_v7(), &Channel::Sms).is_ok());
/// reg.enable_for(tenant, Channel::Sms);
/// assert!(reg.check(tenant, &Channel::Sms).is_ok());
/// ```
#[derive(Debug, Clone, Default)]
pub struct ChannelRegistry {
    disabled: HashSet<Channel>,
    tenant_disabled: HashMap<TenantId, HashSet<Channel>>,
    tenant_enabled: HashMap<TenantId, HashSet<Channel>>,
    profiles: HashMap<Channel, ChannelProfile>,
}

impl ChannelRegistry {
    /// Disables a channel for every tenant (a tenant's own `enable_for` still wins).
    pub fn disable(&mut self, channel: Channel) {
        self.disabled.insert(channel);
    }

    /// Enables a channel for every tenant that has not disabled it itself.
    pub fn enable(&mut self, channel: Channel) {
        self.disabled.remove(&channel);
    }

    /// Disables a channel for one tenant.
    pub fn disable_for(&mut self, tenant: TenantId, channel: Channel) {
        if let Some(set) = self.tenant_enabled.get_mut(&tenant) {
            set.remove(&channel);
        }
        self.tenant_disabled
            .entry(tenant)
            .or_default()
            .insert(channel);
    }

    /// Enables a channel for one tenant, even when it is disabled globally.
    pub fn enable_for(&mut self, tenant: TenantId, channel: Channel) {
        if let Some(set) = self.tenant_disabled.get_mut(&tenant) {
            set.remove(&channel);
        }
        self.tenant_enabled
            .entry(tenant)
            .or_default()
            .insert(channel);
    }

    /// Whether `channel` is enabled for `tenant`.
    pub fn is_enabled(&self, tenant: TenantId, channel: &Channel) -> bool {
        if self.disabled.is_empty() && self.tenant_disabled.is_empty() {
            return true;
        }
        if self
            .tenant_disabled
            .get(&tenant)
            .is_some_and(|s| s.contains(channel))
        {
            return false;
        }
        if self
            .tenant_enabled
            .get(&tenant)
            .is_some_and(|s| s.contains(channel))
        {
            return true;
        }
        !self.disabled.contains(channel)
    }

    /// `Ok(())` when enabled, else [`Error::ChannelDisabled`].
    ///
    /// # Errors
    ///
    /// [`Error::ChannelDisabled`] naming the channel and the tenant.
    pub fn check(&self, tenant: TenantId, channel: &Channel) -> Result<()> {
        if self.is_enabled(tenant, channel) {
            Ok(())
        } else {
            Err(Error::ChannelDisabled {
                channel: channel.to_string(),
                tenant: tenant.to_string(),
            })
        }
    }

    /// Overrides a channel's profile (for example a carrier's SMS limit).
    pub fn set_profile(&mut self, channel: Channel, profile: ChannelProfile) {
        self.profiles.insert(channel, profile);
    }

    /// The host's profile overrides ([`ChannelRegistry::set_profile`]).
    pub(crate) fn profiles(&self) -> impl Iterator<Item = (&Channel, &ChannelProfile)> {
        self.profiles.iter()
    }

    /// The channel's profile: the host's override, else [`Channel::profile`].
    pub fn profile(&self, channel: &Channel) -> ChannelProfile {
        if self.profiles.is_empty() {
            return channel.profile();
        }
        self.profiles
            .get(channel)
            .cloned()
            .unwrap_or_else(|| channel.profile())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Channel::built_in() {
            assert_eq!(c.name().parse::<Channel>().unwrap(), c);
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Channel>(&json).unwrap(), c);
        }
        let custom = Channel::custom("kiosk-2").unwrap();
        assert_eq!(custom.to_string().parse::<Channel>().unwrap(), custom);
    }

    #[test]
    fn bad_custom_names_are_rejected() {
        for bad in ["", "Has Space", "email", "ü", &"a".repeat(33)] {
            assert!(Channel::custom(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn global_and_tenant_switches() {
        let t = TenantId::new_v7();
        let mut reg = ChannelRegistry::default();
        reg.disable(Channel::Voice);
        assert!(!reg.is_enabled(t, &Channel::Voice));
        reg.enable_for(t, Channel::Voice);
        assert!(reg.is_enabled(t, &Channel::Voice));
        assert!(!reg.is_enabled(TenantId::new_v7(), &Channel::Voice));
        let err = reg.check(TenantId::new_v7(), &Channel::Voice).unwrap_err();
        assert!(err.to_string().contains("voice"), "{err}");
    }
}
