//! `paylinks demo`: a demo merchant (approved for live mode) and a reviewer,
//! so a fresh install has something to sign in to. Safe to run again. Each
//! run sets a new random password on both (printed once): a reviewer with a
//! published password approves anyone's live mode.

use super::{accounts, auth, db::Db};
use crate::domain::application::{ApplicationForm, FIELDS};
use crate::domain::fields::NewPassword;
use crate::domain::{Locale, Role};
use crate::error::AppError;

pub const MERCHANT_EMAIL: &str = "demo@paylinks.test";
pub const REVIEWER_EMAIL: &str = "reviewer@paylinks.test";

/// Refuses to seed a server that customers can reach, unless forced: the
/// demo accounts are for trying Paylinks on one's own machine.
pub fn check_public_url(public_url: &str, force: bool) -> anyhow::Result<()> {
    if force || is_loopback_url(public_url) {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to create demo accounts on {public_url}: PAYLINKS_PUBLIC_URL is not a loopback address \
         (a demo reviewer can approve live mode). Use `paylinks demo --force` if you really mean it."
    )
}

/// `http://127.0.0.1:3000`, `http://localhost`, `http://[::1]:8080`.
pub fn is_loopback_url(url: &str) -> bool {
    super::csrf::SiteOrigin::parse(url).is_some_and(|origin| origin.is_loopback())
}

/// 20 random characters from an alphabet without look-alikes (~115 bits).
fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::getrandom(&mut bytes).expect("the OS provides randomness");
    bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

/// Seeds (or refreshes) the demo, returning the new password of both accounts.
pub async fn seed(db: &Db) -> anyhow::Result<String> {
    let text = random_password();
    let password = NewPassword::parse(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hash = auth::hash_password(&password).await.map_err(app)?;
    let merchant = ensure_account(db, MERCHANT_EMAIL, "Paylinks Demo Tea Shop", &hash, Role::Merchant, Locale::Ja).await?;
    ensure_account(db, REVIEWER_EMAIL, "Paylinks Review", &hash, Role::Reviewer, Locale::En).await?;

    if let Some(account) = auth::account_by_id(db, merchant).await.map_err(app)?.map(auth::Merchant::of).transpose().map_err(app)? {
        if account.application.editable() {
            let mut form = ApplicationForm::default();
            for (field, _, _) in FIELDS {
                let value = match field {
                    "legal_name" | "scta_seller" => "株式会社ペイリンクス茶舗",
                    "representative" => "山田 花子",
                    "address" | "scta_address" => "東京都千代田区丸の内1-1-1",
                    "phone" | "scta_phone" => "03-1234-5678",
                    "website" => "https://tea.paylinks.test",
                    "products" => "日本茶と茶器",
                    "scta_pricing" => "各商品ページに税込価格で表示",
                    "scta_fees" => "送料：全国一律600円",
                    "scta_payment" => "クレジットカード（注文時）、コンビニ払い（3日以内）",
                    "scta_delivery" => "ご入金確認後3営業日以内に発送",
                    _ => "未開封の商品に限り、到着後8日以内に返品を承ります",
                };
                form.set(field, value);
            }
            accounts::save_application(db, &account, &form, true).await.map_err(app)?;
            accounts::review(db, None, merchant, true, "").await.map_err(app)?;
        }
    }
    if let Some(account) = auth::account_by_id(db, merchant).await.map_err(app)?.map(auth::Merchant::of).transpose().map_err(app)? {
        for (name, amount, currency, description) in [
            ("抹茶セット（2缶）", "1500", "JPY", "宇治抹茶 30g × 2缶。税込。ご注文から3営業日以内に発送します。"),
            ("煎茶 お試しパック", "800", "JPY", "静岡県産 煎茶 50g。税込・送料別。"),
            ("Tea ceremony workshop", "4500", "USD", "90 minutes, Kyoto. Cancel up to 48 hours before for a full refund."),
        ] {
            let input = crate::domain::link::LinkInput {
                name: name.into(),
                amount: amount.into(),
                currency: currency.into(),
                description: description.into(),
                ..Default::default()
            }
            .new_link(account.locale, account.time_zone, super::db::now_ms())
            .map_err(|e| app(e.into()))?;
            // The link's URL is not kept: any public URL does here.
            let ctx = super::Ctx { db, public_url: "" };
            match super::links::create(ctx, &account, &input).await {
                Ok(_) | Err(AppError::Invalid { error: crate::domain::fields::FieldError::NameTaken, .. }) => {}
                Err(e) => return Err(app(e)),
            }
        }
    }
    Ok(text)
}

async fn ensure_account(db: &Db, email: &str, name: &str, hash: &str, role: Role, locale: Locale) -> anyhow::Result<i64> {
    let id = created_or_reset(db, email, name, hash, role, locale).await?;
    // Demo addresses receive no mail: the operator vouches for them.
    accounts::mark_email_verified(db, id).await.map_err(app)?;
    Ok(id)
}

async fn created_or_reset(db: &Db, email: &str, name: &str, hash: &str, role: Role, locale: Locale) -> anyhow::Result<i64> {
    match auth::create_account(db, email, name, hash, role, locale).await {
        Ok(id) => Ok(id),
        Err(AppError::EmailTaken) => {
            let id = accounts::account_id_by_email(db, email).await.map_err(app)?.map(|(id, _)| id).ok_or_else(|| anyhow::anyhow!("{email} vanished"))?;
            // A new password each run; sessions opened with the old one end.
            accounts::set_password_hash(db, id, hash).await.map_err(app)?;
            Ok(id)
        }
        Err(e) => Err(app(e)),
    }
}

fn app(e: AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_get_a_demo() {
        for url in ["http://127.0.0.1:3000", "http://localhost", "http://LOCALHOST:8080/", "http://[::1]:3000", "http://127.8.9.1"] {
            assert!(check_public_url(url, false).is_ok(), "{url}");
        }
        for url in ["https://pay.example.com", "http://0.0.0.0:3000", "http://192.168.1.20:3000", "http://localhost.example.com", "http://[::2]"] {
            assert!(check_public_url(url, false).is_err(), "{url}");
            assert!(check_public_url(url, true).is_ok(), "{url} forced");
        }
    }

    #[test]
    fn demo_passwords_are_random_and_acceptable() {
        let (a, b) = (random_password(), random_password());
        assert_ne!(a, b);
        assert_eq!(a.len(), 20);
        assert!(NewPassword::parse(&a).is_ok());
    }
}
