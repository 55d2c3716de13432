//! kbatch-proxy
