mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::*;
use offkv::{ErrorKind, RecipeEventKind};

#[test]
fn election() {
    for_each_backend("election", |url| {
        let (c1, c2) = (open(url), open(url));
        let (tx1, rx1) = channel();
        let a = c1
            .contend_with("/svc", b"a:1", move |e| {
                tx1.send((e.kind, e.error, e.member)).unwrap()
            })
            .unwrap();
        let (kind, _, member) = recv(&rx1);
        assert_eq!(kind, RecipeEventKind::Leader);
        assert_eq!(member.unwrap().payload, b"a:1");
        assert!(a.is_leader().unwrap());
        assert_eq!(a.key(), "/svc");

        let (tx2, rx2) = channel();
        let b = c2
            .contend_with("/svc", b"b:1", move |e| tx2.send(e.kind).unwrap())
            .unwrap();
        assert!(!b
            .wait_leader(true, Some(Duration::from_millis(200)))
            .unwrap());
        assert!(!b.is_leader().unwrap());
        let mb = b.member().unwrap().expect("b has a member node");
        let ma = a.member().unwrap().unwrap();
        assert!(mb.sequence > ma.sequence && mb.key.starts_with("/svc/member-"));

        // The leader's session ends: it is told (Closed), and b takes over.
        c1.close().unwrap();
        let (kind, error, _) = recv(&rx1);
        assert_eq!(
            (kind, error),
            (RecipeEventKind::NotLeader, Some(ErrorKind::Closed))
        );
        assert_eq!(recv(&rx2), RecipeEventKind::Leader);
        assert!(b.is_leader().unwrap());
        assert_eq!(
            a.wait_leader(true, Some(WAIT)).unwrap_err().kind,
            ErrorKind::Closed
        );

        // Withdraw: NotLeader (no error) first, then nothing.
        b.withdraw().unwrap();
        assert_eq!(recv(&rx2), RecipeEventKind::NotLeader);
        b.withdraw().unwrap();
        assert!(b.member().unwrap().is_none());
        quiet(&rx2, Duration::from_millis(200));
    });
}

/// A contender that withdraws from inside its own callback gets its NotLeader
/// after the callback returns (nested delivery), then nothing more.
#[test]
fn election_withdraw_in_callback() {
    for_each_backend("election-nested", |url| {
        let c = open(url);
        let (tx, rx) = channel();
        // No lock of ours is held while calling into the library (docs/c-api.md:
        // withdraw waits for the callbacks, which would wait for that lock).
        let slot: Arc<OnceLock<offkv::Election>> = Arc::new(OnceLock::new());
        let own = Arc::downgrade(&slot);
        let withdrawn = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&withdrawn);
        let e = c
            .contend_with("/g", b"", move |ev| {
                tx.send(ev.kind).unwrap();
                if ev.kind == RecipeEventKind::Leader {
                    if let Some(e) = own.upgrade().as_ref().and_then(|s| s.get()) {
                        e.withdraw().unwrap();
                        flag.store(true, Ordering::SeqCst);
                    }
                }
            })
            .unwrap();
        assert!(slot.set(e).is_ok());
        assert_eq!(recv(&rx), RecipeEventKind::Leader);
        // The first Leader may have come before the election was in the slot: then
        // withdraw from here.
        if !withdrawn.load(Ordering::SeqCst) {
            slot.get().unwrap().withdraw().unwrap();
        }
        assert_eq!(recv(&rx), RecipeEventKind::NotLeader);
        quiet(&rx, Duration::from_millis(200));
        assert!(!slot.get().unwrap().is_leader().unwrap());
    });
}

