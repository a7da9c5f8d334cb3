mod common;

use std::sync::mpsc::channel;
use std::sync::Arc;

use common::*;
use offkv::{ErrorKind, EventKind};

/// Many threads on one client: concurrent cas increments never lose an update,
/// and concurrent watches and reads all work.
#[test]
fn many_threads_one_client() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<offkv::Client>();
    assert_send_sync::<offkv::Watch>();
    assert_send_sync::<offkv::Election>();
    assert_send_sync::<offkv::Lock>();
    assert_send_sync::<offkv::Txn>();

    for_each_backend("threads", |url| {
        const THREADS: usize = 16;
        const INCREMENTS: usize = 25;
        let client = Arc::new(open(url));
        client.set("/counter", b"0").unwrap();
        let (tx, rx) = channel();
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (client, tx) = (Arc::clone(&client), tx.clone());
                std::thread::spawn(move || {
                    let own = format!("/t{t}");
                    client.set(&own, b"").unwrap();
                    let (_, _, w) = client
                        .get_watch_with(&own, move |e| tx.send(e.kind).unwrap())
                        .unwrap();
                    for _ in 0..INCREMENTS {
                        loop {
                            let (value, version) = client.get("/counter").unwrap();
                            let n: usize = String::from_utf8(value).unwrap().parse().unwrap();
                            match client.cas("/counter", (n + 1).to_string().as_bytes(), version) {
                                Ok(_) => break,
                                Err(e) if e.kind == ErrorKind::Version => continue,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                    client.set(&own, b"done").unwrap();
                    w
                })
            })
            .collect();
        let watches: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let (value, version) = client.get("/counter").unwrap();
        assert_eq!(value, (THREADS * INCREMENTS).to_string().as_bytes());
        assert_eq!(version as usize, THREADS * INCREMENTS + 1);
        for _ in 0..THREADS {
            assert_eq!(recv(&rx), EventKind::Changed);
        }
        // Waiting on one watch from many threads at once.
        let w = Arc::new(watches.into_iter().next().unwrap());
        let waiters: Vec<_> = (0..4)
            .map(|_| {
                let w = Arc::clone(&w);
                std::thread::spawn(move || w.recv().unwrap().kind)
            })
            .collect();
        for t in waiters {
            assert_eq!(t.join().unwrap(), EventKind::Changed);
        }
        assert_eq!(client.children("/").unwrap().len(), THREADS + 1);
    });
}
