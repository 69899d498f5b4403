package zkutil

import (
	"fmt"
	"io"
	"strings"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"

	"github.com/hdfsha/hdfsha/internal/prompt"
)

// FormatOptions are the switches of `hdfs zkfc -formatZK`.
type FormatOptions struct {
	// Force clears an existing working znode without asking.
	Force bool
	// NonInteractive refuses (ExitFormatDenied) instead of asking.
	NonInteractive bool
	// In answers the prompt; Err receives the warning and the prompt.
	In  io.Reader
	Err io.Writer
}

// Format is Hadoop's ZKFailoverController.formatZK: when cfg.WorkingZNode
// exists it asks (or refuses, or with Force does not ask), then deletes it
// recursively; then it creates it and its ancestors with cfg.ACL.
//
// It returns an *ExitError with ExitFormatDenied when the operator said no or
// NonInteractive refused, ExitClearFailed when the old znode could not be
// deleted, and a plain error when ZooKeeper failed otherwise.
func Format(c *zk.Conn, cfg Config, o FormatOptions, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	if o.In == nil {
		o.In = strings.NewReader("")
	}
	if o.Err == nil {
		o.Err = io.Discard
	}
	path := cfg.WorkingZNode
	exists, err := ParentZNodeExists(c, path)
	if err != nil {
		return err
	}
	if exists {
		if !o.Force {
			if o.NonInteractive {
				// Hadoop exits silently here; say why.
				log.Warn("The configured parent znode " + path + " already exists; not formatting in non-interactive mode (-force clears it)")
				return &ExitError{Code: ExitFormatDenied, Msg: "Parent znode " + path + " exists; formatting denied"}
			}
			if !confirmFormat(path, o.In, o.Err) {
				return &ExitError{Code: ExitFormatDenied, Msg: "Formatting of " + path + " denied"}
			}
		}
		if err := ClearParentZNode(c, path, cfg.OpRetries, log); err != nil {
			return &ExitError{Code: ExitClearFailed, Msg: "Unable to clear zk parent znode", Err: err}
		}
	}
	return EnsureParentZNode(c, path, cfg.ACL, cfg.OpRetries, log)
}

// confirmFormat prints Hadoop's warning and asks Hadoop's question until it
// reads y, yes, n or no (any case). End of input is no.
func confirmFormat(path string, in io.Reader, w io.Writer) bool {
	fmt.Fprint(w, "===============================================\n"+
		"The configured parent znode "+path+" already exists.\n"+
		"Are you sure you want to clear all failover information from\n"+
		"ZooKeeper?\n"+
		"WARNING: Before proceeding, ensure that all HDFS services and\n"+
		"failover controllers are stopped!\n"+
		"===============================================\n")
	return prompt.Confirm(in, w, "Proceed formatting "+path+"?")
}
