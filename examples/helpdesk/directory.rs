//! Who is who: the tenants with the inboxes their webhooks arrive at, and the users who
//! log in. A real host keeps these in its own database; the demo makes two companies with
//! fixed ids, so that a restart finds yesterday's conversations (never a new tenant id at
//! every start: see docs/hosting.md, "A single-company host").

use std::collections::HashMap;

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use throughline::{AgentId, TenantId};

/// One company and where its customers write to.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// Its id in the desk.
    pub id: TenantId,
    /// Its name, shown in the header.
    pub name: String,
    /// The address its mail arrives at, lower case (`support@demo.example`).
    pub email: String,
    /// The domain its `Message-ID`s are made under.
    pub mail_domain: String,
    /// Its SMS and WhatsApp number, E.164.
    pub phone: String,
    /// Its WhatsApp Cloud API phone number id (what Meta's webhooks name).
    pub whatsapp_id: String,
    /// Whether the web chat widget writes to it.
    pub chat: bool,
}

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Works conversations.
    Agent,
    /// Also sees the reports and edits the settings.
    Supervisor,
}

/// Someone who logs in.
#[derive(Clone, Debug)]
pub struct User {
    /// The agent id the desk knows them by (also the session's subject).
    pub id: AgentId,
    /// Their tenant: the only one they see.
    pub tenant: TenantId,
    /// Login name.
    pub email: String,
    /// Shown in the inbox.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Argon2id hash (PHC string).
    pub password_hash: String,
}

/// The tenants and users of this host.
#[derive(Debug, Default)]
pub struct Directory {
    tenants: Vec<Tenant>,
    users: Vec<User>,
    by_email: HashMap<String, usize>,
}

impl Directory {
    /// Adds a tenant.
    pub fn add_tenant(&mut self, tenant: Tenant) {
        self.tenants.push(tenant);
    }

    /// Adds a user with `password`, hashed here.
    pub fn add_user(
        &mut self,
        id: AgentId,
        tenant: TenantId,
        email: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> Result<(), String> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| format!("no random salt: {e}"))?;
        let salt = SaltString::encode_b64(&bytes).map_err(|e| format!("bad salt: {e}"))?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| format!("cannot hash the password: {e}"))?
            .to_string();
        self.by_email
            .insert(email.to_ascii_lowercase(), self.users.len());
        self.users.push(User {
            id,
            tenant,
            email: email.to_ascii_lowercase(),
            name: name.into(),
            role,
            password_hash: hash,
        });
        Ok(())
    }

    /// Every tenant.
    pub fn tenants(&self) -> &[Tenant] {
        &self.tenants
    }

    /// The tenant with `id`.
    pub fn tenant(&self, id: TenantId) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }

    /// The tenant whose mail arrives at `address`.
    pub fn by_email(&self, address: &str) -> Option<&Tenant> {
        let address = address.trim().to_ascii_lowercase();
        self.tenants.iter().find(|t| t.email == address)
    }

    /// The tenant whose SMS number is `number`.
    pub fn by_phone(&self, number: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.phone == number.trim())
    }

    /// The tenant whose WhatsApp phone number id is `id`.
    pub fn by_whatsapp(&self, id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.whatsapp_id == id)
    }

    /// The tenant the web chat writes to.
    pub fn chat_tenant(&self) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.chat)
    }

    /// The user with `id`.
    pub fn user(&self, id: AgentId) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The users of `tenant`.
    pub fn users_of(&self, tenant: TenantId) -> impl Iterator<Item = &User> {
        self.users.iter().filter(move |u| u.tenant == tenant)
    }

    /// The user whose login and password these are. A wrong e-mail costs the same hash as
    /// a wrong password, so a response time does not tell which users exist.
    pub fn login(&self, email: &str, password: &str) -> Option<&User> {
        let user = self
            .by_email
            .get(&email.trim().to_ascii_lowercase())
            .map(|&i| &self.users[i]);
        let hash = match user {
            Some(u) => u.password_hash.as_str(),
            // The hash of a password nobody has, verified when the e-mail is unknown.
            None => self.users.first()?.password_hash.as_str(),
        };
        let parsed = PasswordHash::new(hash).ok()?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        user.filter(|_| ok)
    }
}

/// The demo company's fixed id.
pub const DEMO_TENANT: &str = "01900000-0000-7000-8000-00000000d3e0";
/// A second company, so that the inbox shows tenants apart.
pub const OTHER_TENANT: &str = "01900000-0000-7000-8000-0000000007e2";
/// The demo agent.
pub const DEMO_AGENT: &str = "01900000-0000-7000-8000-00000000a001";
/// The demo supervisor.
pub const DEMO_LEAD: &str = "01900000-0000-7000-8000-00000000a002";
/// The other company's agent.
pub const OTHER_AGENT: &str = "01900000-0000-7000-8000-00000000a003";

/// An id from one of the constants above.
pub fn fixed<T: std::str::FromStr>(id: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    id.parse().expect("the fixed ids are UUIDs")
}

/// The demo: `Demo` (e-mail `support@demo.example`, SMS and WhatsApp `+31970102030`, the
/// web chat) with `agent@demo.example` and the supervisor `lead@demo.example`, and
/// `Other` (e-mail `support@other.example`) with `agent@other.example`; all with
/// `password`.
pub fn demo(password: &str) -> Result<Directory, String> {
    let mut d = Directory::default();
    let demo: TenantId = fixed(DEMO_TENANT);
    let other: TenantId = fixed(OTHER_TENANT);
    d.add_tenant(Tenant {
        id: demo,
        name: "Demo".into(),
        email: "support@demo.example".into(),
        mail_domain: "demo.example".into(),
        phone: "+31970102030".into(),
        whatsapp_id: "109876543210".into(),
        chat: true,
    });
    d.add_tenant(Tenant {
        id: other,
        name: "Other".into(),
        email: "support@other.example".into(),
        mail_domain: "other.example".into(),
        phone: "+31970109999".into(),
        whatsapp_id: "109876549999".into(),
        chat: false,
    });
    let agent: AgentId = fixed(DEMO_AGENT);
    d.add_user(
        agent,
        demo,
        "agent@demo.example",
        "Ada Agent",
        Role::Agent,
        password,
    )?;
    let lead: AgentId = fixed(DEMO_LEAD);
    d.add_user(
        lead,
        demo,
        "lead@demo.example",
        "Lee Lead",
        Role::Supervisor,
        password,
    )?;
    let o: AgentId = fixed(OTHER_AGENT);
    d.add_user(
        o,
        other,
        "agent@other.example",
        "Otto Other",
        Role::Agent,
        password,
    )?;
    Ok(d)
}
