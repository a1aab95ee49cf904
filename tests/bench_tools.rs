//! Unit tests of the benchmark's own parsers and judges (`bench/`), run with
//! every `cargo test` so a broken parser cannot report a false budget.
#![allow(dead_code)]

#[path = "../bench/checkout.rs"]
mod checkout;
#[path = "../bench/report.rs"]
mod report;
#[path = "../bench/scale.rs"]
mod scale;
#[path = "../bench/server.rs"]
mod server;

mod report_tests {
    use crate::report::*;

    #[test]
    fn budgets_judge_the_figure_or_its_ratio() {
        assert!(Row::new("a", 5.0, "ms", Budget::AtMost(5.0)).passes());
        assert!(!Row::new("a", 5.1, "ms", Budget::AtMost(5.0)).passes());
        assert!(Row::new("a", 60.0, "req/s", Budget::RatioAtLeast(0.5)).against("b", 100.0).passes());
        assert!(!Row::new("a", 40.0, "req/s", Budget::RatioAtLeast(0.5)).against("b", 100.0).passes());
        assert!(Row::new("a", 0.5, "ms", Budget::SpeedupAtLeast(100.0)).against("b", 60.0).passes());
        assert!(!Row::new("a", 0.7, "ms", Budget::SpeedupAtLeast(100.0)).against("b", 60.0).passes());
        assert!(!Row::new("a", 1.0, "ms", Budget::RatioAtLeast(0.5)).passes(), "no baseline, no pass");
        assert_eq!(number(1234567.0, "B"), "1,234,567 B");
        assert_eq!(number(2.345, "ms"), "2.35 ms");
    }
}

mod checkout_tests {
    use crate::checkout::*;

    #[test]
    fn reads_wrk_output() {
        let out = "Running 5s test @ http://127.0.0.1:1/\n  2 threads and 32 connections\n  Latency Distribution\n     50%  1.20ms\n     75%    2.00ms\n     90%    3.00ms\n     99%   12.34ms\n  1000 requests in 5.00s, 1.00MB read\n  Non-2xx or 3xx responses: 3\nRequests/sec:   2000.50\nTransfer/sec:      1.00MB\n";
        let r = parse_wrk(out).unwrap();
        assert_eq!(r.requests_per_sec, 2000.5);
        assert!((r.p99_ms - 12.34).abs() < 1e-9);
        assert_eq!(r.errors, 3);
        assert_eq!(duration_ms("850.00us"), Some(0.85));
        assert_eq!(duration_ms("1.50s"), Some(1500.0));
    }

    #[test]
    fn finds_stylesheets_and_scripts() {
        let html = r#"<head><link rel="stylesheet" href="/pkg/a.css"/><script src="/checkout.js" defer></script><a href="/x">"#;
        let found = subresources(html);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].1, "/checkout.js");
    }
}

mod scale_tests {
    use crate::scale::plan_uses_indexes;

    #[test]
    fn judges_plans() {
        let s = |v: &[&str]| v.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        assert!(plan_uses_indexes(&s(&["SCAN p USING INDEX payments_list", "SEARCH l USING INTEGER PRIMARY KEY (rowid=?)"])));
        assert!(!plan_uses_indexes(&s(&["SCAN p", "USE TEMP B-TREE FOR ORDER BY"])));
        assert!(plan_uses_indexes(&s(&[
            "Limit  (cost=0.85..10.2 rows=51 width=300)",
            "  ->  Nested Loop",
            "        ->  Index Scan using payments_list on payments p"
        ])));
        assert!(!plan_uses_indexes(&s(&["Limit", "  ->  Sort", "        ->  Seq Scan on payments p"])));
        assert!(!plan_uses_indexes(&[]));
    }
}
