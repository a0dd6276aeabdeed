import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * An S3 client, without the SDK's warning that its releases after January 2027 need Node 22: the version pinned in
 * package.json runs on the Node 20 the guardian supports, and the warning would land on every CLI command's stderr.
 * An operator who sets AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED themselves keeps their value.
 */
export function newS3Client(config: S3ClientConfig): S3Client {
  process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
  return new S3Client(config);
}
