//! Account settings, the live-mode application and its review.

use super::auth::{self, Account, Merchant, Reviewer};
use super::db::{now_ms, Db};
use super::throttle;
use crate::domain::application::{ApplicationForm, ApplicationView, ReviewItem, FIELDS};
use crate::domain::fields::{self, FieldError, NewPassword};
use crate::domain::{ApplicationStatus, Locale, Mode, Role};
use crate::error::{AppError, AppResult};
use sqlx::Row;

pub const REASON_MAX: usize = 2000;

pub async fn set_mode(db: &Db, account: &Merchant, mode: Mode) -> AppResult<()> {
    if mode == Mode::Live && account.application != ApplicationStatus::Approved {
        return Err(AppError::LiveNotApproved);
    }
    sqlx::query("UPDATE accounts SET mode = $1 WHERE id = $2").bind(mode.as_str()).bind(account.id).execute(db.pool()).await?;
    Ok(())
}

pub async fn set_time_zone(db: &Db, account_id: i64, zone: crate::domain::time_zone::TimeZone) -> AppResult<()> {
    // A daily summary's morning moves with the zone: worked out afresh.
    sqlx::query("UPDATE accounts SET time_zone = $1, daily_summary_due_at = NULL WHERE id = $2").bind(zone.iana()).bind(account_id).execute(db.pool()).await?;
    Ok(())
}

pub async fn set_locale(db: &Db, account_id: i64, locale: Locale) -> AppResult<()> {
    sqlx::query("UPDATE accounts SET locale = $1 WHERE id = $2").bind(locale.code()).bind(account_id).execute(db.pool()).await?;
    Ok(())
}

/// Checks the current password ([`check_password`]), then stores the new one.
pub async fn change_password(db: &Db, account: &Account, client: &str, current: &str, new: &str, confirm: &str) -> AppResult<()> {
    let new = NewPassword::parse(new).map_err(|e| AppError::invalid("new_password", e))?;
    if new.expose() != confirm {
        return Err(AppError::invalid("confirm_password", FieldError::Mismatch));
    }
    check_password(db, account, client, current, "current_password").await?;
    let hash = auth::hash_password(&new).await?;
    sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2").bind(hash).bind(account.id).execute(db.pool()).await?;
    Ok(())
}

/// Checks the signed-in account's password again before a sensitive change
/// (a wrong one is an error on `field`). Limited per client address, and
/// guesses back off per account: a stolen session must not become a
/// password oracle.
pub async fn check_password(db: &Db, account: &Account, client: &str, password: &str, field: &'static str) -> AppResult<()> {
    throttle::take(db, &format!("password:{client}"), throttle::PASSWORD_CHANGES_PER_ADDRESS).await?;
    let guesses = format!("password-account:{}", account.id);
    throttle::back_off(db, &guesses).await?;
    let stored = auth::credentials_by_email(db, &account.email).await?.map(|(_, hash)| hash);
    if !auth::verify_password(stored, password).await? {
        return Err(AppError::invalid(field, FieldError::WrongPassword));
    }
    throttle::clear(db, &guesses).await
}

