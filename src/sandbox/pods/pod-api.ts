import { type ClaimReader } from './claim-volumes';

/** The API calls a pod runner makes, so the runner can be read without the client library in the way. */
export interface PodApi extends ClaimReader {
  /** Replaces the pod's status (a merge patch of `status`); a pod that is gone is not an error. */
  writeStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<void>;
  /** Finishes a deletion: deletes with grace period 0, only if the pod still has this uid. */
  deleteNow(namespace: string, name: string, uid: string): Promise<void>;
}
