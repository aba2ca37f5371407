//! A minimal blocking HTTP/1.1 client for tests that talk to servers on localhost: the
//! WebDriver harness (`webdriver.rs`) and the tests' own small servers.
//!
//! One request per connection (`Connection: close`), 30 s read and write timeouts, the
//! response read until the connection closes or its framing (`Content-Length`, chunked
//! transfer coding) says it is complete, and a chunked body decoded. No TLS, no redirects,
//! no keep-alive. [`request`] panics with the method, the URL and the cause on an I/O or
//! protocol error; [`try_request`] returns it.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long connecting, each read and each write may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A response: the status code, the header fields in the order received (names as sent)
/// and the body, chunked transfer coding removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header field named `name` (compared case-insensitively), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text, invalid UTF-8 replaced by U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request to `addr` and reads the response. `path` is the request target
/// (`/status?x=1`). `Host` is added unless `headers` has one; `Connection: close` and
/// `Content-Length` are always sent (and may not be in `headers`).
///
/// # Panics
///
/// On any I/O error (refused connection, timeout) or a malformed response.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    try_request(addr, method, path, headers, body)
        .unwrap_or_else(|e| panic!("HTTP {method} http://{addr}{path} failed: {e}"))
}

/// [`request`], returning I/O and protocol errors instead of panicking.
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<Response> {
    if let Some((name, _)) = headers.iter().find(|(n, _)| {
        n.eq_ignore_ascii_case("content-length")
            || n.eq_ignore_ascii_case("connection")
            || n.eq_ignore_ascii_case("transfer-encoding")
    }) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the client sets the {name} header itself"),
        ));
    }
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));

    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    stream.set_nodelay(true)?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()?;
    read_response(&mut stream, method.eq_ignore_ascii_case("HEAD"))
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Reads until the response is complete: at the end of its framing, or at EOF.
fn read_response(stream: &mut TcpStream, head_only: bool) -> io::Result<Response> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut eof = false;
    loop {
        if let Some(response) = parse(&buf, eof, head_only)? {
            return Ok(response);
        }
        match stream.read(&mut chunk) {
            Ok(0) => eof = true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no response within {TIMEOUT:?} ({} bytes received so far)",
                        buf.len()
                    ),
                ));
            }
            Err(e) => return Err(e),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The response in `buf` if it is complete, `None` if more bytes are needed (an error
/// instead when `eof`). Interim (1xx) responses are skipped.
fn parse(buf: &[u8], eof: bool, head_only: bool) -> io::Result<Option<Response>> {
    let mut start = 0;
    loop {
        let Some(head_len) = find(&buf[start..], b"\r\n\r\n") else {
            return if eof {
                Err(invalid(format!(
                    "the connection closed before the end of the response head ({} bytes: {:?})",
                    buf.len(),
                    String::from_utf8_lossy(&buf[..buf.len().min(200)])
                )))
            } else {
                Ok(None)
            };
        };
        let head = std::str::from_utf8(&buf[start..start + head_len])
            .map_err(|_| invalid("the response head is not UTF-8"))?;
        let (status, headers) = parse_head(head)?;
        let body_start = start + head_len + 4;
        if (100..200).contains(&status) && status != 101 {
            start = body_start;
            continue;
        }
        let rest = &buf[body_start..];
        let response = |body| Response {
            status,
            headers: headers.clone(),
            body,
        };
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        if head_only || status == 204 || status == 304 {
            return Ok(Some(response(Vec::new())));
        }
        if header("transfer-encoding").is_some_and(|te| {
            te.split(',')
                .any(|c| c.trim().eq_ignore_ascii_case("chunked"))
        }) {
            return Ok(decode_chunked(rest, eof)?.map(response));
        }
        if let Some(length) = header("content-length") {
            let length: usize = length
                .trim()
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length {length:?}")))?;
            return if rest.len() >= length {
                Ok(Some(response(rest[..length].to_vec())))
            } else if eof {
                Err(invalid(format!(
                    "the connection closed after {} of {length} body bytes",
                    rest.len()
                )))
            } else {
                Ok(None)
            };
        }
        return Ok(eof.then(|| response(rest.to_vec())));
    }
}

type Headers = Vec<(String, String)>;

fn parse_head(head: &str) -> io::Result<(u16, Headers)> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts.next().and_then(|s| s.parse::<u16>().ok());
    let status = match status {
        Some(status) if version.starts_with("HTTP/1.") => status,
        _ => return Err(invalid(format!("bad status line {status_line:?}"))),
    };
    let headers = lines
        .map(|line| {
            line.split_once(':')
                .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                .ok_or_else(|| invalid(format!("bad header line {line:?}")))
        })
        .collect::<io::Result<_>>()?;
    Ok((status, headers))
}

/// Decodes a chunked body from its first chunk-size line: `None` if incomplete.
fn decode_chunked(mut rest: &[u8], eof: bool) -> io::Result<Option<Vec<u8>>> {
    let incomplete = || {
        if eof {
            Err(invalid("the connection closed inside a chunked body"))
        } else {
            Ok(None)
        }
    };
    let mut body = Vec::new();
    loop {
        let Some(line_end) = find(rest, b"\r\n") else {
            return incomplete();
        };
        let line = String::from_utf8_lossy(&rest[..line_end]);
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| invalid(format!("bad chunk-size line {line:?}")))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // Trailer fields, then an empty line.
            loop {
                match find(rest, b"\r\n") {
                    Some(0) => return Ok(Some(body)),
                    Some(end) => rest = &rest[end + 2..],
                    // A server that closes right after the last chunk: lenient.
                    None if eof => return Ok(Some(body)),
                    None => return Ok(None),
                }
            }
        }
        if rest.len() < size + 2 {
            return incomplete();
        }
        if &rest[size..size + 2] != b"\r\n" {
            return Err(invalid("a chunk's data is not followed by CRLF"));
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
