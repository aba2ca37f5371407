//! Channel fit: which channels are live for each tenant, and how an agent's channels suit
//! live or asynchronous work ([`ChannelFit`]). The router ranks qualifying agents by fit
//! before the policy's score.

use std::collections::BTreeMap;

use super::Router;
use crate::channel::{Channel, ChannelRegistry};
use crate::id::{AgentId, TenantId};
use crate::routing::{Agent, ChannelFit};

/// A tenant's channels whose liveness differs from their default profile.
pub(super) type LiveOverrides = BTreeMap<Channel, bool>;

/// Whether channels are live for one tenant: its overrides, else the channel's default
/// profile.
#[derive(Debug, Clone, Copy)]
pub(super) struct Liveness<'a>(Option<&'a LiveOverrides>);

impl Liveness<'_> {
    /// Whether customers wait on `channel` ([`crate::ChannelProfile::live`]).
    pub(super) fn is_live(self, channel: &Channel) -> bool {
        self.0
            .and_then(|m| m.get(channel))
            .copied()
            .unwrap_or_else(|| channel.profile().live)
    }

    /// How `agent`'s channels suit work on a live (`true`) or asynchronous channel: no
    /// allocation, one look-up per channel the agent lists.
    pub(super) fn fit(self, agent: &Agent, live: bool) -> ChannelFit {
        if agent.channels.is_empty() {
            return ChannelFit::AnyChannel;
        }
        if agent.channels.iter().any(|c| self.is_live(c)) == live {
            ChannelFit::Suited
        } else {
            ChannelFit::Overflow
        }
    }
}

/// Whether `a` ranks before `b`: the better fit, then the higher score, then the smaller
/// agent id.
pub(super) fn ahead(a: (ChannelFit, f64, AgentId), b: (ChannelFit, f64, AgentId)) -> bool {
    a.0 < b.0 || (a.0 == b.0 && super::better((a.1, a.2), (b.1, b.2)))
}

impl Router {
    /// Takes `tenant`'s channel profiles from `channels` (the host's overrides, else each
    /// channel's default [`Channel::profile`]): whether a channel is live decides how
    /// agents' channels suit work on it ([`ChannelFit`]), which ranks candidates before
    /// the policy's score. Until it is called, a tenant's channels have their default
    /// profiles. The Desk calls it with each tenant's channels (the desk's
    /// [`ChannelRegistry`] with the tenant's settings over it); nothing changes when the
    /// profiles say what they said before.
    pub fn set_channel_profiles(&mut self, tenant: TenantId, channels: &ChannelRegistry) {
        let differs = || {
            channels
                .profiles()
                .filter(|(c, p)| p.live != c.profile().live)
        };
        let current = self.live_channels.get(&tenant);
        let unchanged = differs().count() == current.map_or(0, BTreeMap::len)
            && differs().all(|(c, p)| current.and_then(|m| m.get(c)) == Some(&p.live));
        if unchanged {
            return;
        }
        let overrides: LiveOverrides = differs().map(|(c, p)| (c.clone(), p.live)).collect();
        if overrides.is_empty() {
            self.live_channels.remove(&tenant);
        } else {
            self.live_channels.insert(tenant, overrides);
        }
    }

