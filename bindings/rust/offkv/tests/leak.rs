//! Opening and closing 10,000 watches frees every closure state and keeps memory
//! bounded. Alone in its binary so that no other test changes the counts.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;

fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn ten_thousand_watches() {
    for_each_backend("leak", |url| {
        let client = open(url);
        client.set("/k", b"").unwrap();
        let fired = Arc::new(AtomicUsize::new(0));
        let base_states = offkv::live_callback_states();
        let round = |n: usize| {
            for i in 0..n {
                let f = Arc::clone(&fired);
                let count = move |_| {
                    f.fetch_add(1, Ordering::Relaxed);
                };
                match i % 4 {
                    0 => drop(client.exists_watch_with("/k", count).unwrap()),
                    1 => drop(client.get_watch_with("/k", count).unwrap()),
                    2 => drop(client.watch_persistent_with("/k", count).unwrap()),
                    _ => drop(client.children_watch("/k").unwrap()),
                }
            }
        };
        round(1_000); // warm-up: allocator pools, lazily created state
        // The count does track live states: a kept watch is one more.
        let kept = client.exists_watch_with("/k", |_| {}).unwrap();
        assert_eq!(offkv::live_callback_states(), base_states + 1);
        drop(kept);
        assert_eq!(offkv::live_callback_states(), base_states);
        let rss_before = rss_kib();
        round(10_000);
        let rss_after = rss_kib();
        assert_eq!(
            offkv::live_callback_states(),
            base_states,
            "every closure state freed once"
        );
        // Each dropped closure held a clone of `fired`: only ours is left.
        assert_eq!(Arc::strong_count(&fired), 1);
        assert_eq!(
            fired.load(Ordering::Relaxed),
            0,
            "cancelled watches never fire"
        );
        let grown = rss_after.saturating_sub(rss_before);
        eprintln!(
            "[leak] {}: RSS {rss_before} -> {rss_after} KiB",
            scheme(url)
        );
        assert!(
            grown < 16 * 1024,
            "RSS grew by {grown} KiB over 10,000 watches"
        );
    });
}
