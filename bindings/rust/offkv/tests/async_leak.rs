//! Asynchronous call states are freed exactly once: when futures are awaited, when
//! they are dropped before their completion ran, and over 10,000 calls. Alone in its
//! binary so that no other test changes the live-state counts.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use offkv::{Client, CreateMode, ErrorKind, Txn};

/// Waits until every asynchronous call state is freed (completions of dropped
/// futures run on the event thread, a little later).
fn states_back_to(base: usize, what: &str) {
    eventually(what, || offkv::live_async_states() == base);
    assert_eq!(offkv::live_async_states(), base, "{what}");
}

/// Starts one call of kind `i % 10` (every async method).
fn one_call(c: &Client, txn: &Txn, fired: &Arc<AtomicUsize>, i: usize) -> Box<dyn Send> {
    let key = format!("/k{}", i % 7);
    let f = Arc::clone(fired);
    let count = move |_| {
        f.fetch_add(1, Ordering::Relaxed);
    };
    match i % 10 {
        0 => Box::new(c.set_async(&key, b"v")),
        1 => Box::new(c.get_async("/k0")),
        2 => Box::new(c.exists_async(&key)),
        3 => Box::new(c.children_async("/k0")),
        4 => Box::new(c.cas_async(&key, b"w", 999)),
        5 => Box::new(c.create_async("/k0/s-", b"", CreateMode::Sequential)),
        6 => Box::new(c.commit_async(txn)),
        7 => Box::new(c.get_watch_with_async("/k0", count)),
        8 => Box::new(c.exists_watch_with_async(&key, count)),
        _ => Box::new(c.children_watch_async("/k0")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_freed_once() {
    for base_url in backend_urls() {
        let url = isolated(&base_url, "async-leak");
        eprintln!("[async-leak] backend {}", scheme(&url));
        let c = open(&url);
        c.set("/k0", b"").unwrap();
        let mut txn = Txn::new().unwrap();
        txn.set("/t", b"x");
        let fired = Arc::new(AtomicUsize::new(0));
        let base = offkv::live_async_states();
        let base_callbacks = offkv::live_callback_states();

        // The counter does count: a pending call is one state until awaited.
        let pending = c.set_async("/k0", b"");
        assert_eq!(offkv::live_async_states(), base + 1);
        pending.await.unwrap();
        // The completion may still be letting go of its reference for a moment.
        states_back_to(base, "an awaited call's state is freed");
        // An error found at once frees its state at once too.
        let bad = c.get_async("bad");
        assert_eq!(offkv::live_async_states(), base);
        assert_eq!(bad.await.unwrap_err().kind, ErrorKind::Invalid);

        // Futures dropped before completing: the completions still run, later, and
        // free each state once (and each unclaimed watch with its closure).
        for i in 0..1_000 {
            drop(one_call(&c, &txn, &fired, i));
        }
        states_back_to(base, "the states of 1,000 dropped futures are freed");
        eventually("closure states of unclaimed watches freed", || {
            offkv::live_callback_states() == base_callbacks
        });
        assert_eq!(
            fired.load(Ordering::Relaxed),
            0,
            "unclaimed watches were cancelled"
        );
        // The dropped calls did run: the sets on /k0 took effect.
        assert!(c.exists("/k0").unwrap() > 1);

        // 10,000 calls, every kind, awaited in batches of 500 in flight.
        let mut resolved = 0;
        for batch in 0..20 {
            let mut gets = Vec::new();
            let mut others = Vec::new();
            for i in 0..500 {
                let n = batch * 500 + i;
                if n % 2 == 0 {
                    gets.push(c.get_async("/k0"));
                } else {
                    others.push(c.set_async(&format!("/k{}", n % 7), b"v"));
                }
            }
            for (v, _) in futures::future::try_join_all(gets).await.unwrap() {
                assert!(v.is_empty() || v == b"v");
                resolved += 1;
            }
            resolved += futures::future::try_join_all(others).await.unwrap().len();
        }
        assert_eq!(resolved, 10_000);
        states_back_to(base, "10,000 awaited calls leave no state");

        // Calls in flight when the client goes: every state freed too.
        let in_flight: Vec<_> = (0..200).map(|i| one_call(&c, &txn, &fired, i)).collect();
        drop(c);
        drop(in_flight);
        states_back_to(base, "calls in flight at drop leave no state");
        // The client's own session state went with it.
        assert_eq!(offkv::live_callback_states(), base_callbacks - 1);
        assert_eq!(Arc::strong_count(&fired), 1, "every closure dropped");
        eprintln!("[async-leak] backend {} ok", scheme(&url));
    }
}