    /// Whether channels are live for `tenant`.
    pub(super) fn liveness(&self, tenant: TenantId) -> Liveness<'_> {
        Liveness(self.live_channels.get(&tenant))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::channel::ChannelProfile;
    use crate::id::ConversationId;
    use crate::routing::{LeastLoaded, Requirements, RoutingConfig, WorkItem};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_442_000, 0).unwrap()
    }

    fn tenant() -> TenantId {
        TenantId::from_uuid(uuid::Uuid::from_u128(0x7e))
    }

    fn id(n: u128) -> AgentId {
        AgentId::from_uuid(uuid::Uuid::from_u128(n))
    }

    fn agent(n: u128, channels: &[Channel]) -> Agent {
        let a = Agent::new(id(n), tenant(), format!("a{n}")).capacity(2);
        channels.iter().fold(a, |a, c| a.channel(c.clone()))
    }

    fn item(n: u128, channel: Channel) -> WorkItem {
        WorkItem {
            tenant: tenant(),
            conversation: ConversationId::from_uuid(uuid::Uuid::from_u128(0xc000 + n)),
            requirements: Requirements::new(channel),
            previous_agent: None,
            enqueued_at: now(),
            steps_applied: 0,
        }
    }

    /// A least-loaded router with `team`, where agent 1 already holds one unit (so
    /// without the preference, anyone else free wins).
    fn router(team: Vec<Agent>) -> Router {
        let mut r = Router::new(&RoutingConfig::default().policy(LeastLoaded));
        for a in team {
            r.upsert_agent(a, now()).unwrap();
        }
        r.restore_assignment(item(99, Channel::Email), id(1));
        r
    }

    fn fits(d: &crate::routing::Decision) -> Vec<(AgentId, ChannelFit)> {
        d.candidates.iter().map(|c| (c.agent, c.fit)).collect()
    }

    #[test]
    fn fit_by_the_kind_of_work() {
        let l = Liveness(None);
        let (chat, mail, any) = (
            agent(1, &[Channel::WebChat]),
            agent(2, &[Channel::Email, Channel::WebForm]),
            agent(3, &[]),
        );
        let blended = agent(4, &[Channel::Email, Channel::Voice]);
        assert_eq!(l.fit(&chat, true), ChannelFit::Suited);
        assert_eq!(l.fit(&blended, true), ChannelFit::Suited);
        assert_eq!(l.fit(&any, true), ChannelFit::AnyChannel);
        assert_eq!(l.fit(&mail, true), ChannelFit::Overflow);
        assert_eq!(l.fit(&mail, false), ChannelFit::Suited);
        assert_eq!(l.fit(&any, false), ChannelFit::AnyChannel);
        assert_eq!(l.fit(&chat, false), ChannelFit::Overflow);
        assert_eq!(l.fit(&blended, false), ChannelFit::Overflow);
    }

    #[test]
    fn live_work_goes_to_an_agent_on_a_live_channel_before_a_freer_generalist() {
        let r = router(vec![agent(1, &[Channel::WebChat]), agent(2, &[])]);
        let d = r.decide(&item(1, Channel::WebChat), now());
        assert_eq!(d.agent, Some(id(1)), "{}", d.explain());
        assert_eq!(d.live, Some(true));
        assert_eq!(
            fits(&d),
            vec![(id(1), ChannelFit::Suited), (id(2), ChannelFit::AnyChannel)]
        );
        assert!(
            d.candidates[1].score > d.candidates[0].score,
            "ranked, not scored"
        );
        let why = d.explain();
        assert!(
            why.contains(
                "live work goes first to agents on a live channel: the winner is on a live channel"
            ),
            "{why}"
        );
        assert!(!why.contains("overflow"), "{why}");
    }

    #[test]
    fn asynchronous_work_spares_agents_on_live_channels() {
        // Agent 1 (e-mail only) holds a unit; the blended agent 2 and generalist 3 are free.
        let team = vec![
            agent(1, &[Channel::Email]),
            agent(2, &[Channel::Email, Channel::WebChat]),
            agent(3, &[]),
        ];
        let r = router(team);
        let d = r.decide(&item(1, Channel::Email), now());
        assert_eq!(d.live, Some(false));
        assert_eq!(
            fits(&d),
            vec![
                (id(1), ChannelFit::Suited),
                (id(3), ChannelFit::AnyChannel),
                (id(2), ChannelFit::Overflow),
            ]
        );
        assert!(d
            .explain()
            .contains("asynchronous work goes first to agents on asynchronous channels only"));
    }

    #[test]
    fn when_the_preferred_are_full_the_work_overflows() {
        // Live work: the chat agent (holding one of two units) first, then the generalist.
        let mut r = router(vec![agent(1, &[Channel::WebChat]), agent(3, &[])]);
        assert_eq!(r.route(item(1, Channel::WebChat), now()).agent, Some(id(1)));
        let d = r.route(item(2, Channel::WebChat), now());
        assert_eq!(d.agent, Some(id(3)), "{}", d.explain());
        assert!(d
            .explain()
            .contains("the winner is on every channel (overflow: nobody better suited"));

        // Asynchronous work: the e-mail agent, then the generalist, then the blended
        // agent (who holds one of two units), then it waits.
        let team = vec![
            agent(1, &[Channel::WebChat, Channel::Email]),
            agent(2, &[Channel::Email]),
            agent(3, &[]).capacity(1),
        ];
        let mut r = router(team);
        let got: Vec<Option<AgentId>> = (1..=5)
            .map(|n| r.route(item(n, Channel::Email), now()).agent)
            .collect();
        let (one, two, three) = (Some(id(1)), Some(id(2)), Some(id(3)));
        assert_eq!(got, vec![two, two, three, one, None]);
        // The blended agent frees a unit: the waiting e-mail is theirs.
        let offered = r.release(tenant(), item(4, Channel::Email).conversation, now());
        let d = &offered[0];
        assert_eq!(
            (d.conversation, d.agent),
            (item(5, Channel::Email).conversation, one)
        );
        assert!(
            d.explain()
                .contains("the winner is on a live channel (overflow"),
            "{}",
            d.explain()
        );
    }

    #[test]
    fn generalists_only_rank_by_the_policy_alone() {
        let r = router(vec![agent(1, &[]), agent(2, &[])]);
        let d = r.decide(&item(1, Channel::WebChat), now());
        assert_eq!(d.agent, Some(id(2)), "the less loaded");
        assert!(d.candidates.iter().all(|c| c.fit == ChannelFit::AnyChannel));
        assert_eq!(d.live, None, "fit did not rank");
        let why = d.explain();
        assert!(
            !why.contains("work goes first") && why.contains("scored lower"),
            "{why}"
        );
    }

    #[test]
    fn a_tenants_profiles_say_which_channels_are_live() {
        // Agent 1 works SMS and e-mail; agent 2 e-mail only. SMS is asynchronous by
        // default, so both suit an e-mail and the lower load (agent 2) wins...
        let team = vec![
            agent(1, &[Channel::Sms, Channel::Email]),
            agent(2, &[Channel::Email]),
        ];
        let mut r = router(team);
        r.release(tenant(), item(99, Channel::Email).conversation, now());
        let mail = item(1, Channel::Email);
        assert_eq!(
            r.decide(&mail, now()).agent,
            Some(id(1)),
            "a tie: smaller id"
        );
        // ...until the tenant makes SMS live: agent 1 is kept for SMS.
        let mut reg = ChannelRegistry::default();
        let live_sms = ChannelProfile {
            live: true,
            ..Channel::Sms.profile()
        };
        reg.set_profile(Channel::Sms, live_sms);
        r.set_channel_profiles(tenant(), &reg);
        let d = r.decide(&mail, now());
        assert_eq!(d.agent, Some(id(2)), "{}", d.explain());
        assert_eq!(r.decide(&item(2, Channel::Sms), now()).live, Some(true));
        // Another tenant keeps the defaults.
        let other = TenantId::from_uuid(uuid::Uuid::from_u128(0x7f));
        assert!(!r.liveness(other).is_live(&Channel::Sms));
        // Profiles back to the default: so is the ranking.
        r.set_channel_profiles(tenant(), &ChannelRegistry::default());
        assert!(r.live_channels.is_empty());
        assert_eq!(r.decide(&mail, now()).agent, Some(id(1)));
    }
}
