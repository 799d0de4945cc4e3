//! The store conformance suite against [`MemoryStore`].

use mdmkit_core::store::{conformance, MemoryStore};

#[tokio::test]
async fn memory_store_conforms() {
    conformance::run_all(&MemoryStore::new()).await;
}

#[tokio::test]
async fn open_memory_location_gives_a_fresh_memory_store() {
    let key = mdmkit_core::store::AtRestKey::generate().unwrap();
    let store = mdmkit_core::store::open("memory:", key).await.unwrap();
    conformance::queue_priority_then_fifo(store.as_ref()).await;
}
