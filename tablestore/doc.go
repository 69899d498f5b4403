// Package tablestore is the remote metadata mirror: an asynchronous
// shipper that copies the active NameNode's committed edits and its
// images to a Sink, and the reading side a NameNode in recovery mode
// loads a new cluster's namespace from.
//
// Sinks: package filesink (a directory, for example an NFS mount:
// namespace.mirror.uri=file:///dir) and package ots (Alibaba Tablestore,
// the namespace.ots.* keys). Every sink passes package sinktest's
// conformance suite. docs/mirror.md is the operator's view.
//
// # Formats
//
// Every sink stores a batch of edits as EncodeBatch's bytes and the
// namespace identity as EncodeInfo's, so what a sink holds checks itself
// whatever the sink. Image streams are stored as given: package image's
// stream carries its own checksums. Integers are big-endian; the CRC is
// CRC32C (Castagnoli) over every byte before it.
//
// An edit batch (EncodeBatch):
//
//	offset  size  field
//	0       4     magic "HMEB"
//	4       1     version, 1
//	5       3     flags, zero
//	8       4     total length n of the encoding, trailer included (uint32)
//	12      4     count of ops, >= 1 (uint32)
//	16      8     first txid, >= 1 (int64); op i is the edit of txid first+i
//	24      ...   count ops, each:
//	                4  length L of the op, 1 <= L <= edits.MaxOpSize (uint32)
//	                L  the op (a serialized editpb.Op, opaque here)
//	n-4     4     CRC32C of bytes [0, n-4)
//
// The namespace identity (EncodeInfo):
//
//	offset  size  field
//	0       4     magic "HMID"
//	4       1     version, 1
//	5       3     flags, zero
//	8       4     total length n, trailer included (uint32)
//	12      4     namespace id (int32)
//	16      4     layout version (int32)
//	20      8     cTime (int64)
//	28      2     length C of the cluster id, <= MaxIDLen (uint16)
//	30      2     length B of the block pool id, <= MaxIDLen (uint16)
//	32      C     cluster id
//	32+C    B     block pool id
//	n-4     4     CRC32C of bytes [0, n-4)
//
// Decoding checks, in order: the magic (ErrBadMagic; a short prefix of
// it is ErrTruncated), the version and flags (ErrBadVersion), the
// declared length against the data (ErrTruncated when the data is
// shorter, ErrBadLength when longer), the checksum (ErrBadChecksum), and
// then the structure: count and op lengths against the bytes present
// (ErrBadCount, ErrBadLength) and the txid range (ErrBadTxID). No length
// is used to allocate before it is checked against the data: a decoded
// batch costs one slice of count headers, count <= (n-28)/5, and its ops
// alias the input. Every decoding error also matches ErrCorrupt; a sink
// reports it as a *CorruptError naming the object (NewCorruptError), and
// the recovery stops there: a corrupt batch is never applied or skipped.
//
// A version bump must keep reading version 1: sinks outlive the builds
// that wrote them.
package tablestore
