// Package fence makes sure a NameNode that may still think it is active can
// no longer act as one: Hadoop's NodeFencer and its two standard methods.
//
// dfs.ha.fencing.methods (per NameNode: dfs.ha.fencing.methods.<ns>.<nn>
// wins) lists methods one per line, tried in order until one succeeds:
//
//	sshfence([[user][:port]])   kill the process listening on the target's
//	                            RPC port over SSH with fuser (SSH)
//	shell(command)              run command with bash -e -c; exit 0 = fenced
//	                            (Shell)
//
// The Java class names org.apache.hadoop.ha.SshFenceByTcpPort and
// org.apache.hadoop.ha.ShellCommandFencer work as well. '#' starts a comment.
// Parse reports Hadoop's BadFencingConfigurationException texts wrapped in
// ErrBadConfig: "Unable to parse line: '...'", "Could not find configured
// fencing method X", "No argument passed to 'shell' fencing method",
// "Unable to parse user and SSH port: ...", "Port number '...' invalid".
//
// A Fencer is stateless between calls. Fence logs each attempt with Hadoop's
// lines ("====== Beginning Service Fencing Process... ======", "Trying method
// 1/2: ...") and returns whether one method succeeded; a misconfigured or
// failing method just moves on to the next. Methods read their settings from
// the target's view of the configuration (hasvc.Target.Conf) when they run:
// dfs.ha.fencing.ssh.private-key-files, dfs.ha.fencing.ssh.connect-timeout
// (30000 ms). Fencing stops when the caller's ctx ends: a shell command is
// killed with its process group, an SSH connection is closed.
package fence
