// Package edits owns the byte layout of edit log segments: the framing of
// one edit record, segment files made of records, their names, and the
// scan that tells a torn tail (a crash while appending) from corruption
// (a bad record with good data after it). The NameNode's local edit log
// and the JournalNode both store segments in this format.
//
// A record carries one operation's bytes (opaque here; a protobuf message
// to the namesystem) stamped with its transaction id. Transaction ids start
// at 1 and are contiguous within a segment and across segments.
//
// # Segment file
//
// A segment is an 8-byte header followed by records, and nothing else:
//
//	offset  size  field
//	0       4     magic "HSED" (0x48 0x53 0x45 0x44)
//	4       4     layout version, uint32 big-endian (LayoutVersion = 1)
//	8       ...   records, back to back
//
// # Record
//
// All integers are big-endian.
//
//	offset  size  field
//	0       4     length: number of op bytes, uint32, 1 ≤ length ≤ MaxOpSize
//	4       4     crc: CRC-32C (Castagnoli) of bytes [8, 16+length), that is
//	              of the txid field followed by the op bytes
//	8       8     txid: transaction id, 1 ≤ txid ≤ 2^63-1
//	16      n     op: the operation's bytes (n = length)
//
// For example the record for txid 7 with op bytes 0xAA 0xBB is 18 bytes:
//
//	00 00 00 02 | c c c c | 00 00 00 00 00 00 00 07 | AA BB
//
// Length and CRC come first so that a reader learns how much to read and
// can check it before interpreting anything. A zero length is invalid, so
// zeros left by preallocation never decode as a record.
//
// # Names
//
// Segments are named like HDFS's: "edits_inprogress_<first>" while open,
// "edits_<first>-<last>" once finalized, each txid zero-padded to 19
// digits (Java's %019d). See InProgressName, FinalizedName and
// ParseSegmentName.
//
// # Torn tails and corruption
//
// A crash while appending leaves a torn tail: the last record incomplete,
// or zeros where blocks were allocated but not written, or a final record
// whose CRC fails. Scan and Reader report such a tail as ErrTornTail with
// the offset of the end of the last valid record, where the owner may
// truncate (keeping a copy). A record that fails its checks while a valid
// record with a later txid follows it is corruption: the disk or a bug
// destroyed data that was once written, and it is reported as a
// *CorruptionError (errors.Is(err, ErrCorrupt)) naming the file and offset,
// never skipped. A CRC-valid record whose txid breaks contiguity is also
// corruption.
//
// Known limit: the rule above assumes unsynced appends reach the disk in
// order (a torn tail is a prefix of what was written). A device that
// persists a later unsynced page but not an earlier one can make an
// unacknowledged torn tail look like corruption; that errs on the side of
// stopping for an operator rather than losing data.
package edits
