//! Unit tests of `domain::payment` (apart, so the rules read on one screen).

use super::*;
use PaymentStatus::*;

fn state(status: PaymentStatus, refunded: i64) -> PaymentState {
    PaymentState::from_parts(status, 1000, refunded).unwrap()
}

fn all_transitions() -> Vec<Transition> {
    vec![
        Transition::Authorize,
        Transition::Capture,
        Transition::LateCapture,
        Transition::Fail { reason: DeclineReason::InsufficientFunds },
        Transition::Expire,
        Transition::Cancel,
        Transition::Refund { amount: 100 },
        Transition::ChargeBack,
    ]
}

#[test]
fn every_legal_and_illegal_transition() {
    let legal: &[(PaymentStatus, &str, PaymentStatus)] = &[
        (Pending, "authorized", Authorized),
        (Pending, "captured", Captured),
        (Pending, "failed", Failed),
        (Pending, "expired", Expired),
        (Pending, "cancelled", Cancelled),
        (Authorized, "captured", Captured),
        (Authorized, "failed", Failed),
        (Authorized, "expired", Expired),
        (Authorized, "cancelled", Cancelled),
        (Captured, "refunded", Captured), // partial: 100 of 1000
        (Captured, "charged_back", ChargedBack),
        (Failed, "captured_late", Captured),
        (Expired, "captured_late", Captured),
        (Cancelled, "captured_late", Captured),
    ];
    for from in PaymentStatus::ALL {
        let refunded = if from == Refunded { 1000 } else { 0 };
        for t in all_transitions() {
            let result = state(from, refunded).apply(&t);
            match legal.iter().find(|(f, kind, _)| *f == from && *kind == t.kind()) {
                Some((_, _, to)) => assert_eq!(result.map(|s| s.status()), Ok(*to), "{from:?} + {t:?}"),
                None => assert!(matches!(result, Err(IllegalTransition::NotFrom { .. })), "{from:?} + {t:?} must be illegal, got {result:?}"),
            }
        }
    }
}

#[test]
fn terminal_states_take_nothing_but_money_the_provider_moved() {
    for from in [Failed, Expired, Cancelled, Refunded, ChargedBack] {
        let refunded = if from == Refunded { 1000 } else { 0 };
        for t in all_transitions() {
            let late = t == Transition::LateCapture && matches!(from, Failed | Expired | Cancelled);
            assert_eq!(state(from, refunded).apply(&t).is_ok(), late, "{from:?} + {t:?}");
        }
    }
}

#[test]
fn unwanted_captures_are_those_the_link_would_have_refused_then() {
    use crate::domain::link::LinkStatus::{Active as On, Inactive as Off};
    let judge = UnwantedCapture::judge;
    // (status, expires_at, usage_limit, captures including this one, at)
    assert_eq!(judge(On, None, None, 7, 1_000), None);
    assert_eq!(judge(On, Some(2_000), Some(1), 1, 1_999), None);
    assert_eq!(judge(Off, None, None, 1, 1_000), Some(UnwantedCapture::LinkInactive));
    assert_eq!(judge(On, Some(2_000), None, 1, 2_000), Some(UnwantedCapture::LinkExpired));
    assert_eq!(judge(On, None, Some(1), 2, 1_000), Some(UnwantedCapture::LimitReached));
    assert_eq!(judge(On, None, Some(3), 3, 1_000), None);
    // The merchant's switch is named first.
    assert_eq!(judge(Off, Some(0), Some(1), 5, 1_000), Some(UnwantedCapture::LinkInactive));
    for u in [UnwantedCapture::LinkInactive, UnwantedCapture::LinkExpired, UnwantedCapture::LimitReached] {
        assert_eq!(UnwantedCapture::parse(u.as_str()), Some(u));
    }
    assert_eq!(UnwantedCapture::parse("nope"), None);
}

