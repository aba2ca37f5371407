//! A tiny W3C WebDriver client for end-to-end tests in headless Chromium: starts
//! `chromedriver` on a free port, opens a session with a fresh throw-away profile, and
//! drives pages through the blocking HTTP client in `http.rs` (no async runtime, no extra
//! crates).
//!
//! Binaries: `chromedriver` and `/usr/bin/chromium` (Debian's `chromium-driver` and
//! `chromium`; `.ci/run` installs them), or the paths in the `CHROMEDRIVER` and `CHROMIUM`
//! environment variables. Tests call [`Browser::available`] first and skip (or fail in CI)
//! without them. Every command panics with the WebDriver error on failure; the lookups
//! that fail add the current URL and an excerpt of the page source to the message.
#![allow(dead_code)]
// Test code with deadlines: the no-clock rule is the library's.
#![allow(clippy::disallowed_methods)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::http;

/// The key of a web element reference in WebDriver JSON: the W3C "web element
/// identifier" (WebDriver §12.1, "Elements"), the constant chromedriver sends and expects.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long [`Browser::start`] waits for chromedriver to report itself ready.
const DRIVER_READY: Duration = Duration::from_secs(20);
/// How often the waits poll.
const POLL: Duration = Duration::from_millis(100);
/// How much page source a failure message quotes.
const SOURCE_EXCERPT: usize = 2_000;

/// A chromedriver process, killed (and reaped) when dropped.
struct Driver {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Driver {
    /// The last lines of chromedriver's log, for failure messages.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebDriver error response: the `error` code and the `message`.
#[derive(Debug, Clone)]
pub struct WebDriverError {
    pub status: u16,
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error, self.status, self.message)
    }
}

/// One headless Chromium session behind its own chromedriver. Dropping it ends the
/// session (closing the browser), stops chromedriver and deletes the profile directory.
pub struct Browser {
    // Field order matters for drop: the driver goes before the profile it used.
    driver: Driver,
    session: String,
    profile: tempfile::TempDir,
}

impl Browser {
    /// The Chromium binary: `$CHROMIUM`, else `/usr/bin/chromium`, else `chromium` on `PATH`.
    pub fn chromium_path() -> Option<PathBuf> {
        resolve("CHROMIUM", "/usr/bin/chromium", "chromium")
    }

    /// The chromedriver binary: `$CHROMEDRIVER`, else `/usr/bin/chromedriver`, else
    /// `chromedriver` on `PATH`.
    pub fn chromedriver_path() -> Option<PathBuf> {
        resolve("CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver")
    }

    /// Whether both Chromium and chromedriver are installed (see the paths above).
    pub fn available() -> bool {
        Self::chromium_path().is_some() && Self::chromedriver_path().is_some()
    }

