package fence

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/ssh"

	"github.com/hdfsha/hdfsha/zkfc/hasvc"
)

// Configuration keys sshfence reads from the target's view.
const (
	KeySSHPrivateKeyFiles   = "dfs.ha.fencing.ssh.private-key-files"
	KeySSHConnectTimeout    = "dfs.ha.fencing.ssh.connect-timeout"
	DefaultSSHConnectTimout = 30 * time.Second
	DefaultSSHPort          = 22
)

// SSH is Hadoop's SshFenceByTcpPort, `sshfence([[user][:port]])`: it logs in
// to the target's host over SSH (port 22 and the current user unless the
// argument says otherwise) with the keys of dfs.ha.fencing.ssh.private-key-files
// and kills whatever listens on the target's TCP port:
//
//	PATH=$PATH:/sbin:/usr/sbin fuser -v -k -n tcp <port>
//
// Exit status 0 means fuser killed it: fenced. Status 1 means fuser found
// nothing it could kill (nothing listens, or it may not see another user's
// process); then `nc -z <host> <port>` decides: status 0 (something still
// listens) is a failure, anything else means the service is down: fenced.
// Any other status, or failing to connect or log in, is a failure.
// dfs.ha.fencing.ssh.connect-timeout (ms) bounds connecting and logging in.
type SSH struct {
	// HostKeyCallback checks the host's key; nil accepts any key, as Hadoop
	// does (it sets StrictHostKeyChecking=no).
	HostKeyCallback ssh.HostKeyCallback
	// DefaultUser is the user when the argument names none; "" means the
	// user running this process.
	DefaultUser string
	// Log receives progress and the remote commands' output; nil logs
	// nothing.
	Log *zap.Logger
}

var _ Method = (*SSH)(nil)

// ClassName is Hadoop's class name of the method.
func (s *SSH) ClassName() string { return "org.apache.hadoop.ha.SshFenceByTcpPort" }

var userPortRE = regexp.MustCompile(`^([^:]+?)?(?::(\d+))?$`)

// SSHArgs is a parsed sshfence argument; empty fields take the defaults.
type SSHArgs struct {
	User string
	Port int
}

// ParseSSHArgs parses "[user][:port]". Errors wrap ErrBadConfig with
// Hadoop's text.
func ParseSSHArgs(arg string) (SSHArgs, error) {
	var a SSHArgs
	if arg == "" {
		return a, nil
	}
	m := userPortRE.FindStringSubmatch(arg)
	if m == nil {
		return a, badConfig("Unable to parse user and SSH port: %s", arg)
	}
	a.User = m[1]
	if m[2] != "" {
		p, err := strconv.Atoi(m[2])
		if err != nil || p <= 0 || p > 65535 {
			return a, badConfig("Port number '%s' invalid", m[2])
		}
		a.Port = p
	}
	return a, nil
}

// CheckArgs validates the optional "[user][:port]".
func (s *SSH) CheckArgs(arg string, _ bool) error {
	_, err := ParseSSHArgs(arg)
	return err
}

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// TryFence connects and kills the process listening on the target's port.
func (s *SSH) TryFence(ctx context.Context, target hasvc.Target, arg string) (bool, error) {
	log := s.Log
	if log == nil {
		log = zap.NewNop()
	}
	args, err := ParseSSHArgs(arg)
	if err != nil {
		return false, err
	}
	if args.User == "" {
		args.User = s.DefaultUser
	}
	if args.User == "" {
		args.User = currentUser()
	}
	if args.Port == 0 {
		args.Port = DefaultSSHPort
	}
	c := target.Conf
	timeout := DefaultSSHConnectTimout
	var keyFiles []string
	if c != nil {
		if timeout, err = c.GetDuration(KeySSHConnectTimeout, time.Millisecond, DefaultSSHConnectTimout); err != nil {
			return false, fmt.Errorf("%w: %w", badConfig("%s", err.Error()), err)
		}
		keyFiles = c.GetStrings(KeySSHPrivateKeyFiles)
	}
	var signers []ssh.Signer
	for _, f := range keyFiles {
		pem, err := os.ReadFile(f)
		if err == nil {
			var sg ssh.Signer
			if sg, err = ssh.ParsePrivateKey(pem); err == nil {
				signers = append(signers, sg)
				continue
			}
		}
		log.Warn("Unable to create SSH session", zap.String("keyFile", f), zap.Error(err))
		return false, nil
	}
	hostKey := s.HostKeyCallback
	if hostKey == nil {
		hostKey = ssh.InsecureIgnoreHostKey()
	}
	host := target.Host()
	log.Info("Connecting to " + host + "...")
	client, err := dialSSH(ctx, net.JoinHostPort(host, strconv.Itoa(args.Port)), timeout, &ssh.ClientConfig{
		User:            args.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback: hostKey,
	})
	if err != nil {
		log.Warn("Unable to connect to "+host+" as user "+args.User, zap.Error(err))
		return false, nil
	}
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { _ = client.Close() })
	defer stop()
	log.Info("Connected to " + host)
	return s.doFence(client, target, log)
}

// dialSSH connects and logs in within timeout (and ctx).
func dialSSH(ctx context.Context, addr string, timeout time.Duration, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if !stop() || err != nil {
		_ = conn.Close()
		if err == nil {
			err = ctx.Err()
			c.Close()
		}
		return nil, err
	}
	return ssh.NewClient(c, chans, reqs), nil
}

func (s *SSH) doFence(client *ssh.Client, target hasvc.Target, log *zap.Logger) (bool, error) {
	port := target.Port()
	log.Info("Looking for process running on port " + strconv.Itoa(port))
	rc, err := execSSH(client, log, "PATH=$PATH:/sbin:/usr/sbin fuser -v -k -n tcp "+strconv.Itoa(port))
	if err != nil {
		log.Warn("Unable to achieve fencing on remote host", zap.Error(err))
		return false, nil
	}
	switch rc {
	case 0:
		log.Info("Successfully killed process that was listening on port " + strconv.Itoa(port))
		return true, nil
	case 1:
		// fuser found nothing to kill: the service is down, or it runs as a
		// user fuser cannot see. Ask whether anything still listens.
		log.Info("Indeterminate response from trying to kill service. Verifying whether it is running using nc...")
		rc, err = execSSH(client, log, "nc -z "+target.Host()+" "+strconv.Itoa(port))
		if err != nil {
			log.Warn("Unable to achieve fencing on remote host", zap.Error(err))
			return false, nil
		}
		if rc == 0 {
			log.Warn("Unable to fence - it is running but we cannot kill it")
			return false, nil
		}
		log.Info("Verified that the service is down.")
		return true, nil
	}
	log.Info("rc: " + strconv.Itoa(rc))
	return false, nil
}

// execSSH runs cmd in a new session, logging its output, and returns its
// exit status.
func execSSH(client *ssh.Client, log *zap.Logger, cmd string) (int, error) {
	log.Debug("Running cmd: " + cmd)
	sess, err := client.NewSession()
	if err != nil {
		return -1, err
	}
	defer sess.Close()
	prefix := cmd + " via ssh"
	out := &lineLogger{prefix: prefix, emit: func(l string) { log.Warn(l, zap.String("stream", "stdout")) }}
	errw := &lineLogger{prefix: prefix, emit: func(l string) { log.Warn(l, zap.String("stream", "stderr")) }}
	sess.Stdout, sess.Stderr = out, errw
	err = sess.Run(cmd)
	out.flush()
	errw.flush()
	if err == nil {
		return 0, nil
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		return ee.ExitStatus(), nil
	}
	return -1, err
}
