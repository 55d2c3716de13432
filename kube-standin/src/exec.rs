//! TODO(exec) stub until the real module lands.
use crate::status::ApiError;
/// Stub.
pub struct ExecOptions {
    /** */
    pub command: Vec<String>,
    /** */
    pub container: String,
    /** */
    pub stdin: bool,
    /** */
    pub stdout: bool,
    /** */
    pub stderr: bool,
    /** */
    pub tty: bool,
}
impl ExecOptions {
    /// Stub.
    pub fn from_query(_query: &str) -> Result<Self, ApiError> {
        Err(ApiError::bad_request("exec not implemented"))
    }
}
/// Stub.
pub fn is_websocket_upgrade(_h: &http::HeaderMap) -> bool {
    false
}
/// Stub.
pub fn serve(
    _req: http::Request<hyper::body::Incoming>,
    _opts: ExecOptions,
    _attach: Option<tokio::sync::broadcast::Receiver<bytes::Bytes>>,
) -> Result<http::Response<crate::encode::Body>, ApiError> {
    Err(ApiError::bad_request("exec not implemented"))
}