    /// Starts chromedriver on a free port and opens a session in a new headless Chromium
    /// with a fresh profile.
    ///
    /// # Panics
    ///
    /// When a binary is missing, chromedriver does not become ready within 20 s, or the
    /// session cannot be created (the message has chromedriver's error and log).
    pub fn start() -> Browser {
        let chromium = Self::chromium_path()
            .expect("Chromium not found: install `chromium` or set CHROMIUM to its path");
        let chromedriver = Self::chromedriver_path().expect(
            "chromedriver not found: install `chromium-driver` or set CHROMEDRIVER to its path",
        );
        let profile = tempfile::Builder::new()
            .prefix("throughline-chromium.")
            .tempdir()
            .expect("create a temporary Chromium profile directory");
        let user_data = profile.path().join("profile");
        let log = profile.path().join("chromedriver.log");

        // A free port: the OS picks one, chromedriver takes it over.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .expect("find a free local port")
            .port();
        let child = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromedriver.display()));
        let mut driver = Driver {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            log,
        };

        let deadline = Instant::now() + DRIVER_READY;
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                panic!(
                    "chromedriver exited at start ({status}); its log:\n{}",
                    driver.log_tail()
                );
            }
            let ready = http::try_request(driver.addr, "GET", "/status", &[], b"")
                .ok()
                .filter(|r| r.status == 200)
                .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                break;
            }
            if Instant::now() >= deadline {
                panic!(
                    "chromedriver on port {port} was not ready within {DRIVER_READY:?}; its log:\n{}",
                    driver.log_tail()
                );
            }
            thread::sleep(POLL);
        }

        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    // Below the HTTP client's 30 s timeout, so a slow page fails as a
                    // WebDriver error rather than a socket timeout.
                    "timeouts": { "pageLoad": 25_000, "script": 25_000, "implicit": 0 },
                    "goog:chromeOptions": {
                        "binary": chromium.to_string_lossy(),
                        "args": [
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--window-size=1280,900",
                            format!("--user-data-dir={}", user_data.display()),
                        ]
                    }
                }
            }
        });
        let response = http::request(
            driver.addr,
            "POST",
            "/session",
            &[("Content-Type", "application/json")],
            capabilities.to_string().as_bytes(),
        );
        let session = match into_value(response) {
            Ok(value) => value["sessionId"]
                .as_str()
                .unwrap_or_else(|| panic!("no sessionId in the new session's response: {value}"))
                .to_owned(),
            Err(e) => {
                let log = driver.log_tail();
                // Stop chromedriver before panicking (Drop also would, this is explicit).
                let _ = driver.child.kill();
                panic!("cannot start a Chromium session: {e}\nchromedriver's log:\n{log}");
            }
        };
        Browser {
            driver,
            session,
            profile,
        }
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.session
    }

    /// Sends a command to the session: `method` on `/session/{id}{path}` with `body`
    /// (`None`: no body, for GET and DELETE). Returns the response's `value`.
    pub fn try_command(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let headers: &[(&str, &str)] = if body.is_empty() {
            &[]
        } else {
            &[("Content-Type", "application/json; charset=utf-8")]
        };
        let response = http::request(
            self.driver.addr,
            method,
            &format!("/session/{}{path}", self.session),
            headers,
            body.as_bytes(),
        );
        into_value(response)
    }

    /// [`Browser::try_command`], panicking on a WebDriver error.
    pub fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.try_command(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {e}"))
    }

    /// Navigates to `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn current_url(&self) -> String {
        string(self.command("GET", "/url", None))
    }

    pub fn title(&self) -> String {
        string(self.command("GET", "/title", None))
    }

    /// The current DOM serialized as HTML.
    pub fn source(&self) -> String {
        string(self.command("GET", "/source", None))
    }

    /// The first element matching the CSS selector.
    ///
    /// # Panics
    ///
    /// When none matches: the message has the selector, the URL and a source excerpt.
    pub fn find(&self, css: &str) -> Element<'_> {
        self.try_find(css)
            .unwrap_or_else(|| panic!("no element matches {css:?}{}", self.context()))
    }

    /// The first element matching the CSS selector, if any.
    pub fn try_find(&self, css: &str) -> Option<Element<'_>> {
        self.find_from("", css)
    }

    /// Every element matching the CSS selector, in document order.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        self.find_all_from("", css)
    }

    /// Runs `script` (a function body: `return …`, the arguments in `arguments`) in the
    /// page and returns its result. Pass elements as [`Element::to_json`].
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// A PNG screenshot of the viewport.
    pub fn screenshot_png(&self) -> Vec<u8> {
        decode_base64(&string(self.command("GET", "/screenshot", None)))
    }

    /// Waits (polling every 100 ms) until an element matches the CSS selector.
    ///
    /// # Panics
    ///
    /// After `timeout`, with the selector, the URL and a source excerpt.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Element<'_> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(element) = self.try_find(css) {
                return element;
            }
            if Instant::now() >= deadline {
                panic!(
                    "no element matches {css:?} after {timeout:?}{}",
                    self.context()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Waits (polling every 100 ms) until `condition` holds; `what` names it for the
    /// failure message.
    ///
    /// # Panics
    ///
    /// After `timeout`, with `what`, the URL and a source excerpt.
    pub fn wait_until(
        &self,
        mut condition: impl FnMut(&Browser) -> bool,
        timeout: Duration,
        what: &str,
    ) {
        let deadline = Instant::now() + timeout;
        while !condition(self) {
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {timeout:?} waiting for {what}{}",
                    self.context()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// `/element/{from}` (or the document when `from` is empty) + `/element`.
    fn find_from(&self, from: &str, css: &str) -> Option<Element<'_>> {
        let body = json!({ "using": "css selector", "value": css });
        match self.try_command("POST", &format!("{from}/element"), Some(body)) {
            Ok(value) => Some(self.element(&value)),
            Err(e) if e.error == "no such element" => None,
            Err(e) => panic!("finding {css:?} failed: {e}{}", self.context()),
        }
    }

    fn find_all_from(&self, from: &str, css: &str) -> Vec<Element<'_>> {
        let body = json!({ "using": "css selector", "value": css });
        match self.try_command("POST", &format!("{from}/elements"), Some(body)) {
            Ok(Value::Array(values)) => values.iter().map(|v| self.element(v)).collect(),
            Ok(other) => panic!("finding all {css:?}: not an array: {other}"),
            Err(e) => panic!("finding all {css:?} failed: {e}{}", self.context()),
        }
    }

    fn element(&self, value: &Value) -> Element<'_> {
        let id = value[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("not a web element reference: {value}"));
        Element {
            browser: self,
            id: id.to_owned(),
        }
    }

    /// The current URL and a source excerpt, for failure messages; never panics.
    fn context(&self) -> String {
        let url = self
            .try_command("GET", "/url", None)
            .map(string)
            .unwrap_or_else(|e| format!("<unavailable: {e}>"));
        let source = self
            .try_command("GET", "/source", None)
            .map(string)
            .unwrap_or_else(|e| format!("<unavailable: {e}>"));
        let excerpt: String = source.chars().take(SOURCE_EXCERPT).collect();
        let more = if excerpt.len() < source.len() {
            "\n[…]"
        } else {
            ""
        };
        format!("\n  at {url}\n  page source:\n{excerpt}{more}")
    }

    /// The profile directory's root (the Chromium profile is its `profile` subdirectory,
    /// chromedriver's log is `chromedriver.log`).
    pub fn profile_dir(&self) -> &Path {
        self.profile.path()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ends the session, which closes Chromium; then `Driver` kills chromedriver.
        let _ = http::try_request(
            self.driver.addr,
            "DELETE",
            &format!("/session/{}", self.session),
            &[],
            b"",
        );
    }
}

