//! The pusher the engine of a [`Mdm`](crate::Mdm) uses: the store-backed one, whose APNs
//! identities are the push certificates installed through the lifecycle, one client per
//! topic, renewals made by any process picked up within seconds.

use mdmkit_apns::client::Endpoint;
use mdmkit_apns::{StorePusher, StorePusherOptions};
use mdmkit_core::store::SharedStore;

use crate::settings::{self, Settings};
use crate::Result;

/// The store-backed pusher for a deployment: APNs (or the `apns_endpoint` setting, with
/// `apns_server_ca`). Changes made through the service are applied by
/// [`Mdm::reload_pusher`](crate::Mdm) when they are made; others by the pusher's poll.
pub(crate) async fn store_pusher(store: SharedStore, settings: &Settings) -> Result<StorePusher> {
    let mut options = match settings.get(settings::APNS_ENDPOINT).await? {
        Some(url) => StorePusherOptions::new(Endpoint::from_url(&url)?),
        None => StorePusherOptions::production(),
    };
    if let Some(ca) = settings.get(settings::APNS_SERVER_CA).await? {
        options = options.server_ca_pem(ca.into_bytes());
    }
    Ok(StorePusher::start(store, options).await?)
}
