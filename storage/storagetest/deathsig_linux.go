package storagetest

import (
	"os/exec"
	"syscall"
)

// setDeathSignal kills the server if the test binary dies without running
// its cleanups (a test timeout's panic, say), so no gateway outlives it.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
