//! The store conformance suite against [`MemoryStore`].

use mdmkit_core::store::{conformance, MemoryStore};

#[tokio::test]
async fn memory_store_conforms() {
    conformance::run_all(&MemoryStore::new()).await;
}