#[test]
fn refunds_partial_then_full() {
    let captured = state(Captured, 0);
    let partial = captured.apply(&Transition::Refund { amount: 300 }).unwrap();
    assert_eq!((partial.status(), partial.refunded(), partial.refundable()), (Captured, 300, 700));
    assert!(partial.is_partially_refunded());
    assert_eq!(partial.apply(&Transition::Refund { amount: 701 }), Err(IllegalTransition::RefundTooLarge { requested: 701, remaining: 700 }));
    assert_eq!(partial.apply(&Transition::Refund { amount: 0 }), Err(IllegalTransition::RefundNotPositive));
    assert_eq!(partial.apply(&Transition::Refund { amount: -5 }), Err(IllegalTransition::RefundNotPositive));
    let full = partial.apply(&Transition::Refund { amount: 700 }).unwrap();
    assert_eq!((full.status(), full.refunded(), full.refundable()), (Refunded, 1000, 0));
    // A partially refunded payment can still be charged back.
    assert_eq!(partial.apply(&Transition::ChargeBack).unwrap().status(), ChargedBack);
}

#[test]
fn stored_states_must_be_consistent() {
    assert!(PaymentState::from_parts(Pending, 1000, 10).is_none());
    assert!(PaymentState::from_parts(Captured, 1000, 1000).is_none());
    assert!(PaymentState::from_parts(Refunded, 1000, 999).is_none());
    assert!(PaymentState::from_parts(Captured, 0, 0).is_none());
    assert!(PaymentState::from_parts(Captured, 1000, 999).is_some());
}

#[test]
fn statistics_follow_the_summary_rules() {
    let s = |status, refunded| state(status, refunded).contribution();
    assert_eq!(s(Captured, 0), SalesStats { captured_amount: 1000, captured_payments: 1, ..SalesStats::ZERO });
    // Partial refund: amount drops, the count does not.
    assert_eq!(s(Captured, 250), SalesStats { captured_amount: 750, captured_payments: 1, ..SalesStats::ZERO });
    assert_eq!(s(Refunded, 1000), SalesStats { refunded_payments: 1, ..SalesStats::ZERO });
    assert_eq!(s(ChargedBack, 0), SalesStats::ZERO);
    for incomplete in [Pending, Authorized, Failed, Expired, Cancelled] {
        assert_eq!(s(incomplete, 0), SalesStats { pending_payments: 1, ..SalesStats::ZERO });
        assert!(incomplete.is_incomplete());
    }
}

#[test]
fn deltas_sum_to_the_recomputation() {
    // A life story of several payments: applying deltas step by step must
    // give the same figures as summing the final states.
    let mut stats = SalesStats::ZERO;
    let mut finals = Vec::new();
    let stories: Vec<Vec<Transition>> = vec![
        vec![Transition::Capture],
        vec![Transition::Capture, Transition::Refund { amount: 400 }],
        vec![Transition::Capture, Transition::Refund { amount: 400 }, Transition::Refund { amount: 600 }],
        vec![Transition::Authorize, Transition::Capture, Transition::ChargeBack],
        vec![Transition::Authorize, Transition::Expire],
        vec![Transition::Fail { reason: DeclineReason::BadCvc }],
        vec![],
    ];
    for story in stories {
        let mut current = PaymentState::new(1000);
        stats = stats + SalesStats::delta(None, &current);
        for t in story {
            let next = current.apply(&t).unwrap();
            stats = stats + SalesStats::delta(Some(&current), &next);
            current = next;
        }
        finals.push(current);
    }
    assert_eq!(stats, SalesStats::sum(&finals));
    assert_eq!(stats, SalesStats { captured_amount: 1600, captured_payments: 2, pending_payments: 3, refunded_payments: 1 });
}

#[test]
fn names_round_trip() {
    for s in PaymentStatus::ALL {
        assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
    }
    for m in Method::ALL {
        assert_eq!(Method::parse(m.as_str()), Some(m));
    }
    for r in DeclineReason::ALL {
        assert_eq!(DeclineReason::parse(r.as_str()), Some(r));
    }
}
