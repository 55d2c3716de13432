//! TODO(managed)
