//! Kill -9 during load on the embedded store: 50 clients write to 20 documents through a
//! server of many documents in a process of its own, killed with SIGKILL at a different
//! moment each round and started again on the same data. Every change a client was told was
//! accepted is in its document at the version it was told, versions are contiguous, no
//! change is there twice, and clients reconnect and resume.

mod common;

use common::Board;
use common::kill::{DOCUMENTS, ROUNDS, doc_name, load, serve};
use immer::sync::Backend;
use immer_store::Store;

const TEST: &str = "accepted_changes_survive_kill_9_during_load";
const CHILD: &str = "IMMER_WEB_KILL_STORE";

#[test]
fn accepted_changes_survive_kill_9_during_load() {
    if let Ok(path) = std::env::var(CHILD) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(serve(Store::open(path).unwrap()));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("boards.redb");
    let told = load(TEST, &[(CHILD, path.display().to_string())]);
    // Read back from the file alone.
    let store = Store::open(&path).unwrap();
    let mut total = 0;
    for n in 0..DOCUMENTS {
        let name = doc_name(n);
        let document = store.document::<Board>(&name).open().unwrap();
        let version = Backend::version(&document);
        told.check(
            &name,
            version,
            &Backend::state(&document),
            &Backend::log(&document),
        );
        total += version;
    }
    // The store keeps sessions across the kill: clients resume them on the next life.
    assert!(
        told.resumed_after_restart > 0,
        "no session was resumed after a restart"
    );
    println!(
        "{ROUNDS} kills at {:?}: {} changes accepted, {total} committed in all, {} sessions resumed ({} on a new life of the server)",
        told.kills, told.accepted, told.resumed, told.resumed_after_restart
    );
}
