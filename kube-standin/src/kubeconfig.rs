//! TODO(kubeconfig)
