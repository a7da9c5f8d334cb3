mod common;

use common::*;
use offkv::{CreateMode, ErrorKind, OpResult, Txn, TxnFailure, ANY_VERSION};

#[test]
fn commit_applies_everything() {
    for_each_backend("txn-ok", |url| {
        let c = open(url);
        c.set("/config", b"v1").unwrap();
        c.set("/jobs", b"").unwrap();
        c.set("/old", b"").unwrap();
        c.set("/old/child", b"").unwrap();
        let mut txn = Txn::new().unwrap();
        txn.check("/config", 1)
            .check("/jobs", ANY_VERSION)
            .check("/absent", 0)
            .set("/config", b"v2")
            .create("/jobs/j-", b"\0bin", CreateMode::Sequential)
            .create("/e", b"", CreateMode::Ephemeral)
            .erase("/old", 1);
        assert_eq!(txn.len(), 7);
        // (The erase is of a subtree that existed before the txn: on zk:// a txn that
        // creates a *sequential* child of P and then erases P fails with Txn /
        // NotEmpty at the erase, while mem, etcd and consul apply it — a liboffkv
        // defect, reported.)
        let results = c.commit(&txn).unwrap();
        assert_eq!(results.len(), 4);
        assert_eq!(
            results[0],
            OpResult {
                version: 2,
                key: "/config".into()
            }
        );
        assert!(
            results[1].key.starts_with("/jobs/j-") && results[1].key.len() == "/jobs/j-".len() + 10
        );
        assert_eq!(results[1].version, 1);
        assert_eq!(
            results[2],
            OpResult {
                version: 1,
                key: "/e".into()
            }
        );
        assert_eq!(
            results[3],
            OpResult {
                version: 0,
                key: "/old".into()
            }
        );
        assert_eq!(c.get("/config").unwrap(), (b"v2".to_vec(), 2));
        assert_eq!(c.exists("/old/child").unwrap(), 0);
        assert_eq!(c.children("/jobs").unwrap(), [results[1].key.clone()]);
        assert!(
            c.commit(&Txn::new().unwrap()).unwrap().is_empty(),
            "an empty txn succeeds"
        );
    });
}

#[test]
fn failing_index_and_nothing_applied() {
    for_each_backend("txn-fail", |url| {
        let c = open(url);
        c.set("/a", b"1").unwrap();
        let fail = |txn: &Txn| {
            let err = c.commit(txn).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Txn, "{err}");
            err.txn.expect("a failed txn says where")
        };
        // A failing check: index among the checks.
        let mut t = Txn::new().unwrap();
        t.check("/a", 1).check("/a", 5).set("/a", b"x");
        assert_eq!(
            fail(&t),
            TxnFailure {
                index: 1,
                kind: ErrorKind::Version
            }
        );
        // A failing op: counted after the checks.
        let mut t = Txn::new().unwrap();
        t.check("/a", ANY_VERSION)
            .check("/b", 0)
            .set("/a", b"x")
            .create("/a", b"", CreateMode::Persistent);
        assert_eq!(
            fail(&t),
            TxnFailure {
                index: 3,
                kind: ErrorKind::Exists
            }
        );
        let mut t = Txn::new().unwrap();
        t.set("/a", b"x")
            .create("/missing/child", b"", CreateMode::Persistent);
        assert_eq!(
            fail(&t),
            TxnFailure {
                index: 1,
                kind: ErrorKind::NoEntry
            }
        );
        let mut t = Txn::new().unwrap();
        t.check("/nope", ANY_VERSION);
        assert_eq!(fail(&t).index, 0);
        let mut t = Txn::new().unwrap();
        t.set("/a", b"x").erase("/a", 9);
        assert_eq!(
            fail(&t),
            TxnFailure {
                index: 1,
                kind: ErrorKind::Version
            }
        );
        // Nothing was applied by any of them.
        assert_eq!(c.get("/a").unwrap(), (b"1".to_vec(), 1));
        // Bad items are Invalid, not Txn.
        let mut t = Txn::new().unwrap();
        t.set("/ok", b"").set("bad", b"");
        let err = c.commit(&t).unwrap_err();
        assert_eq!((err.kind, err.txn), (ErrorKind::Invalid, None));
        let mut t = Txn::new().unwrap();
        t.set("/nul\0", b"");
        assert_eq!(c.commit(&t).unwrap_err().kind, ErrorKind::Invalid);
        assert_eq!(c.exists("/ok").unwrap(), 0);
    });
}

/// One txn committed many times, on two clients.
#[test]
fn txn_is_reusable() {
    for_each_backend("txn-reuse", |url| {
        let (a, b) = (open(url), open(url));
        let mut t = Txn::new().unwrap();
        t.set("/counter", b"");
        assert_eq!(a.commit(&t).unwrap()[0].version, 1);
        assert_eq!(b.commit(&t).unwrap()[0].version, 2);
        assert_eq!(a.commit(&t).unwrap()[0].version, 3);
    });
}
