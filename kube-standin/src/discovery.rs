//! TODO(discovery) stub until the real module lands.
/// Stub.
#[derive(Clone, Debug)]
pub struct ServerVersion {
    /** */
    pub major: String,
    /** */
    pub minor: String,
    /** */
    pub git_version: String,
}
impl Default for ServerVersion {
    fn default() -> Self {
        Self {
            major: "1".into(),
            minor: "33".into(),
            git_version: "v1.33.5".into(),
        }
    }
}
impl ServerVersion {
    /// Stub.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim_start_matches('v');
        let mut it = s.split('.');
        Some(Self {
            major: it.next()?.into(),
            minor: it.next()?.into(),
            git_version: format!("v{s}"),
        })
    }
}
/// Stub.
pub fn handle(
    _m: &http::Method,
    path: &str,
    _q: Option<&str>,
    _h: &http::HeaderMap,
    v: &ServerVersion,
) -> Option<http::Response<crate::encode::Body>> {
    if path == "/version" {
        return Some(crate::encode::json_response(
            http::StatusCode::OK,
            &serde_json::json!({"major": v.major, "minor": v.minor, "gitVersion": v.git_version}),
            &Default::default(),
        ));
    }
    None
}
