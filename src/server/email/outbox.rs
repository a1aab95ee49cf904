//! The `email_jobs` table: due jobs, leases, outcomes and the merchant's log.

use super::Email;
use crate::domain::email::{EmailKind, EmailLogEntry};
use crate::domain::Mode;
use crate::error::AppResult;
use crate::server::auth::Merchant;
use crate::server::db::Db;

#[derive(sqlx::FromRow)]
pub(super) struct Job {
    pub id: i64,
    pub dedupe_key: String,
    pub account_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: EmailKind,
    /// Customer emails: the payment they are about.
    pub payment_id: Option<i64>,
    pub event_id: Option<i64>,
    /// Account emails: where and in which language, and the sealed token.
    pub recipient: Option<String>,
    pub locale: Option<String>,
    pub token_sealed: Option<String>,
    pub created_at: i64,
    /// Tries before this one.
    pub attempts: i64,
}

/// Jobs due at `now` that no worker holds, oldest first.
pub(super) async fn due(db: &Db, now: i64, limit: i64) -> AppResult<Vec<Job>> {
    Ok(sqlx::query_as::<_, Job>(
        "SELECT id, dedupe_key, account_id, kind, payment_id, event_id, recipient, locale, token_sealed, created_at, attempts FROM email_jobs \
         WHERE next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// Queues a notice to the merchant about `about` (a row id: the account for
/// the live-mode decision, the endpoint for a webhook turned off) in the
/// caller's transaction: it is sent if and only if what it reports is
/// committed. `mode`: the mode it belongs to, `None` for the whole account.
pub async fn queue_notice(tx: &mut sqlx::AnyConnection, account_id: i64, mode: Option<Mode>, kind: EmailKind, about: i64, at: i64) -> AppResult<()> {
    sqlx::query(
        "INSERT INTO email_jobs (dedupe_key, account_id, mode, kind, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $5) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(format!("{}:{about}:{at}", kind.as_str()))
    .bind(account_id)
    .bind(mode.map(Mode::as_str))
    .bind(kind.as_str())
    .bind(at)
    .execute(tx)
    .await?;
    Ok(())
}

/// The row a job is about: the id after its kind in its key (`kind:id…`),
/// as [`queue_notice`] and the account emails write it.
pub(super) fn about(job: &Job) -> Option<i64> {
    job.dedupe_key.split(':').nth(1)?.parse().ok()
}

/// Takes job `id` until `until` if it is still due and free: exactly one
/// server wins.
pub(super) async fn lease(db: &Db, id: i64, now: i64, until: i64) -> AppResult<bool> {
    let taken = sqlx::query("UPDATE email_jobs SET lease_until = $1 WHERE id = $2 AND next_attempt_at <= $3 AND (lease_until IS NULL OR lease_until < $3)")
        .bind(until)
        .bind(id)
        .bind(now)
        .execute(db.pool())
        .await?;
    Ok(taken.rows_affected() == 1)
}

/// What became of one try.
pub(super) enum Outcome<'a> {
    Sent { at: i64 },
    Later { at: i64, error: &'a str },
    GivenUp { error: &'a str },
}

/// Records a try and the email as rendered (kept for the log; a job that
/// could not be rendered keeps what it had). An account email's bodies hold
/// its one-time link: they are never kept, and its sealed
/// token is dropped once the job is done.
pub(super) async fn record(db: &Db, id: i64, email: Option<&Email>, outcome: Outcome<'_>) -> AppResult<()> {
    let (state, sent_at, next_attempt_at, error) = match outcome {
        Outcome::Sent { at } => ("sent", Some(at), None, None),
        Outcome::Later { at, error } => ("pending", None, Some(at), Some(error)),
        Outcome::GivenUp { error } => ("failed", None, None, Some(error)),
    };
    sqlx::query(&format!(
        "UPDATE email_jobs SET state = $1, sent_at = $2, next_attempt_at = $3, last_error = $4, attempts = attempts + 1, \
         lease_until = NULL, recipient = COALESCE($5, recipient), subject = COALESCE($6, subject), \
         text_body = CASE WHEN kind NOT IN {tokens} THEN COALESCE($7, text_body) END, \
         html_body = CASE WHEN kind NOT IN {tokens} THEN COALESCE($8, html_body) END, \
         token_sealed = CASE WHEN $1 = 'pending' THEN token_sealed END WHERE id = $9",
        tokens = kinds_sql(EmailKind::is_account),
    ))
    .bind(state)
    .bind(sent_at)
    .bind(next_attempt_at)
    .bind(error)
    .bind(email.map(|e| e.to.clone()))
    .bind(email.map(|e| e.subject.clone()))
    .bind(email.map(|e| e.text.clone()))
    .bind(email.map(|e| e.html.clone()))
    .bind(id)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// The kinds that `keep`, as an SQL list: `('verify_email', 'password_reset')`.
fn kinds_sql(keep: fn(EmailKind) -> bool) -> String {
    let kinds: Vec<String> = EmailKind::ALL.into_iter().filter(|k| keep(*k)).map(|k| format!("'{}'", k.as_str())).collect();
    format!("({})", kinds.join(", "))
}

/// The merchant's latest emails in their current mode, with the notices
/// about their whole account (bodies in test mode only).
pub async fn log(db: &Db, merchant: &Merchant, limit: i64) -> AppResult<Vec<EmailLogEntry>> {
    // What was sent is shown (and read) in test mode only.
    let bodies = if merchant.mode == Mode::Test { "e.text_body, e.html_body" } else { "CAST(NULL AS TEXT) AS text_body, CAST(NULL AS TEXT) AS html_body" };
    Ok(sqlx::query_as::<_, EmailLogEntry>(&format!(
        "SELECT e.id, e.kind, e.state, e.created_at, e.sent_at, e.attempts, e.last_error, e.recipient, e.subject, \
         {bodies}, p.public_id AS payment_public_id FROM email_jobs e LEFT JOIN payments p ON p.id = e.payment_id \
         WHERE e.account_id = $1 AND (e.mode = $2 OR (e.mode IS NULL AND e.kind IN {notices})) ORDER BY e.id DESC LIMIT $3",
        notices = kinds_sql(EmailKind::is_account_notice),
    ))
    .bind(merchant.id)
    .bind(merchant.mode.as_str())
    .bind(limit)
    .fetch_all(db.pool())
    .await?)
}

/// The HTML of one of the merchant's test-mode emails (the mailbox shows it
/// in a frame); live emails' bodies are not shown.
pub async fn test_html(db: &Db, merchant: &Merchant, id: i64) -> AppResult<Option<String>> {
    if merchant.mode != Mode::Test {
        return Ok(None);
    }
    let html = sqlx::query_scalar::<_, Option<String>>(&format!(
        "SELECT html_body FROM email_jobs WHERE id = $1 AND account_id = $2 AND (mode = $3 OR (mode IS NULL AND kind IN {notices}))",
        notices = kinds_sql(EmailKind::is_account_notice),
    ))
    .bind(id)
    .bind(merchant.id)
    .bind(Mode::Test.as_str())
    .fetch_optional(db.pool())
    .await?;
    Ok(html.flatten())
}

/// How long the log keeps an email (with the customer's address and what it
/// said) once it is sent or given up.
pub const LOG_RETENTION_MS: i64 = 90 * 24 * 60 * 60 * 1000;

/// Forgets emails past [`LOG_RETENTION_MS`] that are no longer due.
pub async fn purge(db: &Db, now: i64) -> AppResult<u64> {
    let done = sqlx::query("DELETE FROM email_jobs WHERE created_at < $1 AND next_attempt_at IS NULL").bind(now - LOG_RETENTION_MS).execute(db.pool()).await?;
    Ok(done.rows_affected())
}
