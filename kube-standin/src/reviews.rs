//! TODO(reviews)
