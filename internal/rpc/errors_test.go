package rpc

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/hdfsha/hdfsha/proto/hdfspb"
)

func TestExceptionTable(t *testing.T) {
	seenClass := map[string]bool{}
	seenErr := map[error]bool{}
	for _, e := range exceptionTable {
		if seenClass[e.class] || seenErr[e.err] {
			t.Errorf("%s listed twice", e.class)
		}
		seenClass[e.class], seenErr[e.err] = true, true
		if got := ClassOf(e.err); got != e.class {
			t.Errorf("ClassOf(%v) = %s, want %s", e.err, got, e.class)
		}
		if got := ClassOf(fmt.Errorf("context: %w", e.err)); got != e.class {
			t.Errorf("ClassOf(wrapped %v) = %s, want %s", e.err, got, e.class)
		}
		if got := SentinelFor(e.class); got != e.err {
			t.Errorf("SentinelFor(%s) = %v, want %v", e.class, got, e.err)
		}
	}
	if got := ClassOf(errors.New("disk on fire")); got != classIOException {
		t.Errorf("unmapped error travels as %s", got)
	}
	if SentinelFor("com.example.Weird") != nil {
		t.Error("unknown class has a sentinel")
	}
}

func TestErrorf(t *testing.T) {
	err := Errorf(ErrFileNotFound, "File does not exist: %s", "/nope")
	if err.Error() != "File does not exist: /nope" {
		t.Errorf("message %q", err.Error())
	}
	if !errors.Is(err, ErrFileNotFound) || errors.Is(err, ErrIO) {
		t.Errorf("errors.Is wrong for %v", err)
	}
	if ClassOf(fmt.Errorf("resolving: %w", err)) != "java.io.FileNotFoundException" {
		t.Error("wrapped Errorf lost its class")
	}
	nsq := &RemoteError{Class: "org.apache.hadoop.hdfs.protocol.NSQuotaExceededException"}
	if !errors.Is(nsq, ErrNSQuotaExceeded) || !errors.Is(nsq, ErrQuotaExceeded) || errors.Is(nsq, ErrDSQuotaExceeded) {
		t.Error("NSQuotaExceededException should match itself and QuotaExceededException only")
	}
	if !errors.Is(Errorf(ErrAuthorization, "no"), ErrAccessControl) {
		t.Error("AuthorizationException should match AccessControlException")
	}
	if (&RemoteError{Class: "x.Y"}).Error() != "x.Y" {
		t.Error("empty message should print the class")
	}
}

// TestExceptionsOverTheWire sends every table entry, as Errorf and as a
// wrapped sentinel, through a server and a client.
func TestExceptionsOverTheWire(t *testing.T) {
	checkGoroutinesGone(t)
	type failure struct{ err error }
	failures := map[string]failure{}
	for i, e := range exceptionTable {
		failures[fmt.Sprint("/errorf/", i)] = failure{Errorf(e.err, "failure #%d: %s", i, e.class)}
		failures[fmt.Sprint("/wrapped/", i)] = failure{fmt.Errorf("failure #%d: %w", i, e.err)}
	}
	failures["/plain"] = failure{errors.New("disk on fire")}
	failures["/unknown-class"] = failure{fmt.Errorf("forwarding: %w", &RemoteError{Class: "com.example.WeirdException", Message: "weird"})}

	srv := startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				return nil, failures[req.GetSrc()].err
			}))
	})
	c := newClient(t, nil)
	addr := srv.Addr().String()

	check := func(path, wantClass, wantMsg string, wantIs error) {
		t.Helper()
		_, err := stat(context.Background(), c, addr, path)
		var re *RemoteError
		if !errors.As(err, &re) {
			t.Fatalf("%s: got %v (%T), want a *RemoteError", path, err, err)
		}
		if re.Class != wantClass || re.Message != wantMsg || re.Code != codeApplication {
			t.Errorf("%s: got %s %q %s, want %s %q ERROR_APPLICATION", path, re.Class, re.Message, re.Code, wantClass, wantMsg)
		}
		if wantIs != nil && !errors.Is(err, wantIs) {
			t.Errorf("%s: errors.Is(%v, %v) = false", path, err, wantIs)
		}
		if wantIs != ErrIO && errors.Is(err, ErrIO) {
			t.Errorf("%s: %s also matches the generic ErrIO", path, re.Class)
		}
	}
	for i, e := range exceptionTable {
		check(fmt.Sprint("/errorf/", i), e.class, fmt.Sprintf("failure #%d: %s", i, e.class), e.err)
		check(fmt.Sprint("/wrapped/", i), e.class, fmt.Sprintf("failure #%d: %s", i, e.err), e.err)
	}
	check("/plain", classIOException, "disk on fire", ErrIO)
	check("/unknown-class", "com.example.WeirdException", "weird", nil)
}

func TestGetFileInfoNotFoundIsAbsentOrError(t *testing.T) {
	// A GetFileInfoResponseProto without fs is valid (Hadoop's "no such file"
	// for getFileInfo); make sure it round-trips as empty, not as an error.
	checkGoroutinesGone(t)
	srv := startServer(t, nil, func(s *Server) {
		s.Register(clientProtocol, Unary("getFileInfo",
			func(ctx context.Context, req *hdfspb.GetFileInfoRequestProto) (*hdfspb.GetFileInfoResponseProto, error) {
				return &hdfspb.GetFileInfoResponseProto{}, nil
			}))
	})
	c := newClient(t, nil)
	resp := &hdfspb.GetFileInfoResponseProto{Fs: fileStatus("/stale")}
	err := c.Call(context.Background(), srv.Addr().String(), clientProtocol, "getFileInfo",
		&hdfspb.GetFileInfoRequestProto{Src: proto.String("/x")}, resp)
	if err != nil || resp.Fs != nil {
		t.Fatalf("got %v, %v", resp, err)
	}
}
