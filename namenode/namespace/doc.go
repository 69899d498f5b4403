// Package namespace is the NameNode's namespace: inodes, directory entries,
// the block→file map, xattrs and namespace metadata in Pebble, changed only
// by Apply. (Full description and key layout follow in this file.)
package namespace
