//go:build unix

package backfill

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// gone reports whether a run's owner is a process of this host that no
// longer runs (killed, say): its run can be taken over at once, without
// waiting for its heartbeat to age.
func gone(who string) bool {
	host, _ := os.Hostname()
	rest, ok := strings.CutPrefix(who, host+" ")
	var pid int
	if !ok {
		return false
	}
	if _, err := fmt.Sscanf(rest, "pid %d", &pid); err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
