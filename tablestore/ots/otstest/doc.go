// Package otstest is a fake Alibaba Tablestore instance for tests: an
// HTTP server on 127.0.0.1 (httptest) that speaks the subset of the
// Tablestore API the ots sink uses, with the SDK's own protobuf messages
// (package otsprotocol) and Tablestore's PlainBuffer row encoding
// (plainbuffer.go draws it).
//
// Implemented: CreateTable, ListTable, DescribeTable, DeleteTable,
// PutRow, GetRow, DeleteRow and GetRange. Like the service it
//
//   - authenticates every request: API version, instance name, access key
//     id, the body's MD5 (x-ots-contentmd5) and the HMAC-SHA1 signature
//     over the path, method and x-ots-* headers (wrong credentials are
//     OTSAuthFailed);
//   - checks PlainBuffer checksums (CRC-8 per cell and per row) and the
//     primary key against the table schema (OTSInvalidPK);
//   - keeps rows sorted by primary key (integers as numbers, strings and
//     binaries as bytes, INF_MIN and INF_MAX as range bounds);
//   - honours row existence conditions (IGNORE, EXPECT_EXIST,
//     EXPECT_NOT_EXIST; a failed one is HTTP 403 OTSConditionCheckFail
//     "Condition check failed."), columns_to_get, GetRange direction
//     (FORWARD: start inclusive, end exclusive, start < end; BACKWARD:
//     start > end), limit, and pages cut at 5000 rows or about 4 MiB with
//     next_start_primary_key;
//   - refuses cells over 2 MiB and requests over 4 MiB;
//   - answers errors as the SDK expects them: an HTTP status and an
//     otsprotocol.Error body, with x-ots-requestid, x-ots-contentmd5 and
//     x-ots-date headers on every answer.
//
// Not implemented (refused with OTSParameterInvalid or
// OTSUnsupportOperation): column conditions and filters, time ranges and
// multiple versions (a cell holds one value), UpdateRow, batch
// operations, transactions, indexes, streams, auto-increment keys. Where
// the service's behaviour is not documented the fake assumes: a GetRow or
// GetRange row with none of the requested columns is not returned.
//
// Test hooks: SetPageRows (force small GetRange pages), SetUnavailable
// (answer 503 OTSServerUnavailable), SetHook (change or hold answers),
// Calls (requests served per API),
// Rows, SetColumn and DeleteRow (inspect and corrupt stored rows behind
// the API's back).
package otstest
