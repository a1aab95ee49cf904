//! An SMTP server in the test process: takes every message (plain SMTP, no
//! TLS, no auth) and keeps it, as a mail relay would.

use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the sink received it.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The DATA, dot-unstuffed, CRLF line ends.
    pub data: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mailparse::ParsedMail<'_> {
        mailparse::parse_mail(&self.data).expect("a MIME message")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        use mailparse::MailHeaderMap;
        self.parsed().headers.get_first_value(name)
    }

    /// The link (path and query) to `/{path}?token=…` in the text part.
    pub fn link(&self, path: &str) -> Option<String> {
        let text = self.parts().0;
        let at = text.find(&format!("/{path}?token="))?;
        Some(text[at..].chars().take_while(|c| !c.is_whitespace()).collect())
    }

    /// The text/plain and text/html parts, decoded.
    pub fn parts(&self) -> (String, String) {
        let parsed = self.parsed();
        let mut text = String::new();
        let mut html = String::new();
        for part in parsed.parts() {
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = part.get_body().unwrap(),
                "text/html" => html = part.get_body().unwrap(),
                _ => {}
            }
        }
        (text, html)
    }
}

#[derive(Clone)]
pub struct SmtpSink {
    pub addr: std::net::SocketAddr,
    pub inbox: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// On `addr` (a port a server was told about while the sink was down).
    pub async fn start_on(addr: std::net::SocketAddr) -> SmtpSink {
        Self::start_with_delay(addr, std::time::Duration::ZERO).await
    }

    /// A slow mail server: it keeps each message at once but acknowledges it
    /// only `delay` later (a sender killed meanwhile never hears it was taken).
    pub async fn start_slow(delay: std::time::Duration) -> SmtpSink {
        Self::start_with_delay("127.0.0.1:0".parse().unwrap(), delay).await
    }

    async fn start_with_delay(addr: std::net::SocketAddr, delay: std::time::Duration) -> SmtpSink {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let sink = SmtpSink { addr, inbox: inbox.clone() };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let inbox = inbox.clone();
                tokio::spawn(async move {
                    let _ = session(stream, inbox, delay).await;
                });
            }
        });
        sink
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.inbox.lock().unwrap().clone()
    }

    /// Waits (up to `secs`) until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        self.wait_for_matching(n, secs, |_| true).await
    }

    /// Waits up to `secs` for `n` emails that `keep`; those received by then.
    pub async fn wait_for_matching(&self, n: usize, secs: u64, keep: impl Fn(&Received) -> bool) -> Vec<Received> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let got: Vec<Received> = self.received().into_iter().filter(|m| keep(m)).collect();
            if got.len() >= n || std::time::Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

async fn session(stream: tokio::net::TcpStream, inbox: Arc<Mutex<Vec<Received>>>, delay: std::time::Duration) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => write.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n").await?,
            "HELO" | "NOOP" => write.write_all(b"250 ok\r\n").await?,
            "RSET" => {
                (from, to) = (String::new(), Vec::new());
                write.write_all(b"250 ok\r\n").await?
            }
            "MAIL" => {
                from = command.split_once(':').map(|(_, a)| a.trim().to_owned()).unwrap_or_default();
                write.write_all(b"250 ok\r\n").await?
            }
            "RCPT" => {
                to.push(command.split_once(':').map(|(_, a)| a.trim().to_owned()).unwrap_or_default());
                write.write_all(b"250 ok\r\n").await?
            }
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = Vec::new();
                loop {
                    let mut raw = Vec::new();
                    if lines.read_until(b'\n', &mut raw).await? == 0 {
                        return Ok(());
                    }
                    if raw == b".\r\n" || raw == b".\n" {
                        break;
                    }
                    let unstuffed = if raw.starts_with(b"..") { &raw[1..] } else { &raw[..] };
                    data.extend_from_slice(unstuffed);
                }
                inbox.lock().unwrap().push(Received { from: from.clone(), to: std::mem::take(&mut to), data });
                tokio::time::sleep(delay).await;
                write.write_all(b"250 queued\r\n").await?
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 not implemented\r\n").await?,
        }
    }
}
