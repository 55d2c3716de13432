//! TODO(server)
