//! ErrorKind::Tls and ErrorKind::Auth, and a working TLS + password client, against
//! a TLS etcd with auth that this test starts itself (tests/servers/etcd.sh
//! start-tls) when the loaded library has the etcd backend. Without it, etcds://
//! must be refused as Unsupported.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use offkv::{Client, ErrorKind, Options};

struct TlsEtcd {
    dir: PathBuf,
    script: PathBuf,
}

impl TlsEtcd {
    fn start() -> TlsEtcd {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let script = repo.join("tests/servers/etcd.sh");
        let dir = std::env::temp_dir().join(format!("offkv-rs-tls-{}", std::process::id()));
        let status = Command::new("bash")
            .arg(&script)
            .arg("start-tls")
            .arg(&dir)
            .status()
            .expect("cannot run tests/servers/etcd.sh");
        assert!(
            status.success(),
            "tests/servers/etcd.sh start-tls failed: {status} (is etcd installed?)"
        );
        TlsEtcd { dir, script }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn url(&self) -> String {
        let url = std::fs::read_to_string(self.file("url")).unwrap();
        format!("{}/offkv", url.trim())
    }

    fn options(&self, ca: &str) -> Options {
        Options::new()
            .connect_timeout(Duration::from_secs(5))
            .tls_ca_file(self.file(ca))
            .tls_cert_file(self.file("client.pem"))
            .tls_key_file(self.file("client-key.pem"))
    }
}

impl Drop for TlsEtcd {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.script)
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

#[test]
fn tls_and_auth() {
    if !offkv::has_backend("etcd") {
        let err = Client::open("etcds://127.0.0.1:1", &Options::new()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Unsupported, "{err}");
        eprintln!("etcd compiled out: checked that etcds:// is Unsupported");
        return;
    }
    let server = TlsEtcd::start();
    let url = server.url();

    // The right CA and password: a working client.
    let alice = Client::open(
        &url,
        &server.options("ca.pem").credentials("alice", "secret"),
    )
    .unwrap();
    let v = alice.set("/tls", b"\0secure").unwrap();
    assert_eq!(alice.get("/tls").unwrap(), (b"\0secure".to_vec(), v));

    // A server certificate the client does not trust.
    let err = Client::open(
        &url,
        &server
            .options("other-ca.pem")
            .credentials("alice", "secret"),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");
    assert!(!err.message.is_empty());
    // A CA file that does not exist.
    let err = Client::open(
        &url,
        &server.options("missing.pem").credentials("alice", "secret"),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Tls, "{err}");

    // A wrong password, then a user without permissions.
    let err = Client::open(
        &url,
        &server.options("ca.pem").credentials("alice", "wrong"),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth, "{err}");
    let bob = Client::open(&url, &server.options("ca.pem").credentials("bob", "bobpw")).unwrap();
    let err = bob.set("/x", b"").unwrap_err();
    assert_eq!(
        (err.kind, err.key.as_deref()),
        (ErrorKind::Auth, Some("/x")),
        "{err}"
    );
}
