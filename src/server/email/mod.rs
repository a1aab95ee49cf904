//! Email to customers, sent from a durable outbox (`email_jobs`).
//!
//! The database queues a job in the transaction of the payment event it
//! reports (migration 0016's trigger), so every way a payment is written
//! queues its email and a crash loses none. A worker on every app server
//! leases due jobs (compare-and-set: one server sends each), renders them
//! and hands them to the transport: SMTP (`PAYLINKS_SMTP_URL`) or, with none
//! configured, `.eml` files under `data/mail/` that the dashboard's mailbox
//! shows. A job is never queued twice for one event; a send is retried with
//! back-off and never blocks or fails a payment.

pub mod notify;
mod outbox;
use outbox::Outcome;
mod render;
mod transport;

pub use outbox::{log, purge, queue_notice, test_html, LOG_RETENTION_MS};
pub use render::{escape_html, one_line, render, Email};
pub use transport::{Transport, TransportError};

use super::db::{now_ms, Db};
use super::secrets::SecretBox;
use std::sync::Arc;
use std::time::Duration;

/// The email settings, settled from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `smtp://host:port` (plain, for local sinks), `smtp://…?tls=required`
    /// (STARTTLS), `smtps://…` (TLS), with `user:password@` if needed;
    /// `None`: write `.eml` files into `mail_dir`.
    pub smtp_url: Option<String>,
    pub mail_dir: std::path::PathBuf,
    /// The sender's address (`no-reply@…`); its name is the merchant's.
    pub from_address: String,
    /// The right-hand side of every Message-ID (the sender's domain).
    pub message_id_domain: String,
    /// Before the first retry; each further one waits twice as long (at most 6 h).
    pub retry_base_ms: i64,
}

/// Tries per email before it is given up (about a day with the default base).
pub const MAX_TRIES: i64 = 12;

/// How long a worker holds a job it is sending (a crashed worker's job is
/// taken again after that).
const LEASE_MS: i64 = 120_000;

/// Runs the outbox worker until the process ends: every second, sends what is due.
pub fn spawn_worker(db: Db, settings: Arc<Settings>, public_url: String, secrets: SecretBox) -> anyhow::Result<()> {
    let transport = Arc::new(Transport::new(&settings)?);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut summaries_checked = 0;
        loop {
            ticker.tick().await;
            // Yesterday's summaries, looked for once a minute.
            if now_ms() - summaries_checked >= 60_000 {
                summaries_checked = now_ms();
                if let Err(e) = notify::queue_daily_summaries(&db, summaries_checked).await {
                    tracing::warn!(error = %e, "daily summaries could not be queued; trying again in a minute");
                }
            }
            if let Err(e) = tick(&db, &transport, &settings, &public_url, &secrets).await {
                tracing::warn!(error = %e, "email outbox round failed; retrying next second");
            }
        }
    });
    Ok(())
}

/// One round: every due job this server wins the lease of, sent one by one.
pub async fn tick(db: &Db, transport: &Transport, settings: &Settings, public_url: &str, secrets: &SecretBox) -> crate::error::AppResult<usize> {
    let now = now_ms();
    let mut sent = 0;
    for job in outbox::due(db, now, 20).await? {
        if !outbox::lease(db, job.id, now, now + LEASE_MS).await? {
            continue; // another server took it
        }
        let email = match render_job(db, public_url, secrets, &job).await {
            Ok(email) => email,
            Err(e) => {
                tracing::error!(job = job.id, error = %e, "email could not be rendered; given up");
                outbox::record(db, job.id, None, Outcome::GivenUp { error: &format!("could not be rendered: {e}") }).await?;
                continue;
            }
        };
        let message_id = format!("<{}.{}@{}>", job.dedupe_key.replace(':', "."), job.id, settings.message_id_domain);
        match transport.send(settings, &email, &message_id, job.created_at, job.id).await {
            Ok(()) => {
                outbox::record(db, job.id, Some(&email), Outcome::Sent { at: now_ms() }).await?;
                tracing::info!(job = job.id, kind = ?job.kind, "email sent");
                sent += 1;
            }
            Err(TransportError::Permanent(reason)) => {
                tracing::warn!(job = job.id, %reason, "email refused by the mail server; given up");
                outbox::record(db, job.id, Some(&email), Outcome::GivenUp { error: &reason }).await?;
            }
            Err(TransportError::Transient(reason)) if job.attempts + 1 >= MAX_TRIES => {
                tracing::warn!(job = job.id, %reason, "email not sent after every try; given up");
                outbox::record(db, job.id, Some(&email), Outcome::GivenUp { error: &reason }).await?;
            }
            Err(TransportError::Transient(reason)) => {
                let wait = (settings.retry_base_ms << job.attempts.min(20)).min(6 * 60 * 60 * 1000);
                tracing::info!(job = job.id, %reason, wait_ms = wait, "email not sent; trying again later");
                outbox::record(db, job.id, Some(&email), Outcome::Later { at: now_ms() + wait, error: &reason }).await?;
            }
        }
    }
    Ok(sent)
}

/// The email a job stands for: a customer email from its payment, a
/// merchant's from their account, an account email from its recipient,
/// language and sealed token.
async fn render_job(db: &Db, public_url: &str, secrets: &SecretBox, job: &outbox::Job) -> crate::error::AppResult<Email> {
    if job.kind.is_merchant() {
        return notify::render(db, public_url, secrets, job).await;
    }
    if !job.kind.is_account() {
        let payment = job.payment_id.ok_or_else(|| anyhow::anyhow!("no payment"))?;
        return render(db, public_url, job.kind, payment, job.event_id).await;
    }
    let to = job.recipient.as_deref().ok_or_else(|| anyhow::anyhow!("no recipient"))?;
    let locale = job.locale.as_deref().and_then(|l| l.parse().ok()).unwrap_or_default();
    let token = match (job.kind.carries_token(), &job.token_sealed) {
        (false, _) => None,
        (true, Some(sealed)) => {
            Some(secrets.open(sealed, &super::account_email::seal_context(&job.dedupe_key)).map_err(|e| anyhow::anyhow!("token cannot be opened: {e}"))?)
        }
        (true, None) => return Err(anyhow::anyhow!("no token").into()),
    };
    let new_address = super::account_email::render_facts(db, job.kind, outbox::about(job)).await?;
    render::render_account(public_url, job.kind, to, locale, token.as_deref(), new_address.as_deref())
}

/// `GET /mail/{id}`: one test-mode email's HTML for the dashboard mailbox's
/// frame. Email HTML needs inline styles, so it gets its own policy: no
/// script, no network, inline styles only, framed by our own pages alone.
pub async fn preview(
    axum::extract::State(state): axum::extract::State<super::AppState>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    headers: http::HeaderMap,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use http::header;
    let secure = state.config.public_url.starts_with("https://");
    let found = match super::auth::merchant_from_headers(&state.db, &headers, secure).await {
        Ok(merchant) => test_html(&state.db, &merchant, id).await,
        Err(refused) => Err(refused),
    };
    match found {
        Ok(Some(html)) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"),
                (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
                (header::CACHE_CONTROL, "private, no-store"),
            ],
            html,
        )
            .into_response(),
        Ok(None) => http::StatusCode::NOT_FOUND.into_response(),
        Err(e) => super::locale::refusal(&headers, &e),
    }
}
