//! Emails to merchants about their business, in the account's language: a
//! payment captured (unless the link is muted or the account chose a daily
//! summary or nothing), a chargeback, the live-mode application's decision,
//! and the summary of the day before. Payment notices are queued by the
//! database with the event (migration 0018), the decision by `review` in its
//! own transaction, the summaries by [`queue_daily_summaries`]; the outbox
//! worker sends them like every other email.
//!
//! Notifications a merchant can do without carry `List-Unsubscribe` (RFC
//! 8058 one-click): a URL signed with the server key that turns that one
//! thing off, with no sign-in.

use super::render::Body;
use super::Email;
use crate::domain::email::{EmailKind, PaymentEmails, Unsubscribe};
use crate::domain::money::{format_minor, Currency};
use crate::domain::time_zone::TimeZone;
use crate::domain::{ApplicationStatus, Locale, Mode};
use crate::error::{AppError, AppResult};
use crate::i18n::{tr, tr_args};
use crate::server::db::Db;
use crate::server::payments;
use crate::server::secrets::SecretBox;
use fluent_bundle::FluentValue;

/// The summary of a day is sent from this local hour of the next day.
pub const SUMMARY_HOUR: u32 = 8;

const HOUR_MS: i64 = 60 * 60 * 1000;

/// The account a notification goes to.
struct Merchant {
    email: String,
    locale: Locale,
    time_zone: TimeZone,
}

async fn merchant(db: &Db, account_id: i64) -> AppResult<Merchant> {
    let (email, locale, time_zone): (String, String, String) =
        sqlx::query_as("SELECT email, locale, time_zone FROM accounts WHERE id = $1").bind(account_id).fetch_one(db.pool()).await?;
    // A notification still goes out in the defaults if these are unreadable.
    Ok(Merchant { email, locale: locale.parse().unwrap_or_default(), time_zone: TimeZone::parse(&time_zone).unwrap_or_default() })
}

