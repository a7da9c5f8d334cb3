mod common;

use common::*;
use offkv::{CreateMode, ErrorKind, MAX_VALUE_SIZE};

#[test]
fn binary_values() {
    for_each_backend("binary", |url| {
        let c = open(url);
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(c.set("/all", &all).unwrap(), 1);
        assert_eq!(c.get("/all").unwrap(), (all.clone(), 1));
        let nuls = b"\0a\0\0b\0".to_vec();
        c.create("/nuls", &nuls, CreateMode::Persistent).unwrap();
        assert_eq!(c.get("/nuls").unwrap().0, nuls);
        c.set("/empty", b"").unwrap();
        assert_eq!(c.get("/empty").unwrap(), (Vec::new(), 1));
        let invalid_utf8 = [0xff, 0xfe, 0xc3, 0x28];
        assert_eq!(c.cas("/utf", &invalid_utf8, 0).unwrap(), 1);
        assert_eq!(c.get("/utf").unwrap().0, invalid_utf8);
        // The largest value works; one byte more is TooBig and writes nothing.
        let big: Vec<u8> = (0..MAX_VALUE_SIZE).map(|i| (i % 251) as u8).collect();
        assert_eq!(c.set("/big", &big).unwrap(), 1);
        assert_eq!(c.get("/big").unwrap().0, big);
        let err = c.set("/big", &vec![1u8; MAX_VALUE_SIZE + 1]).unwrap_err();
        assert_eq!(err.kind, ErrorKind::TooBig);
        assert_eq!(c.get("/big").unwrap(), (big, 1));
    });
}

#[test]
fn node_operations() {
    for_each_backend("ops", |url| {
        let c = open(url);
        assert_eq!(c.create("/a", b"1", CreateMode::Persistent).unwrap(), "/a");
        assert_eq!(c.exists("/a").unwrap(), 1);
        assert_eq!(c.set("/a", b"2").unwrap(), 2);
        assert_eq!(c.cas("/a", b"3", 2).unwrap(), 3);
        assert_eq!(c.cas("/a", b"x", 2).unwrap_err().kind, ErrorKind::Version);
        assert_eq!(c.cas("/a", b"x", 0).unwrap_err().kind, ErrorKind::Version);
        assert_eq!(c.get("/a").unwrap(), (b"3".to_vec(), 3));
        c.create("/a/c", b"", CreateMode::Persistent).unwrap();
        c.create("/a/b", b"", CreateMode::Persistent).unwrap();
        c.create("/ab", b"", CreateMode::Persistent).unwrap();
        assert_eq!(c.children("/a").unwrap(), ["/a/b", "/a/c"]);
        assert_eq!(c.children("/").unwrap(), ["/a", "/ab"]);
        let s1 = c.create("/a/s-", b"", CreateMode::Sequential).unwrap();
        let s2 = c.create("/a/s-", b"", CreateMode::Sequential).unwrap();
        assert!(
            s1.starts_with("/a/s-") && s1.len() == "/a/s-".len() + 10,
            "{s1}"
        );
        assert!(s2 > s1, "{s2} after {s1}");
        assert_eq!(c.erase("/a", 1).unwrap_err().kind, ErrorKind::Version);
        c.erase("/a", 3).unwrap();
        assert_eq!(c.exists("/a").unwrap(), 0);
        assert_eq!(c.exists("/a/b").unwrap(), 0);
        assert_eq!(c.exists("/ab").unwrap(), 1, "erasing /a never touches /ab");
        assert_eq!(c.erase("/a", 0).unwrap_err().kind, ErrorKind::NoEntry);
        // Versions restart at 1 after re-creation.
        assert_eq!(c.set("/a", b"").unwrap(), 1);
    });
}

#[test]
fn ephemerals_end_with_the_session() {
    for_each_backend("ephemeral", |url| {
        let observer = open(url);
        let c = open(url);
        c.create("/e", b"", CreateMode::Ephemeral).unwrap();
        let seq = c
            .create("/es-", b"", CreateMode::EphemeralSequential)
            .unwrap();
        assert_eq!(c.set("/e", b"x").unwrap(), 2);
        assert_eq!(
            c.create("/e/child", b"", CreateMode::Persistent)
                .unwrap_err()
                .kind,
            ErrorKind::Ephemeral
        );
        assert_eq!(observer.exists("/e").unwrap(), 2);
        c.close().unwrap();
        assert_eq!(
            observer.exists("/e").unwrap(),
            0,
            "closing ends the session at once"
        );
        assert_eq!(observer.exists(&seq).unwrap(), 0);
        drop(c);
    });
}

#[test]
fn prefixes_isolate_clients() {
    for_each_backend("prefix", |url| {
        let root = open(url);
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let sub_url = if query.is_empty() {
            format!("{base}/sub")
        } else {
            format!("{base}/sub?{query}")
        };
        let sub = open(&sub_url);
        sub.set("/k", b"inside").unwrap();
        assert_eq!(sub.children("/").unwrap(), ["/k"]);
        // The sub-client's keys live under /sub of the parent's view, and it sees
        // nothing of the parent's other keys.
        assert_eq!(root.get("/sub/k").unwrap().0, b"inside");
        root.set("/outside", b"").unwrap();
        assert_eq!(sub.exists("/outside").unwrap(), 0);
        let other = open(&isolated("mem://", "prefix-other"));
        assert_eq!(other.exists("/k").unwrap(), 0);
    });
}
