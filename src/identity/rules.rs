//! Resolution rules: which identifier wins, how many of a kind a customer may have, and
//! which values never identify anybody (after Segment Unify and RudderStack).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::identity::{Identifier, IdentifierKind};

/// How identifiers resolve to customers.
///
/// * **Priority**: when one message carries identifiers of two different customers, the
///   message goes to the customer of the highest-priority identifier, and a merge
///   suggestion is recorded; customers are never merged silently.
/// * **Limits**: at most `n` identifiers of a kind per customer; an identifier over the
///   limit is not attached (the message is still taken in).
/// * **Blocked values**: placeholders such as `unknown`, `null` or `0000000`, and
///   no-reply mailboxes, never identify anybody.
///
/// ```
/// use throughline::{Identifier, IdentifierKind};
/// use throughline::identity::IdentityRules;
/// let rules = IdentityRules::default();
/// assert!(rules.priority(&IdentifierKind::External { system: "shop".into() })
///         > rules.priority(&IdentifierKind::Email));
/// assert!(rules.is_blocked(&Identifier::email("noreply@shop.example")?));
/// assert_eq!(rules.limit(&IdentifierKind::External { system: "shop".into() }), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityRules {
    /// Priority per kind name (`IdentifierKind::name`); `"external"` covers every external
    /// system without its own entry. Higher wins. Unlisted kinds have priority 0.
    pub priorities: HashMap<String, u8>,
    /// Maximum identifiers of a kind per customer, by kind name (`"external"` as above).
    pub limits: HashMap<String, usize>,
    /// Values that never identify anybody, compared case-insensitively with the whole
    /// value (e-mail: with the local part).
    pub blocked_values: Vec<String>,
    /// E-mail local parts that are never a person (`noreply`, `mailer-daemon`, ...).
    pub blocked_local_parts: Vec<String>,
}

impl Default for IdentityRules {
    fn default() -> Self {
        let priorities = [
            ("external", 100),
            ("email", 80),
            ("phone", 70),
            ("whatsapp", 70),
            ("line", 60),
            ("wechat", 60),
            ("messenger", 60),
            ("x", 50),
            ("instagram", 50),
            ("web_visitor", 10),
        ];
        let limits = [
            ("external", 1),
            ("web_visitor", 50),
            ("email", 20),
            ("phone", 10),
        ];
        IdentityRules {
            priorities: priorities
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            limits: limits.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            blocked_values: [
                "null",
                "nil",
                "none",
                "unknown",
                "undefined",
                "anonymous",
                "n/a",
                "na",
                "test",
                "-",
                "0",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            blocked_local_parts: [
                "noreply",
                "no-reply",
                "no_reply",
                "donotreply",
                "do-not-reply",
                "mailer-daemon",
                "postmaster",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        }
    }
}

impl IdentityRules {
    fn lookup<'a, T>(map: &'a HashMap<String, T>, kind: &IdentifierKind) -> Option<&'a T> {
        match kind {
            IdentifierKind::External { .. } => {
                map.get(&kind.name()).or_else(|| map.get("external"))
            }
            other => map.get(&other.name()),
        }
    }

    /// The priority of a kind (higher wins).
    pub fn priority(&self, kind: &IdentifierKind) -> u8 {
        Self::lookup(&self.priorities, kind).copied().unwrap_or(0)
    }

    /// The most identifiers of this kind a customer may have, if limited.
    pub fn limit(&self, kind: &IdentifierKind) -> Option<usize> {
        Self::lookup(&self.limits, kind).copied()
    }

    /// Whether the value never identifies anybody.
    pub fn is_blocked(&self, identifier: &Identifier) -> bool {
        let v = identifier.value();
        if self
            .blocked_values
            .iter()
            .any(|b| b.eq_ignore_ascii_case(v))
        {
            return true;
        }
        // Placeholder numbers and ids: one digit repeated ("0000000", "+11111111").
        let digits = v.strip_prefix('+').unwrap_or(v).as_bytes();
        if digits.len() >= 5 && digits[0].is_ascii_digit() && digits.iter().all(|d| *d == digits[0])
        {
            return true;
        }
        if *identifier.kind() == IdentifierKind::Email {
            if let Some((local, _)) = v.split_once('@') {
                let local = local.split('+').next().unwrap_or(local);
                return self
                    .blocked_local_parts
                    .iter()
                    .any(|b| b.eq_ignore_ascii_case(local));
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_blocked_and_people_are_not() {
        let r = IdentityRules::default();
        let line = |v: &str| Identifier::handle(IdentifierKind::Line, v).unwrap();
        assert!(r.is_blocked(&line("NULL")));
        assert!(r.is_blocked(&line("0000000")));
        assert!(r.is_blocked(&Identifier::external("shop", "unknown").unwrap()));
        assert!(r.is_blocked(&Identifier::email("No-Reply+bounce@x.example").unwrap()));
        assert!(!r.is_blocked(&line("U4af4980629")));
        assert!(!r.is_blocked(&Identifier::email("ana@example.com").unwrap()));
        assert!(!r.is_blocked(&Identifier::phone("+31612345678", None).unwrap()));
    }
}
