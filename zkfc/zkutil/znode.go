package zkutil

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"
	"go.uber.org/zap"
)

// withRetries runs op, again while it fails because the connection was lost
// (the client reconnects within the session), at most retries times in all.
func withRetries[T any](retries int, op func() (T, error)) (T, error) {
	for i := 1; ; i++ {
		v, err := op()
		if err == nil || i >= retries || !errors.Is(err, zk.ErrConnectionClosed) {
			return v, err
		}
	}
}

// ParentZNodeExists reports whether path (Config.WorkingZNode) exists.
func ParentZNodeExists(c *zk.Conn, path string) (bool, error) {
	ok, _, err := c.Exists(path)
	if err != nil {
		return false, fmt.Errorf("Couldn't determine existence of znode '%s': %w", path, err)
	}
	return ok, nil
}

// EnsureParentZNode creates path and each of its ancestors, persistent, empty,
// with acl. An ancestor that exists gets acl when its ACL differs, as in
// Hadoop's ActiveStandbyElector.ensureParentZNode.
func EnsureParentZNode(c *zk.Conn, path string, acl []zk.ACL, retries int, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	if err := validatePath(path); err != nil {
		return err
	}
	prefix := ""
	for _, part := range strings.Split(path[1:], "/") {
		prefix += "/" + part
		log.Debug("Ensuring existence of " + prefix)
		_, err := withRetries(retries, func() (string, error) { return c.Create(prefix, []byte{}, zk.FlagPersistent, acl) })
		switch {
		case err == nil:
		case errors.Is(err, zk.ErrNodeExists):
			if err := setACLIfDifferent(c, prefix, acl, retries); err != nil {
				return fmt.Errorf("Couldn't set ACLs on parent ZNode: %s: %w", prefix, err)
			}
		default:
			return fmt.Errorf("Couldn't create %s: %w", prefix, err)
		}
	}
	log.Info("Successfully created " + path + " in ZK.")
	return nil
}

func setACLIfDifferent(c *zk.Conn, path string, acl []zk.ACL, retries int) error {
	for i := 1; ; i++ {
		have, stat, err := c.GetACL(path)
		if err == nil {
			if sameACL(have, acl) {
				return nil
			}
			_, err = c.SetACL(path, acl, stat.Aversion)
		}
		if err == nil || i >= retries || !(errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrBadVersion)) {
			return err
		}
	}
}

// sameACL compares as sets. The server stores a digest ACL as given, and
// replaces an auth ACL by the session's identities, so an auth ACL never
// matches and is set again: harmless, and what Hadoop does too.
func sameACL(a, b []zk.ACL) bool {
	contains := func(set []zk.ACL, x zk.ACL) bool { return slices.Contains(set, x) }
	for _, x := range a {
		if !contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !contains(a, x) {
			return false
		}
	}
	return true
}

// ClearParentZNode deletes path and everything below it. Use it only when no
// ZKFC of the nameservice runs.
func ClearParentZNode(c *zk.Conn, path string, retries int, log *zap.Logger) error {
	if log == nil {
		log = zap.NewNop()
	}
	log.Info("Recursively deleting " + path + " from ZK...")
	if _, err := withRetries(retries, func() (struct{}, error) { return struct{}{}, DeleteRecursive(c, path) }); err != nil {
		return fmt.Errorf("Couldn't clear parent znode %s: %w", path, err)
	}
	log.Info("Successfully deleted " + path + " from ZK.")
	return nil
}

// DeleteRecursive deletes path and its descendants, children first. A znode
// that is already gone is not an error; one that gains children meanwhile
// fails with zk.ErrNotEmpty.
func DeleteRecursive(c *zk.Conn, path string) error {
	children, _, err := c.Children(path)
	if errors.Is(err, zk.ErrNoNode) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", path, err)
	}
	for _, ch := range children {
		child := path + "/" + ch
		if path == "/" {
			child = "/" + ch
		}
		if err := DeleteRecursive(c, child); err != nil {
			return err
		}
	}
	if err := c.Delete(path, -1); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	return nil
}
