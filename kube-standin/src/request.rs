//! TODO(request)
