package zktest

import "syscall"

// sysProcAttr puts the JVM in its own process group and kills it when the
// thread that started it (the test binary) dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
