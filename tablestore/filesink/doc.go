// Package filesink is the file sink of the metadata mirror: a directory,
// for example an NFS mount (namespace.mirror.uri=file:///dir).
//
// # Layout
//
//	<dir>/info                          the namespace identity (tablestore.EncodeInfo)
//	<dir>/edits/<first txid, 19 digits> one batch of edits (tablestore.EncodeBatch)
//	<dir>/images/<txid, 19 digits>      one image stream, the bytes PutImage was given
//	<dir>/*/.tmp-<name>-<random>        a write in progress (or a crashed one)
//
// Keys are zero-padded to 19 digits (the width of the largest int64) so
// that name order is txid order. Names that are not 19 digits are not
// objects: temp files, NFS's .nfsXXXX files and anything foreign are
// ignored by every listing.
//
// # Durability order
//
// Every object is created the same way, and is never changed afterwards:
//
//  1. write it to a new temp file (O_EXCL) in the object's own directory;
//  2. fsync the temp file;
//  3. link(2) the temp file to the final name. link never replaces an
//     existing name, so it is the exclusive, atomic step: of two writers
//     of one key exactly one succeeds, the other gets EEXIST, reported as
//     tablestore.ErrExists. (Over NFS a retransmitted LINK can answer
//     EEXIST for a link that was made; the sink then finds that the final
//     name is its own temp file, and succeeds.)
//  4. remove the temp name;
//  5. fsync the directory, so the new name survives a crash;
//
// and only then does the call return nil. A reader sees an object whole
// or not at all, because its name appears only after its bytes are
// synced. A crash before step 3 leaves only a temp file, which is never
// an object and which Open removes; a crash between 3 and 5 may lose the
// name, and the writer, which got no answer, writes it again.
//
// Open removes every temp file. If another process is writing the same
// directory at that moment, its write in progress fails (link finds no
// temp file) and its caller retries; nothing visible changes.
//
// No file locks are used (they are unreliable over NFS); link(2) and
// directory fsync are all the sink needs from the file system.
//
// # Integrity
//
// Batches and the identity carry a CRC32C (tablestore's formats); a
// batch must also sit under its own first txid. One that fails is
// reported as a *tablestore.CorruptError naming it, for example
// "edits/0000000000000000101", and is never passed on. Image streams
// carry their own checksums, verified by their reader (image.Receive).
package filesink
