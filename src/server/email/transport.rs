//! Where a rendered email goes: an SMTP server, or `.eml` files for the
//! dev mailbox when none is configured.

use super::{Email, Settings};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Why a send did not happen: try again later, or never (the server refused
/// the message or its address for good).
#[derive(Debug)]
pub enum TransportError {
    Transient(String),
    Permanent(String),
}

impl Transport {
    pub fn new(settings: &Settings) -> anyhow::Result<Transport> {
        Ok(match &settings.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("PAYLINKS_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(15)))
                    .build(),
            ),
            None => Transport::Files(settings.mail_dir.clone()),
        })
    }

    /// Sends `email` as job `job_id` (`message_id`, dated `created_at`).
    /// Files are written whole or not at all, under a name of the job's: a
    /// retry replaces the same file.
    pub async fn send(&self, settings: &Settings, email: &Email, message_id: &str, created_at: i64, job_id: i64) -> Result<(), TransportError> {
        let message = build(settings, email, message_id, created_at)?;
        match self {
            Transport::Smtp(smtp) => match smtp.send(message).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(TransportError::Permanent(e.to_string())),
                Err(e) => Err(TransportError::Transient(e.to_string())),
            },
            Transport::Files(dir) => {
                let bytes = message.formatted();
                let dir = dir.clone();
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    std::fs::create_dir_all(&dir)?;
                    let path = dir.join(format!("{job_id:08}.eml"));
                    let partial = dir.join(format!(".{job_id:08}.eml.partial"));
                    std::fs::write(&partial, bytes)?;
                    std::fs::rename(partial, path)
                })
                .await
                .map_err(|e| TransportError::Transient(e.to_string()))?
                .map_err(|e| TransportError::Transient(format!("could not write to {}: {e}", settings.mail_dir.display())))
            }
        }
    }
}

/// The MIME message: multipart/alternative (text, then HTML), UTF-8, with
/// the job's Message-ID and the event's Date. Every header value is one line.
fn build(settings: &Settings, email: &Email, message_id: &str, created_at: i64) -> Result<Message, TransportError> {
    let permanent = |what: &str, e: &dyn std::fmt::Display| TransportError::Permanent(format!("{what}: {e}"));
    let from_address = settings.from_address.parse().map_err(|e| permanent("PAYLINKS_MAIL_FROM", &e))?;
    let from = Mailbox::new(Some(super::one_line(&email.from_name)), from_address);
    let to: Mailbox = email.to.parse().map_err(|e| permanent("recipient", &e))?;
    let mut builder = Message::builder();
    if let Some(url) = &email.unsubscribe {
        // RFC 8058: mail clients offer "unsubscribe" and POST to the URL
        // themselves. The URL is ours (ASCII, no spaces), never user input.
        let url = super::one_line(url);
        builder = builder
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe"), format!("<{url}>")))
            .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click".into()));
    }
    builder
        .from(from)
        .to(to)
        .subject(super::one_line(&email.subject))
        .message_id(Some(message_id.to_owned()))
        .date(UNIX_EPOCH + Duration::from_millis(created_at.max(0) as u64))
        .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
        .map_err(|e| permanent("message", &e))
}
