//! TODO(defaults)
