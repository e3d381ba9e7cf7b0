//go:build unix

package storage

import "syscall"

var errNotDir = syscall.ENOTDIR
