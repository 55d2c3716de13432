//! TODO(validate)
