import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * The guardian's custom search attributes. The sandbox registers them on its dev server; a production namespace
 * needs them created once (`temporal operator search-attribute create --name EtcdCluster --type Keyword`, ...).
 */
export const SEARCH_ATTRIBUTES = [
  { name: 'EtcdCluster', type: 'Keyword', doc: 'the etcd cluster a monitor or migration is about' },
  { name: 'EtcdMember', type: 'Keyword', doc: 'the member a migration moves' },
  { name: 'SourceNode', type: 'Keyword', doc: 'the node the member leaves' },
  { name: 'TargetNode', type: 'Keyword', doc: 'the node the member moves to' },
  { name: 'ClusterHealth', type: 'Keyword', doc: 'healthy, degraded, at-risk or quorum-lost, as of the last cycle' },
  { name: 'MigrationStrategy', type: 'Keyword', doc: 'replace or surge' },
] as const;

/** The name of one of the guardian's search attributes. */
export type SearchAttributeName = (typeof SEARCH_ATTRIBUTES)[number]['name'];

/** Typed keys of the search attributes, for workflows and clients alike. */
export const SA = {
  cluster: defineSearchAttributeKey('EtcdCluster', SearchAttributeType.KEYWORD),
  member: defineSearchAttributeKey('EtcdMember', SearchAttributeType.KEYWORD),
  sourceNode: defineSearchAttributeKey('SourceNode', SearchAttributeType.KEYWORD),
  targetNode: defineSearchAttributeKey('TargetNode', SearchAttributeType.KEYWORD),
  health: defineSearchAttributeKey('ClusterHealth', SearchAttributeType.KEYWORD),
  strategy: defineSearchAttributeKey('MigrationStrategy', SearchAttributeType.KEYWORD),
} as const;
