package client

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/internal/datatransfer"
	"github.com/hdfsha/hdfsha/proto/commonpb"
	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// blockList is a reader's cache of a file's block locations (Hadoop's LocatedBlocks):
// the blocks fetched so far, ordered by offset, plus what the NameNode said about the
// file as a whole. It is pure data; the reader fetches ranges and inserts them.
//
// Invariant: blocks are sorted by offset and do not overlap.
type blockList struct {
	// length is the readable length of the file: the NameNode's length, or for a
	// file being written the last block's offset plus its visible length.
	length            int64
	underConstruction bool
	lastComplete      bool
	// last is the file's last block (nil for an empty file); for a file being
	// written its NumBytes is the visible length asked from a DataNode.
	last   *hdfspb.LocatedBlockProto
	blocks []*hdfspb.LocatedBlockProto
}

func blockStart(lb *hdfspb.LocatedBlockProto) int64 { return int64(lb.GetOffset()) }
func blockLen(lb *hdfspb.LocatedBlockProto) int64   { return int64(lb.GetB().GetNumBytes()) }
func blockEnd(lb *hdfspb.LocatedBlockProto) int64   { return blockStart(lb) + blockLen(lb) }

// find returns the cached block holding file offset off.
func (l *blockList) find(off int64) *hdfspb.LocatedBlockProto {
	i, ok := slices.BinarySearchFunc(l.blocks, off, func(lb *hdfspb.LocatedBlockProto, off int64) int {
		switch {
		case blockEnd(lb) <= off:
			return -1
		case blockStart(lb) > off:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return l.blocks[i]
}

// insert merges freshly fetched blocks into the cache, replacing cached ones at the
// same offsets (LocatedBlocks.insertRange). The last block, when it is being written,
// keeps the visible length learnt from a DataNode.
func (l *blockList) insert(fresh []*hdfspb.LocatedBlockProto) {
	byOff := make(map[uint64]int, len(l.blocks))
	for i, lb := range l.blocks {
		byOff[lb.GetOffset()] = i
	}
	for _, lb := range fresh {
		if l.last != nil && !l.lastComplete && lb.GetB().GetBlockId() == l.last.GetB().GetBlockId() {
			lb = l.last
		}
		if i, ok := byOff[lb.GetOffset()]; ok {
			l.blocks[i] = lb
			continue
		}
		byOff[lb.GetOffset()] = len(l.blocks)
		l.blocks = append(l.blocks, lb)
	}
	slices.SortFunc(l.blocks, func(a, b *hdfspb.LocatedBlockProto) int { return int(blockStart(a) - blockStart(b)) })
}

// replace swaps the cached block with the same offset for lb (a refetched copy).
func (l *blockList) replace(lb *hdfspb.LocatedBlockProto) {
	for i, c := range l.blocks {
		if c.GetOffset() == lb.GetOffset() {
			l.blocks[i] = lb
			return
		}
	}
	l.insert([]*hdfspb.LocatedBlockProto{lb})
}

// newBlockList builds the cache from a getBlockLocations answer. visible is the
// visible length of a last block being written (ignored when the last block is
// complete).
func newBlockList(lbs *hdfspb.LocatedBlocksProto, visible int64) blockList {
	l := blockList{
		length:            int64(lbs.GetFileLength()),
		underConstruction: lbs.GetUnderConstruction(),
		lastComplete:      lbs.GetIsLastBlockComplete(),
	}
	if last := lbs.GetLastBlock(); last != nil {
		l.last = proto.Clone(last).(*hdfspb.LocatedBlockProto)
		if !l.lastComplete {
			l.last.B.NumBytes = proto.Uint64(uint64(visible))
			l.length = blockStart(l.last) + visible
		}
	}
	l.insert(lbs.GetBlocks())
	if l.last != nil && !l.lastComplete {
		l.replace(l.last)
	}
	return l
}

// ipcAddr is a DataNode's IPC address (ClientDatanodeProtocol), ip:port.
func ipcAddr(dn *hdfspb.DatanodeInfoProto) string {
	id := dn.GetId()
	return net.JoinHostPort(id.GetIpAddr(), strconv.Itoa(int(id.GetIpcPort())))
}

// nodeName is how Hadoop's client logs name a located DataNode:
// DatanodeInfoWithStorage[ip:port,storageID,DISK], or ip:port without a storage.
func nodeName(lb *hdfspb.LocatedBlockProto, i int) string {
	locs := lb.GetLocs()
	if i >= len(locs) {
		return "?"
	}
	ids := lb.GetStorageIDs()
	if i >= len(ids) || ids[i] == "" {
		return datatransfer.XferAddr(locs[i])
	}
	st := "DISK"
	if types := lb.GetStorageTypes(); i < len(types) {
		st = types[i].String()
	}
	return fmt.Sprintf("DatanodeInfoWithStorage[%s,%s,%s]", datatransfer.XferAddr(locs[i]), ids[i], st)
}

func nodeNames(lb *hdfspb.LocatedBlockProto, skip func(addr string) bool) string {
	var b strings.Builder
	for i, dn := range lb.GetLocs() {
		if skip != nil && !skip(datatransfer.XferAddr(dn)) {
			continue
		}
		b.WriteString(" ")
		b.WriteString(nodeName(lb, i))
	}
	return b.String()
}

// emptyToken is the block access token of a cluster without block tokens.
func emptyToken() *commonpb.TokenProto {
	return &commonpb.TokenProto{Identifier: []byte{}, Password: []byte{}, Kind: proto.String(""), Service: proto.String("")}
}
