//! The `*_async` calls under tokio (multi-thread runtime), on every backend: each
//! operation's results and errors, many calls in flight, chaining, and close / drop
//! of the client with calls in flight.
mod common;

use std::future::Future;
use std::sync::mpsc::channel;
use std::sync::Arc;

use common::*;
use offkv::{CreateMode, ErrorKind, EventKind, Txn, MAX_VALUE_SIZE};

/// Runs `f(url)` once per backend, each with an isolated URL.
async fn each_backend<F, Fut>(name: &str, f: F)
where
    F: Fn(String) -> Fut,
    Fut: Future<Output = ()>,
{
    for base in backend_urls() {
        let url = isolated(&base, name);
        eprintln!("[{name}] backend {}", scheme(&url));
        f(url.clone()).await;
        eprintln!("[{name}] backend {} ok", scheme(&url));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_operations() {
    each_backend("async-ops", |url| async move {
        let c = open(&url);
        assert_eq!(
            c.create_async("/a", b"1", CreateMode::Persistent)
                .await
                .unwrap(),
            "/a"
        );
        let err = c
            .create_async("/a", b"1", CreateMode::Persistent)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Exists);
        assert_eq!(err.key.as_deref(), Some("/a"));
        assert!(!err.message.is_empty());
        let err = c
            .create_async("/none/x", b"", CreateMode::Persistent)
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoEntry);
        let s1 = c
            .create_async("/a/s-", b"", CreateMode::Sequential)
            .await
            .unwrap();
        let s2 = c
            .create_async("/a/s-", b"", CreateMode::Sequential)
            .await
            .unwrap();
        assert!(
            s1.starts_with("/a/s-") && s1.len() == "/a/s-".len() + 10,
            "{s1}"
        );
        assert!(s2 > s1, "{s2} after {s1}");
        let e = c
            .create_async("/a/e", b"", CreateMode::Ephemeral)
            .await
            .unwrap();
        assert_eq!(
            c.create_async("/a/e/x", b"", CreateMode::Persistent)
                .await
                .unwrap_err()
                .kind,
            ErrorKind::Ephemeral
        );
        assert_eq!(c.exists(&e).unwrap(), 1);

        assert_eq!(c.set_async("/a", b"2").await.unwrap(), 2);
        assert_eq!(c.cas_async("/a", b"3", 2).await.unwrap(), 3);
        assert_eq!(
            c.cas_async("/a", b"x", 2).await.unwrap_err().kind,
            ErrorKind::Version
        );
        assert_eq!(c.cas_async("/n", b"new", 0).await.unwrap(), 1);
        let all: Vec<u8> = (0..=255u8).collect();
        c.set_async("/bin", &all).await.unwrap();
        assert_eq!(c.get_async("/bin").await.unwrap(), (all, 1));
        assert_eq!(c.set_async("/empty", b"").await.unwrap(), 1);
        assert_eq!(c.get_async("/empty").await.unwrap(), (Vec::new(), 1));
        assert_eq!(c.get_async("/a").await.unwrap(), (b"3".to_vec(), 3));
        let err = c.get_async("/missing").await.unwrap_err();
        assert_eq!(
            (err.kind, err.key.as_deref()),
            (ErrorKind::NoEntry, Some("/missing"))
        );
        assert_eq!(c.exists_async("/a").await.unwrap(), 3);
        assert_eq!(c.exists_async("/missing").await.unwrap(), 0);

        let mut kids = c.children_async("/a").await.unwrap();
        kids.sort();
        let mut want = vec![s1.clone(), s2.clone(), e.clone()];
        want.sort();
        assert_eq!(kids, want);
        assert_eq!(
            c.children_async("/missing").await.unwrap_err().kind,
            ErrorKind::NoEntry
        );

        assert_eq!(
            c.erase_async("/a", 1).await.unwrap_err().kind,
            ErrorKind::Version
        );
        c.erase_async("/a", 3).await.unwrap();
        assert_eq!(c.exists_async("/a").await.unwrap(), 0);
        assert_eq!(c.exists(&s1).unwrap(), 0, "the subtree went too");
        assert_eq!(
            c.erase_async("/a", 0).await.unwrap_err().kind,
            ErrorKind::NoEntry
        );

        // The largest value works asynchronously too.
        let big: Vec<u8> = (0..MAX_VALUE_SIZE).map(|i| (i % 251) as u8).collect();
        assert_eq!(c.set_async("/big", &big).await.unwrap(), 1);
        assert_eq!(c.get_async("/big").await.unwrap().0, big);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_found_without_io_resolve_at_once() {
    each_backend("async-immediate", |url| async move {
        let c = open(&url);
        let bad = c.get_async("no-slash");
        assert!(
            bad.is_done(),
            "an invalid key fails before anything is sent"
        );
        let err = bad.await.unwrap_err();
        assert_eq!(
            (err.kind, err.key.as_deref()),
            (ErrorKind::Invalid, Some("no-slash"))
        );
        assert!(!err.message.is_empty());
        let nul = c.set_async("/a\0b", b"");
        assert!(nul.is_done());
        assert_eq!(nul.await.unwrap_err().kind, ErrorKind::Invalid);
        let big = c.set_async("/big", &vec![0u8; MAX_VALUE_SIZE + 1]);
        assert!(big.is_done());
        assert_eq!(big.await.unwrap_err().kind, ErrorKind::TooBig);
        assert_eq!(c.exists("/big").unwrap(), 0, "nothing was written");
        let watch = c.exists_watch_async("bad");
        assert!(watch.is_done());
        assert_eq!(watch.await.unwrap_err().kind, ErrorKind::Invalid);
        let mut txn = Txn::new().unwrap();
        txn.set("bad key", b"");
        let commit = c.commit_async(&txn);
        assert!(commit.is_done());
        assert_eq!(commit.await.unwrap_err().kind, ErrorKind::Invalid);
        let mut huge = Txn::new().unwrap();
        for i in 0..=offkv::MAX_TXN_OPS {
            huge.set(&format!("/t{i}"), b"");
        }
        assert_eq!(
            c.commit_async(&huge).await.unwrap_err().kind,
            ErrorKind::TooBig
        );
        c.close().unwrap();
        let closed = c.set_async("/k", b"");
        assert!(closed.is_done(), "calls after close fail at once");
        assert_eq!(closed.await.unwrap_err().kind, ErrorKind::Closed);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions() {
    each_backend("async-txn", |url| async move {
        let c = open(&url);
        c.set("/config", b"v1").unwrap();
        let mut txn = Txn::new().unwrap();
        txn.check("/config", 1)
            .set("/config", b"v2")
            .create("/jobs", b"", CreateMode::Persistent)
            .create("/jobs/j-", b"", CreateMode::Sequential);
        let pending = c.commit_async(&txn);
        drop(txn); // the call copied it
        let results = pending.await.unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(
            (results[0].version, results[0].key.as_str()),
            (2, "/config")
        );
        assert_eq!((results[1].version, results[1].key.as_str()), (1, "/jobs"));
        assert!(results[2].key.starts_with("/jobs/j-") && results[2].key.len() == 18);

        // The failing index counts checks first: two checks, then ops.
        let mut bad = Txn::new().unwrap();
        bad.set("/x", b"")
            .check("/config", 2)
            .check("/config", 1)
            .erase("/jobs", 0);
        let err = c.commit_async(&bad).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::Txn);
        let failure = err.txn.expect("a failed commit says which item");
        assert_eq!((failure.index, failure.kind), (1, ErrorKind::Version));
        assert_eq!(c.exists("/x").unwrap(), 0, "nothing applied");
        let mut op_fails = Txn::new().unwrap();
        op_fails
            .check("/config", 2)
            .set("/y", b"")
            .create("/jobs", b"", CreateMode::Persistent);
        let err = c.commit_async(&op_fails).await.unwrap_err();
        let failure = err.txn.unwrap();
        assert_eq!((failure.index, failure.kind), (2, ErrorKind::Exists));
        assert_eq!(c.exists("/y").unwrap(), 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_arming_reads() {
    each_backend("async-watch", |url| async move {
        let c = open(&url);
        c.set("/k", b"v").unwrap();
        c.set("/d", b"").unwrap();

        let (value, version, watch) = c.get_watch_async("/k").await.unwrap();
        assert_eq!((value.as_slice(), version), (&b"v"[..], 1));
        assert_eq!(watch.key(), "/k");
        let (exists, exists_watch) = c.exists_watch_async("/absent").await.unwrap();
        assert_eq!(exists, 0);
        let (kids, kids_watch) = c.children_watch_async("/d").await.unwrap();
        assert!(kids.is_empty());

        c.set("/k", b"w").unwrap();
        let event = watch.wait(Some(WAIT)).unwrap();
        assert_eq!((event.kind, event.version), (EventKind::Changed, 2));
        c.set("/absent", b"").unwrap();
        assert_eq!(
            exists_watch.wait(Some(WAIT)).unwrap().kind,
            EventKind::Created
        );
        c.set("/d/x", b"").unwrap();
        assert_eq!(
            kids_watch.wait(Some(WAIT)).unwrap().kind,
            EventKind::Children
        );

        // The closure forms call back on the event thread.
        let (tx, rx) = channel();
        let t1 = tx.clone();
        let (_, _, w1) = c
            .get_watch_with_async("/k", move |e| {
                let _ = t1.send(("get", e.kind));
            })
            .await
            .unwrap();
        let t2 = tx.clone();
        let (version, w2) = c
            .exists_watch_with_async("/k", move |e| {
                let _ = t2.send(("exists", e.kind));
            })
            .await
            .unwrap();
        assert_eq!(version, 2);
        let (kids, w3) = c
            .children_watch_with_async("/d", move |e| {
                let _ = tx.send(("children", e.kind));
            })
            .await
            .unwrap();
        assert_eq!(kids, ["/d/x"]);
        c.erase("/k", 0).unwrap();
        c.set("/d/y", b"").unwrap();
        let mut got = vec![recv(&rx), recv(&rx), recv(&rx)];
        got.sort_by_key(|g| g.0);
        assert_eq!(
            got,
            [
                ("children", EventKind::Children),
                ("exists", EventKind::Deleted),
                ("get", EventKind::Deleted)
            ]
        );
        drop((w1, w2, w3));

        // A failed read leaves no watch and reports the read's error.
        let err = c.get_watch_async("/missing").await.unwrap_err();
        assert_eq!(
            (err.kind, err.key.as_deref()),
            (ErrorKind::NoEntry, Some("/missing"))
        );
        let err = c
            .children_watch_with_async("/missing", |_| panic!("no watch is left"))
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::NoEntry);
        c.set("/missing", b"").unwrap();
        c.set("/missing/c", b"").unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_in_flight_complete_in_call_order_per_key() {
    each_backend("async-many", |url| async move {
        let c = open(&url);
        const KEYS: usize = 20;
        const CALLS: usize = 500;
        // Started in this order; same-key calls must take effect in it.
        let calls: Vec<_> = (0..CALLS)
            .map(|i| {
                let key = format!("/k{}", i % KEYS);
                (i, c.set_async(&key, format!("{i}").as_bytes()))
            })
            .collect();
        let (indices, futures): (Vec<_>, Vec<_>) = calls.into_iter().unzip();
        let versions = futures::future::join_all(futures).await;
        for (i, version) in indices.into_iter().zip(versions) {
            let nth_on_key = (i / KEYS) as i64 + 1;
            assert_eq!(version.unwrap(), nth_on_key, "call {i}");
        }
        for k in 0..KEYS {
            let last = CALLS - KEYS + k;
            assert_eq!(
                c.get(&format!("/k{k}")).unwrap(),
                (format!("{last}").into_bytes(), (CALLS / KEYS) as i64)
            );
        }

        // Many tasks on one shared client at once; each task's calls on its own key
        // see their own versions in order.
        let c = Arc::new(c);
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..8 {
            let c = Arc::clone(&c);
            tasks.spawn(async move {
                let key = format!("/task{t}");
                let pending: Vec<_> = (0..25).map(|_| c.set_async(&key, b"x")).collect();
                let got: Vec<i64> = futures::future::try_join_all(pending).await.unwrap();
                assert_eq!(got, (1..=25).collect::<Vec<i64>>());
                let (_, version) = c.get_async(&key).await.unwrap();
                version
            });
        }
        let mut done = 0;
        while let Some(version) = tasks.join_next().await {
            assert_eq!(version.unwrap(), 25);
            done += 1;
        }
        assert_eq!(done, 8);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaining_results_into_calls() {
    each_backend("async-chain", |url| async move {
        let c = Arc::new(open(&url));
        c.create_async("/q", b"", CreateMode::Persistent)
            .await
            .unwrap();
        // In a spawned task: each result feeds the next call.
        let chain = {
            let c = Arc::clone(&c);
            tokio::spawn(async move {
                let key = c
                    .create_async("/q/item-", b"1", CreateMode::Sequential)
                    .await?;
                let (value, version) = c.get_async(&key).await?;
                let mut next = value.clone();
                next.push(b'2');
                let version = c.cas_async(&key, &next, version).await?;
                let children = c.children_async("/q").await?;
                let mut txn = Txn::new()?;
                txn.check(&children[0], version).set("/q/done", &next);
                let results = c.commit_async(&txn).await?;
                c.erase_async(&key, version).await?;
                Ok::<_, offkv::Error>((key, next, version, results))
            })
        };
        let (key, value, version, results) = chain.await.unwrap().unwrap();
        assert!(key.starts_with("/q/item-"));
        assert_eq!((value.as_slice(), version), (&b"12"[..], 2));
        assert_eq!(results[0].key, "/q/done");
        assert_eq!(c.exists(&key).unwrap(), 0);
        assert_eq!(c.get("/q/done").unwrap().0, b"12");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_or_drop_with_calls_in_flight() {
    each_backend("async-close", |url| async move {
        for how in ["close", "drop"] {
            let c = open(&url);
            c.set("/c0", b"").unwrap();
            let mut sets = Vec::new();
            let mut gets = Vec::new();
            let mut watches = Vec::new();
            let mut txns = Vec::new();
            let mut txn = Txn::new().unwrap();
            txn.set("/t", b"");
            for i in 0..100 {
                let key = format!("/c{}", i % 10);
                sets.push(c.set_async(&key, b"v"));
                gets.push(c.get_async("/c0"));
                watches.push(c.exists_watch_async(&key));
                txns.push(c.commit_async(&txn));
            }
            if how == "close" {
                c.close().unwrap();
            } else {
                drop(c);
            }
            // Every call has completed by now: all resolve, Ok or Closed.
            let (mut ok, mut closed) = (0, 0);
            let mut tally = |e: Option<offkv::Error>| match e {
                None => ok += 1,
                Some(e) if e.kind == ErrorKind::Closed => closed += 1,
                Some(e) => panic!("{how}: a call in flight got {e}"),
            };
            for f in sets {
                assert!(f.is_done(), "{how} completes every call in flight");
                tally(f.await.err());
            }
            for f in gets {
                assert!(f.is_done());
                tally(f.await.err());
            }
            for f in watches {
                assert!(f.is_done());
                // A watch handed out before the close has ended or ends.
                tally(f.await.err());
            }
            for f in txns {
                tally(f.await.err());
            }
            assert_eq!(ok + closed, 400, "{how}");
            eprintln!("[async-close] {how}: {ok} finished, {closed} closed");
        }
    })
    .await;
}

/// The root lists like any parent, asynchronously too (a liboffkv defect this test
/// found and that is fixed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_of_the_root() {
    each_backend("async-root", |url| async move {
        let c = open(&url);
        c.set("/a", b"").unwrap();
        assert_eq!(
            c.children("/").unwrap(),
            ["/a"],
            "the sync call lists the root"
        );
        assert_eq!(c.children_async("/").await.unwrap(), ["/a"]);
        let (kids, watch) = c.children_watch_async("/").await.unwrap();
        assert_eq!(kids, ["/a"]);
        c.set("/b", b"").unwrap();
        assert_eq!(watch.wait(Some(WAIT)).unwrap().kind, EventKind::Children);
    })
    .await;
}
