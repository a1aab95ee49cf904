//! Operator commands: `paylinks admin …`.

use super::{accounts, auth, db::Db};
use crate::domain::fields::{Email, NewPassword};
use crate::domain::{Locale, Role};
use crate::error::AppError;
use anyhow::{bail, Context};
use clap::Subcommand;

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// Create a reviewer account (prints a generated password unless --password is given).
    CreateReviewer {
        email: String,
        #[arg(long, default_value = "Paylinks Review")]
        name: String,
        #[arg(long, env = "PAYLINKS_REVIEWER_PASSWORD")]
        password: Option<String>,
        /// Dashboard language: ja, en or ko
        #[arg(long, default_value = "en")]
        locale: Locale,
    },
    /// Approve a merchant's submitted live-mode application.
    Approve { email: String },
    /// Create a secret API key for a merchant and print it (shown only this once).
    CreateApiKey {
        email: String,
        /// test or live (live needs an approved application)
        #[arg(long, default_value = "test", value_parser = ["test", "live"])]
        mode: String,
        #[arg(long, default_value = "Command line")]
        name: String,
    },
    /// Set a new password for any account and sign it out everywhere (for
    /// self-hosters without email); prints a generated password unless
    /// --password (or PAYLINKS_NEW_PASSWORD) is given.
    ResetPassword {
        email: String,
        #[arg(long, env = "PAYLINKS_NEW_PASSWORD")]
        password: Option<String>,
    },
    /// Reject a merchant's submitted live-mode application.
    Reject {
        email: String,
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(db: &Db, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateReviewer { email, name, password, locale } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
            let (password, generated) = match password {
                Some(p) => (p, false),
                None => (auth::random_token()[..20].to_owned(), true),
            };
            let password = NewPassword::parse(&password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
            let hash = auth::hash_password(&password).await.map_err(app)?;
            auth::create_account(db, email.as_str(), &name, &hash, Role::Reviewer, locale).await.map_err(app)?;
            println!("reviewer {} created", email.as_str());
            if generated {
                println!("password: {}", password.expose());
            }
        }
        AdminCommand::CreateApiKey { email, mode, name } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
            let Some((id, Role::Merchant)) = accounts::account_id_by_email(db, email.as_str()).await.map_err(app)? else {
                bail!("no merchant with email {}", email.as_str());
            };
            let account = auth::account_by_id(db, id).await.map_err(app)?.context("account vanished")?;
            let merchant = auth::Merchant::of(account).map_err(app)?.in_mode(mode.parse().unwrap_or_default());
            let key = super::api_keys::create(db, &merchant, &name).await.map_err(app)?;
            println!("{}", key.secret);
        }
        AdminCommand::ResetPassword { email, password } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
            let (password, generated) = match password {
                Some(p) => (p, false),
                None => (auth::random_token()[..20].to_owned(), true),
            };
            let password = NewPassword::parse(&password).map_err(|e| anyhow::anyhow!("password: {e}"))?;
            if !accounts::set_password_by_email(db, email.as_str(), &password).await.map_err(app)? {
                bail!("no account with email {}", email.as_str());
            }
            println!("password of {} reset; every session ended", email.as_str());
            if generated {
                println!("password: {}", password.expose());
            }
        }
        AdminCommand::Approve { email } => decide(db, &email, true, "").await?,
        AdminCommand::Reject { email, reason } => decide(db, &email, false, &reason).await?,
    }
    Ok(())
}

async fn decide(db: &Db, email: &str, approve: bool, reason: &str) -> anyhow::Result<()> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
    let Some((id, role)) = accounts::account_id_by_email(db, email.as_str()).await.map_err(app)? else {
        bail!("no account with email {}", email.as_str());
    };
    if role != Role::Merchant {
        bail!("{} is not a merchant", email.as_str());
    }
    accounts::review(db, None, id, approve, reason).await.map_err(app).with_context(|| format!("{} has no application awaiting review", email.as_str()))?;
    println!("application of {} {}", email.as_str(), if approve { "approved" } else { "rejected" });
    Ok(())
}

fn app(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}
