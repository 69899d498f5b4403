// Package ots is the Alibaba Tablestore (OTS) sink of the metadata
// mirror, on the official Go SDK
// (github.com/aliyun/aliyun-tablestore-go-sdk/tablestore). The
// namespace.ots.* keys configure it; docs/mirror-tablestore.md is the
// operator's view.
//
// It has been tested only against the fake server in package otstest,
// never against the live Tablestore service.
//
// # Table layout
//
// One table (namespace.ots.table, default hdfsha_mirror), created by Open
// when missing with a time to live of -1 (rows are kept for ever) and one
// version per cell. Its primary key, in this order:
//
//	kind    STRING   "info", "edits", "image" or "chunk" (the partition key)
//	id      INTEGER  a batch's first txid, an image's txid; 0 for "info"
//	upload  INTEGER  a chunk's upload id; 0 otherwise
//	seq     INTEGER  a chunk's index in its upload, from 0; 0 otherwise
//
// Open refuses an existing table with any other primary key.
//
// The rows and their attribute columns:
//
//	(info, 0, 0, 0)            info    BINARY   tablestore.EncodeInfo
//	(edits, first, 0, 0)       last    INTEGER  the batch's last txid
//	                           parts   INTEGER  n, the number of data cells
//	                           data_0 .. data_<n-1>  BINARY
//	                                            tablestore.EncodeBatch, cut
//	                                            into cells of at most 2 MiB
//	(image, txid, 0, 0)        upload  INTEGER  the upload whose chunks hold it
//	                           chunks  INTEGER  how many chunks
//	                           size    INTEGER  the image stream's length
//	(chunk, txid, upload, i)   data_0  BINARY   bytes [i*C, (i+1)*C) of the
//	                                            stream (C = Options.ChunkSize,
//	                                            1 MiB by default)
//	                           crc     INTEGER  CRC32C of data_0
//
// Row keys sort as numbers within a kind, so a forward GetRange over
// (edits, x, ...) reads batches in txid order.
//
// # Write order and visibility
//
// Every write is one PutRow, which Tablestore applies atomically to its
// row, so a reader sees a row whole or not at all.
//
//   - Identity: PutRow (info) with RowExistenceExpectation
//     EXPECT_NOT_EXIST. If the row exists ("condition check failed"), the
//     stored identity is read and compared: equal is success, different is
//     tablestore.ErrMismatch.
//   - Batch: one PutRow (edits, first) with EXPECT_NOT_EXIST; a failed
//     condition is tablestore.ErrExists. An encoded batch larger than
//     MaxBatchBytes (3 MiB, within Tablestore's 4 MB request limit) is
//     refused with an error naming namespace.mirror.batch.max-bytes.
//   - Image: first a GetRow of (image, txid): present is ErrExists at once.
//     Then the stream is cut into chunks written under a fresh random
//     upload id (condition IGNORE: the id is this writer's alone, and an
//     SDK retry of a chunk write that landed must not fail), and last the
//     (image, txid) row naming the upload (EXPECT_NOT_EXIST). Images lists
//     only image rows, so an upload that has not written its image row,
//     because it failed, was interrupted or lost the race to another
//     writer, is never listed or read. Such an upload deletes its chunks
//     (best effort; leftovers are never referenced). If the SDK retried
//     the image row's PutRow after losing the answer to the first try, the
//     failed condition is told from a real conflict by the stored upload
//     id.
//
// # Reads
//
//   - LastTxID: GetRange BACKWARD from (edits, INF_MAX, INF_MAX, INF_MAX)
//     to (edits, INF_MIN, ...), limit 1, column last.
//   - ReadEdits(from): a GetRange BACKWARD from (edits, from, INF_MAX,
//     INF_MAX) with limit 1 finds the batch holding from (the highest
//     first txid <= from: batches never overlap, they form a chain), then
//     GetRange FORWARD from that key to (edits, INF_MAX, ...) in pages of
//     at most 8 rows, following NextStartPrimaryKey, which the service
//     also returns when it cuts a page short by its own limits. Batches
//     whose last txid is below from are skipped.
//   - Images: GetRange FORWARD over (image, INF_MIN..INF_MAX), paged.
//   - OpenImage: GetRow of the image row, then one GetRow per chunk as the
//     stream is read, so memory holds one chunk at a time.
//
// # Corruption
//
// A row whose cells do not check out is reported as a
// *tablestore.CorruptError whose Object names the row by its primary key,
// "row edits/101/0/0" or "row chunk/500/<upload>/3", and whose Reason
// says what is wrong: a batch or identity that fails
// tablestore.DecodeBatch/DecodeInfo (checksum, structure), a batch whose
// txids disagree with its key or its last column, a missing or mistyped
// column, a chunk whose CRC32C does not match, a missing chunk, or chunks
// that do not add up to the image's size. A corrupt batch is never passed
// to ReadEdits' fn.
//
// # Calls and contexts
//
// The SDK's calls take no context. Each Sink call makes a client whose
// HTTP transport binds requests to the call's context (all clients share
// one connection pool), so a cancelled context aborts the request in
// flight; the transport reports the context's end as an error the SDK
// does not retry (a passed deadline would otherwise look temporary to it
// and be retried until Options.MaxRetryTime). The SDK retries some
// failures itself (throttling, busy or unavailable servers for reads,
// broken connections) within Options.MaxRetryTime; anything else is
// returned, and the shipper backs off and retries. The SDK dereferences
// optional fields of answers without checking; every call is guarded so
// a malformed answer is an error, never a panic.
package ots
