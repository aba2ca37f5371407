//! Sessions and CSRF without server-side state, so that instances behind one load
//! balancer agree: the session cookie (`tl_session`, HttpOnly, SameSite=Strict) carries a
//! random nonce, the user's id (or `-` before login) and an expiry, signed with
//! HMAC-SHA256 under the session key; every form carries a CSRF token, the HMAC of the
//! nonce under the same key, checked on every POST. Login replaces the nonce.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use throughline::AgentId;

use super::app::App;
use super::directory::{Role, User};

/// The cookie's name.
pub const COOKIE: &str = "tl_session";
/// How long a session lasts, in seconds (a working day and a half).
const LIFETIME: u64 = 36 * 3600;

/// The key sessions are signed with.
#[derive(Clone)]
pub struct Keys {
    key: [u8; 32],
    secure: bool,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(..)")
    }
}

impl Keys {
    /// From a configured secret (hashed to a key), else a random key. `secure` marks the
    /// cookie `Secure` (a host served over https).
    pub fn new(secret: Option<&str>, secure: bool) -> Keys {
        let mut key = [0u8; 32];
        match secret {
            Some(s) => key.copy_from_slice(&Sha256::digest(s.as_bytes())),
            None => getrandom::fill(&mut key).expect("the OS random source"),
        }
        Keys { key, secure }
    }

    fn sign(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(text.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// A new session for `user` (or anonymous), as a `Set-Cookie` value.
    pub fn issue(&self, user: Option<AgentId>) -> (Session, String) {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).expect("the OS random source");
        let session = Session {
            nonce: hex(&nonce),
            user,
            expires: unix_now() + LIFETIME,
        };
        let body = session.body();
        let secure = if self.secure { "; Secure" } else { "" };
        let cookie = format!(
            "{COOKIE}={body}.{}; Path=/; HttpOnly; SameSite=Strict; Max-Age={LIFETIME}{secure}",
            self.sign(&body)
        );
        (session, cookie)
    }

    /// A cookie that ends the session.
    pub fn clear(&self) -> String {
        format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }

    /// The session the request's cookie carries, if it is signed by us and not expired.
    pub fn read(&self, headers: &HeaderMap) -> Option<Session> {
        let value = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|kv| kv.trim().strip_prefix(&format!("{COOKIE}=")))?
            .to_string();
        let (body, sig) = value.rsplit_once('.')?;
        if !constant_eq(self.sign(body).as_bytes(), sig.as_bytes()) {
            return None;
        }
        let mut parts = body.split('.');
        let nonce = parts.next()?.to_string();
        let user = match parts.next()? {
            "-" => None,
            id => Some(id.parse().ok()?),
        };
        let expires: u64 = parts.next()?.parse().ok()?;
        (expires > unix_now()).then_some(Session {
            nonce,
            user,
            expires,
        })
    }

    /// The CSRF token of a session.
    pub fn csrf(&self, session: &Session) -> String {
        self.sign(&format!("csrf:{}", session.nonce))
    }

    /// Whether `token` is the session's CSRF token.
    pub fn csrf_ok(&self, session: &Session, token: &str) -> bool {
        constant_eq(self.csrf(session).as_bytes(), token.as_bytes())
    }
}

/// A signed session.
#[derive(Clone, Debug)]
pub struct Session {
    nonce: String,
    /// The logged-in user, if any.
    pub user: Option<AgentId>,
    expires: u64,
}

impl Session {
    fn body(&self) -> String {
        let user = self.user.map_or_else(|| "-".to_string(), |u| u.to_string());
        format!("{}.{user}.{}", self.nonce, self.expires)
    }
}

/// The logged-in user of a page request, with the CSRF token its forms carry. A request
/// without a valid session is sent to `/login`.
pub struct Current {
    /// Who.
    pub user: User,
    /// The token every form of the page carries.
    pub csrf: String,
    /// The session, for checking a form's token.
    pub session: Session,
}

impl Current {
    /// Refuses a form whose token is not this session's: 403.
    pub fn check(&self, app: &App, token: &str) -> Result<(), Response> {
        if app.keys.csrf_ok(&self.session, token) {
            Ok(())
        } else {
            Err((
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or wrong",
            )
                .into_response())
        }
    }

    /// A supervisor, or 403.
    pub fn supervisor(&self) -> Result<(), Response> {
        if self.user.role == Role::Supervisor {
            Ok(())
        } else {
            Err((StatusCode::FORBIDDEN, "for supervisors").into_response())
        }
    }
}

impl FromRequestParts<App> for Current {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let session = app.keys.read(&parts.headers);
        let user = session
            .as_ref()
            .and_then(|s| s.user)
            .and_then(|id| app.directory.user(id).cloned());
        match (session, user) {
            (Some(session), Some(user)) => Ok(Current {
                csrf: app.keys.csrf(&session),
                user,
                session,
            }),
            _ => Err(Redirect::to("/login").into_response()),
        }
    }
}

fn unix_now() -> u64 {
    u64::try_from(super::now().timestamp()).unwrap_or(0)
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality in time that depends only on the lengths.
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