/// Renders a merchant notification (`kind.is_merchant()`).
pub(super) async fn render(db: &Db, public_url: &str, secrets: &SecretBox, job: &super::outbox::Job) -> AppResult<Email> {
    let to = merchant(db, job.account_id).await?;
    let locale = to.locale;
    let when = |ms: i64| format!("{} ({})", to.time_zone.display(ms, false), tr(locale, &to.time_zone.message_id()));
    let mut body = Body::new(locale);
    let mut unsubscribe = None;
    let subject = match job.kind {
        EmailKind::PaymentCaptured | EmailKind::ChargebackNotice => {
            let payment = payments::by_id(db, job.payment_id.ok_or(AppError::NotFound)?).await?;
            let view = &payment.view;
            let amount = format_minor(view.amount, view.currency, locale);
            let args = [("amount", FluentValue::from(amount.clone())), ("product", view.link_name.clone().into())];
            let (subject, intro) = if job.kind == EmailKind::PaymentCaptured {
                unsubscribe = Some(Unsubscribe::Link(view.link_id));
                (tr_args(locale, "notify-captured-subject", &args), tr_args(locale, "notify-captured-intro", &args))
            } else {
                (tr_args(locale, "notify-chargeback-subject", &args), tr_args(locale, "notify-chargeback-intro", &args))
            };
            body.para(intro);
            body.field("email-field-product", &view.link_name);
            body.field("email-field-amount", &amount);
            body.field("notify-field-method", &tr(locale, &format!("method-{}", view.method.as_str())));
            if let Some(email) = &view.customer_email {
                body.field("notify-field-customer", email);
            }
            body.field("email-field-date", &when(view.captured_at.unwrap_or(view.created_at)));
            body.field("email-field-payment-id", &view.public_id);
            if job.kind == EmailKind::ChargebackNotice {
                body.para(tr(locale, "notify-chargeback-next"));
            }
            body.link(tr(locale, "notify-open-payment"), &format!("{public_url}/dashboard/transactions/{}", view.public_id));
            with_mode(locale, view.mode, subject)
        }
        EmailKind::ApplicationDecided => {
            let (status, reviewer_reason): (String, Option<String>) =
                sqlx::query_as("SELECT status, reviewer_reason FROM live_applications WHERE account_id = $1").bind(job.account_id).fetch_one(db.pool()).await?;
            let approved = status == ApplicationStatus::Approved.as_str();
            let prefix = if approved { "notify-approved" } else { "notify-rejected" };
            body.para(tr(locale, &format!("{prefix}-intro")));
            if let (false, Some(reason)) = (approved, reviewer_reason) {
                body.field("notify-field-reason", &reason);
            }
            body.link(tr(locale, &format!("{prefix}-action")), &format!("{public_url}/dashboard/application"));
            tr(locale, &format!("{prefix}-subject"))
        }
        EmailKind::DailySummary => {
            let date = job.dedupe_key.rsplit(':').next().unwrap_or_default();
            let start = to.time_zone.to_utc(&format!("{date}T00:00")).ok_or(AppError::NotFound)?;
            let end = day_after(to.time_zone, start);
            summary(db, job.account_id, start, end, locale, &mut body).await?;
            body.link(tr(locale, "notify-open-dashboard"), &format!("{public_url}/dashboard/transactions"));
            unsubscribe = Some(Unsubscribe::DailySummary);
            tr_args(locale, "notify-summary-subject", &[("date", date.to_owned().into())])
        }
        EmailKind::WebhookDisabled => {
            let endpoint = super::outbox::about(job).ok_or(AppError::NotFound)?;
            let DisabledEndpointRow { url, mode, last_error } = sqlx::query_as(
                "SELECT e.url, e.mode, (SELECT COALESCE(d.last_error, '') FROM webhook_deliveries d \
                 WHERE d.endpoint_id = e.id AND d.status = 'failed' ORDER BY d.id DESC LIMIT 1) AS last_error \
                 FROM webhook_endpoints e WHERE e.id = $1 AND e.account_id = $2",
            )
            .bind(endpoint)
            .bind(job.account_id)
            .fetch_one(db.pool())
            .await?;
            body.para(tr(locale, "notify-webhook-off-intro"));
            body.field("notify-field-endpoint", &url);
            if let Some(error) = last_error.filter(|e| !e.is_empty()) {
                body.field("notify-field-last-answer", &error);
            }
            body.field("email-field-date", &when(job.created_at));
            body.link(tr(locale, "notify-webhook-off-action"), &format!("{public_url}/dashboard/settings/webhooks"));
            with_mode(locale, mode, tr_args(locale, "notify-webhook-off-subject", &[("url", url.into())]))
        }
        _ => return Err(anyhow::anyhow!("{:?} is not a merchant notification", job.kind).into()),
    };
    let unsubscribe_url = unsubscribe.map(|topic| format!("{public_url}/unsubscribe?t={}", token(secrets, job.account_id, topic)));
    let footer = match (unsubscribe, &unsubscribe_url) {
        (Some(Unsubscribe::Link(_)), Some(url)) => tr_args(locale, "notify-footer-link", &[("url", url.clone().into())]),
        (Some(Unsubscribe::DailySummary), Some(url)) => tr_args(locale, "notify-footer-summary", &[("url", url.clone().into())]),
        _ => tr(locale, "notify-footer"),
    };
    body.footer(footer);
    let (text, html) = body.finish(&subject);
    Ok(Email { to: to.email, from_name: "Paylinks".into(), subject: super::one_line(&subject), text, html, unsubscribe: unsubscribe_url })
}

/// A test-mode notification says so in its subject.
fn with_mode(locale: Locale, mode: Mode, subject: String) -> String {
    match mode {
        Mode::Test => format!("{} {subject}", tr(locale, "notify-test-prefix")),
        Mode::Live => subject,
    }
}

#[derive(sqlx::FromRow)]
struct DisabledEndpointRow {
    url: String,
    #[sqlx(try_from = "String")]
    mode: Mode,
    last_error: Option<String>,
}

/// One line of a daily summary: a mode and currency's count and total.
#[derive(sqlx::FromRow)]
struct SummaryRow {
    #[sqlx(try_from = "String")]
    mode: Mode,
    #[sqlx(try_from = "String")]
    currency: Currency,
    n: i64,
    total: i64,
}

