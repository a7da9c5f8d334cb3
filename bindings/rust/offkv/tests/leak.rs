//! Opening and closing 10,000 watches frees every closure state exactly once and
//! keeps memory bounded. Alone in its binary so that no other test changes the counts.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use offkv::Client;

fn rss_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Opens and drops `2 * half` watches of the kinds `kinds` picks from (0: exists
/// with a closure, 1: get with a closure, 2: children without, 3: persistent with a
/// closure), and asserts that every closure state is freed, none fired, and the RSS
/// of the second half stays within 3 MiB of the first's (a leak of even 1 KiB per
/// watch would be 5 MiB at half = 5,000).
fn open_and_drop(client: &Client, kinds: &[usize], half: usize) {
    client.set("/k", b"").unwrap();
    let fired = Arc::new(AtomicUsize::new(0));
    let base_states = offkv::live_callback_states();
    let round = |n: usize| {
        for i in 0..n {
            let f = Arc::clone(&fired);
            let count = move |_| {
                f.fetch_add(1, Ordering::Relaxed);
            };
            match kinds[i % kinds.len()] {
                0 => drop(client.exists_watch_with("/k", count).unwrap()),
                1 => drop(client.get_watch_with("/k", count).unwrap()),
                2 => drop(client.children_watch("/k").unwrap()),
                _ => drop(client.watch_persistent_with("/k", count).unwrap()),
            }
        }
    };
    // A change of /k and of its children: on zk:// a cancelled one-shot watch stays
    // registered with the server until its node changes (ZooKeeper cannot drop it),
    // holding ~1 KiB; the change releases those.
    let churn = || {
        client.set("/k", b"x").unwrap();
        client.set("/k/c", b"").unwrap();
        client.erase("/k/c", 0).unwrap();
    };
    round(half); // also the warm-up: allocator pools, lazily created state
    churn();
    assert_eq!(offkv::live_callback_states(), base_states);
    // The count does track live states: a kept watch is one more.
    let kept = client.exists_watch_with("/k", |_| {}).unwrap();
    assert_eq!(offkv::live_callback_states(), base_states + 1);
    drop(kept);
    let rss_before = rss_kib();
    round(half);
    churn();
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
    eprintln!("[leak] {kinds:?}: RSS {rss_before} -> {rss_after} KiB");
    assert!(
        grown < 3 * 1024,
        "RSS grew by {grown} KiB over {half} watches after as many before"
    );
}

#[test]
fn ten_thousand_watches() {
    for_each_backend("leak", |url| {
        let client = open(url);
        // zk:// persistent watches: see zk_persistent_watches below.
        let kinds: &[usize] = if scheme(url) == "zk" {
            &[0, 1, 2]
        } else {
            &[0, 1, 2, 3]
        };
        open_and_drop(&client, kinds, 5_000);
    });
}

/// liboffkv defect (found by this test, reported): on zk:// every cancelled
/// persistent watch keeps about 1.6 KiB for the life of the client. Run with
/// `cargo test --test leak -- --ignored` and a zk:// URL.
#[test]
#[ignore = "liboffkv defect: zk:// persistent watches keep ~1.6 KiB each after cancel"]
fn zk_persistent_watches() {
    let urls: Vec<_> = backend_urls()
        .into_iter()
        .filter(|u| scheme(u) == "zk")
        .collect();
    assert!(
        !urls.is_empty(),
        "this test needs a zk:// URL in OFFKV_TEST_URL(_FILE)"
    );
    for base in urls {
        let client = open(&isolated(&base, "leak-zk-persistent"));
        open_and_drop(&client, &[3], 5_000);
    }
}
