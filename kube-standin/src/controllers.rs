//! TODO(controllers)
