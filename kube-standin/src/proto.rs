//! TODO(proto)
