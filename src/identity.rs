//! TODO(identity) stub until the real module lands.
/// Stub.
pub fn namespace_for(username: &str) -> String {
    format!("kbatch-{username}")
}
