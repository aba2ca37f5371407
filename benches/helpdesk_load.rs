//! Load on the reference helpdesk (`examples/helpdesk`): signed Twilio SMS webhooks at a
//! steady rate over keep-alive connections on localhost, against the helpdesk on a SQLite
//! file, beside the same requests answered by a bare axum handler that only verifies the
//! signature and returns 200 (the baseline), in the same process and run.
//!
//! ```text
//! cargo bench --bench helpdesk_load -- [RATE_PER_S] [SECONDS] [CONNECTIONS]
//! ```
//!
//! Latency is measured from each request's scheduled send time, so a server that falls
//! behind is charged for the wait (no coordinated omission). The generator shares the
//! machine's cores with the server.

// A load generator measures wall-clock time.
#![allow(clippy::disallowed_methods)]

#[allow(dead_code, unused_imports)]
#[path = "../examples/helpdesk/main.rs"]
mod helpdesk;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use throughline::channels::twilio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "twilio-auth-token";
const PUBLIC_URL: &str = "http://support.example.test";

/// One signed webhook request, ready to write.
fn request(i: u64) -> Vec<u8> {
    let from = format!("+316{:08}", 10_000_000 + i % 2_000);
    let params: Vec<(String, String)> = [
        ("MessageSid", format!("SM{:032x}", i)),
        (
            "AccountSid",
            "AC00000000000000000000000000000000".to_string(),
        ),
        ("From", from),
        ("To", "+31970102030".to_string()),
        ("Body", format!("Where is my order {}?", 1000 + i % 5000)),
        ("NumMedia", "0".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let signature = twilio::sign(&format!("{PUBLIC_URL}/webhooks/twilio"), &params, TOKEN);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    format!(
        "POST /webhooks/twilio HTTP/1.1\r\nHost: support.example.test\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one response (status line, headers, `Content-Length` body); its status.
async fn response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<u16> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status: u16 = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let mut chunk = [0u8; 4096];
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            buf.drain(..end + 4 + len);
            return Ok(status);
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// What one run measured.
struct Run {
    sent: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn percentile(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l.get(((l.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or_default()
    }

    fn report(&self, name: &str) {
        println!(
            "{name:<10} {:>6} requests, {:>3} not 200, {:>7.0} req/s, p50 {:>6.2} ms, p99 {:>6.2} ms, max {:>6.2} ms",
            self.sent,
            self.failed,
            self.sent as f64 / self.elapsed.as_secs_f64(),
            self.percentile(0.50).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.percentile(1.0).as_secs_f64() * 1e3,
        );
    }
}

/// `rate` requests a second for `secs` over `connections` keep-alive connections, each
/// connection sending on its own schedule; request numbers start at `first`.
async fn load(addr: SocketAddr, rate: u64, secs: u64, connections: u64, first: u64) -> Run {
    let total = rate * secs;
    let interval = Duration::from_secs_f64(connections as f64 / rate as f64);
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for c in 0..connections {
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.set_nodelay(true).ok();
            let mut buf = Vec::new();
            let mut out = (Vec::new(), 0usize);
            let offset = interval.mul_f64(c as f64 / connections as f64);
            let mut i = c;
            let mut k = 0u32;
            while i < total {
                let at = start + offset + interval * k;
                tokio::time::sleep_until(at.into()).await;
                stream.write_all(&request(first + i)).await.expect("write");
                let status = response(&mut stream, &mut buf).await.expect("read");
                out.0.push(at.elapsed());
                if status != 200 {
                    out.1 += 1;
                }
                i += connections;
                k += 1;
            }
            out
        }));
    }
    let mut run = Run {
        sent: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for t in tasks {
        let (lat, failed) = t.await.expect("a connection task");
        run.sent += lat.len();
        run.failed += failed;
        run.latencies.extend(lat);
    }
    run.elapsed = start.elapsed();
    run
}

/// The baseline: verify the signature, answer 200.
async fn baseline() -> SocketAddr {
    async fn verify(headers: HeaderMap, body: Bytes) -> StatusCode {
        let sig = headers
            .get(twilio::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let url = format!("{PUBLIC_URL}/webhooks/twilio");
        match twilio::verify_body(&url, &body, sig, TOKEN) {
            Ok(()) => StatusCode::OK,
            Err(_) => StatusCode::FORBIDDEN,
        }
    }
    let app = axum::Router::new().route("/webhooks/twilio", post(verify));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let rate = args.first().copied().unwrap_or(3_000);
    let secs = args.get(1).copied().unwrap_or(5);
    let connections = args.get(2).copied().unwrap_or(32);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = helpdesk::config::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        db: dir.path().join("load.db").to_string_lossy().into_owned(),
        demo: true,
        demo_password: Some("load-test".into()),
        public_url: PUBLIC_URL.into(),
        twilio_auth_token: TOKEN.into(),
        ..helpdesk::config::Config::default()
    };
    rt.block_on(async {
        let running = helpdesk::app::start(config).await.unwrap();
        let base = baseline().await;
        println!("{rate} signed Twilio webhooks/s for {secs} s over {connections} connections");
        // Warm both up, then measure the baseline and the helpdesk in turn.
        load(base, rate, 1, connections, 0).await;
        load(running.addr, rate.min(1_000), 1, connections, 10_000_000).await;
        let b = load(base, rate, secs, connections, 20_000_000).await;
        b.report("baseline");
        let h = load(running.addr, rate, secs, connections, 30_000_000).await;
        h.report("helpdesk");
        let ratio = h.percentile(0.99).as_secs_f64() / b.percentile(0.99).as_secs_f64().max(1e-9);
        println!("helpdesk p99 / baseline p99: {ratio:.1}");
        running.stop().await;
    });
}
