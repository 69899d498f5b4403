// Package image owns the NameNode's namespace images: saving a consistent
// checkpoint of the namespace under a name directory, listing, verifying,
// loading and purging images, and moving one between NameNodes as a single
// checksummed stream. The offline viewer (hdfs oiv) reads images through
// Load.
//
// # Layout
//
// An image is a directory, named like Hadoop's image files with the txid of
// the last edit it holds zero-padded to 19 digits:
//
//	<nameDir>/current/
//	    fsimage_0000000000000000042/        an image (txid 42)
//	        IMAGE                           manifest, written last
//	        IMAGE_TXID                      txid stamp (namespace.Checkpoint)
//	        MANIFEST-000001, OPTIONS-*,     the Pebble checkpoint files
//	        marker.*, 000004.sst, 000005.log ...
//	    fsimage_0000000000000000042.tmp/    a save or receive in progress,
//	                                        or garbage after a crash
//	    fsimage_0000000000000000007.purge.tmp/  an image Purge is removing
//
// Only a directory named exactly fsimage_<19 digits> is an image. Files are
// plain names (no subdirectories); the OS filesystem is used directly.
//
// # Manifest
//
// IMAGE is text, one record per line, fields separated by one space, each
// line ending in '\n':
//
//	hdfsha-image 1                          magic and manifest version
//	txid 42                                 txid of the image
//	file <name> <size> <sha256 hex>         one line per other file, sorted by name
//	...
//	end <sha256 hex>                        SHA-256 of every byte before this line
//
// Verify checks, and names the file in a *CorruptionError when any fails:
// the manifest parses and its end checksum matches; its txid equals the
// directory's; every listed file exists with the listed size and SHA-256;
// no file is present that is not listed; IMAGE_TXID holds the txid.
//
// # Durability order (Save)
//
//  1. remove a leftover fsimage_<txid>.tmp;
//  2. namespace.Checkpoint into fsimage_<txid>.tmp (Pebble writes the
//     files; IMAGE_TXID is synced);
//  3. fsync every file, then hash it into the manifest;
//  4. write IMAGE and fsync it;
//  5. fsync fsimage_<txid>.tmp (its entries);
//  6. rename it to fsimage_<txid>;
//  7. fsync current/ (the rename).
//
// A crash before 7 leaves at most a .tmp directory (never read; Purge and
// the next Save or Receive of that txid remove it) or an image whose
// rename may be lost, which is then simply absent. A complete-looking image
// directory therefore always holds synced files and a synced manifest.
// Receive follows the same order with the files coming from the stream.
//
// # Saving while edits are applied
//
// A standby saves while its tailer applies edits. namespace.Checkpoint
// takes the Pebble checkpoint and reads the txid under the same lock Apply
// holds while it commits an edit and its txid in one batch, so the
// snapshot and its stamp always agree; Save names the image after that
// txid (TestSaveWhileApplying loads every image saved that way and checks
// it holds exactly its txid's namespace).
//
// # Newest never goes back in time
//
// Newest verifies only the image with the highest txid and returns its
// corruption error instead of falling back to an older image, as HDFS
// refuses to start on a bad fsimage: the edits that would bring an older
// image forward may already be purged, and starting anyway would silently
// lose them. The operator removes or replaces the corrupt image.
//
// # Stream
//
// Stream and Receive move an image (for HTTP transfer between NameNodes) as
// one byte stream; all integers big-endian:
//
//	header     0   4  magic "HSIM"
//	           4   4  stream version (1)
//	           8   8  txid
//	          16   4  number of files n (the manifest included)
//	file × n       2  name length l (1..255)
//	               l  name (the manifest IMAGE comes first, then the
//	                  files in manifest order)
//	               8  size s
//	               s  the file's bytes
//	trailer        4  magic "HSEN"
//	              32  SHA-256 of every stream byte before these 32
//
// Receive checks the header against the txid it expects, then each file
// against the streamed manifest (name, size, SHA-256) as it arrives, then
// the trailer; the manifest bounds everything after it, and no file is
// held in memory. Stream checks each file against the manifest while
// sending and stops without a trailer if one does not match.
//
// # Retention
//
// Purge keeps the newest dfs.namenode.num.checkpoints.retained images
// (DefaultRetained, 2), counting by txid, and never fewer than one.
// Removal renames an image to .purge.tmp first, so a crash while removing
// never leaves a partial directory under an image name.
package image
