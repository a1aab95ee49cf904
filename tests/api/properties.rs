//! Property tests: the domain parsers on arbitrary input, the payment state
//! machine on arbitrary sequences of transitions, and the statistics of real
//! links after arbitrary sequences of customer and merchant actions through
//! HTTP (`verify` must always agree). `PROPTEST_CASES` raises the counts.

use crate::common;

use common::shop::{action, card_form, json, komoju_signature, link, merchant, page_token, pay};
use common::{start_server, test_databases};
use paylinks::domain::card::CardNumber;
use paylinks::domain::link::{LinkSlug, ProductName};
use paylinks::domain::money::{Currency, Money};
use paylinks::domain::payment::{DeclineReason, PaymentState, PaymentStatus, SalesStats, Transition};
use paylinks::server::{images, komoju, payments};
use proptest::prelude::*;

fn currency() -> impl Strategy<Value = Currency> {
    prop::sample::select(Currency::ALL.to_vec())
}

/// Text that looks like what people (and attackers) type: digits, signs,
/// separators, letters, full-width forms, control characters, emoji.
fn typed_text() -> impl Strategy<Value = String> {
    prop_oneof!["[0-9.,+\\-eE _]{0,30}", "[0-9０-９．，－\u{3000}]{0,20}", any::<String>(), "\\PC{0,120}", "[ \t\n\r\u{0}-\u{1f}\u{7f}a-zA-Z]{0,20}",]
}