/// An element of the current page, valid until the page changes.
pub struct Element<'b> {
    browser: &'b Browser,
    id: String,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Element").field("id", &self.id).finish()
    }
}

impl<'b> Element<'b> {
    /// The WebDriver element id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The element reference as a script argument for [`Browser::execute`].
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn command(&self, method: &str, action: &str, body: Option<Value>) -> Value {
        self.browser
            .command(method, &format!("/element/{}{action}", self.id), body)
    }

    /// The rendered text (as the user sees it: hidden text left out).
    pub fn text(&self) -> String {
        string(self.command("GET", "/text", None))
    }

    /// The attribute `name` (chromedriver gives an input's current `value`), if set.
    pub fn attr(&self, name: &str) -> Option<String> {
        match self.command("GET", &format!("/attribute/{name}"), None) {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        }
    }

    /// The DOM property `name` (`value`, `checked`, …).
    pub fn property(&self, name: &str) -> Value {
        self.command("GET", &format!("/property/{name}"), None)
    }

    pub fn click(&self) {
        self.command("POST", "/click", Some(json!({})));
    }

    /// Types `text` into the element (focusing it first).
    pub fn send_keys(&self, text: &str) {
        self.command("POST", "/value", Some(json!({ "text": text })));
    }

    /// Empties an input or textarea.
    pub fn clear(&self) {
        self.command("POST", "/clear", Some(json!({})));
    }

    /// The first descendant matching the CSS selector.
    ///
    /// # Panics
    ///
    /// When none matches.
    pub fn find(&self, css: &str) -> Element<'b> {
        self.try_find(css).unwrap_or_else(|| {
            panic!(
                "no element matches {css:?} within element {}{}",
                self.id,
                self.browser.context()
            )
        })
    }

    /// The first descendant matching the CSS selector, if any.
    pub fn try_find(&self, css: &str) -> Option<Element<'b>> {
        self.browser
            .find_from(&format!("/element/{}", self.id), css)
    }

    /// Every descendant matching the CSS selector, in document order.
    pub fn find_all(&self, css: &str) -> Vec<Element<'b>> {
        self.browser
            .find_all_from(&format!("/element/{}", self.id), css)
    }
}

/// The `value` of a WebDriver response, or its error.
fn into_value(response: http::Response) -> Result<Value, WebDriverError> {
    let json: Value = serde_json::from_slice(&response.body).map_err(|e| WebDriverError {
        status: response.status,
        error: "invalid response".to_owned(),
        message: format!("{e}: {:?}", response.text()),
    })?;
    let value = json.get("value").cloned().unwrap_or(Value::Null);
    match value.get("error").and_then(Value::as_str) {
        Some(error) => Err(WebDriverError {
            status: response.status,
            error: error.to_owned(),
            message: value["message"].as_str().unwrap_or_default().to_owned(),
        }),
        None if response.status != 200 => Err(WebDriverError {
            status: response.status,
            error: "unexpected status".to_owned(),
            message: json.to_string(),
        }),
        None => Ok(value),
    }
}

fn string(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => panic!("expected a string from WebDriver, got {other}"),
    }
}

/// `$var` (a path, or a name looked up on `PATH`), else `default` if it exists, else
/// `name` on `PATH`.
fn resolve(var: &str, default: &str, name: &str) -> Option<PathBuf> {
    let on_path = |name: &str| {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
    };
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => {
            if value.contains('/') {
                Some(PathBuf::from(value)).filter(|p| p.is_file())
            } else {
                on_path(&value)
            }
        }
        _ => Some(PathBuf::from(default))
            .filter(|p| p.is_file())
            .or_else(|| on_path(name)),
    }
}

/// Decodes standard or URL-safe base64, padded or not, ignoring whitespace.
pub fn decode_base64(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text.bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => panic!("invalid base64 byte {byte:#04x}"),
        };
        acc = (acc << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

#[test]
fn base64_decodes_padded_unpadded_and_url_safe_text() {
    assert_eq!(decode_base64(""), b"");
    assert_eq!(decode_base64("Zg=="), b"f");
    assert_eq!(decode_base64("Zm8="), b"fo");
    assert_eq!(decode_base64("Zm9v"), b"foo");
    assert_eq!(decode_base64("Zm9vYmE"), b"fooba");
    assert_eq!(decode_base64("Zm9v\nYmFy"), b"foobar");
    assert_eq!(decode_base64("iVBORw0KGgo="), b"\x89PNG\r\n\x1a\n");
    assert_eq!(decode_base64("-_8"), [0xfb, 0xff]);
    assert_eq!(decode_base64("+/8"), [0xfb, 0xff]);
}
