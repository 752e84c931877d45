//! The storage layer's contract, run on every backend: the memory store, a local folder, and a real
//! storage emulator (moto) through the GCS backend and the S3 backend.

use batchline::store::verify::{check_object, md5};
use batchline::store::{CloudConfig, Durability, Location, Secret, Store};

use crate::common::moto::Moto;

fn test_env() {
    crate::common::moto::set_test_env();
}

fn cloud_for(moto: &Moto) -> CloudConfig {
    CloudConfig {
        gcs_endpoint: Some(moto.url.clone()),
        s3_endpoint: Some(moto.url.clone()),
        access_token: Some(Secret::new("test-token")),
        ..CloudConfig::default()
    }
}

fn names(list: Vec<(String, batchline::store::Meta)>) -> Vec<String> {
    list.into_iter().map(|(n, _)| n).collect()
}

/// Everything the run layer relies on, with exact results. `enforces_create`: whether the backend
/// refuses a create-if-absent over an existing object (moto does not: its known gap).
fn store_contract(store: &Store, cloud: &CloudConfig, enforces_create: bool) {
    let what = store.location().to_string();
    assert_eq!(store.get("a/x.txt").unwrap(), None, "{what}");
    assert_eq!(store.head("a/x.txt").unwrap(), None, "{what}");
    store
        .put("a/x.txt", b"hello world", Durability::Normal)
        .unwrap();
    assert_eq!(
        store.get("a/x.txt").unwrap().as_deref(),
        Some(&b"hello world"[..]),
        "{what}"
    );
    assert_eq!(store.head("a/x.txt").unwrap().unwrap().size, 11, "{what}");
    assert_eq!(&store.get_range("a/x.txt", 6..11).unwrap()[..], b"world");
    // Overwrite replaces whole.
    store.put("a/x.txt", b"bye", Durability::Synced).unwrap();
    assert_eq!(store.get("a/x.txt").unwrap().as_deref(), Some(&b"bye"[..]));
    // Listing: direct children only, sorted, names relative to the root.
    store.put("a/y.txt", b"y", Durability::Normal).unwrap();
    store.put("a/sub/z.txt", b"z", Durability::Normal).unwrap();
    store.put("b.txt", b"b", Durability::Normal).unwrap();
    assert_eq!(
        names(store.list("a").unwrap()),
        ["a/x.txt", "a/y.txt"],
        "{what}"
    );
    assert_eq!(names(store.list("").unwrap()), ["b.txt"], "{what}");
    assert_eq!(store.list("nothing-here").unwrap().len(), 0);
    let all = store.list_all("").unwrap();
    for n in ["a/x.txt", "a/y.txt", "a/sub/z.txt", "b.txt"] {
        assert!(all.iter().any(|a| a == n), "{what}: {n} in {all:?}");
    }
    // Create if absent.
    assert!(store.put_new("lock", b"first").unwrap().is_some(), "{what}");
    let second = store.put_new("lock", b"second").unwrap();
    if enforces_create {
        assert!(second.is_none(), "{what}: create-if-absent over an object");
        assert_eq!(store.get("lock").unwrap().as_deref(), Some(&b"first"[..]));
    }
    // Delete, and delete of a missing object.
    store.delete("b.txt").unwrap();
    store.delete("b.txt").unwrap();
    assert_eq!(store.get("b.txt").unwrap(), None);
    // Multipart: parts sent out of order are assembled by number, and the entity tag the store
    // reports agrees with the parts' digests (or is of another form, and the size is checked).
    if let Some(upload) = store.upload("big.bin", cloud).unwrap() {
        let parts: Vec<Vec<u8>> =
            vec![vec![b'a'; 16 << 20], vec![b'b'; 16 << 20], vec![b'c'; 1000]];
        for i in [2, 0, 1] {
            upload.put_part(i, parts[i].clone());
        }
        upload.finish(3).unwrap();
        let whole = store.get("big.bin").unwrap().unwrap();
        assert_eq!(whole.len(), (32 << 20) + 1000, "{what}");
        assert!(whole == parts.concat(), "{what}: parts in number order");
        let md5s: Vec<[u8; 16]> = parts.iter().map(|p| md5(p)).collect();
        let head = store.head("big.bin").unwrap().unwrap();
        let crc = crc32c::crc32c(&whole);
        let stored = store.stored_crc32c("big.bin").unwrap();
        check_object(&what, whole.len() as u64, &md5s, crc, stored, &head).unwrap();
    } else {
        assert!(
            store.local_root().is_some(),
            "only local stores take no uploads"
        );
    }
}

#[test]
fn store_contract_on_memory_and_local() {
    let cloud = CloudConfig::default();
    let mem = Store::open(&Location::parse("memory://contract/root").unwrap(), &cloud).unwrap();
    store_contract(&mem, &cloud, true);
    let dir = tempfile::tempdir().unwrap();
    let local = Store::open(&Location::local(dir.path().join("root")), &cloud).unwrap();
    std::fs::create_dir_all(dir.path().join("root")).unwrap();
    store_contract(&local, &cloud, true);
}

#[test]
fn store_contract_on_the_gcs_and_s3_backends_against_the_emulator() {
    test_env();
    let Some(moto) = Moto::start() else { return };
    moto.bucket("contract");
    let cloud = cloud_for(&moto);
    for url in ["gs://contract/g", "s3://contract/s"] {
        let store = Store::open(&Location::parse(url).unwrap(), &cloud).unwrap();
        // moto does not enforce create-if-absent (see docs/run-format.md).
        store_contract(&store, &cloud, false);
    }
}

#[test]
fn a_missing_bucket_is_named_with_its_cause() {
    test_env();
    let Some(moto) = Moto::start() else { return };
    let cloud = cloud_for(&moto);
    let store = Store::open(&Location::parse("gs://nosuchbucket/run").unwrap(), &cloud).unwrap();
    let err = store
        .put("x", b"x", Durability::Normal)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "gs://nosuchbucket/run/x: the bucket does not exist (HTTP 404 NoSuchBucket: The specified bucket does not exist)"
    );
    assert!(!err.contains("test-token"), "the token leaked: {err}");
}
