"""Many threads sharing one client."""

import threading


import offkv


def test_many_threads_one_client(client):
    n_threads, n_ops = 8, 100
    errors = []
    client.create("/t", b"")
    client.create("/counter", b"0")

    def worker(i):
        try:
            key = f"/t/w{i}"
            client.create(key, b"")
            for j in range(n_ops):
                v = client.set(key, f"{i}:{j}".encode())
                assert client.get(key) == offkv.Node(f"{i}:{j}".encode(), v)
                # a shared counter with compare-and-set
                while True:
                    node = client.get("/counter")
                    try:
                        client.cas("/counter", str(int(node.value) + 1).encode(),
                                   node.version)
                        break
                    except offkv.BadVersionError:
                        continue
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert int(client.get("/counter").value) == n_threads * n_ops
    assert len(client.children("/t")) == n_threads


def test_watches_and_writes_from_many_threads(env, client):
    client.create("/m", b"")
    fired = []
    lock = threading.Lock()

    def cb(ev):
        with lock:
            fired.append(ev.key)

    for i in range(20):
        client.exists_watch(f"/m/{i}", cb)

    def writer(i):
        env.client.create(f"/m/{i}", b"")

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from conftest import wait_for
    wait_for(lambda: len(fired) == 20)
    assert sorted(fired) == sorted(f"/m/{i}" for i in range(20))
