//! YAML → JSON as kube-apiserver converts request bodies (`sigs.k8s.io/yaml`, yaml.v2: YAML 1.1
//! scalar resolution), with a strict mode for the proxy. Implemented in a follow-up commit.
