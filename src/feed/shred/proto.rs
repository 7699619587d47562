//! The messages and the one call of `shredstream.proto` (beside this file; provenance there),
//! written out as tonic's code generator would write them: two prost messages and a
//! server-streaming call through tonic's generic client.

use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;
use tonic::{Status, Streaming};

/// `shredstream.SubscribeEntriesRequest`: no fields yet.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub(crate) struct SubscribeEntriesRequest {}

/// `shredstream.Entry`: one slot's entries as the proxy assembled them from shreds.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub(crate) struct Entry {
    /// The slot that the entries are from.
    #[prost(uint64, tag = "1")]
    pub(crate) slot: u64,
    /// The bincode of `Vec<solana_entry::entry::Entry>` (read by `decode::entries`), a slice of
    /// the received message (prost's `bytes` type: no copy).
    #[prost(bytes = "bytes", tag = "2")]
    pub(crate) entries: prost::bytes::Bytes,
}

/// The method's path: `/package.Service/Method`.
const SUBSCRIBE_ENTRIES: &str = "/shredstream.ShredstreamProxy/SubscribeEntries";

/// Calls `SubscribeEntries` on `channel` (with `authorization`, when given, as sensitive
/// metadata) and returns the stream of entries.
///
/// # Errors
///
/// The status of a channel that is not ready or a call the server refused.
pub(crate) async fn subscribe_entries(
    channel: Channel,
    authorization: Option<AsciiMetadataValue>,
    max_message: usize,
) -> Result<Streaming<Entry>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel).max_decoding_message_size(max_message);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("service was not ready: {e}")))?;
    let mut req = tonic::Request::new(SubscribeEntriesRequest {});
    if let Some(a) = authorization {
        req.metadata_mut().insert("authorization", a);
    }
    let codec = tonic_prost::ProstCodec::<SubscribeEntriesRequest, Entry>::default();
    let path = PathAndQuery::from_static(SUBSCRIBE_ENTRIES);
    let r = grpc.server_streaming(req, path, codec).await?;
    Ok(r.into_inner())
}
