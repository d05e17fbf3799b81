// Where each kind of backup blob lives in the blob store (filesystem or S3), one prefix per organization:
// what the operations write and the domain names (an upload's key is chosen before its import runs).

export function snapshotKey(organizationId: string, databaseId: string, snapshotId: string): string {
  return `snapshots/${organizationId}/${databaseId}/${snapshotId}.tar.gz`;
}

export function exportKey(organizationId: string, exportId: string, fileName: string): string {
  return `exports/${organizationId}/${exportId}/${fileName}`;
}

export function importKey(organizationId: string, id: string): string {
  return `imports/${organizationId}/${id}.upload`;
}
