//! A real storage emulator for the tests: moto's server (PyPI `moto[server]`, installed into
//! `target/moto-venv` by `tests/storage/setup.sh`), started on a free port of 127.0.0.1 for one
//! test and killed when the handle drops. It serves the S3 API and the Cloud Storage XML API that
//! object_store's GCS backend speaks, on the same port and the same buckets.
//!
//! Under `CI=true` a missing emulator is a failure; elsewhere the test says it was skipped.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::crate_root;

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

fn moto_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BATCHLINE_MOTO_SERVER") {
        return Some(PathBuf::from(p));
    }
    let venv = crate_root().join("target/moto-venv/bin/moto_server");
    if venv.exists() {
        return Some(venv);
    }
    let on_path = std::env::var_os("PATH")?;
    std::env::split_paths(&on_path)
        .map(|d| d.join("moto_server"))
        .find(|p| p.exists())
}

/// Installs moto into `target/moto-venv` (once per test process; about two minutes, from PyPI),
/// so the README's test command needs nothing set up by hand.
fn install() -> Option<PathBuf> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = moto_binary() {
        return Some(found);
    }
    eprintln!("installing the storage emulator (tests/storage/setup.sh)…");
    let ok = Command::new("bash")
        .arg(crate_root().join("tests/storage/setup.sh"))
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        moto_binary()
    } else {
        None
    }
}

/// The Python that runs moto_server (the venv's, or `python3` for one found on PATH).
fn python_beside(moto_server: &std::path::Path) -> PathBuf {
    let python = moto_server.with_file_name("python3");
    if python.exists() {
        python
    } else {
        PathBuf::from("python3")
    }
}

/// The environment every process that talks to the emulator gets: a fixed bearer token for GCS,
/// static AWS test keys for S3, and the metadata-server variables pointed at a closed port.
pub const ENV: [(&str, &str); 8] = [
    ("BATCHLINE_ACCESS_TOKEN", "test-token"),
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    // The S3 backend's instance-metadata fallback, pointed at a closed loopback port too.
    ("AWS_METADATA_ENDPOINT", "http://127.0.0.1:9"),
    ("GCE_METADATA_HOST", "127.0.0.1:9"),
    ("GCE_METADATA_ROOT", "127.0.0.1:9"),
    ("GCE_METADATA_IP", "127.0.0.1:9"),
];

/// Sets [`ENV`] (but the token) in this test process, once, so in-process stores opened by tests
/// find static credentials and never fall back to a metadata server.
pub fn set_test_env() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for (k, v) in ENV {
            if k != "BATCHLINE_ACCESS_TOKEN" {
                std::env::set_var(k, v);
            }
        }
    });
}

impl Moto {
    /// Starts a server, or returns `None` (with a note) where moto is not installed and this is
    /// not CI.
    pub fn start() -> Option<Moto> {
        Moto::spawn(|bin, port| {
            let mut c = Command::new(bin);
            c.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            c
        })
    }

    /// moto behind `tests/storage/gcs_front.py`: object HEADs carry Cloud Storage's
    /// `x-goog-hash`, and multipart tags are not S3's MD5 form (`mode` "gcs"), or the CRC32C
    /// reported is wrong ("lie").
    pub fn start_gcs_front(mode: &str) -> Option<Moto> {
        // The front needs the `crc32c` package beside moto: a venv made before it was added to
        // tests/storage/setup.sh gets it now (setup.sh is idempotent).
        static FRONT_DEPS: std::sync::Once = std::sync::Once::new();
        FRONT_DEPS.call_once(|| {
            let ready = moto_binary().is_some_and(|bin| {
                Command::new(python_beside(&bin))
                    .args(["-c", "import crc32c, moto.server"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            });
            if !ready {
                let _ = Command::new("bash")
                    .arg(crate_root().join("tests/storage/setup.sh"))
                    .status();
            }
        });
        Moto::spawn(|bin, port| {
            let mut c = Command::new(python_beside(bin));
            c.arg(crate_root().join("tests/storage/gcs_front.py"))
                .args(["--port", &port.to_string(), "--mode", mode]);
            c
        })
    }

    fn spawn(command: impl Fn(&std::path::Path, u16) -> Command) -> Option<Moto> {
        set_test_env();
        let Some(bin) = moto_binary().or_else(install) else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("moto_server is not installed and tests/storage/setup.sh failed (CI must not skip the storage tests)");
            }
            eprintln!("skipped: moto_server not found and tests/storage/setup.sh failed");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut child = command(&bin, port)
            .envs(ENV)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the storage emulator beside {}: {e}",
                    bin.display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the storage emulator beside {} ended at start: {status} (is tests/storage/setup.sh's venv complete?)", bin.display());
            }
            assert!(
                Instant::now() < deadline,
                "the storage emulator did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// Creates a bucket (moto takes an unsigned PUT).
    pub fn bucket(&self, name: &str) {
        let status = ureq::put(&format!("{}/{name}", self.url))
            .send_empty()
            .expect("bucket created")
            .status();
        assert_eq!(status.as_u16(), 200, "creating bucket {name}");
    }

    /// The environment for a `batchline` process that uses this server for `gs://` and `s3://`.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = ENV
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        env.push(("BATCHLINE_GCS_ENDPOINT".into(), self.url.clone()));
        env.push(("BATCHLINE_S3_ENDPOINT".into(), self.url.clone()));
        env
    }

    /// Stops the server now (its objects are gone).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