#[test]
fn detector() {
    for_each_backend("detector", |url| {
        let c = open(url);
        let (tx, rx) = channel();
        let d = c
            .detector_with("/svc", move |e| {
                tx.send((e.kind, e.member.map(|m| m.payload))).unwrap()
            })
            .unwrap();
        assert_eq!(recv(&rx), (RecipeEventKind::Detected, None));
        assert!(d.leader().unwrap().is_none());
        let a = c.contend("/svc", b"a").unwrap();
        assert_eq!(recv(&rx), (RecipeEventKind::Detected, Some(b"a".to_vec())));
        let leader = d.wait(None, Some(WAIT)).unwrap().unwrap();
        assert_eq!(leader.payload, b"a");
        let b = c.contend("/svc", b"b").unwrap();
        assert_eq!(
            d.wait(Some(&leader.key), Some(Duration::from_millis(200)))
                .unwrap_err()
                .kind,
            ErrorKind::Timeout
        );
        drop(a);
        let next = d.wait(Some(&leader.key), Some(WAIT)).unwrap().unwrap();
        assert_eq!(next.payload, b"b");
        drop(b);
        assert!(
            d.wait(Some(&next.key), Some(WAIT)).unwrap().is_none(),
            "no leader"
        );
        // A plain detector without a closure, then close.
        let plain = c.detector("/svc").unwrap();
        plain.close().unwrap();
        plain.close().unwrap();
        assert_eq!(
            plain.wait(None, Some(WAIT)).unwrap_err().kind,
            ErrorKind::Closed
        );
        d.close().unwrap();
        let _ = c.contend("/svc", b"c").unwrap();
        let mut after_close = Vec::new();
        while let Ok(ev) = rx.recv_timeout(Duration::from_millis(200)) {
            after_close.push(ev);
        }
        assert!(
            after_close
                .iter()
                .all(|(_, p)| p.as_deref() != Some(b"c".as_slice())),
            "{after_close:?}"
        );
    });
}

#[test]
fn group_membership() {
    for_each_backend("group", |url| {
        let (c1, c2) = (open(url), open(url));
        let (tx, rx) = channel();
        let observer = c1
            .group_with("/workers", move |e| {
                assert_eq!(e.kind, RecipeEventKind::Members);
                tx.send(e.members.into_iter().map(|m| m.payload).collect::<Vec<_>>())
                    .unwrap()
            })
            .unwrap();
        assert_eq!(recv(&rx), Vec::<Vec<u8>>::new());
        let a = c1.group("/workers").unwrap();
        let b = c2.group("/workers").unwrap();
        a.join(b"a").unwrap();
        b.join(b"b").unwrap();
        let wanted = |want: Vec<&[u8]>| {
            eventually("membership", || rx.recv_timeout(WAIT).unwrap() == want);
        };
        wanted(vec![b"a", b"b"]);
        b.update(b"b2").unwrap();
        wanted(vec![b"a", b"b2"]);
        assert_eq!(b.self_member().unwrap().unwrap().payload, b"b2");
        assert_eq!(a.join(b"again").unwrap_err().kind, ErrorKind::Invalid);
        a.leave().unwrap();
        assert_eq!(a.leave().unwrap_err().kind, ErrorKind::Invalid);
        assert_eq!(a.update(b"x").unwrap_err().kind, ErrorKind::Invalid);
        wanted(vec![b"b2"]);
        c2.close().unwrap(); // b's session ends: it leaves
        wanted(vec![]);
        assert!(observer.members().unwrap().is_empty());
        observer.close().unwrap();
        a.join(b"late").unwrap();
        quiet(&rx, Duration::from_millis(200));
        drop(b);
    });
}

