package rpc

import (
	"errors"
	"fmt"

	"github.com/hdfsha/hdfsha/proto/commonpb"
)

// Sentinel errors, one per Java exception class in exceptionTable. Server code
// returns them through Errorf (or wrapped with %w); client code tests for them
// with errors.Is on the error a Call returns.
var (
	ErrIO                      = errors.New("I/O error")
	ErrFileNotFound            = errors.New("file not found")
	ErrFileAlreadyExists       = errors.New("file already exists")
	ErrParentNotDirectory      = errors.New("parent is not a directory")
	ErrPathIsNotEmptyDirectory = errors.New("directory is not empty")
	ErrInvalidPath             = errors.New("invalid path")
	ErrAccessControl           = errors.New("access denied")
	ErrAuthorization           = errors.New("not authorized")
	ErrStandby                 = errors.New("operation not supported in standby state")
	ErrSafeMode                = errors.New("name node is in safe mode")
	ErrRetriable               = errors.New("retriable error")
	ErrAlreadyBeingCreated     = errors.New("file is already being created")
	ErrLeaseExpired            = errors.New("lease expired")
	ErrNotReplicatedYet        = errors.New("block not replicated yet")
	ErrIllegalArgument         = errors.New("illegal argument")
	ErrQuotaExceeded           = errors.New("quota exceeded")
	ErrNSQuotaExceeded         = errors.New("namespace quota exceeded")
	ErrDSQuotaExceeded         = errors.New("disk space quota exceeded")
	// ErrPathComponentTooLong and ErrMaxDirectoryItemsExceeded are
	// FSLimitException's subclasses (a QuotaExceededException in Java).
	ErrPathComponentTooLong      = errors.New("path component too long")
	ErrMaxDirectoryItemsExceeded = errors.New("directory item limit exceeded")
	ErrUnsupportedOperation      = errors.New("unsupported operation")
	ErrJournalNotFormatted       = errors.New("journal not formatted")
	ErrJournalOutOfSync          = errors.New("journal out of sync")
	ErrInconsistentFSState       = errors.New("inconsistent file system state")
	ErrServiceFailed             = errors.New("service failed")
	ErrHealthCheckFailed         = errors.New("health check failed")
	ErrNoSuchMethod              = errors.New("no such RPC method")
	ErrNoSuchProtocol            = errors.New("no such RPC protocol")
	ErrRPCServer                 = errors.New("RPC server error")
	ErrVersionMismatch           = errors.New("RPC version mismatch")
	ErrIPC                       = errors.New("IPC error")
)

// exceptionTable is the one mapping between Java exception class names on the
// wire and Go sentinel errors. parent names a class the exception extends in
// Java when clients branch on the parent (errors.Is holds for both).
//
// Order matters for ClassOf: an error matching several sentinels gets the
// first class listed, so subclasses come before their parents.
var exceptionTable = []struct {
	class  string
	err    error
	parent error
}{
	{"org.apache.hadoop.ipc.StandbyException", ErrStandby, nil},
	{"java.io.FileNotFoundException", ErrFileNotFound, nil},
	{"org.apache.hadoop.fs.FileAlreadyExistsException", ErrFileAlreadyExists, nil},
	{"org.apache.hadoop.fs.ParentNotDirectoryException", ErrParentNotDirectory, nil},
	{"org.apache.hadoop.fs.PathIsNotEmptyDirectoryException", ErrPathIsNotEmptyDirectory, nil},
	{"org.apache.hadoop.fs.InvalidPathException", ErrInvalidPath, nil},
	{"org.apache.hadoop.security.authorize.AuthorizationException", ErrAuthorization, ErrAccessControl},
	{"org.apache.hadoop.security.AccessControlException", ErrAccessControl, nil},
	{"org.apache.hadoop.hdfs.server.namenode.SafeModeException", ErrSafeMode, nil},
	{"org.apache.hadoop.ipc.RetriableException", ErrRetriable, nil},
	{"org.apache.hadoop.hdfs.protocol.AlreadyBeingCreatedException", ErrAlreadyBeingCreated, nil},
	{"org.apache.hadoop.hdfs.server.namenode.LeaseExpiredException", ErrLeaseExpired, nil},
	{"org.apache.hadoop.hdfs.server.namenode.NotReplicatedYetException", ErrNotReplicatedYet, nil},
	{"org.apache.hadoop.HadoopIllegalArgumentException", ErrIllegalArgument, nil},
	{"org.apache.hadoop.hdfs.protocol.NSQuotaExceededException", ErrNSQuotaExceeded, ErrQuotaExceeded},
	{"org.apache.hadoop.hdfs.protocol.DSQuotaExceededException", ErrDSQuotaExceeded, ErrQuotaExceeded},
	{"org.apache.hadoop.hdfs.protocol.FSLimitException$PathComponentTooLongException", ErrPathComponentTooLong, ErrQuotaExceeded},
	{"org.apache.hadoop.hdfs.protocol.FSLimitException$MaxDirectoryItemsExceededException", ErrMaxDirectoryItemsExceeded, ErrQuotaExceeded},
	{"org.apache.hadoop.hdfs.protocol.QuotaExceededException", ErrQuotaExceeded, nil},
	{"java.lang.UnsupportedOperationException", ErrUnsupportedOperation, nil},
	{"org.apache.hadoop.hdfs.qjournal.protocol.JournalNotFormattedException", ErrJournalNotFormatted, nil},
	{"org.apache.hadoop.hdfs.qjournal.protocol.JournalOutOfSyncException", ErrJournalOutOfSync, nil},
	{"org.apache.hadoop.hdfs.server.common.InconsistentFSStateException", ErrInconsistentFSState, nil},
	{"org.apache.hadoop.ha.ServiceFailedException", ErrServiceFailed, nil},
	{"org.apache.hadoop.ha.HealthCheckFailedException", ErrHealthCheckFailed, nil},
	{"org.apache.hadoop.ipc.RpcNoSuchMethodException", ErrNoSuchMethod, nil},
	{"org.apache.hadoop.ipc.RpcNoSuchProtocolException", ErrNoSuchProtocol, nil},
	{"org.apache.hadoop.ipc.RpcServerException", ErrRPCServer, nil},
	{"org.apache.hadoop.ipc.RPC$VersionMismatch", ErrVersionMismatch, nil},
	{"org.apache.hadoop.ipc.IpcException", ErrIPC, nil},
	{"java.io.IOException", ErrIO, nil},
}

