//! The examples' HTTP/1.1 client (hyper), shared by the deployment demo and the browser
//! tests' fixture: one request on a fresh loopback connection, answered as (status, body).
//! Called from synchronous steps of a multi-threaded tokio `main`.

use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// The longest an exchange may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One exchange: `method path` with `headers` and `body` to `address`; the status and the
/// whole body (hyper undoes the chunked transfer coding).
pub fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>), Box<dyn std::error::Error>> {
    tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(async {
            tokio::time::timeout(TIMEOUT, exchange(address, method, path, headers, body))
                .await
                .map_err(|_| format!("no answer to {method} {path} within {TIMEOUT:?}"))?
        })
    })
}

async fn exchange(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, Vec<u8>), Box<dyn std::error::Error>> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, address.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::copy_from_slice(body)))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes().to_vec();
    Ok((status, body))
}
