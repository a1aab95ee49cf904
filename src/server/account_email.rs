//! Emails about the account itself: confirming the address given at sign-up,
//! resetting a forgotten password and moving the account to a new address,
//! each by a one-time link.
//!
//! A link's token is random (256 bits); the database keeps its SHA-256 in
//! `account_tokens` and, until the email is sent, the token sealed with the
//! server's secret key in the email job, so a copy of the database alone
//! opens no account. Redeeming is one conditional UPDATE: a token works once.

use super::auth::{self, token_hash, Account};
use super::db::{now_ms, Db};
use super::secrets::SecretBox;
use crate::domain::email::EmailKind;
use crate::domain::fields::{Email, FieldError, NewPassword};
use crate::domain::Locale;
use crate::error::{AppError, AppResult};

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
        _ => return Err(anyhow::anyhow!("{kind:?} is not sent on its own").into()),
    };
    let mut tx = db.begin().await?;
    let letter = Letter { account_id, kind, to: email, locale, at: now_ms() };
    issue(&mut tx, secrets, &letter, ttl, None).await?;
    tx.commit().await?;
    Ok(())
}

/// One account email: who it is to, in which language, when.
struct Letter<'a> {
    account_id: i64,
    kind: EmailKind,
    to: &'a str,
    locale: Locale,
    at: i64,
}

