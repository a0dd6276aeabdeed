import { z } from 'zod';
import type { StrategyPreference } from '../domain/policy';

/**
 * Builders of the name fields that the config file and the workflow inputs share. They return a new schema on
 * every call and this module exports none: workflow-inputs.ts is loaded once per worker and shared by every
 * workflow (worker/bundle-options.ts), and the SDK deep-freezes the exports of such modules, which a zod schema
 * does not survive (it memoizes on itself when first used), nor does a RegExp (a test sets its lastIndex).
 * Pure: workflow code reaches it through workflow-inputs.ts.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** True for a DNS-1123 label (its characters; the length is checked apart). */
export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}

/** True for a DNS-1123 subdomain (its characters; the length is checked apart). */
export function isDnsSubdomain(text: string): boolean {
  return DNS_SUBDOMAIN.test(text);
}

/** The characters of a DNS-1123 label as a new RegExp, for a schema of another length or message. */
export function dnsLabelPattern(): RegExp {
  return new RegExp(DNS_LABEL.source);
}

/** A DNS-1123 label (at most 63 characters), such as a cluster or namespace name. */
export function dnsLabel(expected: string) {
  return z.string({ error: `expected ${expected}` }).trim().max(63).regex(DNS_LABEL);
}

/** A DNS-1123 subdomain (at most 253 characters), such as a node name. */
export function dnsSubdomain(expected: string) {
  return z.string({ error: `expected ${expected}` }).trim().max(253).regex(DNS_SUBDOMAIN);
}

/** The operator's strategy preference; the values of `StrategyPreference` in src/domain/policy.ts. */
export function strategyName() {
  return z.enum(['auto', 'replace', 'surge']) satisfies z.ZodType<StrategyPreference>;
}

/** A cluster name: a DNS-1123 label, because it becomes part of schedule and workflow ids. */
export function clusterName() {
  return dnsLabel('a cluster name of lowercase letters, digits and "-" (a DNS-1123 label of at most 63 characters), such as "main"');
}

/** A Kubernetes node name (a DNS-1123 subdomain). */
export function nodeName() {
  return dnsSubdomain('a Kubernetes node name of lowercase letters, digits, "-" and "." (a DNS-1123 subdomain), such as "node-1"');
}
