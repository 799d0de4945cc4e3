//! The pusher the engine of a [`Mdm`](crate::Mdm) uses.

use std::sync::Arc;

use mdmkit_core::push::{PushOutcome, PushTarget, Pusher};
use mdmkit_core::store::SharedStore;

use crate::settings::Settings;
use crate::Result;

/// Refuses every push, saying why: no push certificate is installed.
pub(crate) struct NoPushCertificate;

#[async_trait::async_trait]
impl Pusher for NoPushCertificate {
    async fn push(&self, _target: &PushTarget) -> PushOutcome {
        PushOutcome::Rejected {
            status: 0,
            reason: "NoPushCertificate".into(),
            token_invalid: false,
            invalid_since_ms: None,
        }
    }
}

/// The store-backed pusher for a deployment.
pub(crate) async fn store_pusher(
    _store: SharedStore,
    _settings: &Settings,
) -> Result<Arc<dyn Pusher>> {
    Ok(Arc::new(NoPushCertificate))
}
