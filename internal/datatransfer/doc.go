// Package datatransfer speaks Hadoop 3's DataTransferProtocol, the
// streaming protocol on a DataNode's transfer port (dfs.datanode.address,
// 9866) between clients and DataNodes and between DataNodes: the framing
// of requests, answers, packets and pipeline acks, chunk checksums, and
// the client side of reads (BlockReader), write pipelines (BlockWriter)
// and block checksums. The DataNode's server side (datanode/) and the
// file-level client (client/) build on it; neither should frame bytes
// itself.
//
// Everything here matches Hadoop's bytes; message names are those of
// proto/hdfspb/datatransfer.proto. Decoders never trust a length from the
// network: a frame breaking Hadoop's bounds is an error wrapping
// ErrMalformed, never a panic or a large allocation, and the connection
// must then be closed (the stream cannot be resynchronised).
//
// # Requests
//
// A request is sent once per connection by the side that opened it (Hadoop
// lets a client send another request after a finished READ_BLOCK; a
// DataNode loops on ReadOp until io.EOF):
//
//	offset  size  field
//	0       2     version, big-endian int16 = 28 (0x00 0x1C)
//	2       1     opcode: 80 WRITE_BLOCK, 81 READ_BLOCK, 82 READ_METADATA,
//	              83 REPLACE_BLOCK, 84 COPY_BLOCK, 85 BLOCK_CHECKSUM,
//	              86 TRANSFER_BLOCK, 87..89 short-circuit, 90
//	              BLOCK_GROUP_CHECKSUM, 127 CUSTOM
//	3       v     varint n: length of the body (protobuf varint, 1..5 bytes)
//	3+v     n     body: Op<Name>Proto of the opcode
//
// For example READ_BLOCK with a 23-byte OpReadBlockProto starts
// 00 1C 51 17 ... WriteOp, ReadOp and ReadOpHeader handle it.
//
// # Answers and small messages
//
// BlockOpResponseProto (the answer to every op), ClientReadStatusProto,
// DNTransferAckProto and PipelineAckProto are "delimited": a protobuf varint
// length, then the message (protobuf's writeDelimitedTo). ReadDelimited
// reads the varint a byte at a time so it never consumes what follows.
// Messages over MaxMessageSize are rejected.
//
// # Packets
//
// Block data travels in packets, all integers big-endian:
//
//	offset        size  field
//	0             4     PLEN: 4 + len(checksums) + len(data); it counts its
//	                    own 4 bytes but not HLEN or the header
//	4             2     HLEN: length of the header, 0..32767
//	6             HLEN  PacketHeaderProto: offsetInBlock (sfixed64, field 1),
//	                    seqno (sfixed64, 2), lastPacketInBlock (bool, 3),
//	                    dataLen (sfixed32, 4), syncBlock (bool, 5, sent only
//	                    when true)
//	6+HLEN        c     checksums: one sum per chunk of data, c = PLEN-4-dataLen
//	6+HLEN+c      d     data, d = dataLen
//
// The packet at offset 0, seqno 0, not last, carrying the 3 bytes "abc"
// with its CRC32C 0x364B3FB7 is 38 bytes (protobuf's fixed-width fields
// are little-endian, unlike the lengths around them):
//
//	00 00 00 0B                      PLEN = 4 + 4 + 3
//	00 19                            HLEN = 25
//	09 00 00 00 00 00 00 00 00       offsetInBlock = 0
//	11 00 00 00 00 00 00 00 00       seqno = 0
//	18 00                            lastPacketInBlock = false
//	25 03 00 00 00                   dataLen = 3
//	36 4B 3F B7                      CRC32C("abc")
//	61 62 63                         "abc"
//
// A packet's data starts at a chunk boundary, except the first packet of
// a write that resumes a partial chunk (append, or after hflush): that
// packet ends at the next chunk boundary, so that every later packet is
// aligned again. A block ends with an empty packet whose lastPacketInBlock
// is true. Write pipelines also carry heartbeats (seqno HeartbeatSeqno =
// -1, offset 0, no data) when the writer is idle; each is acked.
// PLEN+HLEN over MaxPacketSize (16 MiB, Hadoop's
// dfs.data.transfer.max.packet.size) is rejected.
//
// # Checksums
//
// Checksum is Hadoop's DataChecksum: CRC32C (type 2, Castagnoli) or CRC32
// (type 1, IEEE) over chunks of BytesPerChecksum bytes (512), each sum 4
// bytes big-endian, the last chunk possibly short; NULL (type 0) has no
// sums. Verify reports the first bad chunk as a *ChecksumError carrying its
// block offset (errors.Is(err, ErrChecksum)). A block meta file is a 2-byte
// version (1) then the 5-byte header of AppendHeader (type byte,
// bytesPerChecksum as int32), then the sums.
//
// # Pipeline acks
//
// Every data packet, the last packet and every heartbeat of a write
// pipeline is acked upstream by a delimited PipelineAckProto: seqno, one
// reply per node from the answering node to the end of the pipeline, the
// downstream ack time, and (Hadoop 3) one header flag per reply packing the
// status in bits 0-3, ECN in bits 5-6 and SLOW in bits 7-8. Hadoop 3
// clients read the status from the flag, so WriteAck sends both, and Ack
// reads the flag first. An ack with seqno UnknownSeqno (-2) carries an
// out-of-band status such as OOB_RESTART.
//
// # Reading: BlockReader
//
//	client                                DataNode
//	  version, 81, OpReadBlockProto  ->
//	                                 <-   BlockOpResponseProto{status,
//	                                        readOpChecksumInfo{checksum, chunkOffset}}
//	                                 <-   packets seqno 0, 1, ... from chunkOffset
//	                                 <-   empty packet, lastPacketInBlock
//	  ClientReadStatusProto          ->   CHECKSUM_OK (verified) or SUCCESS
//
// NewBlockReader sends the request and checks the answer; Read verifies
// each packet (seqno, offset, sums) and trims the chunk-aligned data to
// the range asked for. Errors tell the caller why the replica failed: a
// *ChecksumError (report the replica), a *StatusError (the DataNode
// refused), io.ErrUnexpectedEOF (the stream ended early).
//
// # Writing: BlockWriter
//
//	client                                DN1 -> DN2 -> ... (targets)
//	  version, 80, OpWriteBlockProto ->   (DN1 sets up the rest first)
//	                                 <-   BlockOpResponseProto{status, firstBadLink}
//	  packets seqno s, s+1, ...      ->
//	                                 <-   PipelineAckProto per packet (and heartbeat)
//	  empty last packet              ->   (after every data packet is acked)
//	                                 <-   its ack: the block is complete
//
// A failure stops the writer with a *PipelineError naming the failed
// node's pipeline index; AckedBytes, Unacked and RecoveryRequest give the
// client what pipeline recovery needs (see docs/datatransfer.md).
//
// # Goroutines
//
// A BlockWriter owns two goroutines, the ack reader and the heartbeat
// sender; Close and Abort stop both and wait for them. Nothing else in the
// package starts goroutines; context cancellation interrupts blocking I/O
// by moving the connection's deadline.
package datatransfer