/// 00:00 of the local day after the one starting at `start` (23 to 25 hours later).
fn day_after(zone: TimeZone, start: i64) -> i64 {
    let next = zone.date(start + 26 * HOUR_MS);
    zone.to_utc(&format!("{next}T00:00")).unwrap_or(start + 24 * HOUR_MS)
}

/// The day's captures and refunds, per mode (live first) and currency.
async fn summary(db: &Db, account_id: i64, start: i64, end: i64, locale: Locale, body: &mut Body) -> AppResult<()> {
    let captured = sqlx::query_as::<_, SummaryRow>(
        "SELECT mode, currency, COUNT(*) AS n, CAST(SUM(amount) AS BIGINT) AS total FROM payments \
         WHERE account_id = $1 AND captured_at >= $2 AND captured_at < $3 GROUP BY mode, currency ORDER BY mode, currency",
    )
    .bind(account_id)
    .bind(start)
    .bind(end)
    .fetch_all(db.pool())
    .await?;
    let refunded = sqlx::query_as::<_, SummaryRow>(
        "SELECT p.mode, p.currency, COUNT(*) AS n, CAST(SUM(COALESCE(ev.amount, p.amount)) AS BIGINT) AS total FROM payment_events ev \
         JOIN payments p ON p.id = ev.payment_id WHERE p.account_id = $1 AND ev.kind = 'refunded' \
         AND ev.created_at >= $2 AND ev.created_at < $3 GROUP BY p.mode, p.currency ORDER BY p.mode, p.currency",
    )
    .bind(account_id)
    .bind(start)
    .bind(end)
    .fetch_all(db.pool())
    .await?;
    body.para(tr(locale, "notify-summary-intro"));
    // "live" sorts before "test".
    for (rows, label) in [(&captured, "notify-summary-captured"), (&refunded, "notify-summary-refunded")] {
        for &SummaryRow { mode, currency, n: count, total } in rows.iter() {
            let mode_name = tr(locale, if mode == Mode::Live { "notify-mode-live" } else { "notify-mode-test" });
            let value = tr_args(locale, "notify-summary-value", &[("count", count.into()), ("amount", format_minor(total, currency, locale).into())]);
            body.field_text(&format!("{} · {mode_name} · {}", tr(locale, label), currency.code()), &value);
        }
    }
    if captured.is_empty() && refunded.is_empty() {
        body.para(tr(locale, "notify-summary-quiet"));
    }
    Ok(())
}