proptest! {
    #[test]
    fn money_round_trips_through_its_input_form(currency in currency(), fraction in 0.0f64..=1.0) {
        let span = currency.maximum() - currency.minimum();
        let minor = currency.minimum() + (span as f64 * fraction) as i64;
        let money = Money::from_minor(minor, currency).unwrap();
        let again = Money::parse(&money.to_input(), currency).unwrap();
        prop_assert_eq!(again.minor(), minor);
    }

    #[test]
    fn money_parse_accepts_only_amounts_in_range(input in typed_text(), currency in currency()) {
        if let Ok(money) = Money::parse(&input, currency) {
            prop_assert!((currency.minimum()..=currency.maximum()).contains(&money.minor()), "{input:?} → {}", money.minor());
            prop_assert_eq!(Money::parse(&money.to_input(), currency).unwrap().minor(), money.minor());
        }
    }

    #[test]
    fn product_names_are_trimmed_bounded_and_printable(input in typed_text()) {
        if let Ok(name) = ProductName::parse(&input) {
            let text = name.as_str();
            prop_assert_eq!(text, text.trim());
            prop_assert!((1..=ProductName::MAX_LEN).contains(&text.chars().count()));
            prop_assert!(!text.chars().any(char::is_control));
            prop_assert_eq!(ProductName::parse(text).unwrap(), name.clone());
            // Uniqueness ignores letter case (ASCII here; see `key` for width and kana).
            prop_assert_eq!(name.key(), ProductName::parse(&text.to_ascii_uppercase()).unwrap().key());
        }
    }

    #[test]
    fn slugs_are_exactly_what_links_are_given(bytes in any::<[u8; 16]>(), input in typed_text()) {
        let slug = LinkSlug::from_random(bytes);
        prop_assert_eq!(LinkSlug::parse(slug.as_str()), Some(slug.clone()));
        if let Some(parsed) = LinkSlug::parse(&input) {
            prop_assert_eq!(parsed.as_str().len(), LinkSlug::LEN);
            prop_assert!(parsed.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        }
    }

    #[test]
    fn card_numbers_never_panic_and_keep_only_digits(input in typed_text()) {
        if let Ok(card) = CardNumber::parse(&input) {
            prop_assert!(card.last4().chars().all(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn image_checks_survive_arbitrary_and_damaged_files(
        noise in prop::collection::vec(any::<u8>(), 0..2048),
        cut in 0usize..400,
        flips in prop::collection::vec((0usize..400, any::<u8>()), 0..8),
    ) {
        let _ = images::check(&noise);
        let mut png = tiny_png();
        for (at, byte) in flips {
            if at < png.len() {
                png[at] = byte;
            }
        }
        png.truncate(png.len().saturating_sub(cut));
        if let Ok(checked) = images::check(&png) {
            prop_assert!(checked.width <= images::MAX_DIMENSION && checked.height <= images::MAX_DIMENSION);
        }
    }

    #[test]
    fn webhook_signatures_hold_only_for_the_exact_body_and_secret(
        body in prop::collection::vec(any::<u8>(), 0..512),
        secret in "[a-zA-Z0-9_-]{8,40}",
        flip in any::<prop::sample::Index>(),
        garbage in typed_text(),
    ) {
        let signature = komoju_signature(&secret, &body);
        prop_assert!(komoju::signature_valid(&secret, &body, &signature));
        let other_secret = format!("{}x", secret);
        prop_assert!(!komoju::signature_valid(&other_secret, &body, &signature));
        if !body.is_empty() {
            let mut tampered = body.clone();
            let at = flip.index(tampered.len());
            tampered[at] ^= 1;
            prop_assert!(!komoju::signature_valid(&secret, &tampered, &signature));
        }
        prop_assert!(!komoju::signature_valid(&secret, &body, &garbage) || garbage.trim() == signature);
    }

    #[test]
    fn komoju_payment_payloads_of_any_shape_are_read_or_refused(
        id in typed_text(), status in typed_text(), amount in any::<i64>(), currency in typed_text(),
        extra in prop::collection::btree_map("[a-z_]{1,12}", typed_text(), 0..4),
        as_text in any::<bool>(),
    ) {
        let mut data = serde_json::json!({"id": id, "status": status, "currency": currency});
        data["amount"] = if as_text { serde_json::json!(amount.to_string()) } else { serde_json::json!(amount) };
        for (k, v) in extra {
            data[k] = serde_json::json!(v);
        }
        if let Some(payment) = komoju::parse_payment(&data) {
            prop_assert_eq!(payment.id, id);
        }
    }

    /// Whatever happens to a payment, its state stays one the database may
    /// hold, refunds only grow and never pass the amount, final states stay
    /// final, and the link's figures move by exactly the state's contribution.
    #[test]
    fn the_payment_state_machine_keeps_its_invariants(
        amount in 1i64..10_000_000,
        steps in prop::collection::vec(transition(), 0..24),
    ) {
        let mut state = PaymentState::new(amount);
        let mut stats = SalesStats::delta(None, &state);
        for step in &steps {
            let before = state;
            match state.apply(step) {
                Ok(next) => {
                    prop_assert_eq!(PaymentState::from_parts(next.status(), next.amount(), next.refunded()), Some(next));
                    prop_assert!(next.refunded() >= before.refunded() && next.refunded() <= amount);
                    prop_assert_eq!(next.amount(), amount);
                    stats = stats + SalesStats::delta(Some(&before), &next);
                    state = next;
                }
                Err(_) => prop_assert_eq!(state, before),
            }
            let finished = matches!(before.status(), PaymentStatus::Failed | PaymentStatus::Expired | PaymentStatus::Cancelled | PaymentStatus::Refunded | PaymentStatus::ChargedBack);
            if finished {
                prop_assert_eq!(state, before, "{:?} left a final state", step);
            }
            prop_assert_eq!(stats, state.contribution());
            prop_assert!(stats.captured_amount >= 0 && stats.captured_amount <= amount);
        }
    }
}

fn transition() -> impl Strategy<Value = Transition> {
    prop_oneof![
        Just(Transition::Authorize),
        Just(Transition::Capture),
        Just(Transition::Fail { reason: DeclineReason::InsufficientFunds }),
        Just(Transition::Expire),
        Just(Transition::Cancel),
        Just(Transition::ChargeBack),
        (-100i64..12_000_000).prop_map(|amount| Transition::Refund { amount }),
    ]
}

fn tiny_png() -> Vec<u8> {
    common::shop::png(3, 2)
}

/// One thing a customer or the merchant does, with the payment it applies to
/// picked by index among those made so far.
#[derive(Clone, Debug)]
enum Act {
    PayCard { declined: bool },
    PayKonbini,
    Refund { payment: prop::sample::Index, amount: i64 },
    ChargeBack { payment: prop::sample::Index },
    MarkPaid { payment: prop::sample::Index },
    Expire { payment: prop::sample::Index },
}

fn act() -> impl Strategy<Value = Act> {
    let index = any::<prop::sample::Index>();
    prop_oneof![
        3 => any::<bool>().prop_map(|declined| Act::PayCard { declined }),
        2 => Just(Act::PayKonbini),
        3 => (index.clone(), -50i64..4_000).prop_map(|(payment, amount)| Act::Refund { payment, amount }),
        1 => index.clone().prop_map(|payment| Act::ChargeBack { payment }),
        2 => index.clone().prop_map(|payment| Act::MarkPaid { payment }),
        1 => index.prop_map(|payment| Act::Expire { payment }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Random sequences through the real HTTP API, on every backend: no 5xx,
    /// and the link's stored figures always equal the recomputation.
    #[test]
    fn statistics_agree_after_any_sequence_of_actions(acts in prop::collection::vec(act(), 1..30)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            for db in test_databases().await {
                let server = start_server(&db.url).await;
                let mut shop = merchant(&server, "props@example.com").await;
                let (link_id, slug) = link(&mut shop, "Kukicha", "3000", &[]).await;
                let mut made: Vec<String> = Vec::new();
                for act in &acts {
                    let res = match act {
                        Act::PayCard { declined } => {
                            let token = page_token(&server, &slug).await;
                            let number = if *declined { "4123111111111000" } else { "4111111111111111" };
                            pay(&server, &card_form(&slug, &token, number)).await
                        }
                        Act::PayKonbini => {
                            let token = page_token(&server, &slug).await;
                            let mut form = card_form(&slug, &token, "");
                            form.retain(|(k, _)| !k.starts_with("pay[card") && *k != "pay[method]");
                            form.push(("pay[method]", "konbini"));
                            form.push(("pay[store]", "lawson"));
                            pay(&server, &form).await
                        }
                        Act::Refund { payment, amount } if !made.is_empty() => {
                            action(&mut shop, payment.get(&made), "refund", &amount.to_string()).await
                        }
                        Act::ChargeBack { payment } if !made.is_empty() => action(&mut shop, payment.get(&made), "charge_back", "").await,
                        Act::MarkPaid { payment } if !made.is_empty() => action(&mut shop, payment.get(&made), "mark_paid", "").await,
                        Act::Expire { payment } if !made.is_empty() => action(&mut shop, payment.get(&made), "expire", "").await,
                        _ => continue,
                    };
                    assert!(res.status < 500, "{}: {act:?}: {} {}", db.label, res.status, res.body);
                    if matches!(act, Act::PayKonbini | Act::PayCard { declined: false }) {
                        assert_eq!(res.status, 200, "{}: {act:?}: {}", db.label, res.body);
                    }
                    if matches!(act, Act::PayCard { .. } | Act::PayKonbini) && res.status == 200 {
                        let url: String = serde_json::from_str(&res.body).unwrap();
                        made.push(url.rsplit('/').next().unwrap().to_owned());
                    }
                }
                let mismatches = payments::verify(&server.state.db).await.unwrap();
                assert!(mismatches.is_empty(), "{}: {acts:?}: {mismatches:?}", db.label);
                // And the summary the merchant reads is that recomputation.
                let sales = json(&shop.call("link_sales", &[("id", &link_id.to_string())]).await);
                let stored = payments::sales(&server.state.db, link_id).await.unwrap();
                assert_eq!(sales["stats"]["captured_amount"], stored.captured_amount, "{}", db.label);
            }
        });
    }
}
