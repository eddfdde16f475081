// The Kubernetes name rules trusted storage checks its names against: apart from plan.ts, so the
// wizard's form can check a name without loading the manifests (kubernetes-models and yaml).
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