/// Queues yesterday's summary for every account that asked for one, once
/// its local morning has come and if it sold anything that day. Safe to run
/// from every app server at once: a summary's key is its account and day.
/// Each account keeps when its next summary is due, so a round reads only
/// the accounts whose morning has come (not every account each minute).
pub async fn queue_daily_summaries(db: &Db, now: i64) -> AppResult<u64> {
    let accounts: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, time_zone FROM accounts WHERE payment_emails = $1 AND (daily_summary_due_at IS NULL OR daily_summary_due_at <= $2)")
            .bind(PaymentEmails::Daily.as_str())
            .bind(now)
            .fetch_all(db.pool())
            .await?;
    let mut queued = 0;
    for (account_id, time_zone) in accounts {
        let zone = TimeZone::parse(&time_zone).unwrap_or_default();
        let today = zone.date(now);
        let Some(today_start) = zone.to_utc(&format!("{today}T00:00")) else { continue };
        let morning = |date: &str| zone.to_utc(&format!("{date}T{SUMMARY_HOUR:02}:00"));
        match morning(&today) {
            Some(due) if now < due => {
                summary_due_at(db, account_id, due).await?;
                continue;
            }
            // A morning the clock skips (a DST gap): look again in an hour.
            None => {
                summary_due_at(db, account_id, now + HOUR_MS).await?;
                continue;
            }
            Some(_) => {}
        }
        let yesterday = zone.date(today_start - HOUR_MS);
        let Some(start) = zone.to_utc(&format!("{yesterday}T00:00")) else { continue };
        let done = sqlx::query(
            "INSERT INTO email_jobs (dedupe_key, account_id, kind, created_at, next_attempt_at) \
             SELECT $1, $2, $3, $4, $4 WHERE EXISTS (SELECT 1 FROM payments WHERE account_id = $2 AND captured_at >= $5 AND captured_at < $6) \
             ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(format!("{}:{account_id}:{yesterday}", EmailKind::DailySummary.as_str()))
        .bind(account_id)
        .bind(EmailKind::DailySummary.as_str())
        .bind(now)
        .bind(start)
        .bind(today_start)
        .execute(db.pool())
        .await?;
        queued += done.rows_affected();
        let tomorrow = zone.date(today_start + 30 * HOUR_MS);
        summary_due_at(db, account_id, morning(&tomorrow).unwrap_or(now + HOUR_MS)).await?;
    }
    Ok(queued)
}

/// Sets when the account's next summary is due; never earlier than already
/// set (two servers may handle the same account in one round).
async fn summary_due_at(db: &Db, account_id: i64, due: i64) -> AppResult<()> {
    sqlx::query("UPDATE accounts SET daily_summary_due_at = $1 WHERE id = $2 AND (daily_summary_due_at IS NULL OR daily_summary_due_at < $1)")
        .bind(due)
        .bind(account_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

const UNSUBSCRIBE_CONTEXT: &str = "unsubscribe";

/// `{account}.{topic}.{tag}`: what to turn off, for whom, signed.
pub fn token(secrets: &SecretBox, account_id: i64, topic: Unsubscribe) -> String {
    let message = format!("{account_id}.{}", topic.as_topic());
    let tag = secrets.mac(&message, UNSUBSCRIBE_CONTEXT);
    format!("{message}.{tag}")
}

/// The account and topic a token names, if this server signed it.
pub fn read_token(secrets: &SecretBox, token: &str) -> Option<(i64, Unsubscribe)> {
    let (message, tag) = token.rsplit_once('.')?;
    if !secrets.verify_mac(message, UNSUBSCRIBE_CONTEXT, tag) {
        return None;
    }
    let (account, topic) = message.split_once('.')?;
    Some((account.parse().ok()?, Unsubscribe::parse_topic(topic)?))
}

/// What an unsubscribe link is about, for its page: the account's language
/// and, for a link, its name.
pub struct UnsubscribeTarget {
    pub account_id: i64,
    pub topic: Unsubscribe,
    pub locale: Locale,
    pub link_name: Option<String>,
}

/// Reads a token; `None` if it is not ours or names what no longer exists.
pub async fn unsubscribe_target(db: &Db, secrets: &SecretBox, token: &str) -> AppResult<Option<UnsubscribeTarget>> {
    let Some((account_id, topic)) = read_token(secrets, token) else { return Ok(None) };
    let Some(locale) = sqlx::query_scalar::<_, String>("SELECT locale FROM accounts WHERE id = $1").bind(account_id).fetch_optional(db.pool()).await? else {
        return Ok(None);
    };
    let link_name = match topic {
        Unsubscribe::Link(link) => {
            let name = sqlx::query_scalar::<_, String>("SELECT name FROM links WHERE id = $1 AND account_id = $2")
                .bind(link)
                .bind(account_id)
                .fetch_optional(db.pool())
                .await?;
            match name {
                Some(name) => Some(name),
                None => return Ok(None),
            }
        }
        Unsubscribe::DailySummary => None,
    };
    Ok(Some(UnsubscribeTarget { account_id, topic, locale: locale.parse().unwrap_or_default(), link_name }))
}

/// Turns off what the target names (doing it twice changes nothing).
pub async fn apply_unsubscribe(db: &Db, target: &UnsubscribeTarget) -> AppResult<()> {
    match target.topic {
        Unsubscribe::Link(link) => set_link_payment_emails(db, target.account_id, link, None, false).await,
        Unsubscribe::DailySummary => {
            sqlx::query("UPDATE accounts SET payment_emails = $1 WHERE id = $2 AND payment_emails = $3")
                .bind(PaymentEmails::Off.as_str())
                .bind(target.account_id)
                .bind(PaymentEmails::Daily.as_str())
                .execute(db.pool())
                .await?;
            Ok(())
        }
    }
}

pub async fn payment_emails(db: &Db, account_id: i64) -> AppResult<PaymentEmails> {
    let value = sqlx::query_scalar::<_, String>("SELECT payment_emails FROM accounts WHERE id = $1").bind(account_id).fetch_one(db.pool()).await?;
    PaymentEmails::parse(&value).ok_or(AppError::Internal)
}

pub async fn set_payment_emails(db: &Db, account_id: i64, choice: PaymentEmails) -> AppResult<()> {
    // The next summary's time is worked out afresh.
    sqlx::query("UPDATE accounts SET payment_emails = $1, daily_summary_due_at = NULL WHERE id = $2")
        .bind(choice.as_str())
        .bind(account_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Whether link `link_id` (the merchant's, in their current mode) emails its
/// payments, and what the account chose for all of them.
pub async fn link_notifications(db: &Db, merchant: &crate::server::auth::Merchant, link_id: i64) -> AppResult<(bool, PaymentEmails)> {
    let (link, account): (i64, String) = sqlx::query_as(
        "SELECT l.payment_emails AS link, a.payment_emails AS account FROM links l JOIN accounts a ON a.id = l.account_id \
         WHERE l.id = $1 AND l.account_id = $2 AND l.mode = $3",
    )
    .bind(link_id)
    .bind(merchant.id)
    .bind(merchant.mode.as_str())
    .fetch_optional(db.pool())
    .await?
    .ok_or(AppError::NotFound)?;
    let account = PaymentEmails::parse(&account).ok_or(AppError::Internal)?;
    Ok((link != 0, account))
}

/// Turns link `link_id`'s payment emails on or off; `mode`: only a link of
/// that mode (the dashboard's), `None` for any of the account's (an unsubscribe link).
pub async fn set_link_payment_emails(db: &Db, account_id: i64, link_id: i64, mode: Option<Mode>, on: bool) -> AppResult<()> {
    let done = sqlx::query("UPDATE links SET payment_emails = $1 WHERE id = $2 AND account_id = $3 AND ($4 IS NULL OR mode = $4)")
        .bind(i64::from(on))
        .bind(link_id)
        .bind(account_id)
        .bind(mode.map(Mode::as_str))
        .execute(db.pool())
        .await?;
    if done.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsubscribe_tokens_name_one_account_and_topic() {
        let secrets = SecretBox::from_hex(&SecretBox::generate_hex()).unwrap();
        let other = SecretBox::from_hex(&SecretBox::generate_hex()).unwrap();
        let t = token(&secrets, 42, Unsubscribe::Link(7));
        assert_eq!(read_token(&secrets, &t), Some((42, Unsubscribe::Link(7))));
        assert_eq!(t, token(&secrets, 42, Unsubscribe::Link(7)), "stable across retries");
        assert_eq!(read_token(&other, &t), None, "another server key");
        let (_, tag) = t.rsplit_once('.').unwrap();
        for forged in [format!("43.link-7.{tag}"), format!("42.link-8.{tag}"), format!("42.daily.{tag}"), "42.link-7".into(), String::new()] {
            assert_eq!(read_token(&secrets, &forged), None, "{forged}");
        }
        let daily = token(&secrets, 42, Unsubscribe::DailySummary);
        assert_eq!(read_token(&secrets, &daily), Some((42, Unsubscribe::DailySummary)));
    }

    #[test]
    fn a_day_ends_at_the_next_local_midnight() {
        let zone = TimeZone::parse("Europe/London").unwrap();
        // The day clocks go forward is 23 hours long, the day they go back 25.
        let spring = zone.to_utc("2026-03-29T00:00").unwrap();
        assert_eq!(day_after(zone, spring) - spring, 23 * HOUR_MS);
        let autumn = zone.to_utc("2026-10-25T00:00").unwrap();
        assert_eq!(day_after(zone, autumn) - autumn, 25 * HOUR_MS);
        let tokyo = TimeZone::parse("Asia/Tokyo").unwrap();
        let day = tokyo.to_utc("2026-12-04T00:00").unwrap();
        assert_eq!(day_after(tokyo, day) - day, 24 * HOUR_MS);
    }
}