// Java class names the package itself puts on the wire.
const (
	classIOException        = "java.io.IOException"
	classStandby            = "org.apache.hadoop.ipc.StandbyException"
	classAccessControl      = "org.apache.hadoop.security.AccessControlException"
	classRPCServerException = "org.apache.hadoop.ipc.RpcServerException"
	classNoSuchMethod       = "org.apache.hadoop.ipc.RpcNoSuchMethodException"
	classNoSuchProtocol     = "org.apache.hadoop.ipc.RpcNoSuchProtocolException"
	classVersionMismatch    = "org.apache.hadoop.ipc.RPC$VersionMismatch"
	classIPCException       = "org.apache.hadoop.ipc.IpcException"
)

// classIndex and sentinelIndex are exceptionTable keyed both ways; built once
// from the table and never written afterwards.
var (
	classIndex    = make(map[string]int, len(exceptionTable))
	sentinelIndex = make(map[error]int, len(exceptionTable))
)

func init() {
	for i, e := range exceptionTable {
		classIndex[e.class] = i
		sentinelIndex[e.err] = i
	}
}

// RemoteError is a Java exception travelling on the wire: the class name and
// message of an RPC error response. Servers build one with Errorf; a client's
// Call returns one when the server answers with an error, so
// errors.As(err, &remoteErr) gives the class even when it is not in the table,
// and errors.Is(err, ErrFileNotFound) holds when the class maps to a sentinel.
type RemoteError struct {
	// Class is the Java exception class name, e.g. "java.io.FileNotFoundException".
	Class string
	// Message is the exception message, exactly as sent.
	Message string
	// Code is the RPC error code of the response; zero on errors built by Errorf.
	Code commonpb.RpcResponseHeaderProto_RpcErrorCodeProto
}

// Errorf returns a *RemoteError whose class is the one mapped to kind (java.io.IOException
// when kind is not in the table) and whose message is exactly the formatted text:
//
//	return nil, rpc.Errorf(rpc.ErrFileNotFound, "File does not exist: %s", p)
//
// The message is formatted with fmt.Sprintf; %w is not supported (the result
// matches kind, not the arguments).
func Errorf(kind error, format string, args ...any) error {
	return &RemoteError{Class: ClassOf(kind), Message: fmt.Sprintf(format, args...)}
}

// Error returns the exception message, or the class name when the message is empty.
func (e *RemoteError) Error() string {
	if e.Message == "" {
		return e.Class
	}
	return e.Message
}

// Is reports whether target is the sentinel mapped to e's class, or the
// sentinel of a class it extends (NSQuotaExceededException is also a
// QuotaExceededException).
func (e *RemoteError) Is(target error) bool {
	i, ok := classIndex[e.Class]
	if !ok {
		return false
	}
	return exceptionTable[i].err == target || (exceptionTable[i].parent != nil && exceptionTable[i].parent == target)
}

// Fatal reports whether the server closed the connection after this error.
func (e *RemoteError) Fatal() bool {
	return e.Code >= commonpb.RpcResponseHeaderProto_FATAL_UNKNOWN
}

// ClassOf returns the Java exception class that err travels as: the class of
// a *RemoteError in its chain, else the class of the first table sentinel it
// matches with errors.Is, else java.io.IOException.
func ClassOf(err error) string {
	var re *RemoteError
	if errors.As(err, &re) && re.Class != "" {
		return re.Class
	}
	if i, ok := sentinelIndex[err]; ok {
		return exceptionTable[i].class
	}
	for _, e := range exceptionTable {
		if errors.Is(err, e.err) {
			return e.class
		}
	}
	return classIOException
}

// SentinelFor returns the sentinel error mapped to a Java exception class, or
// nil when the class is not in the table.
func SentinelFor(class string) error {
	if i, ok := classIndex[class]; ok {
		return exceptionTable[i].err
	}
	return nil
}

// wireError returns the class and message an error travels as. The message of
// a *RemoteError is sent as is, without the Go context wrapped around it (that
// context is logged by the server instead).
func wireError(err error) (class, msg string) {
	var re *RemoteError
	if errors.As(err, &re) && re.Class != "" {
		return re.Class, re.Message
	}
	return ClassOf(err), err.Error()
}