/// Inserts a token for `letter` (bound to its address) and queues the email
/// carrying it, in the caller's transaction; the token's id. The job's key is
/// `kind:token id` unless `about` names another row (see [`render_facts`]).
async fn issue(tx: &mut sqlx::AnyConnection, secrets: &SecretBox, letter: &Letter<'_>, ttl: i64, about: Option<i64>) -> AppResult<i64> {
    let token = auth::random_token();
    let token_id: i64 = sqlx::query_scalar(
        "INSERT INTO account_tokens (account_id, purpose, token_hash, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(letter.account_id)
    .bind(letter.kind.as_str())
    .bind(token_hash(&token))
    .bind(letter.to.to_owned())
    .bind(letter.at)
    .bind(letter.at + ttl)
    .fetch_one(&mut *tx)
    .await?;
    queue(tx, letter, about.unwrap_or(token_id), Some((secrets, &token))).await?;
    Ok(token_id)
}

/// Queues `letter` as job `kind:about`, with its token sealed to that key.
async fn queue(tx: &mut sqlx::AnyConnection, letter: &Letter<'_>, about: i64, token: Option<(&SecretBox, &str)>) -> AppResult<()> {
    let dedupe_key = format!("{}:{about}", letter.kind.as_str());
    let sealed = token.map(|(secrets, token)| secrets.seal(token, &seal_context(&dedupe_key)));
    sqlx::query(
        "INSERT INTO email_jobs (dedupe_key, account_id, kind, created_at, next_attempt_at, recipient, locale, token_sealed) \
         VALUES ($1, $2, $3, $4, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(dedupe_key)
    .bind(letter.account_id)
    .bind(letter.kind.as_str())
    .bind(letter.at)
    .bind(letter.to.to_owned())
    .bind(letter.locale.code())
    .bind(sealed)
    .execute(tx)
    .await?;
    Ok(())
}

/// Tells the holder of `email` that someone signed up with it again (the
/// sign-up form itself answers as for a new address).
pub async fn tell_of_sign_up(db: &Db, account_id: i64, email: &str, locale: Locale) -> AppResult<()> {
    let at = now_ms();
    let letter = Letter { account_id, kind: EmailKind::SignUpAttempt, to: email, locale, at };
    let mut conn = db.pool().acquire().await?;
    queue(&mut conn, &letter, at, None).await
}

/// What an account email says beyond its link: for the emails about an
/// address change, the new address (the job is about the confirmation
/// token, `about`, which is bound to it).
pub async fn render_facts(db: &Db, kind: EmailKind, about: Option<i64>) -> AppResult<Option<String>> {
    if !matches!(kind, EmailKind::EmailChangeRequested | EmailKind::EmailChanged) {
        return Ok(None);
    }
    let token_id = about.ok_or_else(|| anyhow::anyhow!("{kind:?} names no token"))?;
    let email =
        sqlx::query_scalar("SELECT email FROM account_tokens WHERE id = $1 AND purpose = 'email_change_confirm'").bind(token_id).fetch_one(db.pool()).await?;
    Ok(Some(email))
}

/// Uses up `token` if it is a live one for `kind`: the token's id, its
/// account and the address it was sent to. Exactly one caller wins a token.
async fn redeem_in(tx: &mut sqlx::AnyConnection, kind: EmailKind, token: &str, now: i64) -> AppResult<(i64, i64, String)> {
    let redeemed = sqlx::query_as(
        "UPDATE account_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 RETURNING id, account_id, email",
    )
    .bind(now)
    .bind(token_hash(token.trim()))
    .bind(kind.as_str())
    .fetch_optional(tx)
    .await?
    .ok_or(AppError::TokenInvalid)?;
    Ok(redeemed)
}

async fn redeem(db: &Db, kind: EmailKind, token: &str) -> AppResult<(i64, String)> {
    let mut conn = db.pool().acquire().await?;
    let (_, account_id, email) = redeem_in(&mut conn, kind, token, now_ms()).await?;
    Ok((account_id, email))
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

/// A change of address waits this long for its confirmation (and can be
/// cancelled from the old address meanwhile).
pub const CHANGE_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// Asks to move the signed-in account to `new_email`: the current password
/// is checked (as for a password change: a stolen session must not move the
/// account away), then the new
/// address gets a confirmation link and the current one a notice with a
/// link that cancels. Nothing changes until the confirmation link is used.
/// Whether another account has the new address is not told here (only to
/// whoever opens the link sent to it). The new address as understood.
pub async fn request_change(db: &Db, secrets: &SecretBox, account: &Account, client: &str, password: &str, new_email: &str) -> AppResult<Email> {
    let new_email = Email::parse(new_email).map_err(|e| AppError::invalid("new_email", e))?;
    if new_email.as_str() == account.email {
        return Err(AppError::invalid("new_email", FieldError::Unchanged));
    }
    super::accounts::check_password(db, account, client, password, "password").await?;
    let now = now_ms();
    let mut tx = db.begin().await?;
    // One change at a time: a new one voids the links of the one before.
    void_change_links(&mut tx, account.id, now).await?;
    let confirm = Letter { account_id: account.id, kind: EmailKind::EmailChangeConfirm, to: new_email.as_str(), locale: account.locale, at: now };
    let confirm_id = issue(&mut tx, secrets, &confirm, CHANGE_TTL_MS, None).await?;
    let notice = Letter { kind: EmailKind::EmailChangeRequested, to: &account.email, ..confirm };
    issue(&mut tx, secrets, &notice, CHANGE_TTL_MS, Some(confirm_id)).await?;
    tx.commit().await?;
    tracing::info!(account = account.id, "email address change asked for; confirmation link sent to the new address");
    Ok(new_email)
}

/// Uses every unused link of an address change of `account_id`.
async fn void_change_links(tx: &mut sqlx::AnyConnection, account_id: i64, now: i64) -> AppResult<()> {
    sqlx::query(
        "UPDATE account_tokens SET used_at = $1 \
         WHERE account_id = $2 AND purpose IN ('email_change_confirm', 'email_change_requested') AND used_at IS NULL",
    )
    .bind(now)
    .bind(account_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// The new address's link: the account takes the address (confirmed, since
/// the link reached it), the old address is told, the cancel link dies.
/// Sessions go on. Refused if another account took the address meanwhile.
pub async fn confirm_change(db: &Db, token: &str) -> AppResult<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let (token_id, account_id, new_email) = redeem_in(&mut tx, EmailKind::EmailChangeConfirm, token, now).await?;
    let (old_email, locale): (String, String) = sqlx::query_as("SELECT email, locale FROM accounts WHERE id = $1").bind(account_id).fetch_one(&mut *tx).await?;
    let locale = locale.parse().unwrap_or_default();
    let moved = sqlx::query("UPDATE accounts SET email = $1, email_verified_at = $2 WHERE id = $3")
        .bind(new_email.clone())
        .bind(now)
        .bind(account_id)
        .execute(&mut *tx)
        .await;
    match moved {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(AppError::EmailTaken),
        Err(e) => return Err(e.into()),
    }
    void_change_links(&mut tx, account_id, now).await?;
    let told = Letter { account_id, kind: EmailKind::EmailChanged, to: &old_email, locale, at: now };
    queue(&mut tx, &told, token_id, None).await?;
    tx.commit().await?;
    tracing::info!(account = account_id, "email address changed by the emailed link");
    Ok(())
}

/// The old address's link: the change is called off, and every session of
/// the account ends (whoever asked was signed in and knew the password).
pub async fn cancel_change(db: &Db, token: &str) -> AppResult<()> {
    let now = now_ms();
    let mut tx = db.begin().await?;
    let (_, account_id, _) = redeem_in(&mut tx, EmailKind::EmailChangeRequested, token, now).await?;
    void_change_links(&mut tx, account_id, now).await?;
    sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(account_id).execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!(account = account_id, "email address change cancelled from the old address; every session ended");
    Ok(())
}
