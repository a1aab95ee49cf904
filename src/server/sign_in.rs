//! Signing up, in and out: the throttles, the password checks and the
//! session cookie, for the server functions in `pages/auth.rs`.

use super::{auth, locale, request::Request, throttle};
use crate::domain::email::EmailKind;
use crate::domain::fields::{self, Email, NewPassword};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use http::header::SET_COOKIE;

pub const BUSINESS_NAME_MAX: usize = 100;

/// Starts a fresh session for `account_id`: a new token (ending any session
/// the browser had), the language cookie from the account's setting.
pub async fn start_session(request: &Request, account_id: i64) -> AppResult<()> {
    if let Some(old) = request.session_token() {
        auth::delete_session(request.db(), &old).await?;
    }
    let token = auth::create_session(request.db(), account_id).await?;
    request.set_header(SET_COOKIE, auth::session_cookie(&token, request.secure_cookies()));
    if let Some(account) = auth::account_by_id(request.db(), account_id).await? {
        request.set_header(SET_COOKIE, locale::set_cookie(account.locale));
    }
    Ok(())
}

/// Signs up, without signing in: the answer is the same whether or not the
/// address has an account (no one learns which addresses do), and so is the
/// work (one Argon2 hash either way). A new address gets its account and a
/// confirmation link; an address with an account gets an email saying so
/// (a few an hour). The new merchant then signs in with the password.
pub async fn sign_up(request: &Request, business_name: &str, email: &str, password: &str) -> AppResult<Email> {
    let business_name = fields::text(business_name, BUSINESS_NAME_MAX, false).map_err(|e| AppError::invalid("business_name", e))?;
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
    let password = NewPassword::parse(password).map_err(|e| AppError::invalid("password", e))?;
    // Counted before any hashing: each sign-up costs a 19 MiB Argon2 run.
    let limit = throttle::Limit { max: i64::from(request.state.config.sign_up_limit), window_ms: 60 * throttle::MINUTE_MS };
    throttle::take(request.db(), &format!("signup:{}", request.client_ip()), limit).await?;
    let hash = auth::hash_password(&password).await?;
    // The dashboard starts in the language the visitor is browsing in.
    let language = locale::from_headers(&request.parts.headers);
    match auth::create_account(request.db(), email.as_str(), &business_name, &hash, Role::Merchant, language).await {
        Ok(id) => {
            let secrets = &request.state.config.secrets;
            super::account_email::send(request.db(), secrets, id, email.as_str(), language, EmailKind::VerifyEmail).await?;
        }
        Err(AppError::EmailTaken) => {
            let quota = throttle::take(request.db(), &format!("signup-again:{}", email.as_str()), throttle::RESETS_PER_EMAIL).await;
            if quota.is_ok() {
                if let Some((id, locale)) = super::accounts::locale_by_email(request.db(), email.as_str()).await? {
                    super::account_email::tell_of_sign_up(request.db(), id, email.as_str(), locale).await?;
                }
            }
        }
        Err(e) => return Err(e),
    }
    Ok(email)
}

pub async fn sign_in(request: &Request, email: &str, password: &str) -> AppResult<i64> {
    // Any text is looked up as typed (normalized); a malformed email simply
    // matches no account, like an unknown one.
    let key = email.trim().to_lowercase();
    let ip = request.client_ip();
    // Both counted before verifying, each in one statement: parallel
    // guesses cannot all pass. Guesses back off per address and email, so
    // a stranger never locks the merchant out of their own address.
    let address = format!("signin-ip:{ip}");
    let guesses = format!("signin:{ip}|{key}");
    throttle::take(request.db(), &address, throttle::SIGN_IN_PER_ADDRESS).await?;
    throttle::back_off(request.db(), &guesses).await?;
    let credentials = auth::credentials_by_email(request.db(), &key).await?;
    let (id, hash) = match credentials {
        Some((id, hash)) => (Some(id), Some(hash)),
        None => (None, None),
    };
    let valid = auth::verify_password(hash, password).await?;
    match id.filter(|_| valid) {
        Some(id) => {
            throttle::clear(request.db(), &guesses).await?;
            throttle::give_back(request.db(), &address).await?;
            start_session(request, id).await?;
            Ok(id)
        }
        None => Err(AppError::InvalidCredentials),
    }
}

pub async fn sign_out(request: &Request) -> AppResult<()> {
    if let Some(token) = request.session_token() {
        auth::delete_session(request.db(), &token).await?;
    }
    request.set_header(SET_COOKIE, auth::clear_session_cookie(request.secure_cookies()));
    Ok(())
}

/// Emails a password-reset link if an account has this address. The answer
/// is the same either way (no one learns which addresses have accounts);
/// limited per client address, and per email address quietly.
pub async fn request_password_reset(request: &Request, email: &str) -> AppResult<()> {
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
    throttle::take(request.db(), &format!("reset-ip:{}", request.client_ip()), throttle::RESETS_PER_ADDRESS).await?;
    if throttle::take(request.db(), &format!("reset:{}", email.as_str()), throttle::RESETS_PER_EMAIL).await.is_err() {
        return Ok(());
    }
    if let Some((id, locale)) = super::accounts::locale_by_email(request.db(), email.as_str()).await? {
        let secrets = &request.state.config.secrets;
        super::account_email::send(request.db(), secrets, id, email.as_str(), locale, EmailKind::PasswordReset).await?;
    }
    Ok(())
}

/// Sends the signed-in merchant's confirmation link again (a few times an hour).
pub async fn resend_verification(request: &Request) -> AppResult<()> {
    let account = request.require_account().await?;
    if account.email_verified {
        return Ok(());
    }
    throttle::take(request.db(), &format!("verify:{}", account.id), throttle::RESETS_PER_EMAIL).await?;
    let secrets = &request.state.config.secrets;
    super::account_email::send(request.db(), secrets, account.id, &account.email, account.locale, EmailKind::VerifyEmail).await
}
