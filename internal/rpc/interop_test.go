package rpc

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	hdfs "github.com/colinmarc/hdfs/v2"
	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

// TestColinmarcClient checks the server against github.com/colinmarc/hdfs/v2,
// a real HDFS client nobody here wrote.
func TestColinmarcClient(t *testing.T) {
	checkGoroutinesGone(t)
	modTime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var seen struct {
		sync.Mutex
		callers []*Caller
	}
	srv := startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				caller, _ := CallerFromContext(ctx)
				seen.Lock()
				seen.callers = append(seen.callers, caller)
				seen.Unlock()
				if req.GetSrc() != "/" {
					return nil, Errorf(ErrFileNotFound, "File does not exist: %s", req.GetSrc())
				}
				return &hdfspb.GetFileInfoResponseProto{Fs: &hdfspb.HdfsFileStatusProto{
					FileType:         hdfspb.HdfsFileStatusProto_IS_DIR.Enum(),
					Path:             []byte{},
					Length:           proto.Uint64(0),
					Permission:       &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)},
					Owner:            proto.String("hdfs"),
					Group:            proto.String("supergroup"),
					ModificationTime: proto.Uint64(uint64(modTime.UnixMilli())),
					AccessTime:       proto.Uint64(0),
					FileId:           proto.Uint64(16385),
					ChildrenNum:      proto.Int32(3),
				}}, nil
			}))
	})

	client, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{srv.Addr().String()}, User: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	fi, err := client.Stat("/")
	if err != nil {
		t.Fatalf("Stat(/): %v", err)
	}
	hfi := fi.(*hdfs.FileInfo)
	if !fi.IsDir() || fi.Mode() != os.ModeDir|0o755 || hfi.Owner() != "hdfs" || hfi.OwnerGroup() != "supergroup" ||
		!fi.ModTime().Equal(modTime) || fi.Name() != "/" {
		t.Errorf("Stat(/) = dir %v mode %v owner %s group %s mtime %v name %q",
			fi.IsDir(), fi.Mode(), hfi.Owner(), hfi.OwnerGroup(), fi.ModTime(), fi.Name())
	}

	_, err = client.Stat("/nope")
	if !os.IsNotExist(err) {
		t.Errorf("Stat(/nope) = %v, want a not-exist error", err)
	}
	seen.Lock()
	defer seen.Unlock()
	if len(seen.callers) != 2 {
		t.Fatalf("server saw %d getFileInfo calls, want 2", len(seen.callers))
	}
	for _, c := range seen.callers {
		if c.User != "alice" || len(c.ClientID) != 16 || c.ConnectionProtocol != clientProtocol {
			t.Errorf("caller %+v: want user alice, a 16-byte client id and %s", c, clientProtocol)
		}
	}
	if a, b := seen.callers[0], seen.callers[1]; string(a.ClientID) != string(b.ClientID) || a.CallID == b.CallID {
		t.Errorf("calls of one client: ids %q/%d and %q/%d", a.ClientID, a.CallID, b.ClientID, b.CallID)
	}
}
