// Package namenode is the NameNode daemon: it owns the name directory
// (VERSION, images), the working namespace, the edit log, the namesystem
// (package namesystem), the client RPC server and the HTTP server.
//
// # Storage
//
//	<dfs.namenode.name.dir>/current/VERSION           java properties: namespaceID, clusterID,
//	                                                   cTime, storageType=NAME_NODE, blockpoolID,
//	                                                   layoutVersion
//	<dfs.namenode.name.dir>/current/fsimage_<txid>    images (package image)
//	<dfs.namenode.name.dir>/current/namespace.work    the working Pebble namespace, rebuilt at
//	                                                   every start from the newest image + edits
//	<dfs.namenode.edits.dir>/current/edits_*          local edit segments (non-HA)
//
// # Startup
//
// Read VERSION; take the newest image (a corrupt newest image stops the
// start, naming it: never skip to an older one); copy it into the working
// directory; recover the journal and replay every edit after the image
// (a corrupt or missing edit stops the start, naming the segment); start
// writing at the next txid; serve. Non-HA: always active.
//
// # Stop
//
// Stop closes the RPC server (waiting for handlers), the HTTP server, the
// namesystem's lease monitor, the edit log (finalizing the open segment)
// and the namespace, in that order. A journal failure stops the RPC
// server by itself; the daemon then waits for Stop.
package namenode
