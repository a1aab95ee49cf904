//! Emails about the account itself: confirming the address given at sign-up
//! and resetting a forgotten password, each by a one-time link.
//!
//! A link's token is random (256 bits); the database keeps its SHA-256 in
//! `account_tokens` and, until the email is sent, the token sealed with the
//! server's secret key in the email job, so a copy of the database alone
//! opens no account. Redeeming is one conditional UPDATE: a token works once.

use super::auth::{self, token_hash};
use super::db::{now_ms, Db};
use super::secrets::SecretBox;
use crate::domain::email::EmailKind;
use crate::domain::fields::NewPassword;
use crate::domain::Locale;
use crate::error::{AppError, AppResult};
use sqlx::Row;

/// A confirmation link works for a week.
pub const VERIFY_TTL_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// A password-reset link works for an hour.
pub const RESET_TTL_MS: i64 = 60 * 60 * 1000;

/// The sealing context of a job's token: a sealed token copied to another
/// job does not open.
pub fn seal_context(dedupe_key: &str) -> String {
    format!("email-token:{dedupe_key}")
}

/// Issues a token for `kind` (an account email) to `email` and queues the
/// email carrying it, in one transaction.
pub async fn send(db: &Db, secrets: &SecretBox, account_id: i64, email: &str, locale: Locale, kind: EmailKind) -> AppResult<()> {
    let ttl = match kind {
        EmailKind::VerifyEmail => VERIFY_TTL_MS,
        EmailKind::PasswordReset => RESET_TTL_MS,
        _ => return Err(anyhow::anyhow!("{kind:?} is not an account email").into()),
    };
    let token = auth::random_token();
    let now = now_ms();
    let mut tx = db.begin().await?;
    let token_id: i64 = sqlx::query(
        "INSERT INTO account_tokens (account_id, purpose, token_hash, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(account_id)
    .bind(kind.as_str())
    .bind(token_hash(&token))
    .bind(email.to_owned())
    .bind(now)
    .bind(now + ttl)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let dedupe_key = format!("{}:{token_id}", kind.as_str());
    sqlx::query(
        "INSERT INTO email_jobs (dedupe_key, account_id, kind, created_at, next_attempt_at, recipient, locale, token_sealed) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
    )
    .bind(dedupe_key.clone())
    .bind(account_id)
    .bind(kind.as_str())
    .bind(now)
    .bind(email.to_owned())
    .bind(locale.code())
    .bind(secrets.seal(&token, &seal_context(&dedupe_key)))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Uses up `token` if it is a live one for `kind`: the account and the
/// address it was sent to. Exactly one caller wins a token.
async fn redeem(db: &Db, kind: EmailKind, token: &str) -> AppResult<(i64, String)> {
    let now = now_ms();
    let row = sqlx::query(
        "UPDATE account_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 RETURNING account_id, email",
    )
    .bind(now)
    .bind(token_hash(token.trim()))
    .bind(kind.as_str())
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::TokenInvalid)?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Confirms the address a verification link was sent to (if the account
/// still has it). A link opened again after it worked (mail scanners open
/// links first) still answers "confirmed".
pub async fn confirm_email(db: &Db, token: &str) -> AppResult<()> {
    match redeem(db, EmailKind::VerifyEmail, token).await {
        Ok((account_id, email)) => {
            sqlx::query("UPDATE accounts SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2 AND email = $3")
                .bind(now_ms())
                .bind(account_id)
                .bind(email)
                .execute(db.pool())
                .await?;
            Ok(())
        }
        Err(AppError::TokenInvalid) => {
            let confirmed = sqlx::query(
                "SELECT 1 FROM account_tokens t JOIN accounts a ON a.id = t.account_id \
                 WHERE t.token_hash = $1 AND t.purpose = 'verify_email' AND a.email = t.email AND a.email_verified_at IS NOT NULL",
            )
            .bind(token_hash(token.trim()))
            .fetch_optional(db.pool())
            .await?;
            confirmed.map(|_| ()).ok_or(AppError::TokenInvalid)
        }
        Err(e) => Err(e),
    }
}

/// Sets a new password from a reset link: the token is used up, every other
/// reset link of the account dies with it, every session ends, and the
/// address counts as confirmed (the link reached it). A refused password
/// leaves the token usable.
pub async fn reset_password(db: &Db, token: &str, password: &str) -> AppResult<i64> {
    let password = NewPassword::parse(password).map_err(|e| AppError::invalid("password", e))?;
    let hash = auth::hash_password(&password).await?;
    let (account_id, email) = redeem(db, EmailKind::PasswordReset, token).await?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    let changed = sqlx::query("UPDATE accounts SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $3 AND email = $4")
        .bind(hash)
        .bind(now)
        .bind(account_id)
        .bind(email)
        .execute(&mut *tx)
        .await?;
    if changed.rows_affected() != 1 {
        return Err(AppError::TokenInvalid); // the account's address changed since
    }
    sqlx::query("UPDATE account_tokens SET used_at = $1 WHERE account_id = $2 AND purpose = 'password_reset' AND used_at IS NULL")
        .bind(now)
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(account_id).execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!(account = account_id, "password reset by emailed link; every session ended");
    Ok(account_id)
}
