//! The helpdesk's configuration: command-line flags, each with an environment variable of
//! the same name (`--public-url` or `PUBLIC_URL`); a flag wins over the variable.

use std::net::SocketAddr;

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where to listen (`--listen`, default `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// The SQLite file (`--db`, default `helpdesk.db`).
    pub db: String,
    /// A PostgreSQL URL (`--postgres`): several instances share it instead of a file.
    pub postgres: Option<String>,
    /// Create the demo tenants and users (`--demo`).
    pub demo: bool,
    /// The demo users' password (`--demo-password`, required with `--demo`).
    pub demo_password: Option<String>,
    /// The base URL the providers call (`--public-url`), used for Twilio's signature.
    pub public_url: String,
    /// Twilio's auth token (`--twilio-auth-token`).
    pub twilio_auth_token: String,
    /// The Twilio account the SMS replies are sent from (`--twilio-account-sid`).
    pub twilio_account_sid: String,
    /// Meta's app secret (`--meta-app-secret`): WhatsApp webhook signatures.
    pub meta_app_secret: String,
    /// The token Meta echoes in the webhook handshake (`--whatsapp-verify-token`).
    pub whatsapp_verify_token: String,
    /// The bearer token of the inbound-mail service (`--email-token`).
    pub email_token: String,
    /// The key that signs session cookies (`--session-secret`): instances behind one load
    /// balancer share it. Without it each start picks a random one (sessions end at restart).
    pub session_secret: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: ([127, 0, 0, 1], 8080).into(),
            db: "helpdesk.db".into(),
            postgres: None,
            demo: false,
            demo_password: None,
            public_url: "http://127.0.0.1:8080".into(),
            twilio_auth_token: String::new(),
            twilio_account_sid: "AC00000000000000000000000000000000".into(),
            meta_app_secret: String::new(),
            whatsapp_verify_token: String::new(),
            email_token: String::new(),
            session_secret: None,
        }
    }
}

const USAGE: &str = "usage: helpdesk [--listen ADDR] [--db PATH | --postgres URL] \
[--demo --demo-password PASSWORD] [--public-url URL] [--twilio-auth-token T] \
[--twilio-account-sid AC...] [--meta-app-secret S] [--whatsapp-verify-token T] \
[--email-token T] [--session-secret S]";

impl Config {
    /// Reads the flags (`args` without the program name) over the environment (`env`).
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, String> {
        let mut c = Config::default();
        let mut public_url_set = false;
        let var = |flag: &str| {
            env(&flag
                .trim_start_matches("--")
                .replace('-', "_")
                .to_uppercase())
        };
        for flag in FLAGS {
            if let Some(v) = var(flag) {
                public_url_set |= *flag == "--public-url";
                c.set(flag, v)?;
            }
        }
        if var("--demo").is_some_and(|v| v == "1" || v == "true") {
            c.demo = true;
        }
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--demo" => c.demo = true,
                "-h" | "--help" => return Err(USAGE.into()),
                flag if FLAGS.contains(&flag) => {
                    let value = args
                        .next()
                        .ok_or(format!("{flag} needs a value\n{USAGE}"))?;
                    public_url_set |= flag == "--public-url";
                    c.set(flag, value)?;
                }
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        if c.demo && c.demo_password.as_deref().unwrap_or("").is_empty() {
            return Err("--demo needs --demo-password".into());
        }
        if !public_url_set {
            c.public_url = format!("http://{}", c.listen);
        }
        c.public_url = c.public_url.trim_end_matches('/').to_string();
        Ok(c)
    }

    fn set(&mut self, flag: &str, v: String) -> Result<(), String> {
        match flag {
            "--listen" => {
                self.listen = v.parse().map_err(|e| format!("--listen {v:?}: {e}"))?;
            }
            "--db" => self.db = v,
            "--postgres" => self.postgres = Some(v),
            "--demo-password" => self.demo_password = Some(v),
            "--public-url" => self.public_url = v,
            "--twilio-auth-token" => self.twilio_auth_token = v,
            "--twilio-account-sid" => self.twilio_account_sid = v,
            "--meta-app-secret" => self.meta_app_secret = v,
            "--whatsapp-verify-token" => self.whatsapp_verify_token = v,
            "--email-token" => self.email_token = v,
            "--session-secret" => self.session_secret = Some(v),
            _ => unreachable!("every flag of FLAGS is handled"),
        }
        Ok(())
    }
}

const FLAGS: &[&str] = &[
    "--listen",
    "--db",
    "--postgres",
    "--demo-password",
    "--public-url",
    "--twilio-auth-token",
    "--twilio-account-sid",
    "--meta-app-secret",
    "--whatsapp-verify-token",
    "--email-token",
    "--session-secret",
];
