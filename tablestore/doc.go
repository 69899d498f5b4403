// Package tablestore is the remote metadata mirror: an asynchronous
// shipper that copies the active NameNode's committed edits and its
// images to a Sink, and the reading side a NameNode in recovery mode
// loads a new cluster's namespace from.
//
// Sinks: package filesink (a directory, for example an NFS mount:
// namespace.mirror.uri=file:///dir) and package ots (Alibaba Tablestore,
// the namespace.ots.* keys). Every sink passes package sinktest's
// conformance suite. docs/mirror.md is the operator's view.
package tablestore