#[test]
fn lock_excludes_and_guard_releases() {
    for_each_backend("lock", |url| {
        let client = Arc::new(open(url));
        let inside = Arc::new(AtomicBool::new(false));
        let entered = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (client, inside, entered) = (
                    Arc::clone(&client),
                    Arc::clone(&inside),
                    Arc::clone(&entered),
                );
                std::thread::spawn(move || {
                    let lock = client.lock("/locks/db").unwrap();
                    for _ in 0..5 {
                        let guard = lock
                            .acquire(Some(WAIT))
                            .unwrap()
                            .expect("acquired within 20 s");
                        assert!(lock.is_held().unwrap());
                        assert!(!inside.swap(true, Ordering::SeqCst), "two holders at once");
                        entered.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(2));
                        inside.store(false, Ordering::SeqCst);
                        drop(guard); // releases
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(entered.load(Ordering::SeqCst), 20);

        let (a, b) = (client.lock("/l").unwrap(), client.lock("/l").unwrap());
        let guard = a.try_acquire().unwrap().expect("free lock");
        assert_eq!(guard.lock().key(), "/l");
        let fence = a.member().unwrap().unwrap();
        assert!(fence.key.starts_with("/l/member-"));
        assert!(b.try_acquire().unwrap().is_none());
        assert!(b.member().unwrap().is_none());
        assert_eq!(
            a.acquire(Some(Duration::ZERO)).unwrap_err().kind,
            ErrorKind::Invalid,
            "not reentrant"
        );
        guard.release().unwrap();
        assert!(!a.is_held().unwrap());
        let held = b.acquire(Some(WAIT)).unwrap().unwrap();
        // Lost lock: someone erases the member node; release reports Session.
        let fence = b.member().unwrap().unwrap();
        client.erase(&fence.key, 0).unwrap();
        // is_held is a local belief that does not notice the erase (docs/recipes.md);
        // release does.
        assert_eq!(held.release().unwrap_err().kind, ErrorKind::Session);
    });
}

/// A label reaches the core: members are `<label>_<10 digits>` (Mesos' names), and a
/// labeled recipe sees only members with its label.
#[test]
fn labeled_recipes_use_mesos_layout() {
    for_each_backend("labeled", |url| {
        let (master, c) = (open(url), open(url));
        assert_eq!(offkv::MESOS_MASTER_LABEL, "json.info");
        assert_eq!(
            offkv_sys::OFFKV_MESOS_MASTER_LABEL,
            b"json.info\0",
            "the header's label"
        );
        // A Mesos master's own node, written as Mesos writes it.
        master
            .create("/mesos", b"", offkv::CreateMode::Persistent)
            .unwrap();
        let native = master
            .create(
                "/mesos/json.info_",
                br#"{"id":"m1"}"#,
                offkv::CreateMode::EphemeralSequential,
            )
            .unwrap();
        let mesos = c.labeled(offkv::MESOS_MASTER_LABEL).unwrap();
        assert_eq!(mesos.label(), "json.info");
        let e = mesos.contend("/mesos", br#"{"id":"offkv"}"#).unwrap();
        assert_eq!(e.label(), Some("json.info"));
        let mut me = None;
        eventually("the labeled member", || {
            me = e.member().unwrap();
            me.is_some()
        });
        let me = me.unwrap();
        let name = me
            .key
            .strip_prefix("/mesos/json.info_")
            .expect("a json.info_ name");
        assert_eq!(name, format!("{:010}", me.sequence), "{}", me.key);
        assert!(!e
            .wait_leader(true, Some(Duration::from_millis(200)))
            .unwrap());

        let (tx, rx) = channel();
        let det = mesos
            .detector_with("/mesos", move |ev| {
                tx.send(ev.member.map(|m| m.key)).unwrap()
            })
            .unwrap();
        assert_eq!(det.label(), Some("json.info"));
        assert_eq!(det.wait(None, Some(WAIT)).unwrap().unwrap().key, native);
        let plain = c.detector("/mesos").unwrap();
        assert_eq!(plain.label(), None);
        assert_eq!(plain.leader().unwrap(), None); // offkv's own names: no member
        let g = mesos.group("/mesos").unwrap();
        let keys: Vec<String> = g.members().unwrap().into_iter().map(|m| m.key).collect();
        assert_eq!(keys, vec![native.clone(), me.key.clone()]);

        master.close().unwrap(); // the master's session ends: offkv's contender leads
        assert!(e.wait_leader(true, Some(WAIT)).unwrap());
        assert_eq!(
            det.wait(Some(&native), Some(WAIT)).unwrap().unwrap().key,
            me.key
        );
        let mut seen = Vec::new();
        while let Ok(k) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(k);
        }
        assert_eq!(seen.last(), Some(&Some(me.key.clone())));
        g.join(b"g").unwrap();
        let own = g.self_member().unwrap().unwrap();
        assert!(own.key.starts_with("/mesos/json.info_"), "{}", own.key);

        for bad in ["", "a/b", "json_info"] {
            let l = c.labeled(bad).unwrap();
            let err = l.contend("/m", b"").unwrap_err();
            assert_eq!(err.kind, ErrorKind::Invalid, "{bad:?}");
            assert!(err.message.contains("label"), "{}", err.message);
            assert_eq!(l.detector("/m").unwrap_err().kind, ErrorKind::Invalid);
            assert_eq!(l.group("/m").unwrap_err().kind, ErrorKind::Invalid);
        }
        assert_eq!(c.labeled("a\0b").unwrap_err().kind, ErrorKind::Invalid);
        assert_eq!(c.exists("/m").unwrap(), 0); // refused before any write
    });
}