/// Replaces an account's password hash and ends its sessions.
pub async fn set_password_hash(db: &Db, account_id: i64, hash: &str) -> AppResult<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2").bind(hash.to_owned()).bind(account_id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM sessions WHERE account_id = $1").bind(account_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// The account with this email and its language (what an account email needs).
pub async fn locale_by_email(db: &Db, email: &str) -> AppResult<Option<(i64, Locale)>> {
    let row = sqlx::query_as::<_, IdAndLocale>("SELECT id, locale FROM accounts WHERE email = $1").bind(email).fetch_optional(db.pool()).await?;
    Ok(row.map(|row| (row.id, row.locale)))
}

/// Counts an account's address as confirmed (accounts the operator makes).
pub async fn mark_email_verified(db: &Db, account_id: i64) -> AppResult<()> {
    sqlx::query("UPDATE accounts SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2")
        .bind(now_ms())
        .bind(account_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Sets the password of the account with this email (the operator's
/// `admin reset-password`) and ends its sessions; false if there is none.
pub async fn set_password_by_email(db: &Db, email: &str, password: &NewPassword) -> AppResult<bool> {
    let Some((id, _)) = account_id_by_email(db, email).await? else { return Ok(false) };
    let hash = auth::hash_password(password).await?;
    set_password_hash(db, id, &hash).await?;
    Ok(true)
}

const APPLICATION_COLUMNS: &str = "status, legal_name, representative, address, phone, website, products, \
     scta_seller, scta_address, scta_phone, scta_pricing, scta_fees, scta_payment, scta_delivery, scta_returns, \
     reviewer_reason, submitted_at";

/// A row of [`APPLICATION_COLUMNS`].
#[derive(sqlx::FromRow)]
struct ApplicationRow {
    #[sqlx(try_from = "String")]
    status: ApplicationStatus,
    #[sqlx(flatten)]
    form: ApplicationForm,
    reviewer_reason: Option<String>,
    submitted_at: Option<i64>,
}

impl From<ApplicationRow> for ApplicationView {
    fn from(row: ApplicationRow) -> ApplicationView {
        ApplicationView { status: row.status, form: row.form, reviewer_reason: row.reviewer_reason, submitted_at: row.submitted_at }
    }
}

/// An application in the reviewers' queue, with whose it is.
#[derive(sqlx::FromRow)]
struct ReviewRow {
    account_id: i64,
    business_name: String,
    email: String,
    #[sqlx(flatten)]
    application: ApplicationRow,
}

#[derive(sqlx::FromRow)]
struct IdAndRole {
    id: i64,
    #[sqlx(try_from = "String")]
    role: Role,
}

#[derive(sqlx::FromRow)]
struct IdAndLocale {
    id: i64,
    #[sqlx(try_from = "String")]
    locale: Locale,
}

pub async fn application(db: &Db, account_id: i64) -> AppResult<ApplicationView> {
    let row = sqlx::query_as::<_, ApplicationRow>(&format!("SELECT {APPLICATION_COLUMNS} FROM live_applications WHERE account_id = $1"))
        .bind(account_id)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(row) => Ok(row.into()),
        None => Ok(ApplicationView { status: ApplicationStatus::None, form: ApplicationForm::default(), reviewer_reason: None, submitted_at: None }),
    }
}

/// Saves the merchant's application as a draft, or submits it for review.
/// Refused while under review or once approved.
pub async fn save_application(db: &Db, account: &Merchant, form: &ApplicationForm, submit: bool) -> AppResult<ApplicationView> {
    if submit && !account.email_verified {
        return Err(AppError::EmailNotVerified);
    }
    let clean = if submit { form.clean_submission() } else { form.clean_draft() }.map_err(|(field, e)| AppError::invalid(field, e))?;
    let now = now_ms();
    let status = if submit { ApplicationStatus::Submitted } else { ApplicationStatus::Draft };
    let columns: Vec<&str> = FIELDS.iter().map(|(f, _, _)| *f).collect();
    let placeholders: Vec<String> = (0..columns.len()).map(|i| format!("${}", i + 5)).collect();
    let updates: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    // The WHERE on the upsert makes "not while under review / approved" atomic.
    let sql = format!(
        "INSERT INTO live_applications (account_id, status, submitted_at, updated_at, {cols}) \
         VALUES ($1, $2, $3, $4, {vals}) \
         ON CONFLICT (account_id) DO UPDATE SET status = excluded.status, \
           submitted_at = COALESCE(excluded.submitted_at, live_applications.submitted_at), \
           updated_at = excluded.updated_at, {updates} \
         WHERE live_applications.status IN ('draft', 'rejected')",
        cols = columns.join(", "),
        vals = placeholders.join(", "),
        updates = updates.join(", "),
    );
    let mut query = sqlx::query(&sql).bind(account.id).bind(status.as_str()).bind(if submit { Some(now) } else { None }).bind(now);
    for column in &columns {
        query = query.bind(clean.get(column).to_owned());
    }
    let result = query.execute(db.pool()).await?;
    if result.rows_affected() == 0 {
        return Err(AppError::Conflict("application is under review or approved".into()));
    }
    application(db, account.id).await
}

/// Submitted applications, oldest first.
pub async fn review_queue(db: &Db, _reviewer: &Reviewer) -> AppResult<Vec<ReviewItem>> {
    let rows = sqlx::query_as::<_, ReviewRow>(&format!(
        "SELECT a.id AS account_id, a.business_name, a.email, {APPLICATION_COLUMNS} \
         FROM live_applications l JOIN accounts a ON a.id = l.account_id \
         WHERE l.status = 'submitted' ORDER BY l.submitted_at, a.id LIMIT 200"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| ReviewItem { account_id: row.account_id, business_name: row.business_name, email: row.email, application: row.application.into() })
        .collect())
}

/// Approves or rejects a submitted application. A rejection needs a reason.
pub async fn review(db: &Db, reviewer_id: Option<i64>, account_id: i64, approve: bool, reason: &str) -> AppResult<()> {
    let reason = fields::optional_text(reason, REASON_MAX, true).map_err(|e| AppError::invalid("reason", e))?;
    if !approve && reason.is_none() {
        return Err(AppError::invalid("reason", FieldError::Required));
    }
    let status = if approve { ApplicationStatus::Approved } else { ApplicationStatus::Rejected };
    let now = now_ms();
    let mut tx = db.begin().await?;
    let result = sqlx::query(
        "UPDATE live_applications SET status = $1, reviewer_reason = $2, reviewed_at = $3, reviewed_by = $4, updated_at = $3 \
         WHERE account_id = $5 AND status = 'submitted'",
    )
    .bind(status.as_str())
    .bind(reason)
    .bind(now)
    .bind(reviewer_id)
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    if result.rows_affected() == 0 {
        // Unknown account, or not awaiting review: either way nothing to decide.
        return Err(AppError::NotFound);
    }
    // The merchant hears of the decision by email (sent by the outbox).
    super::email::queue_notice(&mut tx, account_id, None, crate::domain::email::EmailKind::ApplicationDecided, account_id, now).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn account_id_by_email(db: &Db, email: &str) -> AppResult<Option<(i64, Role)>> {
    let row = sqlx::query_as::<_, IdAndRole>("SELECT id, role FROM accounts WHERE email = $1").bind(email).fetch_optional(db.pool()).await?;
    Ok(row.map(|row| (row.id, row.role)))
}

/// A merchant's public 特定商取引法 page, once their application is approved.
pub async fn scta_disclosure(db: &Db, public_id: &str) -> AppResult<crate::domain::application::Disclosure> {
    use crate::domain::application::{Disclosure, DISCLOSED};
    let row = sqlx::query(&format!(
        "SELECT a.business_name, {} FROM accounts a JOIN live_applications l ON l.account_id = a.id \
         WHERE a.public_id = $1 AND l.status = 'approved'",
        DISCLOSED.join(", ")
    ))
    .bind(public_id.to_owned())
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let items = DISCLOSED.iter().map(|field| Ok((field.to_string(), row.try_get::<String, _>(*field)?))).collect::<Result<_, sqlx::Error>>()?;
    Ok(Disclosure { business_name: row.try_get("business_name")?, items })
}
