// Package vfs is the filesystem interface that hdfsha's storage code uses
// for every disk access, so that tests can inject errors (package errorfs)
// and simulate crashes that lose unsynced data (MemFS.CrashClone).
//
// Two implementations live here: Default, the operating system's
// filesystem, and MemFS, an in-memory filesystem with an explicit
// durability model.
//
// # Durability model
//
// The contract callers must follow is the strict POSIX one, and MemFS
// enforces exactly that, no more:
//
//   - File contents (bytes and size) become durable when File.Sync
//     returns. A Write, Truncate or overwrite that was not followed by a
//     Sync of that file may be lost in a crash.
//   - A directory entry (a file or directory created in dir, a rename into
//     or out of dir, a removal from dir) becomes durable when SyncDir(dir)
//     returns. Syncing a file does not make its name durable, and syncing
//     a directory does not make its files' contents durable.
//   - Rename is atomic: before the crash and after it, newname refers to
//     either the old or the new file. After a crash that follows an
//     unsynced rename, the old name still holds the file (with its synced
//     contents) and newname holds whatever it held when its directory was
//     last synced.
//   - Directories created by MkdirAll are entries of their parents like
//     files: durable once the parent is SyncDir'd.
//
// WriteFileAtomic packages the usual habit for small state: temporary
// file, Sync, Rename, SyncDir.
package vfs
