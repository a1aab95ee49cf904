//! Unit tests of `domain::webhook` (apart, so the rules read on one screen).

use super::*;
use crate::domain::payment::DeclineReason;

#[test]
fn every_event_name_reads_back() {
    for t in EventType::SUBSCRIBABLE.into_iter().chain([EventType::Ping]) {
        assert_eq!(EventType::parse(t.as_str()), Some(t));
        assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(t.as_str()));
    }
    assert_eq!(EventType::parse("payment.created"), None);
}

#[test]
fn an_event_is_wanted_when_any_endpoint_takes_it() {
    let captured = EventSet::parse(&["payment.captured"]).unwrap();
    let refunds = EventSet::parse(&["payment.refunded", "payment.failed"]).unwrap();
    let types = [EventType::PaymentCaptured, EventType::PaymentFailed, EventType::PaymentExpired];
    assert_eq!(wanted_by(&types, &[captured.clone(), refunds]), vec![EventType::PaymentCaptured, EventType::PaymentFailed]);
    assert_eq!(wanted_by(&types, &[captured]), vec![EventType::PaymentCaptured]);
    assert!(wanted_by(&types, &[]).is_empty());
}

#[test]
fn transitions_raise_their_events() {
    use PaymentStatus::*;
    assert_eq!(EventType::of_transition(&Transition::Capture, Captured), [EventType::PaymentCaptured]);
    assert_eq!(EventType::of_transition(&Transition::Fail { reason: DeclineReason::InsufficientFunds }, Failed), [EventType::PaymentFailed]);
    assert_eq!(EventType::of_transition(&Transition::Refund { amount: 100 }, Captured), [EventType::RefundCreated]);
    assert_eq!(EventType::of_transition(&Transition::Refund { amount: 100 }, Refunded), [EventType::RefundCreated, EventType::PaymentRefunded]);
    assert_eq!(EventType::of_transition(&Transition::ChargeBack, ChargedBack), [EventType::PaymentChargedBack]);
}

#[test]
fn event_sets_are_known_names_without_repeats() {
    let set = EventSet::parse(&["payment.failed", " payment.captured", "payment.failed", ""]).unwrap();
    assert_eq!(set.types(), [EventType::PaymentCaptured, EventType::PaymentFailed]);
    assert_eq!(set.stored(), " payment.captured payment.failed ");
    assert_eq!(EventSet::from_stored(&set.stored()), set);
    assert!(set.contains(EventType::Ping) && !set.contains(EventType::PaymentExpired));
    assert_eq!(EventSet::parse::<&str>(&[]), Err(FieldError::Required));
    assert_eq!(EventSet::parse(&["", " "]), Err(FieldError::Required));
    assert_eq!(EventSet::parse(&["payment.created"]), Err(FieldError::NotAllowed));
    assert_eq!(EventSet::parse(&["ping"]), Err(FieldError::NotAllowed));
    // `payment.refunded` must not match inside `payment.refund.created` and vice versa.
    let only_full = EventSet::parse(&["payment.refunded"]).unwrap().stored();
    assert!(!like(&only_full, &subscribed_pattern(EventType::RefundCreated)));
    assert!(like(&only_full, &subscribed_pattern(EventType::PaymentRefunded)));
}

/// SQL's LIKE with `%` only, enough for the patterns above.
fn like(text: &str, pattern: &str) -> bool {
    let inner = pattern.trim_matches('%');
    text.contains(inner)
}

/// Hosts that reach the server's own network however they are written.
/// Each must be refused, in test and live mode alike.
const HOSTILE_HOSTS: &[&str] = &[
    "2130706433",
    "127.1",
    "127.0.1",
    "0x7f.1",
    "0x7f000001",
    "0177.0.0.1",
    "0177.1",
    "017700000001",
    "0",
    "0.0.0.0",
    "0x0",
    "127.000.000.001",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "[::1]",
    "[::]",
    "[0:0:0:0:0:0:0:1]",
    "[fe80::1]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[ff02::1]",
    "[64:ff9b::a00:1]",
    "[64:ff9b:1::1]",
    "[2002:7f00:1::1]",
    "[2002:a00:1::]",
    "[2001:db8::1]",
    "[2001:0:4136:e378::1]",
    "[fec0::1]",
    "[100::1]",
    "10.0.0.1",
    "0xa.0.0.1",
    "167772161",
    "172.16.0.1",
    "192.168.1.1",
    "0xc0.0xa8.1.1",
    "169.254.169.254",
    "0xa9fea9fe",
    "2852039166",
    "100.64.0.1",
    "100.127.255.254",
    "192.0.0.8",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
    "metadata.google.internal",
    "printer.local",
    "127.0.0.1.",
    "[::ffff:169.254.169.254]",
];

