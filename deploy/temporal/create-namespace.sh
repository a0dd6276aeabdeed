#!/bin/sh
# Registers the guardian's Temporal namespace and creates its custom search attributes (the list in
# src/config/search-attributes.ts). A Temporal server registers no namespace by itself.
#
# docker-compose.yml runs it in the temporalio/admin-tools image; against any other Temporal, run it wherever
# the temporal CLI is installed:
#   TEMPORAL_ADDRESS=temporal-frontend.temporal.svc:7233 NAMESPACE=default sh deploy/temporal/create-namespace.sh
# Safe to run again: an existing namespace is kept, existing search attributes are skipped by the server.
set -eu

TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
NAMESPACE=${NAMESPACE:-default}
# Closed workflow histories are the post-mortem trail: keep them for a month, not the CLI's default 3 days.
RETENTION=${RETENTION:-30d}
ATTEMPTS=${ATTEMPTS:-60}

# retry WHAT COMMAND...: the server takes a while to start, and a new namespace a moment to reach every cache.
retry() {
  what=$1
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
      echo "gave up $what after $ATTEMPTS attempts" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 2
  done
}

ensure_namespace() {
  if temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE exists"
  else
    temporal operator namespace create --namespace "$NAMESPACE" --retention "$RETENTION" --address "$TEMPORAL_ADDRESS"
  fi
}

create_search_attributes() {
  temporal operator search-attribute create --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
    --name EtcdCluster --type Keyword \
    --name EtcdMember --type Keyword \
    --name SourceNode --type Keyword \
    --name TargetNode --type Keyword \
    --name ClusterHealth --type Keyword \
    --name MigrationStrategy --type Keyword
}

retry "waiting for Temporal at $TEMPORAL_ADDRESS" temporal operator cluster health --address "$TEMPORAL_ADDRESS"
retry "registering namespace $NAMESPACE" ensure_namespace
retry "creating the search attributes in $NAMESPACE" create_search_attributes
echo "namespace $NAMESPACE is ready for etcd-guardian at $TEMPORAL_ADDRESS"
