//! TODO(patch)