#[test]
#[cfg(feature = "ssr")]
fn endpoints_never_reach_inside_however_the_host_is_written() {
    assert!(HOSTILE_HOSTS.len() >= 30);
    for host in HOSTILE_HOSTS {
        for (scheme, mode) in [("http", Mode::Test), ("https", Mode::Live)] {
            let url = format!("{scheme}://{host}:8080/hook");
            let refused = EndpointUrl::parse(&url, mode, false);
            assert!(matches!(refused, Err(FieldError::UrlPrivate | FieldError::InvalidUrl)), "{url}: {refused:?}");
            assert!(!client_host_is_public(&url), "{url}");
        }
    }
    for public in ["https://8.8.8.8/", "https://[2606:4700::1111]/", "https://shop.example.com/h", "https://0x8.8.8.8/"] {
        assert!(client_host_is_public(public), "{public}");
        assert!(EndpointUrl::parse(public, Mode::Live, false).is_ok(), "{public}");
    }
}

#[test]
fn endpoint_urls() {
    let ok = |u: &str, mode| EndpointUrl::parse(u, mode, false).map(|u| u.as_str().to_owned());
    assert_eq!(ok(" https://shop.example.com/hooks?x=1 ", Mode::Live).unwrap(), "https://shop.example.com/hooks?x=1");
    assert!(ok("http://shop.example.com/hooks", Mode::Test).is_ok());
    assert_eq!(ok("http://shop.example.com/hooks", Mode::Live), Err(FieldError::UrlNotHttps));
    assert!(ok("https://shop.example.com:8443/h", Mode::Live).is_ok());
    for bad in [
        "shop.example.com",
        "ftp://x.example",
        "https://",
        "https://a b.example/",
        "https://user:pw@x.example/",
        "https://x.example/#frag",
        "https://x.example:99999/",
        "https://exa_mple.com/",
        "https://[zz]/",
    ] {
        assert_eq!(ok(bad, Mode::Test), Err(FieldError::InvalidUrl), "{bad}");
    }
    assert_eq!(ok("", Mode::Test), Err(FieldError::Required));
    for private in [
        "http://localhost:4000/h",
        "http://127.0.0.1/h",
        "https://10.1.2.3/",
        "https://192.168.0.10/",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]:8080/",
        "https://[fd00::1]/",
        "https://[::ffff:10.0.0.1]/",
        "https://db.internal/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
    ] {
        assert_eq!(ok(private, Mode::Test), Err(FieldError::UrlPrivate), "{private}");
        assert!(EndpointUrl::parse(private, Mode::Test, true).is_ok(), "{private} when allowed");
    }
    assert!(ok("https://8.8.8.8/", Mode::Live).is_ok());
    assert!(ok("https://[2606:4700::1111]/", Mode::Live).is_ok());
    assert_eq!(ok(&format!("https://x.example/{}", "a".repeat(URL_MAX)), Mode::Test), Err(FieldError::TooLong { max: URL_MAX as u32 }));
}

#[test]
fn retries_back_off_and_stop_after_a_day() {
    let base = 30_000;
    assert_eq!(retry_delay_ms(1, base), 30_000);
    assert_eq!(retry_delay_ms(2, base), 60_000);
    assert_eq!(retry_delay_ms(5, base), 480_000);
    assert_eq!(retry_delay_ms(60, base), MAX_RETRY_DELAY_MS);
    // Simulate a receiver that is down for good: attempts stop inside the window.
    let created = 1_000_000;
    let give_up = created + RETRY_WINDOW_MS;
    let (mut now, mut attempts) = (created, 1);
    while let Some(next) = next_attempt_at(attempts, now, give_up, base) {
        assert!(next > now && next <= give_up);
        now = next;
        attempts += 1;
    }
    assert!((10..=16).contains(&attempts), "{attempts} attempts in a day");
    assert!(give_up - now < MAX_RETRY_DELAY_MS, "the last attempt is near the end of the window");
}
